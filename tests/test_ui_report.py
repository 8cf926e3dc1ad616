"""`gitcfg report`: one self-contained HTML file, its data escaped; and the notebook tables."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import git
from runs_branch import make_run, write_runs

from gitcfg.query import Api
from gitcfg.ui.page import embed_data, safe_json

HOSTILE = "</script><script>alert(1)</script>"
DATA_TAG = re.compile(r'<script type="application/json" id="gitcfg-data">(.*?)</script>', re.DOTALL)


@pytest.fixture
def runs_repo(repo: Path) -> Path:
    head = git(repo, "rev-parse", "HEAD")
    runs = [
        make_run(
            i,
            commit=head,
            metrics=[{"_step": s, "val_acc": s / 100 + i} for s in range(300)],
        )
        for i in range(8)
    ]
    runs.append(
        make_run(
            30,
            commit=head,
            metrics=[{"_step": 0, "val_acc": 0.1}],
            name=HOSTILE,
            tags=["\u2028", "&amp;"],
            notes="<!-- <script>",
        )
    )
    write_runs(repo, runs)
    return repo


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    (tmp_path / "out").mkdir()
    return tmp_path / "out"


def report(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gitcfg", "report", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
    )


def embedded(page: str) -> dict:
    (text,) = DATA_TAG.findall(page)
    return json.loads(text)


def test_report_is_one_self_contained_file_with_the_data(runs_repo: Path, out_dir: Path) -> None:
    out = out_dir / "report.html"
    done = report(runs_repo, "--group-by", "lr", "--metric", "val_acc", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"wrote {out}: 9 runs, ")
    page = out.read_text()
    # Every script and style inlined: no element loads anything but a data: URL.
    loads = r"<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=\s*[\"']?(?!data:)[^\s\"'>]"
    assert not re.search(loads, page, re.I)
    assert not re.search(r"\b(src|href)\s*=\s*[\"']?(https?:)?//", page, re.I)
    data = embedded(page)
    assert data["mode"] == "report" and data["compare"] is None
    header = data["header"]
    assert header["runs"] == 9 and header["tip"] == git(runs_repo, "rev-parse", "gitcfg-runs")
    assert header["range"] is None and header["where"] is None and header["generated"]
    assert header["downsampled"] is True and "200 points" in header["note"]
    assert len(data["runs"]["runs"]) == 9 and data["runs"]["error"] is None
    assert list(data["groups"]) == ["config.lr"]
    assert data["groups"]["config.lr"]["groups"][0]["count"] >= 2
    curves = data["curves"]["val_acc"]
    assert len(curves["series"]) == 9 and all(len(s["x"]) <= 200 for s in curves["series"])
    assert curves["bands"] and curves["downsampled"] is True
    assert len(data["run"]) == 9
    page_of = next(iter(data["run"].values()))
    assert {"meta", "config", "files", "history"} <= set(page_of)
    assert list(out_dir.iterdir()) == [out]  # no temporary file left


def test_hostile_strings_stay_text_in_the_report(runs_repo: Path, out_dir: Path) -> None:
    out = out_dir / "r.html"
    assert report(runs_repo, "-o", str(out)).returncode == 0
    page = out.read_text()
    data_text = DATA_TAG.findall(page)[0]
    for raw in ("</script", "<script", "<!--", "\u2028", "&amp;"):
        assert raw not in data_text
    data = embedded(page)
    hostile = next(run for run in data["runs"]["runs"] if run["name"] == HOSTILE)
    assert hostile["tags"] == ["\u2028", "&amp;"]
    assert data["run"][hostile["id"]]["meta"]["notes"] == "<!-- <script>"


def test_the_json_escaping_round_trips() -> None:
    document = {"name": HOSTILE, "x": "a\u2028b\u2029c&<>", "n": float("nan")}
    text = safe_json(document)
    assert not set("<>&\u2028\u2029") & set(text)
    assert json.loads(text) == {**document, "n": None}
    page = embed_data("<html><head><title>t</title></head></html>", document)
    assert page.startswith('<html><head><script type="application/json" id="gitcfg-data">')


def test_report_selects_by_range_and_filter(runs_repo: Path, out_dir: Path) -> None:
    out = out_dir / "r.html"
    done = report(runs_repo, "HEAD", "--where", "lr == 0.01", "-o", str(out))
    assert done.returncode == 0, done.stderr
    data = embedded(out.read_text())
    assert data["header"]["range"] == "HEAD" and data["header"]["where"] == "lr == 0.01"
    assert {run["config"]["lr"] for run in data["runs"]["runs"]} == {0.01}


def test_bad_input_is_one_line_and_writes_nothing(runs_repo: Path, out_dir: Path) -> None:
    out = out_dir / "r.html"
    cases = {
        ("--metric", "nosuch"): "gitcfg: error: unknown metric 'nosuch': none of the 9 runs "
        "shown logged it (metrics: val_acc)",
        ("--where", "lr > 100"): "gitcfg: error: no runs selected (by lr > 100); nothing to report",
        ("--group-by", "nosuch"): "gitcfg: error: unknown key 'nosuch' in --group-by; ",
    }
    for args, message in cases.items():
        done = report(runs_repo, *args, "-o", str(out))
        assert done.returncode == 1 and done.stdout == "", args
        (line,) = done.stderr.splitlines()
        assert line.startswith(message), line
    blocker = out_dir / "file"
    blocker.write_text("x")
    for target, why in (
        (blocker / "r.html", "no directory"),
        (out_dir, "it is a directory"),
        (out_dir / "missing" / "r.html", "no directory"),
    ):
        done = report(runs_repo, "-o", str(target))
        assert done.returncode == 1 and why in done.stderr, done.stderr
        assert len(done.stderr.splitlines()) == 1
    assert sorted(p.name for p in out_dir.iterdir()) == ["file"]


def test_report_without_runs_says_so(repo: Path, out_dir: Path) -> None:
    done = report(repo, "-o", str(out_dir / "r.html"))
    assert done.returncode == 1 and done.stderr.startswith("gitcfg: error: ")
    assert not (out_dir / "r.html").exists()


# --- notebooks -------------------------------------------------------------------------------


def test_runs_show_as_an_escaped_html_table(runs_repo: Path) -> None:
    with Api(runs_repo).runs() as runs:
        html = runs._repr_html_()
        assert html == runs.to_html()
    assert html.startswith('<table class="gitcfg"') and "<script" not in html
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert ">lr</th>" in html and ">val_acc</th>" in html
    assert "constant: batch=32, model.depth=18, model.name=resnet" in html
    assert "…" not in html  # 9 runs: all shown


def test_many_runs_are_cut_like_pandas(repo: Path) -> None:
    write_runs(repo, [make_run(i) for i in range(70)])
    with Api(repo).runs() as runs:
        html = runs.to_html()
        grouping = runs.group_by("seed")
    assert html.count("<tr>") == 1 + 5 + 1 + 5 and "<p>70 runs</p>" in html
    group_html = grouping._repr_html_()
    assert "val_acc mean ± std" in group_html and group_html.count("<tr>") == 1 + 3


def test_a_run_shows_as_a_key_value_table(runs_repo: Path) -> None:
    api = Api(runs_repo)
    with api.runs(where=["name == run-1"]) as runs:
        html = runs[0]._repr_html_()
    assert ">config.lr</td>" in html and ">summary.val_acc</td>" in html
    assert ">run-1</td>" in html and "<script" not in html


def test_refreshing_running_runs_keeps_the_others_and_matches_a_full_read(repo: Path) -> None:
    from gitcfg.ui import data

    write_runs(repo, [make_run(i) for i in range(5)] + [make_run(9, status="running")])
    api = Api(repo)
    document = data.runs_document(api, data.Selection())
    refreshed, changed = data.refresh_running(api, data.Selection(), document)
    (running,) = [run["id"] for run in document["runs"] if run["status"] == "running"]
    assert changed == {running} and refreshed["runs"] == document["runs"]
    kept = {id(run) for run in document["runs"] if run["id"] != running}
    assert kept <= {id(run) for run in refreshed["runs"]}  # the others are not read again
    body, encoded = data.encode_runs(refreshed, {}, set())
    assert json.loads(body) == json.loads(data.encode(document)) and len(encoded) == 6
