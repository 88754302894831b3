"""The fuse stage's decision travels as one object: what is saved is what serves."""

import numpy as np
import pytest

from shopfusion.training.evaluate import choose
from shopfusion.training.fuser import METHODS, Fuser
from shopfusion.training.fusion import candidates, rank_fusion, weighted
from shopfusion.training.stacker import Stacker
from shopfusion.training.views import dense_view


@pytest.fixture(scope="module")
def views_and_stacker():
    rng = np.random.default_rng(4)
    scores = {n: rng.normal(size=(30, 80)).astype(np.float32) for n in ("a", "b", "c")}
    views = {n: dense_view(s, 20) for n, s in scores.items()}
    targets = scores["a"].argmax(1)
    item_feats, history = np.zeros((80, 3), np.float32), np.ones(30, np.float32)
    stacker = Stacker(depth=15, n_estimators=20).fit(candidates(views, 15), targets, item_feats, history)
    return views, stacker, item_feats, history


def test_saved_and_loaded_fuser_scores_alike(views_and_stacker, tmp_path):
    views, stacker, item_feats, history = views_and_stacker
    fuser = Fuser("stacker", {"a": 2.0, "b": 0.5, "c": 0.0}, 20, stacker, {"a": 0.3})
    spec = fuser.save(tmp_path / "fusion", data_version="v1")
    again = Fuser.load(tmp_path / "fusion")
    assert spec["method"] == again.method == "stacker" and spec["data_version"] == "v1"
    assert again.weights == fuser.weights and again.depth == 20 and again.stacker.depth == 15
    for method in METHODS:
        cand, fused = fuser.score(views, item_feats, history, method)
        cand2, fused2 = again.score(views, item_feats, history, method)
        np.testing.assert_array_equal(cand.items, cand2.items)
        np.testing.assert_allclose(fused, fused2, rtol=1e-6)


def test_each_method_is_the_fusion_function_it_names(views_and_stacker):
    views, stacker, item_feats, history = views_and_stacker
    fuser = Fuser("weighted", {"a": 2.0, "b": 0.5, "c": 0.0}, 20, stacker)
    cand, fused = fuser.score(views, item_feats, history)
    np.testing.assert_array_equal(fused, weighted(candidates(views, 20), fuser.weights))
    _, rrf = fuser.score(views, item_feats, history, "rrf")
    np.testing.assert_array_equal(rrf, rank_fusion(cand, "rrf"))
    stacked, by_stacker = fuser.score(views, item_feats, history, "stacker")
    assert stacked.depth == 15
    np.testing.assert_array_equal(by_stacker, stacker.score(stacked, item_feats, history))
    dense = fuser.dense_scores(views, item_feats, history, 80)
    assert set(dense) == set(METHODS) and all(d.shape == (30, 80) for d in dense.values())


def test_a_degraded_request_is_fused_by_the_weights_of_the_models_left(views_and_stacker):
    views, stacker, item_feats, history = views_and_stacker
    fuser = Fuser("stacker", {"a": 2.0, "b": 0.0, "c": 0.0}, 20, stacker)
    left = {"b": views["b"], "c": views["c"]}  # the only weighted model was dropped
    cand, fused = fuser.score(left, item_feats, history, "weighted")
    np.testing.assert_array_equal(fused, weighted(candidates(left, 20), {"b": 1.0, "c": 1.0}))


def test_serving_depth_covers_the_serving_method(views_and_stacker):
    _, stacker, _, _ = views_and_stacker
    assert Fuser("stacker", {"a": 1.0}, 10, stacker).view_depth() == 15
    assert Fuser("weighted", {"a": 1.0}, 10, stacker).view_depth(100) == 100


def test_an_unknown_method_is_refused(views_and_stacker, tmp_path):
    with pytest.raises(ValueError, match="one of single, weighted"):
        Fuser("median", {"a": 1.0}, 10, views_and_stacker[1])
    with pytest.raises(FileNotFoundError, match="shopfusion fuse"):
        Fuser.load(tmp_path / "nothing")


def test_single_serves_the_best_validation_model_alone(views_and_stacker):
    views, stacker, item_feats, history = views_and_stacker
    fuser = Fuser("single", {"a": 0.5, "b": 2.0, "c": 1.0}, 20, stacker, {"a": 0.1, "b": 0.3, "c": 0.2})
    assert fuser.single == "b"
    cand, fused = fuser.score(views, item_feats, history)
    np.testing.assert_array_equal(fused, weighted(cand, {"b": 1.0}))
    left = {"a": views["a"], "c": views["c"]}  # its model dropped: the weights of the rest
    cand, fused = fuser.score(left, item_feats, history)
    np.testing.assert_array_equal(fused, weighted(cand, {"a": 0.5, "c": 1.0}))


def test_the_choice_never_falls_below_the_best_single_model_on_validation():
    def held_out(single, weighted, stacker):
        return {"single": single, "weighted": weighted, "rrf": 0.2, "borda": 0.2, "stacker": stacker}

    assert choose(held_out(0.30, 0.29, 0.25), "auto") == "single"
    assert choose(held_out(0.30, 0.30, 0.30), "auto") == "single"  # a tie: the simpler
    assert choose(held_out(0.30, 0.31, 0.33), "auto") == "stacker"
    assert choose(held_out(0.30, 0.31, 0.33), "rrf") == "rrf"  # fixed in params


def test_with_several_windows_a_fusion_serves_only_if_it_holds_in_every_one():
    pooled = {"single": 0.30, "weighted": 0.33, "rrf": 0.2, "borda": 0.2, "stacker": 0.31}
    windows = {"single": [0.30, 0.30], "weighted": [0.40, 0.26], "rrf": [0.2, 0.2], "borda": [0.2, 0.2],
               "stacker": [0.31, 0.31]}
    assert choose(pooled, "auto") == "weighted"  # pooled alone: the larger mean
    assert choose(pooled, "auto", windows) == "stacker"  # weighted loses the second window
    windows["stacker"] = [0.32, 0.29]
    assert choose(pooled, "auto", windows) == "single"
    assert choose(pooled, "auto", {m: [v] for m, v in pooled.items()}) == "weighted"  # one window: as before
