"""Where the CLI's output is rendered (issue 12): the command modules hold options, one library call
and one render call; every loop that prints lives in a rendering module beside them
(tables.py, table_fit.py, chart.py, *_view.py), as the table in gitcfg/cli/__init__.py lists."""

from __future__ import annotations

import ast
from pathlib import Path

import gitcfg.cli

CLI = Path(gitcfg.cli.__file__).parent
# The modules that register commands (`@app.command`): runs.py, share.py, query.py, demo.py, ...
COMMAND_MODULES = tuple(
    sorted(path.name for path in CLI.glob("*.py") if "@app.command" in path.read_text("utf-8"))
)
RENDERING_MODULES = (
    "tables.py",
    "table_fit.py",
    "chart.py",
    "diff_view.py",
    "show_view.py",
    "runs_view.py",
    "share_view.py",
    "demo_view.py",
)
PRINTING = {"echo", "print", "write"}  # app.echo, typer.echo, console.print, stdout.write


def _printing_loops(path: Path) -> list[str]:
    """`module:line` of each for/while loop whose body prints."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, (ast.For, ast.While)):
            continue
        for inner in (n for statement in node.body for n in ast.walk(statement)):
            if isinstance(inner, ast.Call):
                function = inner.func
                name = function.attr if isinstance(function, ast.Attribute) else None
                name = function.id if isinstance(function, ast.Name) else name
                if name in PRINTING:
                    found.append(f"{path.name}:{node.lineno}")
                    break
    return found


def test_no_command_module_prints_in_a_loop() -> None:
    assert {"runs.py", "share.py", "query.py", "demo.py"} <= set(COMMAND_MODULES)
    loops = [loop for module in COMMAND_MODULES for loop in _printing_loops(CLI / module)]
    assert loops == [], f"move these output loops to a rendering module: {loops}"


def test_the_rendering_modules_are_where_the_package_docstring_says() -> None:
    listed = gitcfg.cli.__doc__ or ""
    for module in RENDERING_MODULES:
        assert (CLI / module).is_file(), module
        assert module in listed, f"{module} missing from the table in gitcfg/cli/__init__.py"


def test_rendering_modules_import_no_command_module() -> None:
    """Imports run one way: commands -> rendering -> app (echo); never back to a command."""
    commands = {f"gitcfg.cli.{m.removesuffix('.py')}" for m in COMMAND_MODULES}
    for module in RENDERING_MODULES:
        tree = ast.parse((CLI / module).read_text(encoding="utf-8"))
        imported = {
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
        }
        imported |= {
            f"{node.module}.{alias.name}"
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module == "gitcfg.cli"
            for alias in node.names
        }
        assert imported.isdisjoint(commands), module
