"""`gitcfg ui`: a real server process over real repositories, asked with urllib (docs/ui.md).

The runs are written to the runs branch with git fast-import (tests/runs_branch.py), hostile ones
included; the live tests record runs with real training processes while the server runs.
"""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from conftest import copy_repo, git, sealed, wait_for, write_script
from runs_branch import commit, make_run, run_dir, write_runs

HOSTILE = "</script><script>alert(1)</script>"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16


class Server:
    """`python -m gitcfg ui` in `repo`; `.url` is the URL it printed."""

    def __init__(self, repo: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gitcfg", "ui", "--no-open", *args],
            cwd=repo,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert "http://" in line, line + self.stop()
        self.line = line.strip()
        self.url = line[line.index("http://") :].split()[0].rstrip("/")

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
        _, err = self.proc.communicate(timeout=30)
        return err

    def get(self, path: str, method: str = "GET", headers: dict[str, str] | None = None):
        """(status, headers, body bytes) of a request (an HTTP error status is an answer too)."""
        request = urllib.request.Request(self.url + path, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def json(self, path: str) -> Any:
        status, headers, body = self.get(path)
        assert status == 200, (status, body)
        assert headers["Content-Type"] == "application/json; charset=utf-8"
        return json.loads(body)

    def raw(self, path: str) -> int:
        """The status of a GET of `path` sent exactly as written (urllib would not normalise
        it, but this makes sure: http.client sends the bytes given)."""
        host, port = self.url.removeprefix("http://").rsplit(":", 1)
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        connection.putrequest("GET", path, skip_host=True)
        connection.putheader("Host", f"{host}:{port}")
        connection.endheaders()
        status = connection.getresponse().status
        connection.close()
        return status


def _amend(repo: Path, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gitcfg", "amend", *args], cwd=repo, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def runs_repo(tmp_path_factory: pytest.TempPathFactory):
    """12 finished runs (lr x seed, metrics logged), two with batch 64 (a confounder for
    --over seed), one named hostilely with a NaN metric, a media image, a patch, a symlink."""
    with sealed(tmp_path_factory):
        repo = tmp_path_factory.mktemp("ui") / "repo"
        repo.mkdir()
        git(repo, "init", "-q")
        (repo / "train.py").write_text("print('train')\n")
        git(repo, "add", ".")
        git(repo, "commit", "-q", "-m", "initial")
        head = git(repo, "rev-parse", "HEAD")
        runs = []
        for i in range(12):
            metrics = [
                {"_step": s, "val_acc": 0.1 * s + i, "loss": 1.0 / (s + 1)} for s in range(50)
            ]
            config: dict[str, Any] | None = None
            if i >= 10:
                config = {"lr": [0.001, 0.003, 0.01, 0.03][i % 4], "seed": i % 3, "batch": 64}
                config["model"] = {"depth": 18, "name": "resnet"}
            runs.append(make_run(i, config, commit=head, metrics=metrics))
        hostile = make_run(
            20,
            commit=head,
            summary={"val_acc": float("nan"), "train_loss": 0.5},
            metrics=[{"_step": 0, "val_acc": 0.5}],
            name=HOSTILE,
            tags=[HOSTILE],
            notes="<img src=x onerror=alert(1)>",
        )
        hostile["patch"] = b"diff --git a/train.py b/train.py\n"
        runs.append(hostile)
        write_runs(repo, runs)
        base = run_dir(runs[0]["id"])
        commit(repo, {f"{base}/media/img/3.png": PNG, f"{base}/files/notes.txt": b"hello\n"})
        _symlink(repo, f"{base}/files/link", "../../../../../../etc/passwd")
        _amend(repo, runs[1]["id"], "--set", "lr=0.5", "-m", "fix lr")
        yield repo, [run["id"] for run in runs]


def _symlink(repo: Path, path: str, target: str) -> None:
    """Commit a symbolic link entry on the runs branch (only a hand-made run can hold one)."""
    tip = git(repo, "rev-parse", "gitcfg-runs")
    stream = (
        f"commit refs/heads/gitcfg-runs\ncommitter t <t@t> 1700000000 +0000\ndata 4\nlink\n"
        f"from {tip}\nM 120000 inline {path}\ndata {len(target)}\n{target}\ndone\n"
    )
    subprocess.run(
        ["git", "fast-import", "--quiet", "--done"],
        cwd=repo,
        input=stream.encode(),
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def server(runs_repo, tmp_path_factory):
    repo, _ = runs_repo
    with sealed(tmp_path_factory):
        started = Server(repo)
        yield started
        started.stop()


def test_ui_prints_a_loopback_url_with_a_free_port(server) -> None:
    assert server.url.startswith("http://127.0.0.1:")
    assert int(server.url.rsplit(":", 1)[1]) > 0
    assert "13 runs" in server.line


def test_version_names_the_runs_tip_and_a_generation(server, runs_repo) -> None:
    repo, _ = runs_repo
    version = server.json("/api/version")
    assert version["tip"] == git(repo, "rev-parse", "gitcfg-runs")
    assert version["live"] == 0 and isinstance(version["generation"], int)
    assert server.json("/api/version")["generation"] == version["generation"]  # nothing changed


def test_runs_lists_every_run_with_the_columns_log_would_show(server, runs_repo) -> None:
    _, run_ids = runs_repo
    document = server.json("/api/runs")
    assert document["error"] is None and document["selection"] == {"range": None, "where": None}
    assert sorted(run["id"] for run in document["runs"]) == sorted(run_ids)
    columns = {column["key"]: column for column in document["columns"]}
    assert [c["key"] for c in document["columns"][:8]] == [
        "id", "name", "status", "age", "code", "tags", "group", "project",
    ]  # fmt: skip
    assert columns["config.lr"] == {"key": "config.lr", "kind": "config", "varies": True}
    assert columns["config.model.depth"]["varies"] is False  # the same in every run
    assert columns["summary.val_acc"] == {
        "key": "summary.val_acc",
        "kind": "summary",
        "varies": True,
    }
    run = next(run for run in document["runs"] if run["name"] == HOSTILE)
    assert set(run) == {
        "id", "name", "status", "started", "duration", "code", "dirty", "tags", "group",
        "project", "config", "summary",
    }  # fmt: skip
    assert run["tags"] == [HOSTILE] and run["summary"]["val_acc"] is None  # NaN is null
    assert run["config"]["model.depth"] == 18 and run["dirty"] is False
    assert run["duration"] == 60.0 and run["started"].startswith("20")


def test_runs_filters_with_where_and_points_at_a_syntax_error(server) -> None:
    document = server.json("/api/runs?where=" + quote("lr == 0.01"))
    assert document["runs"] and {r["config"]["lr"] for r in document["runs"]} == {0.01}
    assert document["selection"]["where"] == "lr == 0.01"
    bad = server.json("/api/runs?where=" + quote("lr < and"))
    assert bad["runs"] == [] and bad["error"]["expression"] == "lr < and"
    assert bad["error"]["column"] == 5 and "column 6" in bad["error"]["message"]


def test_group_gives_counts_aggregates_and_the_confounding_warning(server) -> None:
    document = server.json("/api/group?by=lr&agg=mean,std,count&over=seed")
    assert document["error"] is None
    assert document["by"] == ["config.lr"] and document["aggs"] == ["mean", "std", "count"]
    first = document["groups"][0]
    assert set(first) == {"values", "count", "metrics"}
    assert first["values"] == {"config.lr": 0.001} and first["count"] == 4
    assert set(first["metrics"]["summary.val_acc"]) == {"mean", "std", "count"}
    assert "batch also varies inside groups of lr" in document["warning"]
    unknown = server.json("/api/group?by=nosuchkey")
    assert unknown["groups"] == [] and "nosuchkey" in unknown["error"]["message"]


def test_curves_are_down_sampled_per_run_and_banded_per_group(server, runs_repo) -> None:
    _, run_ids = runs_repo
    chosen = ",".join(run_ids[:4])
    document = server.json(f"/api/curves?runs={chosen}&metric=val_acc&points=10&group=lr")
    assert document["error"] is None and document["x"] == "_step"
    assert [s["run"] for s in document["series"]] == run_ids[:4]
    assert all(len(s["x"]) == len(s["y"]) <= 10 for s in document["series"])
    assert document["downsampled"] is True
    first = document["series"][0]
    assert first["y"][0] == 0.0 and max(first["y"]) == pytest.approx(4.9)  # the peak survives
    assert [b["label"] for b in document["bands"]][:1] == ["lr=0.001 (1 run)"]
    band = document["bands"][0]
    assert len(band["x"]) == len(band["mean"]) == len(band["lo"]) == len(band["hi"]) <= 10
    full = server.json(f"/api/curves?runs={run_ids[0]}&metric=val_acc")
    assert len(full["series"][0]["x"]) == 50 and full["downsampled"] is False
    unknown = server.json(f"/api/curves?runs={chosen}&metric=nosuch")
    assert unknown["series"] == [] and unknown["error"]["expression"] == "nosuch"
    assert "logged" in unknown["error"]["message"]


def test_run_page_has_metadata_amended_keys_files_media_patch_and_history(
    server, runs_repo
) -> None:
    _, run_ids = runs_repo
    amended = server.json(f"/api/run/{run_ids[1]}")
    assert amended["config"]["lr"] == 0.5 and amended["amended"] == ["lr"]
    assert [h["message"].split(":")[0] for h in amended["history"]][-1] == "amend"
    assert amended["metrics"] == ["val_acc", "loss"]
    with_media = server.json(f"/api/run/{run_ids[0]}")
    paths = {f["path"]: f["size"] for f in with_media["files"]}
    assert paths["media/img/3.png"] == len(PNG) and paths["files/notes.txt"] == 6
    assert "files/link" not in paths  # a symbolic link is not a file of the run
    assert with_media["media"] == [
        {"key": "img", "step": 3, "path": "media/img/3.png", "type": "image"}
    ]
    hostile = server.json(f"/api/run/{run_ids[-1]}")
    assert hostile["name"] == HOSTILE and hostile["meta"]["notes"].startswith("<img")
    assert hostile["patch"] == "diff --git a/train.py b/train.py\n"
    assert set(hostile) >= {"id", "status", "meta", "config", "summary", "metrics", "history"}
    status, _, body = server.get("/api/run/nosuchrun")
    assert status == 404 and "no run matches" in json.loads(body)["error"]["message"]


def test_file_serves_recorded_files_and_nothing_else(server, runs_repo) -> None:
    _, run_ids = runs_repo
    run_id = run_ids[0]
    status, headers, body = server.get(f"/api/file/{run_id}/media/img/3.png")
    assert (status, headers["Content-Type"], body) == (200, "image/png", PNG)
    status, headers, body = server.get(f"/api/file/{run_id}/files/notes.txt")
    assert (status, body) == (200, b"hello\n")
    assert headers["Content-Disposition"] == "attachment"
    assert headers["X-Content-Type-Options"] == "nosniff"
    for path in (
        f"/api/file/{run_id}/../../../../etc/passwd",
        f"/api/file/{run_id}/files/../../../{run_dir(run_ids[1])}/config.yaml",
        f"/api/file/{run_id}//etc/passwd",
        f"/api/file/{run_id}/%2Fetc%2Fpasswd",
        f"/api/file/{run_id}/files/link",
        f"/api/file/{run_id}/files",
        f"/api/file/{run_id}/",
        "/api/file/nosuchrun/config.yaml",
        "/api/file/../../etc/passwd",
    ):
        assert server.raw(path) == 404, path


def test_compare_lists_only_what_differs(server, runs_repo) -> None:
    _, run_ids = runs_repo
    document = server.json(f"/api/compare?runs={run_ids[0]},{run_ids[4]},{run_ids[5]}")
    assert document["error"] is None
    assert [r["id"] for r in document["runs"]] == [run_ids[0], run_ids[4], run_ids[5]]
    keys = {entry["key"]: entry["values"] for entry in document["keys"]}
    assert keys["config.seed"] == [0, 1, 2] and "config.lr" in keys
    assert "config.batch" not in keys and "config.model.depth" not in keys
    assert document["code_diff"] == ""  # the same commit, no patch
    one = server.json(f"/api/compare?runs={run_ids[0]}")
    assert one["keys"] == [] and "two or more" in one["error"]["message"]


def test_the_server_is_read_only(server) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS", "FROB"):
        status, headers, _ = server.get("/api/runs", method=method)
        assert status == 405, method
        assert headers["Allow"] == "GET, HEAD"
    status, _, body = server.get("/api/runs", method="HEAD")
    assert status == 200 and body == b""


def test_the_page_and_unknown_paths(server) -> None:
    status, headers, body = server.get("/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert b'<script type="application/json" id="gitcfg-data">{"mode":"live"}</script>' in body
    assert server.get("/static/index.html")[0] == 200
    for path in (
        "/nope",
        "/api/nope",
        "/static/",
        "/static/../server.py",
        "/static/%2e%2e/data.py",
    ):
        assert server.raw(path) == 404, path


def test_a_foreign_host_name_is_refused(server) -> None:
    """A page on another site reaching the server through a rebound DNS name gets nothing."""
    port = server.url.rsplit(":", 1)[1]
    assert server.get("/api/runs", headers={"Host": f"evil.example:{port}"})[0] == 403
    assert server.get("/api/runs", headers={"Host": f"localhost:{port}"})[0] == 200


# --- live ------------------------------------------------------------------------------------

TRAINER = """
import sys
import gitcfg

run = gitcfg.track({"lr": 0.1})
print(run.id, flush=True)
for line in sys.stdin:
    if line.strip() == "end":
        break
    run.log({"loss": float(line)})
    print("logged", flush=True)
run.finish()
print("done", flush=True)
"""


@pytest.fixture
def live_repo(runs_repo, tmp_path: Path) -> Path:
    repo = copy_repo(runs_repo[0], tmp_path / "live")
    write_script(repo / "train.py", TRAINER)
    git(repo, "add", "train.py")
    git(repo, "commit", "-qm", "trainer")
    return repo


def test_new_runs_growing_curves_and_status_changes_show_live(live_repo: Path) -> None:
    server = Server(live_repo)
    start = server.json("/api/version")["generation"]
    trainer = subprocess.Popen(
        [sys.executable, str(live_repo / "train.py")],
        cwd=live_repo,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    try:
        assert trainer.stdin is not None and trainer.stdout is not None
        run_id = trainer.stdout.readline().strip()
        assert len(run_id) == 20

        def running() -> dict | None:
            version = server.json("/api/version")
            runs = server.json("/api/runs")["runs"]
            found = [r for r in runs if r["id"] == run_id and r["status"] == "running"]
            return version if found and version["live"] == 1 else None

        assert wait_for(running, "the new run listed as running")["generation"] > start

        def points() -> int:
            document = server.json(f"/api/curves?runs={run_id}&metric=loss")
            return len(document["series"][0]["y"]) if document["series"] else 0

        for count, loss in enumerate((0.9, 0.7, 0.5), 1):
            trainer.stdin.write(f"{loss}\n")
            trainer.stdin.flush()
            assert trainer.stdout.readline().strip() == "logged"
            wait_for(lambda count=count: points() == count, f"{count} points of the curve")

            def summary_loss() -> object:
                runs = server.json("/api/runs")["runs"]
                return next(r["summary"].get("loss") for r in runs if r["id"] == run_id)

            wait_for(lambda loss=loss: summary_loss() == loss, "the table's live summary")
        trainer.stdin.write("end\n")
        trainer.stdin.flush()
        assert trainer.stdout.readline().strip() == "done"

        def finished() -> bool:
            runs = server.json("/api/runs")["runs"]
            return any(r["id"] == run_id and r["status"] == "finished" for r in runs)

        wait_for(finished, "the run's status change")
        assert server.json("/api/version")["live"] == 0
    finally:
        if trainer.poll() is None:
            trainer.kill()
        trainer.wait(timeout=30)
        server.stop()


def test_a_run_written_by_another_process_appears(live_repo: Path) -> None:
    server = Server(live_repo)
    try:
        before = server.json("/api/version")
        count = len(server.json("/api/runs")["runs"])
        write_runs(live_repo, [make_run(50)])
        wait_for(lambda: server.json("/api/version")["generation"] != before["generation"], "gen")
        assert len(server.json("/api/runs")["runs"]) == count + 1
    finally:
        server.stop()


# --- bad input -------------------------------------------------------------------------------


def _ui(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gitcfg", "ui", "--no-open", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_port_in_use_is_a_one_line_error(runs_repo) -> None:
    repo, _ = runs_repo
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _ui(repo, "--port", str(port))
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines() == [
        f"gitcfg: error: port {port} on 127.0.0.1 is in use; choose another with --port, "
        "or leave --port out for a free one"
    ]


def test_a_bad_filter_or_port_fails_before_serving(runs_repo) -> None:
    repo, _ = runs_repo
    done = _ui(repo, "--where", "lr <")
    assert done.returncode == 1 and done.stderr.startswith("gitcfg: error: cannot parse filter")
    done = _ui(repo, "--port", "70000")
    assert done.returncode == 1 and done.stderr.splitlines() == [
        "gitcfg: error: --port 70000 is not a port: give 1-65535 (or leave it out)"
    ]


def test_another_host_than_loopback_warns_that_runs_are_visible(runs_repo) -> None:
    repo, _ = runs_repo
    server = Server(repo, "--host", "0.0.0.0")
    try:
        assert server.url.startswith("http://0.0.0.0:")
    finally:
        err = server.stop()
    assert "gitcfg: warning: serving on 0.0.0.0, not on loopback: the runs become visible" in err


def test_ui_serves_only_the_selected_range_and_filter(runs_repo) -> None:
    repo, _ = runs_repo
    server = Server(repo, "--where", "lr == 0.01", "HEAD")
    try:
        runs = server.json("/api/runs")["runs"]
        assert runs and {r["config"]["lr"] for r in runs} == {0.01}
        narrowed = server.json("/api/runs?where=seed%20%3D%3D%200")["runs"]
        assert {(r["config"]["lr"], r["config"]["seed"]) for r in narrowed} == {(0.01, 0)}
    finally:
        server.stop()


def test_a_repository_without_runs_is_served_empty(repo: Path) -> None:
    server = Server(repo)
    try:
        assert "0 runs" in server.line
        assert server.json("/api/version") == {"tip": None, "live": 0, "generation": 1}
        document = server.json("/api/runs")
        assert document["runs"] == [] and document["error"] is None
        curves = server.json("/api/curves?metric=loss")
        assert curves["error"]["message"] == "no runs selected"
    finally:
        server.stop()


def test_ctrl_c_stops_the_server_quietly(repo: Path) -> None:
    server = Server(repo)
    server.proc.send_signal(signal.SIGINT)
    server.proc.wait(timeout=30)
    err = server.stop()
    assert server.proc.returncode == 0 and err.strip() == "gitcfg ui: stopped"
