"""Every YAML gitcfg reads is bounded (size, nesting, alias expansion) and refuses duplicate keys.

The 486-byte alias bomb of issue 17 expands to ~10^9 nodes; it is tried in each place gitcfg reads
YAML: a pulled run's config.yaml, config-defaults.yaml, a --configs file, an `amend --set` value.

"Bounded" is checked without a wall clock (house rule: load on a shared machine breaks those):
in this process by the peak of what the refusal allocates (tracemalloc, under PEAK_BYTES: a
document refused before it expands allocates little, one that expands even partly a lot,
whatever the load); in a subprocess by the error naming the limit that refused it, with a
generous timeout as a hang guard only.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import git, one_error_line, run_python, write_script

from gitcfg.errors import GitcfgError, YamlLimitExceeded
from gitcfg.store import run_dir
from gitcfg.yamlio import MAX_YAML_DEPTH, load_yaml, load_yaml_fast

BOMB = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]"
            for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
        ),
    ]
)
LOADERS = (load_yaml, load_yaml_fast)
PEAK_BYTES = 32 << 20  # what refusing a hostile document may allocate (measured: <= 3 MiB)
HANG_GUARD_S = 60  # a subprocess still running then hangs; load alone never takes that long


@contextmanager
def bounded_allocation() -> Iterator[None]:
    """Fail when the block's allocations peak at PEAK_BYTES or more (tracemalloc)."""
    tracemalloc.start()
    try:
        yield
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < PEAK_BYTES, f"{peak >> 20} MiB allocated: the document was expanded"


def test_bomb_is_the_issues_size() -> None:
    assert 400 < len(BOMB.encode()) < 600


@pytest.mark.parametrize("load", LOADERS)
@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (BOMB, 7, "alias bomb"),
        ("a: &x [1, *x]\n", 1, "recursive"),
        ("[" * 100_000 + "]" * 100_000, 1, f"deeper than {MAX_YAML_DEPTH}"),
        ("- " * 200 + "x\n", 1, f"deeper than {MAX_YAML_DEPTH}"),
        ("lr: 1\nseed: 2\nlr: 3\n", 3, "duplicate key 'lr' (first on line 1)"),
        ("model:\n  depth: 1\n  depth: 2\n", 3, "duplicate key 'depth'"),
        ("{a: 1, a: 2}", 1, "duplicate key 'a'"),
        ("1: a\n0x1: b\n", 2, "duplicate key '0x1'"),
    ],
)
def test_hostile_documents_fail_fast_naming_the_line(
    load, text: str, line: int, words: str
) -> None:
    with bounded_allocation(), pytest.raises(YamlLimitExceeded) as caught:
        load(text)
    assert caught.value.line == line
    assert words in str(caught.value)
    assert isinstance(caught.value, GitcfgError)


@pytest.mark.parametrize("load", LOADERS)
def test_ordinary_documents_still_load(load) -> None:
    assert load("a: &x [1, 2]\nb: *x\n") == {"a": [1, 2], "b": [1, 2]}
    assert load("base: &b {k: 1, j: 2}\nover:\n  <<: *b\n  k: 3\n") == {
        "base": {"k": 1, "j": 2},
        "over": {"k": 3, "j": 2},
    }
    nested = (
        "x:\n"
        + "".join("  " * d + f"  l{d}:\n" for d in range(MAX_YAML_DEPTH - 2))
        + "  " * 99
        + "  v: 1\n"
    )
    assert load(nested)["x"]["l0"]["l1"] is not None


def test_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    import gitcfg.yamlio as yamlio

    monkeypatch.setattr(yamlio, "MAX_YAML_BYTES", 1000)
    with pytest.raises(YamlLimitExceeded, match="over the limit of 1,000"):
        load_yaml("k: " + "v" * 2000)


# --- through the real entry points -----------------------------------------------------------------

TRACK_PRINTING_ERRORS = """
import gitcfg
try:
    gitcfg.track()
except gitcfg.errors.ConfigError as e:
    print("ERR", e)
"""


def test_bomb_in_config_defaults_is_a_one_line_config_error(repo: Path) -> None:
    (repo / "config-defaults.yaml").write_text(BOMB)
    script = write_script(repo / "train.py", TRACK_PRINTING_ERRORS)
    proc = run_python(repo, script, timeout=HANG_GUARD_S)
    assert "ERR config-defaults.yaml:7: aliases expand" in proc.stdout, proc.stderr
    assert git(repo, "branch", "--list", "gitcfg-runs") == ""


def test_duplicate_key_in_configs_file(repo: Path) -> None:
    (repo / "exp.yaml").write_text("lr: 1\nbatch: 2\nlr: 3\n")
    (repo / "bomb.yaml").write_text(BOMB)
    script = write_script(repo / "train.py", TRACK_PRINTING_ERRORS)
    proc = run_python(repo, script, "--configs", "exp.yaml")
    assert "ERR exp.yaml:3: duplicate key 'lr' (first on line 1)" in proc.stdout, proc.stderr
    proc = run_python(repo, script, "--configs", "bomb.yaml", timeout=HANG_GUARD_S)
    assert "ERR bomb.yaml:7: aliases expand" in proc.stdout, proc.stderr


