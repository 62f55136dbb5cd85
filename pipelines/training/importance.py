"""Permutation importance on device tensors: how much the validation metric worsens when one feature column's
values are shuffled among the rows, the model and the other columns unchanged.

It runs where the tensors live (CPU or CUDA): the rows are a seeded sample of at most `rows`, each column is
shuffled `repeats` times, and only the metric's scalars leave the device. Used after training, for the report.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from pipelines import evaluate
from pipelines.training.types import DeviceData


def sample(data: DeviceData, rows: int, seed: int) -> DeviceData:
    """A seeded sample of at most `rows` rows, in their order (gathered on the data's device)."""
    if len(data) <= rows:
        return data
    generator = torch.Generator().manual_seed(seed)
    keep = torch.sort(torch.randperm(len(data), generator=generator)[:rows]).values.to(data.y.device)
    return DeviceData(data.numeric[keep], data.codes[keep], data.y[keep])


def permutation_importance(
    predict: Callable[[DeviceData], torch.Tensor],
    data: DeviceData,
    names: tuple[list[str], list[str]],
    task: str,
    rows: int = 2000,
    seed: int = 0,
    repeats: int = 3,
) -> dict[str, float]:
    """How much the task's primary metric worsens, on average, per feature column shuffled (positive: it matters;
    an AUC that falls and an RMSE that rises both count as positive).

    `names`: the columns of `data.numeric` and of `data.codes`, in order (the workflow's numeric_, categorical_).
    """
    data = sample(data, rows, seed)
    metric = evaluate.PRIMARY[task]
    measure = evaluate.METRICS[task][metric]
    sign = 1.0 if evaluate.HIGHER_IS_BETTER[metric] else -1.0
    baseline = float(measure(data.y, predict(data)))
    generator = torch.Generator().manual_seed(seed + 1)
    n = len(data)
    repeated = DeviceData(data.numeric.repeat(repeats, 1), data.codes.repeat(repeats, 1), data.y.repeat(repeats))
    drops: dict[str, float] = {}
    for matrix, columns in (("numeric", names[0]), ("codes", names[1])):
        for index, column in enumerate(columns):
            # The `repeats` shuffles of this column stacked, scored in one pass of the model (rows are independent)
            values = getattr(data, matrix)[:, index]
            orders = [torch.randperm(n, generator=generator).to(values.device) for _ in range(repeats)]
            shuffled = getattr(repeated, matrix).clone()
            shuffled[:, index] = torch.cat([values[order] for order in orders])
            permuted = DeviceData(
                **{"numeric": repeated.numeric, "codes": repeated.codes, "y": repeated.y, matrix: shuffled}
            )
            predicted = predict(permuted)
            scores = [float(measure(data.y, predicted[k * n : (k + 1) * n])) for k in range(repeats)]
            drops[column] = sign * (baseline - sum(scores) / repeats)
    return drops
