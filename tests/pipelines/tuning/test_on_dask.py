"""Trials on a real Dask cluster (a LocalCluster; `dask scheduler` and workers on 127.0.0.1): one at a time per
worker, the study's journal reached through the scheduler, the workers holding train and valid only, the splits a
--cluster run keeps on the workers handed off there, and --jobs beyond what there is refused."""

from __future__ import annotations

import itertools
from datetime import datetime

import optuna
import pandas as pd
import pytest
import torch

from pipelines import tuning
from pipelines.cluster.client import scatter_frame
from pipelines.config import RunConfig
from pipelines.errors import ConfigError
from pipelines.features.feature_set import OnWorkers
from pipelines.tuning.on_dask import WORKER, place_splits
from pipelines.tuning.study import journal

CONFIG = RunConfig(task="classification", epochs=2)


def _spans(folder, study: str) -> dict[str, list[tuple[datetime, datetime]]]:
    """Worker address -> the (start, end) of each trial it ran, from the study's journal."""
    spans: dict[str, list[tuple[datetime, datetime]]] = {}
    for trial in optuna.load_study(study_name=study, storage=journal(folder)).trials:
        spans.setdefault(trial.user_attrs[WORKER], []).append((trial.datetime_start, trial.datetime_complete))
    return spans


def test_trials_run_one_at_a_time_on_each_worker_and_a_rerun_goes_on(prepared, cpu, tmp_path, client):
    features, handoff = prepared
    lines: list[str] = []
    request = tuning.TuneRequest(families=["xgboost", "mlp"], trials=6, study="d")
    best = tuning.tune(features, handoff, CONFIG, cpu, request, tmp_path, say=lines.append, client=client)
    assert "xgboost: 6 trial(s) to run (0 done before), 2 at a time on Dask workers" in lines
    trials = pd.read_csv(tmp_path / tuning.TRIALS)
    assert len(trials) == 12 and set(trials["state"]) <= {"complete", "pruned"}
    assert trials["worker"].nunique() == 2  # both workers ran trials
    for name in ("xgboost", "mlp"):
        entry = best["families"][name]
        assert entry["trials"]["complete"] + entry["trials"]["pruned"] == 6 and 0.5 < entry["test"]["auc"] <= 1
        assert trials[(trials["family"] == name) & trials["defaults"]]["trial"].tolist() == [0]
        for spans in _spans(tmp_path, f"d.{name}").values():  # never two trials at once on one worker
            ordered = sorted(spans)
            assert all(end <= start for (_, end), (start, _) in itertools.pairwise(ordered))
    lines.clear()
    more = tuning.TuneRequest(families=["xgboost"], trials=8, study="d")
    tuning.tune(features, handoff, CONFIG, cpu, more, tmp_path, say=lines.append, client=client)
    assert lines[0] == "xgboost: 2 trial(s) to run (6 done before), 2 at a time on Dask workers"
    assert len(optuna.load_study(study_name="d.xgboost", storage=journal(tmp_path)).trials) == 8


def test_workers_hold_train_and_valid_only_and_hand_off_the_rows_a_cluster_run_keeps(prepared, cpu, client):
    features, handoff = prepared
    workers = sorted(client.scheduler_info(n_workers=-1)["workers"])
    broadcast = place_splits(client, workers, features, handoff, cpu)
    for worker in workers:
        names = client.submit(sorted, broadcast[worker], workers=[worker], pure=False).result()
        assert names == ["train", "valid"]  # the test split never reaches a trial
    for name in tuning.TRIAL_SPLITS:  # as fit_features keeps them: partitions on the workers
        frame, target = scatter_frame(
            client, features.frames[name], "1MiB", features.targets[name]
        )  # one block per worker at least
        assert frame.npartitions > 1
        features.on_workers[name] = OnWorkers(frame=frame, target=target)
    assembled = place_splits(client, workers, features, handoff, cpu)
    assert assembled[workers[0]] is not assembled[workers[1]]  # each worker joins and hands off its own copy
    for worker in workers:
        splits = assembled[worker].result()
        assert sorted(splits) == ["train", "valid"]
        for name, split in splits.items():
            pd.testing.assert_frame_equal(split.frame, features.frames[name].reset_index(drop=True))
            for side in ("numeric", "codes", "y"):
                assert torch.equal(getattr(split.tensors, side), getattr(handoff.data[name], side))


def test_trials_on_a_dask_scheduler_with_workers_on_localhost(prepared, cpu, tmp_path, scheduler):
    from distributed import Client

    features, handoff = prepared
    config = RunConfig(task="classification", epochs=2, cluster=scheduler)
    with Client(scheduler, timeout=30) as client:
        client.wait_for_workers(2, timeout=60)  # both workers in, before the tune counts them
        many = r"--jobs 3 asks for more trials at a time than the cluster's 2 workers"
        with pytest.raises(ConfigError, match=many), tuning.tuning_where(config, 3, "cpu"):
            pass
        request = tuning.TuneRequest(families=["logistic_regression"], trials=4, study="s", jobs=1)
        tuning.tune(features, handoff, CONFIG, cpu, request, tmp_path, client=client)
    trials = pd.read_csv(tmp_path / tuning.TRIALS)  # the scheduler's process wrote the journal for its workers
    assert len(trials) == 4 and trials["worker"].nunique() == 1 and set(trials["state"]) == {"complete"}


def test_jobs_on_one_gpu_are_refused_before_any_work():
    one_gpu = r"--jobs 2 on the GPU backend would put 2 trials on one GPU"
    with pytest.raises(ConfigError, match=one_gpu), tuning.tuning_where(CONFIG, 2, "gpu"):
        pass


@pytest.mark.parametrize("where", ["this process", "dask workers"])
def test_trials_another_tune_of_the_study_ended_count_toward_trials(prepared, cpu, tmp_path, where, request):
    """Two tunes of one study (two processes) stop at --trials in all: the other's trials, added to the journal
    while this one runs, count."""
    features, handoff = prepared
    client = request.getfixturevalue("client") if where == "dask workers" else None
    added: list[int] = []

    def say(line: str) -> None:
        if " trial 0 " in line and not added:  # the defaults ended; meanwhile another tune ended two trials
            other = optuna.load_study(study_name="o.logistic_regression", storage=journal(tmp_path))
            for value in (0.10, 0.11):
                other.add_trial(optuna.trial.create_trial(value=value))
            added.append(2)

    asked = tuning.TuneRequest(families=["logistic_regression"], trials=5, study="o")
    tuning.tune(features, handoff, CONFIG, cpu, asked, tmp_path, say=say, client=client)
    study = optuna.load_study(study_name="o.logistic_regression", storage=journal(tmp_path))
    assert added and tuning.counted(study) == 5  # 3 of this tune's own, not 5
