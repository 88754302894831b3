"""Typed view of params.yaml: the one place hyperparameters and thresholds live.

Load once with `load_params()` and pass the sections down; nothing else reads the YAML.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PARAMS_FILE = Path("params.yaml")


class ConfigError(ValueError):
    """params.yaml does not match the typed config."""


@dataclass(frozen=True)
class FunnelConfig:
    """Conditional probabilities of each funnel step given the previous one."""

    click: float = 0.3
    add_to_cart: float = 0.25
    purchase: float = 0.4


@dataclass(frozen=True)
class DriftConfig:
    """Shifts applied to events after `start_fraction` of the time window (1.0 = no drift)."""

    start_fraction: float = 1.0
    category_shift: float = 0.0  # share of taste mass moved onto a few categories
    price_shift: float = 1.0  # multiplier on prices of drifted events
    new_item_burst: int = 0  # items launched at the drift start with boosted popularity
    activity_multiplier: float = 1.0  # scales session lengths


@dataclass(frozen=True)
class CorruptionConfig:
    """Share of rows corrupted by each kind (disjoint rows); 0 turns a kind off."""

    null_key: float = 0.0  # a key column emptied
    duplicate: float = 0.0  # the same event landed twice
    unknown_item: float = 0.0  # an item id the catalog does not hold
    wrong_type: float = 0.0  # a price that does not parse (the column turns to text)
    negative_price: float = 0.0
    future_timestamp: float = 0.0  # ahead of the clock

    def rates(self) -> dict[str, float]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v > 0}


@dataclass(frozen=True)
class GeneratorConfig:
    seed: int = 7
    n_users: int = 5_000
    n_items: int = 3_000
    n_events: int = 200_000
    n_top_categories: int = 8
    n_sub_categories: int = 6  # per top category
    n_brands: int = 120
    start: str = "2026-09-01"
    days: int = 60
    new_user_share: float = 0.3  # users whose first visit falls inside the window
    new_item_share: float = 0.1  # items created inside the window
    popularity_alpha: float = 1.1  # Zipf exponent of item popularity
    taste_concentration: float = 0.2  # Dirichlet concentration of user category tastes
    brand_loyalty: float = 0.5  # chance a user sticks to a favourite brand in a category
    mean_session_len: float = 6.0  # item visits per session
    max_session_len: int = 40
    p_transition: float = 0.6  # chance the next visit follows the item-to-item graph
    successors_per_item: int = 4
    search_share: float = 0.2  # sessions that start from a search query
    diurnal_amplitude: float = 0.0  # session starts ~ 1 + a*cos(hour - peak): a daily rhythm (0 = flat)
    diurnal_peak_hour: float = 20.0  # UTC hour with the most sessions
    n_judged_queries: int = 200
    funnel: FunnelConfig = field(default_factory=FunnelConfig)
    drift: DriftConfig = field(default_factory=DriftConfig)
    corruption: CorruptionConfig = field(default_factory=CorruptionConfig)


@dataclass(frozen=True)
class InteractionsConfig:
    """Your own log (source `interactions`): see shopfusion/adapters/interactions.py."""

    path: str | None = None  # the log file (.csv .tsv .parquet .inter .txt, optionally .gz)
    format: str = "auto"  # csv | tsv | parquet | recbole | sequences | auto (by the file's suffix)
    map: dict[str, str] = field(default_factory=dict)  # field -> your column (user, item, ts, event, ...)
    ts_unit: str = "auto"  # s | ms | iso | auto (numbers above 1e11 are milliseconds)
    event_values: dict[str, str] = field(default_factory=dict)  # your event names -> the contract's
    rating_events: dict[str, float] = field(  # with ratings and no event column: rating >= X
        default_factory=lambda: {"purchase": 4.0, "click": 3.0, "view": 0.0})
    default_event: str = "click"  # with neither an event nor a rating column
    items: str | None = None  # item file: id, title, description, category, brand, price
    items_map: dict[str, str] = field(default_factory=dict)
    full_history: bool = True  # a first load of the whole log: no event-time window for it
    chunk_rows: int = 1_000_000  # rows read and landed at a time (bounds ingest memory)
    sequence_start: str = "2020-01-01"  # sequence files: the k-th interaction is this + k s


@dataclass(frozen=True)
class IngestConfig:
    source: str = "synthetic"  # synthetic | uci | ml100k | esci | interactions
    out_dir: str = "data/raw"
    shared_data_dir: str = "../shared/data"
    interactions: InteractionsConfig = field(default_factory=InteractionsConfig)


@dataclass(frozen=True)
class ValidateConfig:
    """Row rules' bounds and the batch-level verdict thresholds."""

    max_price: float = 100_000.0  # a unit price above this is implausible
    window_days: float | None = 400.0  # events older than the newest valid one by more are out (None: off)
    clock_skew_s: float = 300.0  # events up to this far ahead of the clock are accepted
    max_bad_share: float = 0.3  # more quarantined rows than this fails the whole batch
    max_staleness_days: float | None = None  # newest event older than this fails; None = off
    history_batches: int = 5  # recent batches whose sizes bound the next one
    row_count_ratio: tuple[float, float] = (0.2, 5.0)  # allowed batch size / median recent size
    null_rate_slack: float = 0.1  # a column's null share may exceed its recent maximum by this
    ge_result_format: str = "BASIC"
    data_docs: bool = True
    row_path_max_events: int = 64  # requests up to this size are routed on Python values (rows.py)


