"""Sharing runs through any git remote: fetch into a private ref, merge with plumbing, push with CAS.

`pull` fetches the remote's runs branch into `refs/gitcfg/remotes/<remote>/<branch>` (no other ref,
no FETCH_HEAD, no worktree or index) and merges it into the local runs branch; `push` does the same,
then pushes without force, and on a lost race (the remote moved meanwhile) fetches, merges and
pushes again.

The merge is a real two-parent commit built by fast-import, so both sides stay in history. Each
run directory (and each top-level file) is a unit, compared with the merge base (the empty tree
when the two branches were started on two machines independently):

- changed on one side only: that side's version;
- changed on both sides (the same run amended on two machines): merged key by key: a key (in
  config.yaml, summary.yaml, run.yaml) changed on one side takes that side's value, tags are merged
  as a set, the `amendments` lists are united, and where both sides changed the same key
  differently, the side whose newest commit touching the run is later wins (ties: the greater
  commit id, so every machine resolves alike). Other files, and a run removed on one side and
  changed on the other, go whole to the later side. The merge commit message names each
  reconciled run and, per key both sides changed, both values and which side won.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gitcfg import gitio, runfile
from gitcfg.errors import GitError, RemoteNotFound, RemoteUnreachable, RunsBranchMoved
from gitcfg.store import (
    MIGRATE_SUBJECT,
    RUN_YAML_FILES,
    RUNS_DIR,
    Store,
    changed_run_dirs,
    check_runs_tree,
    commit_message,
    current_path,
    index_deriver,
    parse_run_path,
    run_dir,
    run_dir_candidates,
)
from gitcfg.summaryindex import INDEX_DIR
from gitcfg.values import same_value
from gitcfg.yamlio import dump_yaml, load_yaml

PRIVATE_REFS = "refs/gitcfg/remotes"
PUSH_ATTEMPTS = 10
_MISSING: Any = object()


# --- merging mappings (pure) ----------------------------------------------------------------------


def merge_mappings(
    base: Mapping[str, Any],
    ours: Mapping[str, Any],
    theirs: Mapping[str, Any],
    *,
    theirs_wins: bool,
    conflicts: list[str] | None = None,
    prefix: str = "",
    values: dict[str, tuple[Any, Any]] | None = None,
) -> dict[str, Any]:
    """Three-way merge of YAML mappings, key by key; nested mappings merge recursively.

    A key changed (or deleted) on one side only takes that side's value; a key changed on both
    sides to different values takes the winner's, and its dotted name is appended to `conflicts`
    (and `values[name] = (ours, theirs)`, for the merge message).
    Keys follow the winner's order, then the other side's new keys, so the result is the same
    whichever side computes it.
    """
    first, second = (theirs, ours) if theirs_wins else (ours, theirs)
    merged: dict[str, Any] = {}
    for key in [*first, *(k for k in second if k not in first)]:
        value = _merge_value(
            base.get(key, _MISSING),
            ours.get(key, _MISSING),
            theirs.get(key, _MISSING),
            theirs_wins,
            conflicts,
            f"{prefix}{key}",
            values,
        )
        if value is not _MISSING:
            merged[key] = value
    return merged


def _merge_value(
    base: Any,
    ours: Any,
    theirs: Any,
    theirs_wins: bool,
    conflicts: list[str] | None,
    path: str,
    values: dict[str, tuple[Any, Any]] | None,
) -> Any:
    if _same(ours, theirs):
        return theirs if theirs_wins else ours  # equal, perhaps in another key order
    if _same(theirs, base):
        return ours
    if _same(ours, base):
        return theirs
    if isinstance(ours, dict) and isinstance(theirs, dict):
        nested_base = base if isinstance(base, dict) else {}
        return merge_mappings(
            nested_base,
            ours,
            theirs,
            theirs_wins=theirs_wins,
            conflicts=conflicts,
            prefix=path + ".",
            values=values,
        )
    if conflicts is not None:
        conflicts.append(path)
    if values is not None:
        values[path] = (ours, theirs)
    return theirs if theirs_wins else ours


def _same(a: Any, b: Any) -> bool:
    """Equal as YAML values (values.same_value), and missing only where both are missing."""
    if a is _MISSING or b is _MISSING:
        return a is b
    return same_value(a, b)


def merge_set_list(base: Sequence[Any], earlier: Sequence[Any], later: Sequence[Any]) -> list[Any]:
    """Three-way merge of a list used as a set (tags): both sides' additions and removals apply.

    Order: the base's surviving items, then the earlier side's additions, then the later side's.
    """
    merged = [item for item in base if item in earlier and item in later]
    for side in (earlier, later):
        merged += [item for item in side if item not in base and item not in merged]
    return merged


def merge_run_yaml(
    base: Mapping[str, Any],
    ours: Mapping[str, Any],
    theirs: Mapping[str, Any],
    *,
    theirs_wins: bool,
    conflicts: list[str],
    values: dict[str, tuple[Any, Any]] | None = None,
) -> dict[str, Any]:
    """merge_mappings for run.yaml, with tags merged as a set and both amendment lists kept."""
    merged = merge_mappings(
        base,
        ours,
        theirs,
        theirs_wins=theirs_wins,
        conflicts=conflicts,
        prefix="run.",
        values=values,
    )
    if runfile.TAGS in merged:
        earlier, later = (ours, theirs) if theirs_wins else (theirs, ours)
        merged[runfile.TAGS] = merge_set_list(
            *(list(m.get(runfile.TAGS) or []) for m in (base, earlier, later))
        )
        conflicts[:] = [c for c in conflicts if c != f"run.{runfile.TAGS}"]
    if runfile.AMENDMENTS in ours or runfile.AMENDMENTS in theirs:
        merged[runfile.AMENDMENTS] = runfile.merged_amendments(ours, theirs, _same)
        conflicts[:] = [c for c in conflicts if not c.startswith(f"run.{runfile.AMENDMENTS}")]
    return merged


# --- merging branches -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reconciled:
    """A run (or top-level file) changed on both sides since the merge base."""

    unit: str  # run id, or a top-level path such as README.md
    later: str  # "local" or the remote's name: whose newest change to it is later
    won: tuple[
        str, ...
    ]  # keys (config.lr, run.notes) or whole files both sides changed: later's kept
    removed_on_one_side: bool = False  # then the later side's version (or absence) was kept whole
    # Each key in `won` with both sides' values, as YAML text: (key, local's, the remote's).
    values: tuple[tuple[str, str, str], ...] = ()
    remote: str = "remote"  # the other side's name, for the per-key lines

    def describe(self) -> str:
        """One line naming the run and what won, then one indented line per key both sides
        changed: `  config.lr: local 0.4, origin 0.3; origin's won (later)`."""
        head = f"Reconciled {self.unit}:"
        if self.removed_on_one_side:
            return f"{head} removed on one side, changed on the other; kept {self.later}'s (later)"
        if not self.won:
            return f"{head} changed on both sides, in different keys; kept both"
        lines = [
            f"{head} changed on both sides; {self.later}'s later change won {', '.join(self.won)}"
        ]
        shown = {key: (mine, theirs) for key, mine, theirs in self.values}
        for key in self.won:
            if key in shown:
                mine, theirs = shown[key]
                both = f"local {mine}, {self.remote} {theirs}"
            else:  # a whole file (metrics.jsonl): no single value to show
                both = "whole file changed on both sides"
            lines.append(f"  {key}: {both}; {self.later}'s won (later)")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class MergeOutcome:
    kind: str  # "up to date", "created", "fast-forward" or "merged"
    tip: str | None  # the local runs branch afterwards
    received: tuple[str, ...]  # run ids the remote side added, changed or removed
    reconciled: tuple[Reconciled, ...] = ()


def merge_runs(store: Store, theirs: str, label: str, now: float | None = None) -> MergeOutcome:
    """Merge the runs commit `theirs` (fetched from `label`) into the local runs branch.

    Fast-forwards when it can; otherwise one merge commit with both parents, CAS-moved onto the
    tip it was computed from and recomputed when a local writer moved the branch meanwhile.
    Raises RunsBranchRefused before writing when either side is not a runs branch this gitcfg
    can write (a newer FORMAT, the code's history) or ours is checked out in a worktree.
    """
    repo = store.repo
    checked = False
    for _ in range(gitio.MAX_RETRIES):
        ours = store.tip()
        try:
            if ours is not None and (ours == theirs or gitio.is_ancestor(repo, theirs, ours)):
                return MergeOutcome("up to date", ours, ())
            if not checked:  # ours and theirs are runs branches this gitcfg writes, ours not in use
                store.check_writable()
                check_runs_tree(
                    repo, theirs, f"{label}'s {store.runs_branch}", "nothing was merged"
                )
                checked = True
            if ours is None:
                gitio.move_ref(repo, store.runs_ref, theirs, None, f"gitcfg: runs from {label}")
                return MergeOutcome("created", theirs, _changed_runs(store, None, theirs))
            if gitio.is_ancestor(repo, ours, theirs):
                gitio.move_ref(repo, store.runs_ref, theirs, ours, f"gitcfg: runs from {label}")
                return MergeOutcome("fast-forward", theirs, _changed_runs(store, ours, theirs))
            files, received, reconciled = _plan_merge(store, ours, theirs, label)
            message = _merge_message(label, theirs, received, reconciled)
            tip = gitio.commit_files(
                repo,
                store.runs_ref,
                files,
                message,
                store.identity,
                when=now,
                expected=ours,
                merge=[theirs],
                derive=index_deriver(),
            )
            return MergeOutcome("merged", tip, received, reconciled)
        except RunsBranchMoved:
            continue
    raise RunsBranchMoved(store.runs_ref)


def _unit(path: str) -> str:
    """The unit a path belongs to: its run's directory in the current format (a FORMAT 1 path
    too: the same run), else the path itself."""
    parsed = parse_run_path(path)
    return path if parsed is None else run_dir(parsed[0])


def _unit_name(unit: str) -> str:
    return unit.rsplit("/", 1)[1] if unit.startswith(RUNS_DIR + "/") else unit


def _changed_runs(store: Store, old: str | None, new: str) -> tuple[str, ...]:
    return tuple(sorted(changed_run_dirs(store.repo, old, new)))


def _by_unit(changes: Iterable[gitio.BlobChange]) -> dict[str, dict[str, tuple[str, str]]]:
    """Changed files by unit, at their current-format paths, as (mode, oid); ("", "") deleted.

    Across a migration (one side FORMAT 1, the other 2) a run's file shows as deleted in one
    place and added in the other: the same blob in both is no change, so only what a side
    really changed is left."""
    before: dict[str, tuple[str, str]] = {}
    after: dict[str, tuple[str, str]] = {}
    for change in changes:
        path = current_path(change.path)
        if change.old_oid:
            before[path] = (change.old_mode, change.old_oid)
        if change.oid:
            after[path] = (change.mode, change.oid)
    units: dict[str, dict[str, tuple[str, str]]] = {}
    for path in [*after, *(p for p in before if p not in after)]:
        now = after.get(path, ("", ""))
        if now != before.get(path, ("", "")):
            units.setdefault(_unit(path), {})[path] = now
    return units


Files = dict[str, bytes | gitio.BlobRef | None]  # branch path -> content, None deletes


def _plan_merge(
    store: Store, ours: str, theirs: str, label: str
) -> tuple[Files, tuple[str, ...], tuple[Reconciled, ...]]:
    """The changes to apply on top of `ours`: theirs' units, and each unit both sides changed merged."""
    repo = store.repo
    base = gitio.merge_base(repo, ours, theirs) or gitio.EMPTY_TREE
    ours_units = _by_unit(gitio.changed_blobs(repo, base, ours))
    files: Files = {}
    received, reconciled = [], []
    for unit, changes in _by_unit(gitio.changed_blobs(repo, base, theirs)).items():
        if unit.startswith(INDEX_DIR + "/"):  # derived: the commit's index_deriver redoes it
            continue
        mine = ours_units.get(unit)
        if mine == changes:  # the same change on both sides (or the same run arrived twice)
            continue
        if mine is None:
            for path, (mode, oid) in changes.items():
                files[path] = gitio.BlobRef(mode, oid) if oid else None
        else:
            unit_files, outcome = _merge_unit(store, unit, base, ours, theirs, label)
            files.update(unit_files)
            reconciled.append(outcome)
        if unit.startswith(RUNS_DIR + "/"):
            received.append(_unit_name(unit))
    return files, tuple(sorted(received)), tuple(reconciled)


