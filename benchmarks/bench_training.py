"""Issue #6 figures: every model and fusion method on synthetic, UCI Online Retail and
MovieLens-100k (full-ranking NDCG@10 on the temporal test window), SASRec training
throughput beside a plain reference implementation, and the time to train all models.

Run: `python -m benchmarks.bench_training` (~35 min on 2 cores; MiniLM embeddings are cached
in .cache/ after the first run); `--speed-only` for the SASRec throughput and train-all time alone (~5 min);
`--only <data>` for one data set; `--temporal-only` skips the leave-one-out protocol;
`--llo-only` adds it to the temporal report an earlier run left in reports/bench_training/.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

import pandas as pd

from benchmarks.common import machine, record
from shopfusion.config import load_params

OUT = Path("reports/bench_training")


def validated(source: str):
    """Events and catalog of a source after the validation stage's row routing."""
    from shopfusion.adapters import load_real
    from shopfusion.datagen import generate
    from shopfusion.validation.stage import check_tables

    params = load_params()
    shop = generate(params.generator) if source == "synthetic" else load_real(
        source, Path(params.ingest.shared_data_dir))
    raw = {"events": shop.events, "catalog": shop.catalog, "judgments": shop.judgments}
    checked = check_tables(raw, params.validate, pd.Timestamp.now(tz="UTC"))
    return checked["events"].routed.validated, checked["catalog"].routed.validated


def dataset(source: str):
    from shopfusion.features.text import embed_items
    from shopfusion.training.data import load

    events, catalog = validated(source)
    text = embed_items(catalog, Path(".cache/text_embeddings.parquet"))
    return load(events, catalog, text)


def sasrec_throughput(data, seconds: float = 20.0, dev=None) -> tuple[float, float]:
    """Sequences/s of one training step loop, ours vs the plain reference, same config/batch,
    on `dev` (default: the training device, with its bf16 autocast on CUDA)."""
    import torch

    from benchmarks.reference_sasrec import PlainSASRec
    from shopfusion.training.device import autocast, device, synchronize
    from shopfusion.training.models.sasrec import SASRec, SASRecConfig
    from shopfusion.training.neural import chunks, pad_left

    dev = dev or device()
    hp = load_params().train.model_params["sasrec"]
    cfg = SASRecConfig(n_items=data.interactions.n_items, dim=hp["dim"], max_len=hp["max_len"],
                       blocks=hp["blocks"], heads=hp["heads"], dropout=hp["dropout"])
    seqs = torch.as_tensor(pad_left(chunks(data.interactions.sequences(), cfg.max_len + 1),
                                    cfg.max_len + 1), device=dev)
    rates = []
    for model in (SASRec(cfg), PlainSASRec(cfg.n_items, cfg.dim, cfg.max_len, cfg.blocks, cfg.heads,
                                            cfg.dropout)):
        torch.manual_seed(0)
        model.to(dev).train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

        def step(model=model, opt=opt) -> int:
            batch = seqs[torch.randint(0, len(seqs), (hp["batch_size"],), device=dev)]
            with autocast(dev):
                loss = model.loss(batch)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return len(batch)

        for _ in range(3):  # untimed: kernel selection and allocator warm-up
            step()
        synchronize(dev)
        done, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            done += step()
        synchronize(dev)
        rates.append(done / (time.perf_counter() - t0))
    return rates[0], rates[1]


def train_all_seconds(data) -> float:
    from shopfusion.training.evaluate import usable_models
    from shopfusion.training.registry import build_model

    cfg = load_params().train
    t0 = time.perf_counter()
    for name in usable_models(data, cfg):
        build_model(name, cfg).fit(data.interactions, data)
    return time.perf_counter() - t0


def speed_only() -> None:
    data = dataset("synthetic")
    ours, ref = sasrec_throughput(data)
    seconds = train_all_seconds(data)
    print(f"{machine()}: SASRec training {ours:,.0f} seq/s vs plain reference {ref:,.0f} seq/s; "
          f"all models fit in {seconds:.0f} s")
    record(sasrec_seq_per_s=ours, sasrec_reference_seq_per_s=ref,
           sasrec_train_speed_ratio_vs_reference=ours / ref, train_all_default_s=seconds)


