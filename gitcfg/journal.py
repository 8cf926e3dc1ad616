"""The live journal of a running run, and crash recovery from it.

While a run is alive, its process journals to `<git common dir>/gitcfg/live/<run-id>/`:

    meta.json       {"format", "run_id", "runs_ref", "owner": {host, pid, start, boot_id}, "run": run.yaml}
                    rewritten atomically when run.yaml changes (config changes, the final status)
    config.yaml     the recorded (masked) config, rewritten atomically when it changes
    diff.patch      the run's uncommitted changes (when it has any), there from the start: a run
                    killed before its start commit is recovered with its exact code
    summary.json    {"rows": n, "state": Summary._state()}: the summary of the first n rows,
                    rewritten atomically by the flusher thread when it changes
    metrics.rows    the logged rows, one frame per row, written by log() itself through a shared
                    memory map: a 4-byte little-endian payload length, then the payload,
                    `marshal.dumps(row_dict, 4)`. A zero length ends the rows (the file is
                    reserved ahead, zero-filled, and doubled when full)
    heartbeat       an empty file; its mtime is the writer's last sign of life
    media/          Image and Table values logged, waiting for the final commit (runfiles.py)
    saves.json      the run's save() globs of policy live/end, matched again by a recovery

Why a memory map: a row written into a MAP_SHARED mapping is in the kernel's page cache as soon
as the store instruction retires, with no system call, so a process SIGKILLed right after log()
returns loses nothing (the kernel writes the pages back; it owns them, not the process). log()
writes the payload first and its length last, so a non-zero length always means a whole frame.
This costs ~0.9 us a row (marshal ~0.35 us); an os.write() per row costs ~1.2 us more. A power
cut can lose what the disk had not stored: the flusher thread calls fdatasync() every 0.5 s when
rows were added; a frame damaged by a power cut (or anything else) ends the rows read back.
Marshal format 4 of plain dicts, lists, str, int and float reads the same on every Python since
3.4, so a gitcfg running on another Python can recover the journal.

Nothing here is committed per log call. The run's final commit turns the rows into metrics.jsonl
(~2 us a row, mostly JSON's float formatting) and then removes the directory; if that commit fails,
the journal stays and the next gitcfg command on this machine commits it. A journal whose process
is gone (same host, and no live process with that pid *and* start time) is committed as `crashed`,
with every journaled row and the summary folded on to the last row. JSON here is Python's: NaN and
+-Infinity are written as `NaN`/`Infinity`, which `json.loads` reads.
"""

from __future__ import annotations

import json
import marshal
import mmap
import os
import struct
import time
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from gitcfg import runfile
from gitcfg.errors import GitcfgError, RunNotFound
from gitcfg.gitio import LIVE_DIR, share, write_atomic
from gitcfg.store import (
    Store,
    hostname,
    is_valid_run_id,
    run_dir,
    run_event_message,
    run_files,
    utc_iso,
)
from gitcfg.summaries import Summary

JOURNAL_FORMAT = 2
_META, _CONFIG, _SUMMARY, _METRICS, _HEARTBEAT = (
    "meta.json",
    "config.yaml",
    "summary.json",
    "metrics.rows",
    "heartbeat",
)
_PATCH = "diff.patch"
MARSHAL_VERSION = 4
ROWS_RESERVED = 1 << 20  # bytes reserved for metrics.rows at first (~14,000 rows of 3 scalars)
_LENGTH = struct.Struct("<I")


# --- which process owns a journal --------------------------------------------------------------


def process_identity(pid: int | None = None) -> dict[str, Any]:
    """Who owns a journal: host, pid, the process's start time and this boot's id.

    pid alone is not enough: pids are reused. On Linux the start time (clock ticks since boot, from
    /proc/<pid>/stat) and the boot id tell a reused pid apart; elsewhere they are None.
    """
    pid = os.getpid() if pid is None else pid
    stat = _proc_stat(pid)
    return {
        "host": hostname(),
        "pid": pid,
        "start": stat[1] if stat else None,
        "boot_id": _boot_id(),
    }


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks since boot) from /proc/<pid>/stat; None without it."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            text = f.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = text[text.rfind(b")") + 2 :].split()
    try:
        return fields[0].decode(), int(fields[19])
    except (IndexError, ValueError):
        return None


