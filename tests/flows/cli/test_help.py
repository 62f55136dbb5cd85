"""`--help` in an 80-column terminal: every command's help fits, nothing is cut (no flag name or default ends in
an ellipsis), each flag is given in one form, and `run` groups its options and shows examples."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from flows.cli.app import app

COMMANDS = [
    ["run"],
    ["tune"],
    ["predict"],
    ["serve"],
    ["trigger"],
    ["runs"],
    ["bench"],
    ["data", "synth"],
    ["data", "stage"],
    ["server", "start"],
]


def help_text(command: list[str], columns: int = 80) -> str:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_the_help_fits_80_columns_and_cuts_nothing(command):
    text = help_text(command)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80, text
    assert "\u2026" not in text, text  # rich cuts a cell that does not fit with an ellipsis
    flags = re.findall(r"(--[a-z][a-z0-9-]*)", text)
    assert not any(f"--no-{flag[2:]}" in flags for flag in flags), "a flag in two forms takes a column of its own"


def test_run_groups_its_options_and_shows_examples():
    text = help_text(["run"])
    panels = re.findall(r"╭─ ([A-Za-z ()]+?) ─", text)
    assert panels == ["Options", "Data", "Models", "Resources", "Cluster (Dask)", "Output and tracking"]
    section = {name: text.split(f"╭─ {name} ")[1].split("╰")[0] for name in panels}
    assert "--sample" in section["Data"] and "--epochs" in section["Models"] and "--spill" in section["Resources"]
    assert "--n-workers" in section["Cluster (Dask)"] and "--register" in section["Output and tracking"]
    examples = text.split("Examples:")[1]
    assert "devicepipe run --sample 0.1 --epochs 1" in examples and "--data sales.parquet --target" in examples
