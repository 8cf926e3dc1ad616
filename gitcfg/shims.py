"""wandb's module-level names that have no gitcfg concept: harmless local equivalents.

`login`, `setup`, `require` do nothing (there is no server); `teardown` finishes the current run;
`termlog`/`termwarn`/`termerror` print one `gitcfg:` line on stderr; `alert` and `mark_preempting`
record on the current run; `Settings` holds its keywords (recorded when passed to `track()`).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from enum import Enum
from typing import Any


class AlertLevel(str, Enum):
    """wandb.AlertLevel, for `alert(..., level=gitcfg.AlertLevel.WARN)`."""

    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"


def login(*args: Any, **kwargs: Any) -> bool:
    """Does nothing and returns True: runs are recorded in the repository, no login needed."""
    return True


def setup(settings: object = None, **kwargs: Any) -> None:
    """Does nothing: there is no service process to start."""


def require(*args: Any, **kwargs: Any) -> None:
    """Does nothing: gitcfg has no experimental features to switch on."""


def teardown(exit_code: int | None = None) -> None:
    """Finish the current run, if any (wandb waits for its service here)."""
    from gitcfg import tracking

    tracking.finish(exit_code or 0)


def termsetup(*args: Any, **kwargs: Any) -> None:
    """Does nothing."""


def termlog(
    string: str = "", newline: bool = True, repeat: bool = True, prefix: bool = True
) -> None:
    """Print `gitcfg: <string>` on stderr."""
    _print(string, "", newline, prefix)


def termwarn(string: str, repeat: bool = True, prefix: bool = True, **kwargs: Any) -> None:
    """Print `gitcfg: warning: <string>` on stderr."""
    _print(string, "warning: ", True, prefix)


def termerror(string: str, repeat: bool = True, prefix: bool = True, **kwargs: Any) -> None:
    """Print `gitcfg: error: <string>` on stderr."""
    _print(string, "error: ", True, prefix)


def _print(string: str, kind: str, newline: bool, prefix: bool) -> None:
    head = f"gitcfg: {kind}" if prefix else ""
    text = "\n".join(head + line for line in str(string).split("\n"))
    print(text, file=sys.stderr, end="\n" if newline else "", flush=True)


def alert(title: str, text: str, level: object = None, wait_duration: object = None) -> None:
    """One line on stderr, recorded in the current run's run.yaml `alerts` (see Run.alert)."""
    from gitcfg import tracking

    run = tracking.current_run()
    if run is None:
        termwarn(f"alert outside a run: {title}: {text}")
        return
    run.alert(title, text, level, wait_duration)


def mark_preempting() -> None:
    """Record on the current run that it is about to be preempted (see Run.mark_preempting)."""
    from gitcfg import tracking

    run = tracking.current_run()
    if run is not None:
        run.mark_preempting()


class Settings:
    """wandb.Settings(...): holds its keywords as attributes; `track(settings=...)` records them
    in run.yaml `init_args.settings`, and they have no effect here."""

    def __init__(self, **kwargs: Any) -> None:
        self._gitcfg_settings = dict(kwargs)
        for key, value in kwargs.items():
            setattr(self, key, value)

    def update(self, settings: Settings | Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        base = settings._gitcfg_settings if isinstance(settings, Settings) else settings or {}
        values = dict(base, **kwargs)
        self._gitcfg_settings.update(values)
        for key, value in values.items():
            setattr(self, key, value)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._gitcfg_settings.items())
        return f"gitcfg.Settings({args})"
