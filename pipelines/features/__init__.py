"""Feature ops with the scikit-learn contract, chained by a `Workflow` fitted on the training split only."""

from pipelines.features.base import Op
from pipelines.features.categorify import Categorify
from pipelines.features.concat import ConcatColumns
from pipelines.features.datetime_parts import DatetimeParts
from pipelines.features.numeric import FillMissing, Standardize
from pipelines.features.workflow import Workflow

__all__ = ["Categorify", "ConcatColumns", "DatetimeParts", "FillMissing", "Op", "Standardize", "Workflow"]