def _merge_unit(
    store: Store, unit: str, base: str, ours: str, theirs: str, label: str
) -> tuple[Files, Reconciled]:
    repo = store.repo
    places = _places(unit)
    sides = {
        name: {current_path(e.path): e for e in gitio.ls_tree(repo, commit, *places)}
        for name, commit in (("base", base), ("ours", ours), ("theirs", theirs))
    }
    theirs_later = _last_change(store, theirs, unit) > _last_change(store, ours, unit)
    later = label if theirs_later else "local"
    name = _unit_name(unit)
    files: Files = {}
    if not sides["ours"] or not sides["theirs"]:  # removed on one side: the later side, whole
        if theirs_later:
            files.update({path: None for path in sides["ours"]})
            files.update({p: gitio.BlobRef(e.mode, e.oid) for p, e in sides["theirs"].items()})
        return files, Reconciled(name, later, (), removed_on_one_side=True)
    won: list[str] = []
    values: dict[str, tuple[Any, Any]] = {}
    for path in sorted(set().union(*sides.values())):
        b, o, t = (_blob_key(sides[side].get(path)) for side in ("base", "ours", "theirs"))
        if o == t or t == b:
            continue
        if o != b:  # both changed this file: by keys when it is one of the run's YAML files
            merged = (
                _merge_yaml(store, path, b, o, t, theirs_later, won, values) if o and t else None
            )
            if merged is not None:
                files[path] = merged
                continue
            won.append(path.rsplit("/", 1)[-1])
            if not theirs_later:
                continue
        taken = sides["theirs"].get(path)
        files[path] = gitio.BlobRef(taken.mode, taken.oid) if taken else None
    from gitcfg.amend import render_value

    shown = tuple(
        (key, _short(render_value(mine)), _short(render_value(theirs)))
        for key, (mine, theirs) in values.items()
        if key in won
    )
    return files, Reconciled(name, later, tuple(won), values=shown, remote=label)


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _blob_key(entry: gitio.TreeEntry | None) -> tuple[str, str] | None:
    return (entry.mode, entry.oid) if entry else None


