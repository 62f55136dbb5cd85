"""The run's report: the numbers it shows (`data`), its figures, report.md (`markdown`) and the self-contained
report.html (`html`).

May import: pipelines.models, pipelines.training, pipelines.datasets and everything below them; never scoring
or the run directory (pipelines.runs).
"""
