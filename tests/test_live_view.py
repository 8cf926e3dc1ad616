"""The running run is visible (issue 16): log, show, plot and the Api read a running run's metrics
and summary as of now from its journal; `show --metrics --follow` prints rows as they are logged.

The training script is a real process driven through its stdin: it logs a row per line it reads
and answers `logged`, so each step below waits for an event, never for time to pass.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import git, write_script

from gitcfg import journal
from gitcfg.query import Api

TRAINER = """
import sys
import gitcfg

run = gitcfg.track({"lr": 0.1, "model": {"depth": 4}})
print(run.id, flush=True)
for line in sys.stdin:
    word = line.strip()
    if word == "end":
        break
    if word.startswith("name="):
        run.name = word[5:]
        print("logged", flush=True)
        continue
    loss = float(word)
    run.log({"loss": loss, "acc": round(1 - loss, 6)})
    print("logged", flush=True)
run.finish()
print("done", flush=True)
"""


class Lines:
    """A process's output lines, read by a thread: next() waits for one up to a deadline."""

    def __init__(self, stream) -> None:
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream) -> None:
        for line in stream:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def next(self, timeout: float = 60) -> str | None:
        return self._queue.get(timeout=timeout)


class Trainer:
    def __init__(self, repo: Path) -> None:
        script = write_script(repo / "train.py", TRAINER)
        if git(repo, "status", "--porcelain"):
            git(repo, "add", "train.py")
            git(repo, "commit", "-qm", "trainer")
        self.proc = subprocess.Popen(
            [sys.executable, str(script)],
            cwd=repo,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        stdin, stdout, stderr = self.proc.stdin, self.proc.stdout, self.proc.stderr
        assert stdin is not None and stdout is not None and stderr is not None
        self.stdin = stdin
        self.out = Lines(stdout)
        self.run_id = self.out.next()
        assert self.run_id and len(self.run_id) == 20, stderr.read()

    def send(self, *words: str) -> None:
        self.stdin.write("".join(word + "\n" for word in words))
        self.stdin.flush()

    def log(self, loss: float) -> None:
        self.send(str(loss))
        assert self.out.next() == "logged"

    def end(self) -> None:
        self.send("end")
        assert self.out.next() == "done"
        assert self.proc.wait(timeout=60) == 0

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=60)


@pytest.fixture
def trainer(repo: Path):
    started = Trainer(repo)
    yield started
    started.kill()


def gitcfg_process(repo: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "gitcfg", *args],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
    )


