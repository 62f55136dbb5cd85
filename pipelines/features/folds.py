"""Out-of-fold values for the ops that learn from the target (TargetEncode, GroupbyAggregate with folds).

A row's fold is a hash of its row key, `pandas.util.hash_pandas_object` of the op's key columns together with the
frame's index, keyed by the op's seed, modulo `folds` (pipelines.backend.row_hashes): it depends on the row alone,
never on its partition or on a random draw per partition. The index is part of the key, so give a frame whose
index identifies its rows (the split stage's frames, or a dask DataFrame made from them, keep it); two rows with
the same keys and index share a fold. Each fold's values come from a copy of the op finished with the merged
statistics of the other folds: the same partial/merge/finish as `fit`, so one pass over the partitions serves
every fold. When every row falls in one fold (a single row), the rows get the in-sample values of `transform`.
"""

from __future__ import annotations

import functools
from typing import Any

from pipelines.backend import module_of, row_hashes
from pipelines.features.partitions import Frames

ROW = "__row__"
FOLD = "__fold__"


def fold_of(frame: Any, keys: list[str], folds: int, seed: int) -> Any:
    """Each row's fold in [0, folds), on `frame`'s index."""
    return (row_hashes(frame, keys, seed) % folds).astype("int64")


def out_of_fold(op: Any, frame: Any, keys: list[str], others: list[str], folds: int, seed: int) -> Any:
    """`frame` (or a dask DataFrame) with `op`'s outputs, each row's values from the statistics of the other folds.

    `keys` are the op's key columns (hashed into the fold with the index); `others` the rest it reads."""
    frames = Frames(frame)
    merge = functools.partial(_merge_folds, op)
    per_fold = frames.reduce(_fold_partials, merge, op, keys, [*keys, *others], folds, seed)
    if sum(rows > 0 for rows, _ in per_fold) < 2:
        return frames.map(_transform, op)
    copies = [_fitted_without(op, per_fold, fold) for fold in range(folds)]
    return frames.map(_apply_folds, copies, keys, others, seed, list(op.outputs_))


def _transform(frame: Any, op: Any) -> Any:
    return op.transform(frame)


def _fold_partials(frame: Any, op: Any, keys: list[str], inputs: list[str], folds: int, seed: int) -> list:
    """(rows, op.partial) of each fold's rows of one partition."""
    fold = fold_of(frame, keys, folds, seed)
    values = frame[inputs]
    return [(int((fold == f).sum()), op.partial(values[fold == f])) for f in range(folds)]


def _merge_folds(op: Any, a: list, b: list) -> list:
    return [(rows_a + rows_b, op.merge(sa, sb)) for (rows_a, sa), (rows_b, sb) in zip(a, b, strict=True)]


def _fitted_without(op: Any, per_fold: list, fold: int) -> Any:
    """A copy of `op` finished with the statistics of every fold but `fold`."""
    stats = functools.reduce(op.merge, [s for f, (_, s) in enumerate(per_fold) if f != fold])
    return type(op)(**op.get_params()).finish(stats, {})


def _apply_folds(frame: Any, copies: list, keys: list[str], others: list[str], seed: int, outputs: list[str]) -> Any:
    """`frame` with `outputs` from the copy of the op fitted without each row's fold, in the frame's row order."""
    numbered = frame[[*keys, *others]].reset_index(drop=True)
    numbered[FOLD] = fold_of(frame, keys, len(copies), seed).reset_index(drop=True)
    numbered[ROW] = numbered.index
    pieces = [copy.transform(numbered[numbered[FOLD] == f]) for f, copy in enumerate(copies)]
    values = module_of(frame).concat(pieces).sort_values(ROW)
    values.index = frame.index
    frame = frame.copy(deep=False)
    for column in outputs:
        frame[column] = values[column]
    return frame