def _boot_id() -> str | None:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip() or None
    except OSError:
        return None


def process_gone(owner: Mapping[str, Any]) -> bool:
    """True only when we can tell that the journal's process no longer runs.

    A journal from another host is never gone from here; a pid that is alive but started at another
    time (or in another boot) is a reused pid, so the owner is gone; a zombie is gone.
    """
    if owner.get("host") != hostname():
        return False
    boot = _boot_id()
    if owner.get("boot_id") and boot and owner["boot_id"] != boot:
        return True
    try:
        pid = int(owner["pid"])
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by another user
        pass
    except (KeyError, TypeError, ValueError, OSError):
        return False
    stat = _proc_stat(pid)
    if stat is None:  # no /proc here (macOS): the pid is alive, trust it
        return os.path.isdir("/proc/self") and not os.path.exists(f"/proc/{pid}")
    state, start = stat
    if state in ("Z", "X"):
        return True
    return owner.get("start") is not None and start != owner["start"]


# --- the writer's side -------------------------------------------------------------------------


class Journal:
    """The owner's handle on `live/<run-id>/`. Methods raise OSError; the Run decides what to do."""

    def __init__(self, path: Path, metrics_fd: int, meta: dict[str, Any]) -> None:
        self.path = path
        self._metrics_fd = metrics_fd
        self._meta = meta  # meta.json's content
        self._size = os.fstat(metrics_fd).st_size  # bytes reserved (zeros past the last frame)
        self._rows: mmap.mmap | None = mmap.mmap(metrics_fd, self._size)
        self._end = 0  # where the next frame goes
        self._synced = 0  # frames before this offset were fdatasync'ed

    @classmethod
    def create(
        cls,
        state_dir: Path,
        run_id: str,
        runs_ref: str,
        run_meta: Mapping[str, Any],
        config_yaml: bytes,
        patch: bytes | None = None,
    ) -> Journal:
        """Create the journal directory complete (built under a dot name, then renamed): it
        holds the run's diff.patch before the run exists anywhere else."""
        live = state_dir / LIVE_DIR
        live.mkdir(parents=True, exist_ok=True)
        building = live / f".new-{run_id}-{os.getpid()}"  # pid: sweep_leftovers
        building.mkdir()
        share(state_dir, live, building)  # core.sharedRepository
        meta = {
            "format": JOURNAL_FORMAT,
            "run_id": run_id,
            "runs_ref": runs_ref,
            "owner": process_identity(),
            "run": dict(run_meta),
            "patch": bool(patch),  # diff.patch is here (a journal without this key: unknown)
        }
        (building / _META).write_bytes(_json_bytes(meta))
        (building / _CONFIG).write_bytes(config_yaml)
        if patch:
            (building / _PATCH).write_bytes(patch)
        (building / _HEARTBEAT).write_bytes(b"")
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(building / _METRICS, flags, 0o644)
        try:
            _reserve(fd, 0, ROWS_RESERVED)
            share(*building.iterdir())
            journal = cls(live / run_id, fd, meta)
        except BaseException:
            os.close(fd)
            raise
        os.rename(building, journal.path)  # the open fd and the mapping follow the file
        return journal

    def append_row(self, row: dict[str, Any]) -> None:
        """Journal one row. When this returns, the row survives the process being killed.

        Raises OSError when the file cannot grow (disk full); nothing is written then.
        """
        try:
            payload = marshal.dumps(row, MARSHAL_VERSION)
        except ValueError:  # a key marshal refuses (an arbitrary object): store it as text
            payload = marshal.dumps({str(k): v for k, v in row.items()}, MARSHAL_VERSION)
        start = self._end
        end = start + 4 + len(payload)
        if end + 4 > self._size:  # room for the frame and the zero length after it
            self._grow(end + 4)
        rows = self._rows
        assert rows is not None
        rows[start + 4 : end] = payload
        _LENGTH.pack_into(rows, start, len(payload))  # last: a non-zero length is a whole frame
        self._end = end

    def _grow(self, needed: int) -> None:
        size = self._size
        while size < needed:
            size *= 2
        _reserve(self._metrics_fd, self._size, size - self._size)
        # A new mapping, not mmap.resize(): a log() interrupted by a signal handler that ends the
        # run may still hold the old one; writes through either land in the same file pages.
        self._rows = mmap.mmap(self._metrics_fd, size)
        self._size = size

    def rows(self) -> list[dict[str, Any]]:
        """Every row journaled so far."""
        if self._rows is None:
            return decode_rows(_read_optional(self.path / _METRICS) or b"")
        return decode_rows(self._rows[: self._end])

    def sync(self) -> None:
        """Ask the disk to keep the rows (a killed process loses nothing anyway; a power cut may).

        fdatasync() writes back the pages dirtied through the mapping too, and releases the GIL,
        unlike mmap.flush().
        """
        end = self._end
        if end > self._synced and hasattr(os, "fdatasync"):
            os.fdatasync(self._metrics_fd)
            self._synced = end

    def write_run_meta(self, run_meta: Mapping[str, Any]) -> None:
        self._meta["run"] = dict(run_meta)
        write_atomic(self.path / _META, _json_bytes(self._meta))

    def write_config(self, config_yaml: bytes) -> None:
        write_atomic(self.path / _CONFIG, config_yaml)

    def write_summary(self, state: Mapping[str, Any], rows: int) -> None:
        """Journal the summary of the first `rows` rows (Summary._state())."""
        write_atomic(self.path / _SUMMARY, _json_bytes({"rows": rows, "state": state}))

    def beat(self) -> None:
        os.utime(self.path / _HEARTBEAT)

    def close(self) -> None:
        """Close the file. The mapping is left to the garbage collector, never closed here: a log()
        interrupted by a signal handler that ended the run may still write to it."""
        self._rows = None
        if self._metrics_fd >= 0:
            os.close(self._metrics_fd)
            self._metrics_fd = -1

    def remove(self) -> None:
        """Delete the journal (after its final commit)."""
        self.close()
        discard(self.path)


