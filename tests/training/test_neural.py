"""Early stopping in the torch training loop: it stops after `patience` epochs without a
better validation score and keeps the best epoch's weights."""

import numpy as np
import torch

from shopfusion.training.neural import EarlyStop, fit_module


class Line(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def loss(self, x):
        return ((self.w - x) ** 2).mean()


def test_training_stops_after_patience_and_keeps_the_best_epoch():
    module, seen = Line(), []
    scores = iter([0.1, 0.3, 0.2, 0.25, 0.9])  # best at epoch 2; two worse ones end it

    def validate():
        seen.append(float(module.w.detach()))
        return next(scores)

    stop = EarlyStop(np.zeros(1), [], np.zeros(1), None, patience=2, max_s=60)
    losses, kept = fit_module(module, lambda rng: [(np.ones(4, np.float32),)], 10, 0.1, 0, "line",
                              validate, stop)
    assert len(losses) == 4 and kept == 2  # epoch 5 (the 0.9) never ran
    assert float(module.w.detach()) == seen[1]  # the weights validated at epoch 2


def test_without_early_stopping_every_epoch_runs():
    losses, kept = fit_module(Line(), lambda rng: [(np.ones(4, np.float32),)], 5, 0.1, 0, "line")
    assert len(losses) == 5 and kept == 5


def test_the_validation_score_leaves_history_out_but_the_target_in():
    stop = EarlyStop(np.arange(2), [], np.array([0, 2]), [np.array([0, 1]), np.array([1])], 1, 60)
    scores = np.array([[1.0, 5.0, 0.0], [0.0, 9.0, 1.0]], np.float32)
    assert stop.ndcg(scores) == 1.0  # item 1 (seen) is out of both rankings; target 0 stays in
