"""What a train run records: metrics.json (the contract in DESIGN.md), manifest.json, the bundle and the report
(report.md and report.html, drawn from what the stages computed: pipelines.report.data).

The flows call `write_run` once the model stages are done; `metrics_document` alone serves the benchmarks and
the notebooks.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from pipelines import evaluate, models
from pipelines.backend import Backend, library_versions
from pipelines.config import RunConfig
from pipelines.features.feature_set import FeatureSet
from pipelines.files import writing
from pipelines.models import FittedModel
from pipelines.report.data import ReportData, gather, importances
from pipelines.report.markdown import markdown
from pipelines.runs.rundir import RunDirectory, git_commit
from pipelines.scoring.bundle import FOLDER, drift_profile, save_bundle
from pipelines.training.handoff import Handoff

# Options that act on the GPU backend alone: a run on the CPU given one notes that it did nothing.
GPU_ONLY_OPTIONS = {"--strict-residency": "strict_residency", "--rmm-pool": "rmm_pool", "--spill": "spill"}


def metrics_document(
    features: FeatureSet, fitted: dict[str, FittedModel], task: str, backend: Backend
) -> dict[str, Any]:
    """metrics.json as DESIGN.md specifies; the best model is chosen on the validation split."""
    primary = evaluate.PRIMARY[task]
    best = None
    for name, model in fitted.items():
        if best is None or evaluate.is_better(
            primary, model.scores["valid"][primary], fitted[best].scores["valid"][primary]
        ):
            best = name
    return {
        "task": task,
        "target": features.target.column,
        "backend": backend.name,
        "rows": features.rows,
        "models": {name: model.metrics() for name, model in fitted.items()},
        "best_model": best,
    }


def run_notes(features: FeatureSet, fitted: dict[str, FittedModel], config: RunConfig, backend: Backend) -> list[str]:
    """The run's notes: what loading and the features noticed, tuned settings' origin, the models' warnings, GPU-only
    options on a CPU."""
    notes = features.notes + [model.settings_note for model in fitted.values() if model.settings_note]
    notes += [warning for model in fitted.values() for warning in model.warnings]
    notes += [
        f"{name} is fitted by default on the GPU backend only (slow on CPU cores): ask for it with --model {name} "
        "(--model names every baseline to fit)"
        for name in models.left_out(config, backend.name)
    ]
    note = gpu_only_note(config, backend)
    return notes + ([note] if note else [])


def gpu_only_note(config: RunConfig, backend: Backend) -> str | None:
    """A note when options that act on the GPU alone were given to a run on the CPU, and what --gpus N does there."""
    if backend.is_gpu:
        return None
    given = [option for option, name in GPU_ONLY_OPTIONS.items() if getattr(config, name)]
    notes = []
    if given:
        verb = "acts" if len(given) == 1 else "act"
        notes.append(
            f"{', '.join(given)} {verb} on the GPU backend only; this run was on the CPU, where it did nothing"
        )
    if config.gpus > 1:
        notes.append(
            f"--gpus {config.gpus} on the CPU: the MLP trained in {config.gpus} processes (gloo) sharing this "
            "machine's cores, which tries the path of a training across GPUs but does not make it faster"
        )
    return "; ".join(notes) or None


def residency_record(ledger: dict[str, Any], handoff: Handoff) -> dict[str, Any]:
    """The residency ledger with the handoff's evidence beside it (the pointer checks, per split)."""
    splits = {
        name: {"columns": len(check["columns"]), "zero_copy": check["zero_copy"]}
        for name, check in handoff.check.get("splits", {}).items()
    }
    return {
        **ledger,
        "handoff_zero_copy": handoff.check["zero_copy"],
        "handoff_splits": splits,
        "device_to_device_assembly_bytes": handoff.assembled_bytes,
    }


def write_report(run: RunDirectory, data: ReportData, drawn: dict[str, Any] | None = None) -> None:
    """report.md and report.html, from the report's host values (after training); `drawn`: figures already drawn
    (pipelines.report.html.draw)."""
    # start-up time: matplotlib comes with the figures, imported when a run is written, not when the flow starts
    from pipelines.report.html import page

    run.write_text("report.md", markdown(data))
    run.write_text("report.html", page(data, drawn))