def _reserve(fd: int, offset: int, length: int) -> None:
    """Give the file real blocks for [offset, offset + length), zero-filled.

    A sparse file (ftruncate alone) would do until the disk fills up: then a store into the
    mapping gets SIGBUS and kills the process. posix_fallocate fails with ENOSPC instead.
    """
    fallocate = getattr(os, "posix_fallocate", None)
    if fallocate is None:  # macOS
        os.ftruncate(fd, offset + length)
        return
    try:
        fallocate(fd, offset, length)
    except OSError as e:
        import errno

        if e.errno not in (errno.EOPNOTSUPP, errno.EINVAL):  # not supported by this file system
            raise
        os.ftruncate(fd, offset + length)


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, allow_nan=True, default=str).encode()


def discard(path: Path) -> None:
    """Delete a journal directory, renamed out of sight first: a process killed while deleting
    leaves a `.gone-*` directory that the next recovery sweeps, never a half journal."""
    gone = path.with_name(f".gone-{path.name}")
    try:
        os.rename(path, gone)
    except FileNotFoundError:
        return
    except OSError:  # a `.gone-` of an earlier, interrupted removal stands there
        _remove_dir(gone)
        try:
            os.rename(path, gone)
        except OSError:
            gone = path
    _remove_dir(gone)


def sweep_leftovers(state_dir: Path) -> None:
    """Remove what killed processes left under live/: `.gone-*` (an interrupted removal) and
    `.new-*` (a journal being built, before the run existed anywhere) whose owner is gone."""
    try:
        entries = list(os.scandir(state_dir / LIVE_DIR))
    except OSError:
        return
    for entry in entries:
        path = Path(entry.path)
        if entry.name.startswith(".gone-"):
            _remove_dir(path)
        elif entry.name.startswith(".new-"):
            meta = _load_json(path / _META)
            owner = meta.get("owner") if meta else None
            if isinstance(owner, dict):
                if process_gone(owner):
                    _remove_dir(path)
            else:  # killed before meta.json was written, unless it is being written now
                pid = entry.name.rsplit("-", 1)[-1]
                try:
                    old = abs(time.time() - entry.stat().st_mtime) > 60
                    if old or (pid.isdigit() and process_gone({"host": hostname(), "pid": pid})):
                        _remove_dir(path)
                except OSError:
                    pass


