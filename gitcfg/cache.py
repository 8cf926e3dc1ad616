"""The query cache: a derived SQLite copy of the runs branch, keyed by its tip. Never the truth.

It lives in `<git common dir>/gitcfg/query-cache.sqlite` and may be deleted at any time.

    meta(key, value)          ref (the runs ref), tip (the runs commit the rows reflect)
    keys(key, col, runs)      every flat-row key (see rows.run_row), the column holding it, how many
                              runs have it; col is NULL past MAX_KEY_COLUMNS (then read from JSON)
    runs(run_id, okey, status, code_commit, name, c1, c2, ...)   WITHOUT ROWID: stored and
                              scanned in run id order however it was built (whole, split between
                              two processes, or refreshed), so SQL sums add in one order
        okey      started_at + " " + run_id: ORDER BY okey DESC is newest first
        cN        one column per flat-row key, the value typed natively (encode_cell)
    memo(key, value)          query results computed at this tip (Snapshot.memoized: which keys
                              vary, counts, --where selections, groupings), emptied when the tip
                              moves: warm queries recompute nothing
    memo_sets(token, run_id)  the runs of each kept --where selection (Snapshot.kept_selection)
    records(run_id, files, meta, config, summary)
                  run.yaml, config.yaml and summary.yaml as JSON: YAML is parsed once, here.
                  Apart from runs, so that scans of the narrow runs rows never touch them.

Freshness: the runs ref is read from its file (no git process). When it equals meta.tip the cache is
used as it is: no git, no YAML. Otherwise, holding `cache.lock`, `git diff-tree` old tip -> new tip
names the changed run directories; those are re-read with one `ls-tree` and one `cat-file --batch`
and replaced (added, modified and deleted alike) in one transaction. A missing or corrupt file, another
schema (PRAGMA user_version) or another runs ref rebuilds it from scratch in a new file beside it
(no rollback journal: it is written once), renamed into place when complete (RunCache._build_file).

A build lists the runs' directory trees (the fan-out trees, through one `git cat-file --batch`, into
a temporary table) and serves each run whose summary index entry (summaryindex.py) holds its
directory's tree id from that entry: the texts are copied as they are and the flat row is decoded,
no YAML is read. The others are listed (`ls-tree`) and read from their files. A large build from
scratch is split by index key between this process and a forked one, which writes the newer half
into a file of its own that is then copied in (_Writer.insert_indexed). The collector is off during
a build (it makes no garbage cycles).

Concurrency: WAL journal, so readers see one committed state and never wait for the writer;
busy_timeout for writers; one refresher at a time (flock on cache.lock); each Snapshot is one read
transaction, so a query never mixes two states. If the git dir cannot be written, the cache lives in
memory for the process.

Running runs: the cache holds what the branch holds (a running run's start commit), never live
values. Snapshot.overlay lays a running run's journaled values (live.py) over one snapshot, in
temporary views named `runs` and `records` that shadow the tables on its connection only.
"""

from __future__ import annotations

import gc
import itertools
import json
import marshal
import math
import os
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from gitcfg import gitio, summaryindex
from gitcfg.errors import AmbiguousRun, GitError, RunNotFound, StateNotWritable
from gitcfg.rows import run_row
from gitcfg.runfile import ROW_FIELDS
from gitcfg.store import (
    FANOUT_DEPTH,
    FANOUT_FORMAT,
    FANOUT_NAMES,
    RUN_YAML_FILES,
    RUNS_DIR,
    Store,
    branch_format,
    changed_run_dirs,
    missing_run_file,
    parse_run_path,
    read_row_mapping,
    run_dir,
)

SCHEMA = 9  # bump when the tables or what a row holds change: older caches are rebuilt
# meta rows keyed UNREADABLE + run id: which of the run's YAML files could not be read, and why
UNREADABLE = "unreadable:"
FILE_NAME = "query-cache.sqlite"
MAX_KEY_COLUMNS = 1900  # SQLite allows 2000 columns a table
_OVERLAYS = itertools.count(1)  # numbers the temporary tables of Snapshot.overlay
_CHUNK = 2000  # runs read, parsed and inserted per step of a build
_MAX_PATHSPECS = 400  # changed run dirs listed by name; more and the whole runs/ tree is listed
INDEX_FROM = 1000  # changed runs from which an incremental refresh reads the summary index too
_INDEX_FILES = 64  # summary index files read per step of a build (~256 runs each)
_MAX_INDEX_FILE = 64 << 20  # a larger index file (not one gitcfg writes) is ignored
_SQL_VARS = 900  # run ids bound in one `IN (...)`
_FEW_BRACKETS = 256  # a records text with more is checked by Python's json too (nesting)
# A JSON text shorter than this nests at most half as deep (600 levels, which Python's json reads):
# its brackets need not be counted (counting them all cost 0.4 s a 100,000-run build).
_SHORT_TEXT = 1200

Progress = Callable[[int, int], None]  # (runs done, runs in all)

# --- cells -------------------------------------------------------------------------------------
# A column holds str, int (64-bit) and finite float as SQLite TEXT, INTEGER and REAL. Everything
# else is a BLOB tagged by its first byte, so SQL equality and DISTINCT follow where.values_equal
# for scalars: 1 == 1.0 (INTEGER and REAL compare numerically), True is not 1, "1" is not 1,
# NaN equals NaN. SQL NULL means the run lacks the key; a null value is the BLOB b"N".

_NULL, _TRUE, _FALSE = b"N", b"T", b"F"
_INT64 = 2**63


def encode_cell(value: object) -> object:
    """Return the SQLite value that stores `value` in a key column."""
    kind = type(value)
    if kind is str:
        return value
    if kind is float:
        return value if math.isfinite(value) else b"X" + repr(value).encode()  # type: ignore[arg-type]
    if kind is int:
        return value if -_INT64 <= value < _INT64 else b"I" + str(value).encode()  # type: ignore[operator]
    if value is None:
        return _NULL
    if kind is bool:
        return _TRUE if value else _FALSE
    return b"J" + _encode_json(value).encode()


# json.dumps(value, ensure_ascii=False, default=str) without making an encoder at each call
_encode_json = json.JSONEncoder(ensure_ascii=False, default=str).encode


def decode_cell(cell: object) -> object:
    """Return the value a key column's cell stores (the inverse of encode_cell)."""
    if type(cell) is not bytes:
        return cell
    tag, body = cell[:1], cell[1:]
    if tag == _NULL:
        return None
    if tag == _TRUE:
        return True
    if tag == _FALSE:
        return False
    if tag == b"X":
        return float(body)
    if tag == b"I":
        return int(body)
    return json.loads(body)


_json = summaryindex.to_json  # the texts of records: the same as the summary index's


# --- selections --------------------------------------------------------------------------------


class Filter(NamedTuple):
    """Which runs a query reads, in SQL: by status and by code commit; None means any."""

    status: tuple[str, ...] | None = None
    code_commits: frozenset[str] | None = None


class StoredRow(NamedTuple):
    """One run as the cache holds it; meta, config and summary are JSON text, parsed on demand."""

    run_id: str
    status: str
    name: str | None
    code_commit: str | None
    files: str  # JSON list of the file names in the run directory
    meta: str
    config: str
    summary: str


# --- the cache ---------------------------------------------------------------------------------


def resolve_run(store: Store, run_id_prefix: str) -> str:
    """The full id of the run `run_id_prefix` names (a unique id prefix, or a run's name), read
    from the cache: no scan of the runs branch. RunNotFound / AmbiguousRun (listing candidates)."""
    with RunCache.open(store.repo, store.runs_ref).snapshot() as snapshot:
        try:
            return snapshot.resolve(run_id_prefix)
        except RunNotFound:  # a name given during the run is in its journal only (live.py)
            from gitcfg.live import live_views

            views = live_views(store, with_rows=False).values()
            named = [v.run_id for v in views if (v.meta or {}).get("name") == run_id_prefix.strip()]
            if len(named) == 1 and snapshot.record(named[0]) is not None:
                return named[0]
            raise


class RunCache:
    """The cache of one repository's runs branch; `open` brings it up to date with the tip."""

    def __init__(self, repo: gitio.Repo, runs_ref: str, path: Path | None) -> None:
        self.repo, self.runs_ref, self.path = repo, runs_ref, path  # path None: in memory
        self._memory: sqlite3.Connection | None = None
        # What the last refresh did: ("fresh" | "incremental" | "rebuild", runs read from git),
        # and how many of those runs came from the summary index rather than their files.
        self.last_refresh: tuple[str, int] = ("fresh", 0)
        self.from_index = 0

    @classmethod
    def open(
        cls,
        repo: gitio.Repo,
        runs_ref: str,
        progress: Progress | None = None,
        use_file: bool = True,
    ) -> RunCache:
        """Return the cache, refreshed to the runs ref's current tip (rebuilt if need be)."""
        cache = cls(repo, runs_ref, repo.state_dir / FILE_NAME if use_file else None)
        cache.refresh(progress)
        return cache

    def refresh(self, progress: Progress | None = None) -> None:
        """Bring the cache up to the runs ref's tip; a no-op (one file read) when it is there."""
        tip = gitio.read_ref(self.repo, self.runs_ref) or ""
        if self.path is None:
            self._refresh_memory(tip, progress)
            return
        conn: sqlite3.Connection | None = None
        try:
            conn = self._connect()
            if _state(conn) != (self.runs_ref, tip):
                with gitio.flock(self.path.parent / "cache.lock"):
                    done = _update(conn, self.repo, self.runs_ref, tip, progress, whole=False)
                    if done is None:  # nothing to build on: a new file, built aside
                        conn.close()
                        conn = None
                        done = self._build_file(tip, progress)
                    self.last_refresh, self.from_index = done
            else:
                self.last_refresh = ("fresh", 0)
        except sqlite3.DatabaseError as e:
            if conn is not None:
                conn.close()
            if _is_corrupt(e):
                self._rebuild_file(tip, progress)
            elif isinstance(e, sqlite3.OperationalError):  # read-only, locked too long, disk full
                self._fall_back_to_memory(tip, progress)
            else:
                raise
        except (OSError, StateNotWritable):  # the state directory cannot be created or written
            if conn is not None:
                conn.close()
            self._fall_back_to_memory(tip, progress)
        else:
            if conn is not None:
                conn.close()

    def snapshot(self) -> Snapshot:
        """Return a consistent read view of the cache (one read transaction until closed)."""
        if self._memory is not None:
            return Snapshot(self._memory, own=False)
        assert self.path is not None
        # The file may be deleted (or replaced) between refresh() and here: sqlite then opens a
        # new, empty file ("no such table: runs" at the first query). Refresh once more; should
        # that race again, the cache is built in memory for this command.
        for attempt in range(2):
            try:
                conn = self._connect()
            except sqlite3.DatabaseError:  # damaged since refresh()
                break
            try:
                snapshot = Snapshot(conn, own=True, path=self.path)
            except sqlite3.DatabaseError:
                conn.close()
                break
            if _state(conn) is not None:
                return snapshot
            snapshot.close()
            if attempt == 0:
                self.refresh()
                if self.path is None:  # refresh() fell back to memory
                    break
        self._fall_back_to_memory(gitio.read_ref(self.repo, self.runs_ref) or "", None)
        assert self._memory is not None
        return Snapshot(self._memory, own=False)

    # --- opening ---

    def _connect(self) -> sqlite3.Connection:
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            gitio.share(self.path.parent, self.path)  # -wal and -shm take the file's mode
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(
                "PRAGMA synchronous=NORMAL"
            )  # a derived file: a crash may lose, not corrupt
        except sqlite3.DatabaseError:
            conn.close()
            raise
        return conn

    def _rebuild_file(self, tip: str, progress: Progress | None) -> None:
        """Replace a damaged cache file with a fresh one."""
        assert self.path is not None
        try:
            with gitio.flock(self.path.parent / "cache.lock"):
                self.last_refresh, self.from_index = self._build_file(tip, progress)
        except (OSError, sqlite3.DatabaseError):
            self._fall_back_to_memory(tip, progress)

    def _build_file(self, tip: str, progress: Progress | None) -> tuple[tuple[str, int], int]:
        """Build the cache from scratch in a new file beside it, then rename it into place (the
        caller holds cache.lock).

        A new file needs no rollback journal: built with journal_mode=OFF and synchronous=OFF,
        a 100k-run cache is written once instead of three times (WAL, then checkpoint), about
        4 s less. A process still reading the old file keeps its inode until it closes it; the
        old file's -wal and -shm are removed first, so the new file never meets them. A build
        killed midway leaves its `.new-<pid>` file behind: the next build removes it."""
        assert self.path is not None
        new = self.path.with_name(f"{self.path.name}.new-{os.getpid()}")
        conn = None
        try:
            # a build killed midway left its file: under cache.lock no other build is running
            for stale in self.path.parent.glob(f"{self.path.name}.new-*"):
                stale.unlink(missing_ok=True)
            _unlink_db(new)
            conn = sqlite3.connect(new, isolation_level=None, check_same_thread=False)
            _build_pragmas(conn)
            part = new.with_name(new.name + ".part")  # a stale one: removed with `new-*` above
            done = _update(conn, self.repo, self.runs_ref, tip, progress, part=part)
            assert done is not None
            conn.execute("PRAGMA journal_mode=WAL")
            conn.close()
            conn = None
            gitio.share(new)
            for suffix in ("-wal", "-shm"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)
            os.replace(new, self.path)
        except BaseException:
            if conn is not None:
                conn.close()
            _unlink_db(new)
            raise
        return done

    def _fall_back_to_memory(self, tip: str, progress: Progress | None) -> None:
        self.path = None
        self._refresh_memory(tip, progress)

    def _refresh_memory(self, tip: str, progress: Progress | None) -> None:
        if self._memory is None:
            self._memory = sqlite3.connect(
                ":memory:", isolation_level=None, check_same_thread=False
            )
        if _state(self._memory) != (self.runs_ref, tip):
            done = _update(self._memory, self.repo, self.runs_ref, tip, progress)
            assert done is not None  # whole: never left to the caller
            self.last_refresh, self.from_index = done
        else:
            self.last_refresh = ("fresh", 0)


