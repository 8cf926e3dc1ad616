"""Run: a training script's record. `track()` starts one; its lifecycle ends in exactly one final commit.

A run is committed twice: when it starts (status `running`, config.yaml and run.yaml) and when it ends
(final status, config, summary, metrics). Recording failures after the start are warnings: they never
kill a training script.
"""

from __future__ import annotations

import atexit
import json
import math
import os
import sys
import time
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from gitcfg import gitio
from gitcfg._version import __version__
from gitcfg.configuration import Config, build_config, recorded_config
from gitcfg.errors import GitcfgError
from gitcfg.store import (
    FORMAT_VERSION,
    Store,
    commit_message,
    default_run_name,
    hostname,
    new_run_id,
    run_files,
    utc_iso,
)

_current: Run | None = None
_pending_config: Config | None = None


class GitcfgWarning(UserWarning):
    """A recording problem that does not stop the training script."""


def _warn(message: str) -> None:
    print(f"gitcfg: warning: {message}", file=sys.stderr, flush=True)


# --- summary -----------------------------------------------------------------------------------


class Summary(MutableMapping[str, Any]):
    """Last logged value of each metric; values assigned explicitly win over logged ones."""

    def __init__(self) -> None:
        self._last: dict[str, Any] = {}
        self._explicit: dict[str, Any] = {}
        self._deleted: set[str] = set()

    def _observe(self, row: Mapping[str, Any]) -> None:
        # `_step`/`_time` are bookkeeping of the row, not metrics.
        self._last.update((k, v) for k, v in row.items() if not k.startswith("_"))

    def __getitem__(self, key: str) -> Any:
        if key in self._explicit:
            return self._explicit[key]
        if key in self._last and key not in self._deleted:
            return self._last[key]
        raise KeyError(key)

    def __setitem__(self, key: str, value: Any) -> None:
        self._explicit[key] = value
        self._deleted.discard(key)

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self._explicit.pop(key, None)
        self._deleted.add(key)

    def __iter__(self) -> Iterator[str]:
        seen = dict.fromkeys(k for k in self._last if k not in self._deleted)
        seen.update(dict.fromkeys(self._explicit))
        return iter(seen)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"Summary({dict(self)!r})"

    def as_dict(self) -> dict[str, Any]:
        return {k: _plain(self[k]) for k in self}


