"""Serving throughput and freshness, beside the fastest no-op BentoML service.

Builds a project with a 100k-item catalog (`--items`), runs ingest -> validate -> features ->
train -> fuse -> package with short training, serves it with `bentoml serve`, and drives it
with wrk (loopback, 8 connections), then two no-op services (sync and async APIs) the same way.
Each run is bracketed by runs of both no-ops; the faster no-op's mean is the baseline.

Headline (`recommend_rps_ratio_vs_noop`): **shop traffic**, recommend requests from users drawn
over the whole user base with a Zipf frequency, each returning user's request preceded by
that user's click on /feedback (which drops the kept answer): the ratio is over the whole mix
(the no-ops get the same requests). `--rounds` runs, each on a freshly started service; the
median round's ratio, with min and max. Beside it, under their own names: the repeat case (500
users cycled, ~97% kept answers: `recommend_repeat_rps_ratio_vs_noop`), every request scored on
that list (answer cache off) and batching off too (what batching buys), and search.
Freshness: POST /feedback (a click), then POST /recommend for that user, until the response
is based on that click; 200 users a round, p99 over all rounds; in the first round also 200
while wrk drives shop traffic (the machine saturated). Schemathesis fuzzes the OpenAPI once.

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
local paths, bodies = {}, {}
local i = 0
for line in io.lines("%s") do
  local tab = line:find("\t", 1, true)
  paths[#paths + 1] = line:sub(1, tab - 1)
  bodies[#bodies + 1] = line:sub(tab + 1)
end
request = function()
  i = i %% #bodies + 1
  return wrk.format("POST", paths[i], {["Content-Type"] = "application/json"}, bodies[i])
end
"""
SHOP_TRAFFIC_REQUESTS = 60_000  # more than the real service serves in a run: no user's feedback repeats
ZIPF_EXPONENT = 1.0  # users' request frequency falls as 1 / rank


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


def wrk_command(url: str, requests: list[tuple[str, dict]], workdir: Path, seconds: int) -> list[str]:
    """wrk with one thread and a fixed connection count, POSTing the (path, body) requests to
    `url` in turn."""
    tag = abs(hash((url, len(requests), json.dumps(requests[0]))))
    body_file, script = workdir / f"bodies-{tag}.tsv", workdir / f"post-{tag}.lua"
    body_file.write_text("".join(f"{path}\t{json.dumps(body)}\n" for path, body in requests))
    script.write_text(LUA % body_file)
    return ["wrk", "-t1", f"-c{WRK_CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", str(script), url]


def wrk(url: str, requests: list[tuple[str, dict]], workdir: Path) -> dict:
    """RPS and p50/p99 latency (ms) of a WRK_SECONDS run."""
    out = subprocess.run(wrk_command(url, requests, workdir, WRK_SECONDS), capture_output=True, text=True,
                         check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50_ms": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),
            "p99_ms": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),
            "non_2xx": int(errors.group(1)) if errors else 0}


def posts(path: str, bodies: list[dict]) -> list[tuple[str, dict]]:
    return [(path, b) for b in bodies]


def click(user: str, item: str, n: int) -> dict:
    return {"event_id": f"bench-{time.time_ns()}-{n}", "user_id": user, "item_id": item,
            "event_type": "click", "session_id": f"bench-{user}", "quantity": 1, "price": 1.0,
            "ts": pd.Timestamp.now(tz="UTC").isoformat()}


