"""gitcfg amend / history / show --as-recorded / rm: one commit per change, history keeps every version."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml
from conftest import (
    commit_initial,
    copy_repo,
    git,
    init_repo,
    one_error_line,
    read_branch_file,
    run_python,
    runs_branch_files,
    sealed,
    snapshot,
    write_script,
)
from hypothesis import given
from hypothesis import strategies as st

from gitcfg.amend import (
    amend_run,
    as_recorded,
    change_subject,
    parse_value,
    remove_run,
    render_value,
)
from gitcfg.errors import BadAmendment, RunStillRunning
from gitcfg.store import Store, parse_message, run_dir

TRAIN = """
import sys, gitcfg
run = gitcfg.track({"lr": 3e-4, "dataset": "imagenet", "model": {"depth": 18, "width": 64}},
                   tags=["baseline"])
run.log({"val_acc": 0.8})
run.summary["best_val_acc"] = 0.81
run.finish()
print(run.id)
"""


def record_run(repo: Path, tmp_path: Path, body: str = TRAIN) -> str:
    script = write_script(tmp_path / "train.py", body)
    proc = run_python(repo, script)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def finished_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One finished run recorded by a real process, once per module; each test gets a copy."""
    base = tmp_path_factory.mktemp("finished")
    with sealed(tmp_path_factory):
        repo = commit_initial(init_repo(base / "repo"))
        return repo, record_run(repo, base)


@pytest.fixture
def finished(finished_template: tuple[Path, str], tmp_path: Path) -> tuple[Path, str]:
    template, run_id = finished_template
    return copy_repo(template, tmp_path / "repo"), run_id


def _run_yaml(repo: Path, run_id: str) -> dict:
    return yaml.safe_load(read_branch_file(repo, f"{run_dir(run_id)}/run.yaml"))


def _config(repo: Path, run_id: str, ref: str = "gitcfg-runs") -> dict:
    return yaml.safe_load(read_branch_file(repo, f"{run_dir(run_id)}/config.yaml", ref))


# --- the amend command ---------------------------------------------------------------------------


def test_amend_rewrites_the_run_in_one_commit_with_reason_and_trailers(cli, finished) -> None:
    repo, run_id = finished
    before = snapshot(repo)
    old_tip = git(repo, "rev-parse", "gitcfg-runs")
    result = cli(
        repo,
        "amend",
        run_id[:9],
        "--set",
        "lr=1e-3",
        "--set",
        "model.depth=34",
        "--tag",
        "leak",
        "-m",
        "val split overlapped train",
    )
    assert result.exit_code == 0, result.output
    assert f"amended {run_id}" in result.output
    # exactly one new commit, on top of the old tip, touching only this run's directory (and
    # the summary index file holding its entry)
    assert git(repo, "rev-parse", "gitcfg-runs^") == old_tip
    changed = git(repo, "diff", "--name-only", old_tip, "gitcfg-runs").splitlines()
    runs = [p for p in changed if not p.startswith("index/")]
    assert runs and all(p.startswith(f"{run_dir(run_id)}/") for p in runs)
    assert len(changed) == len(runs) + 1
    message = git(repo, "log", "-1", "--format=%B", "gitcfg-runs")
    subject, _, body = message.partition("\n")
    assert subject == f"amend {run_id}: set lr=0.001, model.depth=34; tag leak"
    assert "val split overlapped train" in body
    assert f"Run-Id: {run_id}" in body and "Amended-By: Test User <test@example.com>" in body
    config = _config(repo, run_id)
    assert config == {"lr": 0.001, "dataset": "imagenet", "model": {"depth": 34, "width": 64}}
    assert isinstance(config["lr"], float)
    meta = _run_yaml(repo, run_id)
    assert meta["tags"] == ["baseline", "leak"]
    assert (
        meta["config_sources"]["lr"] == "amended" and meta["config_sources"]["model"] == "amended"
    )
    assert meta["config_sources"]["dataset"] != "amended"
    [entry] = meta["amendments"]
    assert entry["by"] == "Test User <test@example.com>"
    assert entry["reason"] == "val split overlapped train"
    assert entry["changes"] == [
        "set lr=0.001 (was 0.0003)",
        "set model.depth=34 (was 18)",
        "tag leak",
    ]
    assert entry["at"].endswith("Z")
    assert meta["status"] == "finished"  # everything else is kept
    assert snapshot(repo) == before
    git(repo, "fsck", "--strict")


