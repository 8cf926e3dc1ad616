"""Optuna: one run per trial, grouped by study (docs/integrations.md#optuna).

    study.optimize(objective, n_trials=20, callbacks=[GitcfgCallback()])

Optuna calls a callback after each trial with the finished (frozen) trial. For each trial the
callback records one run: the trial's params as its config, its value(s), state and number as its
summary, the study's name as its group, its intermediate values (`trial.report`) as rows; a FAIL
trial's run is `failed`, a PRUNED one is `finished` with state PRUNED.

Which run a trial is recorded into:
- the run the objective started itself during the trial (its own `gitcfg.track()`, or the run
  `@callback.track_in_gitcfg()` opens for it, in which `gitcfg.track()` and `gitcfg.log()` work):
  adopted, the trial's params added to its config (the objective's own values win), then finished;
- a run the script started before `study.optimize` (one run for the whole study): the trial is one
  row of it (number, value, state, params), and that run stays open;
- else a new run, opened and finished by the callback (its duration is the callback's: the
  trial's own is the summary's `trial_duration_s`).
A trial whose exception Optuna re-raises (not in `optimize(catch=...)`) never reaches callbacks:
its own run, if it started one, ends `failed` through gitcfg's exit hook as any script's does.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from optuna.trial import TrialState

from gitcfg.errors import GitcfgError
from gitcfg.integrations._common import update_config, warn_unrecorded
from gitcfg.tracking import Run, current_run, open_run, opened_by

KIND = "optuna"
Objective = TypeVar("Objective", bound=Callable[..., Any])


class GitcfgCallback:
    """`study.optimize(objective, callbacks=[GitcfgCallback()])`: a run per trial.

    `metric_name` names the value in the summary (a list of names for a multi-objective study;
    a single name is suffixed `_0`, `_1`...). Other keywords go to `gitcfg.track()` (`tags`,
    `project`, `mode`...); `group` defaults to the study's name.
    """

    def __init__(self, metric_name: str | Sequence[str] = "value", **track_args: Any) -> None:
        self._metric_name = metric_name
        self._track_args = track_args
        self._lock = threading.Lock()  # optimize(n_jobs>1) calls back from several threads

    def __call__(self, study: Any, trial: Any) -> None:
        with self._lock:
            self._record(study, trial)

    def track_in_gitcfg(self) -> Callable[[Objective], Objective]:
        """Decorate an objective so each trial runs inside its own run (`gitcfg.log()` works in
        it); this callback finishes it. One trial at a time: `optimize(n_jobs=1)`."""

        def decorate(objective: Objective) -> Objective:
            @functools.wraps(objective)
            def run_trial(trial: Any, *args: Any, **kwargs: Any) -> Any:
                open_run(KIND, adoptable=True, **self._run_args(trial.study, trial.number))
                return objective(trial, *args, **kwargs)

            return run_trial  # type: ignore[return-value]

        return decorate

    def _record(self, study: Any, trial: Any) -> None:
        values = self._values(trial)
        current = current_run()
        if current is not None and not self._is_trials_run(current, trial):
            row = {"trial_number": trial.number, **values, "state": trial.state.name}
            row["params"] = dict(trial.params)
            current.log(row)  # a run around the whole study: a row per trial
            return
        if current is None:
            current = open_run(
                KIND,
                adoptable=False,
                config=dict(trial.params),
                **self._run_args(study, trial.number),
            )
            for step, value in sorted(trial.intermediate_values.items()):
                current.log({"intermediate_value": value}, step=step)
        else:
            _adopt(current, study, trial)
        summary = {**values, "state": trial.state.name, "trial_number": trial.number}
        if trial.duration is not None:
            summary["trial_duration_s"] = round(trial.duration.total_seconds(), 3)
        try:
            current.summary.update(summary)
        except GitcfgError as error:
            warn_unrecorded(current, f"trial {trial.number}'s value", error)
        current.finish(1 if trial.state == TrialState.FAIL else 0)

    def _run_args(self, study: Any, number: int) -> dict[str, Any]:
        return {"group": study.study_name, "name": f"trial-{number}", **self._track_args}

    def _is_trials_run(self, run: Run, trial: Any) -> bool:
        """Whether `run` is the trial's own: opened for it, or started while it ran."""
        if opened_by(run) == KIND:
            return True
        started = trial.datetime_start
        return started is not None and run.start_time >= started.timestamp()

    def _values(self, trial: Any) -> dict[str, Any]:
        values = trial.values
        if values is None:  # pruned or failed
            return {}
        names = self._metric_name
        if isinstance(names, str):
            if len(values) == 1:
                return {names: values[0]}
            return {f"{names}_{index}": value for index, value in enumerate(values)}
        if len(names) != len(values):
            raise GitcfgError(
                f"GitcfgCallback(metric_name=...) names {len(names)} values; "
                f"the study has {len(values)} objectives"
            )
        return dict(zip(names, values, strict=True))


def _adopt(run: Run, study: Any, trial: Any) -> None:
    """The objective's own run: the trial's params where its config has none, the study as group."""
    update_config(run, trial.params, only_missing=True)
    if not run.group:
        run.group = study.study_name
