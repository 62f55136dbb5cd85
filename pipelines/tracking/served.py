"""The code MLflow runs to load a devicepipe model (MLflow's "models from code"; pipelines/tracking/pyfunc.py logs
it): the pyfunc model is a BundleModel, which reads its bundle in `load_context`."""

from mlflow.models import set_model

from pipelines.tracking.pyfunc import BundleModel

set_model(BundleModel())