def test_amend_summary_untag_note_name_and_unset(cli, finished) -> None:
    repo, run_id = finished
    result = cli(
        repo,
        "amend",
        run_id,
        "--summary",
        "best_val_acc=0.79",
        "--summary",
        "test.acc=0.7",
        "--untag",
        "baseline",
        "--note",
        "rerun needed",
        "--name",
        "leaky-run",
        "--unset",
        "dataset",
        "--unset",
        "model.width",
    )
    assert result.exit_code == 0, result.output
    summary = yaml.safe_load(read_branch_file(repo, f"{run_dir(run_id)}/summary.yaml"))
    assert summary["best_val_acc"] == 0.79 and summary["test"] == {"acc": 0.7}
    assert summary["val_acc"] == 0.8
    meta = _run_yaml(repo, run_id)
    assert meta["tags"] == [] and meta["notes"] == "rerun needed" and meta["name"] == "leaky-run"
    assert "dataset" not in meta["config_sources"]  # unset top-level key: no source left
    assert meta["config_sources"]["model"] == "amended"
    assert _config(repo, run_id) == {"lr": 3e-4, "model": {"depth": 18}}
    # the new name resolves
    shown = cli(repo, "show", "leaky-run", "--format", "json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["run"]["id"] == run_id


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--unset", "model.dept"],
            "has no config key 'model.dept' to unset; did you mean 'model.depth'",
        ),
        (["--set", "lr.warmup=3"], "config key 'lr' holds 0.0003, not a mapping"),
        (["--set", "lr"], "--set 'lr' needs KEY=VALUE"),
        (["--untag", "nope"], "has no tag 'nope' to remove (its tags: baseline)"),
        (["--set", "lr=3e-4"], "already holds these values; nothing to amend"),
        (["--set", "x=[1,"], "cannot read '[1,' as a YAML value"),
        ([], "nothing to amend"),
    ],
)
def test_amend_mistakes_are_one_line_errors_and_commit_nothing(
    cli, finished, args, message
) -> None:
    repo, run_id = finished
    tip = git(repo, "rev-parse", "gitcfg-runs")
    result = cli(repo, "amend", run_id, *args)
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gitcfg: error: "), result.output
    assert message in lines[0]
    assert git(repo, "rev-parse", "gitcfg-runs") == tip


def test_a_running_run_cannot_be_amended_or_removed(cli, repo: Path, tmp_path: Path) -> None:
    script = write_script(
        tmp_path / "slow.py",
        """
        import sys, gitcfg
        run = gitcfg.track({"lr": 0.1})
        print(run.id, flush=True)
        sys.stdin.readline()
        run.finish()
    """,
    )
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=repo,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        run_id = proc.stdout.readline().strip()
        result = cli(repo, "amend", run_id, "--set", "lr=0.2")
        assert result.exit_code == 1
        assert f"run {run_id} is still running (pid {proc.pid} on " in result.output
        assert "amend it after it ends" in result.output
        assert cli(repo, "rm", run_id).exit_code == 1
        with pytest.raises(RunStillRunning):
            amend_run(Store.open(repo), run_id, set={"lr": 0.2})
    finally:
        proc.communicate("\n", timeout=30)
    assert proc.returncode == 0
    assert cli(repo, "amend", run_id, "--set", "lr=0.2").exit_code == 0


def test_a_secret_looking_key_set_by_amend_is_stored_masked(cli, finished) -> None:
    repo, run_id = finished
    result = cli(repo, "amend", run_id, "--set", "hf_token=hf_abc123")
    assert result.exit_code == 0, result.output
    assert "hf_token is stored masked" in result.output
    assert _config(repo, run_id)["hf_token"] == "***"
    assert "hf_abc123" not in git(repo, "log", "-p", "gitcfg-runs")


def test_amend_from_python_with_typed_values(finished) -> None:
    repo, run_id = finished
    store = Store.open(repo)
    result = amend_run(
        store, run_id[:10], set={"lr": 1e-3, "layers": [64, 128]}, reason="typo", now=1_800_000_000
    )
    assert result.run_id == run_id and result.changes == ("set lr=0.001", "set layers=[64, 128]")
    record = store.read_run(run_id)
    assert record.config["layers"] == [64, 128]
    assert record.meta["amendments"][0]["at"] == "2027-01-15T08:00:00.000Z"
    assert git(repo, "log", "-1", "--format=%at", "gitcfg-runs") == "1800000000"


def test_concurrent_amendments_of_one_run_lose_nothing(finished) -> None:
    repo, run_id = finished
    errors: list[BaseException] = []

    def writer(index: int) -> None:
        try:
            for step in range(3):
                amend_run(Store.open(repo), run_id, set={f"k{index}_{step}": step})
        except BaseException as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    config = _config(repo, run_id)
    assert all(config[f"k{i}_{s}"] == s for i in range(4) for s in range(3))
    assert len(_run_yaml(repo, run_id)["amendments"]) == 12
    git(repo, "fsck", "--strict")