def _remove_dir(path: Path) -> None:
    try:
        entries = list(os.scandir(path))
    except FileNotFoundError:
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                _remove_dir(Path(entry.path))  # media/<key>/ (runfiles.py)
            else:
                os.unlink(entry.path)
        except FileNotFoundError:
            pass
    try:
        os.rmdir(path)
    except FileNotFoundError:
        pass


# --- rows: frames in the journal, JSON lines on the branch -------------------------------------


def decode_rows(data: bytes, skip: int = 0) -> list[dict[str, Any]]:
    """The rows of metrics.rows, up to the first zero length or damaged frame; the first `skip`
    frames are stepped over without being decoded."""
    rows: list[dict[str, Any]] = []
    view, size, pos = memoryview(data), len(data), 0
    unpack, loads = _LENGTH.unpack_from, marshal.loads
    while skip > 0 and pos + 4 <= size:
        (length,) = unpack(view, pos)
        if length == 0 or pos + 4 + length > size:
            return rows
        pos += 4 + length
        skip -= 1
    while pos + 4 <= size:
        (length,) = unpack(view, pos)
        end = pos + 4 + length
        if length == 0 or end > size:
            break
        try:
            row = loads(view[pos + 4 : end])
        except (EOFError, ValueError, TypeError):
            break  # damaged from here on (power loss): keep what came before
        if not isinstance(row, dict):
            break
        rows.append(row)
        pos = end
    return rows


def cut_times(rows: Sequence[dict[str, Any]]) -> None:
    """Cut each row's `_time` (seconds since the start) to microseconds, as metrics.jsonl has it."""
    for row in rows:
        seconds = row.get("_time")
        if type(seconds) is float:  # int()/1e6 costs a quarter of round(x, 6)
            row["_time"] = int(seconds * 1e6) / 1e6


def rows_to_jsonl(rows: Sequence[dict[str, Any]]) -> bytes:
    """metrics.jsonl for journaled rows: `_time` (seconds since the start) cut to microseconds."""
    cut_times(rows)
    if not rows:
        return b""
    try:
        text = "\n".join(map(encode_row, rows))
    except TypeError:  # a key JSON refuses (a tuple): written as text
        text = "\n".join(_encode_row_text_keys(row) for row in rows)
    return (text + "\n").encode()


def _encode_row_text_keys(row: Mapping[Any, Any]) -> str:
    try:
        return encode_row(row)
    except TypeError:
        return encode_row({str(k): v for k, v in row.items()})


def _row_encoder() -> Callable[[Mapping[str, Any]], str]:
    """JSON text of one row; Python's json (NaN, Infinity kept), via the C encoder when present.

    json.dumps builds a new encoder per call; the C encoder made once is ~1.6x faster per row.
    """
    from json import encoder as json_encoder

    make = getattr(json_encoder, "c_make_encoder", None)
    if make is not None:
        try:
            encode = make(
                None, str, json_encoder.encode_basestring, None, ": ", ", ", False, False, True
            )
            if "".join(encode({"a": [1.5, float("nan")]}, 0)) == '{"a": [1.5, NaN]}':
                return lambda row: "".join(encode(row, 0))
        except (TypeError, ValueError):
            pass
    return json.JSONEncoder(ensure_ascii=False, allow_nan=True, default=str).encode


encode_row = _row_encoder()


# --- the final commit (owner and recovery alike) -----------------------------------------------


def final_commit(
    run_meta: Mapping[str, Any],
    config_yaml: bytes | None,
    summary: Mapping[str, Any] | None,
    metrics_jsonl: bytes | None,
    requirements: bytes | None = None,
) -> tuple[dict[str, bytes], str]:
    """The files and the message of a run's last commit (`run <id>: failed (exit 1)`)."""
    runfile.check_record(run_meta)  # FORMAT: a bug raises before anything is written
    files = run_files(
        run_meta, summary=summary, metrics_jsonl=metrics_jsonl, requirements=requirements
    )
    if config_yaml is not None:
        files[f"{run_dir(str(run_meta['id']))}/config.yaml"] = config_yaml
    status, exit_code = run_meta.get(runfile.STATUS), run_meta.get(runfile.EXIT_CODE)
    event = f"{status} (exit {exit_code})" if exit_code is not None else str(status)
    commit = runfile.code_of(run_meta).get(runfile.CODE_COMMIT)
    return files, run_event_message(str(run_meta[runfile.ID]), event, commit)


