"""Out-of-fold values for the ops that learn from the target (TargetEncode, GroupbyAggregate with folds).

A row's fold is a hash of its row key, the frame's index (the split stage's row numbers), mixed with the op's seed
by SplitMix64 in 64-bit integer arithmetic, modulo `folds`: it depends on the row alone, never on its partition
or on a random draw, and NumPy and CuPy compute the same folds, so both backends deal the same ones. Give a frame
whose index identifies its rows (the split stage's frames, or a dask DataFrame made from them, keep it: a dask
DataFrame read from files numbers each partition from 0, so give it a global index first); rows sharing an index
share a fold. Each fold's values come from a copy of the op finished with the merged statistics of the other
folds: the same partial/merge/finish as `fit`, so one pass over the partitions serves every fold. When every row
falls in one fold (a single row), the rows get the in-sample values of `transform`.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from pipelines.backend import index_values, module_of
from pipelines.cluster.frames import Frames

ROW = "__row__"
FOLD = "__fold__"


GOLDEN, MIX1, MIX2 = (np.uint64(v) for v in (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB))


def fold_of(frame: Any, folds: int, seed: int) -> Any:
    """Each row's fold in [0, folds) from its index and `seed` (SplitMix64's finaliser), on `frame`'s index."""
    with np.errstate(over="ignore"):  # the arithmetic is modulo 2**64 on purpose
        z = index_values(frame).astype("uint64") + np.uint64(seed % 2**64) * GOLDEN + GOLDEN
        z = (z ^ (z >> np.uint64(30))) * MIX1
        z = (z ^ (z >> np.uint64(27))) * MIX2
        z = z ^ (z >> np.uint64(31))
    return module_of(frame).Series((z % np.uint64(folds)).astype("int64"), index=frame.index)


def out_of_fold(op: Any, frame: Any, keys: list[str], others: list[str], folds: int, seed: int) -> Any:
    """`frame` (or a dask DataFrame) with `op`'s outputs, each row's values from the statistics of the other folds.

    `keys` are the op's key columns, `others` the other columns it reads."""
    frames = Frames(frame)
    merge = functools.partial(_merge_folds, op)
    per_fold = frames.reduce(_fold_partials, merge, op, [*keys, *others], folds, seed)
    if sum(rows > 0 for rows, _ in per_fold) < 2:
        return frames.map(_transform, op)
    copies = _fitted_without(op, per_fold)
    return frames.map(_apply_folds, copies, [*keys, *others], seed, list(op.outputs_))


def _transform(frame: Any, op: Any) -> Any:
    return op.transform(frame)


def _fold_partials(frame: Any, op: Any, inputs: list[str], folds: int, seed: int) -> list:
    """(rows, op.partial) of each fold's rows of one partition."""
    fold = fold_of(frame, folds, seed)
    values = frame[inputs]
    return [(int((fold == f).sum()), op.partial(values[fold == f])) for f in range(folds)]


def _merge_folds(op: Any, a: list, b: list) -> list:
    return [(rows_a + rows_b, op.merge(sa, sb)) for (rows_a, sa), (rows_b, sb) in zip(a, b, strict=True)]


def _fitted_without(op: Any, per_fold: list) -> list:
    """Per fold, a copy of `op` finished with the statistics of every other fold: merged from the folds before it
    and the folds after it (running merges from both ends), so k folds take about 3k merges, not k squared."""
    stats = [s for _, s in per_fold]
    before, after = [None], [None]
    for s in stats[:-1]:
        before.append(s if before[-1] is None else op.merge(before[-1], s))
    for s in stats[:0:-1]:
        after.insert(0, s if after[0] is None else op.merge(s, after[0]))
    merged = [b if a is None else a if b is None else op.merge(b, a) for b, a in zip(before, after, strict=True)]
    return [type(op)(**op.get_params()).finish(m, {}) for m in merged]


def _apply_folds(frame: Any, copies: list, inputs: list[str], seed: int, outputs: list[str]) -> Any:
    """`frame` with `outputs` from the copy of the op fitted without each row's fold, in the frame's row order."""
    numbered = frame[inputs].reset_index(drop=True)
    numbered[FOLD] = fold_of(frame, len(copies), seed).reset_index(drop=True)
    numbered[ROW] = numbered.index
    pieces = [copy.transform(numbered[numbered[FOLD] == f]) for f, copy in enumerate(copies)]
    values = module_of(frame).concat(pieces).sort_values(ROW)
    values.index = frame.index
    frame = frame.copy(deep=False)
    for column in outputs:
        frame[column] = values[column]
    return frame