def protocol_figures(source: str, key: str, report: dict, tag: str) -> dict:
    """Print one protocol's results; its figures (`tag`: "" temporal, "_llo" leave-one-out)."""
    s = report["summary"]  # single model and fusion method chosen on validation
    print(f"{source}{tag}: single {s['best_single']} {s['best_single_ndcg@10']:.4f}, served fusion "
          f"{s['best_fusion']} {s['best_fusion_ndcg@10']:.4f}, gain {s['fusion_gain_rel']:+.1%}; "
          f"oracle (picked on test) {s['oracle_fusion']} over {s['oracle_single']} "
          f"{s['fusion_gain_oracle_rel']:+.1%}")
    for group in ("models", "fusion"):
        print("   ", group, {n: round(m["ndcg@10"], 4) for n, m in report[group].items()})
    held_out = {n: round(v, 4) for n, v in report["selection_ndcg@10"].items()}
    print("    held-out validation NDCG@10", held_out)
    print("    weights", report["weights"], "candidate recall", report["candidate_recall"])
    figures = {}
    for name in ("fusion_gain", "fusion_gain_oracle"):
        low, high = s[name.replace("_rel", "") + "_ci95"]  # paired bootstrap over test users
        figure = f"{name}{tag}_rel_{key}"
        figures.update({figure: s[f"{name}_rel"], f"{figure}_ci95_low": low, f"{figure}_ci95_high": high})
        print(f"    {figure} 95% interval [{low:+.1%}, {high:+.1%}]")
    figures[f"fusion{tag}_candidate_recall_{key}"] = report["candidate_recall"]["@50"]
    figures[f"fusion{tag}_served_is_single_{key}"] = float(s["best_fusion"] == "single")
    return figures


def main() -> None:
    from shopfusion.training.evaluate import evaluate, evaluate_leave_one_out

    if "--speed-only" in sys.argv:
        return speed_only()
    OUT.mkdir(parents=True, exist_ok=True)
    cfg = load_params().train
    if "--temporal-only" in sys.argv:  # without the leave-one-out protocol (about half the time)
        cfg = dataclasses.replace(cfg, leave_last_out=False)
    figures = {}
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
    for source, key in (("synthetic", "synthetic"), ("uci", "uci"), ("ml100k", "ml100k")):
        if only and source != only:
            continue
        data = dataset(source)
        t0 = time.perf_counter()
        if "--llo-only" in sys.argv:  # add leave-one-out to the temporal report a run left
            earlier = OUT / f"{source}.json"
            report = json.loads(earlier.read_text()) if earlier.exists() else {}
            report["leave_one_out"] = evaluate_leave_one_out(data, cfg)
            report["leave_one_out_seconds"] = time.perf_counter() - t0
        else:
            report = evaluate(data, cfg)
            report["seconds"] = time.perf_counter() - t0
            figures.update(protocol_figures(source, key, report, ""))
        (OUT / f"{source}.json").write_text(json.dumps(report, indent=2))
        if "leave_one_out" in report:
            figures.update(protocol_figures(source, key, report["leave_one_out"], "_llo"))
        if source == "synthetic" and "--llo-only" not in sys.argv:
            figures["sasrec_over_popularity_synthetic"] = report["summary"]["sasrec_over_popularity"]
            figures["train_all_default_s"] = train_all_seconds(data)
            ours, ref = sasrec_throughput(data)
            print(f"SASRec training: {ours:,.0f} seq/s vs plain reference {ref:,.0f} seq/s")
            figures.update(sasrec_seq_per_s=ours, sasrec_reference_seq_per_s=ref,
                           sasrec_train_speed_ratio_vs_reference=ours / ref)
    print(machine(), json.dumps({k: round(v, 4) for k, v in figures.items()}))
    record(**figures)


if __name__ == "__main__":
    main()
