"""The docs say what is true: every `devicepipe` command in the README and the guides exists with the options it is
written with, every CLI command is shown somewhere, and every `--option` the prose names is an option of a command;
every repository path and link they give exists; docs/architecture.md names every package of pipelines/ and flows/,
and only packages that exist, each with a docstring in its `__init__.py`.

A command is checked in this process, with `--help` right after the command's name (and again at the end, so that an
option written without its value takes it as one): click answers an unknown command or option with "No such ..."
and exit 2 even then, and nothing runs. Documented placeholders parse: `[...]` is optional (its options are checked),
`a|b` in a command's name is one command each, `...` is left out. docs/gpu-runs.md and the records of
docs/benchmarks.md (from its first dated section on) keep each command as it was run then, and are not checked.
"""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from flows.cli import app
from tests.conftest import ROOT

RECORDS = {"gpu-runs.md"}  # history: commands as they were run then
RECORDS_FROM = {"benchmarks.md": re.compile(r"^## \d{4}-\d{2}-\d{2}", re.M)}  # a how-to, then dated records
SEPARATORS = {"&&", "||", ";", "|", "&"}
PYTHON = re.compile(r"^(\S*/)?python3?$")
REPO_PATH = re.compile(r"^(pipelines|flows|tests|benchmarks|notebooks|docs|\.ci)/[\w./-]*$")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
COMMAND = typer.main.get_command(app)  # click's objects, of the click typer parses with (its own copy, in recent typer)
RUNNER = CliRunner()


def documents() -> dict[str, str]:
    """README.md and the guides under docs/, less the records."""
    found = {"README.md": (ROOT / "README.md").read_text()}
    for path in sorted((ROOT / "docs").glob("*.md")):
        if path.name in RECORDS:
            continue
        text = path.read_text()
        if (records := RECORDS_FROM.get(path.name)) and (start := records.search(text)):
            text = text[: start.start()]
        found[f"docs/{path.name}"] = text
    return found


DOCUMENTS = documents()


def _cli_arguments(tokens: list[str]) -> list[str] | None:
    """The arguments after `devicepipe` (or `python -m flows.cli`, or `python -m flows.train`, which runs `run`);
    None when `tokens` is another command."""
    while tokens and re.fullmatch(r"\w+=\S*", tokens[0]):  # VARIABLE=value before the command
        tokens = tokens[1:]
    if tokens and Path(tokens[0]).name == "devicepipe":
        return tokens[1:]
    if len(tokens) >= 3 and PYTHON.match(tokens[0]) and tokens[1] == "-m":
        return {"flows.cli": tokens[3:], "flows.train": ["run", *tokens[3:]]}.get(tokens[2])
    return None


def _without_placeholders(arguments: list[str]) -> list[str]:
    """`[--seed S]` is checked as `--seed S`, `[--a x | --b y]` as both; `...` is left out."""
    kept = []
    for token in arguments:
        token = token.strip("[]").removesuffix("...").removesuffix("…")
        if token and token != "|":
            kept.append(token)
    return kept


def commands() -> list[tuple[str, list[str]]]:
    """(where, arguments) for every devicepipe command in the documents: in shell code blocks (```bash), and in
    inline code spans that begin with `devicepipe `."""
    found = []
    for name, text in DOCUMENTS.items():
        for match in FENCE.finditer(text):
            if match.group(1) not in ("bash", "sh", "shell", "console"):  # not diagrams, not Python
                continue
            first = text.count("\n", 0, match.start(2)) + 1
            for offset, line in enumerate(match.group(2).splitlines()):
                tokens = shlex.split(line, comments=True)
                segment: list[str] = []
                for token in [*tokens, ";"]:
                    if token not in SEPARATORS:
                        segment.append(token)
                        continue
                    if (arguments := _cli_arguments(segment)) is not None:
                        found.append((f"{name}:{first + offset}: {line.strip()}", _without_placeholders(arguments)))
                    segment = []
        prose = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
        for match in re.finditer(r"`(devicepipe\s[^`]+)`", prose):
            span = " ".join(match.group(1).split())
            line = prose.count("\n", 0, match.start()) + 1
            found.append((f"{name}:{line}: {span}", _without_placeholders(shlex.split(span)[1:])))
    return found


COMMANDS = commands()


def _paths(arguments: list[str]) -> list[tuple[list[str], list[str]]]:
    """(command path, the rest) for each command the arguments name; `start|stop` in a name gives one each."""
    command, path = COMMAND, []
    for index, token in enumerate(arguments):
        if not _is_group(command):
            return [(path, arguments[index:])]
        if "|" in token:
            alternatives = [[*arguments[:index], choice, *arguments[index + 1 :]] for choice in token.split("|")]
            return [found for choice in alternatives for found in _paths(choice)]
        path.append(token)
        command = command.commands.get(token)
        if command is None:
            return [(path, [])]  # click answers "No such command"
    return [(path, [])]


def _is_group(command: Any) -> bool:
    return isinstance(getattr(command, "commands", None), dict)


