"""The run lifecycle: step semantics, summaries, the live journal, statuses, crash recovery,
distributed ranks, disabled mode, forked and spawned children, interactive sessions."""

from __future__ import annotations

import errno
import json
import marshal
import math
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import (
    git,
    read_branch_file,
    run_id_of,
    run_python,
    runs_branch_files,
    snapshot,
    wait_for,
    write_script,
)
from typer.testing import CliRunner

from gitcfg import journal
from gitcfg.cli import app
from gitcfg.configuration import Config
from gitcfg.journal import (
    decode_rows,
    process_gone,
    process_identity,
    recover,
    recovered_summary,
    rows_to_jsonl,
)
from gitcfg.store import Store, hostname, run_dir
from gitcfg.summaries import Summary
from gitcfg.tracking import Run, process_rank

# --- helpers -----------------------------------------------------------------------------------


def _run_ids(repo: Path) -> set[str]:
    return {run_id_of(p) for p in runs_branch_files(repo) if p.startswith("runs/")}


def _branch_yaml(repo: Path, run_id: str, name: str) -> Any:
    return yaml.safe_load(read_branch_file(repo, f"{run_dir(run_id)}/{name}"))


def _branch_rows(repo: Path, run_id: str) -> list[dict[str, Any]]:
    text = read_branch_file(repo, f"{run_dir(run_id)}/metrics.jsonl")
    return [json.loads(line) for line in text.splitlines()]


def _live_dir(repo: Path, run_id: str) -> Path:
    return repo / ".git" / "gitcfg" / "live" / run_id


def _start_run(repo: Path, config: dict[str, Any] | None = None) -> Run:
    """A recording Run in this process, started as track() starts one, without its exit hooks."""
    resolved = Config(config or {"lr": 0.1})
    run = Run(resolved, store=Store.open(repo))
    run._start(["train.py"], None)
    resolved._mark_started()
    resolved._set_recorder(run._on_config_change)
    return run


def _finished_rows(repo: Path, run: Run) -> list[dict[str, Any]]:
    run.finish()
    return _branch_rows(repo, run.id)


def _gitcfg_log(repo: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(app, ["log", *args])
    assert result.exit_code == 0, result.output
    return result


def _log_rows(repo: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, Any]]:
    result = _gitcfg_log(repo, monkeypatch, "--format", "json")
    return {row["id"]: row for row in json.loads(result.stdout)}


def _start_child(
    repo: Path, script: Path, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], str]:
    """Start `script`, which prints its run id once it is ready; return the process and the id."""
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line:
        proc.wait(timeout=30)
        raise AssertionError(
            f"child failed before it was ready: {proc.stderr.read() if proc.stderr else ''}"
        )
    return proc, line


# --- step semantics (wandb's) ------------------------------------------------------------------


def test_each_log_call_is_one_step_with_step_and_time(repo: Path) -> None:
    run = _start_run(repo)
    for i in range(3):
        run.log({"loss": 1.0 / (i + 1)})
    assert run.step == 3
    rows = _finished_rows(repo, run)
    assert [r["_step"] for r in rows] == [0, 1, 2]
    assert [r["loss"] for r in rows] == [1.0, 0.5, 1 / 3]
    times = [r["_time"] for r in rows]
    assert times == sorted(times) and all(0 <= t < 60 for t in times)


def test_commit_false_accumulates_keys_into_one_step(repo: Path) -> None:
    run = _start_run(repo)
    run.log({"loss": 1.0}, commit=False)
    run.log({"acc": 0.5}, commit=False)
    run.log({"lr": 0.1})
    run.log({"loss": 0.9})
    rows = _finished_rows(repo, run)
    assert [{k: v for k, v in r.items() if k != "_time"} for r in rows] == [
        {"loss": 1.0, "acc": 0.5, "lr": 0.1, "_step": 0},
        {"loss": 0.9, "_step": 1},
    ]