def _build_pragmas(conn: sqlite3.Connection) -> None:
    """A connection building a cache file from scratch: the file is written once (no rollback
    journal, no sync: a build killed midway leaves a file the next build removes), temporary
    tables in memory (the run listing: ~70 bytes a run) and a 32 MB page cache (the default 2 MB
    made each lookup of a 1M-run build read its B-tree pages from the file again)."""
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.execute("PRAGMA cache_size=-32768")


def _unlink_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def _is_corrupt(error: sqlite3.DatabaseError) -> bool:
    name = getattr(error, "sqlite_errorname", "")  # Python >= 3.11
    text = str(error)
    return (
        name in ("SQLITE_CORRUPT", "SQLITE_NOTADB")
        or "not a database" in text
        or ("malformed" in text)
    )


def _state(conn: sqlite3.Connection) -> tuple[str, str] | None:
    """Return (runs_ref, tip) the cache reflects; None when empty or of another schema."""
    if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA:
        return None
    try:
        values = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('ref', 'tip')"))
    except sqlite3.OperationalError:  # no meta table: an empty file
        return None
    if "ref" not in values or "tip" not in values:
        return None
    return values["ref"], values["tip"]


_CREATE = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE keys (
    key TEXT PRIMARY KEY,
    col INTEGER,
    runs INTEGER NOT NULL DEFAULT 0,
    newest TEXT,
    place INTEGER
);
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,
    okey TEXT NOT NULL,
    status TEXT NOT NULL,
    code_commit TEXT,
    name TEXT
) WITHOUT ROWID;
CREATE TABLE memo (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE memo_sets (token TEXT NOT NULL, run_id TEXT NOT NULL, PRIMARY KEY (token, run_id))
    WITHOUT ROWID;
CREATE TABLE records (
    run_id TEXT PRIMARY KEY,
    files TEXT NOT NULL,
    meta TEXT NOT NULL,
    config TEXT NOT NULL,
    summary TEXT NOT NULL
);
"""


# Created after a build's rows (Writer.finish): building an index at the end is faster than
# keeping it up to date through 100,000 inserts.
_INDEXES = ("CREATE INDEX runs_okey ON runs (okey)", "CREATE INDEX runs_name ON runs (name)")


def _update(
    conn: sqlite3.Connection,
    repo: gitio.Repo,
    runs_ref: str,
    tip: str,
    progress: Progress | None,
    whole: bool = True,
    part: Path | None = None,
) -> tuple[tuple[str, int], int] | None:
    """Bring the tables to `tip` in one write transaction, incrementally when possible.

    Returns what it did: ("fresh" | "incremental" | "rebuild", runs read from git), and how many
    of those runs came from the summary index. With `whole` False, a rebuild from scratch is
    left to the caller (RunCache._build_file): None, nothing changed. `part`: a file a build
    from scratch may have a second process write half the runs into (_Writer.insert_indexed).
    """
    conn.execute("BEGIN IMMEDIATE")
    collecting = gc.isenabled()
    gc.disable()  # a build makes no garbage cycles: the collector's passes cost ~15% of it
    writer: _Writer | None = None
    try:
        state = _state(conn)
        if state == (runs_ref, tip):  # another process did it while we waited for the lock
            conn.execute("COMMIT")
            return ("fresh", 0), 0
        changed: dict[str, str] | None = None  # run id -> its dir
        if state is not None and state[0] == runs_ref and state[1] and tip:
            try:
                changed = changed_run_dirs(repo, state[1], tip)
            except GitError:  # the old tip is gone (gc after a force-push): rebuild
                changed = None
        if changed is None and not whole:
            conn.execute("ROLLBACK")
            return None
        writer = _Writer(conn, part)
        if changed is None:
            writer.reset()
        else:
            writer.load_keys()
            writer.delete(list(changed))  # modified runs are re-read below; deleted ones stay out
        writer.clear_memo()
        total = 0
        if tip and (changed is None or changed):
            if changed is not None and len(changed) < INDEX_FROM:
                total = writer.stage_listing(_listing(repo, tip, changed))
            else:
                total = writer.insert_indexed(repo, tip, changed)
            writer.insert_runs(repo, progress, total)
        writer.finish(runs_ref, tip)
        conn.execute("COMMIT")
        return ("rebuild" if changed is None else "incremental", total), writer.from_index
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        if writer is not None and writer.attached:
            conn.execute("DETACH DATABASE part")
        if collecting:
            gc.enable()


def _listing(
    repo: gitio.Repo, tip: str, changed: Mapping[str, str] | None
) -> Iterator[tuple[str, str, str]]:
    """(run id, its run.yaml, config.yaml and summary.yaml blob ids joined by spaces (NO_FILE for
    one it lacks), JSON of its sorted file names) of every run at `tip` (changed None) or of the
    runs in `changed` still there, streamed from one `git ls-tree`: never the whole listing at once.

    A run's files are listed together: a path is parsed (parse_run_path) once per directory."""
    if changed is not None and len(changed) <= _MAX_PATHSPECS:
        blocks = gitio.iter_tree_lines(repo, tip, *(d + "/" for d in changed.values()))
    else:
        blocks = gitio.iter_tree_lines(repo, tip, RUNS_DIR + "/")
    run_id, last_dir, inside = "", "", ""
    files: dict[str, str] = {}
    names_json: dict[tuple[str, ...], str] = {}  # most runs have the same file names
    for lines in blocks:
        for line in lines:
            tab = line.find("\t")
            path = line[tab + 1 :]
            directory, _, name = path.rpartition("/")
            if directory != last_dir:
                last_dir = directory
                parsed = parse_run_path(path)
                if parsed is None or (changed is not None and parsed[0] not in changed):
                    inside = "\0"  # not a run's file: skip this directory
                    continue
                inside = parsed[2][: len(parsed[2]) - len(name)]
                if parsed[0] != run_id:
                    if files:
                        yield _listed(run_id, files, names_json)
                    run_id, files = parsed[0], {}
            elif inside == "\0":
                continue
            files[inside + name] = line[line.rfind(" ", 0, tab) + 1 : tab]
    if files:
        yield _listed(run_id, files, names_json)


def _listed(
    run_id: str, files: Mapping[str, str], names_json: dict[tuple[str, ...], str]
) -> tuple[str, str, str]:
    names = tuple(sorted(files))
    text = names_json.get(names)
    if text is None:
        text = names_json[names] = _json(list(names))
    return run_id, " ".join(files.get(n, summaryindex.NO_FILE) for n in RUN_YAML_FILES), text


def _run_trees(
    reader: gitio.BatchReader, tip: str, changed: Mapping[str, str] | None
) -> Iterator[list[tuple[str, str]]]:
    """(run id, its directory's tree id) of every run at `tip` (changed None) or of the runs in
    `changed` still there, a block at a time, from the fan-out trees (FORMAT 2) through
    `reader`: 33,825 small trees whatever the number of runs, never a run's own tree (a listing
    of every file, `ls-tree -r`, reads a tree a run and prints five lines a run)."""
    oid_bytes = len(tip) // 2
    level = [(RUNS_DIR, f"{tip}:{RUNS_DIR}")]
    for depth in range(FANOUT_DEPTH + 1):
        below: list[tuple[str, str]] = []
        for start in range(0, len(level), _TREES):
            part = level[start : start + _TREES]
            found: list[tuple[str, str]] = []
            for (path, _), data in zip(part, reader.iter_many([n for _, n in part]), strict=True):
                try:
                    entries = gitio.tree_entries(data or b"", oid_bytes)
                except ValueError:  # a damaged tree: its runs are not listed
                    continue
                if depth < FANOUT_DEPTH:
                    below.extend((f"{path}/{n}", o) for m, n, o in entries if m == gitio.TREE_MODE)
                    continue
                # runs/<a>/<b>/<c>/<id>: a generated id's 8th, 9th and last characters are
                # <a>, <b>, <c> (store.fanout); any other name is checked by parse_run_path
                _, a, b, c = path.split("/")
                ab = a + b if {a, b, c} <= FANOUT_NAMES else None
                for mode, name, oid in entries:
                    if mode != gitio.TREE_MODE:
                        continue
                    if not (name[7:9] == ab and name[-1] == c and len(name) > 9):
                        parsed = parse_run_path(f"{path}/{name}/{RUN_YAML_FILES[0]}")
                        if parsed is None or parsed[1] != f"{path}/{name}":
                            continue
                    if changed is None or name in changed:
                        found.append((name, oid))
            if found:
                yield found
        level = below


_TREES = 4096  # fan-out trees read per request of a build


class _RunFiles(NamedTuple):
    run_id: str
    oids: tuple[str, ...]  # run.yaml, config.yaml, summary.yaml blob ids (NO_FILE: absent)
    names: str  # JSON list of the file names in the run directory


def _batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _id_chunks(run_ids: Sequence[str]) -> Iterator[tuple[list[str], str]]:
    """`run_ids` in chunks that one `IN (...)` can bind, each with its `?, ?, ...` marks."""
    for start in range(0, len(run_ids), _SQL_VARS):
        chunk = list(run_ids[start : start + _SQL_VARS])
        yield chunk, ",".join("?" * len(chunk))


def _fixed_values(values: Sequence[Any]) -> tuple[str, str, str, str | None, str | None]:
    """A run row's run_id, okey, status, code_commit and name cells (runs table order), from its
    values (a row begins with runfile.ROW_FIELDS, in that order)."""
    name, commit, started = values[_NAME], values[_COMMIT], values[_STARTED]
    return (
        values[_ID],
        f"{started or ''} {values[_ID]}",
        values[_STATUS],
        commit if isinstance(commit, str) else None,
        name if isinstance(name, str) else None,
    )


def _json_objects(texts: Sequence[str]) -> bool:
    """Whether each of `texts` is a JSON object, as Python's json reads it, nested at most
    _MAX_DEPTH deep."""
    try:
        values = [json.loads(text) for text in texts]
    except (ValueError, RecursionError):  # RecursionError: nested past json's limit
        return False
    return all(isinstance(value, dict) and _shallow(value) for value in values)


# A run's YAML nests at most yamlio.MAX_YAML_DEPTH (100) deep, so no honest entry nests deeper
# than this; one that does could fail each later json.loads of it, deeper in a command's stack.
_MAX_DEPTH = 200


def _shallow(value: object) -> bool:
    """Whether `value` (parsed JSON) nests at most _MAX_DEPTH lists and mappings deep."""
    level: list[object] = [value]
    for _ in range(_MAX_DEPTH + 1):
        level = [
            inner
            for outer in level
            if isinstance(outer, (dict, list))
            for inner in (outer.values() if isinstance(outer, dict) else outer)
        ]
        if not level:
            return True
    return False


def _entry_rows(
    entries: Sequence[summaryindex.Entry], shapes: dict[tuple[str, ...], bool]
) -> list[tuple[tuple[str, ...], list[Any]] | None]:
    """The flat row each summary index entry holds as (keys, values), decoded in one pass; None
    for a damaged one (the run is then read from its files). Computed from the entry's texts
    when its row's run fields are not runfile.ROW_FIELDS (written by a gitcfg whose rows.run_row
    had other fields: a row of another shape than the others). `shapes`: whether rows of these
    keys begin with those run fields (the rows of one index file share a few key lists)."""
    texts = [e.row for e in entries]
    try:
        decoded: list[Any] = json.loads("[" + ",".join(texts) + "]")
        if len(decoded) != len(texts):  # a row that is not one JSON value
            raise ValueError
    except (ValueError, RecursionError):  # RecursionError: nested past json's limit
        decoded = [_loads(text) for text in texts]
    rows: list[tuple[tuple[str, ...], list[Any]] | None] = []
    for entry, row in zip(entries, decoded, strict=True):
        kind = type(row)
        if kind is list:
            keys = entry.keys
            if keys is None or len(row) != len(keys) + 1:
                rows.append(None)
                continue
            values = row[1:]
        elif kind is dict:
            keys, values = tuple(row), list(row.values())
        else:
            rows.append(None)
            continue
        fits = shapes.get(keys)
        if fits is None:
            fits = shapes[keys] = keys[: len(ROW_FIELDS)] == ROW_FIELDS
        if not fits:
            computed = _row_of_texts(entry)
            if computed is None:
                rows.append(None)
                continue
            keys, values = tuple(computed), list(computed.values())
        elif (
            len(entry.row) >= _SHORT_TEXT
            and entry.row.count("[") + entry.row.count("{") > _FEW_BRACKETS
            and not _shallow(row)
        ):
            rows.append(None)
            continue
        if values[_ID] != entry.run_id or type(values[_STATUS]) is not str:
            rows.append(None)
            continue
        rows.append((keys, values))
    return rows


# where a row's run fields are (rows begin with runfile.ROW_FIELDS)
_ID, _NAME, _STATUS, _STARTED, _COMMIT = (
    ROW_FIELDS.index(field) for field in ("id", "name", "status", "started", "code_commit")
)


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _row_of_texts(entry: summaryindex.Entry) -> dict[str, Any] | None:
    meta, config, summary = (_loads(text) for text in entry.texts)
    if not (type(meta) is dict and type(config) is dict and type(summary) is dict):
        return None
    return run_row(entry.run_id, meta, config, summary)


def _index_batches(
    reader: gitio.BatchReader, files: Sequence[str]
) -> Iterator[dict[str, summaryindex.Entry]]:
    """The summary index entries of the blobs `files`, _INDEX_FILES at a time."""
    entries: dict[str, summaryindex.Entry] = {}
    for count, blob in enumerate(reader.iter_many(files), 1):
        if blob is not None:
            entries.update((e.run_id, e) for e in summaryindex.parse_index(blob))
        if count % _INDEX_FILES == 0 or count == len(files):
            yield entries
            entries = {}


def _encode_column(values: Sequence[Any]) -> Sequence[Any]:
    """The cells of one key's values (encode_cell of each), C loops for the common columns:
    text, and numbers that SQLite stores as they are."""
    kinds = set(map(type, values))
    if kinds <= _TEXT:
        return values
    if kinds <= _NUMBERS:
        try:
            if all(map(math.isfinite, values)) and -_INT64 <= min(values) and max(values) < _INT64:
                return values
        except OverflowError:  # an int past a float's range
            pass
    return list(map(encode_cell, values))


_TEXT = frozenset((str,))
_NUMBERS = frozenset((int, float))


def _index_files(repo: gitio.Repo, tip: str) -> list[gitio.SizedEntry]:
    """The summary index files at `tip` gitcfg would write (by path: by index key)."""
    if gitio.promisor_remote(repo) is not None:
        # A partial clone fetches the index files it lacks in one batch first: listing the
        # size of a missing blob makes git fetch that one object (one fetch a file). Past a
        # clone's blob limit that fetches a hostile file of any size too, which is then
        # skipped by its size below, never read.
        index_files = gitio.ls_tree(repo, tip, summaryindex.INDEX_DIR + "/")
        gitio.prefetch(repo, [e.oid for e in index_files if e.kind == "blob"])
    listed = gitio.ls_blobs(repo, tip, summaryindex.INDEX_DIR)[summaryindex.INDEX_DIR]
    # a larger file is not one gitcfg writes: never read (a pulled blob of gigabytes of one
    # repeated byte is a few kilobytes packed)
    return sorted((e for e in listed if e.size <= _MAX_INDEX_FILE), key=lambda e: _file_key(e.path))


def _file_key(path: str) -> str:
    """The index key prefix an index file holds (its name): files sort by it."""
    return path.rsplit("/", 1)[-1].removesuffix(".tsv")


def _in_range(run_id: str, low: str, high: str | None) -> bool:
    key = summaryindex.index_key(run_id)
    return low <= key and (high is None or key < high)


# From this many index files (~34 runs each at 1M runs, up to 256) a build from scratch is split
# between two processes; below, forking and copying would cost more than they save.
_SPLIT_FROM = 400


def _can_split(files: Sequence[gitio.SizedEntry]) -> bool:
    """Whether a build may fork (_fork_part): enough files, a second CPU, Linux, and no other
    thread (a thread holding a lock at the fork would leave the child waiting for it forever)."""
    import sys
    import threading

    return (
        len(files) >= _SPLIT_FROM
        and sys.platform.startswith("linux")
        and (os.cpu_count() or 1) > 1
        and threading.active_count() == 1
    )


def _middle_key(files: Sequence[gitio.SizedEntry]) -> str:
    """The key prefix that splits `files` into halves of about equal bytes (the work)."""
    half, seen = sum(f.size for f in files) / 2, 0
    for f in files:
        seen += f.size
        if seen >= half:
            return _file_key(f.path)
    return _file_key(files[-1].path)


class _Part:
    """A forked process building part of a cache into its own file (_fork_part)."""

    def __init__(self, pid: int, path: Path) -> None:
        self.pid, self.path, self.reaped = pid, path, False


def _fork_part(
    path: Path, repo: gitio.Repo, tip: str, files: Sequence[gitio.SizedEntry], low: str
) -> _Part:
    """Fork a process that builds the runs whose index key is `low` or above into the cache
    file at `path` (tables as _Writer.reset makes them, plus `signatures` and `part:` meta rows
    for _Writer._merge_part), from the index `files` and the run directories' trees the file's
    `gitcfg_trees` table holds; it exits 0 when the file is complete.

    The child uses nothing of the parent's but its memory: its own SQLite connection and git
    processes, and it leaves by os._exit (no cleanup of the parent's objects)."""
    pid = os.fork()
    if pid:
        return _Part(pid, path)
    code = 1
    try:
        conn = sqlite3.connect(path, isolation_level=None)
        _build_pragmas(conn)
        conn.execute("BEGIN")
        writer = _Writer(conn)
        writer.reset()
        writer.stage_trees(())
        conn.execute("INSERT INTO temp.gitcfg_trees SELECT run_id, tree FROM main.gitcfg_trees")
        conn.execute("DROP TABLE main.gitcfg_trees")
        total = writer.insert_range(repo, tip, None, files, low, None, staged=True)
        writer.insert_runs(repo, None, total)
        writer.flush()
        conn.execute("CREATE TABLE signatures (signature TEXT, count INTEGER, newest TEXT)")
        conn.executemany(
            "INSERT INTO signatures VALUES (?, ?, ?)",
            [(_json(list(k)), n, writer.newest[k]) for k, n in writer.signatures.items()],
        )
        done = {"part:total": total, "part:from_index": writer.from_index, "part:done": 1}
        conn.executemany("INSERT INTO meta VALUES (?, ?)", [(k, str(v)) for k, v in done.items()])
        conn.execute("COMMIT")
        conn.close()
        code = 0
    finally:
        os._exit(code)


def _end_part(child: _Part) -> None:
    """Stop the forked process if it still runs (the parent failed), and remove its file."""
    if not child.reaped:
        import signal

        try:
            os.kill(child.pid, signal.SIGKILL)
            os.waitpid(child.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        child.reaped = True
    _unlink_db(child.path)


def _rank_cells(rank: tuple[str, int] | None) -> tuple[str | None, int | None]:
    """A key's rank as the keys table's newest and place cells."""
    return (None, None) if rank is None else (rank[0], -rank[1])


def _records_row(run_id: str, meta: str, config: str, summary: str) -> dict[str, Any]:
    """The flat row of a run read back from its records texts (JSON)."""
    return run_row(run_id, json.loads(meta), json.loads(config), json.loads(summary))


def _places(run_id: str, meta: str, config: str, summary: str) -> dict[str, int]:
    """Each key's place in the row of a run read back from its records texts."""
    return {key: place for place, key in enumerate(_records_row(run_id, meta, config, summary))}


class _Writer:
    """Writes runs into the tables inside the caller's transaction, adding key columns as needed."""

    def __init__(self, conn: sqlite3.Connection, part: Path | None = None) -> None:
        self.conn = conn
        self.part = part  # where a second process may write half a build (insert_indexed)
        self.attached = False  # that file is attached as `part` (_merge_part)
        self.names_seen: dict[str, bool] = {}  # names field -> usable (_names_ok)
        self.columns: dict[str, int | None] = {}
        self.next_column = 1
        self.counts: Counter[str] = Counter()
        self.indexes_due = False  # reset() leaves the runs table's indexes to finish()
        self.signatures: Counter[tuple[str, ...]] = Counter()  # key tuples of the rows inserted
        self.newest: dict[tuple[str, ...], str] = {}  # key tuple -> the newest run id having it
        # key -> (the newest run id having it, minus its place in that run's row): the keys
        # table's order (_order_keys); of the cache before this write, for an incremental one
        self.ranks: dict[str, tuple[str, int]] = {}
        self.removed: set[str] = set()  # runs deleted (gone, or to be re-read) by this write
        self.plans: dict[tuple[str, ...], tuple[tuple[int, ...], list[bool] | None]] = {}
        self.statements: dict[tuple[int, ...], str] = {}
        self.pending: dict[tuple[int, ...], list[tuple[Any, ...]]] = {}  # key columns -> rows
        self.pending_records: list[tuple[str, str, str, str, str]] = []
        self.pending_unreadable: list[tuple[str, str]] = []  # meta rows: UNREADABLE + run id
        self.from_index = 0  # runs inserted from their summary index entry
        self.shapes: dict[tuple[str, ...], bool] = {}  # row keys -> begin with the run fields

    def reset(self) -> None:
        for table in ("meta", "keys", "runs", "records", "memo", "memo_sets"):
            self.conn.execute(f"DROP TABLE IF EXISTS {table}")
        # One statement at a time: executescript() would commit the open transaction first.
        for statement in _CREATE.split(";"):
            if statement.strip():
                self.conn.execute(statement)
        self.conn.execute(f"PRAGMA user_version = {SCHEMA}")
        self.indexes_due = True

    def clear_memo(self) -> None:
        """Forget the query results kept for the old tip (Snapshot.memo)."""
        self.conn.execute("DELETE FROM memo")
        self.conn.execute("DELETE FROM memo_sets")

    def load_keys(self) -> None:
        for key, col, newest, place in self.conn.execute(
            "SELECT key, col, newest, place FROM keys ORDER BY rowid"
        ):
            self.columns[key] = col
            if col is not None:
                self.next_column = max(self.next_column, col + 1)
            if newest is not None:
                self.ranks[key] = (newest, -place)

    def delete(self, run_ids: Sequence[str]) -> None:
        """Remove runs (to be re-read, or gone from the branch), keeping the key counts right.

        The keys subtracted are those the runs' rows hold in the runs table (what the insert
        counted, whichever way the run was read); keys past MAX_KEY_COLUMNS, from the texts."""
        by_col = {col: key for key, col in self.columns.items() if col is not None}
        cols = sorted(by_col)
        wide = len(by_col) < len(self.columns)  # some keys have no column
        self.removed.update(run_ids)
        select = "".join(f", c{n}" for n in cols)
        for chunk, marks in _id_chunks(run_ids):
            for _, *cells in self.conn.execute(
                f"SELECT run_id{select} FROM runs WHERE run_id IN ({marks})", chunk
            ):
                self.counts.subtract(
                    by_col[n] for n, cell in zip(cols, cells, strict=True) if cell is not None
                )
            for run_id, meta, config, summary in (
                self.conn.execute(
                    f"SELECT run_id, meta, config, summary FROM records WHERE run_id IN ({marks})",
                    chunk,
                )
                if wide
                else ()
            ):
                row = _records_row(run_id, meta, config, summary)
                self.counts.subtract(key for key in row if self.columns.get(key, 0) is None)
            self.conn.execute(f"DELETE FROM runs WHERE run_id IN ({marks})", chunk)
            self.conn.execute(f"DELETE FROM records WHERE run_id IN ({marks})", chunk)
            self.conn.execute(
                f"DELETE FROM meta WHERE key IN ({marks})", [UNREADABLE + r for r in chunk]
            )

    def stage_listing(self, listing: Iterable[tuple[str, str, str]], fresh: bool = True) -> int:
        """Keep the runs to read in a temporary table (SQLite sorts them, not Python); their
        count. `fresh` False adds to the runs staged before."""
        if fresh:
            self.conn.execute("DROP TABLE IF EXISTS temp.gitcfg_listing")
        self.conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS gitcfg_listing "
            "(run_id TEXT PRIMARY KEY, oids TEXT, names TEXT)"
        )
        total = 0
        insert = "INSERT OR REPLACE INTO temp.gitcfg_listing VALUES (?, ?, ?)"
        for batch in _batched(listing, 5000):
            self.conn.executemany(insert, batch)
            total += len(batch)
        return total

    def stage_trees(self, blocks: Iterable[list[tuple[str, str]]]) -> int:
        """Keep each run's directory tree id in a temporary table; their count."""
        self.conn.execute("DROP TABLE IF EXISTS temp.gitcfg_trees")
        self.conn.execute("CREATE TEMP TABLE gitcfg_trees (run_id TEXT PRIMARY KEY, tree TEXT)")
        total = 0
        for block in blocks:
            self.conn.executemany("INSERT OR REPLACE INTO temp.gitcfg_trees VALUES (?, ?)", block)
            total += len(block)
        return total

    def insert_indexed(self, repo: gitio.Repo, tip: str, changed: Mapping[str, str] | None) -> int:
        """Insert the runs at `tip` (changed None: all; else those of `changed` still there)
        whose summary index entry (summaryindex.py) holds their directory's tree id: their texts
        are copied as they are and their flat row decoded, no YAML read. Then list the files of
        the others (stage_listing) for insert_runs. Returns the runs at `tip` to insert.

        A large build from scratch into a file is split in two by index key: a forked process
        builds the newer half into `self.part`, which is then copied in (_merge_part)."""
        with gitio.BatchReader(repo) as reader:
            version = branch_format(reader, tip)
        if version < FANOUT_FORMAT:  # never indexed (a gitcfg write migrates the branch first)
            return self.stage_listing(_listing(repo, tip, changed))
        files = _index_files(repo, tip)
        if changed is not None or self.part is None or not _can_split(files):
            return self.insert_range(repo, tip, changed, files, "", None)
        boundary = _middle_key(files)
        older = [f for f in files if _file_key(f.path) < boundary]
        newer = [f for f in files if _file_key(f.path) >= boundary]
        # One walk of the fan-out trees for both: this process's runs staged here, the
        # others' written to the second process's file before it starts.
        _unlink_db(self.part)
        theirs = sqlite3.connect(self.part, isolation_level=None)
        try:
            _build_pragmas(theirs)
            theirs.execute("BEGIN")
            theirs.execute("CREATE TABLE gitcfg_trees (run_id TEXT PRIMARY KEY, tree TEXT)")

            def split(block: list[tuple[str, str]]) -> list[tuple[str, str]]:
                sides: tuple[list[tuple[str, str]], list[tuple[str, str]]] = ([], [])
                for item in block:
                    sides[_in_range(item[0], "", boundary)].append(item)
                others, mine = sides
                if others:
                    theirs.executemany("INSERT OR REPLACE INTO gitcfg_trees VALUES (?, ?)", others)
                return mine

            with gitio.BatchReader(repo) as reader:
                self.stage_trees(map(split, _run_trees(reader, tip, None)))
            theirs.execute("COMMIT")
        finally:
            theirs.close()
        child = _fork_part(self.part, repo, tip, newer, boundary)
        try:
            total = self.insert_range(repo, tip, None, older, "", boundary, staged=True)
            merged = self._merge_part(child)
        finally:
            _end_part(child)
        if merged is None:  # the second process failed: build its half here
            return total + self.insert_range(repo, tip, None, newer, boundary, None, fresh=False)
        return total + merged

    def insert_range(
        self,
        repo: gitio.Repo,
        tip: str,
        changed: Mapping[str, str] | None,
        files: Sequence[gitio.SizedEntry],
        low: str,
        high: str | None,
        fresh: bool = True,
        staged: bool = False,
    ) -> int:
        """insert_indexed for the runs whose index key is in [low, high) (high None: no bound),
        served from the index `files`. `staged`: their directories' trees are staged already
        (stage_trees); else the fan-out trees are walked here."""
        if not staged:

            def inside(block: list[tuple[str, str]]) -> list[tuple[str, str]]:
                return [item for item in block if _in_range(item[0], low, high)]

            # two readers, one after the other: the walk maps much of the pack (tree deltas),
            # and git would keep those pages mapped while it reads the index (1M runs: 340 MB)
            with gitio.BatchReader(repo) as reader:
                trees = _run_trees(reader, tip, changed)
                self.stage_trees(map(inside, trees) if low or high is not None else trees)
        total: int = self.conn.execute("SELECT count(*) FROM temp.gitcfg_trees").fetchone()[0]
        with gitio.BatchReader(repo) as reader:
            for entries in _index_batches(reader, [f.oid for f in files]):
                self._insert_entries(entries)
        rest = [
            run_id
            for (run_id,) in self.conn.execute(
                "SELECT t.run_id FROM temp.gitcfg_trees t WHERE NOT EXISTS "
                "(SELECT 1 FROM main.records r WHERE r.run_id = t.run_id) LIMIT ?",
                (_MAX_PATHSPECS + 1,),
            )
        ]
        self.conn.execute("DROP TABLE IF EXISTS temp.gitcfg_trees")
        if len(rest) > _MAX_PATHSPECS:  # insert_runs skips the runs inserted
            listing = _listing(repo, tip, changed)
            if low or high is not None:
                listing = (item for item in listing if _in_range(item[0], low, high))
            self.stage_listing(listing, fresh)
        else:
            self.stage_listing(
                _listing(repo, tip, {r: run_dir(r) for r in rest}) if rest else (), fresh
            )
        return total

    def _merge_part(self, child: _Part) -> int | None:
        """Copy the runs a forked process built (_fork_part) into the tables; the runs it read
        from git, or None when it failed (its half is then built here)."""
        try:
            _, status = os.waitpid(child.pid, 0)
        except ChildProcessError:  # SIGCHLD ignored: the child's end is not known
            return None
        child.reaped = True
        if status != 0:
            return None
        self.conn.execute("ATTACH DATABASE ? AS part", (str(child.path),))
        self.attached = True  # detached after the transaction (_update): not within it
        info = dict(self.conn.execute("SELECT key, value FROM part.meta WHERE key LIKE 'part:%'"))
        keys = self.conn.execute("SELECT key, col FROM part.keys ORDER BY rowid").fetchall()
        if info.get("part:done") != "1" or any(col is None for _, col in keys):
            return None
        if len(set(self.columns) | {key for key, _ in keys}) > MAX_KEY_COLUMNS:
            return None
        mapping = []
        for key, col in keys:
            mine = self.columns.get(key, 0)
            if mine == 0:
                mine = self._add_column(key)
            mapping.append((col, mine))
        fixed = "run_id, okey, status, code_commit, name"
        mine_cols = "".join(f", c{mine}" for _, mine in mapping)
        part_cols = "".join(f", c{col}" for col, _ in mapping)
        self.flush()
        self.conn.execute(
            f"INSERT INTO main.runs ({fixed}{mine_cols}) SELECT {fixed}{part_cols} FROM part.runs"
        )
        self.conn.execute("INSERT INTO main.records SELECT * FROM part.records ORDER BY rowid")
        self.conn.execute(
            "INSERT OR REPLACE INTO main.meta SELECT key, value FROM part.meta "
            "WHERE key >= ? AND key < ?",
            (UNREADABLE, UNREADABLE + "\U0010ffff"),
        )
        for signature, count, newest in self.conn.execute(
            "SELECT signature, count, newest FROM part.signatures"
        ):
            keys_of = tuple(json.loads(signature))
            self.signatures[keys_of] += count
            if newest > self.newest.get(keys_of, ""):
                self.newest[keys_of] = newest
        self.from_index += int(info["part:from_index"])
        return int(info["part:total"])

    def _insert_entries(self, entries: Mapping[str, summaryindex.Entry]) -> None:
        """Insert the runs of `entries` that are staged with the same tree id and not inserted
        yet (a run may have an entry in two index files: a damaged or hostile branch)."""
        trees: dict[str, str] = {}
        for chunk, marks in _id_chunks(list(entries)):
            trees.update(
                self.conn.execute(
                    "SELECT t.run_id, t.tree FROM temp.gitcfg_trees t "
                    f"WHERE t.run_id IN ({marks}) AND NOT EXISTS "
                    "(SELECT 1 FROM main.records r WHERE r.run_id = t.run_id)",
                    chunk,
                )
            )
        chosen = [
            e
            for run_id, e in entries.items()
            if trees.get(run_id) == e.tree and self._names_ok(e.names)
        ]
        if not chosen:
            return
        self.conn.executemany(
            "INSERT INTO records VALUES (?, ?, ?, ?, ?)",
            [(e.run_id, e.names, *e.texts) for e in chosen],
        )
        bad = self._invalid_records([e.run_id for e in chosen])
        rows = _entry_rows(chosen, self.shapes)
        kept = [
            row
            for e, row in zip(chosen, rows, strict=True)
            if row is not None and e.run_id not in bad
        ]
        refused = [
            e.run_id
            for e, row in zip(chosen, rows, strict=True)
            if row is None and e.run_id not in bad
        ]
        if refused:  # its row is damaged: read from its files (insert_runs)
            for chunk, marks in _id_chunks(refused):
                self.conn.execute(f"DELETE FROM records WHERE run_id IN ({marks})", chunk)
        self.insert_rows(kept)
        self.from_index += len(kept)
        self.flush()

    def _names_ok(self, text: str) -> bool:
        """Whether an entry's names field is a JSON list of text (summaryindex.file_names),
        decided once per distinct text: most runs have the same files."""
        ok = self.names_seen.get(text)
        if ok is None:
            if len(self.names_seen) > 10_000:
                self.names_seen.clear()
            ok = self.names_seen[text] = summaryindex.file_names(text) is not None
        return ok

    def _invalid_records(self, run_ids: Sequence[str]) -> set[str]:
        """The runs among `run_ids` whose records texts are not three JSON objects (a damaged or
        hostile index entry); their records are deleted (they are read from their files).

        SQLite checks them all; the few it refuses are checked again with Python's json, which
        also reads the Infinity and NaN that JSON lacks and a run's values may hold. So are
        texts with many brackets: SQLite accepts twice the nesting Python's json reads (a text
        it accepted would fail each later read, RecursionError)."""
        suspects: list[tuple[str, str, str, str]] = []
        valid = " AND ".join(
            f"CASE WHEN NOT json_valid({c}) THEN 0 WHEN json_type({c}) != 'object' THEN 0 "
            f"WHEN length({c}) < {_SHORT_TEXT} THEN 1 "
            f"ELSE length({c}) - length(replace(replace({c}, '[', ''), '{{', '')) < {_FEW_BRACKETS} "
            "END"
            for c in ("meta", "config", "summary")
        )
        for chunk, marks in _id_chunks(run_ids):
            suspects.extend(
                self.conn.execute(
                    f"SELECT run_id, meta, config, summary FROM records "
                    f"WHERE run_id IN ({marks}) AND NOT ({valid})",
                    chunk,
                )
            )
        bad = {run_id for run_id, *texts in suspects if not _json_objects(texts)}
        if bad:
            marks = ",".join("?" * len(bad))
            self.conn.execute(f"DELETE FROM records WHERE run_id IN ({marks})", sorted(bad))
        return bad

    def insert_runs(self, repo: gitio.Repo, progress: Progress | None, total: int) -> None:
        """Read, parse and insert the staged runs not inserted yet (insert_indexed), in id order
        (appends to the tables' B-trees), from their YAML files; `total`: the runs of the whole refresh (for `progress`)."""
        done, last = self.from_index, ""
        if progress is not None and done:
            progress(done, total)
        # Runs often share a config or summary file: each distinct blob of those is read and
        # parsed once (the mappings are shared between runs, and only read here). Every run.yaml
        # differs (it holds the run's id).
        shared: dict[str, tuple[dict[str, Any], str, str | None]] = {}
        with gitio.BatchReader(repo) as reader:
            while True:
                chunk = self.conn.execute(
                    "SELECT l.run_id, l.oids, l.names FROM temp.gitcfg_listing l "
                    "WHERE l.run_id > ? AND NOT EXISTS "
                    "(SELECT 1 FROM main.records r WHERE r.run_id = l.run_id) "
                    "ORDER BY l.run_id LIMIT ?",
                    (last, _CHUNK),
                ).fetchall()
                if not chunk:
                    break
                last = chunk[-1][0]
                runs = [_RunFiles(r, tuple(o.split(" ")), n) for r, o, n in chunk]
                self._insert_chunk(reader, runs, shared)
                self.flush()
                if len(shared) > 10 * _CHUNK:
                    shared.clear()
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
        self.conn.execute("DROP TABLE IF EXISTS temp.gitcfg_listing")

    def _insert_chunk(
        self,
        reader: gitio.BatchReader,
        runs: Sequence[_RunFiles],
        shared: dict[str, tuple[dict[str, Any], str, str | None]],
    ) -> None:
        """Insert one chunk of runs, in order, read from their YAML files."""
        no_file = summaryindex.NO_FILE
        oids = [gitio.ZERO_OID if o == no_file else o for run in runs for o in run.oids]
        metas = oids[0::3]
        new = list(dict.fromkeys(o for i, o in enumerate(oids) if i % 3 and o not in shared))
        blobs = reader.read_many([*metas, *new])
        for oid, blob in zip(new, blobs[len(metas) :], strict=True):
            mapping, problem = read_row_mapping(blob)
            if blob is None and oid != gitio.ZERO_OID:
                problem = missing_run_file("config.yaml", oid, blob)
            shared[oid] = (mapping, _json(mapping), problem)
        for i, run in enumerate(runs):
            run_id = run.run_id
            meta, problem = read_row_mapping(blobs[i])
            meta = meta or {"id": run_id}
            config, summary = shared[oids[3 * i + 1]], shared[oids[3 * i + 2]]
            problems = zip(RUN_YAML_FILES, (problem, config[2], summary[2]), strict=True)
            unreadable = [(name, why) for name, why in problems if why]
            if run.oids[1] == no_file:
                why = missing_run_file("config.yaml", None, None)
                unreadable.append(("config.yaml", str(why)))
            if unreadable:
                self.pending_unreadable.append((UNREADABLE + run_id, _json(unreadable)))
            self.insert(
                run_id, meta, config[0], summary[0], run.names, (_json(meta), config[1], summary[1])
            )

    def insert(
        self,
        run_id: str,
        meta: dict[str, Any],
        config: dict[str, Any],
        summary: dict[str, Any],
        names: str,
        texts: tuple[str, str, str] | None = None,
    ) -> None:
        """Queue one run for the tables (flush writes the queue); `names`: its file names as a
        JSON list; `texts`: the three mappings as JSON."""
        meta_json, config_json, summary_json = texts or (_json(meta), _json(config), _json(summary))
        self.pending_records.append((run_id, names, meta_json, config_json, summary_json))
        self.insert_row(run_row(run_id, meta, config, summary))

    def insert_row(self, row: dict[str, Any]) -> None:
        """Queue one run's flat row (rows.run_row) for the runs table."""
        self.insert_rows([(tuple(row), list(row.values()))])

    def insert_rows(self, rows: Sequence[tuple[tuple[str, ...], list[Any]]]) -> None:
        """Queue flat rows given as (keys, values) for the runs table, as insert_row does, a
        column at a time; their keys begin with runfile.ROW_FIELDS."""
        groups: dict[tuple[str, ...], list[list[Any]]] = {}
        for keys, values in rows:
            groups.setdefault(keys, []).append(values)
        for signature, members in groups.items():
            plan = self.plans.get(signature)
            if plan is None:
                plan = self.plans[signature] = self._plan(signature)
            self.signatures[signature] += len(members)
            newest = max(values[_ID] for values in members)
            if newest > self.newest.get(signature, ""):
                self.newest[signature] = newest
            columns, keep = plan
            by_key = list(zip(*members, strict=True))
            if keep is not None:
                by_key = [column for column, k in zip(by_key, keep, strict=True) if k]
            cells = (
                zip(*map(_encode_column, by_key), strict=True) if by_key else ((),) * len(members)
            )
            self.pending.setdefault(columns, []).extend(
                (*_fixed_values(values), *row_cells)
                for values, row_cells in zip(members, cells, strict=True)
            )

    def _plan(self, signature: tuple[str, ...]) -> tuple[tuple[int, ...], list[bool] | None]:
        """The key columns a row of these keys fills, and which of its values have a column
        (None: all)."""
        numbers, keep = [], []
        for key in signature:
            col = self.columns.get(key, 0)
            if col == 0:
                col = self._add_column(key)
            keep.append(col is not None)
            if col is not None:
                numbers.append(col)
        return tuple(numbers), None if all(keep) else keep

    def flush(self) -> None:
        """Write the queued runs: one executemany per set of key columns."""
        for signature, rows in self.pending.items():
            sql = self.statements.get(signature)
            if sql is None:
                names = "".join(f", c{n}" for n in signature)
                marks = ", ?" * len(signature)
                sql = self.statements[signature] = (
                    f"INSERT INTO runs (run_id, okey, status, code_commit, name{names}) "
                    f"VALUES (?, ?, ?, ?, ?{marks})"
                )
            self.conn.executemany(sql, rows)
        self.conn.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?)", self.pending_records)
        self.conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", self.pending_unreadable)
        self.pending.clear()
        self.pending_records.clear()
        self.pending_unreadable.clear()

    def _order_keys(self) -> None:
        """List the keys (the keys table's order, which `log` shows) as one pass over the runs
        newest first would meet them, whichever way each run was read: by the newest run that
        has the key, then by its place in that run's row. An incremental write reaches the
        order a build from scratch gives: a key's rank is the larger of its rank before and
        the rows written now, unless the run that ranked it was removed or re-read; then, when
        no row written now is as new, the newest run still having the key ranks it."""
        rank = dict(self.ranks)
        stale = {key: newest for key, (newest, _) in rank.items() if newest in self.removed}
        for key in stale:
            del rank[key]
        for signature, newest in self.newest.items():
            for place, key in enumerate(signature):
                found = rank.get(key)
                if found is None or (newest, -place) > found:
                    rank[key] = (newest, -place)
        runs: dict[str, int] = (
            dict(self.conn.execute("SELECT key, runs FROM keys")) if stale else {}
        )
        lost = [
            key
            for key, newest in stale.items()
            if (key not in rank or rank[key][0] < newest)
            and runs.get(key, 0) + self.counts[key] > 0  # some run still has it
        ]
        if lost:
            rank.update(self._rank_from_table(lost))
        order = sorted(rank, key=rank.__getitem__, reverse=True)
        order += [key for key in self.columns if key not in rank]
        if order == list(self.columns):  # the table's order (loaded, then added): ranks only
            self.conn.executemany(
                "UPDATE keys SET newest = ?, place = ? WHERE key = ?",
                [
                    (*_rank_cells(rank.get(key)), key)
                    for key in order
                    if rank.get(key) != self.ranks.get(key)
                ],
            )
            return
        runs = runs or dict(self.conn.execute("SELECT key, runs FROM keys"))
        self.conn.execute("DELETE FROM keys")
        self.conn.executemany(
            "INSERT INTO keys (key, col, runs, newest, place) VALUES (?, ?, ?, ?, ?)",
            [
                (key, self.columns[key], runs.get(key, 0), *_rank_cells(rank.get(key)))
                for key in order
            ],
        )

    def _rank_from_table(self, keys: Sequence[str]) -> dict[str, tuple[str, int]]:
        """The rank of each of `keys` among the runs now in the tables (none: no run has it).
        Runs are met newest first: a key's column finds its run by the primary key's order; a
        key past MAX_KEY_COLUMNS, by reading the records newest first (rare: thousands of keys)."""
        holders: dict[str, list[str]] = {}  # run id -> the keys it ranks
        by_col: dict[int, str] = {}
        wide = []
        for key in keys:
            col = self.columns.get(key)
            if col is None:
                wide.append(key)
            else:
                by_col[col] = key
        group = {col: by_col[col] for col in sorted(by_col)}
        below: tuple[str, ...] = ()
        while group:
            # One pass back from the newest run: each query stops at the next run holding a
            # key still unranked and resumes below it. coalesce() of at most 100 columns each
            # (SQLite's limits: 127 arguments a function, an OR chain's depth 1,000).
            cols = list(group)
            holding = " OR ".join(
                f"coalesce({', '.join(f'c{col}' for col in cols[at : at + 100])}, NULL) IS NOT NULL"
                for at in range(0, len(cols), 100)
            )
            cells = "".join(f", c{col}" for col in cols)
            found = self.conn.execute(
                f"SELECT run_id{cells} FROM runs WHERE ({holding})"
                f"{' AND run_id < ?' if below else ''} ORDER BY run_id DESC LIMIT 1",
                below,
            ).fetchone()
            if found is None:
                break
            run_id, *values = found
            held = [col for col, value in zip(cols, values, strict=True) if value is not None]
            holders.setdefault(run_id, []).extend(group.pop(col) for col in held)
            below = (run_id,)
        rank: dict[str, tuple[str, int]] = {}
        records = "SELECT run_id, meta, config, summary FROM records"
        for run_id, ranked in holders.items():
            _, meta, config, summary = self.conn.execute(
                f"{records} WHERE run_id = ?", (run_id,)
            ).fetchone()
            places = _places(run_id, meta, config, summary)
            rank.update((key, (run_id, -places[key])) for key in ranked if key in places)
        if wide:
            missing = set(wide)
            for run_id, meta, config, summary in self.conn.execute(
                f"{records} ORDER BY run_id DESC"
            ):
                places = _places(run_id, meta, config, summary)
                for key in [key for key in missing if key in places]:
                    rank[key] = (run_id, -places[key])
                    missing.discard(key)
                if not missing:
                    break
        return rank

    def _add_column(self, key: str) -> int | None:
        col: int | None = None
        if self.next_column <= MAX_KEY_COLUMNS:
            col, self.next_column = self.next_column, self.next_column + 1
            self.conn.execute(f"ALTER TABLE runs ADD COLUMN c{col}")
        self.conn.execute("INSERT INTO keys (key, col, runs) VALUES (?, ?, 0)", (key, col))
        self.columns[key] = col
        return col

    def finish(self, runs_ref: str, tip: str) -> None:
        self.flush()
        for signature, count in self.signatures.items():
            for key in signature:
                self.counts[key] += count
        if self.newest or self.removed:
            self._order_keys()
        self.signatures.clear()
        if self.indexes_due:
            for statement in _INDEXES:
                self.conn.execute(statement)
            self.indexes_due = False
        self.conn.executemany(
            "UPDATE keys SET runs = runs + ? WHERE key = ?",
            [(count, key) for key, count in self.counts.items() if count],
        )
        self.conn.executemany(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)", [("ref", runs_ref), ("tip", tip)]
        )


