"""The code a run ran: the code commit, its branch, and a patch of what differs from it.

Moved out of `Run._start` (issue 12): one call, values in and out; the warnings come back as
text for the caller to print (tracking prints them on stderr, as every training-time warning).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from gitcfg import gitio, runfile
from gitcfg.secrets import strip_url_credentials
from gitcfg.store import Store


class CapturedCode(NamedTuple):
    code: runfile.Code  # run.yaml `code`
    patch: bytes  # diff.patch: tracked changes and the untracked files the policy keeps
    warnings: list[str]  # one line each, for stderr


def capture_code(store: Store, status: bytes | None) -> CapturedCode:
    """Read HEAD, its branch and the worktree's changes (`status`: a `git status -z` already run)."""
    repo = store.repo
    warnings: list[str] = []
    code_commit = gitio.read_ref(repo, "HEAD")
    if code_commit is None:
        warnings.append("this repository has no commits yet; recording code commit: null")
    policy = gitio.capture_policy(store.git_config)
    changes = gitio.worktree_changes(repo, code_commit, status, policy)
    warnings += left_out_warnings(changes, policy)
    remote_url = store.git_config.get("remote.origin.url")
    code: runfile.Code = {
        "commit": code_commit,
        "branch": gitio.head_branch(repo),
        "dirty": changes.is_dirty,
        "remote_url": strip_url_credentials(remote_url) if remote_url else None,
        "worktree": str(repo.worktree) if repo.worktree else None,
    }
    if changes.skipped:
        code["untracked_not_stored"] = list(changes.skipped)
    return CapturedCode(code, changes.patch, warnings)


def left_out_warnings(changes: gitio.WorktreeChanges, policy: gitio.CapturePolicy) -> list[str]:
    """One warning for the files left out of diff.patch as secrets, one for the byte limits."""
    warnings = []
    if changes.secret:
        warnings.append(
            "left out of the run's diff.patch, they look like credentials or hold a secret: "
            + _names(changes.secret)
        )
    if changes.over_limit:
        warnings.append(
            f"left out of the run's diff.patch, over the untracked-file limits "
            f"({policy.max_file_bytes:,} bytes a file, {policy.max_total_bytes:,} a run; "
            f"git config gitcfg.untrackedFileLimit/untrackedTotalLimit): {_names(changes.over_limit)}"
        )
    return warnings


def _names(paths: Sequence[str], shown: int = 10) -> str:
    more = f" and {len(paths) - shown} more" if len(paths) > shown else ""
    return ", ".join(paths[:shown]) + more
