"""Run: a training script's record. `track()` starts one; its lifecycle ends in exactly one final commit.

A run is committed twice: when it starts (status `running`, config.yaml and run.yaml) and when it ends
(`finished`, `failed`, `killed`; or `crashed`, committed later from the journal by another gitcfg
process). The Run holds the public API (wandb's), the step semantics of `log()`, run.yaml's fields
and the lifecycle (start, finish, exceptions, signals, fork); its Recorder (recorder.py) keeps it:
the live journal under `.git/gitcfg/live/<run-id>/`, the flusher thread and the commits. Recording
failures after the start are warnings: they never kill a training script.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from gitcfg import exitstatus, gitio, runfile
from gitcfg._version import __version__
from gitcfg.codecapture import capture_code
from gitcfg.configuration import (
    Config,
    build_config,
    hydra_overrides,
    mask_command_line,
    secret_values,
)
from gitcfg.errors import GitcfgError, JournalFull, NoActiveRun
from gitcfg.journal import recover_quietly
from gitcfg.logvalues import checked_step, flatten_values
from gitcfg.recorder import Recorder, Warnings
from gitcfg.recorder import warn as _warn
from gitcfg.resuming import Resume, load_resume, next_step, resume_mode, run_to_resume, runtime_s
from gitcfg.secrets import MASKED, mask_text
from gitcfg.store import (
    FORMAT_VERSION,
    ID_CHARS,
    RERUN_OF_VARIABLE,
    Store,
    check_run_id,
    default_run_name,
    hostname,
    new_run_id,
    parse_iso,
    utc_iso,
)
from gitcfg.summaries import GOALS, parse_summary
from gitcfg.summaries import Summary as Summary  # re-exported: gitcfg.tracking.Summary
from gitcfg.values import SCALARS as _SCALARS
from gitcfg.values import plain_value as _plain

_current: Run | None = None
_pending_config: Config | None = None

MODES = ("online", "offline", "disabled")  # online and offline both record: the store is local
# Global ranks first: LOCAL_RANK is 0 on every node, so it decides only with NODE_RANK/GROUP_RANK
# (see process_rank).
RANK_VARIABLES = ("RANK", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMI_RANK")
NODE_RANK_VARIABLES = ("NODE_RANK", "GROUP_RANK")


def _short_ints(data: Mapping[str, Any]) -> bool:
    return all(v.bit_length() <= 4000 for v in data.values() if type(v) is int)


# --- the run -----------------------------------------------------------------------------------


class Tags(list):  # type: ignore[type-arg]
    """run.tags: a list (`run.tags.append("x")`) that also adds to a tuple as wandb's tuple does
    (`run.tags = run.tags + ("x",)`) and equals the tuple of the same tags."""

    def __add__(self, other: Any) -> Any:
        if isinstance(other, tuple):
            return tuple(self) + other
        return Tags(list(self) + list(other))

    def __radd__(self, other: Any) -> Any:
        if isinstance(other, tuple):
            return other + tuple(self)
        return Tags(list(other) + list(self))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, tuple):
            return tuple(self) == other
        return list.__eq__(self, other)

    __hash__ = None


# run.yaml fields a script may set on the run at any time (wandb's run.name = ..., run.tags = ...)
LABELS = runfile.LABELS  # name, group, tags, notes, project, entity, job_type


def _label_value(key: str, value: Any) -> Any:
    if key == runfile.TAGS:
        if value is None:
            return Tags()
        if isinstance(value, str):
            return Tags([value])
        return Tags(str(tag) for tag in value)
    return None if value is None else str(value)


def _label(key: str, doc: str) -> property:
    def get(run: Run) -> Any:
        return run._labels[key]

    def set_(run: Run, value: Any) -> None:
        run._set_label(key, value)

    return property(get, set_, doc=doc)


class Run:
    """One recorded run. Create it with `gitcfg.track(config)`."""

    name = _label("name", "The run's name (run.yaml `name`); setting it is recorded.")
    group = _label("group", "The run's group; setting it is recorded.")
    tags = _label("tags", "The run's tags (a list; a tuple or list may be assigned); recorded.")
    notes = _label("notes", "The run's notes; setting them is recorded.")
    project = _label("project", "wandb's project, recorded in run.yaml `project`.")
    entity = _label("entity", "wandb's entity, recorded in run.yaml `entity`.")
    job_type = _label("job_type", "wandb's job_type, recorded in run.yaml `job_type`.")

    def __init__(
        self,
        config: Config,
        *,
        store: Store | None,
        name: str | None = None,
        group: str | None = None,
        tags: Sequence[str] | None = (),
        notes: str | None = None,
        mask: bool | Sequence[str] = True,
        run_id: str | None = None,
        project: str | None = None,
        entity: str | None = None,
        job_type: str | None = None,
        files_dir: str | os.PathLike[str] | None = None,
        mode: str = "online",
        quiet: bool = False,
        init_args: Mapping[str, Any] | None = None,
        resume: Resume | None = None,
    ) -> None:
        self._started = time.time()
        # `_time` and `duration_s` count on the monotonic clock: a wall clock stepped back (or set
        # before 1970) never makes them negative. started_at and ended_at stay wall-clock times.
        self._clock0 = time.monotonic()
        self.start_time = self._started  # wandb's run.start_time (the first start when resumed)
        self.id = run_id or new_run_id(self._started)
        self._meta: dict[str, Any] = {}
        self._labels: dict[str, Any] = {}
        labels = dict(
            name=name,
            group=group,
            tags=tags,
            notes=notes,
            project=project,
            entity=entity,
            job_type=job_type,
        )
        for key in LABELS:
            self._labels[key] = _label_value(key, labels[key])
        if not self._labels[runfile.NAME]:  # an id the user chose names the run itself
            self._labels[runfile.NAME] = run_id or default_run_name(self.id)
        self._resume = resume
        self._given = {key: bool(labels[key]) for key in LABELS}  # passed to track()
        self.starting_step = 0  # the step of the first log() of this process (wandb's name)
        self._mode = mode
        self._quiet = quiet
        self._init_args = dict(init_args or {})
        if files_dir is not None:
            self._files_dir = Path(files_dir).resolve() / "gitcfg" / self.id
        elif store is not None:
            self._files_dir = store.repo.state_dir / "files" / self.id
        else:
            import tempfile

            self._files_dir = Path(tempfile.gettempdir()) / f"gitcfg-{self.id}"
        self.config = config
        self._mask = mask
        self._pid = os.getpid()
        self._warnings = Warnings()
        # The journal, the flusher thread and the commits (recorder.py); it folds the rows into
        # the summary and holds the run's lock.
        self._recorder = Recorder(self.id, store, config, mask, self._warnings)
        self._record_row = self._recorder.add_row  # bound once: log()'s fast path calls it
        self._lock = self._recorder.lock
        self.summary = self._recorder.summary
        self._step = 0
        self._pending_row: dict[str, Any] | None = None
        self._fast = False  # log()'s fast path is open: started, not finished, not forked
        self._finished = False
        self._finishing = False
        self._signal: int | None = None  # SIGTERM/SIGINT received: the run ends `killed`
        self._deferred_signal: int | None = None
        self._forked = False
        # Started by a framework integration (open_run): its name, and whether the script's own
        # track() during it returns it (a Hydra job's run) rather than finishing it.
        self._opened_by: str | None = None
        self._adoptable = False

    # public API

    @property
    def recording(self) -> bool:
        """False for a run that keeps everything in memory (disabled mode, rank != 0, forked child)."""
        return self._recorder.recording

    @property
    def step(self) -> int:
        """The step the next log() call writes to."""
        return self._step

    @property
    def status(self) -> str:
        return str(self._meta.get(runfile.STATUS, runfile.RUNNING))

    @property
    def dir(self) -> str:
        """A directory for the run's files (created on first use): `track(dir=D)` puts it at
        D/gitcfg/<run-id>, else .git/gitcfg/files/<run-id> (a temporary one when not recording)."""
        self._files_dir.mkdir(parents=True, exist_ok=True)
        gitio.share(self._files_dir.parent, self._files_dir)  # core.sharedRepository
        return str(self._files_dir)

    @property
    def resumed(self) -> bool:
        """True when this process continues a run that had ended (track(resume=...))."""
        return self._resume is not None

    @property
    def path(self) -> str:
        """wandb's `entity/project/id`, with the parts that are set (just the id without them);
        `gitcfg.Api().run(path)` resolves it."""
        return "/".join(p for p in (self.entity, self.project, self.id) if p)

    @property
    def url(self) -> None:
        """None: runs live in the repository, not at a URL (`gitcfg show <id>` shows one)."""
        return None

    @property
    def sweep_id(self) -> None:
        """None: there are no hosted sweeps."""
        return None

    @property
    def offline(self) -> bool:
        return self._mode == "offline"

    @property
    def disabled(self) -> bool:
        return self._mode == "disabled"

    @property
    def mode(self) -> str:
        return self._mode

    def project_name(self) -> str:
        return self.project or ""

    def get_url(self) -> None:
        return None

    def get_project_url(self) -> None:
        return None

    def alert(
        self, title: str, text: str, level: object = None, wait_duration: object = None
    ) -> None:
        """wandb's alert: one line on stderr, and recorded in run.yaml `alerts` (no one is sent
        anything)."""
        level_name = str(getattr(level, "value", level) or "INFO").upper()
        print(f"gitcfg: alert [{level_name}] {title}: {text}", file=sys.stderr, flush=True)
        entry = {
            "title": str(title),
            "text": str(text),
            "level": level_name,
            "at": utc_iso(time.time()),
        }
        self._record_meta(runfile.ALERTS, [*self._meta.get(runfile.ALERTS, []), entry])

    def mark_preempting(self) -> None:
        """wandb's preemption mark: recorded in run.yaml (`preempting: true`). A requeued job
        continues the run with `track(id=..., resume="allow")` (docs/lifecycle.md)."""
        self._record_meta(runfile.PREEMPTING, True)

    def log_code(self, *args: Any, **kwargs: Any) -> None:
        """Does nothing: the code is always recorded (the commit, and the diff when dirty)."""

    def _record_meta(self, key: str, value: Any) -> None:
        if self._finished or not self._meta:
            return
        with self._lock:
            self._meta[key] = value
            self._recorder.write_meta(self._meta)

    def _set_label(self, key: str, value: Any) -> None:
        """Set run.name (etc.): journaled now and in the final commit; a no-op once finished."""
        value = _label_value(key, value)
        if key == runfile.NAME and not value:
            value = self._labels[runfile.NAME]
        if self._finished:
            self._warnings.limited("label", f"run {self.id} is finished; run.{key} is not recorded")
            return
        self._labels[key] = value
        if self._meta:  # started: else _start records it
            with self._lock:
                self._meta[key] = list(value) if key == runfile.TAGS else value
                self._recorder.write_meta(self._meta)

    def log(
        self,
        data: Mapping[str, Any] | None = None,
        step: int | None = None,
        commit: bool | None = None,
        sync: bool | None = None,
    ) -> None:
        """Record metrics as wandb.log does: each call is one step (`_step` counts from 0) unless
        `commit=False` keeps the row open for more keys, or an explicit `step` (which must not go
        backwards; the values are dropped with a warning if it does) groups the calls with that step.
        Nested mappings become dotted keys; nan and inf are kept. Values follow the config rules
        (logvalues.py); one that cannot be stored exactly is dropped with a warning. Image and
        Table values are stored as files (runfiles.py). `log()` with no data commits the open row.
        """
        # The fast path: a flat dict of plain scalars at the next step. Journaled here (~1 us);
        # the flusher thread summarises.
        if (
            step is None
            and self._fast
            and commit is not False
            and self._pending_row is None
            and data
        ):
            try:
                types = set(map(type, data.values()))
            except AttributeError:
                types = {object}
            # An int too long to write out (10**5000) goes the slow way: dropped with a warning.
            flat = _SCALARS.issuperset(types) and (int not in types or _short_ints(data))
            if flat:
                self._add_row(dict(data))
                return
        self._log(data, step, commit)

    def _log(self, data: Mapping[str, Any] | None, step: int | None, commit: bool | None) -> None:
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise TypeError(f"run.log() takes a dict of metrics, not {type(data).__name__}")
        if step is not None:
            step = checked_step(step)
        if self._finished:
            self._warnings.limited("finished", f"run {self.id} is finished; log() ignored")
            return
        if self._forked:
            self._warnings.limited(
                "forked",
                f"this process was forked from the one recording run {self.id}; its log() calls "
                "are not recorded (call gitcfg.track() here for a run of its own)",
            )
        if not data and step is None:
            if commit is not False:  # `log()` / `log({})`: commit the open row, if any
                self._commit_row()
            return
        if step is not None:
            if step < self._step:
                self._warnings.limited(
                    "step",
                    f"log() at step {step} is before the current step {self._step}; values "
                    "dropped (steps must not go backwards)",
                )
                return
            if step > self._step:
                self._commit_row()
                self._step = step
            commit = bool(commit)  # with an explicit step, rows are committed when it moves on
        elif commit is None:
            commit = True
        row = self._pending_row if self._pending_row is not None else {}
        media: list[tuple[str, Any]] = []
        dropped: list[tuple[str, str]] = []
        flatten_values(row, data, "", media, dropped)
        for key, why in dropped:
            self._warnings.once(
                f"value:{key}",
                f"log(): dropped {key!r}, {why}: it has no exact stored form "
                "(log a number, str, bool, or a list or dict of them)",
            )
        if media:
            self._log_media(row, media)
        self._pending_row = row
        if commit:
            self._commit_row()
        self._recorder.drain_backlog()

    def _commit_row(self) -> None:
        row = self._pending_row
        if row is None:
            return
        self._pending_row = None
        self._add_row(row)

    def _add_row(self, row: dict[str, Any]) -> None:
        """Write `row` at the current step to the journal (where a SIGKILL cannot take it back),
        queue it for the summary, move the step on."""
        # Under the lock: two threads logging at once must not write into the same place.
        with self._lock:
            row["_step"] = self._step
            row["_time"] = time.monotonic() - self._clock0
            try:
                self._record_row(row, self._finishing)
            except OSError as e:  # the journal cannot grow (disk full): this row is not taken,
                del row["_step"], row["_time"]  # unless finish() commits it right now
                raise JournalFull(self.id, self._step, e) from None
            self._step += 1

    def _log_media(self, row: dict[str, Any], media: list[tuple[str, Any]]) -> None:
        """Store Image/Table values as files and put their references in `row`; skip the rest
        (one warning per key). Never raises: a media value does not fail a run."""
        for key, value in media:
            first = value[0] if isinstance(value, (list, tuple)) else value
            if not first.recorded:
                self._warnings.once(
                    f"media:{key}",
                    f"log(): {key!r} is a {type(first).__name__}, which gitcfg does not record; "
                    "skipped (Image and Table values are recorded)",
                )
                continue
            files = self._recorder.files
            if files is None:
                continue  # a run that records nothing
            try:
                ref = files.add_media(key, value, self._step)
            except Exception as e:  # never fail the script over a media value
                self._warnings.once(
                    f"media:{key}", f"log(): could not record {key!r} ({e}); skipped"
                )
                continue
            if ref is not None:
                row[key] = ref

    def save(
        self,
        glob_str: str | os.PathLike[str] | None = None,
        base_path: str | os.PathLike[str] | None = None,
        policy: str = "live",
        glob: bool = True,
    ) -> list[str]:
        """Record the files matching `glob_str` under `files/` in the run's directory, named
        relative to `base_path` (see runfiles.py); return their names. `policy="now"` commits
        them at once, `"live"` and `"end"` in the final commit."""
        if glob_str is None:
            return []
        glob_str = os.fspath(glob_str)
        base = None if base_path is None else os.fspath(base_path)
        files = self._recorder.files
        if files is None or self._finished:
            from gitcfg.runfiles import POLICIES, match_save

            if policy not in POLICIES:
                raise ValueError(f"save(policy={policy!r}): choose one of {', '.join(POLICIES)}")
            match_save(str(glob_str), base, Path.cwd())
            return []
        names, now = files.save(str(glob_str), base, policy, glob)
        if now:
            self._recorder.commit_saved(now, self._meta)
        return names

    def watch(
        self,
        models: Any = None,
        criterion: Any = None,
        log: str | None = "gradients",
        log_freq: int = 1000,
        idx: int | None = None,
        log_graph: bool = False,
    ) -> None:
        """Record each model's class and parameter count in run.yaml (`watch`); gradients and
        parameters are not collected."""
        from gitcfg.logvalues import watched_models

        self._warnings.once(
            "watch",
            "watch(): gradients and parameters are not collected; run.yaml records each model's "
            "class and parameter count",
        )
        found = watched_models(models)
        if not found or self._finished:
            return
        with self._lock:
            self._meta.setdefault(runfile.WATCH, []).extend(found)
            self._recorder.write_meta(self._meta)

    def unwatch(self, models: Any = None) -> None:
        """Accepted for wandb compatibility: nothing is collected, so nothing stops."""

    def define_metric(
        self,
        name: str,
        step_metric: str | None = None,
        step_sync: bool | None = None,
        hidden: bool | None = None,
        summary: str | None = None,
        goal: str | None = None,
        overwrite: bool | None = None,
    ) -> None:
        """Define metric `name` (a glob such as `val/*` works too) as wandb does; run.yaml records
        it under `metric_definitions`. `summary` chooses what summary.yaml holds: `last` (default:
        the value), or `min`, `max`, `mean`, `best`, `first`, `none`, or a comma list of them
        (a mapping by kind: `loss: {min: 0.1}`); counts values logged from now on. `goal`
        (`minimize`/`maximize`) says which is best. `step_metric` is the x axis `gitcfg plot`
        draws the metric over.
        """
        kinds = None if summary is None else parse_summary(summary)
        if goal is not None and goal not in GOALS:
            raise ValueError(f"define_metric({name!r}, goal={goal!r}): choose minimize or maximize")
        if kinds is not None and "best" in kinds.split(",") and goal is None:
            raise ValueError(
                f"define_metric({name!r}, summary={summary!r}): `best` needs goal='minimize' or "
                "goal='maximize'"
            )
        fields = {
            "step_metric": step_metric,
            "step_sync": step_sync,
            "hidden": hidden,
            "summary": kinds,
            "goal": goal,
        }
        definition = {k: v for k, v in fields.items() if v is not None}
        recorder = self._recorder
        with self._lock:
            recorder.drain()
            if kinds is not None or goal is not None:
                self.summary._define(name, kinds or _current_kinds(self.summary, name), goal)
            if kinds is not None:
                self._meta.setdefault(runfile.METRIC_SUMMARY, {})[name] = kinds
            definitions = self._meta.setdefault(runfile.METRIC_DEFINITIONS, {})
            definitions[name] = {**(definitions.get(name) or {}), **definition}
            recorder.summary_dirty = True
            if not self._finished:
                recorder.write_meta(self._meta)
        if not self._finished:
            # Journaled now, not by the flusher: a crash recovery folds the later rows by this rule.
            recorder.flush()

    def finish(
        self,
        exit_code: int | None = None,
        quiet: bool | None = None,
        *,
        status: str | None = None,
        exception: BaseException | None = None,
    ) -> None:
        """End the run and commit its final state; later calls do nothing. `quiet=True` leaves
        out the line on stderr (wandb's finish(exit_code, quiet)). `exception=e` ends it as that
        exception reaching the top would (`failed` with its type, message and last frames;
        `killed` for KeyboardInterrupt): for a framework that catches the script's exception
        (gitcfg.integrations)."""
        if self._finished:
            return
        if quiet:
            self._quiet = True
        if exception is not None:
            self._finish_from_exception(type(exception), exception, exception.__traceback__)
            return
        exit_code = exit_code or 0
        self._finish(status or ("finished" if exit_code == 0 else "failed"), exit_code)

    def _adopt(
        self, config: object, allow_val_change: bool | None, labels: Mapping[str, Any]
    ) -> Run:
        """The script's track() inside a run an integration opened: merge its config (a changed
        value raises as config.update does) and the labels it gave; return this run."""
        if config is not None:
            self.config.update(config, allow_val_change=allow_val_change)
        for key, value in labels.items():
            if value:
                setattr(self, key, value)
        return self

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            self.finish()
        else:
            self._finish_from_exception(kind, exc, tb)

    def __repr__(self) -> str:
        return f"<gitcfg.Run {self.id} {self.name!r} {self.status}>"

    # lifecycle

    def _start(self, argv: Sequence[str], script: Path | None, status: bytes | None = None) -> None:
        recorder = self._recorder
        store = recorder.store
        # `--hf_token X` must not reach run.yaml when config.yaml masks hf_token.
        argv_recorded, masked_args = mask_command_line(argv[1:], self._mask)
        code: runfile.Code = {"commit": None, "branch": None, "dirty": False}
        patch = b""
        if store is not None:
            captured = capture_code(store, status)
            code, patch = captured.code, captured.patch
            for warning in captured.warnings:
                _warn(warning)
        process = {
            runfile.HOST: hostname(),
            runfile.USER: _user(),
            runfile.PID: self._pid,
            runfile.PYTHON: "{}.{}.{}".format(*sys.version_info[:3]),
            runfile.PLATFORM: _platform(),
            runfile.ARGV: [*argv[:1], *argv_recorded],
            runfile.SCRIPT: str(script) if script else _session_kind(),
            runfile.CWD: os.getcwd(),
            runfile.GITCFG_VERSION: __version__,
        }
        self._meta = runfile.start_record(
            self.id,
            self._labels,
            utc_iso(self._started),
            process,
            code,
            self.config._sources,
            FORMAT_VERSION,
        )
        module = getattr(getattr(sys.modules.get("__main__"), "__spec__", None), "name", None)
        if script and module:  # `python -m pkg.train`: re-run the same way (relative imports)
            self._meta[runfile.MODULE] = module
        # Taken, not read: the script's later runs and child processes are not the rerun.
        rerun_of = os.environ.pop(RERUN_OF_VARIABLE, "").strip()
        if rerun_of:  # started by `gitcfg rerun`
            self._meta[runfile.RERUN_OF] = rerun_of
        if self._init_args:
            self._meta[runfile.INIT_ARGS] = dict(self._init_args)
        resume = self._resume
        if resume is not None:
            self._resumed_meta(resume)
        overrides = hydra_overrides()
        if overrides is not None:  # running under Hydra: its command-line overrides
            overrides, masked_overrides = mask_command_line(overrides, self._mask)
            self._meta[runfile.HYDRA_OVERRIDES] = overrides
            masked_args += [n for n in masked_overrides if n not in masked_args]
        if store is not None:
            config_dict = recorder.recorded_config()
            if masked_args:
                _warn(
                    "masked the values of secret-looking options in the recorded command line: "
                    + ", ".join(masked_args)
                )
            # The journal exists before the start commit: a crash right after it is recoverable.
            files = recorder.open(
                self._meta, config_dict, patch, None if resume is None else resume.has_patch
            )
            if resume is not None:
                self._continue_rows(resume)
            recorder.commit_start(files, "resumed" if resume is not None else "started", self._meta)
        self._fast = True
        recorder.start_flusher()

    def _resumed_meta(self, resume: Resume) -> None:
        """run.yaml of a resumed run: this process's fields, the run's first start, its metric
        rules, and when it was resumed; labels not given to track() stay as they were."""
        old = resume.record.meta
        runfile.resumed(self._meta, old, utc_iso(self._started))
        for key in LABELS:
            if key in old and not self._given.get(key):
                value = old[key]
                self._labels[key] = _label_value(key, value)
                self._meta[key] = list(self._labels[key]) if key == runfile.TAGS else value
        started_at = self._meta[runfile.STARTED_AT]
        first = parse_iso(str(started_at))
        if first is not None:
            self.start_time = first.timestamp()

    def _continue_rows(self, resume: Resume) -> None:
        """Copy the run's logged rows into the journal and go on from its step and summary, so
        the final commit (or a crash recovery) writes every row, old and new."""
        rows = resume.rows
        summary = Summary._rebuilt(
            self._meta.get(runfile.METRIC_SUMMARY) or {},
            rows,
            resume.record.summary,
            _metric_goals(self._meta),
        )
        self._recorder.continue_rows(rows, summary)
        self._step = self.starting_step = next_step(rows)
        # _time goes on from the run's runtime so far: the journal's rows keep their order in time.
        so_far = runtime_s(resume.record, rows)
        self._started, self._clock0 = time.time() - so_far, time.monotonic() - so_far
        self._recorder.flush()

    def _on_config_change(self, persist: bool = False) -> None:
        """Journal the recorded (masked) config, and run.yaml when its config fields changed, now,
        before the change returns to the script; on config.persist() also commit both to the runs
        branch.

        Synchronous, unlike metrics: config changes are rare, a process killed right after
        `config.x = v` or `config.persist()` then keeps the value, and it costs one or two atomic
        file replacements, 0.3-2 ms depending on the disk (tests/bench/bench_config_change.py).
        What the journal holds already is not written again.
        """
        recorder = self._recorder
        if not recorder.recording or self._finished:
            return
        config_yaml = recorder.config_yaml()
        if config_yaml is None:
            return
        with self._lock:
            fields = {
                runfile.CONFIG_CHANGED: list(self.config._changed_after_start),
                runfile.CONFIG_SOURCES: dict(self.config._sources),
            }
            meta_changed = any(self._meta.get(k) != v for k, v in fields.items())
            self._meta.update(fields)
            recorder.journal_config(config_yaml, self._meta if meta_changed else None)
            meta = dict(self._meta, tags=list(self._labels[runfile.TAGS]))
        if persist:
            recorder.commit_persisted(meta, config_yaml)

    def _journal_signal(self, signum: int) -> None:
        """Note the signal in the journal before the script's own handler runs: should that
        handler end the process (os._exit), the next gitcfg command records the run `killed` with
        every row so far; should it return, the run goes on and ends `killed` at exit."""
        with self._lock:
            self._meta[runfile.SIGNAL] = signal.Signals(signum).name
        self._recorder.write_meta_now(self._meta)

    def _finish(
        self, status: str, exit_code: int | None, error: Mapping[str, Any] | None = None
    ) -> None:
        global _current
        if self._finished:
            return
        self._finished, self._finishing, self._fast = True, True, False
        try:
            self._commit_row()
            if _current is self:
                _current = None
            self._recorder.stop_flushing()
            if self._signal is not None and status in ("finished", "failed"):
                status = "killed"  # a signal ended it, even when the script's handler exited
            ended = time.time()
            runfile.finish(
                self._meta,
                status,
                exit_code,
                utc_iso(ended),
                round(time.monotonic() - self._clock0, 3),
                config_changed=list(self.config._changed_after_start),
                config_sources=dict(self.config._sources),
                tags=list(self._labels[runfile.TAGS]),  # run.tags.append() is no assignment
            )
            if self._signal is not None:
                self._meta[runfile.SIGNAL] = signal.Signals(self._signal).name
            if error:
                self._meta[runfile.ERROR] = dict(error)
            if not self._recorder.recording:
                self._recorder.drain()
                return
            if self._recorder.commit_final(self._meta, _run_directory(self)):
                self._say_end()
        finally:
            self._finishing = False
            deferred, self._deferred_signal = self._deferred_signal, None
            if deferred is not None:
                _die_of(deferred)

    def _say_end(self) -> None:
        """The line at the end (`gitcfg: run 06ged… "name" finished in 1m03s · gitcfg show ...`)."""
        if not self._quiet and os.environ.get("GITCFG_SILENT", "").strip() in ("", "0"):
            try:
                print(f"gitcfg: {end_line(self.id, self.name, self._meta)}", file=sys.stderr)
                sys.stderr.flush()
            except (
                OSError,
                ValueError,
                AttributeError,
            ):  # stderr closed or None: the run is recorded
                pass

    def _finish_from_exception(
        self, kind: type[BaseException] | None, exc: BaseException, tb: TracebackType | None
    ) -> None:
        if isinstance(exc, SystemExit):
            code = _exit_code(exc.code)
            error = None
            if isinstance(exc.code, str):
                error = {"type": "SystemExit", "message": exc.code}
            self._finish("finished" if code == 0 else "failed", code, error)
            return
        if isinstance(exc, KeyboardInterrupt):
            self._signal = self._signal or signal.SIGINT
            self._finish(
                "killed",
                128 + signal.SIGINT,
                {"type": "KeyboardInterrupt", "message": "interrupted"},
            )
            return
        import traceback

        frames = traceback.format_exception(kind, exc, tb)
        secrets = self._secret_values()
        error = {
            "type": type(exc).__qualname__,
            "message": mask_text(str(exc), secrets),
            "traceback": mask_text("".join(frames[-8:]), secrets),
        }
        self._finish("failed", 1, error)

    def _secret_values(self) -> list[str]:
        """The values masked in the record (config keys, command-line options), as text."""
        values = [str(v) for v in secret_values(self.config, self._mask) if v not in (None, "")]
        recorded = self._meta.get(runfile.ARGV) or []
        for raw, shown in zip(sys.argv, recorded, strict=False):
            if raw != shown:  # `--token=X` recorded as `--token=***`, or X as ***
                values.append(raw.split("=", 1)[1] if shown.endswith("=" + MASKED) else raw)
        return values

    def _detach_after_fork(self) -> None:
        """In a forked child: the parent records this run; the child's copy writes nothing."""
        self._forked = True
        self._fast = False
        self._recorder.detach()
        self._lock = self._recorder.lock


