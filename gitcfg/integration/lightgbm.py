"""wandb.integration.lightgbm's names over gitcfg.integrations.lightgbm (docs/integrations.md).

Keys as wandb's: a row per iteration `<data>_<metric>` (`-mean`/`-stdv` under `lgb.cv`) and
`iteration`; params as config; `log_summary` puts `best_iteration` and `best_score` in the summary
and logs a "Feature Importance" table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gitcfg.errors import GitcfgError
from gitcfg.integrations import lightgbm as _native
from gitcfg.integrations._common import config_values, update_config
from gitcfg.media import Table
from gitcfg.tracking import Run, current_run

__all__ = ["log_summary", "wandb_callback"]

MINIMIZED_METRICS = (
    "l1",
    "l2",
    "rmse",
    "mape",
    "huber",
    "fair",
    "poisson",
    "gamma",
    "binary_logloss",
)
MAXIMIZED_METRICS = ("map", "auc", "average_precision")


class _WandbCallback(_native.GitcfgCallback):
    def __init__(self, log_params: bool, define_metric: bool) -> None:
        super().__init__()
        self._log_params = log_params
        self._define_metric = define_metric

    def __call__(self, env: Any) -> None:
        if self._run is None or env.iteration == env.begin_iteration:
            run = current_run()
            if run is None:
                raise GitcfgError("call gitcfg.track() before training with wandb_callback()")
            self._run, self._opened = run, False
            if self._log_params:
                update_config(run, config_values(env.params))
            if self._define_metric:
                for item in env.evaluation_result_list:
                    _define_metrics(run, item, self._metric_key)
        super().__call__(env)

    def _metric_key(self, data: str, metric: str) -> str:
        return f"{data}_{metric}"


def wandb_callback(log_params: bool = True, define_metric: bool = True) -> Any:
    """wandb's callback: `lgb.train(..., callbacks=[wandb_callback()])`, after gitcfg.track()."""
    return _WandbCallback(log_params, define_metric)


def log_summary(
    model: Any, feature_importance: bool = True, save_model_checkpoint: bool = False
) -> None:
    """wandb's log_summary: best iteration and score into the summary, the feature importance as a
    table, the best model into the run's files (`save_model_checkpoint`)."""
    _native.log_summary(model)
    run = current_run()
    assert run is not None  # log_summary above raised otherwise
    if feature_importance:
        names, scores = model.feature_name(), model.feature_importance()
        rows = [[str(name), float(score)] for name, score in zip(names, scores, strict=True)]
        run.log({"Feature Importance": Table(data=rows, columns=["Feature", "Importance"])})
    if save_model_checkpoint:
        path = Path(run.dir) / f"model_ckpt_{model.best_iteration}.txt"
        model.save_model(str(path), num_iteration=model.best_iteration)


def _define_metrics(run: Run, item: Any, key: Any) -> None:
    data, metric = str(item[0]), str(item[1])
    if data == "cv_agg":  # LightGBM < 4
        data, _, metric = metric.partition(" ")
    names = [key(data, metric)]
    if len(item) > 4 and item[4] is not None:  # lgb.cv: mean and standard deviation
        names = [f"{names[0]}-mean", f"{names[0]}-stdv"]
    lowered = metric.lower()
    summary = "min" if "loss" in lowered or lowered in MINIMIZED_METRICS else None
    if lowered in MAXIMIZED_METRICS:
        summary = "max"
    if summary is not None:
        for name in names:
            run.define_metric(name, summary=summary)