# --- readers: recovery and heartbeats ----------------------------------------------------------


class LiveRun(NamedTuple):
    """A journal found under live/."""

    run_id: str
    path: Path
    meta: dict[str, Any]  # meta.json
    heartbeat: float | None  # mtime of the heartbeat file (time.time() scale)


def live_runs(state_dir: Path) -> list[LiveRun]:
    """Every complete journal under `state_dir`/live (costs one failed scandir when there is none)."""
    try:
        entries = list(os.scandir(state_dir / LIVE_DIR))
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        try:
            meta = json.loads((path / _META).read_bytes())
        except (OSError, ValueError):
            continue  # being removed, or not a journal
        if not isinstance(meta, dict) or not isinstance(meta.get("run"), dict):
            continue
        try:
            heartbeat: float | None = os.stat(path / _HEARTBEAT).st_mtime
        except OSError:
            heartbeat = None
        found.append(LiveRun(entry.name, path, meta, heartbeat))
    return found


def journal_signature(path: Path) -> tuple[int, ...]:
    """What changes whenever a reader would see the journal at `path` differently: the
    modification times of meta.json, config.yaml and summary.json (rewritten, by rename, when
    the run's record, config or rows change; summary.json counts the rows). No file is read."""
    signature = []
    for name in (_META, _CONFIG, _SUMMARY):
        try:
            stat = os.stat(path / name)
            signature += [stat.st_mtime_ns, stat.st_ino]
        except OSError:
            signature += [0, 0]
    return tuple(signature)


class JournalState(NamedTuple):
    """What a journal holds at one moment, read while its writer may still append."""

    run_meta: dict[str, Any]  # run.yaml as journaled (its status is final once the run ended)
    owner: dict[str, Any]  # process_identity() of the writer
    config_yaml: bytes | None
    summary: dict[str, Any]  # as of the last row read
    rows: list[dict[str, Any]]  # `_time` cut as metrics.jsonl has it


def read_journal(path: Path, with_rows: bool = True) -> JournalState | None:
    """The journal at `path` as of now; None when it is gone (the run's final commit removes it).

    Safe while the writer appends: a frame's length is written after its payload, so the row
    being written is not read (decode_rows stops at its zero length). summary.json is read before
    the rows, so the rows always include every row its summary counted. Without `with_rows`, only
    the rows after those (a few: the summary is journaled every 0.5 s) are decoded, to fold them
    into the summary, and `rows` is empty.
    """
    try:
        meta = json.loads((path / _META).read_bytes())
        journaled = _load_json(path / _SUMMARY)
        config_yaml = _read_optional(path / _CONFIG)
        data = (path / _METRICS).read_bytes()
    except (FileNotFoundError, NotADirectoryError, ValueError):
        return None
    if not isinstance(meta, dict) or not isinstance(meta.get("run"), dict):
        return None
    counted = (journaled or {}).get("rows")
    if with_rows or not isinstance(counted, int) or counted < 0:
        rows = decode_rows(data)
        summary = recovered_summary(journaled, rows)
    else:  # the summary's own rows are stepped over, not decoded
        summary = recovered_summary({**(journaled or {}), "rows": 0}, decode_rows(data, counted))
        rows = []
    cut_times(rows)
    owner = meta.get("owner")
    return JournalState(
        meta["run"], owner if isinstance(owner, dict) else {}, config_yaml, summary, rows
    )


class Recovered(NamedTuple):
    run_id: str
    status: str  # `crashed`, or the final status whose commit had failed
    steps: int  # rows committed to metrics.jsonl

    def note(self) -> str:
        return f"recorded run {self.run_id} as {self.status} ({self.steps} steps) from its journal"