def json_out(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_log_show_and_the_api_see_a_running_runs_metrics_and_summary(cli, repo, trainer):
    run_id = trainer.run_id
    trainer.log(0.9)
    (row,) = json_out(cli(repo, "log", "-f", "json"))
    assert (row["status"], row["loss"], row["acc"]) == ("running", 0.9, 0.1)
    assert json_out(cli(repo, "show", run_id, "--summary", "-f", "json"))["loss"] == 0.9
    shown = json_out(cli(repo, "show", run_id, "-f", "json"))
    assert shown["run"]["status"] == "running" and shown["summary"]["acc"] == 0.1
    logged = json_out(cli(repo, "show", run_id, "--metrics", "-f", "json"))
    assert [(r["_step"], r["loss"]) for r in logged] == [(0, 0.9)]

    trainer.log(0.5)
    api = Api(repo)
    run = api.run(run_id[:8])
    assert run.status == "running"
    assert (run.summary["loss"], run.summary["acc"]) == (0.5, 0.5)
    assert [r["loss"] for r in run.metrics()] == [0.9, 0.5]
    assert [r["loss"] for r in api.read_metrics([run_id])[run_id]] == [0.9, 0.5]
    with api.runs(where="loss < 0.6 and status == running") as runs:
        assert [r.id for r in runs] == [run_id]
        assert runs.rows(["id", "summary.loss"]) == [{"id": run_id, "summary.loss": 0.5}]
        grouping = runs.group_by("lr")
        assert grouping.groups[0].aggregates["summary.loss"]["mean"] == 0.5
    frame = api.to_dataframe()
    assert frame.loc[0, "summary.loss"] == 0.5 and frame.loc[0, "status"] == "running"
    line = cli(repo, "show", run_id, "--metrics")
    assert [json.loads(x)["loss"] for x in line.stdout.splitlines()] == [0.9, 0.5]
    plot = cli(repo, "plot", "loss", run_id)
    assert plot.exit_code == 0 and "did not log" not in plot.output, plot.output

    # The query cache holds the branch's values only: live ones never reach its file.
    common = Path(git(repo, "rev-parse", "--path-format=absolute", "--git-common-dir"))
    with sqlite3.connect(common / "gitcfg" / "query-cache.sqlite") as db:
        (summary,) = db.execute(
            "SELECT summary FROM records WHERE run_id = ?", (run_id,)
        ).fetchone()
    assert json.loads(summary) == {}

    trainer.log(0.25)
    trainer.end()
    (row,) = json_out(cli(repo, "log", "-f", "json"))
    assert (row["status"], row["loss"]) == ("finished", 0.25)
    done = Api(repo).run(run_id)
    assert [r["loss"] for r in done.metrics()] == [0.9, 0.5, 0.25]  # no row twice
    assert done.summary["loss"] == 0.25


def test_a_running_run_beside_finished_ones_keeps_the_others_as_stored(cli, repo, trainer):
    first = trainer.run_id
    trainer.log(0.4)
    trainer.end()
    second = Trainer(repo)
    try:
        second.log(0.7)
        table = json_out(cli(repo, "log", "-f", "json"))
        assert [(r["id"], r["status"], r["loss"]) for r in table] == [
            (second.run_id, "running", 0.7),
            (first, "finished", 0.4),
        ]
        grouped = json_out(cli(repo, "log", "-g", "status", "-f", "json"))
        assert {g["status"]: g["loss"]["mean"] for g in grouped} == {
            "running": 0.7,
            "finished": 0.4,
        }
        second.end()
    finally:
        second.kill()


def test_follow_prints_rows_as_they_are_logged_and_the_rest_when_the_run_ends(repo, trainer):
    follow = gitcfg_process(repo, "show", trainer.run_id, "--metrics", "--follow")
    try:
        printed = Lines(follow.stdout)
        for step, loss in enumerate((0.9, 0.8)):
            trainer.log(loss)
            row = json.loads(printed.next())  # printed while the run still runs
            assert (row["_step"], row["loss"]) == (step, loss)
        assert trainer.proc.poll() is None
        trainer.send("0.7", "0.6", "end")  # logged and finished without waiting for `follow`
        rest = [printed.next(), printed.next(), printed.next()]
        assert rest[2] is None, rest  # follow ended after the last row
        assert [json.loads(line)["loss"] for line in rest[:2]] == [0.7, 0.6]
        assert follow.wait(timeout=60) == 0, follow.stderr.read()
    finally:
        if follow.poll() is None:
            follow.kill()
    stored = Api(repo).run(trainer.run_id).metrics()
    assert [r["loss"] for r in stored] == [0.9, 0.8, 0.7, 0.6]


def test_follow_exits_130_quietly_on_ctrl_c(repo, trainer):
    trainer.log(0.9)
    follow = gitcfg_process(repo, "show", trainer.run_id, "--metrics", "--follow")
    printed = Lines(follow.stdout)
    assert json.loads(printed.next())["loss"] == 0.9  # it is following now
    follow.send_signal(signal.SIGINT)
    assert follow.wait(timeout=60) == 130
    assert follow.stderr.read() == ""
    trainer.end()


def test_follow_of_a_run_killed_by_sigkill_records_it_crashed_and_ends(repo, trainer):
    trainer.log(0.9)
    follow = gitcfg_process(repo, "show", trainer.run_id, "--metrics", "--follow")
    printed = Lines(follow.stdout)
    assert json.loads(printed.next())["loss"] == 0.9
    trainer.log(0.8)
    assert json.loads(printed.next())["loss"] == 0.8
    trainer.proc.send_signal(signal.SIGKILL)
    trainer.proc.wait(timeout=60)
    assert printed.next() is None
    assert follow.wait(timeout=60) == 0
    run = Api(repo).run(trainer.run_id)
    assert run.status == "crashed"
    assert [r["loss"] for r in run.metrics()] == [0.9, 0.8]


def test_follow_of_a_finished_run_prints_its_rows_and_exits(cli, repo, trainer):
    trainer.log(0.3)
    trainer.log(0.2)
    trainer.end()
    result = cli(repo, "show", trainer.run_id, "--metrics", "--follow")
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["loss"] for line in result.stdout.splitlines()] == [0.3, 0.2]
    bad = cli(repo, "show", trainer.run_id, "--summary", "--follow")
    assert bad.exit_code != 0 and "--follow" in bad.output


