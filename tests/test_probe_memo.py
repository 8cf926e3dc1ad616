"""The probe memo (gitio.probe_memoized): Store.open answers without a git process while nothing
git's discovery and `git config -l` read has changed, and exactly as git would once it has.

"No git process" is shown the plain way: the second open runs in a Python process whose PATH
holds no git at all (a git process would fail with "git not found").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import git

from gitcfg import gitio
from gitcfg.store import Store

OPEN = (
    "import json, sys\nfrom gitcfg.store import Store\ns = Store.open(sys.argv[1])\n"
    "print(json.dumps([s.runs_branch, str(s.repo.worktree), str(s.repo.git_dir),"
    " s.git_config.get('user.name')]))\n"
)


def open_without_git(cwd: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Store.open(cwd) in a Python process that cannot start git."""
    empty = tmp_path / "no-git-here"
    empty.mkdir(exist_ok=True)
    env = {**os.environ, "PATH": str(empty)}
    return subprocess.run(
        [sys.executable, "-c", OPEN, str(cwd)], cwd=cwd, env=env, capture_output=True, text=True
    )


def opened(cwd: Path) -> list[object]:
    store = Store.open(cwd)
    return [
        store.runs_branch,
        str(store.repo.worktree),
        str(store.repo.git_dir),
        store.git_config.get("user.name"),
    ]


def with_state_dir(repo: Path) -> Path:
    """The state dir exists once gitcfg has written anything (the memo is kept only there)."""
    state = repo / ".git" / "gitcfg"
    state.mkdir(exist_ok=True)
    return state


def test_a_second_open_runs_no_git_and_answers_the_same(repo: Path, tmp_path: Path) -> None:
    with_state_dir(repo)
    first = opened(repo)  # with git: the memo is made
    assert (repo / ".git" / "gitcfg" / gitio.PROBE_MEMO).is_file()
    again = open_without_git(repo, tmp_path)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == first
    assert first[:2] == ["gitcfg-runs", str(repo.resolve())]


def test_no_state_dir_no_memo(repo: Path, tmp_path: Path) -> None:
    """Opening a repository gitcfg never wrote to leaves no file behind: git answers each time."""
    opened(repo)
    assert not (repo / ".git" / "gitcfg").exists()
    assert open_without_git(repo, tmp_path).returncode != 0


def test_a_config_change_is_seen_at_once(repo: Path) -> None:
    with_state_dir(repo)
    assert opened(repo)[0] == "gitcfg-runs"
    git(repo, "config", "gitcfg.branch", "other-runs")
    assert opened(repo)[0] == "other-runs"
    (repo / ".git" / "config").write_text(
        (repo / ".git" / "config").read_text().replace("other-runs", "third-runs")
    )
    assert opened(repo)[0] == "third-runs"


def test_a_global_config_change_is_seen(repo: Path) -> None:
    with_state_dir(repo)
    assert opened(repo)[3] == "Test User"
    home = Path(os.environ["HOME"])
    (home / ".gitconfig").write_text("[user]\n\tname = Someone Else\n")
    assert opened(repo)[3] == "Someone Else"


def test_an_include_is_never_memoized(repo: Path, tmp_path: Path) -> None:
    """A file a config includes can change without any file the memo watches changing."""
    with_state_dir(repo)
    extra = tmp_path / "extra.gitconfig"
    extra.write_text("[gitcfg]\n\tbranch = included-runs\n")
    git(repo, "config", "include.path", str(extra))
    assert opened(repo)[0] == "included-runs"
    extra.write_text("[gitcfg]\n\tbranch = changed-runs\n")
    assert opened(repo)[0] == "changed-runs"
    assert open_without_git(repo, tmp_path).returncode != 0


def test_each_directory_and_worktree_gets_its_own_answer(repo: Path, tmp_path: Path) -> None:
    with_state_dir(repo)
    sub = repo / "src" / "deep"
    sub.mkdir(parents=True)
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", str(linked))
    answers = {where: opened(where) for where in (repo, sub, linked)}
    assert answers[sub] == answers[repo]
    assert answers[linked][1] == str(linked.resolve())
    assert answers[linked][2] != answers[repo][2]  # the worktree's own git dir
    for where, answer in answers.items():
        again = open_without_git(where, tmp_path)
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout) == answer


def test_a_new_repository_below_is_found_not_the_memo(repo: Path) -> None:
    with_state_dir(repo)
    sub = repo / "inner"
    sub.mkdir()
    assert opened(sub)[1] == str(repo.resolve())
    git(sub, "init", "-q")
    assert opened(sub)[1] == str(sub.resolve())


def test_a_damaged_memo_is_ignored_and_replaced(repo: Path, tmp_path: Path) -> None:
    state = with_state_dir(repo)
    first = opened(repo)
    for damage in (b"", b"{not json", b"[1, 2]", b'{"x": 1}', os.urandom(64)):
        (state / gitio.PROBE_MEMO).write_bytes(damage)
        assert opened(repo) == first
    again = open_without_git(repo, tmp_path)
    assert again.returncode == 0, again.stderr


def test_a_memo_entry_of_the_wrong_shape_is_ignored(repo: Path) -> None:
    """An entry whose key matches but whose content is not what gitcfg writes (a hand-edited
    file): git answers instead, and the entry is written anew."""
    state = with_state_dir(repo)
    first = opened(repo)
    memo_file = state / gitio.PROBE_MEMO
    good = json.loads(memo_file.read_text())
    (here,) = good
    for field, bad in (
        ("files", 3),
        ("files", [[1, 2, 3]]),
        ("files", [["/nonexistent", None], 7]),
        ("config", {"gitcfg.branch": 5}),
        ("config", []),
        ("discover", None),
        ("discover", ""),
    ):
        damaged = {here: {**good[here], field: bad}}
        if field != "files":  # the signatures must match for the other fields to be read
            damaged[here]["files"] = good[here]["files"]
        memo_file.write_text(json.dumps(damaged))
        assert opened(repo) == first, (field, bad)
    assert json.loads(memo_file.read_text()) == good
