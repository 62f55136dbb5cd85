"""devicepipe: Parquet/CSV to a trained, evaluated model, on cuDF/cuML/torch-CUDA or pandas/scikit-learn/torch-CPU.

The library never imports prefect; flows/ wraps it. Only `pipelines.backend` imports RAPIDS modules.
"""

__version__ = "0.1.0"
