"""train_mlp on tiny separable problems (CPU): it learns, is deterministic, and stops on a non-finite loss;
EarlyStopping on its own."""

from __future__ import annotations

import io

import pytest
import torch
from torch import nn

from pipelines import evaluate
from pipelines.training.early_stopping import EarlyStopping
from pipelines.training.loop import NonFiniteLoss, predict
from pipelines.training.train import train_mlp
from pipelines.training.types import DeviceData, TrainConfig

CARDINALITIES = [5]  # codes 1..4 plus the reserved unknown code 0
CONFIG = TrainConfig(epochs=5, batch_size=256)


def _data(rows: int, seed: int, task: str) -> DeviceData:
    """3 numeric columns and 1 categorical column; the target depends on two numerics and the category."""
    generator = torch.Generator().manual_seed(seed)
    numeric = torch.randn(rows, 3, generator=generator)
    codes = torch.randint(1, 5, (rows, 1), generator=generator, dtype=torch.int32)
    effect = torch.tensor([0.0, -1.0, 0.0, 0.5, 1.0])[codes[:, 0].long()]
    signal = 2.0 * numeric[:, 0] - 1.5 * numeric[:, 1] + effect
    if task == "classification":
        y = (signal > 0).float()
    else:
        y = 3.0 * signal + 10.0 + 0.3 * torch.randn(rows, generator=generator)
    return DeviceData(numeric, codes, y)


def _fit(task: str, config: TrainConfig = CONFIG, train: DeviceData | None = None):
    train = train if train is not None else _data(3000, 0, task)
    valid = _data(1000, 1, task)
    return train_mlp(train, valid, CARDINALITIES, task, config, progress=False), valid


def test_classification_reaches_a_high_validation_auc():
    result, valid = _fit("classification")
    assert result.best_metric > 0.9
    assert 0 <= result.best_epoch < CONFIG.epochs
    assert result.best_metric == max(h["valid_auc"] for h in result.history)
    prob = predict(result.model, valid, "classification")
    assert prob.shape == valid.y.shape
    assert bool(((prob >= 0) & (prob <= 1)).all())
    assert float(evaluate.auc(valid.y, prob)) == pytest.approx(result.best_metric, abs=1e-6)


def test_regression_reaches_a_high_validation_r2():
    result, valid = _fit("regression")
    pred = predict(result.model, valid, "regression", result.target_mean, result.target_std)
    assert float(evaluate.r2(valid.y, pred)) > 0.8
    assert result.target_mean == pytest.approx(10.0, abs=0.5)  # targets were scaled for training
    assert result.best_metric == min(h["valid_rmse"] for h in result.history)


def test_the_same_seed_gives_identical_weights():
    first, _ = _fit("classification", TrainConfig(epochs=2, batch_size=256, seed=11))
    second, _ = _fit("classification", TrainConfig(epochs=2, batch_size=256, seed=11))
    other, _ = _fit("classification", TrainConfig(epochs=2, batch_size=256, seed=12))
    a, b, c = (r.model.state_dict() for r in (first, second, other))
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
    assert first.history[-1]["valid_auc"] == second.history[-1]["valid_auc"]


def test_a_table_smaller_than_one_batch_still_trains():
    train = _data(1000, 0, "classification")  # fewer rows than the default batch size of 2048
    result, _ = _fit("classification", TrainConfig(epochs=2), train=train)
    assert result.history[0]["rows_per_second"] > 0
    assert result.best_metric > 0.9


def test_a_nan_in_the_training_features_raises_non_finite_loss_naming_the_step():
    train = _data(3000, 0, "classification")
    train.numeric[::50, 2] = float("nan")  # every batch holds some
    with pytest.raises(NonFiniteLoss, match=r"became nan at step 0 \(epoch 0\)"):
        _fit("classification", train=train)


def _marked(value: float) -> nn.Module:
    model = nn.Linear(1, 1)
    with torch.no_grad():
        model.weight.fill_(value)
    return model


def test_early_stopping_where_lower_is_better_keeps_the_best_weights_and_waits_patience_epochs():
    stopping, model = EarlyStopping(metric="rmse", patience=2), _marked(0)
    improved, stopped = [], []
    for epoch, value in enumerate([1.0, 0.5, 0.7, 0.4, 0.6, 0.4]):  # a tie is not an improvement
        with torch.no_grad():
            model.weight.fill_(epoch)  # the weights say which epoch they are from
        improved.append(stopping.update(epoch, value, model))
        stopped.append(stopping.stopped)
    assert improved == [True, True, False, True, False, False]
    assert stopped == [False, False, False, False, False, True]
    assert (stopping.best_epoch, stopping.best_metric, stopping.waited) == (3, 0.4, 2)
    stopping.restore_best(model)  # a copy: the later in-place changes did not reach it
    assert float(model.weight.detach()) == 3.0


def test_early_stopping_where_higher_is_better_and_its_state_round_trips():
    stopping = EarlyStopping(metric="auc", patience=1)
    for epoch, value in enumerate([0.6, 0.7, 0.65]):
        stopping.update(epoch, value, _marked(epoch))
    assert stopping.stopped and (stopping.best_epoch, stopping.best_metric) == (1, 0.7)
    buffer = io.BytesIO()
    torch.save(stopping.state_dict(), buffer)  # as a checkpoint holds it
    buffer.seek(0)
    again = EarlyStopping(metric="auc", patience=1)
    again.load_state_dict(torch.load(buffer, weights_only=True))
    assert (again.best_epoch, again.best_metric, again.waited, again.stopped) == (1, 0.7, 1, True)
    assert again.best_state is not None and float(again.best_state["weight"]) == 1.0