def _places(unit: str) -> tuple[str, ...]:
    """Where a unit may be in a commit: a run's directory in either format; a file's path."""
    if unit.startswith(RUNS_DIR + "/"):
        return run_dir_candidates(_unit_name(unit))
    return (unit,)


def _last_change(store: Store, commit: str, unit: str) -> tuple[int, str]:
    """(committer time, commit id) of the newest commit reachable from `commit` that changed
    `unit` (a migration, which only moved it, does not count)."""
    entries = gitio.log_entries(store.repo, commit, *_places(unit), limit=8)
    for entry in entries:
        if not entry.message.startswith(MIGRATE_SUBJECT):
            return (entry.committed_ts, entry.commit)
    return (0, "")


def _merge_yaml(
    store: Store,
    path: str,
    base: tuple[str, str] | None,
    ours: tuple[str, str],
    theirs: tuple[str, str],
    theirs_wins: bool,
    won: list[str],
    values: dict[str, tuple[Any, Any]],
) -> bytes | None:
    """Merge one of a run's YAML files key by key; None when it is not YAML mappings."""
    file_name = path.rsplit("/", 1)[-1]
    if file_name not in RUN_YAML_FILES:
        return None
    with gitio.BatchReader(store.repo) as reader:
        blobs = reader.read_many([base[1] if base else gitio.ZERO_OID, ours[1], theirs[1]])
    try:
        documents = [load_yaml(blob) if blob else {} for blob in blobs]
    except Exception:  # a damaged file cannot be merged by keys; the later side's goes whole
        return None
    if not all(isinstance(d, dict) for d in documents):
        return None
    conflicts: list[str] = []
    if file_name == "run.yaml":
        merged = merge_run_yaml(
            *documents, theirs_wins=theirs_wins, conflicts=conflicts, values=values
        )
    else:
        prefix = file_name.removesuffix(".yaml") + "."
        merged = merge_mappings(
            *documents, theirs_wins=theirs_wins, conflicts=conflicts, prefix=prefix, values=values
        )
    won.extend(conflicts)
    return dump_yaml(merged).encode()