def test_a_journal_is_read_safely_while_its_writer_appends(tmp_path):
    """A row whose length is not written yet, or whose frame is cut short, is not read."""
    live = journal.Journal.create(
        tmp_path, "r1", "refs/heads/gitcfg-runs", {"status": "running"}, b"lr: 0.1\n"
    )
    try:
        for step in range(3):
            live.append_row({"_step": step, "loss": 1.0 / (step + 1)})
        path = live.path / "metrics.rows"
        data = bytearray(path.read_bytes())
        end = sum(4 + int.from_bytes(data[p : p + 4], "little") for p in _frames(data))
        import marshal

        payload = marshal.dumps({"_step": 3, "loss": 0.1}, 4)
        # The writer's next row, payload written and length not yet: invisible.
        data[end + 4 : end + 4 + len(payload)] = payload
        path.write_bytes(bytes(data))
        state = journal.read_journal(live.path)
        assert state is not None
        assert [r["_step"] for r in state.rows] == [0, 1, 2]
        assert state.summary["loss"] == pytest.approx(1 / 3)
        # The summary journaled after two rows, the third folded in: the same without decoding
        # the first two.
        from gitcfg.summaries import Summary

        early = Summary()
        early._observe(state.rows[:2])
        live.write_summary(early._state(), 2)
        quick = journal.read_journal(live.path, with_rows=False)
        assert quick.rows == [] and quick.summary == journal.read_journal(live.path).summary
        # A length whose payload runs past the end of the file: ignored too.
        cut = bytes(data[: end + 4 + len(payload) // 2])
        cut = cut[:end] + len(payload).to_bytes(4, "little") + cut[end + 4 :]
        path.write_bytes(cut)
        assert [r["_step"] for r in journal.read_journal(live.path).rows] == [0, 1, 2]
    finally:
        live.remove()
    assert journal.read_journal(live.path) is None  # gone: the run's final commit removed it


def _frames(data: bytearray):
    pos = 0
    while pos + 4 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "little")
        if not length:
            return
        yield pos
        pos += 4 + length


def test_with_no_run_live_nothing_is_overlaid(cli, repo):
    write_script(
        repo / "quick.py",
        "import gitcfg\nwith gitcfg.track({'lr': 1}) as r:\n    r.log({'x': 1})\n",
    )
    env = dict(os.environ)
    assert subprocess.run([sys.executable, "quick.py"], cwd=repo, env=env).returncode == 0
    (row,) = json_out(cli(repo, "log", "-f", "json"))
    assert (row["status"], row["x"]) == ("finished", 1)
    common = Path(git(repo, "rev-parse", "--path-format=absolute", "--git-common-dir"))
    live_dir = common / "gitcfg" / "live"
    assert not live_dir.exists() or not [
        p for p in live_dir.iterdir() if not p.name.startswith(".")
    ]


def test_the_in_memory_cache_overlays_each_snapshot_on_its_shared_connection(repo, trainer):
    trainer.log(0.9)
    api = Api(repo, cache=False)
    first, second = api.runs(), api.runs()
    assert first.rows(["summary.loss"]) == [{"summary.loss": 0.9}]
    first.close()
    assert second.rows(["summary.loss"]) == [{"summary.loss": 0.9}]
    second.close()
    trainer.log(0.8)
    with api.runs() as runs:
        assert runs.rows(["summary.loss"]) == [{"summary.loss": 0.8}]
    trainer.end()
    with api.runs() as runs:
        assert runs.rows(["status", "summary.loss"]) == [
            {"status": "finished", "summary.loss": 0.8}
        ]


def test_a_name_given_during_the_run_shows_at_once(cli, repo, trainer):
    trainer.log(0.9)
    trainer.send("name=warm-start")
    assert trainer.out.next() == "logged"
    (row,) = json_out(cli(repo, "log", "-f", "json"))
    assert (row["name"], row["status"]) == ("warm-start", "running")
    shown = json_out(cli(repo, "show", "warm-start", "--summary", "-f", "json"))
    assert shown["loss"] == 0.9
    assert Api(repo).run("warm-start").id == trainer.run_id
    trainer.end()
    assert Api(repo).run("warm-start").status == "finished"
