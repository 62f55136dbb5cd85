"""Runs on disk: the run directory (written to a temporary folder, renamed when complete, runs/latest), the record
a run writes into it (metrics, manifest, bundle, report), the feature cache, the residency ledger, and the
listing and comparison of runs.

May import: pipelines.report, pipelines.scoring and everything below them.
"""
