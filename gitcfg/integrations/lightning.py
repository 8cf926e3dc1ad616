"""PyTorch Lightning: `Trainer(logger=GitcfgLogger())` records the fit into a gitcfg run.

The logger subclasses `lightning.pytorch.loggers.Logger`, or `pytorch_lightning.loggers.Logger`
when the script imported only that older namespace (or only it is installed). What it records and
when (docs/integrations.md):

- the run starts (or the script's own run is adopted) when Lightning first asks for the experiment;
- `log_hyperparams`: the hyperparameters into the config, nested as given;
- `log_metrics`: one row per call at Lightning's step (rows of the same step merge), with that
  step as `trainer/global_step`; where it would go backwards in the run (rows logged before fit,
  an earlier fit, a resume from an older checkpoint) the rows go after the run's last one;
- `after_save_checkpoint`: the best checkpoint's path and score into the summary;
- `finalize("success")` (after fit, and again after test) does not end the run; `finalize("failed")`
  ends it `failed` with the exception Lightning caught; the run ends at process exit, at
  `logger.finish()`, or when another GitcfgLogger starts the next run in this process.

Under DDP only global rank 0 records; `version` (the run id) is the same on every rank: rank 0
chooses it when the logger is created and Lightning's launcher hands it to the other ranks in the
environment it starts them with.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from gitcfg.integrations._common import (
    FrameworkSteps,
    adopt_or_open,
    adoptable_run,
    config_values,
    update_config,
    warn,
)
from gitcfg.store import default_run_name, new_run_id
from gitcfg.tracking import Run, process_rank

if "pytorch_lightning" in sys.modules and "lightning" not in sys.modules:
    from pytorch_lightning.loggers import Logger as _Logger
    from pytorch_lightning.loggers.logger import DummyExperiment
    from pytorch_lightning.utilities.rank_zero import rank_zero_only
else:
    try:
        from lightning.pytorch.loggers import Logger as _Logger
        from lightning.pytorch.loggers.logger import DummyExperiment
        from lightning.pytorch.utilities.rank_zero import rank_zero_only
    except ImportError:  # only the older namespace is installed
        from pytorch_lightning.loggers import Logger as _Logger
        from pytorch_lightning.loggers.logger import DummyExperiment
        from pytorch_lightning.utilities.rank_zero import rank_zero_only

__all__ = ["GitcfgLogger"]

KIND = "lightning"
STEP_KEY = "trainer/global_step"  # Lightning's step in each row (wandb's WandbLogger's name)
# The run ids of the GitcfgLoggers rank 0 created, in order, comma-separated: Lightning's launcher
# starts the other ranks with a copy of rank 0's environment, so their n-th logger takes the n-th id.
RUN_IDS_VARIABLE = "GITCFG_LIGHTNING_RUN_IDS"
_created = 0  # GitcfgLoggers created in this process


class GitcfgLogger(_Logger):  # type: ignore[misc]
    """A Lightning logger recording into a gitcfg run: `Trainer(logger=GitcfgLogger())`.

    `name` is the run's name; `save_dir` is where Lightning puts checkpoints (default: the
    Trainer's default_root_dir, as `<save_dir>/gitcfg/<run id>/checkpoints`); `version` (or `id`)
    with `resume="allow"` continues a stored run, e.g. after `fit(ckpt_path=...)`. Other keywords
    are `gitcfg.track()`'s (group, tags, notes, config, project, ...). `prefix` is put before
    every metric key. WandbLogger's `log_model` is accepted: checkpoints are not copied into the
    run (their path is recorded).
    """

    def __init__(
        self,
        name: str | None = None,
        save_dir: str | os.PathLike[str] | None = None,
        version: str | None = None,
        prefix: str = "",
        log_model: bool | str = False,
        **track_args: Any,
    ) -> None:
        global _created
        super().__init__()
        run_id = track_args.pop("id", None) or version
        self._track_args = dict(track_args, name=name)
        self._save_dir = None if save_dir is None else os.fspath(save_dir)
        self._prefix = prefix
        self._run: Run | None = None
        self._given_id: str | None = None
        self._adopting = False  # the version is the id of the run active at creation
        self._steps = FrameworkSteps(STEP_KEY)
        if log_model:
            warn(
                "GitcfgLogger(log_model=...): checkpoints are not copied into the run; "
                "the best checkpoint's path and score are recorded in the summary"
            )
        index, _created = _created, _created + 1
        self._version = self._choose_version(run_id, name, index)

    def _choose_version(self, run_id: str | None, name: str | None, index: int) -> str:
        """The run id on every rank: rank 0 chooses it (the given one, the script's active run,
        GITCFG_RUN_ID, or a new one) and hands it on in the environment; other ranks read it."""
        if process_rank() != 0:
            handed = os.environ.get(RUN_IDS_VARIABLE, "").split(",")
            if index < len(handed) and handed[index]:
                return handed[index]
            return run_id or os.environ.get("GITCFG_RUN_ID") or new_run_id()
        if run_id is None:
            active = adoptable_run(KIND)
            if active is not None:
                run_id = active.id
                self._adopting = True
            elif os.environ.get("GITCFG_RUN_ID"):
                run_id = os.environ["GITCFG_RUN_ID"]
            else:
                run_id = new_run_id()
                if name is None:  # not named after an id the script did not choose
                    self._track_args["name"] = default_run_name(run_id)
        self._given_id = run_id
        handed = os.environ.get(RUN_IDS_VARIABLE, "").split(",") if index else []
        handed = (handed + [""] * index)[:index] + [run_id]
        os.environ[RUN_IDS_VARIABLE] = ",".join(handed)
        return run_id

    # Lightning's Logger interface

    @property
    def name(self) -> str:
        """The folder Lightning groups this logger's versions in: `gitcfg`."""
        return "gitcfg"

    @property
    def version(self) -> str:
        """The run's id, the same on every rank."""
        return self._version

    @property
    def save_dir(self) -> str | None:
        return self._save_dir

    @property
    def experiment(self) -> Any:
        """The gitcfg run (rank 0; a no-op stand-in on other ranks): started on first use."""
        run = self._rank_zero_run()
        return DummyExperiment() if run is None else run

    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        run = self._rank_zero_run()
        if run is None:
            return
        update_config(run, config_values(params))

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        run = self._rank_zero_run()
        if run is None:
            return
        row = {f"{self._prefix}{key}": value for key, value in metrics.items()}
        self._steps.log(run, row, step)

    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        """The best checkpoint's path, score and monitored metric into the summary."""
        run = self._rank_zero_run()
        if run is None:
            return
        path = getattr(checkpoint_callback, "best_model_path", "") or ""
        if not path:
            return
        run.summary["best_model_path"] = str(path)
        score = getattr(checkpoint_callback, "best_model_score", None)
        if score is not None:
            run.summary["best_model_score"] = float(score)
        monitor = getattr(checkpoint_callback, "monitor", None)
        if monitor:
            run.summary["best_model_monitor"] = str(monitor)

    def finalize(self, status: str) -> None:
        """ "success" (after fit, after test): the run goes on. "failed": it ends `failed` (or
        `killed` on Ctrl-C) with the exception Lightning caught. "finished" (SLURM requeue): the
        run is marked preempting; the signal then ends it."""
        run = self._run
        if run is None:
            return
        if status == "failed":
            exception = sys.exc_info()[1]
            if exception is not None:
                run.finish(exception=exception)
            else:
                run.finish(exit_code=1)
        elif status == "finished":
            run.mark_preempting()

    def finish(self) -> None:
        """End the run now (else it ends at process exit, or when another GitcfgLogger starts)."""
        if self._run is not None:
            self._run.finish()

    def __getstate__(self) -> dict[str, Any]:
        # ddp_spawn pickles the Trainer with its loggers: the run (locks, a thread) stays here.
        state = self.__dict__.copy()
        state["_run"] = None
        return state

    def _rank_zero_run(self) -> Run | None:
        """The run this logger records into on global rank 0 (None on the others): once
        started, always the same one (a call after it ended is ignored by the run, with a
        warning)."""
        if getattr(rank_zero_only, "rank", 0) != 0:  # the Trainer's strategy sets the global rank
            return None
        if self._run is None:
            args = dict(self._track_args)
            if not self._adopting or adoptable_run(KIND) is not None:
                args["id"] = self._given_id  # else that run ended before training: a new id
            run, _ = adopt_or_open(KIND, **args)
            self._run, self._version = run, run.id  # the script's run, if adopted
        return self._run
