"""The engine's answers over candidates: full lists, bans kept, cold items reachable, and the
HNSW path close to the exact one."""

import dataclasses

import numpy as np
import pytest

from shopfusion.config import ServeConfig

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def engine(served_project):
    from shopfusion.serving.engine import Engine

    return Engine(served_project / "models/export", ServeConfig(model_budget_ms=60_000))


def test_a_long_list_is_full_and_keeps_every_ban(engine):
    history = list(engine.item_index[:3])
    for user, context in ((engine.user_index[0], history), ("never-seen", [])):
        ranking = engine.recommend(user, context, k=100, exclude=context)
        assert len(ranking.items) == len(set(ranking.items)) == 100
        assert not set(ranking.items) & set(context)
        assert all(np.isfinite(ranking.scores)) and len(ranking.scores) == 100


def test_a_never_interacted_item_gets_the_last_slot(engine):
    cold = set(engine.item_index[engine.cold_positions])
    assert cold, "the test project should have items nobody interacted with"
    ranking = engine.recommend(engine.user_index[1], list(engine.item_index[5:8]), k=10)
    assert ranking.items[-1] in cold and not set(ranking.items[:-1]) & cold


def test_hnsw_answers_are_close_to_exact_ones(engine, served_project):
    from shopfusion.serving.engine import Engine

    ann = {**ServeConfig().ann, "min_items": 1}  # every catalog is "large": HNSW everywhere
    approx = Engine(served_project / "models/export",
                    dataclasses.replace(ServeConfig(model_budget_ms=60_000), ann=ann))
    assert all(m.vectors.index is not None for m in approx.models.values() if hasattr(m, "vectors"))
    rng = np.random.default_rng(0)
    overlap = []
    for user in engine.user_index[:30]:
        history = list(engine.item_index[rng.choice(len(engine.item_index), 5)])
        want, got = (e.recommend(user, history, k=10).items for e in (engine, approx))
        overlap.append(len(set(want) & set(got)) / 10)
    assert np.mean(overlap) >= 0.8, overlap


def test_search_keeps_filters_even_when_candidates_run_out(engine):
    rare = engine.items["category_path"].value_counts().index[-1]
    title = str(engine.items["title"].iloc[0])
    items, scores = engine.search(title, k=5)
    assert len(items) == 5 and scores == sorted(scores, reverse=True)
    items, _ = engine.search(title, k=5, category=rare, max_price=float(engine.price.max()))
    matching = engine.items.set_index("item_id").loc[items]
    assert len(items) == min(5, (engine.category == rare).sum())
    assert (matching["category_path"] == rare).all()


def test_a_failing_or_slow_model_is_dropped_and_the_answer_still_full(engine, monkeypatch):
    user, history = engine.user_index[2], list(engine.item_index[10:14])

    def explode(*args, **kwargs):
        raise RuntimeError("model exploded")

    monkeypatch.setattr(engine.models["sasrec"], "view", explode)
    ranking = engine.recommend(user, history, k=10)
    assert ranking.degraded and "model exploded" in ranking.dropped["sasrec"]
    assert "sasrec" not in ranking.models and len(ranking.items) == 10  # weighted fusion of the rest
    monkeypatch.undo()
    # every model but popularity overruns a zero budget
    monkeypatch.setattr(engine, "cfg", dataclasses.replace(engine.cfg, model_budget_ms=0.0))
    ranking = engine.recommend(user, history, k=10)
    assert ranking.models == ["popularity"] and len(ranking.items) == 10
    assert set(ranking.dropped) == set(engine.models) - {"popularity"}