# --- grouping in SQL ---------------------------------------------------------------------------

SQL_AGGREGATES = frozenset({"mean", "std", "min", "max", "count"})


class GroupSummary(NamedTuple):
    """One group of runs: its key values (as in its newest run), run count, metric aggregates."""

    values: tuple[object, ...]
    count: int  # type: ignore[assignment]  # not tuple.count: the number of runs
    aggregates: dict[str, dict[str, Any]]  # metric -> {agg: value}; None when undefined
    skipped: dict[str, int]  # metric -> non-finite values (nan, ±inf) left out


def _is_number(col: str) -> str:
    # SQLite orders NULL < INTEGER, REAL < TEXT < BLOB, so a cell below '' holds a number
    # (finite: non-finite floats are BLOBs). Comparisons cost far less than typeof().
    return f"{col} < ''"


def _is_blob(col: str, tags: str) -> str:
    """SQL: the cell is a BLOB whose tag byte is one of `tags` (see encode_cell)."""
    ranges = [f"({col} >= X'{ord(tag):02X}' AND {col} < X'{ord(tag) + 1:02X}')" for tag in tags]
    return "(" + " OR ".join(ranges) + ")"


def _number(col: str) -> str:
    """SQL: the cell if it holds an int or float (finite: others are BLOBs), else NULL."""
    return f"CASE WHEN {_is_number(col)} THEN {col} END"


