"""XGBoost: a `TrainingCallback` recording params once and the eval results of every iteration
(docs/integrations.md#xgboost).

    xgb.train(params, dtrain, evals=[(dvalid, "valid")], callbacks=[GitcfgCallback()])
    XGBRegressor(..., callbacks=[GitcfgCallback()]).fit(X, y, eval_set=[(X_valid, y_valid)])
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import xgboost

from gitcfg.errors import GitcfgError
from gitcfg.integrations._common import adopt_or_open, update_config, warn_unrecorded
from gitcfg.tracking import Run

KIND = "xgboost"
# Metrics XGBoost's early stopping maximises (by name prefix: `ndcg@5`, `map@3`); the others fall.
MAXIMIZED_METRICS = ("auc", "aucpr", "pre", "map", "ndcg")


class GitcfgCallback(xgboost.callback.TrainingCallback):  # type: ignore[misc]
    """Record one training: the booster's training parameters once, under the config key
    `xgboost` (the script's own values win), then a row per iteration (`<data>/<metric>`, e.g.
    `valid/rmse`; `-mean` and `-std` under `xgboost.cv`; and `iteration`), then
    `best_iteration`, `best_score` and `best_metric` in the summary. It records into the run
    active in this process, else opens one and finishes it when training ends. Keywords go to
    `gitcfg.track()` when it opens one.
    """

    def __init__(self, **track_args: Any) -> None:
        super().__init__()
        self._track_args = track_args
        self._run: Run | None = None
        self._opened = False
        self._history: Mapping[str, Mapping[str, Any]] = {}
        self._first_epoch: int | None = None

    def before_training(self, model: Any) -> Any:
        self._run, self._opened = adopt_or_open(KIND, **self._track_args)
        self._history, self._first_epoch = {}, None
        self._record_params(self._run, model)
        return model

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        run = self._run
        if run is None:
            return False
        if self._first_epoch is None:
            self._first_epoch = epoch
        self._history = evals_log
        row: dict[str, Any] = {}
        for data, metrics in evals_log.items():
            for metric, values in metrics.items():
                key, value = self._metric_key(data, metric), values[-1]
                if isinstance(value, tuple):  # xgboost.cv: (mean, standard deviation)
                    row[f"{key}-mean"], row[f"{key}-std"] = float(value[0]), float(value[1])
                else:
                    row[key] = float(value)
        row[self._epoch_key] = epoch
        run.log(row)
        return False  # never stops training

    def after_training(self, model: Any) -> Any:
        run, self._run = self._run, None
        if run is None:
            return model
        best = best_of(model, self._history, self._first_epoch or 0)
        if best:
            try:
                run.summary.update(best)
            except GitcfgError as error:
                warn_unrecorded(run, "the best iteration", error)
        if self._opened:
            run.finish()
        return model

    # What the wandb-compatible callback (gitcfg.integration.xgboost) names differently.
    _epoch_key = "iteration"

    def _metric_key(self, data: str, metric: str) -> str:
        return f"{data}/{metric}"

    def _record_params(self, run: Run, model: Any) -> None:
        update_config(run, {KIND: training_params(model)}, only_missing=True)


def training_params(model: Any) -> dict[str, Any]:
    """The booster's training parameters (the `*_param` sections of its saved config, merged),
    numbers as numbers: what XGBoost trains with, the defaults included; {} under xgboost.cv."""
    params: dict[str, Any] = {}
    save_config = getattr(model, "save_config", None)  # xgboost.cv's boosters have none
    if save_config is not None:
        _collect_params(json.loads(save_config()), params)
    return params


def _collect_params(node: Any, params: dict[str, Any]) -> None:
    if isinstance(node, list):
        for item in node:
            _collect_params(item, params)
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key.endswith("_param") and isinstance(value, dict):
            for name, text in value.items():
                if not isinstance(text, (dict, list)):
                    params.setdefault(name, _number(text))
        else:
            _collect_params(value, params)


def _number(text: Any) -> Any:
    """XGBoost's saved numbers are text; a float32 one (`0.300000012`) reads as the decimal it
    was given (0.3)."""
    if not isinstance(text, str):
        return text
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text
    import numpy

    single = numpy.float32(value)
    return float(str(single)) if float(f"{single:.9g}") == value else value


def best_of(
    model: Any, history: Mapping[str, Mapping[str, Any]], first_epoch: int
) -> dict[str, Any]:
    """`best_iteration`, `best_score` and `best_metric`: early stopping's when it ran, else the
    best value of the metric early stopping would watch (the last one of the last eval set)."""
    if not history:
        return {}
    data = list(history)[-1]
    metric = list(history[data])[-1]
    best: dict[str, Any] = {"best_metric": f"{data}/{metric}"}
    best_iteration, best_score = model.attr("best_iteration"), model.attr("best_score")
    if best_iteration is not None and best_score is not None:  # early stopping's
        best["best_iteration"] = int(best_iteration)
        best["best_score"] = float(best_score)
        return best
    values = [_mean(value) for value in history[data][metric]]
    maximize = metric.startswith(MAXIMIZED_METRICS)
    index = (max if maximize else min)(range(len(values)), key=values.__getitem__)
    best["best_iteration"] = first_epoch + index
    best["best_score"] = values[index]
    return best


def _mean(value: Any) -> float:
    """An eval result: a float, or (mean, standard deviation) under xgboost.cv."""
    return float(value[0]) if isinstance(value, tuple) else float(value)
