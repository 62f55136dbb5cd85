"""Scoring new rows with a run's inference bundle: the bundle (workflow state, model files, drift profile), the
predictions written atomically, the probability from which a row is the positive class (`--threshold`), and drift
(PSI of new rows and predictions against the training profile).

May import: pipelines.models, pipelines.training, pipelines.datasets and everything below them; never the
report or the run directory's writers (pipelines.runs).
"""