@dataclass(frozen=True)
class FeaturesConfig:
    """Feature computation and the Feast store profile."""

    windows_days: tuple[int, ...] = (1, 7, 30)  # activity count windows
    recent_items: int = 20  # length of a user's recent item sequence
    neighbours: int = 10  # item-graph neighbours kept per item
    graph_every_days: int = 7  # item-graph snapshot period
    ttl_days: int = 90  # a feature row older than this is not served
    embed_text: bool = True  # MiniLM item text embeddings (the slowest part on CPU)
    embedding_batch: int = 128
    profile: str = "sqlite"  # online store: sqlite | redis
    redis_connection: str = "localhost:6379"


@dataclass(frozen=True)
class EarlyStoppingConfig:
    """The torch models' epochs chosen on validation (tuning windows, leave-one-out's
    second-last items); the test-cut refit then trains that many. patience 0: fixed epochs."""

    patience: int = 0  # epochs without a better validation NDCG@10 before stopping
    max_s: float = 1800.0  # wall-time cap on one fit
    users: int = 1000  # validation users scored after each epoch (a seeded sample)


@dataclass(frozen=True)
class WarmStartConfig:
    """Torch models continue an earlier fit for their `warm_epochs` (training/warm.py): the
    test-cut fit continues the validation-cut one, the serving fit the test-cut one, and a
    retrain's validation-cut fit the previous run's."""

    enabled: bool = True
    full_every: int = 5  # a full refit after this many warm ones in a row (`shopfusion fuse --full`: now)


@dataclass(frozen=True)
class TrainConfig:
    """Splits, the model line-up, fusion and per-model hyperparameters (passed to each model's
    constructor, which rejects unknown names)."""

    seed: int = 0
    valid_quantile: float = 0.8  # events before this time quantile train the models
    test_quantile: float = 0.9  # [valid, test) tunes fusion and the stacker; after it: test
    # Small data: earlier windows of the same width are added (models refit before each) until
    # fusion is tuned on this many users, at most fusion_max_windows windows in all.
    fusion_min_users: int = 500
    fusion_max_windows: int = 4
    max_len: int = 50  # history items a model sees
    max_eval_users: int | None = 3000  # per window: a seeded sample beyond this (None: all)
    eval_chunk_cells: int = 50_000_000  # users x items scored at once per model (chunks bound memory)
    models: tuple[str, ...] = ()  # the line-up; empty = every registered model (training/registry.py)
    # The method the bundle serves: auto = the best on validation (out of fold) among the best
    # single model, weighted, rrf, borda and stacker; or one of those names, fixed.
    fusion: str = "auto"
    fusion_folds: int = 3  # validation users split this many ways to compare methods out of fold
    fusion_depth: int = 100  # top-list length for rank fusion
    sampled_negatives: int = 100  # for the sampled metrics reported beside full ranking
    leave_last_out: bool = True  # also report single models under per-user leave-last-out
    model_params: dict = field(default_factory=dict)
    stacker: dict = field(default_factory=dict)
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)
    warm_start: WarmStartConfig = field(default_factory=WarmStartConfig)


