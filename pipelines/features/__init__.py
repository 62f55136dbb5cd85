"""Feature ops with the scikit-learn contract, chained by a `Workflow` fitted on the training split only.

May import: pipelines.data, pipelines.cluster, pipelines.backend and the basics (config, errors, files, evaluate).
"""

from pipelines.data.split import Part
from pipelines.features.base import Op
from pipelines.features.bucketize import Bucketize
from pipelines.features.categorify import Categorify
from pipelines.features.clip import Clip
from pipelines.features.concat import ConcatColumns
from pipelines.features.datetime_parts import DatetimeParts
from pipelines.features.group_count import GroupCount
from pipelines.features.groupby_aggregate import GroupbyAggregate
from pipelines.features.join import Join
from pipelines.features.log1p import Log1p
from pipelines.features.numeric import FillMissing, Standardize
from pipelines.features.target_encode import TargetEncode
from pipelines.features.workflow import Workflow

__all__ = [
    "Bucketize",
    "Categorify",
    "Clip",
    "ConcatColumns",
    "DatetimeParts",
    "FillMissing",
    "GroupCount",
    "GroupbyAggregate",
    "Join",
    "Log1p",
    "Op",
    "Part",
    "Standardize",
    "TargetEncode",
    "Workflow",
]
