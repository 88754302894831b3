"""Rich progress bars that stay quiet when output is not a terminal (CI, Airflow logs)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    try:
        from rich.console import Console
        from rich.progress import track as rich_track
    except ImportError:  # a bare GPU box with torch + pandas only
        yield from items
        return

    console = Console(stderr=True)
    yield from rich_track(items, description=description, total=total, console=console,
                          disable=not console.is_terminal, transient=True)
