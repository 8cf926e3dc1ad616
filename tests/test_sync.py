"""gitcfg push / pull and the git hooks: real bare remotes, clones recording runs with track()."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml
from conftest import (
    git,
    one_error_line,
    read_branch_file,
    run_id_of,
    run_python,
    snapshot,
    write_script,
)
from hypothesis import given
from hypothesis import strategies as st

from gitcfg.amend import amend_run, remove_run, run_history
from gitcfg.store import Store, run_dir
from gitcfg.sync import merge_mappings, merge_set_list

TRAIN = """
import sys, gitcfg
run = gitcfg.track({"lr": float(sys.argv[1]), "model": {"depth": 18}}, tags=["base"])
run.summary["acc"] = 0.5
run.finish()
print(run.id)
"""
T0 = 1_800_000_000  # commit times for amendments, so "later" is decided, not raced


def clone(remote: Path, name: str) -> Path:
    path = remote.parent / name
    git(remote.parent, "clone", "-q", str(remote), str(path))
    return path


def record(repo: Path, lr: float = 0.1) -> str:
    script = write_script(repo.parent / "train_script.py", TRAIN)
    proc = run_python(repo, script, str(lr))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


def run_ids(repo: Path, ref: str = "gitcfg-runs") -> set[str]:
    paths = git(repo, "ls-tree", "-r", "--name-only", ref, "runs/").splitlines()
    return {run_id_of(p) for p in paths}


def doc(repo: Path, run_id: str, name: str, ref: str = "gitcfg-runs") -> dict:
    return yaml.safe_load(read_branch_file(repo, f"{run_dir(run_id)}/{name}", ref))


def tip(repo: Path, ref: str = "gitcfg-runs") -> str:
    return git(repo, "rev-parse", ref)


# --- push and pull -------------------------------------------------------------------------------


def test_two_clones_share_runs_through_a_bare_remote(cli, remote: Path) -> None:
    a, b = clone(remote, "a"), clone(remote, "b")
    a_runs = {record(a, 0.1), record(a, 0.2)}
    b_runs = {record(b, 0.3)}  # b's runs branch starts independently: unrelated histories
    before_a, before_b = snapshot(a), snapshot(b)

    pushed = cli(a, "push")
    assert pushed.exit_code == 0, pushed.output
    assert "pushed gitcfg-runs to origin: 2 runs new or changed" in pushed.output
    assert run_ids(remote) == a_runs and tip(remote) == tip(a)

    b_tip = tip(b)
    pushed = cli(b, "push")
    assert pushed.exit_code == 0, pushed.output
    assert "from origin: 2 runs new or changed (merge commit)" in pushed.output
    assert run_ids(remote) == a_runs | b_runs == run_ids(b)
    parents = git(b, "log", "-1", "--format=%P", "gitcfg-runs").split()
    assert parents == [b_tip, tip(a)]  # both histories kept
    assert (
        git(b, "log", "-1", "--format=%s", "gitcfg-runs")
        == "merge runs from origin: 2 runs new or changed"
    )

    pulled = cli(a, "pull")
    assert pulled.exit_code == 0, pulled.output
    assert "from origin: 1 run new or changed (fast-forward)" in pulled.output
    assert tip(a) == tip(b) == tip(remote)
    again = cli(a, "pull")
    assert again.exit_code == 0 and "already up to date with origin" in again.output
    nothing = cli(a, "push")
    assert "nothing to push to origin: already up to date" in nothing.output

    # the user's refs (refs/remotes/origin/main included), index, HEAD and files are untouched
    assert snapshot(a) == before_a and snapshot(b) == before_b
    for repo in (a, b, remote):
        git(repo, "fsck", "--strict")


def test_pull_fetches_into_a_private_ref_and_writes_no_fetch_head(cli, remote: Path) -> None:
    a, b = clone(remote, "a"), clone(remote, "b")
    run_id = record(a)
    assert cli(a, "push").exit_code == 0
    refs_before = git(b, "for-each-ref", "--format=%(refname)").splitlines()
    result = cli(b, "pull")
    assert result.exit_code == 0, result.output
    assert "from origin: 1 run new or changed (new branch)" in result.output
    refs_after = git(b, "for-each-ref", "--format=%(refname)").splitlines()
    assert sorted(set(refs_after) - set(refs_before)) == [
        "refs/gitcfg/remotes/origin/gitcfg-runs",
        "refs/heads/gitcfg-runs",
    ]
    assert not (b / ".git" / "FETCH_HEAD").exists()
    assert run_ids(b) == {run_id}


def test_pull_uses_the_current_branchs_upstream_remote(cli, remote: Path, tmp_path: Path) -> None:
    a = clone(remote, "a")
    b = clone(remote, "b")  # before a's push: a clone made after it has the runs already
    git(b, "remote", "rename", "origin", "upstream")  # main now tracks upstream/main
    record(a)
    assert cli(a, "push").exit_code == 0
    result = cli(b, "pull")
    assert result.exit_code == 0, result.output
    assert "from upstream:" in result.output
    assert tip(b) == tip(a)


def test_one_run_amended_on_two_machines_merges_key_by_key(cli, remote: Path) -> None:
    a, b = clone(remote, "a"), clone(remote, "b")
    run_id = record(a)
    assert cli(a, "push").exit_code == 0 and cli(b, "pull").exit_code == 0
    # a changes lr and adds a tag; b, later, changes lr too, the depth, the summary and a tag
    amend_run(Store.open(a), run_id, set={"lr": 0.3}, tags=["a-tag"], reason="from a", now=T0)
    amend_run(
        Store.open(b),
        run_id,
        set={"lr": 0.4, "model.depth": 50},
        summary={"acc": 0.6},
        tags=["b-tag"],
        reason="from b",
        now=T0 + 60,
    )
    assert cli(a, "push").exit_code == 0
    a_tip, b_tip = tip(a), tip(b)

    result = cli(b, "push")  # b merges a's amendment (from the remote), then pushes
    assert result.exit_code == 0, result.output
    assert "local's later change won config.lr" in result.output
    assert git(b, "log", "-1", "--format=%P", "gitcfg-runs").split() == [b_tip, a_tip]
    message = git(b, "log", "-1", "--format=%B", "gitcfg-runs")
    assert (
        f"Reconciled {run_id}: changed on both sides; local's later change won config.lr" in message
    )
    assert message == (  # exact bytes: history and --grep read them
        f"merge runs from origin: 1 run new or changed, 1 reconciled\n\nMerged origin's runs branch "
        f"at {a_tip}.\nReconciled {run_id}: changed on both sides; local's later change won "
        "config.lr\n  config.lr: local 0.4, origin 0.3; local's won (later)\n\nMerged-From: origin"
    )

    assert doc(b, run_id, "config.yaml") == {"lr": 0.4, "model": {"depth": 50}}
    assert doc(b, run_id, "summary.yaml") == {"acc": 0.6}
    meta = doc(b, run_id, "run.yaml")
    assert meta["tags"] == ["base", "a-tag", "b-tag"]  # the earlier side's additions first
    assert [e["reason"] for e in meta["amendments"]] == ["from a", "from b"]

    assert cli(a, "pull").exit_code == 0
    assert tip(a) == tip(b) == tip(remote)
    _, entries = run_history(Store.open(a), run_id)
    assert [(e.action, e.why) for e in entries if e.action != "run"] == [
        ("amend", "from a"),
        ("amend", "from b"),
        ("merge", ""),
    ]
    git(a, "fsck", "--strict")


def test_the_later_side_wins_a_key_changed_on_both_whichever_merges(cli, remote: Path) -> None:
    a, b = clone(remote, "a"), clone(remote, "b")
    run_id = record(a)
    assert cli(a, "push").exit_code == 0 and cli(b, "pull").exit_code == 0
    amend_run(Store.open(b), run_id, set={"lr": 0.4}, now=T0)
    amend_run(Store.open(a), run_id, set={"lr": 0.3}, note="a's note", now=T0 + 60)
    assert cli(a, "push").exit_code == 0  # the later change reaches the remote first
    result = cli(b, "push")  # b merges: origin's change is later and wins
    assert result.exit_code == 0, result.output
    assert "origin's later change won config.lr" in result.output
    assert doc(remote, run_id, "config.yaml")["lr"] == 0.3
    assert doc(remote, run_id, "run.yaml")["notes"] == "a's note"


def test_a_run_removed_on_one_machine_and_amended_earlier_on_another_stays_removed(
    cli, remote
) -> None:
    a, b = clone(remote, "a"), clone(remote, "b")
    run_id, kept = record(a, 0.1), record(a, 0.2)
    assert cli(a, "push").exit_code == 0 and cli(b, "pull").exit_code == 0
    amend_run(Store.open(b), run_id, tags=["suspect"], now=T0)
    remove_run(Store.open(a), run_id, reason="broken run", now=T0 + 60)
    assert cli(a, "push").exit_code == 0
    result = cli(b, "push")
    assert result.exit_code == 0, result.output
    assert "removed on one side, changed on the other; kept origin's (later)" in result.output
    assert run_ids(remote) == {kept}
    # and the amendment is still in history
    _, entries = run_history(Store.open(b), run_id[:10])
    assert ("amend", "tag suspect") in [(e.action, e.what) for e in entries]


def test_a_push_that_loses_a_race_fetches_merges_and_pushes_again(cli, remote: Path) -> None:
    a, c = clone(remote, "a"), clone(remote, "c")
    c_run = record(c)
    assert cli(c, "push").exit_code == 0
    c_later = record(c)
    # c's next runs wait on the remote under another name; the remote's `update` hook moves the
    # runs branch there while a's push is being received, once: a real lost race, no mocks.
    git(c, "push", "-q", "origin", "gitcfg-runs:refs/heads/side")
    hook = remote / "hooks" / "update"
    hook.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = refs/heads/gitcfg-runs ] && [ ! -e raced ]; then\n'
        "    touch raced\n"
        "    git update-ref refs/heads/gitcfg-runs refs/heads/side\n"
        "fi\n"
        "exit 0\n"
    )
    hook.chmod(0o755)
    a_run = record(a)
    result = cli(a, "push")
    assert result.exit_code == 0, result.output
    assert (remote / "raced").exists()
    assert run_ids(remote) == {c_run, c_later, a_run}
    assert tip(remote) == tip(a)


def test_many_clones_pushing_at_once_lose_no_run(remote: Path) -> None:
    clones = [clone(remote, f"c{i}") for i in range(4)]
    recorded = {record(repo, 0.1 * i) for i, repo in enumerate(clones) for _ in range(2)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "gitcfg", "push"],
            cwd=repo,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for repo in clones
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert run_ids(remote) == recorded
    git(remote, "fsck", "--strict")


# --- errors --------------------------------------------------------------------------------------


def test_a_missing_remote_is_a_one_line_error(cli, repo: Path) -> None:
    record(repo)
    line = one_error_line(cli(repo, "push", "nope"))
    assert "no git remote named 'nope'" in line
    line = one_error_line(cli(repo, "pull"))  # no upstream and no origin
    assert "no git remote named 'origin' and the current branch has no upstream" in line


def test_an_unreachable_remote_is_a_one_line_error(cli, repo: Path, tmp_path: Path) -> None:
    record(repo)
    git(repo, "remote", "add", "origin", str(tmp_path / "gone.git"))
    line = one_error_line(cli(repo, "push"))
    assert "could not reach remote 'origin'" in line and "gone.git" in line
    assert "could not reach remote 'origin'" in one_error_line(cli(repo, "pull"))


def test_pull_from_a_remote_without_runs_says_so(cli, remote: Path) -> None:
    a = clone(remote, "a")
    result = cli(a, "pull")
    assert result.exit_code == 0, result.output
    assert "origin has no gitcfg-runs branch yet" in result.output
    assert cli(a, "pull", "--quiet").output == ""


def test_a_remote_branch_in_a_newer_format_is_refused(cli, remote: Path) -> None:
    a, b = clone(remote, "a"), clone(remote, "b")
    record(a)
    assert cli(a, "push").exit_code == 0
    git(a, "checkout", "-q", "gitcfg-runs")
    (a / "FORMAT").write_text("99\n")
    git(a, "commit", "-q", "-am", "format 99")
    git(a, "push", "-q", "origin", "gitcfg-runs")
    record(b)
    line = one_error_line(cli(b, "pull"))
    assert "uses format 99, newer than this gitcfg understands" in line


# --- hooks ---------------------------------------------------------------------------------------


def test_git_push_shares_runs_and_git_pull_brings_them(cli, remote: Path, gitcfg_on_path) -> None:
    a, b = clone(remote, "a"), clone(remote, "b")
    for repo in (a, b):
        assert cli(repo, "init").exit_code == 0
    a_run = record(a)
    (a / "notes.md").write_text("x\n")
    git(a, "add", "notes.md")
    git(a, "commit", "-q", "-m", "notes")
    git(a, "push", "-q", "origin", "main")  # pre-push: gitcfg push
    assert run_ids(remote) == {a_run}

    b_run = record(b)
    git(b, "pull", "-q", "--no-rebase")  # a fast-forward: post-merge: gitcfg pull
    assert run_ids(b) == {a_run, b_run}

    a_second = record(a)
    (a / "more.md").write_text("y\n")
    git(a, "add", "more.md")
    git(a, "commit", "-q", "-m", "more")
    git(a, "push", "-q")
    (b / "local.md").write_text("z\n")
    git(b, "add", "local.md")
    git(b, "commit", "-q", "-m", "local")
    git(b, "pull", "-q", "--rebase")  # replays b's commit: post-rewrite: gitcfg pull
    assert a_second in run_ids(b)


def test_a_local_merge_fetches_no_runs(cli, remote: Path, gitcfg_on_path) -> None:
    a, b = clone(remote, "a"), clone(remote, "b")
    assert cli(b, "init").exit_code == 0
    record(a)
    assert cli(a, "push").exit_code == 0
    git(b, "checkout", "-q", "-b", "feature")
    (b / "f.md").write_text("f\n")
    git(b, "add", "f.md")
    git(b, "commit", "-q", "-m", "feature")
    git(b, "checkout", "-q", "main")
    before = tip(b)  # `gitcfg init` started the branch
    git(b, "merge", "-q", "--no-edit", "feature")
    assert tip(b) == before and run_ids(b) == set()
    assert not git(
        b, "rev-parse", "-q", "--verify", "refs/gitcfg/remotes/origin/gitcfg-runs", check=False
    )


def test_the_push_hook_never_fails_the_users_push(cli, remote: Path, gitcfg_on_path) -> None:
    a = clone(remote, "a")
    assert cli(a, "init").exit_code == 0
    record(a)
    hook = remote / "hooks" / "pre-receive"  # the remote refuses the runs branch
    hook.write_text("#!/bin/sh\ngrep -q refs/heads/gitcfg-runs && exit 1\nexit 0\n")
    hook.chmod(0o755)
    (a / "x.md").write_text("x\n")
    git(a, "add", "x.md")
    git(a, "commit", "-q", "-m", "x")
    proc = subprocess.run(["git", "push", "origin", "main"], cwd=a, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert git(remote, "rev-parse", "main") == git(a, "rev-parse", "main")
    assert "could not share gitcfg-runs with origin" in proc.stderr
    assert git(remote, "rev-parse", "-q", "--verify", "gitcfg-runs", check=False) == ""


def test_hooks_chain_existing_ones_and_honour_core_hooks_path(
    cli, remote: Path, gitcfg_on_path
) -> None:
    a, b = clone(remote, "a"), clone(remote, "b")
    git(b, "config", "core.hooksPath", ".githooks")
    hooks = b / ".githooks"
    hooks.mkdir()
    mine = '#!/bin/sh\necho "mine $*" >> "$(git rev-parse --git-dir)/mine.log"\n'
    (hooks / "post-merge").write_text(mine)
    (hooks / "post-merge").chmod(0o755)
    result = cli(b, "init")
    assert result.exit_code == 0, result.output
    assert "installed post-merge hook" in result.output and "still runs first" in result.output
    assert (hooks / "post-merge.pre-gitcfg").read_text() == mine
    a_run = record(a)
    assert cli(a, "push").exit_code == 0
    (a / "y.md").write_text("y\n")
    git(a, "add", "y.md")
    git(a, "commit", "-q", "-m", "y")
    git(a, "push", "-q", "origin", "main")
    git(b, "pull", "-q", "--no-rebase")
    assert (b / ".git" / "mine.log").read_text() == "mine 0\n"
    assert run_ids(b) == {a_run}


# --- the merge rule, pure ------------------------------------------------------------------------

values = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=5)
    ),
    lambda children: st.dictionaries(st.sampled_from("abc"), children, max_size=3),
    max_leaves=6,
)
mappings = st.dictionaries(st.sampled_from("abcde"), values, max_size=5)


def _canon(mapping: dict) -> str:
    return json.dumps(mapping, sort_keys=True)


@given(mappings, mappings)
def test_a_change_on_one_side_only_is_taken(base: dict, changed: dict) -> None:
    assert _canon(merge_mappings(base, changed, base, theirs_wins=True)) == _canon(changed)
    assert _canon(merge_mappings(base, base, changed, theirs_wins=False)) == _canon(changed)


@given(mappings, mappings, mappings, st.booleans())
def test_the_merge_is_the_same_whichever_side_merges(base, ours, theirs, theirs_later) -> None:
    conflicts_here: list[str] = []
    conflicts_there: list[str] = []
    here = merge_mappings(base, ours, theirs, theirs_wins=theirs_later, conflicts=conflicts_here)
    there = merge_mappings(
        base, theirs, ours, theirs_wins=not theirs_later, conflicts=conflicts_there
    )
    assert json.dumps(here) == json.dumps(there)  # key order included: the same file either way
    assert sorted(conflicts_here) == sorted(conflicts_there)


def test_tags_merge_as_a_set() -> None:
    assert merge_set_list(["base", "old"], ["base", "old", "a"], ["base", "b"]) == [
        "base",
        "a",
        "b",
    ]
    assert merge_set_list(["x"], ["x", "y"], ["x", "y"]) == ["x", "y"]


def test_git_pull_from_a_named_remote_pulls_runs_from_that_remote(
    cli, remote: Path, gitcfg_on_path
) -> None:
    mirror = remote.parent / "mirror.git"
    git(remote.parent, "clone", "-q", "--bare", str(remote), str(mirror))
    a, b = clone(remote, "a"), clone(remote, "b")
    git(a, "remote", "add", "mirror", str(mirror))
    run_id = record(a)
    assert cli(a, "push", "mirror").exit_code == 0  # the runs go to the mirror only
    (a / "m.md").write_text("m\n")
    git(a, "add", "m.md")
    git(a, "commit", "-q", "-m", "m")
    git(a, "push", "-q", "mirror", "main")
    assert cli(b, "init").exit_code == 0
    git(b, "remote", "add", "mirror", str(mirror))
    git(b, "pull", "-q", "--no-rebase", "mirror", "main")  # upstream is origin; this names mirror
    assert run_ids(b) == {run_id}
    assert git(
        b, "rev-parse", "-q", "--verify", "refs/gitcfg/remotes/mirror/gitcfg-runs", check=False
    )