@dataclass(frozen=True)
class ServeConfig:
    """The BentoML services: which packaged model, fusion, time budgets, logs."""

    model_name: str = "shopfusion"  # name in the BentoML model store
    host: str = "127.0.0.1"  # the interface the service listens on (0.0.0.0: every one)
    api_key_file: str = ".secrets/api_key"  # admin key, generated (0600) when SHOPFUSION_API_KEY is unset
    # request bounds: a larger body is refused (413) before it is parsed
    limits: dict = field(default_factory=lambda: {"max_body_bytes": 1_000_000, "max_events": 1000,
                                                  "max_text_chars": 500, "max_id_chars": 200})
    model_budget_ms: float = 100.0  # a model slower than this is dropped from that request
    cold_item_slots: int = 1  # top-k slots reserved for never-interacted items (text model)
    threads: int = 8  # request threads per service worker (BentoML's default for sync APIs is 1)
    max_batch: int = 16  # concurrent recommend requests scored in one call (serving/batching.py)
    max_batch_wait_ms: float = 3.0  # a batch opened right after another stays open this long
    max_k: int = 100  # the most items one request may ask for (`k`)
    # feedback events logged and pushed in one lane call (serving/batching.py SerialLane):
    # concurrent clicks share a call; a larger request goes in chunks of this size
    feedback_events_per_push: int = 64
    gil_switch_interval_ms: float = 0.5  # CPython's 5 ms starves the sync APIs' threads beside the loop
    # HNSW (faiss) top lists per factored model for catalogs of at least min_items; exact below
    ann: dict = field(default_factory=lambda: {"min_items": 20000, "m": 32, "ef_construction": 80,
                                               "ef_search": 128})
    # every online-store call on one thread with a timeout, behind a circuit breaker
    # (serving/store_guard.py): a slow or dead store degrades answers, never stalls the service
    online_store: dict = field(default_factory=lambda: {
        "read_timeout_ms": 50.0, "write_timeout_ms": 200.0, "open_timeout_ms": 30000.0,
        "failures_to_open": 3, "open_s": 5.0})
    # each user's fused candidates kept between requests (serving/answers.py); max_users 0 = off
    answer_cache: dict = field(default_factory=lambda: {"max_users": 20000, "ttl_s": 60.0})
    search_bm25_weight: float = 0.5
    search_personal_weight: float = 0.3  # how much the user's fused score moves search results
    similar_text_weight: float = 0.5  # similar = (1-w) co-occurrence + w text similarity
    feedback_dir: str = "data/feedback"  # durable event log: next ingest and the monitor read it
    request_log: str = "data/serving/requests.jsonl"
    registry: str = "data/serving/registry.json"  # champion tag + history (rollback)


@dataclass(frozen=True)
class MonitorConfig:
    """Drift tests (Evidently, one per column: method + threshold), windows, the gate."""

    min_rows: int = 1000  # a current window smaller than this gives "not enough data"
    max_rows: int = 1_000_000  # larger windows are sampled down to this
    summary_rows: int = 100_000  # the data-quality summary reads a sample this large per window
    reference_rows: int = 200_000  # training events kept in the bundle as the reference
    new_item_days: float = 7.0  # an item younger than this at event time counts as new
    columns: dict = field(default_factory=dict)  # column -> {method, threshold}
    max_exposure_gini: float = 0.95  # recommendations more concentrated than this are flagged
    gate_tolerance: float = 0.02  # challenger may be this much (relative) below the champion
    reports_dir: str = "reports/monitor"
    workspace: str = "reports/monitor/workspace"


@dataclass(frozen=True)
class Params:
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    ingest: IngestConfig = field(default_factory=IngestConfig)
    validate: ValidateConfig = field(default_factory=ValidateConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    serve: ServeConfig = field(default_factory=ServeConfig)
    monitor: MonitorConfig = field(default_factory=MonitorConfig)


def from_dict(cls: type, data: dict[str, Any] | None, where: str = "params") -> Any:
    """Build dataclass `cls` from a nested dict, rejecting unknown keys and wrong types."""
    data = data or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {sorted(known)}")
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _coerce(hints[name], value, f"{where}.{name}")
    return cls(**kwargs)


def _coerce(hint: Any, value: Any, where: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, where)
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return value
    if typing.get_origin(hint) is tuple:
        return tuple(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float, str, bool) and not isinstance(value, hint):
        raise ConfigError(f"{where}: expected {hint.__name__}, got {value!r}")
    return value


def load_params(path: Path | str = PARAMS_FILE) -> Params:
    """Read params.yaml into the typed `Params`; a missing file means all defaults."""
    path = Path(path)
    if not path.exists():
        return Params()
    return from_dict(Params, yaml.safe_load(path.read_text()), where=str(path))
