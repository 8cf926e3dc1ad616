"""project, entity, job_type and script are first-class, as group is (issue 16): log columns when
they vary, --where, --group-by, the Api and the DataFrame."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from conftest import git, run_python, write_script
from runs_branch import make_run, write_runs

from gitcfg.query import Api


def rows(result) -> list[dict]:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def labelled(repo: Path) -> list[dict]:
    """Six runs of two projects, two job types and two scripts (run.yaml written with git)."""
    worktree = str(repo)
    runs = []
    for i in range(6):
        runs.append(
            make_run(
                i,
                project=["vision", "speech"][i % 2],
                entity="lab",
                job_type=["train", "eval", "eval"][i % 3],
                group=f"sweep-{i // 3}",
                script=f"{worktree}/{'train.py' if i % 3 == 0 else 'src/eval.py'}",
                code={"commit": None, "branch": "main", "dirty": False, "worktree": worktree},
            )
        )
    write_runs(repo, runs)
    return runs


def test_log_shows_project_job_type_and_script_columns_only_when_they_vary(cli, repo, labelled):
    table = rows(cli(repo, "log", "--format", "json"))
    assert len(table) == 6
    for row in table:
        assert {"project", "job_type", "script", "group"} <= set(row)
        assert "entity" not in row  # the same in every run: no column
    by_name = {row["name"]: row for row in table}
    assert by_name["run-1"]["project"] == "speech"
    assert by_name["run-0"]["job_type"] == "train"
    assert by_name["run-0"]["script"] == "train.py"  # relative to the run's worktree
    assert by_name["run-1"]["script"] == "src/eval.py"
    # Within one project and job type, those columns go.
    narrow = rows(
        cli(repo, "log", "-w", 'project == "vision" and job_type == "eval"', "-f", "json")
    )
    assert [row["name"] for row in narrow] == ["run-4", "run-2"]
    assert "project" not in narrow[0] and "job_type" not in narrow[0]


def test_where_group_by_and_columns_take_the_fields(cli, repo, labelled):
    assert {
        r["name"] for r in rows(cli(repo, "log", "-w", 'project == "speech"', "-f", "json"))
    } == {
        "run-1",
        "run-3",
        "run-5",
    }
    picked = rows(cli(repo, "log", "-w", 'script == "train.py"', "-f", "json"))
    assert {r["name"] for r in picked} == {"run-0", "run-3"}
    grouped = rows(cli(repo, "log", "--group-by", "job_type", "-f", "json"))
    assert {(g["job_type"], g["runs"]) for g in grouped} == {("train", 2), ("eval", 4)}
    by_project = rows(cli(repo, "log", "-g", "project", "-g", "entity", "-f", "json"))
    assert {(g["project"], g["entity"], g["runs"]) for g in by_project} == {
        ("speech", "lab", 3),
        ("vision", "lab", 3),
    }
    shown = rows(cli(repo, "log", "--columns", "project,entity,job_type,script", "-f", "json"))
    assert set(shown[0]) == {"id", "project", "entity", "job_type", "script"}
    sorted_rows = rows(cli(repo, "log", "--sort", "project", "--columns", "project", "-f", "json"))
    assert [r["project"] for r in sorted_rows] == ["speech"] * 3 + ["vision"] * 3


def test_the_api_has_the_fields_and_filters_on_them(repo, labelled):
    api = Api(repo)
    run = api.run(labelled[1]["id"])
    assert (run.project, run.entity, run.job_type, run.group) == (
        "speech",
        "lab",
        "eval",
        "sweep-0",
    )
    assert run.script == "src/eval.py"
    with api.runs(where='job_type == "train"') as runs:
        assert {r.name for r in runs} == {"run-0", "run-3"}
        assert {r.project for r in runs} == {"vision", "speech"}
    frame = api.to_dataframe(where="project == 'vision'")
    assert {"project", "entity", "job_type", "script"} <= set(frame.columns)
    assert sorted(frame["job_type"]) == ["eval", "eval", "train"]
    assert set(frame["script"]) == {"train.py", "src/eval.py"}


def test_runs_without_the_fields_read_as_null(cli, repo):
    write_runs(repo, [make_run(1), make_run(2)])
    run = Api(repo).run("run-1")
    assert (run.project, run.entity, run.job_type, run.script) == (None, None, None, None)
    table = rows(cli(repo, "log", "-f", "json"))
    assert "project" not in table[0]
    assert rows(cli(repo, "log", "-w", "project == null", "-f", "json"))[0]["name"] == "run-2"


def test_a_cache_of_the_previous_schema_is_rebuilt(repo, labelled):
    api = Api(repo)
    api.runs().close()
    cache_file = Path(git(repo, "rev-parse", "--git-common-dir"))
    cache_file = (repo / cache_file if not cache_file.is_absolute() else cache_file) / "gitcfg"
    db = sqlite3.connect(cache_file / "query-cache.sqlite")
    db.execute("PRAGMA user_version = 2")
    db.close()
    fresh = Api(repo)
    with fresh.runs(where='project == "vision"') as runs:
        assert len(runs) == 3
    assert fresh.cache.last_refresh[0] == "rebuild"


def test_runs_of_two_scripts_in_one_repo_are_told_apart(cli, repo):
    for name in ("train.py", "evaluate.py"):
        write_script(
            repo / name,
            """
            import gitcfg
            with gitcfg.track({"lr": 0.1}) as run:
                run.log({"acc": 0.5})
            """,
        )
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "scripts")
    for name in ("train.py", "evaluate.py", "train.py"):
        assert run_python(repo, name).returncode == 0
    assert len(rows(cli(repo, "log", "-w", 'script == "train.py"', "-f", "json"))) == 2
    table = rows(cli(repo, "log", "-f", "json"))
    assert [row["script"] for row in table] == ["train.py", "evaluate.py", "train.py"]
    grouped = rows(cli(repo, "log", "-g", "script", "-f", "json"))
    assert {(g["script"], g["runs"]) for g in grouped} == {("train.py", 2), ("evaluate.py", 1)}


def test_track_records_project_entity_and_job_type_for_every_query(cli, repo):
    write_script(
        repo / "train.py",
        """
        import sys
        import gitcfg
        project, job_type = sys.argv[1], sys.argv[2]
        with gitcfg.track({"lr": 0.1}, project=project, entity="lab", job_type=job_type) as run:
            run.log({"acc": 0.5})
        """,
    )
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "train")
    for args in (("vision", "train"), ("vision", "eval"), ("speech", "train")):
        result = run_python(repo, "train.py", *args)
        assert result.returncode == 0, result.stderr
    table = rows(cli(repo, "log", "-f", "json"))
    assert [(r["project"], r["job_type"]) for r in table] == [
        ("speech", "train"),
        ("vision", "eval"),
        ("vision", "train"),
    ]
    assert "entity" not in table[0] and "script" not in table[0]  # the same in every run
    assert len(rows(cli(repo, "log", "--where", 'project == "vision"', "-f", "json"))) == 2
    grouped = rows(cli(repo, "log", "--group-by", "job_type", "-f", "json"))
    assert {(g["job_type"], g["runs"]) for g in grouped} == {("train", 2), ("eval", 1)}
    with Api(repo).runs(where="job_type == 'eval'") as runs:
        (run,) = runs
        assert (run.project, run.entity, run.job_type, run.script) == (
            "vision",
            "lab",
            "eval",
            "train.py",
        )
