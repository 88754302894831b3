"""Serving throughput and freshness (issue #7), beside a no-op BentoML service.

Builds a project with a 100k-item catalog (`--items`), runs ingest -> validate -> features ->
train -> fuse -> package with short training, serves it with `bentoml serve`, and drives
`recommend` and `search` with wrk (loopback, bounded), then the no-op service the same way.
`recommend` runs `--rounds` times, each on a freshly started service (cold answer cache) and
bracketed by two no-op runs (their mean is that round's baseline; the machine's speed drifts):
the figure is the median round's ratio, with the min and max beside it.
Freshness: POST /feedback (a click), then POST /recommend for that user, until the response
is based on that click; 200 users a round, p99 over all rounds; in the first round also 200
while wrk drives recommend (the machine saturated). Schemathesis fuzzes the OpenAPI once.
`recommend` is driven twice more: with the answer cache off (every request scored: what a
stream of users never seen before costs) and with batching off too (what batching buys);
their baseline is the last round's no-op.

Run: python -m benchmarks.bench_serving [--items 100000] [--rounds 3] [--keep DIR [--build-only]]
Needs `wrk` on PATH (apt-get install -y wrk).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import yaml

from benchmarks.common import machine, record
from benchmarks.fuzz_openapi import server_errors

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WRK_SECONDS, WRK_CONNECTIONS = 20, 8
LUA = """
local bodies = {}
local i = 0
for line in io.lines("%s") do bodies[#bodies + 1] = line end
request = function()
  i = i %% #bodies + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, bodies[i])
end
"""


def project_params(items: int) -> dict:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["generator"].update(n_items=items, n_users=max(5000, items // 5), n_events=max(200_000, items * 4))
    params["train"]["leave_last_out"] = False
    params["train"]["max_eval_users"] = 1000  # fuse holds 6 models x users x 100k scores
    for name, epochs in {"mf": 2, "two_tower": 1, "sasrec": 1}.items():
        params["train"]["model_params"][name]["epochs"] = epochs
    params["train"]["stacker"]["n_estimators"] = 50
    return params


def build(root: Path, items: int, env: dict) -> dict:
    (root / "params.yaml").write_text(yaml.safe_dump(project_params(items)))
    seconds = {}
    for stage in ("ingest", "validate", "features", "train", "fuse", "package"):
        t0 = time.perf_counter()
        subprocess.run([str(BIN / "shopfusion"), stage], cwd=root, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        seconds[stage] = round(time.perf_counter() - t0, 1)
        print(f"{stage}: {seconds[stage]} s", flush=True)
    return seconds


def serve(target: str, root: Path, port: int, env: dict) -> subprocess.Popen:
    command = [str(BIN / "bentoml"), "serve", target, "--port", str(port), "--host", "127.0.0.1"]
    proc = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                            start_new_session=True)
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{target} not ready")


def stop(proc: subprocess.Popen) -> None:
    import os
    import signal

    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(60)


def wrk_command(url: str, bodies: list[dict], workdir: Path, seconds: int) -> list[str]:
    """wrk with one thread and a fixed connection count, POSTing the bodies in turn."""
    body_file, script = workdir / f"bodies-{abs(hash(url))}.jsonl", workdir / f"post-{abs(hash(url))}.lua"
    body_file.write_text("\n".join(json.dumps(b) for b in bodies) + "\n")
    script.write_text(LUA % body_file)
    return ["wrk", "-t1", f"-c{WRK_CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", str(script), url]


def wrk(url: str, bodies: list[dict], workdir: Path) -> dict:
    """RPS and p50/p99 latency (ms) of a WRK_SECONDS run."""
    out = subprocess.run(wrk_command(url, bodies, workdir, WRK_SECONDS), capture_output=True, text=True,
                         check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50_ms": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),
            "p99_ms": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),
            "non_2xx": int(errors.group(1)) if errors else 0}


def _latency(samples_ms: list[float]) -> dict:
    return {"samples": len(samples_ms), "p50_ms": float(np.percentile(samples_ms, 50)),
            "p99_ms": float(np.percentile(samples_ms, 99))}


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def freshness(url: str, users: list[str], items: list[str], rng: np.random.Generator) -> list[float]:
    """ms from sending a click to holding a recommendation based on it, one sample a user."""
    samples, reflected = [], 0
    with httpx.Client(timeout=30) as client:
        for n, user in enumerate(users):
            item = str(rng.choice(items))
            event = {"event_id": f"bench-{time.time_ns()}-{n}", "user_id": user, "item_id": item,
                     "event_type": "click", "session_id": "bench", "quantity": 1, "price": 1.0,
                     "ts": pd.Timestamp.now(tz="UTC").isoformat()}
            t0 = time.perf_counter()
            client.post(url + "/feedback", json={"events": [event]}).raise_for_status()
            for _ in range(50):
                body = client.post(url + "/recommend", json={"user_id": user, "k": 10}).json()
                if body["based_on"] and body["based_on"][0] == item:
                    reflected += 1
                    break
            samples.append((time.perf_counter() - t0) * 1000)
    if reflected < len(users):
        raise AssertionError(f"{len(users) - reflected} of {len(users)} clicks never reached recommend")
    return samples


def freshness_under_load(url: str, users: list[str], items: list[str], rng: np.random.Generator,
                         bodies: list[dict], workdir: Path) -> list[float]:
    """`freshness` while wrk drives recommend as in the throughput runs (the machine saturated)."""
    load = subprocess.Popen(wrk_command(url + "/recommend", bodies, workdir, 600), stdout=subprocess.DEVNULL)
    try:
        time.sleep(2)  # wrk connected and running
        return freshness(url, users, items, rng)
    finally:
        load.terminate()
        load.wait()


def ann_quality(root: Path, users: list[str], depth: int = 100) -> dict:
    """In process, on the packaged bundle: each HNSW top list's recall against exact search, and
    the share of the served top-10 that exact search would also serve (users' newest items
    as history)."""
    from shopfusion.config import load_params
    from shopfusion.serving.engine import Engine

    events = pd.read_parquet(root / "data/validated/events.parquet", columns=["user_id", "item_id", "ts"])
    events = events[events["user_id"].isin(users)].sort_values("ts")
    history = events.groupby("user_id")["item_id"].apply(lambda s: list(s.astype(str))[-20:])
    engine = Engine(root / "models/export", load_params(root / "params.yaml").serve)
    indexed = {n: m.vectors for n, m in engine.models.items() if getattr(m, "vectors", None) is not None
               and m.vectors.index is not None}
    requests = [(u, engine.known_items(h)) for u, h in history.items()]
    ids = engine.user_index.get_indexer([u for u, _ in requests])
    out = {}
    for name, vectors in indexed.items():
        q = engine.models[name].queries(ids, [h for _, h in requests])
        got, want = vectors.search(q, depth), vectors.search(q, depth, exact=True)
        out[f"recall@{depth}_{name}"] = float(np.mean([len(set(g) & set(w)) / depth
                                                       for g, w in zip(got, want)]))
    served = [engine.recommend(u, h, k=10).items for u, h in history.items()]
    for vectors in indexed.values():
        vectors.index = None  # exact search from here on
    exact = [engine.recommend(u, h, k=10).items for u, h in history.items()]
    out["top10_same_as_exact"] = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(served, exact)]))
    out["users"] = len(requests)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="build (or reuse) the project here")
    parser.add_argument("--build-only", action="store_true", help="build the --keep project, measure nothing")
    parser.add_argument("--rounds", type=int, default=3, help="recommend runs, each on a fresh service")
    args = parser.parse_args()
    import os

    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-serving-"))
    root.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "BENTOML_HOME": str(root / ".bentoml"),
           "SHOPFUSION_ROOT": str(root), "BENTOML_DO_NOT_TRACK": "true"}
    build_s = build(root, args.items, env) if not (root / "models/export/manifest.json").exists() else {}
    if args.build_only:
        return print(json.dumps(build_s))
    export = root / "models/export"
    users = pd.read_parquet(export / "users.parquet")["user_id"].tolist()
    items = pd.read_parquet(export / "items.parquet")
    rng = np.random.default_rng(0)
    picked = [str(u) for u in rng.choice(users, 500, replace=False)]
    words = items["title"].astype(str).str.split().explode().dropna().unique()
    queries = [" ".join(rng.choice(words, 2)) for _ in range(200)]
    rec_bodies = [{"user_id": u, "k": 10} for u in picked]
    item_ids = items["item_id"].astype(str).tolist()

    def clicking_users() -> list[str]:  # 200 users, a new draw for each freshness measurement
        return [str(u) for u in rng.choice(users, 200, replace=False)]
    search_bodies = [{"query": q, "k": 10} for q in queries]

    results, scratch = {"ann": ann_quality(root, picked[:200])}, Path(tempfile.mkdtemp(prefix="wrk-"))
    print(json.dumps(results["ann"]), flush=True)
    # the no-op is up all along and measured right before and after each recommend run (and
    # right after search): the machine's speed drifts between runs, a bracketing baseline does not
    noop, noop_url = serve("benchmarks.noop_service:Noop", REPO, 3312, env), "http://127.0.0.1:3312"
    try:
        rounds, fresh = [], []
        for n in range(args.rounds):  # a fresh service each round: cold answer cache, cold process
            proc = serve("shopfusion.serving.service:ShopFusion", root, 3311, env)
            try:
                url = "http://127.0.0.1:3311"
                rounds.append(recommend_round(url, noop_url, rec_bodies, scratch))
                if n == 0:
                    results["search"] = wrk(url + "/search", search_bodies, scratch)
                    results["noop_search"] = wrk(noop_url + "/search", search_bodies, scratch)
                fresh += freshness(url, clicking_users(), item_ids, rng)
                if n == 0:
                    loaded = freshness_under_load(url, clicking_users(), item_ids, rng, rec_bodies, scratch)
                    sent, n5xx, errors = server_errors(url, max_examples=50)
                    results["schemathesis"] = {"requests": sent, "5xx": n5xx, "examples": errors[:5]}
            finally:
                stop(proc)
            print(json.dumps(rounds[-1]), flush=True)
        for name, overrides in {"recommend_uncached": {"answer_cache": {"max_users": 0, "ttl_s": 0}},
                                "recommend_unbatched": {"answer_cache": {"max_users": 0, "ttl_s": 0},
                                                        "max_batch": 1}}.items():
            changed = yaml.safe_load((root / "params.yaml").read_text())
            changed["serve"].update(overrides)
            (scratch / f"params-{name}.yaml").write_text(yaml.safe_dump(changed))
            proc = serve("shopfusion.serving.service:ShopFusion", root, 3313,
                         {**env, "SHOPFUSION_PARAMS": str(scratch / f"params-{name}.yaml")})
            try:
                results[name] = wrk("http://127.0.0.1:3313/recommend", rec_bodies, scratch)
            finally:
                stop(proc)
    finally:
        stop(noop)
    ratios = [r["rps_ratio_vs_noop"] for r in rounds]
    median = rounds[int(np.argsort(ratios)[len(ratios) // 2])]  # a real round, not a blend
    results.update(rounds=rounds, recommend=median["recommend"], noop_recommend=median["noop"],
                   recommend_rps_ratio_vs_noop={"median": median["rps_ratio_vs_noop"],
                                                "min": min(ratios), "max": max(ratios)},
                   freshness=_latency(fresh), freshness_under_load=_latency(loaded))
    results.update(items=len(items), build_seconds=build_s, machine=machine(),
                   date=pd.Timestamp.now(tz="UTC").isoformat())
    print(json.dumps(results, indent=2))
    (REPO / "reports").mkdir(exist_ok=True)
    (REPO / "reports/bench_serving.json").write_text(json.dumps(results, indent=2))
    uncached_noop = rounds[-1]["noop"]["rps"]  # the no-op measured last, just before these runs
    record(recommend_rps_ratio_vs_noop=median["rps_ratio_vs_noop"],
           recommend_rps_ratio_vs_noop_min=min(ratios), recommend_rps_ratio_vs_noop_max=max(ratios),
           recommend_p99_ms=median["recommend"]["p99_ms"], noop_p99_ms=median["noop"]["p99_ms"],
           search_rps_ratio_vs_noop=results["search"]["rps"] / results["noop_search"]["rps"],
           feedback_to_recommend_p99_ms=results["freshness"]["p99_ms"],
           feedback_to_recommend_under_load_p50_ms=results["freshness_under_load"]["p50_ms"],
           feedback_to_recommend_under_load_p99_ms=results["freshness_under_load"]["p99_ms"],
           recommend_answer_cache_hit_share=median["answer_cache_hit_share"],
           recommend_uncached_rps_ratio_vs_noop=results["recommend_uncached"]["rps"] / uncached_noop,
           recommend_uncached_p99_ms=results["recommend_uncached"]["p99_ms"],
           recommend_batching_speedup=results["recommend_uncached"]["rps"]
           / results["recommend_unbatched"]["rps"],
           schemathesis_5xx=results["schemathesis"]["5xx"],
           **{f"serving_ann_{k.replace('@', '_at_')}": v for k, v in results["ann"].items() if k != "users"})


def recommend_round(url: str, noop_url: str, bodies: list[dict], scratch: Path) -> dict:
    """recommend on a freshly started service, bracketed by two no-op runs (their mean is the
    baseline); the answer cache's hit share and the batches over the run."""
    noop_runs = [wrk(noop_url + "/recommend", bodies, scratch)]
    before = httpx.post(url + "/metadata").json()["answer_cache"]
    served = wrk(url + "/recommend", bodies, scratch)
    meta = httpx.post(url + "/metadata").json()
    noop_runs.append(wrk(noop_url + "/recommend", bodies, scratch))
    hits, misses = (meta["answer_cache"][k] - before[k] for k in ("hits", "misses"))
    noop = {k: float(np.mean([r[k] for r in noop_runs])) for k in ("rps", "p50_ms", "p99_ms")}
    return {"recommend": served, "noop": noop, "noop_runs": noop_runs,
            "rps_ratio_vs_noop": served["rps"] / noop["rps"],
            "answer_cache_hit_share": hits / max(hits + misses, 1),
            "scoring_batches": meta["scoring_batches"]}


if __name__ == "__main__":
    main()