def _merge_message(
    label: str, theirs: str, received: Sequence[str], reconciled: Sequence[Reconciled]
) -> str:
    counts = f"{len(received)} run{'s' if len(received) != 1 else ''} new or changed"
    if reconciled:
        counts += f", {len(reconciled)} reconciled"
    body = "\n".join(
        [f"Merged {label}'s runs branch at {theirs}.", *(r.describe() for r in reconciled)]
    )
    return commit_message(f"merge runs from {label}: {counts}", body, {"Merged-From": label})


# --- remotes --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SyncResult:
    remote: str
    remote_had_branch: bool  # before this call
    merge: MergeOutcome  # what came in (kind "up to date" when nothing did)
    sent: tuple[str, ...] = ()  # run ids the push added, changed or removed on the remote
    pushed: bool = False  # whether the remote's branch moved
    chunks: int = 0  # the pushes it took (more than 1: the branch was pushed in chunks)
    depth: int | None = None  # the fetch took only this many commits (a shallow clone)


DEFAULT_PUSH_CHUNK = 1 << 30  # bytes; GitHub refuses a push over 2 GiB
CHUNK_SIZE_KEY = "gitcfg.pushChunkSize"
CHUNKS_REF = "refs/gitcfg/push-chunks"  # on the remote: older commits of a push in chunks


