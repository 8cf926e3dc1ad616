"""The README is a short front page whose links all land; docs/ documents every command, and
docs/cli.md's reference is today's `--help`; every command has help with an example."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from gen_cli_reference import CLI_MD, command_names, render

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
DOCS = sorted((ROOT / "docs").glob("*.md"))
COMMANDS = command_names()
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(text: str) -> set[str]:
    prose = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)  # not `# comments` in code
    return {_slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", prose, re.M)}


def _local_links(path: Path) -> list[str]:
    prose = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.M | re.S)
    return [t for t in LINK.findall(prose) if not re.match(r"[a-z]+:", t)]


def test_there_are_commands() -> None:
    assert {"init", "log", "show", "demo"} <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_is_in_the_cli_reference(name: str) -> None:
    reference = CLI_MD.read_text()
    assert f"## `gitcfg {name}`" in reference, f"gitcfg {name} is missing from docs/cli.md"
    assert re.search(rf"^Usage: gitcfg {name} ", reference, re.M)


def test_the_cli_reference_is_todays_help() -> None:
    current = CLI_MD.read_text()
    assert current == render(current), "docs/cli.md is stale: run python tests/gen_cli_reference.py"


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help_with_an_example(cli, tmp_path: Path, name: str) -> None:
    result = cli(tmp_path, name, "--help")
    assert result.exit_code == 0, result.output
    assert "Example" in result.output, f"gitcfg {name} --help shows no example"


def test_readme_opens_with_the_quick_start_and_its_two_commands() -> None:
    sections = re.findall(r"^## (.+)$", README, re.M)
    assert sections[0] == "Quick start"
    quick = README[README.index("## Quick start") : README.index(f"## {sections[1]}")]
    block = re.search(r"```console\n(.*?)```", quick, re.S)
    assert block is not None
    assert block.group(1).splitlines() == [
        "pip install . && gitcfg demo",
        "pip install -e '.[test]' && pytest",
    ]


def test_readme_first_screen_warns_about_system_exit() -> None:
    first_screen = README[: README.index("## Using it")]
    assert "builtins.SystemExit" in first_screen and "GITCFG_EXIT_STATUS=0" in first_screen


def test_readme_is_a_short_front_page_linking_every_docs_page() -> None:
    assert len(README.encode()) < 10_000, "README grows: move the detail to a page under docs/"
    links = {t.split("#")[0] for t in _local_links(ROOT / "README.md")}
    assert {f"docs/{page.name}" for page in DOCS} <= links
    assert "docs/wandb.md" in links  # the "Coming from wandb" pointer


@pytest.mark.parametrize("path", [ROOT / "README.md", *DOCS], ids=lambda p: p.name)
def test_every_local_link_lands(path: Path) -> None:
    for target in _local_links(path):
        file, _, anchor = target.partition("#")
        landing = (path.parent / file).resolve() if file else path
        assert landing.is_file(), f"{path.name}: link to {target} finds no file"
        if anchor and landing.suffix == ".md":
            assert anchor in _anchors(landing.read_text()), f"{path.name}: no heading for {target}"


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert "set -euo pipefail" in ci
    assert "pip install -e '.[test]' && pytest" in ci
