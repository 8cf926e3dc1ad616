"""gitcfg's git hooks: one template running `python -m gitcfg hook-impl NAME` (gitcfg/hook_impl.py),
chaining the hooks that were there before, and `gitcfg init --uninstall-hooks` putting them back."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import git

from gitcfg.hook_impl import HOOK_NAMES, is_dry_run, is_false, pull_remote, pushes_branch
from gitcfg.install import hook_source

# --- the decisions, pure --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "dry"),
    [
        (["git", "push", "--dry-run", "origin"], True),
        (["git", "push", "-n", "origin"], True),
        (["git", "push", "-qn", "origin"], True),
        (["git", "-c", "x.y=z", "push", "-vn"], True),
        (["git", "push", "-o", "n", "origin"], False),  # a push option's value, not -n
        (["git", "push", "-on", "origin"], False),
        (["git", "push", "origin", "--", "-n"], False),  # after --: a refspec
        (["git", "push", "origin", "main"], False),
        (["git", "-n", "fetch"], False),  # not a push
        ([], False),
    ],
)
def test_dry_run_is_read_from_the_push_command_line(argv: list[str], dry: bool) -> None:
    assert is_dry_run(argv) is dry


@pytest.mark.parametrize(
    ("action", "remote"),
    [
        ("pull", ""),
        ("pull --no-rebase", ""),
        ("pull -q mirror main", "mirror"),
        ("pull --rebase origin", "origin"),
        ("merge feature", None),
        ("rebase -i", None),
        ("pullx", None),
        ("", None),
    ],
)
def test_the_pull_hooks_read_the_remote_from_git_reflog_action(
    action: str, remote: str | None
) -> None:
    assert pull_remote(action) == remote


def test_a_push_of_the_runs_branch_itself_is_recognised() -> None:
    z = "0" * 40
    line = f"refs/heads/main {'a' * 40} refs/heads/main {z}\n"
    runs = f"refs/heads/x {'b' * 40} refs/heads/gitcfg-runs {z}\n"
    assert not pushes_branch(line.encode(), "gitcfg-runs")
    assert pushes_branch((line + runs).encode(), "gitcfg-runs")
    assert not pushes_branch(b"", "gitcfg-runs")


def test_only_gits_false_values_turn_delivery_off() -> None:
    assert all(is_false(v) for v in ("false", "No", "off", "0", " FALSE "))
    assert not any(is_false(v) for v in (None, "", "true", "yes", "1", "maybe"))


# --- the template -------------------------------------------------------------------------------


def test_one_template_serves_every_hook() -> None:
    scripts = {name: hook_source(name) for name in HOOK_NAMES}
    for name, script in scripts.items():
        assert script.startswith(b"#!/bin/sh\n# gitcfg-hook: " + name.encode())
        assert f"INSTALL_PYTHON={sys.executable}".encode() in script  # a plain path needs no quotes
        assert b"-m gitcfg hook-impl" in script
        assert not any(key in script for key in (b"@HOOK@", b"@PYTHON@", b"@PACKAGE@"))
        assert subprocess.run(["sh", "-n"], input=script, check=False).returncode == 0
        other = scripts["pre-push"].replace(b"pre-push", name.encode())
        assert script == other  # the hooks differ only in their name
    quoted = hook_source("pre-push", python="/opt/it's here/python")
    assert b"INSTALL_PYTHON='/opt/it'\"'\"'s here/python'" in quoted


def test_a_hook_with_nothing_to_do_imports_no_cli(repo: Path, tmp_path: Path) -> None:
    env = {**os.environ, "GIT_REFLOG_ACTION": "merge feature"}  # a local merge: nothing to do
    args = ["hook-impl", "post-merge", "--hook-dir", str(tmp_path), "--", "0"]
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "gitcfg", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()}
    assert "gitcfg.hook_impl" in imported
    assert not imported & {"typer", "click", "rich", "yaml", "gitcfg.cli", "gitcfg.store"}


def test_an_unknown_hook_name_is_one_error_line(repo: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "gitcfg", "hook-impl", "pre-commit"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "gitcfg: error: unknown hook 'pre-commit' (one of pre-push, post-merge, post-rewrite)"
    ]


# --- chaining, the interpreter gone, uninstalling ------------------------------------------------


def _foreign_hooks(hooks: Path) -> dict[str, tuple[bytes, int]]:
    """The user's own hooks, with odd bytes (no final newline, not UTF-8) and odd modes."""
    hooks.mkdir(parents=True, exist_ok=True)
    mine = {
        "pre-push": (
            b'#!/bin/sh\nprintf "%s|" "$@" >"$(git rev-parse --git-dir)/args"\n'
            b'cat >"$(git rev-parse --git-dir)/input"\n# \xff\xfe latin-1 \xe9\nexit 0',
            0o750,
        ),
        "post-merge": (b"#!/bin/sh\r\nexit 0\r\n", 0o700),
    }
    for name, (data, mode) in mine.items():
        (hooks / name).write_bytes(data)
        (hooks / name).chmod(mode)
    (hooks / "pre-commit").write_bytes(b"#!/bin/sh\nexit 0\n")  # a hook gitcfg has no part in
    (hooks / "pre-commit").chmod(0o755)
    return mine


