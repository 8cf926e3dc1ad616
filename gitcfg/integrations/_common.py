"""What the framework integrations share: the run an integration object records into, and a
framework's hyperparameters as config values. No framework is imported here.

The run rule (docs/integrations.md): an integration object (a Lightning logger, a Trainer callback,
a Keras callback, ...) records into one run. It adopts the run the script started itself with
`gitcfg.track()`; else it starts its own, and starting one finishes a run that another integration
object started (a sweep or a Hydra multirun in one process: one run per fit, never merged). A run
the script started is never finished here.
"""

from __future__ import annotations

import enum
import sys
import weakref
from argparse import Namespace
from collections.abc import Mapping
from typing import Any

from gitcfg import tracking
from gitcfg.tracking import Run
from gitcfg.values import plain_value

# The runs integration objects started (not the script): the next one finishes them.
_started: weakref.WeakSet[Run] = weakref.WeakSet()


def user_run() -> Run | None:
    """The run active in this process that the script started itself (an integration adopts it)."""
    run = tracking.current_run()
    return None if run is None or run in _started else run


def start_run(**track_kwargs: Any) -> Run:
    """`gitcfg.track(**track_kwargs)` for an integration object, after finishing the run another
    integration object started, if it is still active."""
    run = tracking.current_run()
    if run is not None and run in _started:
        run.finish()
    run = tracking.track(**track_kwargs)
    _started.add(run)
    return run


def config_values(params: Any) -> dict[str, Any]:
    """A framework's hyperparameters as a config mapping, nested as given (None: empty).

    An argparse.Namespace or a mapping becomes a dict with text keys; tuples and sets become
    lists; numpy and torch numbers become Python numbers; an enum its value; a class or function
    its qualified name (not its repr, whose address changes from run to run); anything else its text.
    """
    values = _config_value(params)
    return values if isinstance(values, dict) else {}


def _config_value(value: Any) -> Any:
    if isinstance(value, Namespace):
        value = vars(value)
    if isinstance(value, Mapping):
        return {str(key): _config_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_config_value(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_config_value(item) for item in value), key=repr)
    if isinstance(value, enum.Enum):
        return _config_value(value.value)
    if isinstance(value, type) or callable(value) and hasattr(value, "__qualname__"):
        module = getattr(value, "__module__", None)
        qualname = str(value.__qualname__)
        return f"{module}.{qualname}" if module else qualname
    return plain_value(value)


def update_config(run: Run, values: Mapping[str, Any], *, only_missing: bool = False) -> None:
    """Merge `values` into `run.config` (a changed value is taken; `only_missing`: only the keys
    not set yet); a value the config refuses is a warning, never an exception in the loop."""
    from gitcfg.errors import GitcfgError

    try:
        if only_missing:
            run.config.setdefaults(dict(values))
        else:
            run.config.update(dict(values), allow_val_change=True)
    except (GitcfgError, TypeError, ValueError) as e:
        warn(f"run {run.id}: config not recorded: {e}")


def warn(message: str) -> None:
    """One `gitcfg: warning: ...` line on stderr: an integration never fails the training."""
    from gitcfg.rows import inert_lines

    print(f"gitcfg: warning: {inert_lines(message)}", file=sys.stderr, flush=True)