class SkippedJournal(NamedTuple):
    """A journal recovery does not trust: its directory is not named for the run it holds."""

    name: str  # the journal directory's name
    reason: str
    moved_to: Path | None  # where it was moved aside (a dot name recovery never reads again)

    def note(self) -> str:
        where = f"; moved it aside to {self.moved_to}" if self.moved_to else ""
        return f"warning: skipped the journal live/{self.name!r}: {self.reason}{where}"


def recover(store: Store) -> list[Recovered | SkippedJournal]:
    """Commit every journal on this machine whose process is gone; return what was committed.

    A journal whose run already holds a final status on the branch is only removed. Another
    gitcfg process recovering the same journal at the same time is detected with a lock; the
    loser skips it. Runs from other hosts and live processes are left alone.
    """
    done = []
    sweep_leftovers(store.repo.state_dir)
    for live in live_runs(store.repo.state_dir):
        # A live owner is either running or committing its final state right now: leave it.
        if not process_gone(live.meta.get("owner") or {}):
            continue
        result = _recover_one(store, live)
        if result is not None:
            done.append(result)
    return done


def recover_quietly(store: Store) -> list[str]:
    """Recover as `recover` does; return a line to print for each run recorded, or one warning.

    Every command and track() call this first, so a damaged journal must not break them all: its
    error becomes a warning line and the command goes on.
    """
    try:
        return [item.note() for item in recover(store)]
    except (GitcfgError, OSError, ValueError, KeyError) as e:
        return [f"warning: could not recover a crashed run's journal: {e}"]