def test_explicit_steps_group_calls_and_a_step_backwards_is_dropped_with_a_warning(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _start_run(repo)
    run.log({"train_loss": 1.0}, step=10)
    run.log({"val_loss": 2.0}, step=10)  # same step: one row
    run.log({"train_loss": 0.5}, step=20)  # moves on: step 10 is committed
    run.log({"late": 1.0}, step=15)  # backwards: dropped
    assert "step 15 is before the current step 20" in capsys.readouterr().err
    run.log({"auto": 1.0})  # no step: joins the open step 20 and commits it
    run.log({"auto": 2.0})
    rows = _finished_rows(repo, run)
    assert [{k: v for k, v in r.items() if k != "_time"} for r in rows] == [
        {"train_loss": 1.0, "val_loss": 2.0, "_step": 10},
        {"train_loss": 0.5, "auto": 1.0, "_step": 20},
        {"auto": 2.0, "_step": 21},
    ]


def test_an_open_step_is_committed_at_finish(repo: Path) -> None:
    run = _start_run(repo)
    run.log({"a": 1}, step=5)
    assert [r["_step"] for r in _finished_rows(repo, run)] == [5]


def test_nested_dicts_are_flattened_with_dots_and_values_made_plain(repo: Path) -> None:
    np = pytest.importorskip("numpy")
    run = _start_run(repo)
    run.log(
        {"val": {"acc": np.float32(0.5), "loss": {"ce": 1}}, "n": np.int64(3), "v": np.arange(3)}
    )
    rows = _finished_rows(repo, run)
    assert {k: v for k, v in rows[0].items() if not k.startswith("_")} == {
        "val.acc": 0.5,
        "val.loss.ce": 1,
        "n": 3,
        "v": [0, 1, 2],
    }
    summary = _branch_yaml(repo, run.id, "summary.yaml")
    assert summary == {"val.acc": 0.5, "val.loss.ce": 1, "n": 3, "v": [0, 1, 2]}


def test_a_dict_reused_across_calls_is_copied_per_step(repo: Path) -> None:
    run = _start_run(repo)
    metrics = {"loss": 1.0}
    run.log(metrics)
    metrics["loss"] = 0.5
    run.log(metrics)
    assert [r["loss"] for r in _finished_rows(repo, run)] == [1.0, 0.5]


def test_log_rejects_a_non_mapping(repo: Path) -> None:
    run = _start_run(repo)
    with pytest.raises(TypeError, match="takes a dict"):
        run.log([("loss", 1.0)])  # type: ignore[arg-type]
    run.finish()


def test_nan_and_inf_are_stored_faithfully(repo: Path) -> None:
    run = _start_run(repo)
    run.log({"loss": float("nan"), "grad": float("inf"), "neg": float("-inf"), "ok": 1.0})
    run.finish()
    text = read_branch_file(repo, f"{run_dir(run.id)}/metrics.jsonl")
    assert '"loss": NaN' in text and '"grad": Infinity' in text and '"neg": -Infinity' in text
    row = json.loads(text)  # Python's json reads them back
    assert math.isnan(row["loss"]) and row["grad"] == math.inf and row["neg"] == -math.inf
    summary = _branch_yaml(repo, run.id, "summary.yaml")
    assert (
        math.isnan(summary["loss"]) and summary["grad"] == math.inf and summary["neg"] == -math.inf
    )


# --- summary -----------------------------------------------------------------------------------


def test_summary_is_the_last_value_and_explicit_assignments_win(repo: Path) -> None:
    run = _start_run(repo)
    run.log({"loss": 1.0, "acc": 0.1})
    run.summary["acc"] = 0.99
    run.log({"loss": 0.5, "acc": 0.2})
    assert run.summary["loss"] == 0.5 and run.summary["acc"] == 0.99  # read before any flush
    del run.summary["loss"]
    assert "loss" not in run.summary and set(run.summary) == {"acc"}
    run.finish()
    assert _branch_yaml(repo, run.id, "summary.yaml") == {"acc": 0.99}


def test_define_metric_chooses_min_max_mean_or_last(repo: Path) -> None:
    run = _start_run(repo)
    run.define_metric("loss", summary="min")
    run.define_metric("acc", summary="max")
    run.define_metric("val/*", summary="mean")
    run.define_metric("epoch", summary="last")
    for epoch, (loss, acc, val) in enumerate([(3.0, 0.2, 1.0), (1.0, 0.7, 2.0), (2.0, 0.5, 6.0)]):
        run.log({"loss": loss, "acc": acc, "val/x": val, "epoch": epoch, "other": loss})
    run.log({"loss": float("nan")})  # NaN does not count towards min/max/mean
    assert run.summary["loss"] == {"min": 1.0}  # wandb's shape: the kind under the metric
    run.finish()
    summary = _branch_yaml(repo, run.id, "summary.yaml")
    assert summary == {
        "loss": {"min": 1.0},
        "acc": {"max": 0.7},
        "val/x": {"mean": 3.0},
        "epoch": 2,
        "other": 2.0,
    }
    assert _branch_yaml(repo, run.id, "run.yaml")["metric_summary"] == {
        "loss": "min",
        "acc": "max",
        "val/*": "mean",
        "epoch": "last",
    }


def test_define_metric_rejects_an_unknown_summary(repo: Path) -> None:
    run = _start_run(repo)
    with pytest.raises(ValueError, match="choose one of last, min, max, mean, best, first, none"):
        run.define_metric("loss", summary="median")
    with pytest.raises(ValueError, match="`best` needs goal='minimize' or goal='maximize'"):
        run.define_metric("loss", summary="best")
    run.finish()


# --- the live journal --------------------------------------------------------------------------


def test_the_journal_holds_rows_summary_and_config_within_a_second_and_goes_at_finish(
    repo: Path,
) -> None:
    run = _start_run(repo, {"lr": 0.1})
    live = _live_dir(repo, run.id)
    meta = json.loads((live / "meta.json").read_text())
    assert meta["owner"] == process_identity()
    assert meta["run"]["status"] == "running" and meta["runs_ref"] == "refs/heads/gitcfg-runs"
    commits_before = git(repo, "rev-list", "--count", "gitcfg-runs")
    run.log({"loss": 1.0})
    run.log({"loss": 0.5})
    # In the file as soon as log() returns, before any flush: what a SIGKILL cannot take back.
    rows = decode_rows((live / "metrics.rows").read_bytes())
    assert [(r["loss"], r["_step"]) for r in rows] == [(1.0, 0), (0.5, 1)]
    run.config.update({"epochs": 3})
    heartbeat = (live / "heartbeat").stat().st_mtime
    # The flusher writes the summary, the config and a fresh heartbeat by itself (every 0.5 s).
    wait_for(
        lambda: (
            json.loads((live / "summary.json").read_text())["rows"] == 2
            and "epochs" in yaml.safe_load((live / "config.yaml").read_text())
            and (live / "heartbeat").stat().st_mtime > heartbeat
        ),
        "the flusher to journal the summary, the config and a heartbeat",
    )
    journaled = json.loads((live / "summary.json").read_text())
    assert journaled["rows"] == 2 and recovered_summary(journaled, rows) == {"loss": 0.5}
    assert yaml.safe_load((live / "config.yaml").read_text()) == {"lr": 0.1, "epochs": 3}
    assert (live / "heartbeat").stat().st_mtime > heartbeat
    assert git(repo, "rev-list", "--count", "gitcfg-runs") == commits_before  # nothing committed
    run.finish()
    assert not live.exists()
    assert _branch_yaml(repo, run.id, "config.yaml") == {"lr": 0.1, "epochs": 3}


def _frame(row: dict[str, Any]) -> bytes:
    payload = marshal.dumps(row, 4)
    return len(payload).to_bytes(4, "little") + payload


def test_journaled_rows_end_at_a_zero_length_or_a_damaged_frame() -> None:
    rows = [{"loss": float(i), "_step": i, "_time": 0.1234567} for i in range(3)]
    data = b"".join(map(_frame, rows))
    assert decode_rows(data + bytes(64)) == rows  # the reserved, zero-filled rest of the file
    cut = _frame({"late": 1.0})
    # Killed after writing a payload, before its length: the length is still zero.
    assert decode_rows(data + bytes(4) + cut[4:]) == rows
    assert decode_rows(data + cut[:-3]) == rows  # a length past the end of the file
    assert decode_rows(data + cut[:4] + b"\xff" * (len(cut) - 4)) == rows  # garbage (power cut)
    text = rows_to_jsonl([*rows, {"nan": float("nan"), "_step": 3, "_time": 1.0}])
    lines = text.decode().splitlines()
    assert json.loads(lines[0]) == {"loss": 0.0, "_step": 0, "_time": 0.123456}  # µs
    assert math.isnan(json.loads(lines[3])["nan"])


def test_the_journal_grows_past_its_reserved_size(repo: Path) -> None:
    run = _start_run(repo)
    for i in range(30_000):  # ~2.5 MB of frames: 1 MiB reserved, doubled twice
        run.log({"loss": 1.0 / (i + 1), "acc": i * 1e-5, "lr": 3e-4})
    rows = decode_rows((_live_dir(repo, run.id) / "metrics.rows").read_bytes())
    assert [r["_step"] for r in rows] == list(range(30_000))
    assert len(_finished_rows(repo, run)) == 30_000


def test_when_the_journal_cannot_grow_log_raises_and_every_earlier_row_is_kept(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Disk full (issue 17): a row that cannot be journaled is not acknowledged (log() raises);
    no row is held in memory only, where a failed final commit would lose it."""
    from gitcfg.errors import JournalFull

    run = _start_run(repo)

    def disk_full(fd: int, offset: int, length: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(journal, "_reserve", disk_full)
    logged = 0
    with pytest.raises(JournalFull, match=r"cannot record step \d+ of run .*No space left"):
        for i in range(15_000):  # past the first 1 MiB
            run.log({"loss": 1.0 / (i + 1), "acc": i * 1e-5, "lr": 3e-4})
            logged += 1
    assert 10_000 < logged < 15_000
    run.log({"last": 1.0}, commit=False)  # an open row: finish() commits it all the same
    rows = _finished_rows(repo, run)
    assert [r["_step"] for r in rows] == list(range(logged + 1))
    assert rows[-1]["last"] == 1.0


def test_threads_logging_at_once_journal_every_row_once(repo: Path) -> None:
    run = _start_run(repo)

    def log_many(thread: int) -> None:
        for i in range(5_000):
            run.log({"thread": thread, "i": i})

    threads = [threading.Thread(target=log_many, args=(t,)) for t in range(4)]
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(0.005)
    rows = decode_rows((_live_dir(repo, run.id) / "metrics.rows").read_bytes())
    assert sorted(r["_step"] for r in rows) == list(range(20_000))
    assert sorted((r["thread"], r["i"]) for r in rows) == [
        (t, i) for t in range(4) for i in range(5_000)
    ]
    run.finish()


def test_recovery_folds_the_rows_after_the_journaled_summary_by_its_rules() -> None:
    summary = Summary()
    summary._define("loss", "min")
    summary._define("acc", "mean")
    summary["note"] = "kept"
    rows = [{"loss": 3.0, "acc": 1.0}, {"loss": 1.0, "acc": 2.0}, {"loss": 2.0, "acc": 6.0}]
    summary._observe(rows[:1])  # what the flusher had journaled when the process died
    journaled = json.loads(json.dumps({"rows": 1, "state": summary._state()}))
    assert recovered_summary(journaled, rows) == {
        "loss": {"min": 1.0},
        "acc": {"mean": 3.0},
        "note": "kept",
    }
    assert recovered_summary(None, rows) == {"loss": 2.0, "acc": 6.0}  # died before any flush


def test_a_disabled_run_has_no_journal_and_works_in_memory(repo: Path) -> None:
    run = Run(Config({"lr": 1}), store=None)
    run._start([], None)
    run.log({"a": 1})
    assert run.summary["a"] == 1 and not run.recording
    run.finish()
    assert not (repo / ".git" / "gitcfg").exists()


# --- statuses ----------------------------------------------------------------------------------

STATUS_SCRIPT = """
import signal, sys, time, gitcfg
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even under CI
run = gitcfg.track({{"lr": 0.1}})
for step in range(10):
    run.log({{"loss": 1.0 / (step + 1)}})
{body}
"""


@pytest.mark.parametrize(
    ("body", "returncode", "status", "exit_code", "error"),
    [
        ("pass", 0, "finished", 0, None),
        ("raise ValueError('diverged at step 10')", 1, "failed", 1, "diverged at step 10"),
        ("sys.exit(3)", 3, "failed", 3, None),
        ("sys.exit('bad data')", 1, "failed", 1, "bad data"),
        ("raise KeyboardInterrupt", -signal.SIGINT, "killed", 130, "interrupted"),
    ],
    ids=["finished", "exception", "sys.exit(3)", "sys.exit(message)", "KeyboardInterrupt"],
)
def test_how_a_script_ends_decides_status_and_exit_code(
    repo: Path,
    tmp_path: Path,
    body: str,
    returncode: int,
    status: str,
    exit_code: int,
    error: str | None,
) -> None:
    script = write_script(tmp_path / "t.py", STATUS_SCRIPT.format(body=body))
    proc = run_python(repo, script)
    assert proc.returncode == returncode, proc.stderr
    (run_id,) = _run_ids(repo)
    meta = _branch_yaml(repo, run_id, "run.yaml")
    assert (meta["status"], meta["exit_code"]) == (status, exit_code)
    assert (meta.get("error") or {}).get("message") == error
    assert len(_branch_rows(repo, run_id)) == 10
    assert not (repo / ".git" / "gitcfg" / "live" / run_id).exists()


SLEEPER = """
import signal, sys, time, gitcfg
{setup}
run = gitcfg.track({{"lr": 0.1}})
for step in range({steps}):
    run.log({{"loss": 1.0 / (step + 1), "step_sq": step * step}})
print(run.id, flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize(
    ("setup", "signum"),
    [
        ("", signal.SIGTERM),
        ("signal.signal(signal.SIGINT, signal.default_int_handler)", signal.SIGINT),
        ("signal.signal(signal.SIGINT, signal.SIG_DFL)", signal.SIGINT),
    ],
    ids=["SIGTERM", "SIGINT-KeyboardInterrupt", "SIGINT-default-action"],
)
def test_sigterm_and_sigint_commit_the_run_as_killed_and_keep_the_exit_status(
    repo: Path, tmp_path: Path, setup: str, signum: int
) -> None:
    script = write_script(tmp_path / "t.py", SLEEPER.format(setup=setup, steps=10))
    proc, run_id = _start_child(repo, script)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == -signum, err  # died of the signal, as without gitcfg
    meta = _branch_yaml(repo, run_id, "run.yaml")
    assert meta["status"] == "killed", err
    assert meta["exit_code"] == 128 + signum and meta["signal"] == signal.Signals(signum).name
    assert len(_branch_rows(repo, run_id)) == 10
    assert not _live_dir(repo, run_id).exists()


def test_a_sigterm_handler_the_script_installed_still_runs(repo: Path, tmp_path: Path) -> None:
    setup = (
        "def on_term(signum, frame):\n"
        "    print('script handler ran', flush=True)\n"
        "    sys.exit(7)\n"
        "signal.signal(signal.SIGTERM, on_term)"
    )
    script = write_script(tmp_path / "t.py", SLEEPER.format(setup=setup, steps=3))
    proc, run_id = _start_child(repo, script)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 7, err
    assert "script handler ran" in out
    meta = _branch_yaml(repo, run_id, "run.yaml")
    assert (meta["status"], meta["exit_code"], meta["signal"]) == ("killed", 7, "SIGTERM")


# --- crash recovery ----------------------------------------------------------------------------


def _sigkilled_run(repo: Path, tmp_path: Path, steps: int = 1000) -> str:
    script = write_script(tmp_path / "crash.py", SLEEPER.format(setup="", steps=steps))
    proc, run_id = _start_child(repo, script)
    summary = _live_dir(repo, run_id) / "summary.json"
    # Killed after the flusher journaled every row (the next test kills before it could).
    wait_for(lambda: json.loads(summary.read_text())["rows"] == steps, "a flushed journal")
    proc.kill()
    proc.wait(timeout=30)
    return run_id


KILLED_RIGHT_AFTER_LOGGING = """
import time, gitcfg
run = gitcfg.track({"lr": 0.1})
run.define_metric("best", summary="max")
for step in range(1000):
    run.log({"loss": 1.0 / (step + 1), "step_sq": step * step, "best": float(step % 300)})
print(run.id, flush=True)
time.sleep(60)
"""


def test_a_run_sigkilled_right_after_logging_keeps_every_step(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = write_script(tmp_path / "crash.py", KILLED_RIGHT_AFTER_LOGGING)
    proc, run_id = _start_child(repo, script)
    proc.kill()  # as soon as the line is read: the flusher thread has had no time to run
    proc.wait(timeout=30)
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(app, ["log", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert f"recorded run {run_id} as crashed (1000 steps)" in result.stderr
    assert {row["id"]: row for row in json.loads(result.stdout)}[run_id]["status"] == "crashed"
    assert [r["_step"] for r in _branch_rows(repo, run_id)] == list(range(1000))
    assert _branch_yaml(repo, run_id, "summary.yaml") == {
        "loss": 1 / 1000,
        "step_sq": 999 * 999,
        "best": {"max": 299.0},  # max, as defined
    }


@pytest.mark.slow
def test_a_sigkilled_run_shows_as_crashed_with_its_journaled_steps(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = _sigkilled_run(repo, tmp_path)
    assert _branch_yaml(repo, run_id, "run.yaml")["status"] == "running"  # nothing else committed
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(app, ["log", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert f"recorded run {run_id} as crashed (1000 steps)" in result.stderr
    rows = {row["id"]: row for row in json.loads(result.stdout)}
    assert rows[run_id]["status"] == "crashed"
    metrics = _branch_rows(repo, run_id)
    assert len(metrics) >= 990 and [r["_step"] for r in metrics] == list(range(len(metrics)))
    assert _branch_yaml(repo, run_id, "summary.yaml") == {"loss": 1 / 1000, "step_sq": 999 * 999}
    meta = _branch_yaml(repo, run_id, "run.yaml")
    assert meta["exit_code"] is None and meta["ended_at"] and meta["duration_s"] >= 0
    assert _branch_yaml(repo, run_id, "config.yaml") == {"lr": 0.1}
    assert git(repo, "log", "-1", "--format=%s", "gitcfg-runs") == f"run {run_id}: crashed"
    assert not _live_dir(repo, run_id).exists()
    assert _log_rows(repo, monkeypatch)[run_id]["status"] == "crashed"  # recovered once only
    assert git(repo, "log", "--format=%s", "gitcfg-runs").count("crashed") == 1


@pytest.mark.slow
def test_the_next_track_on_this_machine_records_a_crashed_run(repo: Path, tmp_path: Path) -> None:
    run_id = _sigkilled_run(repo, tmp_path, steps=20)
    script = write_script(tmp_path / "next.py", "import gitcfg\ngitcfg.track({'lr': 1})\n")
    proc = run_python(repo, script)
    assert proc.returncode == 0, proc.stderr
    assert f"recorded run {run_id} as crashed (20 steps)" in proc.stderr
    assert _branch_yaml(repo, run_id, "run.yaml")["status"] == "crashed"
    assert len(_run_ids(repo)) == 2


@pytest.mark.slow
def test_a_journal_from_another_host_is_never_declared_crashed(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = _sigkilled_run(repo, tmp_path, steps=5)
    meta_path = _live_dir(repo, run_id) / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["owner"]["host"] = "another-machine"
    meta_path.write_text(json.dumps(meta))
    assert _log_rows(repo, monkeypatch)[run_id]["status"] == "running"
    assert meta_path.exists()
    meta["owner"]["host"] = hostname()
    meta_path.write_text(json.dumps(meta))
    assert _log_rows(repo, monkeypatch)[run_id]["status"] == "crashed"


def test_a_failed_final_commit_keeps_the_journal_and_the_next_command_commits_it(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = repo / ".git" / "refs" / "heads" / "gitcfg-runs.lock"
    script = write_script(
        tmp_path / "t.py",
        f"""
        import gitcfg
        run = gitcfg.track({{"lr": 0.1}})
        run.log({{"loss": 0.25}})
        open({str(lock)!r}, "w").close()  # the ref is locked: the final commit fails
        print(run.id)
    """,
    )
    proc = run_python(repo, script)
    assert proc.returncode == 0, proc.stderr  # never fail the script over its record
    run_id = proc.stdout.strip()
    assert "could not record the end of run" in proc.stderr and "journal" in proc.stderr
    assert _branch_yaml(repo, run_id, "run.yaml")["status"] == "running"
    lock.unlink()
    rows = _log_rows(repo, monkeypatch)
    assert rows[run_id]["status"] == "finished"
    assert _branch_rows(repo, run_id)[0]["loss"] == 0.25
    assert _branch_yaml(repo, run_id, "summary.yaml") == {"loss": 0.25}
    assert (
        git(repo, "log", "-1", "--format=%s", "gitcfg-runs") == f"run {run_id}: finished (exit 0)"
    )
    assert not _live_dir(repo, run_id).exists()


def test_a_journal_whose_run_is_already_final_is_only_removed(repo: Path) -> None:
    run = _start_run(repo)
    run.finish()
    live = _live_dir(repo, run.id)
    # An owner that died after its final commit, before removing its journal.
    live.mkdir(parents=True)
    owner = {"host": hostname(), "pid": 2**22 + 1, "start": 1, "boot_id": None}
    (live / "meta.json").write_text(
        json.dumps(
            {
                "run_id": run.id,
                "owner": owner,
                "runs_ref": "refs/heads/gitcfg-runs",
                "run": {"id": run.id, "status": "running"},
            }
        )
    )
    tip = git(repo, "rev-parse", "gitcfg-runs")
    assert recover(Store.open(repo)) == []
    assert not live.exists() and git(repo, "rev-parse", "gitcfg-runs") == tip


def test_a_process_is_gone_by_pid_and_start_time_not_pid_alone(tmp_path: Path) -> None:
    me = process_identity()
    assert not process_gone(me)
    assert not process_gone({**me, "host": "another-machine", "pid": 2**22 + 1})
    if me["start"] is not None:  # Linux: a live pid with another start time is a reused pid
        assert process_gone({**me, "start": me["start"] - 1})
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child_identity = process_identity(child.pid)
    child.wait()
    assert process_gone(child_identity)


@pytest.mark.slow
def test_log_shows_a_running_runs_heartbeat(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = write_script(tmp_path / "t.py", SLEEPER.format(setup="", steps=3))
    proc, run_id = _start_child(repo, script)
    try:
        line = wait_for(
            lambda: next(
                (
                    line
                    for line in _gitcfg_log(repo, monkeypatch).stdout.splitlines()
                    if run_id[:8] in line and "running (hb " in line
                ),
                None,
            ),
            "gitcfg log to show the heartbeat",
        )
        assert "s ago)" in line
        assert _log_rows(repo, monkeypatch)[run_id]["status"] == "running"
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    assert _branch_yaml(repo, run_id, "run.yaml")["status"] == "killed"


# --- distributed jobs and disabled mode --------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "rank"),
    [
        ({}, 0),
        ({"RANK": "2", "LOCAL_RANK": "0"}, 2),
        ({"SLURM_PROCID": "0", "LOCAL_RANK": "3"}, 0),
        ({"OMPI_COMM_WORLD_RANK": "1"}, 1),
        ({"PMI_RANK": "4"}, 4),
        ({"LOCAL_RANK": "1"}, 1),
        ({"RANK": "", "SLURM_PROCID": "5"}, 5),
    ],
)
def test_the_rank_is_the_first_rank_variable_set(environ: dict[str, str], rank: int) -> None:
    assert process_rank(environ) == rank


RANKED = """
import gitcfg
run = gitcfg.track({"lr": 0.1}, **KWARGS)
run.config.update({"epochs": 2})
run.log({"loss": 0.5})
assert run.summary["loss"] == 0.5 and run.config.epochs == 2
print(run.recording)
"""


@pytest.mark.slow
def test_four_ranks_record_exactly_one_run(repo: Path, tmp_path: Path) -> None:
    script = write_script(tmp_path / "t.py", RANKED.replace("**KWARGS", ""))
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    procs = [
        subprocess.Popen(
            [sys.executable, str(script)],
            cwd=repo,
            env={**env, "RANK": str(rank)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in range(4)
    ]
    outputs = [proc.communicate(timeout=60) for proc in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [err for _, err in outputs]
    assert [out.strip() for out, _ in outputs] == ["True", "False", "False", "False"]
    (run_id,) = _run_ids(repo)
    assert _branch_yaml(repo, run_id, "config.yaml") == {"lr": 0.1, "epochs": 2}


def test_track_rank_overrides_the_environment(repo: Path, tmp_path: Path) -> None:
    script = write_script(tmp_path / "t.py", RANKED.replace("**KWARGS", "rank=1"))
    proc = run_python(repo, script, env={"RANK": "0"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"
    assert git(repo, "branch", "--list", "gitcfg-runs") == ""


def _object_state(repo: Path) -> tuple[str, str]:
    return git(repo, "for-each-ref"), git(repo, "count-objects", "-v")


@pytest.mark.parametrize("how", ["env", "argument"])
def test_disabled_mode_writes_nothing_to_git_and_the_script_runs_normally(
    dirty_repo: Path, tmp_path: Path, how: str
) -> None:
    assert (
        run_python(
            dirty_repo, write_script(tmp_path / "first.py", RANKED.replace("**KWARGS", ""))
        ).returncode
        == 0
    )
    kwargs = 'mode="disabled"' if how == "argument" else ""
    script = write_script(tmp_path / "t.py", RANKED.replace("**KWARGS", kwargs) + "print('done')\n")
    before, objects_before = snapshot(dirty_repo), _object_state(dirty_repo)
    proc = run_python(dirty_repo, script, env={"GITCFG_MODE": "disabled"} if how == "env" else None)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "done"] and proc.stderr == ""
    assert snapshot(dirty_repo) == before
    assert _object_state(dirty_repo) == objects_before
    assert not (dirty_repo / ".git" / "gitcfg" / "live").exists() or not any(
        (dirty_repo / ".git" / "gitcfg" / "live").iterdir()
    )


def test_an_unknown_mode_fails_fast(repo: Path, tmp_path: Path) -> None:
    proc = run_python(
        repo,
        write_script(tmp_path / "t.py", RANKED.replace("**KWARGS", "")),
        env={"GITCFG_MODE": "dryrun"},
    )
    assert proc.returncode == 1 and "unknown mode 'dryrun'" in proc.stderr
    assert git(repo, "branch", "--list", "gitcfg-runs") == ""


# --- a second track(), children, interactive sessions ------------------------------------------


def test_a_second_track_finishes_the_first_run_with_a_warning(repo: Path, tmp_path: Path) -> None:
    script = write_script(
        tmp_path / "t.py",
        """
        import gitcfg
        first = gitcfg.track({"trial": 1})
        first.log({"loss": 1.0})
        second = gitcfg.track({"trial": 2})
        assert first.status == "finished" and gitcfg.run is second
        second.log({"loss": 2.0})
        print(first.id, second.id)
    """,
    )
    proc = run_python(repo, script)
    assert proc.returncode == 0, proc.stderr
    first, second = proc.stdout.split()
    assert f"track() called while run {first} is active; finishing it first" in proc.stderr
    for run_id, loss in ((first, 1.0), (second, 2.0)):
        assert _branch_yaml(repo, run_id, "run.yaml")["status"] == "finished"
        assert _branch_yaml(repo, run_id, "summary.yaml") == {"loss": loss}


CHILDREN = """
import multiprocessing, os, sys, gitcfg

def log_from_child():
    gitcfg.log({"from_child": 1})  # the inherited run: not recorded

def track_in_child(queue):
    run = gitcfg.track({"child": True})
    run.log({"c": 1})
    run.finish()
    queue.put(run.id)

if __name__ == "__main__":
    context = multiprocessing.get_context(sys.argv[1])
    run = gitcfg.track({"parent": True})
    run.log({"p": 1})
    if sys.argv[1] == "fork":
        child = context.Process(target=log_from_child)
        child.start(); child.join()
        assert child.exitcode == 0
        pid = os.fork()
        if pid == 0:
            sys.exit(0)  # a plain forked child exiting through atexit must not finish the run
        os.waitpid(pid, 0)
    queue = context.Queue()
    child = context.Process(target=track_in_child, args=(queue,))
    child.start()
    child_id = queue.get(timeout=60)
    child.join()
    assert child.exitcode == 0
    run.log({"p": 2})
    print(run.id, child_id)
"""


@pytest.mark.slow
@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_multiprocessing_children_leave_the_parents_run_alone_and_may_track_their_own(
    repo: Path, tmp_path: Path, start_method: str
) -> None:
    script = write_script(tmp_path / "t.py", CHILDREN)
    proc = run_python(repo, script, start_method, timeout=120)
    assert proc.returncode == 0, proc.stderr
    parent, child = proc.stdout.split()
    assert _run_ids(repo) == {parent, child}
    assert [r["p"] for r in _branch_rows(repo, parent)] == [1, 2]
    assert _branch_yaml(repo, parent, "run.yaml")["status"] == "finished"
    assert _branch_yaml(repo, child, "summary.yaml") == {"c": 1}
    subjects = git(repo, "log", "--format=%s", "gitcfg-runs").splitlines()
    assert subjects.count(f"run {parent}: finished (exit 0)") == 1
    assert subjects.count(f"run {child}: finished (exit 0)") == 1
    if start_method == "fork":
        assert "its log() calls are not recorded" in proc.stderr


INTERACTIVE = (
    "import gitcfg; run = gitcfg.track({'lr': 0.1}); run.log({'a': 1}); run.finish(); print(run.id)"
)


@pytest.mark.parametrize("how", ["python -c", "stdin", "ipython"])
def test_a_session_without_a_script_file_says_so(repo: Path, how: str) -> None:
    if how == "ipython":
        pytest.importorskip("IPython")
        argv = [
            sys.executable,
            "-m",
            "IPython",
            "--quick",
            "--no-banner",
            "--colors=NoColor",
            "-c",
            INTERACTIVE,
        ]
    elif how == "stdin":
        argv = [sys.executable, "-"]
    else:
        argv = [sys.executable, "-c", INTERACTIVE]
    proc = subprocess.run(
        argv,
        cwd=repo,
        input=INTERACTIVE if how == "stdin" else "",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.strip().splitlines()[-1]
    meta = _branch_yaml(repo, run_id, "run.yaml")
    expected = {"python -c": "<command>", "stdin": "<stdin>", "ipython": "<ipython>"}[how]
    assert meta["script"] == expected and meta["status"] == "finished"
