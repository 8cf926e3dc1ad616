"""A hostile remote: its runs branch holds a traversal `cwd`, symlink patches, an alias bomb and
escape sequences in names. `pull`, `log`, `show`, `history`, `checkout` and `rerun` stay inside
the target worktree, finish in bounded time, and print nothing raw to the terminal.

The attacker records real runs with gitcfg in their clone, rewrites them on their runs branch with
plain git, and pushes to a real bare remote; the victim clones it and uses the real CLI.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import git, run_python, write_script

from gitcfg.store import run_dir

TRAIN = """
import gitcfg
run = gitcfg.track({"lr": 0.1})
run.log({"loss": 1.0})
run.finish()
print(run.id)
"""
BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)
ESC_NAME = "evil\x1b]52;c;ZWNobyBwd25lZA==\x07\x1b[2J"
# Every command is bounded: a hang guard, not a timing claim (a wall-clock bound breaks under load).
HANG_GUARD_S = 120.0


def _gitcfg(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "gitcfg", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def _symlink_patch(clone: Path, name: str, target: str) -> str:
    """The diff.patch a run would record with an untracked symlink `name` -> `target`."""
    (clone / name).symlink_to(target)
    git(clone, "add", "-N", name)
    patch = subprocess.run(
        ["git", "diff", "--binary"], cwd=clone, capture_output=True, text=True
    ).stdout
    git(clone, "rm", "-q", "--cached", name)
    (clone / name).unlink()
    assert "new file mode 120000" in patch
    return patch


@pytest.fixture
def hostile(tmp_path: Path, remote: Path) -> dict[str, object]:
    """The bare remote after the attacker pushed; the victim's clone, pulled."""
    attacker = tmp_path / "attacker"
    git(tmp_path, "clone", "-q", str(remote), str(attacker))
    write_script(attacker / "train.py", TRAIN)
    git(attacker, "add", "train.py")
    git(attacker, "commit", "-q", "-m", "train")
    git(attacker, "push", "-q", "origin", "HEAD:main")
    ids = {}
    for kind in ("traversal", "symlink_dir", "symlink_file", "bomb", "ansi"):
        proc = run_python(attacker, attacker / "train.py")
        assert proc.returncode == 0, proc.stderr
        ids[kind] = proc.stdout.strip().splitlines()[-1]
    outside = tmp_path / "outside"
    victim = tmp_path / "victim"
    runs = tmp_path / "attacker-runs"
    git(attacker, "worktree", "add", "-q", str(runs), "gitcfg-runs")
    top = str(attacker)

    def edit(kind: str, name: str, change) -> None:
        path = runs / run_dir(ids[kind]) / name
        if name == "run.yaml":
            meta = yaml.safe_load(path.read_text())
            change(meta)
            path.write_text(yaml.safe_dump(meta))
        else:
            path.write_text(change)

    def dirty(meta: dict, cwd: str) -> None:
        meta["cwd"] = cwd
        meta["code"]["dirty"] = True

    edit("traversal", "run.yaml", lambda m: m.update(cwd=f"{top}/../../outside"))
    edit("symlink_dir", "run.yaml", lambda m: dirty(m, f"{top}/sub"))
    edit("symlink_file", "run.yaml", lambda m: dirty(m, top))
    edit("bomb", "config.yaml", BOMB)
    edit("ansi", "run.yaml", lambda m: m.update(name=ESC_NAME, notes=ESC_NAME, tags=[ESC_NAME]))
    # the patches: a directory symlink to outside the worktree, a config.yaml symlink into the
    # victim's own repository (where a working file would do harm)
    patch_dir = _symlink_patch(attacker, "sub", str(outside))
    target = victim / ".github" / "workflows" / "config.yaml"
    patch_file = _symlink_patch(attacker, "config.yaml", str(target))
    patch_file += _symlink_patch(attacker, "requirements.txt", str(target.with_name("req.txt")))
    for kind, patch in (("symlink_dir", patch_dir), ("symlink_file", patch_file)):
        path = runs / run_dir(ids[kind]) / "diff.patch"
        path.write_text(patch)
        git(runs, "add", str(path))
    git(
        runs, "commit", "-q", "-am", f"run {ids['ansi']}: \x1b[31mred\x1b[0m \x1b]52;c;cHduZWQ=\x07"
    )
    git(runs, "push", "-q", "origin", "gitcfg-runs")

    git(tmp_path, "clone", "-q", str(remote), str(victim))
    (victim / ".github" / "workflows").mkdir(parents=True)
    outside.mkdir()
    pulled = _gitcfg(victim, "pull", "origin")
    assert pulled.returncode == 0, pulled.stderr
    return {"victim": victim, "outside": outside, "ids": ids, "tmp": tmp_path, "pull": pulled}