def shop_traffic(users: list[str], items: list[str], rng: np.random.Generator,
                 n: int = SHOP_TRAFFIC_REQUESTS) -> list[tuple[str, dict]]:
    """Traffic a shop sees: recommend requests from users drawn over the whole user base with a
    long-tailed (Zipf) frequency; a returning user's request comes after that user's own click
    (`/feedback`, which drops the kept answer), placed 2 x the connection count earlier in the
    stream (so it has been served when the request is sent) but after the user's previous
    request (a very frequent user's click may then still be in flight: the run reports the
    answer cache's hit share)."""
    weights = 1.0 / np.arange(1, len(users) + 1) ** ZIPF_EXPONENT
    drawn = rng.permutation(users)[rng.choice(len(users), n, p=weights / weights.sum())]
    keyed, last, lag = [], {}, 2 * WRK_CONNECTIONS
    for j, user in enumerate(map(str, drawn)):
        keyed.append((j, ("/recommend", {"user_id": user, "k": 10})))
        if user in last:  # never before the user's previous request
            at = max(j - lag, last[user]) + 0.5
            item = items[rng.integers(len(items))]  # not rng.choice(items): it copies the list each call
            keyed.append((at, ("/feedback", {"events": [click(user, str(item), j)]})))
        last[user] = j
    return [request for _, request in sorted(keyed, key=lambda kv: kv[0])]


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
            t0 = time.perf_counter()
            client.post(url + "/feedback", json={"events": [click(user, item, n)]}).raise_for_status()
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
                         requests: list[tuple[str, dict]], workdir: Path) -> list[float]:
    """`freshness` while wrk drives the service as in the throughput runs (the machine saturated)."""
    load = subprocess.Popen(wrk_command(url, requests, workdir, 600), stdout=subprocess.DEVNULL)
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
    repeat = posts("/recommend", [{"user_id": u, "k": 10} for u in picked])  # 500 users cycled
    item_ids = items["item_id"].astype(str).tolist()
    traffic = shop_traffic([str(u) for u in users], item_ids, rng)

    def clicking_users() -> list[str]:  # 200 users, a new draw for each freshness measurement
        return [str(u) for u in rng.choice(users, 200, replace=False)]
    search = posts("/search", [{"query": q, "k": 10} for q in queries])

    results, scratch = {"ann": ann_quality(root, picked[:200])}, Path(tempfile.mkdtemp(prefix="wrk-"))
    print(json.dumps(results["ann"]), flush=True)
    # both no-ops are up all along and measured right before and after each run: the machine's
    # speed drifts between runs, a bracketing baseline does not; the faster no-op is the floor
    noops = {"sync": serve("benchmarks.noop_service:Noop", REPO, 3312, env),
             "async": serve("benchmarks.noop_service:NoopAsync", REPO, 3314, env)}
    noop_urls = {"sync": "http://127.0.0.1:3312", "async": "http://127.0.0.1:3314"}
    try:
        rounds, fresh = [], []
        for n in range(args.rounds):  # a fresh service each round: cold answer cache, cold process
            proc = serve("shopfusion.serving.service:ShopFusion", root, 3311, env)
            try:
                url = "http://127.0.0.1:3311"
                rounds.append(measured_round(url, noop_urls, traffic, scratch))
                if n == 0:
                    results["repeat"] = measured_round(url, noop_urls, repeat, scratch)
                    results["search"] = measured_round(url, noop_urls, search, scratch)
                fresh += freshness(url, clicking_users(), item_ids, rng)
                if n == 0:
                    loaded = freshness_under_load(url, clicking_users(), item_ids, rng, traffic, scratch)
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
                results[name] = measured_round("http://127.0.0.1:3313", noop_urls, repeat, scratch)
            finally:
                stop(proc)
    finally:
        for proc in noops.values():
            stop(proc)
    ratios = [r["rps_ratio_vs_noop"] for r in rounds]
    median = rounds[int(np.argsort(ratios)[len(ratios) // 2])]  # a real round, not a blend
    results.update(rounds=rounds, shop_traffic=median["served"], noop_shop_traffic=median["noop"],
                   recommend_rps_ratio_vs_noop={"median": median["rps_ratio_vs_noop"],
                                                "min": min(ratios), "max": max(ratios)},
                   feedback_share=sum(path == "/feedback" for path, _ in traffic) / len(traffic),
                   freshness=_latency(fresh), freshness_under_load=_latency(loaded))
    results.update(items=len(items), build_seconds=build_s, machine=machine(),
                   date=pd.Timestamp.now(tz="UTC").isoformat())
    print(json.dumps(results, indent=2))
    (REPO / "reports").mkdir(exist_ok=True)
    (REPO / "reports/bench_serving.json").write_text(json.dumps(results, indent=2))
    record(recommend_rps_ratio_vs_noop=median["rps_ratio_vs_noop"],
           recommend_rps_ratio_vs_noop_min=min(ratios), recommend_rps_ratio_vs_noop_max=max(ratios),
           recommend_shop_traffic_cache_hit_share=median["answer_cache_hit_share"],
           recommend_shop_traffic_feedback_share=results["feedback_share"],
           recommend_p99_ms=median["served"]["p99_ms"], noop_p99_ms=median["noop"]["p99_ms"],
           noop_async_over_sync_rps=median["noop_async_over_sync"],
           recommend_repeat_rps_ratio_vs_noop=results["repeat"]["rps_ratio_vs_noop"],
           recommend_answer_cache_hit_share=results["repeat"]["answer_cache_hit_share"],
           search_rps_ratio_vs_noop=results["search"]["rps_ratio_vs_noop"],
           feedback_to_recommend_p99_ms=results["freshness"]["p99_ms"],
           feedback_to_recommend_under_load_p50_ms=results["freshness_under_load"]["p50_ms"],
           feedback_to_recommend_under_load_p99_ms=results["freshness_under_load"]["p99_ms"],
           recommend_uncached_rps_ratio_vs_noop=results["recommend_uncached"]["rps_ratio_vs_noop"],
           recommend_uncached_p99_ms=results["recommend_uncached"]["served"]["p99_ms"],
           recommend_batching_speedup=results["recommend_uncached"]["served"]["rps"]
           / results["recommend_unbatched"]["served"]["rps"],
           schemathesis_5xx=results["schemathesis"]["5xx"],
           **{f"serving_ann_{k.replace('@', '_at_')}": v for k, v in results["ann"].items() if k != "users"})


def measured_round(url: str, noop_urls: dict[str, str], requests: list[tuple[str, dict]],
                   scratch: Path) -> dict:
    """The requests against the service, bracketed by runs of each no-op before and after
    (a no-op's baseline is the mean of its two runs; the faster no-op is the floor); the
    answer cache's hit share and the batches over the run."""
    noop_runs = {kind: [wrk(u, requests, scratch)] for kind, u in noop_urls.items()}
    before = httpx.post(url + "/metadata").json()["answer_cache"]
    served = wrk(url, requests, scratch)
    meta = httpx.post(url + "/metadata").json()
    for kind, u in noop_urls.items():
        noop_runs[kind].append(wrk(u, requests, scratch))
    hits, misses = (meta["answer_cache"][k] - before[k] for k in ("hits", "misses"))
    means = {kind: {k: float(np.mean([r[k] for r in runs])) for k in ("rps", "p50_ms", "p99_ms")}
             for kind, runs in noop_runs.items()}
    floor = max(means, key=lambda kind: means[kind]["rps"])
    return {"served": served, "noop": means[floor], "noop_kind": floor, "noop_runs": noop_runs,
            "noop_async_over_sync": means["async"]["rps"] / means["sync"]["rps"],
            "rps_ratio_vs_noop": served["rps"] / means[floor]["rps"],
            "answer_cache_hit_share": hits / max(hits + misses, 1),
            "scoring_batches": meta["scoring_batches"]}


if __name__ == "__main__":
    main()
