"""Hugging Face transformers: `Trainer(..., callbacks=[GitcfgCallback()])` records into a gitcfg run.

`report_to="gitcfg"` cannot work: transformers' `report_to` names are a fixed dict in its own code
that raises on any other name, so the callback is passed in `callbacks=` (docs/integrations.md).

On the world process zero only (the other processes of a distributed run record nothing):
- the run the script started with `gitcfg.track()` is adopted, else the callback starts one when
  training (or an evaluation) begins;
- config: the model's config, and the TrainingArguments under `trainer` (114 of them: kept apart
  from the script's own keys, which win over the model's);
- `on_log`: each log is a row at `state.global_step` (training losses, evaluations), with that
  step as `train/global_step`; where it would go backwards in the run (rows logged before, an
  earlier train()) the rows go after the run's last one (docs/integrations.md); the
  end-of-training figures (train_runtime, train_loss, ...) go into the summary;
- the run does not end at `on_train_end`: `trainer.evaluate()` after `train()` records into it;
  it ends at process exit, or when another GitcfgCallback starts a run in this process;
- hyperparameter search: one run per trial, named after the trial, grouped by `args.run_name`
  (else the output directory), the trial's parameters in the config.
"""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback

from gitcfg.integrations._common import (
    FrameworkSteps,
    adopt_or_open,
    config_values,
    update_config,
)
from gitcfg.tracking import Run, open_run

__all__ = ["GitcfgCallback"]

KIND = "transformers"
STEP_KEY = "train/global_step"  # the Trainer's step in each row (wandb's callback's name)
# What Trainer logs once at the end of train(): figures about the training, not a step's metrics.
SUMMARY_KEYS = frozenset(
    (
        "train_runtime",
        "train_samples_per_second",
        "train_steps_per_second",
        "train_loss",
        "total_flos",
    )
)


class GitcfgCallback(TrainerCallback):  # type: ignore[misc]
    """Record a Trainer's training into a gitcfg run: `Trainer(..., callbacks=[GitcfgCallback()])`.

    Keywords are `gitcfg.track()`'s (name, group, tags, notes, project, ...), used when the callback
    starts the run itself.
    """

    def __init__(self, **track_args: Any) -> None:
        self._track_args = track_args
        self._run: Run | None = None
        self._steps = FrameworkSteps(STEP_KEY)

    # TrainerCallback hooks: on_*(args, state, control, **kwargs); each returns None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not state.is_world_process_zero:
            return
        if state.is_hyper_param_search:  # each trial is a train() of its own: a run of its own
            labels = {"name": state.trial_name, "group": args.run_name or args.output_dir}
            track_args = {**labels, **{k: v for k, v in self._track_args.items() if v}}
            self._run = open_run(KIND, adoptable=False, **track_args)
            self._steps = FrameworkSteps(STEP_KEY)  # a fresh run: rows at the trial's steps
            self._record_config(args, kwargs.get("model"), state.trial_params)
        else:
            self._setup(args, state, kwargs.get("model"))

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
        run = self._setup(args, state, kwargs.get("model"))
        if run is None or not logs:
            return
        row = {}
        for key, value in logs.items():
            if key in SUMMARY_KEYS:
                run.summary[key] = value
            else:
                row[key] = value
        if row:
            self._steps.log(run, row, state.global_step)

    def on_predict(
        self, args: Any, state: Any, control: Any, metrics: Any = None, **kwargs: Any
    ) -> None:
        # trainer.predict() hands its metrics (test_loss, ...) here only, not to on_log.
        self.on_log(args, state, control, logs=metrics, **kwargs)

    # the run

    def _setup(self, args: Any, state: Any, model: Any) -> Run | None:
        """The run to record into on the world process zero (None elsewhere): adopted or started
        on first use, with the config recorded."""
        if not state.is_world_process_zero:
            return None
        if self._run is None:
            self._run, _ = adopt_or_open(KIND, **self._track_args)
            self._record_config(args, model, None)
        return self._run

    def _record_config(self, args: Any, model: Any, trial_params: Any) -> None:
        assert self._run is not None
        values: dict[str, Any] = {}
        model_config = getattr(model, "config", None)
        to_dict = getattr(model_config, "to_dict", None)
        if callable(to_dict):
            values.update(config_values(to_dict()))
        arguments = args.to_dict()
        # to_dict() writes each *_token argument as a placeholder ("<HUB_TOKEN>"): nothing to keep.
        values["trainer"] = config_values(
            {k: v for k, v in arguments.items() if v != f"<{k.upper()}>"}
        )
        if trial_params:
            values.update(config_values(trial_params))
        update_config(self._run, values, only_missing=True)  # the script's keys win
