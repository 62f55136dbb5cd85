"""devicepipe: Parquet/CSV to a trained, evaluated model, on cuDF/cuML/torch-CUDA or pandas/scikit-learn/torch-CPU.

The library never imports prefect; flows/ wraps it. Only `pipelines.backend` imports RAPIDS modules. Its packages
import one way, down the layers of docs/architecture.md (tests/test_layers.py keeps them so): stages -> runs ->
report, scoring -> models -> training, datasets -> features -> data -> cluster -> backend -> the basics (config,
errors, files, evaluate: the modules beside this one).
"""

__version__ = "0.1.0"