def problems(arguments: list[str]) -> list[str]:
    """What is wrong with `devicepipe ARGUMENTS`: an unknown command or option (the command's help, never a run)."""
    found = []
    for path, rest in _paths(arguments):
        result = RUNNER.invoke(app, [*path, "--help", *rest, "--help"])
        if result.exit_code != 0 or "Usage:" not in result.output:
            message = " ".join((result.output or repr(result.exception)).split())
            found.append(f"devicepipe {' '.join(path + rest)}: exit {result.exit_code}: {message[-300:]}")
    return found


@pytest.mark.parametrize(("where", "arguments"), COMMANDS, ids=[where for where, _ in COMMANDS])
def test_every_documented_command_exists_with_its_options(where, arguments):
    assert not problems(arguments), f"{where}\n" + "\n".join(problems(arguments))


def test_the_check_fails_a_made_up_option_or_command_and_runs_nothing():
    assert problems(["run", "--no-such-option"])
    assert problems(["run", "--sample", "0.1", "--no-such-option", "2"])
    assert problems(["server", "strat"])
    assert problems(["server", "start|strat"])
    assert problems(["data", "synth", "--rows", "10", "--out", "x", "--outt", "y"])
    assert not problems(["run", "--model"])  # a value-less option takes the trailing --help: help, not a run
    assert not problems(["runs", "compare", "RUN", "RUN"])


def test_the_commands_are_found_where_they_are_written():
    found = {where.split(":")[0] for where, _ in COMMANDS}
    assert {"README.md", "docs/own-data.md", "docs/scale-out.md", "docs/outputs-and-failures.md"} <= found
    quickstart = [arguments for where, arguments in COMMANDS if ".venv/bin/devicepipe run" in where]
    assert ["run"] in quickstart
    assert not any("gpu-runs" in where for where, _ in COMMANDS)


def test_every_command_of_the_cli_is_documented():
    def leaves(command: Any, path: tuple[str, ...]) -> set[tuple[str, ...]]:
        if _is_group(command):
            return {leaf for name, sub in command.commands.items() for leaf in leaves(sub, (*path, name))}
        return {path}

    documented = {tuple(path) for _, arguments in COMMANDS for path, _ in _paths(arguments)}
    missing = sorted(" ".join(path) for path in leaves(COMMAND, ()) - documented)
    assert not missing, f"commands no document shows: {missing}"


def test_every_option_the_prose_names_is_an_option_of_a_command():
    def options(command: Any) -> set[str]:
        found = {"--help"}
        for parameter in command.params:
            found |= {*getattr(parameter, "opts", ()), *getattr(parameter, "secondary_opts", ())}
        for sub in getattr(command, "commands", {}).values():
            found |= options(sub)
        return found

    known = options(COMMAND)
    named = {(name, option) for name, text in DOCUMENTS.items() for option in re.findall(r"`(--[a-z][\w-]*)", text)}
    unknown = sorted(f"{name}: {option}" for name, option in named if option not in known)
    assert not unknown, f"options (in `--option` spans) that no devicepipe command has: {unknown}"


def test_every_path_and_link_in_the_docs_exists():
    missing = []
    for name, text in DOCUMENTS.items():
        folder = (ROOT / name).parent
        for span in re.findall(r"`([^`\s]+)`", text):
            if REPO_PATH.match(span) and not (ROOT / span).exists():
                missing.append(f"{name}: `{span}`")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"\w+:", target):
                continue  # a web address
            file, _, anchor = target.partition("#")
            path = (folder / file) if file else ROOT / name
            if not path.exists():
                missing.append(f"{name}: link {target}")
            elif anchor and path.suffix == ".md" and anchor not in _anchors(path.read_text()):
                missing.append(f"{name}: link {target} (no such heading)")
    assert not missing, missing


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    markdown = FENCE.sub("", markdown)
    headings = re.findall(r"^#+\s+(.*?)\s*$", markdown, re.M)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text()


def _named_packages() -> set[str]:
    return set(re.findall(r"`((?:pipelines|flows)(?:/\w+)*/)`", ARCHITECTURE))


def _package_folders() -> set[str]:
    folders = set()
    for top in ("pipelines", "flows"):
        for module in (ROOT / top).rglob("*.py"):
            if "__pycache__" not in module.parts:
                folders.add(module.parent.relative_to(ROOT).as_posix() + "/")
    return folders


def test_architecture_names_every_package():
    missing = sorted(_package_folders() - _named_packages())
    assert not missing, f"packages docs/architecture.md does not name (in backticks, as `pipelines/x/`): {missing}"


def test_every_package_architecture_names_exists_with_a_docstring():
    wrong = []
    for package in sorted(_named_packages()):
        init = ROOT / package / "__init__.py"
        if not init.exists():
            wrong.append(f"{package}: no __init__.py")
        elif not ast.get_docstring(ast.parse(init.read_text())):
            wrong.append(f"{package}: its __init__.py has no docstring")
    assert not wrong, wrong
    assert {"pipelines/training/", "pipelines/training/distributed/", "flows/cli/"} <= _named_packages()