def _plain(value: Any) -> Any:
    """Metric values as plain JSON/YAML types (numpy/torch scalars via .item())."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return _plain(item())
        except (TypeError, ValueError):
            pass
    return str(value)


# --- the run -----------------------------------------------------------------------------------


class Run:
    """One recorded run. Create it with `gitcfg.track(config)`."""

    def __init__(
        self,
        config: Config,
        *,
        store: Store | None,
        name: str | None = None,
        group: str | None = None,
        tags: Sequence[str] = (),
        notes: str | None = None,
        mask: bool | Sequence[str] = True,
    ) -> None:
        self._started = time.time()
        self.id = new_run_id(self._started)
        self.name = name or default_run_name(self.id)
        self.group, self.tags, self.notes = group, list(tags), notes
        self.config = config
        self.summary = Summary()
        self._store = store
        self._mask = mask
        self._rows: list[dict[str, Any]] = []
        self._step = 0
        self._pending_row: dict[str, Any] | None = None
        self._finished = False
        self._meta: dict[str, Any] = {}

    # public API

    @property
    def recording(self) -> bool:
        """False for a run that keeps everything in memory (disabled mode)."""
        return self._store is not None

    @property
    def step(self) -> int:
        return self._step

    def log(self, data: Mapping[str, Any], step: int | None = None, commit: bool = True) -> None:
        """Record one row of metrics at `step` (default: the next step), as wandb.log does."""
        if self._finished:
            _warn(f"run {self.id} is finished; log() ignored")
            return
        if step is not None:
            if step < self._step:
                _warn(
                    f"log() step {step} is before the current step {self._step}; "
                    "values dropped (steps must not go backwards)"
                )
                return
            if step > self._step:
                self._flush_row()
                self._step = step
        row = self._pending_row if self._pending_row is not None else {}
        _flatten_into(row, data, "")
        self._pending_row = row
        if commit:
            self._flush_row()

    def _flush_row(self) -> None:
        row = self._pending_row
        if row is None:
            return
        self._pending_row = None
        row["_step"] = self._step
        row["_time"] = round(time.time() - self._started, 6)
        self._rows.append(row)
        self.summary._observe(row)
        self._step += 1

    def finish(self, exit_code: int = 0, status: str | None = None) -> None:
        """End the run and commit its final state; later calls do nothing."""
        if self._finished:
            return
        self._finish(status or ("finished" if exit_code == 0 else "failed"), exit_code)

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
        return f"<gitcfg.Run {self.id} {self.name!r} {self._meta.get('status', 'running')}>"

    # lifecycle

    def _start(self, argv: Sequence[str], script: Path | None, status: bytes | None = None) -> None:
        store = self._store
        code: dict[str, Any] = {"commit": None, "branch": None, "dirty": False}
        patch = b""
        if store is not None:
            repo = store.repo
            code_commit = gitio.read_ref(repo, "HEAD")
            if code_commit is None:
                _warn("this repository has no commits yet; recording code commit: null")
            changes = gitio.worktree_changes(repo, code_commit, status)
            patch = changes.patch
            code = {
                "commit": code_commit,
                "branch": gitio.head_branch(repo),
                "dirty": changes.is_dirty,
                "remote_url": store.git_config.get("remote.origin.url"),
                "worktree": str(repo.worktree) if repo.worktree else None,
            }
            if changes.skipped:
                code["untracked_not_stored"] = list(changes.skipped)
        self._meta = {
            "id": self.id,
            "name": self.name,
            "group": self.group,
            "tags": self.tags,
            "notes": self.notes,
            "status": "running",
            "exit_code": None,
            "started_at": utc_iso(self._started),
            "ended_at": None,
            "duration_s": None,
            "host": hostname(),
            "user": _user(),
            "pid": os.getpid(),
            "python": "{}.{}.{}".format(*sys.version_info[:3]),
            "platform": _platform(),
            "argv": list(argv),
            "script": str(script) if script else None,
            "cwd": os.getcwd(),
            "gitcfg_version": __version__,
            "format": FORMAT_VERSION,
            "code": code,
            "config_sources": dict(self.config._sources),
            "config_changed": [],
        }
        if store is None:
            return
        config_dict, masked = recorded_config(self.config, self._mask)
        if masked:
            _warn("masked secret-looking config keys in the record: " + ", ".join(masked))
        files = run_files(self._meta, config=config_dict, patch=patch or None)
        store.write(files, commit_message(self.id, "started", {"Code-Commit": code["commit"]}))

    def _finish(
        self, status: str, exit_code: int | None, error: Mapping[str, Any] | None = None
    ) -> None:
        global _current
        self._finished = True
        self._flush_row()
        if _current is self:
            _current = None
        ended = time.time()
        self._meta.update(
            status=status,
            exit_code=exit_code,
            ended_at=utc_iso(ended),
            duration_s=round(ended - self._started, 3),
            config_changed=list(self.config._changed_after_start),
            config_sources=dict(self.config._sources),
        )
        if error:
            self._meta["error"] = dict(error)
        if self._store is None:
            return
        try:
            config_dict, _ = recorded_config(self.config, self._mask)
            files = run_files(
                self._meta,
                config=config_dict,
                summary=self.summary.as_dict(),
                metrics_jsonl=_jsonl(self._rows),
            )
            event = f"{status} (exit {exit_code})" if exit_code is not None else status
            self._store.write(
                files, commit_message(self.id, event, {"Code-Commit": self._meta["code"]["commit"]})
            )
        except (GitcfgError, OSError, ValueError) as e:  # never kill the script over its record
            _warn(f"could not record the end of run {self.id}: {e}")

    def _finish_from_exception(
        self, kind: type[BaseException] | None, exc: BaseException, tb: TracebackType | None
    ) -> None:
        if isinstance(exc, SystemExit):
            code = _exit_code(exc.code)
            self._finish("finished" if code == 0 else "failed", code)
            return
        if isinstance(exc, KeyboardInterrupt):
            self._finish("killed", 130, {"type": "KeyboardInterrupt", "message": "interrupted"})
            return
        import traceback

        frames = traceback.format_exception(kind, exc, tb)
        error = {
            "type": type(exc).__qualname__,
            "message": str(exc),
            "traceback": "".join(frames[-8:]),
        }
        self._finish("failed", 1, error)

    def _on_config_change(self) -> None:
        """Config changes are recorded at finish; here we only validate they can be stored."""


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    return 1


def _flatten_into(out: dict[str, Any], data: Mapping[str, Any], prefix: str) -> None:
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            _flatten_into(out, value, name + ".")
        else:
            out[name] = value


def _jsonl(rows: Sequence[Mapping[str, Any]]) -> bytes:
    dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=True, default=_json_default).encode
    return "".join(dumps(row) + "\n" for row in rows).encode()


def _json_default(value: Any) -> Any:
    plain = _plain(value)
    if isinstance(plain, float) and not math.isfinite(plain):
        return plain
    return plain


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


# --- exit hooks --------------------------------------------------------------------------------

_hooks_installed = False
_exit_status: int | None = None


def _install_exit_hooks() -> None:
    """Finish the current run on interpreter exit, as failed on an uncaught exception."""
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    previous_hook = sys.excepthook
    previous_exit = sys.exit

    def excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        run = _current
        if run is not None and not run._finished:
            run._finish_from_exception(kind, exc, tb)
        if isinstance(exc, GitcfgError):  # our own errors are one line, not a traceback
            print(f"gitcfg: error: {exc}", file=sys.stderr)
            return
        previous_hook(kind, exc, tb)

    def exit(status: object = None) -> None:
        global _exit_status
        _exit_status = _exit_code(status)
        previous_exit(status)

    sys.excepthook = excepthook
    sys.exit = exit
    atexit.register(_finish_at_exit)


def _finish_at_exit() -> None:
    run = _current
    if run is not None and not run._finished:
        code = _exit_status or 0
        run._finish("finished" if code == 0 else "failed", code)


# --- module-level API --------------------------------------------------------------------------


def track(
    config: object = None,
    *,
    name: str | None = None,
    group: str | None = None,
    tags: Sequence[str] = (),
    notes: str | None = None,
    path: str | os.PathLike[str] | None = None,
    config_include_keys: Sequence[str] | None = None,
    config_exclude_keys: Sequence[str] | None = None,
    mask: bool | Sequence[str] = True,
    mode: str | None = None,
) -> Run:
    """Start recording a run of this script; return the Run (also usable as a context manager).

    Fails fast (GitcfgError, one line) outside a git repository or on a bad config, before anything
    is written. `mode="disabled"` (or GITCFG_MODE=disabled) records nothing.
    """
    global _current, _pending_config
    _install_exit_hooks()
    if _current is not None and not _current._finished:
        _warn(f"track() called while run {_current.id} is active; finishing it first")
        _current.finish()
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
    )
    mode = mode or os.environ.get("GITCFG_MODE") or "online"
    store, status = None, None
    if mode != "disabled":
        found = gitio.probe(cwd)
        store, status = Store(found.repo, found.config), found.status
    run = Run(resolved, store=store, name=name, group=group, tags=tags, notes=notes, mask=mask)
    run._start(sys.argv, script, status)
    resolved._mark_started()
    resolved._set_callback(run._on_config_change)
    _pending_config = None
    _current = run
    return run


def _script_path() -> Path | None:
    main = sys.modules.get("__main__")
    file = getattr(main, "__file__", None)
    return Path(file).resolve() if file else None


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
        raise GitcfgError("no active run; call gitcfg.track(config) before using gitcfg.summary")
    return _current.summary


def log(data: Mapping[str, Any], step: int | None = None, commit: bool = True) -> None:
    """Log metrics to the current run (see Run.log)."""
    if _current is None:
        raise GitcfgError("no active run; call gitcfg.track(config) before gitcfg.log()")
    _current.log(data, step=step, commit=commit)


def finish(exit_code: int = 0) -> None:
    """Finish the current run, if any."""
    if _current is not None:
        _current.finish(exit_code)
