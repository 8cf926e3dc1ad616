"""What the framework integrations share: the run an integration object records into, and a
framework's hyperparameters as config values. No framework is imported here.

The run rule (docs/integrations.md): a training integration (a Lightning logger, a Trainer callback,
a Keras callback) adopts the run active in this process (the script's own `gitcfg.track()`, a Hydra
job's, an Optuna trial's), unless an integration of the same kind opened it: that is an earlier
training's, so it is finished and a new run starts (a sweep or a Hydra multirun in one process:
one run per fit, never merged).
"""

from __future__ import annotations

import sys
from argparse import Namespace
from collections.abc import Mapping
from typing import Any

from gitcfg.configuration.normalise import normalise_value
from gitcfg.errors import GitcfgError
from gitcfg.tracking import Run, current_run, open_run, opened_by


def adopt_or_open(kind: str, **track_args: Any) -> tuple[Run, bool]:
    """The run a training callback of framework `kind` records into, and whether it opened it.

    It adopts the run active in this process (the script's own, or a Hydra job's), unless a
    callback of the same `kind` opened it: that is an earlier training's, so it is finished and a
    new run starts (two trainings in one process are two runs, never merged).
    """
    current = adoptable_run(kind)
    if current is not None:
        return current, False
    return open_run(kind, adoptable=False, **track_args), True


def adoptable_run(kind: str) -> Run | None:
    """The run active in this process that an integration of `kind` would adopt (adopt_or_open)."""
    current = current_run()
    if current is not None and opened_by(current) != kind:
        return current
    return None


class FrameworkSteps:
    """Puts a framework's rows into a run at the framework's own step, never losing one.

    In a fresh run a row lands at the framework's step (`_step` == the framework's step). When
    that step would go backwards in the run (the script logged rows first, an earlier training
    recorded into the same run, a resume from an older checkpoint), the steps are offset so the
    rows land after the run's current step. Each row also carries the framework's step as the
    metric `step_key` (`trainer/global_step`, `train/global_step`, as wandb's integrations name
    it); once offset, each key logged is defined (define_metric) with that step_metric, so
    `gitcfg plot` draws it over the framework's step.
    """

    def __init__(self, step_key: str) -> None:
        self.step_key = step_key
        self.offset = 0
        self._defined: set[str] = set()

    def log(self, run: Run, row: dict[str, Any], step: int | None) -> None:
        """Record `row` at the framework's `step` (None: the run's next step)."""
        if step is None:
            run.log(row)
            return
        at = step + self.offset
        if at < run.step:
            run.log()  # the open row (another writer's) is committed: these land after it
            self.offset = run.step - step
            at = run.step
        if self.offset:
            for key in row:
                if key not in self._defined:
                    self._defined.add(key)
                    run.define_metric(key, step_metric=self.step_key)
        run.log({**row, self.step_key: step}, step=at)


def config_values(params: Any) -> dict[str, Any]:
    """A framework's hyperparameters as a config mapping, nested as given (None: empty).

    An argparse.Namespace or a mapping becomes a dict with text keys, a tuple a list; each other
    value as the config stores it (numpy and torch numbers, enums, paths, dataclasses: see
    docs/config.md), and one it refuses as text: a class or function as its qualified name (not
    its repr, whose address changes from run to run), anything else as its str().
    """
    values = _config_value(params, "")
    return values if isinstance(values, dict) else {}


def _config_value(value: Any, key: str) -> Any:
    if isinstance(value, Namespace):
        value = vars(value)
    if isinstance(value, Mapping):
        return {str(k): _config_value(v, f"{key}.{k}" if key else str(k)) for k, v in value.items()}
    if type(value) in (list, tuple):
        return [_config_value(item, key) for item in value]
    try:
        return normalise_value(value, key)
    except GitcfgError:
        pass
    if isinstance(value, type) or callable(value) and hasattr(value, "__qualname__"):
        module = getattr(value, "__module__", None)
        qualname = str(value.__qualname__)
        return f"{module}.{qualname}" if module else qualname
    return str(value)


def update_config(run: Run, values: Mapping[str, Any], *, only_missing: bool = False) -> None:
    """Merge `values` into `run.config` (a changed value is taken; `only_missing`: only the keys
    not set yet); a value the config refuses is a warning, never an exception in the loop."""
    try:
        if only_missing:
            run.config.setdefaults(dict(values))
        else:
            run.config.update(dict(values), allow_val_change=True)
    except (GitcfgError, TypeError, ValueError) as e:
        warn(f"run {run.id}: config not recorded: {e}")


def warn_unrecorded(run: Run, what: str, error: GitcfgError) -> None:
    """A value the framework handed over that gitcfg cannot record: a warning, never a crash."""
    warn(f"run {run.id}: {what} not recorded: {error}")


def warn(message: str) -> None:
    """One `gitcfg: warning: ...` line on stderr: an integration never fails the training."""
    from gitcfg.rows import inert_lines

    print(f"gitcfg: warning: {inert_lines(message)}", file=sys.stderr, flush=True)
