"""gitcfg: record each run's config, code commit and metrics on an orphan branch of your repo.

`import gitcfg` is cheap: the names below load their modules on first use (PEP 562), so a training
script does not pay for git, yaml, typer or rich until it needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gitcfg import exitstatus as _exitstatus
from gitcfg._version import __version__ as __version__

__all__ = [
    "Api",
    "Config",
    "ConfigError",
    "ConfigValueChanged",
    "GitcfgError",
    "Run",
    "UnsupportedValue",
    "config",
    "config_file_values",
    "define_metric",
    "finish",
    "log",
    "run",
    "summary",
    "track",
    # wandb's names (docs/wandb.md): init is track; the others are local stand-ins
    "AlertLevel",
    "Error",
    "Settings",
    "alert",
    "init",
    "login",
    "mark_preempting",
    "require",
    "setup",
    "teardown",
    "termerror",
    "termlog",
    "termsetup",
    "termwarn",
    "save",
    "watch",
    "unwatch",
    "plot",
    "Image",
    "Table",
    "Histogram",
    "Html",
    "Audio",
    "Video",
    "Object3D",
    "Molecule",
    "Plotly",
]

if TYPE_CHECKING:
    from gitcfg.configuration import Config, config_file_values
    from gitcfg.errors import ConfigError, ConfigValueChanged, GitcfgError, UnsupportedValue
    from gitcfg.errors import GitcfgError as Error
    from gitcfg.media import Audio, Histogram, Html, Image, Molecule, Object3D, Plotly, Table, Video
    from gitcfg.query import Api
    from gitcfg.shims import (
        AlertLevel,
        Settings,
        alert,
        login,
        mark_preempting,
        require,
        setup,
        teardown,
        termerror,
        termlog,
        termsetup,
        termwarn,
    )
    from gitcfg.tracking import Run, Summary, track
    from gitcfg.tracking import track as init

    config: Config
    summary: Summary
    run: Run | None

# Before any run starts: `raise SystemExit(main())` looks SystemExit up before main() calls track().
_exitstatus.install()

_EXPORTS = {
    "track": "gitcfg.tracking",
    "Run": "gitcfg.tracking",
    "Config": "gitcfg.configuration",
    "config_file_values": "gitcfg.configuration",
    # so a script can catch them without knowing the module: `except gitcfg.ConfigValueChanged`
    "ConfigError": "gitcfg.errors",
    "ConfigValueChanged": "gitcfg.errors",
    "UnsupportedValue": "gitcfg.errors",
    "GitcfgError": "gitcfg.errors",
    "Api": "gitcfg.query",
    "init": "gitcfg.tracking",  # wandb.init -> gitcfg.init is gitcfg.track
    **dict.fromkeys(
        (
            "AlertLevel",
            "Settings",
            "alert",
            "login",
            "mark_preempting",
            "require",
            "setup",
            "teardown",
            "termerror",
            "termlog",
            "termsetup",
            "termwarn",
        ),
        "gitcfg.shims",
    ),
    # media values for log(); gitcfg.plot.line(...) and friends live in gitcfg/plot.py
    **dict.fromkeys(
        ("Image", "Table", "Histogram", "Html", "Audio", "Video", "Object3D", "Molecule", "Plotly"),
        "gitcfg.media",
    ),
}
_EXPORTS["Error"] = "gitcfg.errors"  # wandb.Error: the root of the errors it raises
_ALIASES = {"init": "track", "Error": "GitcfgError"}


def log(
    data: Any = None, step: int | None = None, commit: bool | None = None, sync: bool | None = None
) -> None:
    """Log metrics to the current run: `gitcfg.log({"loss": 0.3})`; `gitcfg.log()` commits the
    open row."""
    from gitcfg import tracking

    tracking.log(data, step=step, commit=commit)


def define_metric(
    name: str,
    step_metric: str | None = None,
    step_sync: bool | None = None,
    hidden: bool | None = None,
    summary: str | None = None,
    goal: str | None = None,
    overwrite: bool | None = None,
) -> None:
    """Define a metric of the current run as wandb does:
    `gitcfg.define_metric("val_loss", step_metric="epoch", summary="min", goal="minimize")`."""
    from gitcfg import tracking

    tracking.define_metric(name, step_metric, step_sync, hidden, summary, goal, overwrite)


def save(
    glob_str: Any = None, base_path: Any = None, policy: str = "live", glob: bool = True
) -> list[str]:
    """Record files with the current run (`files/` in its directory): `gitcfg.save("model.pt")`."""
    from gitcfg import tracking

    return tracking.save(glob_str, base_path, policy, glob)


def watch(
    models: Any = None,
    criterion: Any = None,
    log: str | None = "gradients",
    log_freq: int = 1000,
    idx: int | None = None,
    log_graph: bool = False,
) -> None:
    """Record a model's class and parameter count in run.yaml; gradients are not collected."""
    from gitcfg import tracking

    tracking.watch(models, criterion, log, log_freq, idx, log_graph)


def unwatch(models: Any = None) -> None:
    """Accepted for wandb compatibility: nothing is collected."""
    from gitcfg import tracking

    tracking.unwatch(models)


def finish(exit_code: int | None = None, quiet: bool | None = None) -> None:
    """Finish the current run (also done at interpreter exit)."""
    from gitcfg import tracking

    tracking.finish(exit_code, quiet)


def __getattr__(name: str) -> Any:
    # `config`, `summary` and `run` follow the current run, so they are looked up on every access.
    if name in ("config", "summary", "run"):
        from gitcfg import tracking

        if name == "config":
            return tracking.current_config()
        if name == "summary":
            return tracking.current_summary()
        return tracking.current_run()
    if name == "plot":  # wandb.plot.line(...) -> gitcfg.plot.line(...)
        import importlib

        return importlib.import_module("gitcfg.plot")
    if name not in _EXPORTS:
        raise AttributeError(f"module 'gitcfg' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_EXPORTS[name]), _ALIASES.get(name, name))


def __dir__() -> list[str]:
    # `dir(gitcfg)` and IPython's completion list the public API, loaded or not yet.
    return sorted(set(globals()) | set(__all__))
