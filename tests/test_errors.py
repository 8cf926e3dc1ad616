"""The error hierarchy's own messages: pure, no repository."""

from __future__ import annotations

import pytest

from gitcfg.errors import GitError


@pytest.mark.parametrize(
    ("stderr", "detail"),
    [
        ("hint: one\nfatal: bad revision 'x'\nhint: two\n", "bad revision 'x'"),
        (
            "error: patch failed: a.py:1\nerror: a.py: patch does not apply\n",
            "error: patch failed: a.py:1",
        ),
        ("warning: something\n\nthe last word\n\n", "the last word"),
        ("", "no message from git"),
    ],
)
def test_git_error_detail_is_the_first_failure_line_else_the_last_line(stderr, detail) -> None:
    error = GitError(["rev-list", "x"], 128, stderr)
    assert error.detail == detail
    assert str(error) == f"`git rev-list x` failed (exit 128): {detail}"


def test_a_missing_git_is_a_git_error_for_batch_reads_too(repo, monkeypatch) -> None:
    from gitcfg import gitio

    found = gitio.discover(repo)
    monkeypatch.setenv("PATH", str(repo / "no-such-bin"))  # git cannot be found
    with pytest.raises(GitError, match="git is not installed or not on PATH"):
        gitio.BatchReader(found)
    with pytest.raises(GitError, match="git is not installed or not on PATH"):
        gitio.rev_list(found, "HEAD")
