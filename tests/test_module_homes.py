"""The module-home rules: which module of gitcfg/ may import what (README Design, docs/design.md).

Each rule names the one home of a dependency; the test parses every module under gitcfg/ with
`ast` (imports inside functions included, and `sys.modules["..."]` / `import_module("...")`
look-ups, which reach a module without an import statement) and fails naming the module that
breaks a rule. An exception is listed with its reason, never added silently.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gitcfg"

# Running another process: only gitio.py (git), and these, which do not run git.
SUBPROCESS_EXCEPTIONS = {
    "demo.py": "`gitcfg demo` runs its sweep of train.py as real Python processes",
    "reproduce.py": "`gitcfg rerun` runs the user's recorded command in the new worktree",
}
# (what is imported, the module or package that is its only home)
RULES = [
    ("subprocess", "gitio.py"),
    ("sqlite3", "cache.py"),
    ("yaml", "yamlio.py"),
    ("typer", "cli/"),
    ("rich", "cli/"),
    ("click", "cli/"),
]
# Packages where the user interface lives: the CLI, and the UI when it comes.
INTERFACE_PACKAGES = ("cli/", "ui/")
# Functions of `os` that start another program, as a subprocess import would.
OS_PROCESS_FUNCTIONS = frozenset(
    "system popen spawnl spawnle spawnlp spawnlpe spawnv spawnve spawnvp spawnvpe posix_spawn "
    "posix_spawnp execl execle execlp execlpe execv execve execvp execvpe".split()
)


def imported_modules(source: str) -> set[str]:
    """The top-level names of the modules `source` imports or looks up, anywhere in it."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Subscript) and _is_sys_modules(node.value):
            found.update(_constant_module(node.slice))
        elif isinstance(node, ast.Call):
            function = node.func
            is_lookup = isinstance(function, ast.Attribute) and (
                (function.attr == "get" and _is_sys_modules(function.value))
                or function.attr == "import_module"
            )
            if is_lookup and node.args:
                found.update(_constant_module(node.args[0]))
            if (
                isinstance(function, ast.Attribute)
                and isinstance(function.value, ast.Name)
                and function.value.id == "os"
                and function.attr in OS_PROCESS_FUNCTIONS
            ):
                found.add("subprocess")  # the same rule: starting a process
    return found


def _is_sys_modules(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "modules"
        and isinstance(node.value, ast.Name)
        and node.value.id == "sys"
    )


def _constant_module(node: ast.expr) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value.split(".")[0]}
    return set()


def _modules() -> dict[str, set[str]]:
    return {
        path.relative_to(PACKAGE).as_posix(): imported_modules(path.read_text(encoding="utf-8"))
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def _allowed(module: str, home: str) -> bool:
    if home == "cli/":
        return module.startswith(INTERFACE_PACKAGES)
    return module == home


def test_the_checker_sees_every_way_of_reaching_a_module() -> None:
    source = """
import yaml.nodes
from sqlite3 import connect
import os, sys

def later():
    import typer
    from rich.table import Table
    numpy = sys.modules.get("numpy")
    torch = sys.modules["torch"]
    os.execv("/bin/true", ["true"])
from . import sibling
from gitcfg.configuration import Config
"""
    assert imported_modules(source) == {
        "yaml",
        "sqlite3",
        "os",
        "sys",
        "typer",
        "rich",
        "numpy",
        "torch",
        "subprocess",
        "gitcfg",
    }


def test_the_package_has_the_modules_the_rules_name() -> None:
    modules = _modules()
    for _, home in RULES:
        if home.endswith("/"):
            assert any(m.startswith(home) for m in modules), home
        else:
            assert home in modules, home
    assert set(SUBPROCESS_EXCEPTIONS) <= set(modules)


@pytest.mark.parametrize(("dependency", "home"), RULES, ids=[rule[0] for rule in RULES])
def test_each_dependency_is_imported_only_in_its_home(dependency: str, home: str) -> None:
    allowed = set(SUBPROCESS_EXCEPTIONS) if dependency == "subprocess" else set()
    breaking = sorted(
        module
        for module, imports in _modules().items()
        if dependency in imports and not _allowed(module, home) and module not in allowed
    )
    assert breaking == [], f"{dependency} belongs in {home} only; imported by {breaking}"


def test_each_listed_exception_is_still_needed() -> None:
    modules = _modules()
    unneeded = [m for m in SUBPROCESS_EXCEPTIONS if "subprocess" not in modules[m]]
    assert unneeded == [], f"remove from SUBPROCESS_EXCEPTIONS: {unneeded}"


def test_the_library_never_imports_the_interface() -> None:
    """The CLI imports the library, never the other way: no module outside cli/ (and ui/) imports
    gitcfg.cli or gitcfg.ui."""
    breaking = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE).as_posix()
        if module.startswith(INTERFACE_PACKAGES) or module == "__main__.py":  # runs the CLI
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            if any(n.startswith(("gitcfg.cli", "gitcfg.ui")) for n in names):
                breaking.append(module)
    assert breaking == [], f"library modules import the CLI: {sorted(set(breaking))}"


def test_every_subpackage_ships_in_the_wheel() -> None:
    """pyproject lists packages by hand: a subpackage missing there is absent from `pip install .`
    (an editable install hides it)."""
    import tomllib

    listed = set(
        tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["tool"]["setuptools"][
            "packages"
        ]
    )
    found = {
        ".".join(("gitcfg", *init.parent.relative_to(PACKAGE).parts))
        for init in PACKAGE.rglob("__init__.py")
    }
    assert found - listed == set(), f"add to [tool.setuptools] packages: {sorted(found - listed)}"