def end_line(run_id: str, name: str | None, run_meta: Mapping[str, Any]) -> str:
    """`run 06ged… "misty-canyon" finished in 1m03s · gitcfg show 06ged4aa`: printed at the end."""
    short = run_id[:5] + "…" if len(run_id) > 8 else run_id
    named = f' "{name}"' if name else ""
    duration = run_meta.get(runfile.DURATION_S)
    took = f" in {format_duration(duration)}" if isinstance(duration, (int, float)) else ""
    show = run_id[:8] if len(run_id) == ID_CHARS else run_id
    return f"run {short}{named} {run_meta.get(runfile.STATUS)}{took} · gitcfg show {show}"


def format_duration(seconds: float) -> str:
    """`0.4s`, `12s`, `1m03s`, `2h05m`."""
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def _metric_goals(meta: Mapping[str, Any]) -> dict[str, str]:
    """Each defined metric's goal (run.yaml metric_definitions)."""
    definitions = meta.get(runfile.METRIC_DEFINITIONS)
    if not isinstance(definitions, Mapping):
        return {}
    return {
        str(name): str(d["goal"])
        for name, d in definitions.items()
        if isinstance(d, Mapping) and d.get("goal") in GOALS
    }


def _current_kinds(summary: Summary, name: str) -> str:
    return summary._rules.get(name) or "last"


