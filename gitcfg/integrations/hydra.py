"""Hydra: one run per job, failed when the job raised (docs/integrations.md#hydra).

Registered in the app's config (or as an override,
`+hydra.callbacks.gitcfg._target_=gitcfg.integrations.hydra.GitcfgCallback`):

    hydra:
      callbacks:
        gitcfg:
          _target_: gitcfg.integrations.hydra.GitcfgCallback

Hydra catches a job's exception itself (the job's status says FAILED; a multirun goes on with the
next job), so gitcfg's own exit hook never sees it: the callback records it. Every job of a
multirun runs `on_job_start`/`on_job_end` in its process, so each job is its own run, never merged.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from gitcfg.errors import GitcfgError
from gitcfg.integrations._common import warn_unrecorded
from gitcfg.tracking import Run, open_run

# The summary key of a job's return value when it is a number (a mapping is merged in as is).
RETURN_VALUE_KEY = "return_value"


class GitcfgCallback(Callback):  # type: ignore[misc]
    """Start a run at each job's start, record its return value and status at its end.

    Keyword arguments (given under the callback's node in the config) go to `gitcfg.track()`:
    `tags`, `notes`, `project`, `job_type`, `group` (default: the multirun's sweep directory),
    `mode`... The script's own `gitcfg.track(cfg)` inside the job returns the job's run.
    """

    def __init__(self, **track_args: Any) -> None:
        self._track_args = track_args
        self._run: Run | None = None

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        hydra_config = config.hydra
        track_args = dict(self._track_args)
        if hydra_config.mode == RunMode.MULTIRUN:
            track_args.setdefault("group", str(hydra_config.sweep.dir))
        # With hydra.job.chdir the job's cwd is its output directory, perhaps outside the repo.
        track_args.setdefault("path", str(hydra_config.runtime.cwd))
        self._run = open_run("hydra", adoptable=True, config=_job_config(config), **track_args)

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        run, self._run = self._run, None
        if run is None:
            return
        from hydra.core.utils import JobStatus

        if job_return.status == JobStatus.FAILED:
            try:
                job_return.return_value  # noqa: B018 (raises the job's exception)
            except Exception as error:  # the job's own: recorded as the script's would be
                run.finish(exception=error)
                return
        _record_return_value(run, job_return.return_value)
        run.finish()


def _job_config(config: DictConfig) -> Any:
    """The job's config resolved, without the `hydra` node (what the task function receives)."""
    job_config = config.copy()
    with read_write(job_config), open_dict(job_config):
        job_config.pop("hydra", None)
    return OmegaConf.to_container(job_config, resolve=True)


def _record_return_value(run: Run, value: Any) -> None:
    try:
        if isinstance(value, DictConfig):
            value = OmegaConf.to_container(value, resolve=True)
        if isinstance(value, Mapping):
            run.summary.update({str(key): item for key, item in value.items()})
        elif isinstance(value, numbers.Number) and not isinstance(value, bool):
            run.summary[RETURN_VALUE_KEY] = value
    except GitcfgError as error:
        warn_unrecorded(run, "the job's return value", error)