def _outside_untouched(hostile: dict) -> None:
    victim, outside = hostile["victim"], hostile["outside"]
    assert list(outside.iterdir()) == []
    assert list((victim / ".github" / "workflows").iterdir()) == []
    assert git(victim, "status", "--porcelain") == ""
    assert git(victim, "worktree", "list").count("\n") == 0  # no worktree left behind


@pytest.mark.parametrize(
    ("kind", "shown"), [("traversal", "/../../outside"), ("symlink_dir", "/sub")]
)  # a cwd climbing out with `..`; a cwd through a symlink to outside that the run's patch creates
def test_checkout_and_rerun_refuse_a_cwd_leading_outside_naming_the_run_and_path(
    hostile: dict, kind: str, shown: str
) -> None:
    run_id = hostile["ids"][kind]
    target = hostile["tmp"] / f"co-{kind}"
    for command in ("checkout", "rerun"):
        proc = _gitcfg(hostile["victim"], command, run_id, str(target))
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 1 and len(lines) == 1, proc.stderr
        assert lines[0].startswith("gitcfg: error: ") and run_id in lines[0], lines
        assert shown in lines[0] and "leads outside the worktree" in lines[0]
        assert not target.exists()
    _outside_untouched(hostile)


def test_checkout_never_writes_through_a_symlinked_config_or_requirements(hostile: dict) -> None:
    run_id = hostile["ids"]["symlink_file"]
    target = hostile["tmp"] / "co-symlink-file"
    proc = _gitcfg(hostile["victim"], "checkout", run_id, str(target))
    assert proc.returncode == 0, proc.stderr
    assert (target / "config.yaml").is_symlink() and (target / "requirements.txt").is_symlink()
    assert yaml.safe_load((target / "gitcfg-config.yaml").read_text()) == {"lr": 0.1}
    assert (target / "gitcfg-requirements.txt").is_file()
    git(hostile["victim"], "worktree", "remove", "--force", str(target))
    _outside_untouched(hostile)


def test_an_alias_bomb_in_a_pulled_run_is_refused_in_bounded_time(hostile: dict) -> None:
    victim, bomb = hostile["victim"], hostile["ids"]["bomb"]
    # Bounded because the alias limit refuses the document before it expands (the warning and
    # errors name it); _gitcfg's timeout is only a hang guard.
    for args in (("log",), ("log", "--format", "json"), ("history", bomb)):
        proc = _gitcfg(victim, *args)
        assert proc.returncode == 0, (args, proc.stderr)
        if args[0] == "log":
            assert "aliases expand" in proc.stderr, (args, proc.stderr)
    for args in (("show", bomb), ("checkout", bomb, str(hostile["tmp"] / "co-bomb"))):
        proc = _gitcfg(victim, *args)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 1 and len(lines) == 1 and bomb in lines[0], (args, proc.stderr)
    _outside_untouched(hostile)


def test_escape_sequences_in_pulled_names_never_reach_the_terminal_raw(hostile: dict) -> None:
    victim, ansi = hostile["victim"], hostile["ids"]["ansi"]
    outputs = {"pull": hostile["pull"].stdout + hostile["pull"].stderr}
    for args in (
        ("log",),
        ("log", "--format", "csv"),
        ("log", "--format", "md"),
        ("show", ansi),
        ("history", ansi),
    ):
        proc = _gitcfg(victim, *args)
        assert proc.returncode == 0, (args, proc.stderr)
        outputs[" ".join(args[:3])] = proc.stdout + proc.stderr
    raw = sorted(name for name, text in outputs.items() if "\x1b" in text or "\x07" in text)
    assert raw == [], f"raw escape sequences in: {raw}"


def test_a_run_file_download_never_writes_through_a_symlink(tmp_path: Path) -> None:
    from gitcfg.errors import GitcfgError
    from gitcfg.runfiles import RunFile

    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "sub").symlink_to(outside)  # a directory on the way leads out
    (root / "model.txt").symlink_to(outside / "model.txt")  # the file's place is a symlink
    for name in ("files/sub/model.txt", "files/model.txt"):
        with pytest.raises(GitcfgError, match="symlink"):
            RunFile(b"weights", name).download(str(root), replace=True)
    assert list(outside.iterdir()) == []
    assert RunFile(b"weights", "files/a/b.txt").download(str(root)).read_bytes() == b"weights"
