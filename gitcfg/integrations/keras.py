"""Keras 3: `model.fit(..., callbacks=[GitcfgCallback()])` records the training into a gitcfg run.

Uses only `keras` (so it works on the torch, JAX and TensorFlow backends; tensorflow is never
imported). What it records (docs/integrations.md):

- the run the script started with `gitcfg.track()` is adopted, else the callback starts one when
  training begins (a new GitcfgCallback in the same process starts the next run);
- config: the optimizer's config under `optimizer` and `epochs` (keys the script set win);
- one row per epoch (`on_epoch_end`: loss, val_loss, ... and `epoch`) at the callback's own step,
  which goes on across fit() calls (a second fit() restarts Keras' epoch at 0; the rows still
  follow each other instead of being dropped as going back);
- batch rows (`batch/loss`, ...) only with `log_freq="batch"` or every N batches: a callback that
  overrides a batch hook costs Keras its asynchronous dispatch, so none is defined by default.

`gitcfg.keras.WandbMetricsLogger` and `gitcfg.keras.WandbCallback` take wandb's arguments, so a
ported wandb script keeps working.
"""

from __future__ import annotations

from typing import Any

import keras

from gitcfg.integrations._common import adopt_or_open, config_values, update_config, warn
from gitcfg.tracking import Run

__all__ = ["GitcfgCallback", "WandbCallback", "WandbMetricsLogger", "WandbModelCheckpoint"]

KIND = "keras"


class GitcfgCallback(keras.callbacks.Callback):  # type: ignore[misc]
    """Record a Keras fit into a gitcfg run: `model.fit(..., callbacks=[GitcfgCallback()])`.

    `log_freq`: "epoch" (default), "batch", or every N batches (batch rows besides the epoch
    rows). `initial_global_step`: the first row's step (default: the run's next step). Other
    keywords are `gitcfg.track()`'s, used when the callback starts the run itself.
    """

    _epoch_prefix = ""
    _batch_prefix = "batch/"

    def __init__(
        self,
        log_freq: str | int = "epoch",
        initial_global_step: int | None = None,
        **track_args: Any,
    ) -> None:
        super().__init__()
        if log_freq == "batch":
            log_freq = 1
        if log_freq != "epoch" and not (
            isinstance(log_freq, int) and not isinstance(log_freq, bool) and log_freq >= 1
        ):
            raise ValueError(f"log_freq={log_freq!r}: use 'epoch', 'batch' or a number of batches")
        self._log_every = None if log_freq == "epoch" else int(log_freq)
        self._track_args = track_args
        self._run: Run | None = None
        self._step = initial_global_step  # the next row's step (batch rows: the next batch's)
        self._batch = 0  # training batches seen, over every fit()
        if self._log_every is not None:
            # Set on the instance, only when asked for: Keras dispatches batch hooks
            # asynchronously only while no callback overrides one.
            self.on_train_batch_end = self._log_batch

    def on_train_begin(self, logs: Any = None) -> None:
        run = self._setup()
        if self._step is None:
            # A new callback in a run that has rows (an earlier fit's, the script's): a row left
            # open at run.step is committed now, so this fit's rows go after it, never into it
            # (callbacks of the same fit all start here, before any of them logs: their rows merge).
            run.log()
            self._step = run.step
        values: dict[str, Any] = {}
        optimizer = getattr(self.model, "optimizer", None)
        get_config = getattr(optimizer, "get_config", None)
        if callable(get_config):
            optimizer_config = config_values(get_config())
            rate = self._learning_rate()
            if rate is not None and isinstance(optimizer_config.get("learning_rate"), float):
                optimizer_config["learning_rate"] = rate  # the float32 as typed: 0.001
            values["optimizer"] = optimizer_config
        epochs = (self.params or {}).get("epochs")
        if epochs is not None:
            values["epochs"] = epochs
        update_config(run, values, only_missing=True)

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        run = self._setup()
        prefix = self._epoch_prefix
        row = {f"{prefix}{key}": value for key, value in (logs or {}).items()}
        row[f"{prefix}epoch"] = epoch
        row.update(self._epoch_extras())
        if self._log_every is None:
            step = max(self._next_step(run), run.step)
            self._step = step + 1
        else:  # with the last batch's row
            step = max(self._next_step(run) - 1, run.step, 0)
        run.log(row, step=step)
        self._epoch_ended(epoch, logs or {})

    def _log_batch(self, batch: int, logs: Any = None) -> None:
        run = self._setup()
        step = max(self._next_step(run), run.step)
        self._step = step + 1
        self._batch += 1
        if self._log_every is not None and self._batch % self._log_every == 0:
            prefix = self._batch_prefix
            row = {f"{prefix}{key}": value for key, value in (logs or {}).items()}
            row.update(self._batch_extras())
            run.log(row, step=step)

    def _epoch_extras(self) -> dict[str, Any]:
        return {}

    def _batch_extras(self) -> dict[str, Any]:
        return {}

    def _epoch_ended(self, epoch: int, logs: Any) -> None:
        pass

    def _next_step(self, run: Run) -> int:
        if self._step is None:
            self._step = run.step
        return self._step

    def _learning_rate(self) -> float | None:
        """The optimizer's current learning rate as a number (None for a schedule object)."""
        rate = getattr(getattr(self.model, "optimizer", None), "learning_rate", None)
        try:
            value = keras.ops.convert_to_numpy(rate)
        except Exception:  # a rate Keras cannot turn into a number: not recorded
            return None
        values = config_values({"rate": value})
        number = values.get("rate")
        return number if isinstance(number, float) else None

    def _setup(self) -> Run:
        if self._run is None:
            self._run, _ = adopt_or_open(KIND, **self._track_args)
        return self._run