def _run_directory(run: Run) -> str | None:
    """`run.dir` when the script made it (it is created on first use): its files are saved."""
    directory = getattr(run, "_files_dir", None)
    if isinstance(directory, (str, os.PathLike)) and os.path.isdir(directory):
        return os.fspath(directory)
    return None


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    return 1


def _user() -> str | None:
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):  # getpass.getuser's order
        if os.environ.get(name):
            return os.environ[name]
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError, OSError):
        return None


def _platform() -> str:
    """`Linux-6.1.0-x86_64` (platform.platform() imports more and may spawn processes)."""
    try:
        uname = os.uname()
    except AttributeError:  # Windows
        return sys.platform
    return f"{uname.sysname}-{uname.release}-{uname.machine}"


def _session_kind() -> str:
    """What ran the code when `__main__` has no file: `<jupyter>`, `<ipython>`, `<repl>`,
    `<command>` (python -c) or `<stdin>`; recorded as run.yaml `script`."""
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    shell = get_ipython() if callable(get_ipython) else None
    if shell is not None:
        return "<jupyter>" if "ipykernel" in sys.modules else "<ipython>"
    if hasattr(sys, "ps1") or sys.flags.interactive:
        return "<repl>"
    if sys.argv and sys.argv[0] == "-c":
        return "<command>"
    return "<stdin>"