def push_chunk_size(store: Store, size: str | None = None) -> int:
    """The most bytes one push sends (`size`, else git config gitcfg.pushChunkSize, else 1 GiB)."""
    if size is not None:
        return gitio.parse_size(size, "--chunk-size")
    configured = store.git_config.get(CHUNK_SIZE_KEY.lower())
    if configured is None:
        return DEFAULT_PUSH_CHUNK
    return gitio.parse_size(configured, f"git config {CHUNK_SIZE_KEY}")


def fetch_depth(store: Store) -> int | None:
    """1 when fetching the remote's runs should take only its tip, None for all it lacks here.

    In a shallow clone (`git clone --depth 1`) queries need the runs as they stand, not the
    branch's history (706 MB at 100,000 runs): the first pull fetches the tip commit and its tree.
    Once the local runs branch holds such a cut-off, later pulls fetch only the new commits.
    """
    if not gitio.is_shallow(store.repo):
        return None
    tip = store.tip()
    if tip is None:
        return 1
    cuts = gitio.shallow_commits(store.repo)
    return None if any(gitio.is_ancestor(store.repo, c, tip) for c in cuts) else 1


def default_remote(store: Store) -> str:
    """The current branch's upstream remote, else `origin`."""
    branch = gitio.head_branch(store.repo)
    upstream = store.git_config.get(f"branch.{branch}.remote".lower()) if branch else None
    return upstream if upstream and upstream != "." else "origin"


def pull(store: Store, remote: str | None = None) -> SyncResult:
    """Fetch the remote's runs branch into a private ref and merge it into the local one.

    In a shallow clone only the tip (fetch_depth); afterwards maintenance may start (the new
    commits join the commit-graph).
    """
    remote = _checked_remote(store, remote, "pull")
    remote_tip = _remote_tip(store, remote)
    if remote_tip is None:
        return SyncResult(remote, False, MergeOutcome("up to date", store.tip(), ()))
    depth = fetch_depth(store)
    _fetch(store, remote, remote_tip, depth)
    merge = merge_runs(store, remote_tip, remote)
    gitio.keep_healthy(store.repo)
    return SyncResult(remote, True, merge, depth=depth)


