"""A tune folder's study in MLflow (`devicepipe tune --track`): one run for the study, its trials as child runs.

The study's run is found again by its tags (the study and the tune folder), so a study tuned again (it goes on
where it stopped) keeps one run in MLflow, and only the trials it has not logged yet are added:

    the study's run   parameters: the study, the data, the metric and its direction; metrics:
                      <family>/best_valid_<metric>, <family>/test_<metric>, <family>/trials_complete and _pruned
                      (stepped: one step per tune); artifacts: best_params.json, trials.csv, report.html
    a trial's run     named "<family> trial <n>", tagged mlflow.parentRunId (MLflow's nesting) and
                      devicepipe.trial = <family>/<n>; parameters: its settings; metrics: value, seconds; status
                      FINISHED (complete), KILLED (pruned) or FAILED. Trials still running are left for later.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.tracking.session import BATCH, Session, batched, logging_to, text

TRACKED = "tracking.json"  # in the tune folder: where its study went in MLflow (or why it did not)
STATUS = {"complete": "FINISHED", "pruned": "KILLED", "fail": "FAILED"}  # ended trials' states as MLflow's
ARTIFACTS = ("best_params.json", "trials.csv", "report.html")
STUDY, FOLDER, TRIAL = "devicepipe.study", "devicepipe.tune_folder", "devicepipe.trial"


def log_tune(folder: Path, uri: str, experiment: str, links: dict[str, str]) -> dict[str, Any]:
    """Log the tune folder's study and its ended trials; returns where (the study's run) and how many trials
    were added."""
    best = json.loads((folder / "best_params.json").read_text())
    trials = pd.read_csv(folder / "trials.csv")
    with logging_to(uri, experiment) as session:
        step = _study_run(session, folder.resolve(), best, links)
        added = _trials(session, trials)
        session.do(_study_steps(session, folder, best, step))
    return {"uri": uri, "experiment": experiment, "run_id": session.run_id, "url": session.page(), "trials": added}


def _study_run(session: Session, folder: Path, best: dict[str, Any], links: dict[str, str]) -> int:
    """The study's run, found or made (session.run_id); returns the step this tune logs its metrics at."""
    client, tags = session.client, {STUDY: best["study"], FOLDER: str(folder)}
    query = " and ".join(f"tags.`{key}` = '{value}'" for key, value in tags.items())
    found = client.search_runs([session.experiment_id], query, max_results=1)
    if found:
        session.run_id = found[0].info.run_id
        return 1 + max((m.step for m in client.get_metric_history(session.run_id, "tunes")), default=-1)
    links = {key: value for key, value in links.items() if not str(value).startswith("/")}
    run = client.create_run(session.experiment_id, run_name=f"tune {best['study']}", tags={**tags, **links})
    session.run_id = run.info.run_id
    keys = ("study", "data", "metric", "direction")
    session.do([("the study's parameters", lambda: client.log_batch(session.run_id, params=_params(best, keys)))])
    return 0


def _params(values: dict[str, Any], keys: tuple[str, ...] | None = None) -> list[Any]:
    from mlflow.entities import Param  # here: the tracking extra, imported only when tracked

    keys = keys or tuple(values)
    return [Param(key, text(values[key])) for key in keys if key in values]


def _trials(session: Session, trials: pd.DataFrame) -> int:
    """A child run for each ended trial not logged yet; returns how many."""
    from mlflow.entities import Metric  # here: as above

    client, parent = session.client, session.run_id
    children = client.search_runs([session.experiment_id], f"tags.`mlflow.parentRunId` = '{parent}'", max_results=50000)
    logged = {child.data.tags.get(TRIAL) for child in children}
    added = 0
    for row in trials.to_dict("records"):
        name = f"{row['family']}/{row['trial']}"
        if row["state"] not in STATUS or name in logged:
            continue
        session.step = f"trial {name}"
        tags = {"mlflow.parentRunId": parent, TRIAL: name, "optuna.state": row["state"]}
        child = client.create_run(session.experiment_id, run_name=f"{row['family']} trial {row['trial']}", tags=tags)
        settings = {key.removeprefix("params_"): value for key, value in row.items() if key.startswith("params_")}
        settings = {key: value for key, value in settings.items() if not _missing(value)}
        metrics = [Metric(key, float(row[key]), 0, 0) for key in ("value", "seconds") if not _missing(row[key])]
        client.log_batch(child.info.run_id, metrics=metrics, params=_params(settings))
        client.set_terminated(child.info.run_id, STATUS[row["state"]])
        added += 1
    return added


def _study_steps(session: Session, folder: Path, best: dict[str, Any], step: int) -> list[tuple[str, Any]]:
    from mlflow.entities import Metric  # here: as above

    client, metric, values = session.client, best["metric"], [("tunes", step + 1)]
    for family, entry in best["families"].items():
        values += [(f"{family}/best_valid_{metric}", entry["valid"][metric])]
        values += [(f"{family}/test_{metric}", entry["test"][metric])]
        values += [(f"{family}/trials_{state}", entry["trials"][state]) for state in ("complete", "pruned")]
    metrics = [Metric(key, float(value), 0, step) for key, value in values]
    return [
        ("the study's metrics", lambda: batched(client.log_batch, session.run_id, "metrics", metrics, 10 * BATCH)),
        *[
            (f"the artifact {name}", lambda name=name: client.log_artifact(session.run_id, str(folder / name)))
            for name in ARTIFACTS
            if (folder / name).exists()
        ],
    ]


def tracked_tune(folder: Path) -> str | None:
    """A line for a person on where the tune folder's study went in MLflow (or why not); None when not tracked."""
    path = folder / TRACKED
    if not path.exists():
        return None
    record = json.loads(path.read_text())
    if "error" in record:
        return record["error"]
    where = record["url"] or f"{record['uri']}, run {record['run_id']}"
    return f"MLflow run of the study: {where} ({record['trials']} trials added as child runs)"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