# --- history, as recorded, rm --------------------------------------------------------------------


def test_history_lists_every_change_oldest_first_with_who_when_what_why(cli, finished) -> None:
    repo, run_id = finished
    assert cli(repo, "amend", run_id, "--set", "lr=1e-3", "-m", "typo in the sweep").exit_code == 0
    assert cli(repo, "amend", run_id, "--tag", "leak").exit_code == 0
    result = cli(repo, "history", run_id[:9], "--format", "json")
    assert result.exit_code == 0, result.output
    entries = json.loads(result.output)
    assert [(e["action"], e["what"]) for e in entries] == [
        ("run", "started"),
        ("run", "finished (exit 0)"),
        ("amend", "set lr=0.001"),
        ("amend", "tag leak"),
    ]
    assert entries[2]["why"] == "typo in the sweep" and entries[3]["why"] == ""
    assert all(e["author"] == "Test User <test@example.com>" and e["date"] for e in entries)
    text = cli(repo, "history", run_id[:9])
    assert text.exit_code == 0, text.output
    assert "amend  set lr=0.001" in text.output and "why: typo in the sweep" in text.output


def test_show_as_recorded_gives_the_run_before_amendments(cli, finished) -> None:
    repo, run_id = finished
    assert (
        cli(repo, "amend", run_id, "--set", "lr=1e-3", "--summary", "best_val_acc=0.5").exit_code
        == 0
    )
    assert cli(repo, "amend", run_id, "--set", "dataset=imagenet-v2").exit_code == 0
    original = cli(repo, "show", run_id, "--as-recorded", "--format", "json")
    assert original.exit_code == 0, original.output
    document = json.loads(original.output)
    assert document["config"]["lr"] == 3e-4 and document["config"]["dataset"] == "imagenet"
    assert document["summary"]["best_val_acc"] == 0.81
    assert "amendments" not in document["run"] and document["run"]["status"] == "finished"
    config_only = cli(repo, "show", run_id, "--as-recorded", "--config")
    assert yaml.safe_load(config_only.output)["lr"] == 3e-4
    current = json.loads(cli(repo, "show", run_id, "--format", "json").output)
    assert current["config"]["lr"] == 0.001 and current["config"]["dataset"] == "imagenet-v2"
    assert as_recorded(Store.open(repo), run_id).config == document["config"]


def test_rm_removes_the_run_in_one_commit_and_history_keeps_it(cli, finished, tmp_path) -> None:
    repo, run_id = finished
    other = record_run(repo, tmp_path)
    before = snapshot(repo)
    tip = git(repo, "rev-parse", "gitcfg-runs")
    result = cli(repo, "rm", run_id[:9], "-m", "smoke test")
    assert result.exit_code == 0, result.output
    assert git(repo, "rev-parse", "gitcfg-runs^") == tip
    files = runs_branch_files(repo)
    assert not any(run_id in p for p in files) and any(other in p for p in files)
    assert git(repo, "log", "-1", "--format=%s", "gitcfg-runs") == f"rm {run_id}: removed"
    assert cli(repo, "show", run_id[:9]).exit_code == 1
    history = json.loads(cli(repo, "history", run_id[:9], "--format", "json").output)
    assert [e["action"] for e in history] == ["run", "run", "rm"]
    assert history[-1]["why"] == "smoke test"
    # the files are one `git show` away
    restored = git(repo, "show", f"gitcfg-runs^:{run_dir(run_id)}/config.yaml")
    assert yaml.safe_load(restored)["lr"] == 3e-4
    assert snapshot(repo) == before


# --- pure parts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1e-3", 0.001),
        ("3", 3),
        ("0.5", 0.5),
        ("true", True),
        ("null", None),
        ("'3'", "3"),
        ('"1e-3"', "1e-3"),
        ("imagenet-v2", "imagenet-v2"),
        ("[1, 2]", [1, 2]),
        ("{a: 1}", {"a": 1}),
        ("2026-01-01", "2026-01-01"),
        ("", None),
    ],
)
def test_values_parse_as_yaml_scalars(text: str, value: object) -> None:
    parsed = parse_value(text)
    assert parsed == value and type(parsed) is type(value)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(st.characters(blacklist_categories=["Cs"]), max_size=20),
)


@given(scalars)
def test_render_value_reads_back_as_the_same_value(value: object) -> None:
    parsed = parse_value(render_value(value))
    assert parsed == value and type(parsed) is type(value)


def test_nan_renders_as_yaml_nan() -> None:
    assert math.isnan(parse_value(render_value(float("nan"))))


def test_a_long_subject_names_the_first_changes_and_counts_the_rest() -> None:
    subject = change_subject("amend", "x", [f"set key{i}=value{i}" for i in range(30)])
    assert len(subject) <= 130 and subject.endswith("more")
    assert subject.startswith("amend x: set key0=value0, key1=value1")