def push(store: Store, remote: str | None = None, chunk_size: int | None = None) -> SyncResult:
    """Merge the remote's runs into the local branch, then push it (no force); retry on a race.

    The push only ever fast-forwards the remote's branch. When another machine pushed between our
    read and our push, git refuses, and we fetch, merge and push again (up to PUSH_ATTEMPTS).
    More than `chunk_size` bytes to send (default push_chunk_size) go in chunks of history, older
    commits first (_chunk_ends).
    """
    remote = _checked_remote(store, remote, "push")
    limit = push_chunk_size(store) if chunk_size is None else chunk_size
    remote_tip = _remote_tip(store, remote)
    had_branch = remote_tip is not None
    received: list[str] = []
    reconciled: list[Reconciled] = []
    kinds: list[str] = []
    for _ in range(PUSH_ATTEMPTS):
        if remote_tip is not None:
            _fetch(store, remote, remote_tip, fetch_depth(store))
            merge = merge_runs(store, remote_tip, remote)
            received += merge.received
            reconciled += merge.reconciled
            kinds.append(merge.kind)
        local = store.tip()
        kind = next((k for k in reversed(kinds) if k != "up to date"), "up to date")
        outcome = MergeOutcome(kind, local, tuple(sorted(set(received))), tuple(reconciled))
        if local is None or local == remote_tip:
            return SyncResult(remote, had_branch, outcome)
        sent_from, pushes, via_chunks_ref = remote_tip, 0, False
        try:
            for end in _chunk_ends(store, local, remote_tip, limit):
                if (
                    end == local
                    or remote_tip is None
                    or gitio.is_ancestor(store.repo, remote_tip, end)
                ):
                    gitio.push_commit(store.repo, remote, end, store.runs_ref)
                    remote_tip = end  # the remote's branch is where we put it
                else:  # our older commits, before a merge with the remote's: a ref of our own
                    gitio.push_commit(store.repo, remote, end, CHUNKS_REF, force=True)
                    via_chunks_ref = True
                pushes += 1
        except GitError as e:
            now_tip = _remote_tip(store, remote)
            if now_tip == remote_tip:  # nobody else moved it: the push itself failed
                raise RemoteUnreachable(remote, e.detail) from None
            remote_tip = now_tip
            continue
        finally:
            if via_chunks_ref:
                gitio.delete_remote_ref(store.repo, remote, CHUNKS_REF)
        _set_private_ref(store, remote, local)
        sent = _changed_runs(store, sent_from, local)
        return SyncResult(remote, had_branch, outcome, sent, True, pushes)
    raise RunsBranchMoved(f"{remote}'s {store.runs_ref}")


def _chunk_ends(store: Store, local: str, remote_tip: str | None, limit: int) -> list[str]:
    """The commits to push one after another, oldest first, so that each push sends at most
    about `limit` bytes (as packed here); `[local]` when everything fits in one.

    The ends lie on `local`'s first-parent line, split evenly by commit count into as many
    chunks as the size needs (runs are much alike), and a chunk still over the limit is split
    again; one commit that alone exceeds it goes as it is. `git rev-list --disk-usage` per chunk:
    about one pass over the objects to send.
    """
    repo = store.repo
    excluded = (f"^{remote_tip}",) if remote_tip else ()
    if limit <= 0 or gitio.disk_usage(repo, local, *excluded) <= limit:
        return [local]
    line = gitio.first_parent_commits(repo, local, remote_tip)
    ends: list[str] = []

    def split(start: int, stop: int, before: str | None) -> None:
        bounds = (*excluded, *((f"^{before}",) if before else ()))
        size = gitio.disk_usage(repo, line[stop - 1], *bounds)
        if size <= limit or stop - start == 1:
            ends.append(line[stop - 1])
            return
        parts = min(stop - start, -(-size // limit))
        cuts = [start + -(-(stop - start) * i // parts) for i in range(parts + 1)]
        for lo, hi in zip(cuts, cuts[1:], strict=False):
            if hi > lo:
                split(lo, hi, line[lo - 1] if lo > 0 else before)

    split(0, len(line), None)
    if not ends or ends[-1] != local:  # local is a merge whose first parent is not on the line
        ends.append(local)
    return ends


def private_ref(store: Store, remote: str) -> str:
    return f"{PRIVATE_REFS}/{remote}/{store.runs_branch}"


def _checked_remote(store: Store, remote: str | None, command: str) -> str:
    name = remote or default_remote(store)
    if f"remote.{name}.url".lower() not in store.git_config:
        raise RemoteNotFound(name, defaulted=remote is None, command=command)
    return name


def _remote_tip(store: Store, remote: str) -> str | None:
    try:
        return gitio.remote_ref(store.repo, remote, store.runs_ref)
    except GitError as e:
        raise RemoteUnreachable(remote, e.detail) from None


def _fetch(store: Store, remote: str, remote_tip: str, depth: int | None = None) -> None:
    if gitio.commit_exists(store.repo, remote_tip):  # pushed from here, or fetched before
        _set_private_ref(store, remote, remote_tip)
        return
    try:
        gitio.fetch_ref(store.repo, remote, store.runs_ref, private_ref(store, remote), depth)
    except GitError as e:
        raise RemoteUnreachable(remote, e.detail) from None


def _set_private_ref(store: Store, remote: str, commit: str) -> None:
    ref = private_ref(store, remote)
    try:
        gitio.move_ref(
            store.repo, ref, commit, gitio.read_ref(store.repo, ref), "gitcfg: remote tip"
        )
    except RunsBranchMoved:  # another gitcfg process recorded the remote's tip meanwhile
        pass
