"""A run's recorder: its live journal, the flusher thread and its commits to the runs branch.

`Run` (tracking.py) is what the script sees: its API, the step semantics, run.yaml's fields and the
lifecycle (start, finish, signals, fork). The Recorder keeps what the Run decides:

- rows: `log()` hands each row to `add_row`, which writes it into the journal's memory map
  (journal.py: it survives a SIGKILL once log() returns) and queues it for the summary;
- the flusher: a daemon thread that every FLUSH_INTERVAL_S folds the queue into the summary,
  journals the summary, fdatasyncs the rows and touches the heartbeat;
- run.yaml and config.yaml journaled when they change (`write_meta`, `journal_config`);
- the commits, each one `Store.write` (store.py): the start commit (`open` then `commit_start`),
  files saved with `policy="now"`, `config.persist()`, and the final commit.

A run that records nothing (disabled mode, rank != 0, a forked child) has a Recorder with no store:
its rows reach the summary and go no further. Recording failures after the start are warnings
(one line on stderr): they never kill a training script.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from gitcfg import runfile
from gitcfg.configuration import Config, recorded_config
from gitcfg.errors import GitcfgError
from gitcfg.journal import Journal, final_commit, rows_to_jsonl
from gitcfg.runfiles import RunFiles, max_file_bytes
from gitcfg.store import Store, run_dir, run_event_message, run_files
from gitcfg.summaries import Summary
from gitcfg.yamlio import dump_yaml

FLUSH_INTERVAL_S = 0.5  # summary.json and the heartbeat are at most this old when a process dies
MAX_WARNINGS = 3  # of one kind per run (`Warnings.limited`)
_BACKLOG_ROWS = 1024  # rows queued before log() folds them itself (a forked child has no flusher)


def warn(message: str) -> None:
    """`gitcfg: warning: <message>` on stderr, one inert line."""
    from gitcfg.rows import inert_lines

    print(f"gitcfg: warning: {inert_lines(message)}", file=sys.stderr, flush=True)


class Warnings:
    """A run's warnings (the Run and its Recorder share one): some kinds once, some a few times."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._said: set[str] = set()

    def once(self, kind: str, message: str) -> None:
        if kind not in self._said:
            self._said.add(kind)
            warn(message)

    def limited(self, kind: str, message: str) -> None:
        count = self._counts.get(kind, 0) + 1
        self._counts[kind] = count
        if count <= MAX_WARNINGS:
            more = " (further warnings like this are not shown)" if count == MAX_WARNINGS else ""
            warn(message + more)


def _discard(row: dict[str, Any]) -> None:
    """Where the rows of a run that records nothing go (the summary still sees them)."""


