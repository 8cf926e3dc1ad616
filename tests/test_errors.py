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


def test_every_streamed_git_call_reads_a_missing_git_and_the_callers_config_alike(
    repo, monkeypatch
) -> None:
    """The streamed calls (probe, iter_tree, BatchReader) start git through one helper: a missing
    git is the same GitError (exit 127) for each, and each keeps the caller's GIT_CONFIG_* pairs."""
    from gitcfg import gitio

    found = gitio.discover(repo)
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "gitcfg.probe-check")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "kept")
    monkeypatch.setenv("GIT_DIR", str(repo / "elsewhere"))  # dropped, as run_git drops it
    assert gitio.probe(repo).config["gitcfg.probe-check"] == "kept"
    assert [e.path for e in gitio.iter_tree(found, "HEAD")] == [
        e.path for e in gitio.ls_tree(found, "HEAD")
    ]
    with gitio.BatchReader(found) as reader:
        assert reader.read("HEAD") is not None

    monkeypatch.setenv("PATH", str(repo / "no-such-bin"))
    calls = [
        lambda: gitio.probe(repo),
        lambda: list(gitio.iter_tree(found, "HEAD")),
        lambda: gitio.BatchReader(found),
    ]
    for call in calls:
        with pytest.raises(GitError, match="git is not installed or not on PATH") as raised:
            call()
        assert raised.value.returncode == 127