def _group_exprs(group_cols: Sequence[str]) -> list[str]:
    """One SQL expression per grouped column: missing (NULL) and null (b"N") group together."""
    return [f"coalesce({col}, X'4E')" for col in group_cols] or ["'all'"]


def _shift(mean: Any) -> float:
    return float(mean) if mean is not None and math.isfinite(mean) else 0.0


def _aggregates(
    aggs: Sequence[str], n: int, mean: Any, low: Any, high: Any, squares: Any
) -> dict[str, Any]:
    """The requested aggregates from SQL's count, avg, min, max and sum of squared deviations."""
    result: dict[str, Any] = {}
    for agg in aggs:
        if agg == "count":
            result[agg] = n
        elif agg == "mean":
            result[agg] = mean
        elif agg == "std":  # sample std (ddof=1), as aggregate._aggregate
            result[agg] = math.sqrt(max(squares or 0.0, 0.0) / (n - 1)) if n >= 2 else None
        elif agg == "min":
            result[agg] = low
        elif agg == "max":
            result[agg] = high
    return result


# --- reading -----------------------------------------------------------------------------------


def _limit(limit: int | None) -> str:
    return f" LIMIT {min(int(limit), 2**62)}" if limit is not None and limit >= 0 else ""


class Snapshot:
    """One consistent state of the cache: every query runs in the same read transaction."""

    def __init__(self, conn: sqlite3.Connection, own: bool, path: Path | None = None) -> None:
        self.conn, self._own = conn, own
        self._path = path  # the cache file (memo rows are written through another connection)
        self._temp = 0
        self._tokens: dict[str, str] = {}  # temporary set table -> a digest of its values
        # the `run_id IN (...)` of each selection kept or made here -> how many runs it holds
        self._selection_sizes: dict[str, int] = {}
        self._memo_rows: list[tuple[str, bytes]] = []  # computed here, written at close()
        self._memo_sets: list[tuple[str, list[str]]] = []  # (token, run ids), the same
        self._overlay_tables: tuple[str, ...] = ()  # overlay(): its temporary tables
        self._decoded: dict[str, dict[str, Any]] = {}  # run id -> its row decoded from JSON
        if own:
            conn.execute("BEGIN")
        if _state(conn) is None:  # nothing built (cannot happen after refresh; be safe)
            self.columns: dict[str, int | None] = {}
            self.key_runs: dict[str, int] = {}
            self.tip = ""
            return
        self.tip = conn.execute("SELECT value FROM meta WHERE key = 'tip'").fetchone()[0]
        self.columns, self.key_runs = {}, {}
        for key, col, runs in conn.execute(
            "SELECT key, col, runs FROM keys WHERE runs > 0 ORDER BY rowid"
        ):
            self.columns[key] = col
            self.key_runs[key] = runs

    def overlay(
        self,
        values: Mapping[str, tuple[dict[str, Any] | None, dict[str, Any] | None, dict[str, Any]]],
    ) -> list[str]:
        """Show `values` (run id -> run.yaml, config, summary; None keeps the cached one) instead
        of what the cache holds, for the runs among them whose cached status is `running`, in this
        snapshot only. Return their ids.

        Temporary views named `runs` and `records` shadow the tables on this connection: every
        query sees the overlaid values, the cache file is never written, and close() drops them.
        """
        if not values or not self.tip:
            return []
        ids = list(values)
        marks = ",".join("?" * len(ids))
        cached = self.conn.execute(
            "SELECT run_id, files, meta, config, summary FROM main.runs JOIN main.records "
            f"USING (run_id) WHERE status = 'running' AND run_id IN ({marks})",
            ids,
        ).fetchall()
        if not cached:
            return []
        columns: dict[str, int | None] = dict(self.conn.execute("SELECT key, col FROM main.keys"))
        table_cols = [
            name
            for (name,) in self.conn.execute("SELECT name FROM pragma_table_info('runs', 'main')")
            if name.startswith("c") and name[1:].isdigit()
        ]
        first_new = next_col = max((int(name[1:]) for name in table_cols), default=0) + 1
        live_rows, record_rows = [], []
        for run_id, files, meta_json, config_json, summary_json in cached:
            old_meta, old_config = json.loads(meta_json), json.loads(config_json)
            meta, config, summary = values[run_id]
            meta, config = meta if meta is not None else old_meta, config or old_config
            for key in run_row(run_id, old_meta, old_config, json.loads(summary_json)):
                self.key_runs[key] = self.key_runs.get(key, 0) - 1
            row = run_row(run_id, meta, config, summary)
            cells: dict[int, object] = {}
            for key, value in row.items():
                self.key_runs[key] = self.key_runs.get(key, 0) + 1
                if key not in columns:  # a key no stored run has: a column of the overlay only
                    columns[key] = next_col if next_col <= MAX_KEY_COLUMNS else None
                    next_col += columns[key] is not None
                col = columns[key]
                if col is not None:
                    cells[col] = encode_cell(value)
            live_rows.append((row, cells))
            record_rows.append((run_id, files, _json(meta), _json(config), _json(summary)))
        new_cols = [f"c{n}" for n in range(first_new, next_col)]
        all_cols = [*table_cols, *new_cols]
        fixed = "run_id, okey, status, code_commit, name"
        # Names of their own: on the in-memory cache, snapshots share one connection.
        number = next(_OVERLAYS)
        live_runs, live_records = (
            f"temp.gitcfg_live_runs_{number}",
            f"temp.gitcfg_live_records_{number}",
        )
        self.conn.execute(
            f"CREATE TABLE {live_runs} ({fixed}{''.join(', ' + c for c in all_cols)})"
        )
        self.conn.executemany(
            f"INSERT INTO {live_runs} VALUES ({', '.join('?' * (5 + len(all_cols)))})",
            [
                (*_fixed_values(list(row.values())), *(cells.get(int(c[1:])) for c in all_cols))
                for row, cells in live_rows
            ],
        )
        self.conn.execute(f"CREATE TABLE {live_records} (run_id, files, meta, config, summary)")
        self.conn.executemany(f"INSERT INTO {live_records} VALUES (?, ?, ?, ?, ?)", record_rows)
        live = f"run_id NOT IN (SELECT run_id FROM {live_runs})"
        stored_cols = "".join(f", {c}" for c in table_cols) + "".join(
            f", NULL AS {c}" for c in new_cols
        )
        self._drop_views()  # another snapshot's overlay on this connection: this one is as new
        self.conn.execute(
            f"CREATE TEMP VIEW runs AS SELECT {fixed}{stored_cols} FROM main.runs WHERE {live} "
            f"UNION ALL SELECT {fixed}{''.join(', ' + c for c in all_cols)} FROM {live_runs}"
        )
        self.conn.execute(
            f"CREATE TEMP VIEW records AS SELECT * FROM main.records WHERE {live} "
            f"UNION ALL SELECT * FROM {live_records}"
        )
        self._overlay_tables = (live_runs, live_records)
        self.columns = {key: columns[key] for key, runs in self.key_runs.items() if runs > 0}
        self.key_runs = {key: runs for key, runs in self.key_runs.items() if runs > 0}
        return [run_id for run_id, *_ in cached]

    def _drop_views(self) -> None:
        self.conn.execute("DROP VIEW IF EXISTS temp.runs")
        self.conn.execute("DROP VIEW IF EXISTS temp.records")

    def _drop_overlay(self) -> None:
        if not self._overlay_tables:
            return
        live_runs, live_records = self._overlay_tables
        self._overlay_tables = ()
        views = self.conn.execute(
            "SELECT sql FROM sqlite_temp_master WHERE type = 'view' AND name = 'runs'"
        ).fetchone()
        if views and f"{live_runs})" in views[0]:  # still ours
            self._drop_views()
        self.conn.execute(f"DROP TABLE IF EXISTS {live_runs}")
        self.conn.execute(f"DROP TABLE IF EXISTS {live_records}")

    def close(self) -> None:
        self._drop_overlay()
        self._write_memo()
        if self._own:
            try:
                self.conn.execute("COMMIT")
            finally:
                self.conn.close()
            self._own = False

    def __enter__(self) -> Snapshot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- selections ---

    def where_sql(self, flt: Filter, run_ids: Sequence[str] | None = None) -> tuple[str, list[Any]]:
        """Return a SQL condition (and its parameters) selecting the runs `flt` and `run_ids` allow."""
        clauses, params = ["1"], []
        if flt.status is not None:
            clauses.append(f"status IN ({','.join('?' * len(flt.status))})")
            params += list(flt.status)
        if flt.code_commits is not None:
            clauses.append(f"code_commit IN (SELECT value FROM {self._temp_set(flt.code_commits)})")
        if run_ids is not None:
            clauses.append(f"run_id IN (SELECT value FROM {self._temp_set(run_ids)})")
        return " AND ".join(clauses), params

    def _temp_set(self, values: Iterable[str]) -> str:
        import hashlib  # here: its OpenSSL start-up is ~2 ms of a warm `gitcfg log`

        self._temp += 1
        name = f"temp.gitcfg_set_{self._temp}"
        self.conn.execute(f"CREATE TEMP TABLE gitcfg_set_{self._temp} (value TEXT PRIMARY KEY)")
        kept = sorted(set(values))
        self.conn.executemany(f"INSERT INTO {name} VALUES (?)", ((v,) for v in kept))
        digest = hashlib.sha1("\n".join(kept).encode("utf-8", "surrogateescape")).hexdigest()
        self._tokens[name] = f"set:{digest}"
        return name

    # --- results kept per tip ---

    def memoized(self, kind: str, parts: Sequence[object], compute: Callable[[], Any]) -> Any:
        """`compute()`, kept in the cache for this tip: the same query (`kind`, `parts`: its
        arguments and SQL condition) on the same tip is answered from the memo table, so warm
        queries recompute nothing. Values are plain data (marshal: types kept exactly); a value
        marshal cannot hold, or a snapshot with live runs overlaid, is computed every time."""
        if self._overlay_tables or not self.tip:
            return compute()
        key = f"{kind}\0{parts!r}"
        for table, token in self._tokens.items():
            key = key.replace(table, token)
        try:
            found = self.conn.execute("SELECT value FROM memo WHERE key = ?", (key,)).fetchone()
        except sqlite3.OperationalError:  # a cache without the table
            return compute()
        if found is not None:
            try:
                return marshal.loads(found[0])
            except (ValueError, EOFError, TypeError):
                pass
        value = compute()
        try:
            data = marshal.dumps(value)
        except ValueError:
            return value
        self._memo_rows.append((key, data))
        return value

    def kept_selection(
        self, parts: Sequence[object], select: Callable[[], list[str]]
    ) -> tuple[str, list[Any], list[str] | None]:
        """(SQL condition, its parameters, the ids or None) for the runs `select()` picks
        (newest first), kept for this tip: a later snapshot of the same tip gets a condition over
        the kept ids (the memo_sets table) without calling `select` or listing them."""
        key = None
        if not self._overlay_tables and self.tip:
            key = f"where\0{parts!r}"
            for table, token in self._tokens.items():
                key = key.replace(table, token)
            try:
                found = self.conn.execute("SELECT value FROM memo WHERE key = ?", (key,)).fetchone()
            except sqlite3.OperationalError:
                found, key = None, None
            if found is not None:
                value = marshal.loads(found[0])  # (token, size); a token alone before sizes
                token, size = value if isinstance(value, tuple) else (value, 0)
                kept = "run_id IN (SELECT run_id FROM memo_sets WHERE token = ?)"
                self._selection_sizes[kept] = size
                return kept, [token], None
        ids = select()
        name = self._temp_set(ids)
        if key is not None:
            token = self._tokens[name]
            self._memo_rows.append((key, marshal.dumps((token, len(ids)))))
            self._memo_sets.append((token, ids))
        made = f"run_id IN (SELECT value FROM {name})"
        self._selection_sizes[made] = len(ids)
        return made, [], ids

    def _newest_first(self, condition: str, limit: int | None) -> str:
        """`condition` for a query of the newest `limit` runs: over a large selection, SQLite
        should walk the runs newest first (the okey index) and stop at `limit`, not read the
        whole selection and sort it (0.5 s for 250,000 of 1M runs). The unary + keeps it from
        driving the query by run_id: done when the walk is expected to be shorter than the
        selection (size^2 >= limit * all runs)."""
        if limit is None:
            return condition
        total = self.key_runs.get("id", 0)  # every run's row has an id
        for selection, size in self._selection_sizes.items():
            if selection in condition and size * size >= limit * total:
                condition = condition.replace(selection, "+" + selection)
        return condition

    def _write_memo(self) -> None:
        """Keep the results computed in this snapshot, if the cache is still at its tip (a
        derived convenience: any failure only means computing them again next time)."""
        rows, self._memo_rows = self._memo_rows, []
        sets, self._memo_sets = self._memo_sets, []
        if not rows:
            return
        try:
            if self._path is None:
                self._write_memo_rows(self.conn, rows, sets)
                return
            conn = sqlite3.connect(self._path, timeout=0.2, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")
                self._write_memo_rows(conn, rows, sets)
                conn.execute("COMMIT")
            finally:
                conn.close()
        except sqlite3.Error:
            pass

    def _write_memo_rows(
        self,
        conn: sqlite3.Connection,
        rows: Sequence[tuple[str, bytes]],
        sets: Sequence[tuple[str, list[str]]],
    ) -> None:
        tip = conn.execute("SELECT value FROM meta WHERE key = 'tip'").fetchone()
        if tip is None or tip[0] != self.tip:  # refreshed meanwhile: these answer an old tip
            return
        for token, ids in sets:  # the sets first: a memo row never names a set not written
            conn.executemany(
                "INSERT OR IGNORE INTO memo_sets VALUES (?, ?)", ((token, i) for i in ids)
            )
        conn.executemany("INSERT OR REPLACE INTO memo VALUES (?, ?)", rows)

    def run_ids(self, condition: str, params: Sequence[Any]) -> list[str]:
        sql = f"SELECT run_id FROM runs WHERE {condition} ORDER BY okey DESC"
        return [run_id for (run_id,) in self.conn.execute(sql, params)]

    def records(
        self, condition: str, params: Sequence[Any], limit: int | None = None
    ) -> list[StoredRow]:
        """The selected runs as stored, newest first."""
        condition = self._newest_first(condition, limit)
        sql = (
            "SELECT run_id, status, name, code_commit, files, meta, config, summary "
            f"FROM runs JOIN records USING (run_id) WHERE {condition} ORDER BY okey DESC{_limit(limit)}"
        )
        return [StoredRow(*row) for row in self.conn.execute(sql, params)]

    def record(self, run_id: str) -> StoredRow | None:
        rows = self.records("run_id = ?", [run_id])
        return rows[0] if rows else None

    # --- values ---

    def rows(
        self, keys: Sequence[str], condition: str, params: Sequence[Any], limit: int | None = None
    ) -> tuple[list[str], list[dict[str, Any]]]:
        """Return the run ids and their rows holding only `keys` (absent when missing), newest first."""
        keys = [key for key in dict.fromkeys(keys) if key in self.columns]
        if any(self.columns[key] is None for key in keys):  # past the column limit: from JSON
            return self._rows_from_json(keys, condition, params, limit)
        cols = "".join(f", c{self.columns[key]}" for key in keys)
        condition = self._newest_first(condition, limit)
        sql = f"SELECT run_id{cols} FROM runs WHERE {condition} ORDER BY okey DESC{_limit(limit)}"
        run_ids: list[str] = []
        rows: list[dict[str, Any]] = []
        decode = decode_cell
        for run_id, *cells in self.conn.execute(sql, params):
            run_ids.append(run_id)
            rows.append(
                {
                    key: (cell if type(cell) is not bytes else decode(cell))
                    for key, cell in zip(keys, cells, strict=True)
                    if cell is not None
                }
            )
        return run_ids, rows

    def _rows_from_json(
        self, keys: Sequence[str], condition: str, params: Sequence[Any], limit: int | None
    ) -> tuple[list[str], list[dict[str, Any]]]:
        run_ids, rows = [], []
        for record in self.records(condition, params, limit):
            # Decoded once per snapshot: `log` reads the rows for its differing keys, then again
            # for its table (a 100,000-key config: 0.5 s a read).
            full = self._decoded.get(record.run_id)
            if full is None:
                full = self._decoded[record.run_id] = _records_row(
                    record.run_id, record.meta, record.config, record.summary
                )
            run_ids.append(record.run_id)
            rows.append({key: full[key] for key in keys if key in full})
        return run_ids, rows

    def constant_keys(
        self, keys: Sequence[str], condition: str, params: Sequence[Any]
    ) -> tuple[list[str], dict[str, Any]]:
        """Split `keys` present in the selection into (varying, {constant: value}), in SQL.

        As aggregate.differing_keys: a key missing from some runs varies; equality as in
        encode_cell (lists and mappings compare by their JSON text).
        """
        keys = [key for key in keys if key in self.columns]
        found: tuple[list[str], dict[str, Any]] = self.memoized(
            "constant_keys",
            (keys, condition, params),
            lambda: self._constant_keys(keys, condition, params),
        )
        return found

    def _constant_keys(
        self, keys: Sequence[str], condition: str, params: Sequence[Any]
    ) -> tuple[list[str], dict[str, Any]]:
        if not keys or any(self.columns[key] is None for key in keys):
            _, rows = self.rows(keys, condition, params)
            from gitcfg.aggregate import differing_keys

            return differing_keys(rows, "")  # each row's keys are in the order of `keys`
        parts = ", ".join(
            f"count(c{self.columns[k]}), count(DISTINCT c{self.columns[k]})" for k in keys
        )
        total, *counts = self.conn.execute(
            f"SELECT count(*), {parts} FROM runs WHERE {condition}", params
        ).fetchone()
        varying: list[str] = []
        same: list[str] = []
        for i, key in enumerate(keys):
            present, distinct = counts[2 * i], counts[2 * i + 1]
            if not present:
                continue
            (same if present == total and distinct == 1 else varying).append(key)
        constant: dict[str, Any] = {}
        if same:
            cols = ", ".join(f"c{self.columns[k]}" for k in same)
            newest = self.conn.execute(
                f"SELECT {cols} FROM runs WHERE {condition} ORDER BY okey DESC LIMIT 1", params
            ).fetchone()
            constant = {k: decode_cell(cell) for k, cell in zip(same, newest, strict=True)}
        return varying, constant

    def present_keys(self, keys: Sequence[str], condition: str, params: Sequence[Any]) -> list[str]:
        """Return those of `keys` that some selected run has."""
        keys = [key for key in keys if key in self.columns]
        if not keys:
            return []
        if condition == "1":
            return keys
        found: list[str] = self.memoized(
            "present_keys",
            (keys, condition, params),
            lambda: self._present_keys(keys, condition, params),
        )
        return found

    def _present_keys(
        self, keys: Sequence[str], condition: str, params: Sequence[Any]
    ) -> list[str]:
        if any(self.columns[key] is None for key in keys):
            _, rows = self.rows(keys, condition, params)
            seen: set[str] = set()
            for row in rows:
                seen.update(row)
            return [key for key in keys if key in seen]
        parts = ", ".join(f"count(c{self.columns[k]})" for k in keys)
        counts = self.conn.execute(f"SELECT {parts} FROM runs WHERE {condition}", params).fetchone()
        return [key for key, count in zip(keys, counts, strict=True) if count]

    def unreadable(self) -> dict[str, list[tuple[str, str]]]:
        """Run id -> [(file name, why)] for its YAML files that could not be read; the run is
        listed without them."""
        rows = self.conn.execute(
            "SELECT key, value FROM meta WHERE key >= ? AND key < ?", (UNREADABLE, UNREADABLE + "~")
        )
        return {
            key[len(UNREADABLE) :]: [tuple(p) for p in json.loads(value)] for key, value in rows
        }

    def statuses(self) -> list[str]:
        """The distinct statuses of all runs."""
        return [status for (status,) in self.conn.execute("SELECT DISTINCT status FROM runs")]

    def count(self, condition: str, params: Sequence[Any]) -> int:
        sql = f"SELECT count(*) FROM runs WHERE {condition}"
        found: int = self.memoized(
            "count", (condition, params), lambda: int(self.conn.execute(sql, params).fetchone()[0])
        )
        return found

    # --- grouping in SQL (None: the caller computes in Python with aggregate.py) ---

    def _columns_of(self, keys: Sequence[str]) -> list[str] | None:
        if any(self.columns.get(key) is None for key in keys):
            return None  # a key past the column limit, or absent
        return [f"c{self.columns[key]}" for key in keys]

    def _any(self, tests: Sequence[str], condition: str, params: Sequence[Any]) -> bool:
        if not tests:
            return False
        sql = f"SELECT 1 FROM runs WHERE ({condition}) AND ({' OR '.join(tests)}) LIMIT 1"
        return self.conn.execute(sql, params).fetchone() is not None

    def group_summaries(
        self,
        keys: Sequence[str],
        metrics: Sequence[str],
        aggs: Sequence[str],
        condition: str,
        params: Sequence[Any],
    ) -> tuple[list[str], list[GroupSummary]] | None:
        """Group the selection by `keys` and aggregate those of `metrics` that hold numbers.

        Returns (the numeric metrics, one GroupSummary per group), or None when SQL cannot be
        exact and the caller should use aggregate.py: a median, keys without a column, or lists,
        mappings or integers past 64 bits among the values. Agrees with aggregate.numeric_metrics
        and group_rows: missing and null group together, 1 and 1.0 are one group, True is not 1;
        only int and float values are aggregated (not bools), non-finite ones are counted in
        `skipped`; std is the sample std. SQLite sums without math.fsum, so means and stds may
        differ from Python's in the last bits.
        """
        group_cols, metric_cols = self._columns_of(keys), self._columns_of(metrics)
        if group_cols is None or metric_cols is None or not set(aggs) <= SQL_AGGREGATES:
            return None
        groups = _group_exprs(group_cols)
        width, by = len(groups), ", ".join(f"g{i}" for i in range(len(groups)))
        # One scan: which metrics hold numbers, each one's mean (the shift below), odd values.
        profile = [f"max({_is_number(c)} OR {_is_blob(c, 'XI')})" for c in metric_cols]
        profile += [f"avg({_number(c)})" for c in metric_cols]
        odd = [_is_blob(c, "JI") for c in group_cols] + [_is_blob(c, "I") for c in metric_cols]
        profile.append(f"max({' OR '.join(odd)})" if odd else "0")
        found = self.conn.execute(
            f"SELECT {', '.join(profile)} FROM runs WHERE {condition}", params
        ).fetchone()
        if found[-1]:
            return None
        flags, shifts = found[: len(metrics)], found[len(metrics) : 2 * len(metrics)]
        chosen = [j for j, flag in enumerate(flags) if flag]
        # Each group: its run count and key values as in its newest run (bare columns take
        # their values from the row of the query's only max()), and per metric the count, mean,
        # the sums of (x - shift) and (x - shift)^2 for the std in one pass (shifted by the
        # metric's overall mean; when most digits cancel, the group is recomputed exactly) and
        # the non-finite values.
        stats = []
        for j in chosen:
            value, shift = _number(metric_cols[j]), _shift(shifts[j])
            stats += [
                f"count({value})",
                f"avg({value})",
                f"sum({value} - {shift!r})",
                f"sum(({value} - {shift!r}) * ({value} - {shift!r}))",
                f"sum({_is_blob(metric_cols[j], 'X')})",
            ]
        named = [f"{g} AS g{i}" for i, g in enumerate(groups)]
        sql = (
            f"SELECT {', '.join(named)}, count(*), max(okey){''.join(', ' + c for c in group_cols)}"
            f"{''.join(', ' + stat for stat in stats)} FROM runs WHERE {condition} GROUP BY {by}"
        )
        extremes: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        if {"min", "max"} & set(aggs):
            pairs = [
                f"min({_number(metric_cols[j])}), max({_number(metric_cols[j])})" for j in chosen
            ]
            extremes = {
                tuple(row[:width]): row[width:]
                for row in self.conn.execute(
                    f"SELECT {', '.join(named)}{''.join(', ' + p for p in pairs)} "
                    f"FROM runs WHERE {condition} GROUP BY {by}",
                    params,
                )
            }
        summaries = []
        numeric = [metrics[j] for j in chosen]
        for row in self.conn.execute(sql, params):
            group_key = tuple(row[:width])
            count, values = row[width], row[width + 2 : width + 2 + len(group_cols)]
            cells = row[width + 2 + len(group_cols) :]
            aggregates, skipped = {}, {}
            for i, j in enumerate(chosen):
                n, mean, shifted, squares, odd_count = cells[5 * i : 5 * i + 5]
                spread = None
                if n >= 2 and "std" in aggs:
                    spread = squares - shifted * shifted / n
                    if spread < 1e-9 * squares:  # most digits cancelled: recompute exactly
                        spread = self._squared_deviations(
                            metric_cols[j], group_cols, group_key, condition, params
                        )
                low, high = extremes.get(group_key, (None,) * 2 * len(chosen))[2 * i : 2 * i + 2]
                aggregates[metrics[j]] = _aggregates(aggs, n, mean, low, high, spread)
                skipped[metrics[j]] = int(odd_count or 0)
            decoded = tuple(decode_cell(v) for v in values)
            summaries.append(GroupSummary(decoded, count, aggregates, skipped))
        return numeric, summaries

    def _squared_deviations(
        self,
        metric_col: str,
        group_cols: Sequence[str],
        group_key: tuple[Any, ...],
        condition: str,
        params: Sequence[Any],
    ) -> float:
        """The sum of squared deviations from the mean of one group's values, exactly (fsum)."""
        match = " AND ".join(f"coalesce({col}, X'4E') = ?" for col in group_cols) or "1"
        values = [
            value
            for (value,) in self.conn.execute(
                f"SELECT {_number(metric_col)} FROM runs WHERE ({condition}) AND {match}",
                [*params, *(group_key if group_cols else ())],
            )
            if value is not None
        ]
        mean = math.fsum(values) / len(values)
        return math.fsum((value - mean) ** 2 for value in values)

    def varying_within(
        self,
        keys: Sequence[str],
        candidates: Sequence[str],
        condition: str,
        params: Sequence[Any],
    ) -> dict[str, list[object]] | None:
        """Of `candidates`, those whose value differs between runs of one group (missing counts
        as a value), each with its values in those groups, newest first (as
        aggregate.confounders, whose value order is first seen). None for lists or mappings."""
        group_cols, cand_cols = self._columns_of(keys), self._columns_of(candidates)
        if group_cols is None or cand_cols is None:
            return None
        if self._any([_is_blob(col, "JI") for col in [*group_cols, *cand_cols]], condition, params):
            return None
        groups = _group_exprs(group_cols)
        by = ", ".join(groups)
        spread = [f"count(DISTINCT {c}) + (count({c}) < count(*))" for c in cand_cols]
        rows = self.conn.execute(
            f"SELECT {', '.join([*groups, *spread]) if cand_cols else by} "
            f"FROM runs WHERE {condition} GROUP BY {by}",
            params,
        ).fetchall()
        found: dict[str, list[object]] = {}
        for j, (key, col) in enumerate(zip(candidates, cand_cols, strict=True)):
            inside = [row[: len(groups)] for row in rows if row[len(groups) + j] > 1]
            if not inside:
                continue
            match = " OR ".join(
                "(" + " AND ".join(f"{g} IS ?" for g in groups) + ")" for _ in inside
            )
            values = self.conn.execute(
                f"SELECT {col}, max(okey) AS newest FROM runs WHERE ({condition}) AND ({match}) "
                f"GROUP BY coalesce({col}, X'4E') ORDER BY newest DESC",
                [*params, *(value for group in inside for value in group)],
            ).fetchall()
            found[key] = [None if value is None else decode_cell(value) for value, _ in values]
        return found

    # --- run ids ---

    def neighbours(self, run_id: str) -> tuple[str | None, str | None]:
        """The ids just before and after `run_id` in id order, among all runs."""
        before = self.conn.execute("SELECT max(run_id) FROM runs WHERE run_id < ?", (run_id,))
        after = self.conn.execute("SELECT min(run_id) FROM runs WHERE run_id > ?", (run_id,))
        return before.fetchone()[0], after.fetchone()[0]

    def resolve(self, run_id_prefix: str) -> str:
        """Return the one run id starting with `run_id_prefix`, or the one run named so."""
        from gitcfg.store import is_run_id_prefix

        prefix = run_id_prefix.strip().lower()
        matches: list[str] = []
        if is_run_id_prefix(prefix):
            matches = [
                run_id
                for (run_id,) in self.conn.execute(
                    "SELECT run_id FROM runs WHERE run_id >= ? AND run_id < ? ORDER BY run_id",
                    (prefix, prefix + "~"),
                )
            ]
        text = run_id_prefix.strip()
        if not matches and text:
            # an id chosen with track(id=...) may hold capitals, `-`, `_`, `.`: matched as typed
            matches = [
                run_id
                for (run_id,) in self.conn.execute(
                    "SELECT run_id FROM runs WHERE run_id >= ? AND run_id < ? ORDER BY run_id",
                    (text, text + "\U0010ffff"),
                )
            ]
        if text in matches:  # a whole id wins over the longer ids it is a prefix of
            matches = [text]
        if not matches:  # a run's name works too: `gitcfg show quiet-river-7f`
            matches = [
                run_id
                for (run_id,) in self.conn.execute(
                    "SELECT run_id FROM runs WHERE name = ? ORDER BY run_id",
                    (run_id_prefix.strip(),),
                )
            ]
        if not matches:
            raise RunNotFound(run_id_prefix)
        if len(matches) > 1:
            raise AmbiguousRun(run_id_prefix, matches)
        return matches[0]
