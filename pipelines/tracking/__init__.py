"""MLflow tracking of a run (`devicepipe run --track [URI]`, or MLFLOW_TRACKING_URI set): the optional `tracking`
extra, imported only when tracking is on.

- where.py: the tracking URI a run uses (its --track, MLFLOW_TRACKING_URI, or a local SQLite store beside the
  output folder) and the check, before any work, that it answers;
- log.py: a written run directory logged as one MLflow run (its settings, metrics, the MLP's curves, seconds per
  stage, residency bytes, the inputs as datasets, tags and artifacts), through MlflowClient with an explicit run id,
  and what was logged (or what was not) recorded in the run's manifest;
- session.py: one MLflow run being logged (its client and experiment, the step under way, NotTracked naming a
  failed step), shared by the train run's, the scoring's and the tune's logging;
- model.py: the family logged as the run's MLflow model, the steps that log and register it;
- pyfunc.py: the run's inference bundle as an MLflow pyfunc model (served.py is the code MLflow loads it with);
- registered.py: the model registry (--register NAME, the `champion` alias) and a registered model's bundle fetched
  for `devicepipe predict --from models:/NAME@champion`.

May import: the run directory (`pipelines/runs/`) and everything below it; nothing of the flows.
"""

from pipelines.tracking.log import log_run, record_tracking
from pipelines.tracking.model import tracked_model
from pipelines.tracking.session import NotTracked
from pipelines.tracking.where import check_tracking, model_store, tracking_uri

__all__ = ["NotTracked", "check_tracking", "log_run", "model_store", "record_tracking", "tracked_model", "tracking_uri"]