def _recorded_run(repo: Path) -> str:
    script = write_script(
        repo / "rec.py",
        """
        import gitcfg
        run = gitcfg.track(config={"lr": 0.1})
        print(run.id)
        run.finish()
    """,
    )
    proc = run_python(repo, script)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()[-1]


def test_amend_set_flow_value_bomb(repo: Path, cli) -> None:
    run_id = _recorded_run(repo)
    tip = git(repo, "rev-parse", "gitcfg-runs")
    levels = ["&a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"] + [
        f"&{name} [{', '.join(['*' + prev] * 9)}]"
        for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
    ]
    flow_bomb = "[" + ", ".join(levels) + "]"
    deep = "[" * 5000 + "]" * 5000
    for value in (flow_bomb, deep, "{a: 1, a: 2}"):
        with bounded_allocation():
            line = one_error_line(cli(repo, "amend", run_id, "--set", f"opt={value}"))
        assert "cannot read" in line
    assert git(repo, "rev-parse", "gitcfg-runs") == tip


def plant(repo: Path, run_id: str, name: str, text: str) -> None:
    """Replace run `run_id`'s file `name` on the runs branch with `text`, in a new commit."""
    env = {**os.environ, "GIT_INDEX_FILE": str(repo / ".git" / "plant-index")}

    def plumbing(*args: str, stdin: str | None = None) -> str:
        return subprocess.run(
            ["git", *args],
            cwd=repo,
            input=stdin,
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout.strip()

    blob = plumbing("hash-object", "-w", "--stdin", stdin=text)
    plumbing("read-tree", "gitcfg-runs")
    plumbing("update-index", "--cacheinfo", f"100644,{blob},{run_dir(run_id)}/{name}")
    commit = plumbing("commit-tree", "-p", "gitcfg-runs", "-m", "hostile", plumbing("write-tree"))
    plumbing("update-ref", "refs/heads/gitcfg-runs", commit)


def gitcfg_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "gitcfg", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_pulled_run_with_a_bomb_is_bounded(repo: Path, tmp_path: Path) -> None:
    """A bomb in a run's config.yaml on the runs branch: log, show and checkout stay bounded."""
    good, bad = _recorded_run(repo), _recorded_run(repo)
    plant(repo, bad, "config.yaml", BOMB)
    results = {}
    for args in (("log",), ("show", bad), ("show", good), ("checkout", bad, str(tmp_path / "co"))):
        results[args[0], args[1] if len(args) > 1 else None] = gitcfg_cli(repo, *args)
    log = results["log", None]
    assert log.returncode == 0 and good[:8] in log.stdout and bad[:8] in log.stdout
    [warning] = log.stderr.strip().splitlines()
    assert warning.startswith(f"gitcfg: warning: run {bad}'s config.yaml (line 7: aliases expand")
    assert results["show", good].returncode == 0
    for command in ("show", "checkout"):
        failed = results[command, bad]
        assert failed.returncode == 1 and failed.stdout == ""
        [line] = failed.stderr.strip().splitlines()
        assert line.startswith(f"gitcfg: error: run {bad}'s config.yaml cannot be read"), line
    assert not (tmp_path / "co").exists()


def test_a_hostile_run_pulled_from_a_remote(repo: Path, tmp_path: Path) -> None:
    """Someone pushes a run whose summary.yaml has a duplicate key and whose config.yaml is deep:
    `gitcfg pull` takes it, log lists it with one warning, show refuses it, other runs are fine."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    git(repo, "push", "-q", "origin", "HEAD:refs/heads/main")
    theirs = tmp_path / "theirs"
    git(tmp_path, "clone", "-q", str(bare), str(theirs))
    hostile = _recorded_run(theirs)
    plant(theirs, hostile, "summary.yaml", "loss: 1\nacc: 2\nloss: 3\n")
    plant(theirs, hostile, "config.yaml", "a: " + "[" * 5000 + "]" * 5000 + "\n")
    git(theirs, "push", "-q", "origin", "gitcfg-runs")
    mine = _recorded_run(repo)

    assert gitcfg_cli(repo, "pull").returncode == 0
    log = gitcfg_cli(repo, "log")
    assert log.returncode == 0 and hostile[:8] in log.stdout and mine[:8] in log.stdout
    [warning] = log.stderr.strip().splitlines()
    assert f"run {hostile}'s config.yaml (line 1: nesting deeper than 100 levels), " in warning
    assert "summary.yaml (line 3: duplicate key 'loss' (first on line 1)) cannot be read" in warning
    show = gitcfg_cli(repo, "show", hostile)
    assert show.returncode == 1 and f"run {hostile}'s config.yaml cannot be read" in show.stderr
    assert gitcfg_cli(repo, "show", mine).returncode == 0


def test_the_allocation_bound_sees_an_expansion() -> None:
    """bounded_allocation is not blind: a block that allocates PEAK_BYTES fails it."""
    with pytest.raises(AssertionError, match="MiB allocated"), bounded_allocation():
        expanded = [0] * (PEAK_BYTES // 8)
        del expanded
