"""The README documents every command, and every command has help with an example."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.main import get_command

from gitcfg.cli import app

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
COMMANDS = sorted(get_command(app).commands)  # type: ignore[attr-defined]


def test_there_are_commands() -> None:
    assert {"init", "log", "show", "demo"} <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_is_in_the_readme_cli_reference(name: str) -> None:
    reference = README[README.index("## CLI reference") :]
    assert re.search(rf"`gitcfg {name}\b", reference), f"gitcfg {name} is missing from README"


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help_with_an_example(cli, tmp_path: Path, name: str) -> None:
    result = cli(tmp_path, name, "--help")
    assert result.exit_code == 0, result.output
    assert "Example" in result.output, f"gitcfg {name} --help shows no example"


def test_readme_quick_start_has_the_two_commands() -> None:
    quick = README[README.index("## Quick start") : README.index("## Using it")]
    assert "pip install . && gitcfg demo" in quick
    assert "pip install -e '.[test]' && pytest" in quick


def test_ci_runs_the_readme_test_command() -> None:
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert "set -euo pipefail" in ci
    assert "pip install -e '.[test]' && pytest" in ci
