"""One retry policy for every flow: I/O errors are retried, bad input (DataError) fails at once."""

from __future__ import annotations

import pytest
from prefect import flow

from flows import score, tasks
from pipelines.errors import DataError

IO_TASKS = {"score/load": score.load, "train/load": tasks.TASKS["load"], "cache-lookup": tasks.TASKS["cache-lookup"]}


def _run_with(task, monkeypatch, error: BaseException, fail_times: int) -> int:
    """Run `task` in a flow with its function replaced by one that raises `error` `fail_times` times."""
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) <= fail_times:
            raise error
        return "read"

    fast = task.with_options(retry_delay_seconds=0)
    monkeypatch.setattr(fast, "fn", flaky)

    @flow
    def one_task():
        return fast(None, None) if task is not score.load else fast(None, None, None)

    try:
        one_task()
    except type(error):
        pass
    return len(calls)


@pytest.mark.parametrize("name", IO_TASKS)
def test_bad_input_is_not_retried(name, monkeypatch, prefect_harness):
    assert _run_with(IO_TASKS[name], monkeypatch, DataError("no such column"), fail_times=10) == 1


@pytest.mark.parametrize("name", IO_TASKS)
def test_a_transient_io_error_is_retried(name, monkeypatch, prefect_harness):
    assert _run_with(IO_TASKS[name], monkeypatch, OSError("connection reset"), fail_times=2) == 3


def test_only_io_stages_retry():
    for name, task in tasks.TASKS.items():
        stage_is_io = "io" in task.tags
        assert (task.retries > 0) == stage_is_io, name
        if stage_is_io:
            assert task.retry_condition_fn is tasks.retry_io_only, name