def _recover_one(store: Store, live: LiveRun) -> Recovered | SkippedJournal | None:
    import fcntl

    try:
        fd = os.open(live.path / _META, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None  # another gitcfg process is recovering it
        if not (live.path / _META).exists():
            return None  # recovered and removed while we waited
        meta = json.loads((live.path / _META).read_bytes())
        run_meta: dict[str, Any] = dict(meta["run"])
        reason = _untrusted(live.run_id, meta, run_meta)
        if reason is not None:
            return SkippedJournal(live.run_id, reason, _move_aside(live.path))
        runs_store = _store_for(store, str(meta.get("runs_ref") or store.runs_ref))
        if _committed_status(runs_store, live.run_id) not in (None, "running"):
            discard(live.path)  # the owner committed, then died before cleaning up
            return None
        problem = runfile.record_problem(run_meta)
        if problem is not None:  # FORMAT: not a record this gitcfg would write
            reason = f"its run.yaml record does not match the format: {problem}"
            return SkippedJournal(live.run_id, reason, _move_aside(live.path))
        config_yaml = _read_optional(live.path / _CONFIG)
        rows = decode_rows(_read_optional(live.path / _METRICS) or b"")
        if run_meta.get(runfile.STATUS) == runfile.RUNNING:
            _mark_crashed(run_meta, live.heartbeat, rows)
        summary = recovered_summary(_load_json(live.path / _SUMMARY), rows)
        patch = _recovered_patch(live.path, meta, run_meta, runs_store)  # before run.yaml
        files, message = final_commit(run_meta, config_yaml, summary, rows_to_jsonl(rows))
        from gitcfg.runfiles import max_file_bytes, recovered_files

        budget = max_file_bytes(runs_store.git_config)  # media and the live/end save() globs
        # run.dir's default place, <state dir>/files/<run-id> (tracking.Run; track(dir=) moves it)
        default_dir = live.path.parent.parent / "files" / live.run_id
        files.update(recovered_files(live.path, run_dir(live.run_id), budget, default_dir))
        runs_store.write({**files, **patch}, message)
        discard(live.path)
        return Recovered(live.run_id, str(run_meta[runfile.STATUS]), len(rows))
    finally:
        os.close(fd)


def _recovered_patch(
    path: Path, journal_meta: Mapping[str, Any], run_meta: dict[str, Any], store: Store
) -> dict[str, bytes | None]:
    """The run's diff.patch from its journal. A dirty run whose patch is neither there nor on
    the branch (a journal written before gitcfg kept it there) is marked `code.patch_lost`:
    its exact code is unknown, and checkout refuses it rather than build other code."""
    run_id = str(run_meta[runfile.ID])
    name = f"{run_dir(run_id)}/{_PATCH}"
    patch = _read_optional(path / _PATCH)
    code = run_meta.get(runfile.CODE)
    if patch:
        return {name: patch}
    if isinstance(code, dict) and code.get(runfile.CODE_DIRTY) is False:
        return {name: None}  # resumed clean: an earlier patch goes (as the start commit does)
    kept = journal_meta.get("patch") is not None  # this journal says whether it has one
    if isinstance(code, dict) and code.get(runfile.CODE_DIRTY) and not kept:
        try:
            on_branch = _PATCH in store.read_run(run_id).files
        except RunNotFound:
            on_branch = False
        if not on_branch:
            run_meta[runfile.CODE] = {**code, runfile.CODE_PATCH_LOST: True}
    return {}


def _untrusted(name: str, meta: Mapping[str, Any], run_meta: Mapping[str, Any]) -> str | None:
    """Why a journal must not be committed: its directory name is not a run id, or the run it
    holds is another (it would overwrite that run's directory on the branch); None if trusted."""
    if not is_valid_run_id(name):
        return "its directory name is not a valid run id"
    for where, held in (
        ("meta.json run_id", meta.get("run_id", name)),
        ("run id", run_meta.get(runfile.ID)),
    ):
        if held != name:
            return f"its {where} is {str(held)[:80]!r}, not the directory's {name!r}"
    return None


def _move_aside(path: Path) -> Path | None:
    target = path.with_name(f".untrusted-{path.name}-{os.getpid()}")
    try:
        os.rename(path, target)
    except OSError:
        return None
    return target


def recovered_summary(
    journaled: Mapping[str, Any] | None, rows: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The summary at the last journaled row: summary.json's state of its first n rows (none if
    the process died before the flusher first wrote it), with the rows after those folded in."""
    state = (journaled or {}).get("state")
    summary = Summary._from_state(state if isinstance(state, dict) else {})
    done = (journaled or {}).get("rows")
    summary._observe(rows[done if isinstance(done, int) and done >= 0 else 0 :])
    return summary._snapshot()


def _mark_crashed(
    run_meta: MutableMapping[str, Any],
    heartbeat: float | None,
    rows: Sequence[Mapping[str, Any]] = (),
) -> None:
    """The process died without finishing: its last heartbeat is the best guess of its end.

    `killed` when the run had noted a signal (SIGTERM) before its script's own handler ended the
    process; `crashed` otherwise. The duration is at least the last row's `_time` (monotonic), and
    never negative, whatever the wall clock did.
    """
    from gitcfg.store import parse_iso

    ended = heartbeat if heartbeat is not None else time.time()
    started = parse_iso(run_meta.get(runfile.STARTED_AT))
    last = rows[-1].get("_time") if rows else None
    duration = max(ended - started.timestamp(), 0.0) if started else None
    if isinstance(last, (int, float)) and (duration is None or last > duration):
        duration = float(last)
    runfile.crash(run_meta, utc_iso(ended), None if duration is None else round(duration, 3))


def _store_for(store: Store, runs_ref: str) -> Store:
    """The store writing to `runs_ref` (the journal's branch, should gitcfg.branch have changed)."""
    if runs_ref == store.runs_ref:
        return store
    branch = runs_ref.removeprefix("refs/heads/")
    return Store(store.repo, {**store.git_config, "gitcfg.branch": branch})


def _committed_status(store: Store, run_id: str) -> str | None:
    try:
        record = store.read_run(run_id)
    except RunNotFound:
        return None
    # A damaged run.yaml reads as no status: the journal's version replaces it.
    status = record.meta.get(runfile.STATUS)
    return None if status is None else str(status)


def _read_optional(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _load_json(path: Path) -> dict[str, Any] | None:
    data = _read_optional(path)
    if data is None:
        return None
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def heartbeat_ages(
    state_dir: Path, run_ids: Iterable[str] | None = None, now: float | None = None
) -> dict[str, float]:
    """Seconds since the last heartbeat of each live run journaled on this machine."""
    now = time.time() if now is None else now
    wanted = None if run_ids is None else set(run_ids)
    return {
        live.run_id: max(now - live.heartbeat, 0.0)
        for live in live_runs(state_dir)
        if live.heartbeat is not None and (wanted is None or live.run_id in wanted)
    }
