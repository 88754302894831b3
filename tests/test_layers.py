"""The house rule: each stage imports only the core and the stages below it, so no package
cycle can form. Read from every module's source (function-level imports included), not
from what happens to be imported at run time."""

import ast
from pathlib import Path

from tests.conftest import REPO

# lowest first; the folder each package lives in (pyproject.toml's package-dir)
LAYERS = ["shopfusion", "validation", "features", "training", "serving", "monitoring", "dags"]
ENTRY_POINT = "shopfusion.cli"  # the CLI calls every stage (lazily); nothing imports it


def layer_of_module(name: str) -> int | None:
    parts = name.split(".")
    if parts[0] != "shopfusion":
        return None
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else 0


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return found


def module_name(path: Path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
    parts = list(rel.parts)
    return ".".join(["shopfusion", *parts] if parts[0] != "shopfusion" else parts)


def product_modules() -> list[Path]:
    return [p for folder in LAYERS for p in sorted((REPO / folder).rglob("*.py"))]


def test_every_stage_imports_only_downward():
    upward = []
    for path in product_modules():
        me = module_name(path)
        if me.startswith(ENTRY_POINT):
            continue
        mine = LAYERS.index(path.relative_to(REPO).parts[0])
        for name in imports(path):
            theirs = layer_of_module(name)
            if theirs is not None and theirs > mine:
                upward.append(f"{me} -> {name}")
    assert not upward, "imports up the layers:\n" + "\n".join(sorted(upward))


def test_nothing_imports_the_entry_points():
    offenders = [f"{module_name(p)} -> {n}" for p in product_modules() for n in imports(p)
                 if n.startswith((ENTRY_POINT, "shopfusion.dags"))
                 and not module_name(p).startswith("shopfusion.dags")]
    assert not offenders


def test_the_rule_would_catch_an_upward_import(tmp_path):
    """The checker itself: a core module importing serving is reported."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from shopfusion.serving.engine import Engine\n")
    assert layer_of_module(next(iter(imports(bad)))) > LAYERS.index("shopfusion")
