"""The tune folder's report.html: one self-contained page per tune (figures inline, no script, nothing remote),
in the run report's style. Per family: the best settings beside the defaults, the validation and test metrics of
the family fitted with them, the search history, the settings' importances (Optuna's fANOVA) and each trial's
settings as parallel coordinates; then the best trials as a table."""

from __future__ import annotations

import math
import warnings
from html import escape
from pathlib import Path
from typing import Any

import optuna

from pipelines.evaluate import HIGHER_IS_BETTER
from pipelines.files import write_text_atomic
from pipelines.report import figures
from pipelines.report.html import document, figure, table

REPORT = "report.html"
BEST_ROWS = 10


def write_report(folder: Path, best: dict[str, Any], studies: dict[str, optuna.Study]) -> Path:
    """report.html in `folder` from best_params (`best`) and each family's study."""
    metric = best["metric"]
    sections = "".join(_family(name, best["families"][name], study, metric) for name, study in studies.items())
    title = f"devicepipe tune {best['study']}"
    body = (
        f"<h1>Tune {escape(best['study'])}</h1><p class='sub'>{escape(best['data'])}; trials scored on the validation "
        f"split ({escape(metric)}); the test split read once, for each family's best settings.</p>{sections}"
        f"<h2>Training with them</h2><pre>devicepipe run --params {escape(str(folder))}</pre>"
    )
    return write_text_atomic(folder / REPORT, document(title, body))


def _family(name: str, entry: dict[str, Any], study: optuna.Study, metric: str) -> str:
    trials = study.get_trials(deepcopy=False)
    counts = entry["trials"]
    rows = [
        [
            f"best settings (trial {entry['trial']})",
            f"{entry['valid'][metric]:.4f}",
            f"{entry['test'][metric]:.4f}",
            f"{counts['complete']} complete, {counts['pruned']} pruned, {counts['fail']} failed",
        ]
    ]
    if entry.get("valid_with_defaults") is not None:
        rows.append(["the defaults (trial 0)", f"{entry['valid_with_defaults']:.4f}", "not read", ""])
    summary = table(["", f"valid {metric}", f"test {metric}", "trials"], rows)
    settings = table(
        ["setting", "best", "default"],
        [[key, _text(value), _text(entry["defaults"].get(key))] for key, value in entry["settings"].items()],
    )
    shown = [_history(trials, metric), *_importances(name, study), *_parallel(trials, metric)]
    return (
        f"<h2 id='{escape(name)}'>{escape(name)}</h2>{summary}<div class='columns'>{settings}</div>"
        f"<div class='figures'>{''.join(shown)}</div>{_best_trials(trials, study.direction, metric)}"
    )


def _history(trials: list[optuna.trial.FrozenTrial], metric: str) -> str:
    values = [t.value if t.value is not None else _last_report(t) for t in trials]
    pruned = [t.state == optuna.trial.TrialState.PRUNED for t in trials]
    png = figures.search_history(values, pruned, metric, HIGHER_IS_BETTER[metric])
    return figure(png, "search history", "Each trial's validation metric; the line is the best so far.")


def _importances(name: str, study: optuna.Study) -> list[str]:
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < 2:
        return []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna's notes on an evaluator's experimental status
            importance = optuna.importance.get_param_importances(study)
    except (RuntimeError, ValueError):  # too few distinct trials to rank the settings by
        return []
    png = figures.bars(f"{name}: what the metric depended on", importance, "importance (fANOVA)")
    return [figure(png, "setting importances", "How much of the metric's variation each setting explains.")]


def _parallel(trials: list[optuna.trial.FrozenTrial], metric: str) -> list[str]:
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    rows = [_scaled(t) for t in complete]
    if len(complete) < 2 or not any(rows):
        return []
    png = figures.parallel_settings(rows, [t.value for t in complete], metric)
    return [figure(png, "settings of each trial", "Each completed trial across its settings, coloured by its metric.")]


def _best_trials(trials: list[optuna.trial.FrozenTrial], direction: Any, metric: str) -> str:
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    complete.sort(key=lambda t: t.value, reverse=direction == optuna.study.StudyDirection.MAXIMIZE)
    names = sorted({k for t in complete for k in t.params})
    rows = [[str(t.number), f"{t.value:.4f}", *(_text(t.params.get(k)) for k in names)] for t in complete[:BEST_ROWS]]
    return f"<h3>The best trials</h3>{table(['trial', f'valid {metric}', *names], rows)}" if rows else ""


def _scaled(trial: optuna.trial.FrozenTrial) -> dict[str, float]:
    """A trial's numeric settings, those drawn on a log scale as their log10 (named so)."""
    scaled = {}
    for name, value in trial.params.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            log = getattr(trial.distributions[name], "log", False)
            scaled[f"log10 {name}" if log else name] = math.log10(value) if log else float(value)
    return scaled


def _last_report(trial: optuna.trial.FrozenTrial) -> float | None:
    steps = trial.intermediate_values
    return steps[max(steps)] if steps else None


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)