def process_rank(environ: Mapping[str, str] | None = None) -> int:
    """This process's rank in a distributed job (0 when none is set).

    The first global rank of RANK_VARIABLES decides. Without one, a per-node launcher (Lightning's,
    torchrun's with only LOCAL_RANK exported) sets LOCAL_RANK and NODE_RANK or GROUP_RANK: the rank
    is then NODE_RANK * LOCAL_WORLD_SIZE + LOCAL_RANK, so only local rank 0 of node 0 records.
    """
    environ = os.environ if environ is None else environ
    for name in RANK_VARIABLES:
        value = _rank_value(environ, name)
        if value is not None:
            return value
    local = _rank_value(environ, "LOCAL_RANK") or 0
    node = next((v for n in NODE_RANK_VARIABLES if (v := _rank_value(environ, n)) is not None), 0)
    if node == 0:
        return local
    per_node = _rank_value(environ, "LOCAL_WORLD_SIZE") or 1
    return node * max(per_node, local + 1) + local


def _rank_value(environ: Mapping[str, str], name: str) -> int | None:
    value = environ.get(name, "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        _warn(f"ignoring {name}={value!r}: not an integer rank")
        return None


# --- exit hooks and signals --------------------------------------------------------------------

_hooks_installed = False
_previous_handlers: dict[int, Any] = {}
_TERMINATING = ("SIGTERM", "SIGINT")


def _install_exit_hooks() -> None:
    """Finish the current run on interpreter exit, as failed on an uncaught exception."""
    global _hooks_installed
    _install_signal_handlers()
    exitstatus.install()  # done by `import gitcfg`; again for `from sys import exit` since then
    if _hooks_installed:
        return
    _hooks_installed = True
    previous_hook = sys.excepthook

    def excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        run = _current
        # At the prompt of `python -i` (sys.ps1 is set), an exception ends the statement, not the
        # session: the run goes on, as in IPython and Jupyter.
        at_prompt = hasattr(sys, "ps1")
        if run is not None and not run._finished and run._pid == os.getpid() and not at_prompt:
            run._finish_from_exception(kind, exc, tb)
        if isinstance(exc, JournalFull) or (isinstance(exc, GitcfgError) and _raised_in_track(tb)):
            # Setup errors (not a repo, a bad config file) are one line: the script's code is not
            # at fault. A later config write the script makes keeps its traceback, to find the line.
            from gitcfg.rows import inert

            print(f"gitcfg: error: {inert(str(exc))}", file=sys.stderr)
            return
        previous_hook(kind, exc, tb)

    sys.excepthook = excepthook
    atexit.register(_finish_at_exit)


def _raised_in_track(tb: TracebackType | None) -> bool:
    """Whether the traceback passes through track() (the error is track()'s, not the script's)."""
    while tb is not None:
        if tb.tb_frame.f_code is track.__code__:
            return True
        tb = tb.tb_next
    return False


def _install_signal_handlers() -> None:
    """Commit the run as `killed` on SIGTERM (and SIGINT when it would kill the process outright).

    A handler the script installed runs after ours, unchanged. Where the signal's action is the
    default one, we commit and then die of the same signal, so the exit status is preserved.
    Python's own SIGINT handler (KeyboardInterrupt) is left alone: the exit hooks see the exception.

    A handler the script installs later (`signal.signal(SIGTERM, h)` after track()) takes the
    place of the one ours hands on to, and `signal.getsignal` returns it: ours stays first, so a
    handler ending the process with os._exit() still leaves the run `killed` (see _on_signal).
    """
    if threading.current_thread() is not threading.main_thread():
        return  # signal.signal only works in the main thread
    for name in _TERMINATING:
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        previous = signal.getsignal(signum)
        if previous in (None, signal.SIG_IGN, _on_signal, signal.default_int_handler):
            continue  # installed outside Python, ignored on purpose, ours, or KeyboardInterrupt
        _previous_handlers[signum] = previous
        _real_signal(signum, _on_signal)
    if _previous_handlers and signal.signal is _real_signal:
        signal.signal, signal.getsignal = _chained_signal, _chained_getsignal


_real_signal, _real_getsignal = signal.signal, signal.getsignal


def _chained_signal(signalnum: int, handler: Any) -> Any:
    """signal.signal once ours is installed: the script's handler for SIGTERM/SIGINT is chained
    after ours; the handler it replaces is returned, as signal.signal does."""
    if (
        signalnum in _previous_handlers
        and handler is not _on_signal
        and _real_getsignal(signalnum) is _on_signal
        and threading.current_thread() is threading.main_thread()
    ):
        old = _previous_handlers[signalnum]
        _previous_handlers[signalnum] = handler
        return old
    return _real_signal(signalnum, handler)


def _chained_getsignal(signalnum: int) -> Any:
    current = _real_getsignal(signalnum)
    if current is _on_signal and signalnum in _previous_handlers:
        return _previous_handlers[signalnum]
    return current


def _on_signal(signum: int, frame: FrameType | None) -> None:
    run = _current
    previous = _previous_handlers.get(signum, signal.SIG_DFL)
    if previous is signal.SIG_IGN:  # the script ignores it (set after track())
        return
    if run is not None and run._pid == os.getpid():
        if run._finishing:  # committing right now: let it end, then act on the signal
            run._deferred_signal = signum
            return
        if not run._finished:
            run._signal = signum
            if not callable(previous):
                run._finish("killed", 128 + signum)
            else:
                run._journal_signal(signum)
    if callable(previous):
        previous(signum, frame)
        return
    _die_of(signum)


def _die_of(signum: int) -> None:
    """Act on `signum` as if no handler were installed (SIG_DFL terminates: exit status kept)."""
    sys.stderr.flush()
    _real_signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _finish_at_exit() -> None:
    run = _current
    if run is not None and not run._finished and run._pid == os.getpid():
        # atexit is not told the exit status; exitstatus saw the SystemExit the interpreter
        # exits with, if any (see there for the few it cannot see).
        run._finish_from_exception(SystemExit, exitstatus.exiting_with() or SystemExit(0), None)


def _after_fork_in_child() -> None:
    run = _current
    if run is not None:
        run._detach_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


# --- module-level API --------------------------------------------------------------------------


# wandb.init keywords accepted with no effect here: each says so once per process (recorded in
# run.yaml `init_args`). A value of None or False asks for nothing and says nothing.
INEFFECTIVE = {
    "anonymous": "there is no login",
    "magic": "nothing is hooked into other libraries",
    "sync_tensorboard": "TensorBoard logs are not read",
    "tensorboard": "TensorBoard logs are not read",
    "monitor_gym": "gym videos are not recorded",
    "force": "there is no login",
    "fork_from": "runs are not forked on a server",
    "resume_from": "runs are not rewound on a server",
    "settings": "settings are wandb's",
}
REINIT = (None, True, False, "default", "return_previous", "finish_previous", "create_new")
_MODE_ALIASES = {"shared": "online"}  # wandb's mode for several writers: recorded as online
_said_no_effect: set[str] = set()


def track(
    config: object = None,
    *,
    name: str | None = None,
    group: str | None = None,
    tags: Sequence[str] | None = (),
    notes: str | None = None,
    path: str | os.PathLike[str] | None = None,
    config_include_keys: Sequence[str] | None = None,
    config_exclude_keys: Sequence[str] | None = None,
    mask: bool | Sequence[str] = True,
    mode: str | None = None,
    rank: int | None = None,
    quiet: bool = False,
    # wandb.init's other keywords (wandb 0.30, and `magic` of earlier versions)
    project: str | None = None,
    entity: str | None = None,
    job_type: str | None = None,
    id: str | None = None,  # noqa: A002 (wandb's name)
    resume: bool | str | None = None,
    reinit: bool | str | None = None,
    dir: str | os.PathLike[str] | None = None,  # noqa: A002 (wandb's name)
    allow_val_change: bool | None = None,
    save_code: bool | None = None,
    settings: object = None,
    anonymous: object = None,
    magic: object = None,
    sync_tensorboard: bool | None = None,
    tensorboard: bool | None = None,
    monitor_gym: bool | None = None,
    force: bool | None = None,
    fork_from: str | None = None,
    resume_from: str | None = None,
) -> Run:
    """Start recording a run of this script; return the Run (also usable as a context manager).

    Takes every keyword of `wandb.init` (docs/wandb.md); any other is a TypeError.
    Fails fast (GitcfgError, one line) outside a git repository, on a bad config, a bad `id` or a
    `resume` that cannot be honoured, before anything is written. `mode="disabled"` (or
    GITCFG_MODE=disabled) records nothing, and neither does a process whose rank (`rank`, else
    RANK, SLURM_PROCID, OMPI_COMM_WORLD_RANK, PMI_RANK, LOCAL_RANK) is not 0: their runs work in
    memory. A run still active in this process is finished first (`reinit=False` or
    "return_previous" returns it instead; so does a run that an integration opened for the script,
    a Hydra job's, merging this call's config and labels into it). Journals of runs whose process died on this machine are
    committed as `crashed`. `quiet=True` (or GITCFG_SILENT=1) leaves out the line at the end.
    """
    global _current, _pending_config
    _install_exit_hooks()  # first: a bad argument below is one line, not a traceback
    mode = (mode or os.environ.get("GITCFG_MODE") or "online").strip().lower()
    mode = _MODE_ALIASES.get(mode, mode)
    if mode not in MODES:
        raise GitcfgError(
            f"unknown mode {mode!r} (GITCFG_MODE or track(mode=)); use one of "
            f"{', '.join((*MODES, *_MODE_ALIASES))}"
        )
    if reinit not in REINIT:
        raise GitcfgError(f"track(reinit={reinit!r}): use one of {', '.join(map(repr, REINIT))}")
    run_id = id if id is not None else os.environ.get("GITCFG_RUN_ID") or None
    if run_id is not None:
        run_id = check_run_id(run_id)
    resume_as = resume_mode(resume if resume is not None else os.environ.get("GITCFG_RESUME"))
    if _current is not None and not _current._finished and not _current._forked:
        if reinit in (False, "return_previous"):
            return _current
        if _current._adoptable and reinit in (None, "default") and id is None and resume is None:
            labels = dict(name=name, group=group, tags=tags, notes=notes, project=project)
            labels.update(entity=entity, job_type=job_type)
            return _current._adopt(config, allow_val_change, labels)
        if reinit in (None, "default", "create_new"):  # create_new: one run at a time here
            _warn(f"track() called while run {_current.id} is active; finishing it first")
        _current.finish()
    rank_now = process_rank() if rank is None else int(rank)
    script = _script_path()
    cwd = Path(path) if path is not None else Path.cwd()
    resolved = build_config(
        config,
        pending=_pending_config,
        script_path=script,
        cwd=Path.cwd(),
        argv=sys.argv,
        include=config_include_keys,
        exclude=config_exclude_keys,
        interactive=True if allow_val_change else None,
    )
    recording = mode != "disabled" and rank_now == 0
    store, status, resuming = None, None, None
    if recording:
        found = _probe_recording_repo(script, cwd, explicit=path is not None)
        store, status = Store(found.repo, found.config), found.status
        if store.adopt_remote_branch():  # a clone's runs: record on top of them, not beside
            _warn(
                f"created branch {store.runs_branch} from {store.adopted} (the runs your clone fetched)"
            )
        store.check_writable()  # before anything is written: a code branch is never the runs one
        _recover_crashed(store)  # first: a dead process's run becomes resumable
        if run_id is not None or resume_as is not None:
            script_recorded = str(script) if script else _session_kind()
            record = run_to_resume(store, run_id, resume_as, script_recorded)
            if record is not None:
                resuming = load_resume(store, record)
                run_id = record.run_id
                _merge_stored_config(resolved, record.config)
    init_args = _ineffective_args(
        dict(
            save_code=save_code,
            settings=settings,
            anonymous=anonymous,
            magic=magic,
            sync_tensorboard=sync_tensorboard,
            tensorboard=tensorboard,
            monitor_gym=monitor_gym,
            force=force,
            fork_from=fork_from,
            resume_from=resume_from,
        ),
        say=rank_now == 0,
    )
    run = Run(
        resolved,
        store=store,
        name=name,
        group=group,
        tags=tags,
        notes=notes,
        mask=mask,
        run_id=run_id,
        project=project or os.environ.get("GITCFG_PROJECT"),
        entity=entity or os.environ.get("GITCFG_ENTITY"),
        job_type=job_type or os.environ.get("GITCFG_JOB_TYPE"),
        files_dir=dir,
        mode=mode,
        quiet=quiet,
        init_args=init_args,
        resume=resuming,
    )
    run._start(sys.argv, script, status)
    resolved._mark_started()
    resolved._set_recorder(run._on_config_change)
    _pending_config = None
    _current = run
    return run


def open_run(opened_by: str, *, adoptable: bool, **track_args: Any) -> Run:
    """Start a run for a framework integration (gitcfg.integrations) with track()'s keywords;
    a run still active in this process is finished first, silently.

    `adoptable=True` (a Hydra job's, an Optuna trial's run): the script's own track() during it
    returns this run, merging its config and labels, instead of finishing it (docs/integrations.md).
    """
    run = track(reinit="finish_previous", **track_args)
    run._opened_by, run._adoptable = opened_by, adoptable
    return run


def opened_by(run: Run) -> str | None:
    """The integration that started `run` (open_run), None when the script's track() did."""
    return run._opened_by


def _ineffective_args(given: Mapping[str, Any], say: bool) -> dict[str, Any]:
    """The wandb.init keywords given that do nothing here, as run.yaml `init_args` records them;
    says so on stderr once per process for each one that asked for something."""
    recorded: dict[str, Any] = {}
    for key, value in given.items():
        if value is None:
            continue
        recorded[key] = _plain_arg(value)
        if key == "save_code":
            reason = "the code is always recorded (commit and diff)" if value is False else None
        else:
            reason = INEFFECTIVE[key] if value is not False else None
        if reason and say and key not in _said_no_effect:
            _said_no_effect.add(key)
            _warn(f"track({key}=...) has no effect here ({reason}); recorded in run.yaml init_args")
    return recorded


def _plain_arg(value: Any) -> Any:
    """A keyword's value as YAML can hold it: as a metric value is (plain_value), and a
    gitcfg.Settings as the mapping of its keywords."""
    fields = getattr(value, "_gitcfg_settings", None)
    return _plain(fields if isinstance(fields, Mapping) else value)


def _merge_stored_config(resolved: Config, stored: Mapping[str, Any]) -> None:
    """A resumed run starts from its stored config; what this process passes wins."""
    if stored:
        resolved.setdefaults(dict(stored))


def _recover_crashed(store: Store) -> None:
    """Commit the journals of dead runs on this machine; never fail track() over them."""
    for line in recover_quietly(store):
        print(f"gitcfg: {line}", file=sys.stderr, flush=True)


def _probe_recording_repo(script: Path | None, cwd: Path, explicit: bool) -> gitio.Probe:
    """The repository a run is recorded into: `track(path=)`'s when given, else the one holding
    the script file (its code is what ran), else the current directory's.

    `cd repoB && python ../repoA/train.py` records into repo A, with A's HEAD, and says so on
    stderr. A script outside any worktree (an installed entry point) records into the cwd's repo.
    """
    if explicit or script is None or not _has_git_above(script.parent):
        return gitio.probe(cwd)
    found = gitio.probe(script.parent)
    worktree = found.repo.worktree
    if worktree is not None and not _is_within(cwd.resolve(), worktree.resolve()):
        try:
            other = gitio.discover(cwd).worktree
        except GitcfgError:
            other = None
        if other is not None and other.resolve() != worktree.resolve():
            _warn(
                f"recording into {worktree} (the repository of {script.name}), "
                f"not {other} (the current directory's); pass track(path=...) to choose"
            )
    return found


def _has_git_above(directory: Path) -> bool:
    """Whether `directory` or a parent holds a `.git` entry (a few stat calls, no git process)."""
    for candidate in (directory, *directory.parents):
        if os.path.lexists(candidate / ".git"):
            return True
    return False


def _is_within(path: Path, top: Path) -> bool:
    return path == top or top in path.parents


def _script_path() -> Path | None:
    main = sys.modules.get("__main__")
    file = getattr(main, "__file__", None)
    if not file or (file.startswith("<") and file.endswith(">")):  # `python -` sets "<stdin>"
        return None
    return Path(file).resolve()


def current_run() -> Run | None:
    return _current


def current_config() -> Config:
    """The current run's config, or the pending config that the next track() merges in."""
    global _pending_config
    if _current is not None:
        return _current.config
    if _pending_config is None:
        _pending_config = Config()
    return _pending_config


def current_summary() -> Summary:
    if _current is None:
        raise NoActiveRun("gitcfg.summary")
    return _current.summary


def log(
    data: Mapping[str, Any] | None = None,
    step: int | None = None,
    commit: bool | None = None,
    sync: bool | None = None,
) -> None:
    """Log metrics to the current run (see Run.log)."""
    if _current is None:
        raise GitcfgError("no active run; call gitcfg.track(config) before gitcfg.log()")
    _current.log(data, step=step, commit=commit)


def define_metric(name: str, *args: Any, **kwargs: Any) -> None:
    """Define a metric of the current run (see Run.define_metric)."""
    if _current is None:
        raise GitcfgError("no active run; call gitcfg.track(config) before gitcfg.define_metric()")
    _current.define_metric(name, *args, **kwargs)


def save(*args: Any, **kwargs: Any) -> list[str]:
    """Save files with the current run (see Run.save)."""
    if _current is None:
        raise GitcfgError("no active run; call gitcfg.track(config) before gitcfg.save()")
    return _current.save(*args, **kwargs)


def watch(*args: Any, **kwargs: Any) -> None:
    """Record a model's class and parameter count in the current run (see Run.watch)."""
    if _current is None:
        raise GitcfgError("no active run; call gitcfg.track(config) before gitcfg.watch()")
    _current.watch(*args, **kwargs)


def unwatch(*args: Any, **kwargs: Any) -> None:
    """Accepted for wandb compatibility (see Run.unwatch)."""
    if _current is not None:
        _current.unwatch(*args, **kwargs)


def finish(exit_code: int | None = None, quiet: bool | None = None) -> None:
    """Finish the current run, if any."""
    if _current is not None:
        _current.finish(exit_code, quiet)
