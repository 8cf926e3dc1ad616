"""LightGBM: a callback recording params once and the eval results of every iteration
(docs/integrations.md#lightgbm).

    lgb.train(params, train_set, valid_sets=[valid_set], callbacks=[GitcfgCallback()])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitcfg.errors import GitcfgError, NoActiveRun
from gitcfg.integrations._common import (
    adopt_or_open,
    config_values,
    update_config,
    warn_unrecorded,
)
from gitcfg.tracking import Run, current_run

KIND = "lightgbm"


class GitcfgCallback:
    """Record one training: `lgb.train`'s params once as config (the script's own values win),
    then a row per iteration (`<data>/<metric>`, e.g. `valid_0/l2`; `-mean` and `-stdv` under
    `lgb.cv`; and `iteration`). It records into the run active in this process, else opens one
    and finishes it after the last iteration (an early-stopped training's run ends when the next
    run starts, or at exit). Keywords go to `gitcfg.track()` when it opens one.
    """

    order = 20  # LightGBM's callback order: before early stopping (30), which ends training
    before_iteration = False

    def __init__(self, **track_args: Any) -> None:
        self._track_args = track_args
        self._run: Run | None = None
        self._opened = False

    def __call__(self, env: Any) -> None:
        if self._run is None or env.iteration == env.begin_iteration:  # a training starts
            self._run, self._opened = adopt_or_open(KIND, **self._track_args)
            self._record_params(self._run, env.params)
        run = self._run
        row: dict[str, Any] = {}
        for item in env.evaluation_result_list:
            data, metric, value = item[0], item[1], item[2]
            if data == "cv_agg":  # LightGBM < 4: ("cv_agg", "valid l2", mean, maximize, stdv)
                data, _, metric = str(metric).partition(" ")
            key = self._metric_key(data, metric)
            if len(item) > 4 and item[4] is not None:  # lgb.cv: mean and standard deviation
                row[f"{key}-mean"], row[f"{key}-stdv"] = float(value), float(item[4])
            else:
                row[key] = float(value)
        row[self._iteration_key] = env.iteration
        run.log(row)
        if self._opened and env.iteration >= env.end_iteration - 1:
            self._run = None
            run.finish()

    # What the wandb-compatible callback (gitcfg.integration.lightgbm) names differently.
    _iteration_key = "iteration"

    def _metric_key(self, data: str, metric: str) -> str:
        return f"{data}/{metric}"

    def _record_params(self, run: Run, params: Mapping[str, Any]) -> None:
        update_config(run, config_values(params), only_missing=True)


def log_summary(model: Any) -> None:
    """Put a trained booster's `best_iteration` and `best_score` (`{data: {metric: value}}`)
    into the summary of the run active in this process."""
    run = current_run()
    if run is None:
        raise NoActiveRun("log_summary()")
    best = {
        "best_iteration": int(model.best_iteration),
        "best_score": {
            str(data): {str(metric): float(value) for metric, value in scores.items()}
            for data, scores in model.best_score.items()
        },
    }
    try:
        run.summary.update(best)
    except GitcfgError as error:
        warn_unrecorded(run, "the best iteration", error)
