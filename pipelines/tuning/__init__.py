"""Hyperparameter search with Optuna on features computed once (`devicepipe tune`).

- study.py: a family's study in the tune folder's journal (created, or continued), refused when it was made on
  other features; the trials as rows;
- objective.py: one trial, a family fitted with the settings it draws (the family's `search_space`) on the train
  split and scored on the validation split only, pruned per boosting round or epoch;
- search.py: `tune`, each family's study in turn, its best settings scored on the test split once, and the tune
  folder's files (trials.csv, best_params.json);
- on_dask.py: the trials on the workers of a Dask cluster (`--jobs N`: a LocalCluster; `--cluster`: the run's),
  one at a time per worker, the study's storage reached through the scheduler;
- report.py: the tune folder's report.html (figures from pipelines.report).

May import: the report, models, training, features, data, cluster, backend and the basics; never the runs or
scoring.
"""

from pipelines.tuning.objective import TRIAL_SPLITS, make_objective, trial_splits
from pipelines.tuning.on_dask import tuning_where
from pipelines.tuning.search import BEST, TRIALS, TuneRequest, study_for, tune, tune_folder
from pipelines.tuning.study import JOURNAL, check_folder, counted, open_study, trial_rows

__all__ = [
    "BEST",
    "JOURNAL",
    "TRIALS",
    "TRIAL_SPLITS",
    "TuneRequest",
    "check_folder",
    "counted",
    "make_objective",
    "open_study",
    "study_for",
    "trial_rows",
    "trial_splits",
    "tune",
    "tune_folder",
    "tuning_where",
]