def test_parse_message_splits_subject_reason_and_trailers() -> None:
    parsed = parse_message(
        "amend abc: set lr=0.1\n\nwhy\n\nmore why\n\nRun-Id: abc\nAmended-By: A <a@b>\n"
    )
    assert (parsed.verb, parsed.run_id, parsed.what) == ("amend", "abc", "set lr=0.1")
    assert parsed.why == "why\n\nmore why"
    assert parsed.trailers == {"Run-Id": "abc", "Amended-By": "A <a@b>"}


def test_amendment_values_are_normalised_like_config_values(finished) -> None:
    repo, run_id = finished
    with pytest.raises(Exception, match="object"):
        amend_run(Store.open(repo), run_id, set={"thing": object()})
    with pytest.raises(BadAmendment):
        amend_run(Store.open(repo), run_id, unset=["missing"])


SAME_VALUES = """
import gitcfg
run = gitcfg.track({"model": {"k": 1}, "scale": float("nan"), "sizes": [1]})
run.finish()
print(run.id)
"""


def test_a_value_of_another_type_is_a_change_and_nan_is_the_same_as_nan(
    cli, repo, tmp_path
) -> None:
    run_id = record_run(repo, tmp_path, SAME_VALUES)
    tip = git(repo, "rev-parse", "gitcfg-runs")
    for setting in ("scale=.nan", "model={k: 1}"):  # re-setting what is there changes nothing
        line = one_error_line(cli(repo, "amend", run_id, "--set", setting))
        assert "already holds these values; nothing to amend" in line
    assert git(repo, "rev-parse", "gitcfg-runs") == tip
    result = cli(repo, "amend", run_id, "--set", "model={k: true}", "--set", "sizes=[1.0]")
    assert result.exit_code == 0, result.output
    assert _config(repo, run_id)["model"] == {"k": True}
    assert _config(repo, run_id)["sizes"] == [1.0] and isinstance(
        _config(repo, run_id)["sizes"][0], float
    )


def test_a_dotted_key_reaches_a_mapping_under_a_literal_dotted_name(repo, tmp_path) -> None:
    body = "import gitcfg\nrun = gitcfg.track({'a.b': {'c': 1, 'd': 2}})\nrun.finish()\nprint(run.id)\n"
    run_id = record_run(repo, tmp_path, body)
    store = Store.open(repo)
    assert amend_run(store, run_id, set={"a.b.c": 2}).changes == ("set a.b.c=2",)
    assert _config(repo, run_id) == {"a.b": {"c": 2, "d": 2}}  # no new `a: {b: {c: 2}}`
    assert amend_run(store, run_id, unset=["a.b.d"]).changes == ("unset a.b.d",)
    assert _config(repo, run_id) == {"a.b": {"c": 2}}


def test_runs_branch_commit_messages_keep_their_exact_bytes(repo, tmp_path) -> None:
    # history, `git log --grep` and parse_message read these: pin one message of each kind
    run_id = record_run(repo, tmp_path)
    code_commit = git(repo, "rev-parse", "HEAD")
    store = Store.open(repo)
    amend_run(store, run_id, set={"lr": 0.1}, tags=["t"], reason="  why\n\nmore  \n")
    remove_run(store, run_id, reason="gone")
    messages = [
        git(repo, "cat-file", "commit", commit).partition("\n\n")[2]
        + "\n"  # git() strips the last \n
        for commit in git(repo, "rev-list", "-4", "gitcfg-runs").split()
    ]
    assert messages == [
        f"rm {run_id}: removed\n\ngone\n\nRun-Id: {run_id}\nRemoved-By: Test User <test@example.com>\n",
        f"amend {run_id}: set lr=0.1; tag t\n\nwhy\n\nmore\n\n"
        f"Run-Id: {run_id}\nAmended-By: Test User <test@example.com>\n",
        f"run {run_id}: finished (exit 0)\n\nRun-Id: {run_id}\nCode-Commit: {code_commit}\n",
        f"run {run_id}: started\n\nRun-Id: {run_id}\nCode-Commit: {code_commit}\n",
    ]


def test_amending_a_run_with_a_damaged_config_fails_instead_of_wiping_it(cli, finished) -> None:
    from runs_branch import commit, run_dir

    repo, run_id = finished
    tip = commit(repo, {f"{run_dir(run_id)}/config.yaml": b"lr: [0.1\n"})
    line = one_error_line(cli(repo, "amend", run_id, "--tag", "x"))
    assert f"run {run_id}'s config.yaml cannot be read as a YAML mapping" in line
    assert git(repo, "rev-parse", "gitcfg-runs") == tip