def run_about(
    name: str,
    config: RunConfig,
    inputs: dict[str, str],
    versions: dict[str, str],
    commit: str | None,
    backend: Backend,
    flow_run: dict[str, str | None] | None,
) -> dict[str, Any]:
    """What produced the run, for the report's Run section: the settings that differ from the defaults, the inputs
    and their sha256, when it started (its name's UTC time), the commit, the versions, the backend, the flow run."""
    defaults = RunConfig(dataset=config.dataset).as_dict()  # the dataset is not a change: the title says it
    changed = {key: value for key, value in config.as_dict().items() if value != defaults.get(key)}
    started = datetime.strptime(name[:16], "%Y%m%dT%H%M%SZ").strftime("%Y-%m-%d %H:%M:%S UTC")
    url = (flow_run or {}).get("url")
    flow_run = {**(flow_run or {}), "url": url if url and not url.startswith("/") else None}  # no server, no page
    device = f"{backend.name} ({backend.device_name})"
    return {
        "changed": changed,
        "inputs": inputs,
        "started": started,
        "commit": commit,
        "versions": versions,
        "backend": device,
        "flow_run": flow_run,
    }


def write_run(
    run: RunDirectory,
    config: RunConfig,
    backend: Backend,
    features: FeatureSet,
    handoff: Handoff,
    fitted: dict[str, FittedModel],
    seconds: dict[str, float],
    residency: dict[str, Any],
    cluster: dict[str, Any] | None = None,
    flow_run: dict[str, str | None] | None = None,
) -> Path:
    """Write metrics, the bundle, the report and the manifest; the run directory appears only when complete.
    `cluster`: a run with --cluster, its workers and their peak memory (pipelines.cluster.memory); `flow_run`: the
    Prefect flow run that made it (its id and url), for the report and the manifest."""
    # start-up time: matplotlib comes with the figures, imported when a run is written, not when the flow starts
    from pipelines.report.html import draw

    with writing("the run directory", "--output"):
        metrics = metrics_document(features, fitted, config.task, backend)
        notes = run_notes(features, fitted, config, backend)
        # The importances (the models' own native code, which lets go of the GIL) run beside what is mostly Python:
        # the bundle (skops, JSON) and the figures that need no importance. All of them only read the fitted models.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="importance") as pool:
            pending = pool.submit(importances, features, handoff, fitted, config.task)
            save_bundle(run.path(FOLDER), features.workflow, fitted, drift_profile(features, fitted))
            data = gather(run.name, metrics, features, handoff, fitted, seconds, residency, notes, backend, found=[])
            drawn = draw(data)
            data.importances = pending.result()
        metrics.update(data.decision.as_metrics())  # the baseline and the thresholds, beside the models' metrics
        run.write_json("metrics.json", metrics)
        notes = notes + data.decision.notes  # the manifest keeps them; the report shows them in its decision view
        versions, commit = library_versions(), git_commit()
        data.about = run_about(run.name, config, features.inputs, versions, commit, backend, flow_run)
        write_report(run, data, drawn)
        manifest = {
            "config": config.as_dict(),
            "inputs": features.inputs,
            "target": asdict(features.target),
            "counts": features.counts,
            "notes": notes,
            "feature_cache": features.cache,
            "features": {"numeric": features.workflow.numeric_, "categorical": features.workflow.categorical_},
            "versions": versions,
            "backend": {
                "name": backend.name,
                "device": backend.device_name,
                "rmm_pool": config.rmm_pool,
                "spill": config.spill,
            },
            "git_commit": commit,
            "prefect": {"flow_run": data.about["flow_run"]},
            "seconds": seconds,
            "handoff": handoff.check,
            "residency": residency,
            "training": {name: model.model.details() for name, model in fitted.items() if model.model.details()},
            "cluster": cluster,
        }
        return run.commit(manifest)