class Recorder:
    """Journals and commits one run; `store` None: the run keeps everything in memory."""

    def __init__(
        self,
        run_id: str,
        store: Store | None,
        config: Config,
        mask: bool | Sequence[str],
        warnings: Warnings,
    ) -> None:
        self.run_id = run_id
        self.store = store
        self._config = config
        self._mask = mask
        self._warnings = warnings
        # The run's lock: rows, the summary and run.yaml change under it. Reentrant: a signal
        # handler finishing the run may interrupt the main thread while it holds it.
        self.lock = threading.RLock()
        # add_row() journals each row and queues it here; drain() (the flusher, summary reads,
        # finish) folds the queue into the summary.
        self.summary = Summary(self.drain)
        self.summary._lock = self.lock
        self.summary._changed = self._summary_changed  # type: ignore[method-assign]
        self._queue: list[dict[str, Any]] = []
        self._rows_summarised = 0  # rows folded into the summary so far
        self.summary_dirty = False
        self.journal: Journal | None = None
        self._journal_failed = False
        # Rows the journal does not hold (no journal, or it could not grow): the final commit's.
        self._unjournaled: list[dict[str, Any]] = []
        self._append_row: Callable[[dict[str, Any]], None] = (
            _discard if store is None else self._unjournaled.append
        )
        # Journal file writes; never taken by log(). Reentrant, as the lock.
        self._journal_io = threading.RLock()
        # The last config.yaml recorded (journaled): the final commit falls back to it should the
        # config at the end no longer be recordable, rather than lose the final status.
        self._config_yaml: bytes | None = None
        self._masked_keys: set[str] = set()  # secret-looking keys warned about on stderr
        self._flusher: threading.Thread | None = None
        self._stop_flusher = threading.Event()
        # The environment cache was cold at the start: the final commit lists the packages.
        self._requirements_pending = False
        self.files: RunFiles | None = None  # saved files and media (recording runs only)

    @property
    def recording(self) -> bool:
        return self.store is not None

    # --- the start -----------------------------------------------------------------------------

    def recorded_config(self) -> dict[str, Any]:
        """The config as config.yaml records it (secret-looking keys masked, said on stderr)."""
        config_dict, masked = recorded_config(self._config, self._mask)
        self._masked_keys.update(masked)
        if masked:
            warn("masked secret-looking config keys in the record: " + ", ".join(masked))
        return config_dict

    def open(
        self,
        meta: Mapping[str, Any],
        config: Mapping[str, Any],
        patch: bytes,
        resumed_patch: bool | None = None,
    ) -> dict[str, bytes | None]:
        """Create the journal, before the start commit (a crash right after that commit is then
        recoverable); return the start commit's files. `resumed_patch`: the run is resumed (its
        rows move to the journal until the final commit) and had a diff.patch before."""
        assert self.store is not None
        runfile.check_record(meta)  # FORMAT: a bug raises before anything is written
        files: dict[str, bytes | None] = dict(
            run_files(meta, config=config, patch=patch or None, requirements=self._requirements())
        )
        base = run_dir(self.run_id)
        config_yaml = files[f"{base}/config.yaml"]
        assert config_yaml is not None
        if resumed_patch is not None:
            # Its rows move to the journal (copied by the Run) until the final commit writes them
            # all back: a running run's rows are the journal's, as for a new run.
            files[f"{base}/metrics.jsonl"] = None
            if resumed_patch and not patch:
                files[f"{base}/diff.patch"] = None  # clean now: the old one goes
        self._config_yaml = config_yaml
        store = self.store
        try:
            self.journal = Journal.create(
                store.repo.state_dir, self.run_id, store.runs_ref, meta, config_yaml, patch
            )
        except OSError as e:
            warn(
                f"cannot journal run {self.run_id} ({e}); its metrics stay in memory until it ends"
            )
        else:
            self._append_row = self.journal.append_row
        return files

    def continue_rows(self, rows: list[dict[str, Any]], summary: Summary) -> None:
        """A resumed run's logged rows into the journal, and the summary they make."""
        for row in rows:
            try:
                self._append_row(row)
            except OSError as e:
                self._stop_journaling_rows(e)
                self._append_row(row)
        self.summary._load(summary._state())
        self._rows_summarised = len(rows)
        self.summary_dirty = True

    def commit_start(
        self, files: Mapping[str, bytes | None], event: str, meta: Mapping[str, Any]
    ) -> None:
        """The start commit (`started` or `resumed`); the journal goes if it fails."""
        assert self.store is not None
        journal = self.journal
        self.files = RunFiles(
            run_dir(self.run_id),
            journal.path if journal is not None else None,
            max_file_bytes(self.store.git_config),
            lambda message: warn(f"run {self.run_id}: {message}"),
        )
        try:
            self.store.write(
                files, run_event_message(self.run_id, event, runfile.code_commit(meta))
            )
        except BaseException:
            if journal is not None:
                journal.remove()
            raise

    def start_flusher(self) -> None:
        self._flusher = threading.Thread(
            target=self._flush_loop, name="gitcfg-journal", daemon=True
        )
        self._flusher.start()

    def _requirements(self) -> bytes | None:
        """The installed distributions (environment.py) when cached (~2 ms); else None, and the
        final commit lists them (15-300 ms, once per environment: then cached)."""
        try:
            from gitcfg.environment import cached_requirements

            requirements = cached_requirements()
        except Exception as e:  # never fail a run over the environment record
            warn(f"could not list the installed packages ({e!r}); requirements.txt not recorded")
            return None
        self._requirements_pending = requirements is None
        return requirements

    # --- rows and the summary ------------------------------------------------------------------

    def add_row(self, row: dict[str, Any], finishing: bool) -> None:
        """Journal `row` and queue it for the summary (call with the lock held). Raises OSError
        when the journal cannot grow, unless `finishing`: the final commit then takes the row."""
        try:
            self._append_row(row)
        except OSError:
            if not finishing:
                raise
            self._unjournaled.append(row)
        self._queue.append(row)

    def _stop_journaling_rows(self, error: OSError) -> None:
        self._append_row = self._unjournaled.append
        warn(f"cannot journal the metrics of run {self.run_id} ({error}); keeping them in memory")

    def drain(self) -> None:
        """Fold the rows logged so far into the summary."""
        if not self._queue:
            return
        with self.lock:
            rows, self._queue = self._queue, []
            self.summary._observe(rows)
            self._rows_summarised += len(rows)
            self.summary_dirty = True

    def drain_backlog(self) -> None:
        """Fold the queue when no flusher does (a forked child's run) and it has grown long."""
        if self._flusher is None and len(self._queue) >= _BACKLOG_ROWS:
            self.drain()

    def _summary_changed(self) -> None:
        self.summary_dirty = True

    def flush(self, sync: bool = False, flusher: bool = False) -> None:
        """Drain, then journal the summary (and fdatasync the rows if `sync`); a failure is a
        warning. The rows themselves are journaled by add_row()."""
        with self.lock:  # short: log() waits on it. The file writes come after.
            if flusher and self._stop_flusher.is_set():
                return  # the run's end took over (it may have stopped waiting for this thread)
            self.drain()
            journal = self.journal
            if journal is None or self._journal_failed:
                return
            summary = self.summary._state() if self.summary_dirty else None
            self.summary_dirty = False
            rows = self._rows_summarised
        with self._journal_io:
            if flusher and self._stop_flusher.is_set():
                return
            try:
                if summary is not None:
                    journal.write_summary(summary, rows)
                if sync:
                    journal.sync()
            except OSError as e:
                self._journal_broke(e)

    def _flush_loop(self) -> None:
        journal = self.journal
        while not self._stop_flusher.wait(FLUSH_INTERVAL_S):
            try:
                self.flush(sync=True, flusher=True)
                if journal is not None and not self._journal_failed:
                    if not self._stop_flusher.is_set():  # the run has not ended
                        journal.beat()
            except Exception as e:  # never let the flusher die silently with rows unwritten
                self._warnings.limited("flusher", f"journal flush failed: {e!r}")

    def stop_flushing(self) -> None:
        flusher = self._flusher
        self._stop_flusher.set()
        if flusher is not None and flusher is not threading.current_thread() and flusher.is_alive():
            # Bounded: a signal handler finishing the run may interrupt the main thread while it
            # holds the lock the flusher is waiting for; the flusher then gives up (see flush).
            flusher.join(timeout=2 * FLUSH_INTERVAL_S)

    # --- run.yaml and config.yaml --------------------------------------------------------------

    def _journal_broke(self, error: OSError) -> None:
        self._journal_failed = True
        warn(f"cannot write the journal of run {self.run_id} ({error}); keeping metrics in memory")

    def write_meta(self, meta: Mapping[str, Any]) -> None:
        """Journal run.yaml's current fields (call with the lock held)."""
        journal = self.journal
        if journal is None or self._journal_failed or self.store is None:
            return  # the final commit records them
        try:
            journal.write_run_meta(meta)
        except OSError as e:
            self._journal_broke(e)

    def write_meta_now(self, meta: Mapping[str, Any]) -> None:
        """Journal run.yaml from a signal handler: no warning, a failure leaves recovery to record
        the run `crashed` with the same rows."""
        with self.lock:
            journal = None if self._journal_failed else self.journal
        if journal is not None:
            with self._journal_io:
                try:
                    journal.write_run_meta(meta)
                except OSError:
                    pass

    def config_yaml(self) -> bytes | None:
        """config.yaml for the config as it is now; None (a limited warning) when it cannot be
        recorded. Secret-looking keys new since the last call are said on stderr once each."""
        try:
            config_dict, masked = recorded_config(self._config, self._mask)
            config_yaml = dump_yaml(config_dict).encode()
        except (GitcfgError, TypeError, ValueError) as e:
            self._warnings.limited("config", f"cannot journal the config of run {self.run_id}: {e}")
            return None
        new_secrets = [key for key in masked if key not in self._masked_keys]
        if new_secrets:  # each key once, whenever it first appears
            self._masked_keys.update(new_secrets)
            warn("masked secret-looking config keys in the record: " + ", ".join(new_secrets))
        return config_yaml

    def journal_config(self, config_yaml: bytes, meta: Mapping[str, Any] | None) -> None:
        """Journal config.yaml when it changed, and run.yaml when `meta` is given (call with the
        lock held). What the journal holds already is not written again."""
        config_changed = config_yaml != self._config_yaml
        self._config_yaml = config_yaml
        journal = self.journal
        if journal is None or self._journal_failed:
            return
        try:
            if config_changed:
                journal.write_config(config_yaml)
            if meta is not None:
                journal.write_run_meta(meta)
        except OSError as e:
            self._journal_broke(e)

    # --- commits during the run ----------------------------------------------------------------

    def commit_saved(self, files: Mapping[str, bytes], meta: Mapping[str, Any]) -> None:
        """Files saved with `policy="now"`, committed at once; a failure is a warning."""
        if self.store is None:
            return
        try:
            message = run_event_message(
                self.run_id, f"saved {len(files)} files", runfile.code_commit(meta)
            )
            self.store.write(files, message)
        except (GitcfgError, OSError) as e:
            warn(f"could not commit the files saved by run {self.run_id} now ({e})")

    def commit_persisted(self, meta: Mapping[str, Any], config_yaml: bytes) -> None:
        """config.persist(): the run's config.yaml and run.yaml (still `running`), committed now."""
        assert self.store is not None
        files = run_files(meta)
        files[f"{run_dir(self.run_id)}/config.yaml"] = config_yaml
        message = run_event_message(self.run_id, "config persisted", runfile.code_commit(meta))
        try:
            self.store.write(files, message)
        except (GitcfgError, OSError) as e:  # journaled already: the final commit records it
            self._warnings.limited(
                "persist", f"could not commit the config of run {self.run_id}: {e}"
            )

    # --- the end -------------------------------------------------------------------------------

    def commit_final(self, meta: Mapping[str, Any], run_directory: str | None) -> bool:
        """The run's last commit: run.yaml as `meta` says, config, summary, every row, saved files
        (and `run_directory`'s), then the journal goes. False (a warning; the journal is kept for
        the next gitcfg command to commit) when it fails."""
        assert self.store is not None
        journal = self.journal
        try:
            config_dict, _ = recorded_config(self._config, self._mask)
            config_yaml: bytes | None = dump_yaml(config_dict).encode()
        except (GitcfgError, ValueError, TypeError) as e:
            # Losing the final status (the run would stay `running`, then read as crashed) is worse
            # than losing the last config change: record the last config that could be recorded.
            config_yaml = self._config_yaml
            warn(
                f"could not record the final config of run {self.run_id} ({e}); "
                "recording its last recorded config instead"
            )
        try:
            self.flush()
            rows = []
            if journal is not None:
                if not self._journal_failed:  # the final state first: if the commit fails,
                    if config_yaml is not None:  # the next gitcfg command commits it
                        journal.write_config(config_yaml)
                    journal.write_run_meta(meta)
                rows = journal.rows()
            metrics = rows_to_jsonl(rows + self._unjournaled)
            late = self._list_requirements(meta) if self._requirements_pending else None
            files, message = final_commit(meta, config_yaml, self.summary.as_dict(), metrics, late)
            if self.files is not None:  # saved files, run.dir, media
                files.update(self.files.final_files(run_directory))
            self.store.write(files, message)
        except (GitcfgError, OSError, ValueError, TypeError) as e:  # never kill the script over it
            where = f"; its journal {journal.path} is kept" if journal else ""
            warn(f"could not record the end of run {self.run_id}: {e}{where}")
            if journal is not None:
                journal.close()
            return False
        if journal is not None:
            try:
                journal.remove()
            except OSError as e:
                warn(f"could not remove the journal {journal.path}: {e}")
        return True

    def _list_requirements(self, meta: Mapping[str, Any]) -> bytes | None:
        """The installed distributions, read now (and cached); None on an unreadable one."""
        # Not at the end of an uncaught KeyboardInterrupt: CPython exits by SIGINT (status 130)
        # only if no exec()/eval() of a string runs before exit, and importlib.metadata's imports
        # run some (namedtuple). Such a run (Ctrl-C, cold cache) keeps no package list.
        if (meta.get(runfile.ERROR) or {}).get("type") == "KeyboardInterrupt":
            return None
        try:
            from gitcfg.environment import installed_requirements

            return installed_requirements()
        except Exception as e:
            warn(f"could not list the installed packages ({e!r}); requirements.txt not recorded")
            return None

    def detach(self) -> None:
        """In a forked child: the parent records this run; the child's copy writes nothing."""
        self.store = None
        self.journal = None  # the fd and the mapping are the parent's; never written here
        self._append_row = _discard
        self._unjournaled = []
        self._flusher = None
        self.lock = threading.RLock()
        self.summary._lock = self.lock
        self._stop_flusher = threading.Event()