def _state(hooks: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.name: (p.read_bytes(), stat.S_IMODE(p.lstat().st_mode)) for p in sorted(hooks.iterdir())
    }


def _without_python(tmp_path: Path) -> dict[str, str]:
    """An environment whose PATH has git and nothing else: no python3, no gitcfg."""
    bin_dir = tmp_path / "only-git"
    bin_dir.mkdir()
    (bin_dir / "git").symlink_to(
        subprocess.run(
            ["sh", "-c", "command -v git"], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    return {**os.environ, "PATH": str(bin_dir)}


def _break_interpreter(hook: Path) -> None:
    data = hook.read_bytes().replace(
        f"INSTALL_PYTHON={sys.executable}".encode(), b"INSTALL_PYTHON=/gone/python"
    )
    hook.write_bytes(data)


@pytest.fixture
def pushable(cli, repo: Path, tmp_path: Path) -> tuple[Path, Path]:
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    assert cli(repo, "init").exit_code == 0
    return repo, bare


def test_a_missing_interpreter_falls_back_to_python3(pushable: tuple[Path, Path]) -> None:
    repo, bare = pushable
    _break_interpreter(repo / ".git" / "hooks" / "pre-push")
    proc = subprocess.run(
        ["git", "push", "origin", "main"], cwd=repo, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "gitcfg:" not in proc.stderr
    # python3 on PATH ran the hook: the runs branch went along
    assert git(bare, "rev-parse", "gitcfg-runs") == git(repo, "rev-parse", "gitcfg-runs")


def test_no_python_at_all_skips_gitcfgs_part_in_one_line(
    pushable: tuple[Path, Path], tmp_path: Path
) -> None:
    repo, bare = pushable
    hooks = repo / ".git" / "hooks"
    _break_interpreter(hooks / "pre-push")
    env = _without_python(tmp_path)
    proc = subprocess.run(
        ["git", "push", "origin", "main"], cwd=repo, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert [line for line in proc.stderr.splitlines() if "gitcfg" in line] == [
        "gitcfg: pre-push hook: no Python with gitcfg here; skipped gitcfg's part (rerun `gitcfg init`)"
    ]
    assert git(bare, "rev-parse", "main") and not git(bare, "branch", "--list", "gitcfg-runs")
    # the user's own hook still runs, and still decides
    (hooks / "pre-push.pre-gitcfg").write_text(
        '#!/bin/sh\nread line\necho "mine: $1 $line" >&2\nexit 3\n'
    )
    (hooks / "pre-push.pre-gitcfg").chmod(0o755)
    git(repo, "commit", "-q", "--allow-empty", "-m", "more")
    proc = subprocess.run(
        ["git", "push", "origin", "main"], cwd=repo, env=env, capture_output=True, text=True
    )
    assert proc.returncode != 0
    assert f"mine: origin refs/heads/main {git(repo, 'rev-parse', 'HEAD')}" in proc.stderr
    assert git(bare, "rev-parse", "main") != git(repo, "rev-parse", "HEAD")


def test_the_users_pre_push_blocks_the_push_and_gitcfg_delivers_nothing(
    pushable: tuple[Path, Path],
) -> None:
    repo, bare = pushable
    hooks = repo / ".git" / "hooks"
    (hooks / "pre-push.pre-gitcfg").write_text("#!/bin/sh\necho no pushing today >&2\nexit 1\n")
    (hooks / "pre-push.pre-gitcfg").chmod(0o755)
    proc = subprocess.run(
        ["git", "push", "origin", "main"], cwd=repo, capture_output=True, text=True
    )
    assert proc.returncode != 0 and "no pushing today" in proc.stderr
    assert not git(bare, "branch", "--list")


@pytest.mark.parametrize("hooks_path", [None, ".githooks"])
def test_uninstall_puts_the_previous_hooks_back_byte_for_byte(
    cli, repo: Path, tmp_path: Path, hooks_path: str | None
) -> None:
    if hooks_path:
        git(repo, "config", "core.hooksPath", hooks_path)
    hooks = repo / (hooks_path or ".git/hooks")
    mine = _foreign_hooks(hooks)
    before = _state(hooks)
    result = cli(repo, "init")
    assert result.exit_code == 0, result.output
    assert {name for name in HOOK_NAMES if (hooks / name).read_bytes() == hook_source(name)} == set(
        HOOK_NAMES
    )
    for name, (data, mode) in mine.items():
        assert _state(hooks)[name + ".pre-gitcfg"] == (data, mode)

    # the chained pre-push gets git's arguments and stdin, unchanged
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    git(repo, "push", "-q", "origin", "main")
    head = git(repo, "rev-parse", "HEAD")
    assert (repo / ".git" / "args").read_text() == f"origin|{bare}|"
    assert (repo / ".git" / "input").read_text() == (
        f"refs/heads/main {head} refs/heads/main {'0' * 40}\n"
    )

    result = cli(repo, "init", "--uninstall-hooks")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"restored your pre-push hook in {hooks} (gitcfg's removed)",
        f"restored your post-merge hook in {hooks} (gitcfg's removed)",
        f"removed gitcfg's post-rewrite hook from {hooks}",
    ]
    assert _state(hooks) == before
    again = cli(repo, "init", "--uninstall-hooks")
    assert again.exit_code == 0 and again.output == f"gitcfg: no gitcfg hooks in {hooks}\n"
    assert git(repo, "rev-parse", "--verify", "gitcfg-runs")  # the runs branch stays


def test_uninstall_with_no_previous_hooks_leaves_none(cli, repo: Path) -> None:
    hooks = repo / ".git" / "hooks"
    before = _state(hooks)
    assert cli(repo, "init").exit_code == 0
    assert cli(repo, "init", "--uninstall-hooks").exit_code == 0
    assert _state(hooks) == before
    assert cli(repo, "init").exit_code == 0  # installs again
    assert all((hooks / name).read_bytes() == hook_source(name) for name in HOOK_NAMES)


def test_the_hidden_cli_command_runs_the_same_hook(cli, repo: Path, tmp_path: Path) -> None:
    (tmp_path / "post-rewrite.pre-gitcfg").write_text("#!/bin/sh\nexit 4\n")
    (tmp_path / "post-rewrite.pre-gitcfg").chmod(0o755)
    result = cli(repo, "hook-impl", "post-rewrite", "--hook-dir", str(tmp_path), "--", "amend")
    assert result.exit_code == 4  # the chained hook's status: post-rewrite's own is ignored by git
    assert "hook-impl" not in cli(repo, "--help").output


def test_a_chained_hook_without_a_shebang_runs_under_sh_as_git_runs_it(tmp_path: Path) -> None:
    from gitcfg.hook_impl import run_chained

    hook = tmp_path / "post-rewrite.pre-gitcfg"
    hook.write_text('read line\necho "$1 $line" > "${0%/*}/ran"\nexit 5\n')  # no #! line
    hook.chmod(0o755)
    assert run_chained(tmp_path, "post-rewrite", ["rebase"], b"old new\n") == 5
    assert (tmp_path / "ran").read_text() == "rebase old new\n"
    hook.chmod(0o644)  # not executable: not run, as git would not
    assert run_chained(tmp_path, "post-rewrite", ["rebase"], b"") == 0
