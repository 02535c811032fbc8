"""The command line imports only what a command uses: asking for help, or running a
command that needs no data library, loads none of the heavy libraries. Each case runs in a
fresh interpreter, which then reports the modules it loaded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from retailor.cli import COMMANDS, main

#: Libraries that take tenths of a second to import and that help never needs.
HEAVY = (
    "pyarrow",
    "numpy",
    "duckdb",
    "scipy",
    "implicit",
    "lightgbm",
    "sklearn",
    "vowpalwabbit",
    "matplotlib",
    "granian",
    "starlette",
)

RUN_AND_REPORT = """
import json, sys
from retailor.cli import main
try:
    main(sys.argv[1:], prog_name="retailor")
except SystemExit as stop:
    code = stop.code
print(json.dumps({"code": code, "modules": sorted(m for m in sys.modules if "." not in m)}))
"""


def run(*args: str) -> tuple[str, set[str]]:
    """What ``retailor ARGS`` prints, and the top-level modules it loaded."""
    done = subprocess.run(
        [sys.executable, "-c", RUN_AND_REPORT, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    *printed, last = done.stdout.splitlines()
    report = json.loads(last)
    assert report["code"] in (0, None), done.stderr
    return "\n".join(printed), set(report["modules"])


def test_the_command_list_imports_no_command() -> None:
    printed, modules = run("--help")
    assert modules.isdisjoint(HEAVY), sorted(modules.intersection(HEAVY))
    for name in COMMANDS:
        assert f"  {name} " in printed
    assert "Import a file of KIND into the data directory." in printed


@pytest.mark.parametrize(
    "command",
    [
        "keys",
        "import",
        "serve",
        "quarantine",
        "models",
        "train",
        "segments",
        "recommend",
        "evaluate",
    ],
)
def test_a_commands_help_imports_no_data_library(command: str) -> None:
    printed, modules = run(command, "--help")
    assert f"Usage: retailor {command}" in printed
    assert modules.isdisjoint(HEAVY), sorted(modules.intersection(HEAVY))


def test_listing_keys_needs_no_data_library(tmp_path: Path) -> None:
    printed, modules = run("keys", "list", "--data", str(tmp_path / "data"))
    assert "key id" in printed
    assert modules.isdisjoint(HEAVY), sorted(modules.intersection(HEAVY))


def test_each_summary_is_the_first_sentence_of_its_commands_help() -> None:
    ctx = click.Context(main)
    for name, (_, summary) in COMMANDS.items():
        command = main.get_command(ctx, name)
        assert command is not None, name
        assert command.name == name
        assert command.get_short_help_str(limit=10_000) == summary, name