class WandbMetricsLogger(GitcfgCallback):
    """wandb's `WandbMetricsLogger(log_freq="epoch", initial_global_step=0)` for a ported script:
    rows named as wandb names them (`epoch/loss`, `epoch/epoch`, `epoch/learning_rate`;
    `batch/loss`, `batch/batch_step`, ...)."""

    _epoch_prefix = "epoch/"

    def __init__(
        self,
        log_freq: str | int = "epoch",
        initial_global_step: int = 0,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(log_freq, initial_global_step or None)

    def _epoch_extras(self) -> dict[str, Any]:
        rate = self._learning_rate()
        return {} if rate is None else {"epoch/learning_rate": rate}

    def _batch_extras(self) -> dict[str, Any]:
        rate = self._learning_rate()
        extras: dict[str, Any] = {"batch/batch_step": self._batch}
        if rate is not None:
            extras["batch/learning_rate"] = rate
        return extras


class WandbCallback(GitcfgCallback):
    """wandb's legacy `WandbCallback(monitor="val_loss", mode="auto", log_batch_frequency=None,
    log_best_prefix="best_", ...)` for a ported script: epoch rows, batch rows every
    `log_batch_frequency` batches, and the best `monitor` value and its epoch in the summary
    (`best_val_loss`, `best_epoch`). Its other arguments (model saving, gradients, weights,
    prediction tables) are accepted and have no effect: said once on stderr when given."""

    def __init__(
        self,
        monitor: str = "val_loss",
        verbose: int = 0,
        mode: str = "auto",
        log_batch_frequency: int | None = None,
        log_best_prefix: str = "best_",
        **kwargs: Any,
    ) -> None:
        super().__init__(log_batch_frequency or "epoch")
        self._monitor, self._best_prefix = monitor, log_best_prefix
        if mode == "auto":
            rising = ("acc", "auc", "precision", "recall", "f1")
            mode = "max" if any(word in monitor for word in rising) else "min"
        if mode not in ("min", "max"):
            raise ValueError(f"WandbCallback(mode={mode!r}): use 'auto', 'min' or 'max'")
        self._mode = mode
        self._best: float | None = None
        asked = sorted(k for k, v in kwargs.items() if v and k not in ("save_model", "save_graph"))
        if asked:
            warn(f"WandbCallback({', '.join(asked)}): no effect in gitcfg (metrics are recorded)")

    def _epoch_ended(self, epoch: int, logs: Any) -> None:
        value = logs.get(self._monitor)
        if not isinstance(value, (int, float)) or value != value:
            return
        better = self._best is None or (
            value < self._best if self._mode == "min" else value > self._best
        )
        if better and self._run is not None:
            self._best = float(value)
            self._run.summary[f"{self._best_prefix}{self._monitor}"] = float(value)
            self._run.summary[f"{self._best_prefix}epoch"] = epoch


# wandb's WandbModelCheckpoint is Keras' ModelCheckpoint (same arguments) that also uploads the file:
# here the file stays where Keras writes it.
WandbModelCheckpoint = keras.callbacks.ModelCheckpoint
