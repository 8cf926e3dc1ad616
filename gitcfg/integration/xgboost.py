"""wandb.integration.xgboost's names over gitcfg.integrations.xgboost (docs/integrations.md).

Keys as wandb's: a row per iteration `<data>-<metric>` and `epoch`; the booster's saved config
(`learner`, `version`) as config; `best_score`/`best_iteration` logged after an early-stopped
training; a "Feature Importance" table.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gitcfg.errors import GitcfgError
from gitcfg.integrations import xgboost as _native
from gitcfg.integrations._common import update_config
from gitcfg.media import Table
from gitcfg.tracking import Run, current_run

__all__ = ["WandbCallback", "wandb_callback"]

# wandb's define_metric summaries: the best value of these is the summary's.
MINIMIZED_METRICS = (
    "rmse",
    "rmsle",
    "mae",
    "mape",
    "mphe",
    "logloss",
    "error",
    "error@t",
    "merror",
)
MAXIMIZED_METRICS = ("auc", "aucpr", "ndcg", "map", "ndcg@n", "map@n")


class WandbCallback(_native.GitcfgCallback):
    """wandb's `WandbCallback(log_model, log_feature_importance, importance_type, define_metric)`:
    needs a run (`gitcfg.track()` first, as wandb needs `wandb.init()`), and never ends it."""

    _epoch_key = "epoch"

    def __init__(
        self,
        log_model: bool = False,
        log_feature_importance: bool = True,
        importance_type: str = "gain",
        define_metric: bool = True,
    ) -> None:
        super().__init__()
        self.log_model = log_model
        self.log_feature_importance = log_feature_importance
        self.importance_type = importance_type
        self.define_metric = define_metric
        _required_run("WandbCallback()")

    def before_training(self, model: Any) -> Any:
        self._run, self._opened = _required_run("WandbCallback()"), False
        self._history, self._first_epoch = {}, None
        update_config(self._run, json.loads(model.save_config()))
        return model

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        run = self._run
        if self.define_metric and run is not None:
            for data, metrics in evals_log.items():
                for metric in metrics:
                    _define_metric(run, self._metric_key(data, metric), metric)
            self.define_metric = False  # once, as wandb's
        return super().after_iteration(model, epoch, evals_log)

    def after_training(self, model: Any) -> Any:
        run, self._run = self._run, None
        if run is None:
            return model
        if self.log_model:
            path = Path(run.dir) / f"{run.id}_model.json"
            model.save_model(str(path))  # run.dir is saved with the run at its end
        if self.log_feature_importance:
            scores = model.get_score(importance_type=self.importance_type)
            table = Table(
                data=[[k, v] for k, v in scores.items()], columns=["Feature", "Importance"]
            )
            run.log({"Feature Importance": table})
        best_score, best_iteration = model.attr("best_score"), model.attr("best_iteration")
        if best_score is not None and best_iteration is not None:
            run.log({"best_score": float(best_score), "best_iteration": int(best_iteration)})
        return model

    def _metric_key(self, data: str, metric: str) -> str:
        return f"{data}-{metric}"


def wandb_callback() -> Callable[[Any], None]:
    """wandb's old-style callback (a function of XGBoost's pre-1.3 `env`), deprecated there too."""
    warnings.warn("wandb_callback is deprecated; use WandbCallback", UserWarning, stacklevel=2)

    def callback(env: Any) -> None:
        run = _required_run("wandb_callback()")
        run.log(dict(env.evaluation_result_list))

    return callback


def _required_run(what: str) -> Run:
    run = current_run()
    if run is None:
        raise GitcfgError(f"call gitcfg.track() before {what}, as wandb needs wandb.init()")
    return run


def _define_metric(run: Run, key: str, metric: str) -> None:
    name = metric.lower()
    if "loss" in name or name in MINIMIZED_METRICS:
        run.define_metric(key, summary="min")
    elif name in MAXIMIZED_METRICS:
        run.define_metric(key, summary="max")
