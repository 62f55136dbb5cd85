"""A family's Optuna study in the tune folder: created on first use, continued by a later tune of the same name.

Every study of a tune folder lives in one journal file (Optuna's JournalStorage over a JournalFileBackend: an
append-only log that several processes can share, and that a killed process leaves readable, so a killed tune
loses only the trials in flight). A study records the fingerprint of the features it was made on (the feature
cache's key: the inputs, the settings and the code); a tune on other data or features is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna

from pipelines.errors import ConfigError
from pipelines.evaluate import HIGHER_IS_BETTER

JOURNAL = "study.journal"
FINGERPRINT = "devicepipe_features"  # the study's user attribute that holds the features' fingerprint
DESCRIBED = "devicepipe_data"  # ... and what they were made from, for the message that refuses another
DEFAULTS = "defaults"  # a trial's user attribute: it ran the family's default settings


def check_folder(folder: Path, study: str, described: str) -> None:
    """Before any work: a ConfigError when `folder` holds studies of the tune `study` made on other data."""
    if not (folder / JOURNAL).exists():
        return
    for summary in optuna.get_all_study_summaries(journal(folder), include_best_trial=False):
        made_on = summary.user_attrs.get(DESCRIBED)
        if summary.study_name.startswith(f"{study}.") and made_on not in (None, described):
            raise _other_features(summary.study_name, folder, made_on, described)


def journal(folder: Path) -> optuna.storages.JournalStorage:
    """The storage of the tune folder's studies: its journal file (by its absolute path, for other processes)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial is devicepipe's to write
    return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str((folder / JOURNAL).resolve())))


def searching(family: Any, seed: int) -> dict[str, Any]:
    """How a study of `family` draws and prunes trials: TPE seeded with `seed`, and the median rule once past the
    family's `pruning_warmup` steps (the keywords of optuna.create_study and optuna.load_study)."""
    return {
        "sampler": optuna.samplers.TPESampler(seed=seed),
        "pruner": optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=family.pruning_warmup),
    }


def _other_features(name: str, folder: Path, made_on: str | None, described: str) -> ConfigError:
    return ConfigError(
        f"The study {name!r} in {folder} was made on other data or features ({made_on}), not on these "
        f"({described}): its trials do not apply to them. Give this tune another --study name, or another --output "
        "folder."
    )


def open_study(
    folder: Path,
    name: str,
    metric: str,
    fingerprint: str,
    described: str,
    seed: int,
    family: Any,
    task: str,
    storage: Any = None,
) -> optuna.Study:
    """The study `name` of `family` in `folder`'s journal (or `storage`, the same journal reached another way): new
    (its first trial the family's defaults), or the one a tune of that name left there (a ConfigError when that one
    was made on other features). Trials are drawn and pruned as `searching` says."""
    study = optuna.create_study(
        study_name=name,
        storage=journal(folder) if storage is None else storage,
        direction="maximize" if HIGHER_IS_BETTER[metric] else "minimize",
        load_if_exists=True,
        **searching(family, seed),
    )
    found = study.user_attrs.get(FINGERPRINT)
    if found is None:
        study.set_user_attr(FINGERPRINT, fingerprint)
        study.set_user_attr(DESCRIBED, described)
        study.enqueue_trial(family.default_draw(task), user_attrs={DEFAULTS: True})
    elif found != fingerprint:
        raise _other_features(name, folder, study.user_attrs.get(DESCRIBED), described)
    return study


COUNTED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)  # the trials `--trials` counts


def counted(study: optuna.Study) -> int:
    """Trials that ran to their end (completed or pruned): what `--trials` counts."""
    return len(study.get_trials(deepcopy=False, states=COUNTED))


def trial_rows(study: optuna.Study, running: bool = False) -> list[dict[str, Any]]:
    """One row per trial: number, state, value, seconds, the step it was pruned at, its settings. A trial left
    running by a process that ended (`running` False: none of this tune's is in flight) is "interrupted"."""
    rows = []
    for trial in study.get_trials(deepcopy=False):
        state = trial.state.name.lower()
        if state == "running" and not running:
            state = "interrupted"
        seconds = (trial.datetime_complete - trial.datetime_start).total_seconds() if trial.datetime_complete else None
        rows.append(
            {
                "trial": trial.number,
                "state": state,
                "value": trial.value,
                "seconds": None if seconds is None else round(seconds, 3),
                "pruned_at": trial.user_attrs.get("pruned_at"),
                "defaults": bool(trial.user_attrs.get(DEFAULTS)),
                **({"worker": trial.user_attrs["worker"]} if "worker" in trial.user_attrs else {}),
                **{f"params_{key}": value for key, value in trial.params.items()},
            }
        )
    return rows
