"""track() takes every wandb.init keyword; the Run and module surface a wandb script uses (issue 16)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import git, held_script, read_branch_file, run_id_of, run_python, write_script

from gitcfg.store import run_dir

# wandb 0.30's `def init(` (wandb/sdk/wandb_init.py), plus `magic` of earlier versions.
WANDB_INIT_KWARGS = {
    "entity": "team",
    "project": "proj",
    "dir": None,
    "id": None,
    "name": "n",
    "notes": "why",
    "tags": ["a"],
    "config": {"lr": 1},
    "config_exclude_keys": None,
    "config_include_keys": None,
    "allow_val_change": True,
    "group": "g",
    "job_type": "train",
    "mode": "online",
    "force": True,
    "reinit": "finish_previous",
    "resume": None,
    "resume_from": "x?_step=1",
    "fork_from": "y?_step=2",
    "save_code": True,
    "tensorboard": True,
    "sync_tensorboard": True,
    "monitor_gym": True,
    "settings": {"start_method": "thread"},
    "anonymous": "allow",
    "magic": True,
}


def _runs(repo: Path) -> list[str]:
    out = git(repo, "ls-tree", "-r", "--name-only", "gitcfg-runs", "runs/", check=False)
    return sorted({run_id_of(path) for path in out.splitlines()})


def _meta(repo: Path, run_id: str) -> dict[str, Any]:
    return yaml.safe_load(read_branch_file(repo, f"{run_dir(run_id)}/run.yaml"))


def _script(tmp_path: Path, body: str) -> Path:
    return write_script(tmp_path / "t.py", body)


@pytest.fixture
def loud(monkeypatch: pytest.MonkeyPatch) -> None:
    """The line a run prints at its end is on (conftest turns it off for the other tests)."""
    monkeypatch.delenv("GITCFG_SILENT")


def test_every_wandb_init_keyword_is_accepted_and_recorded(repo: Path, tmp_path: Path) -> None:
    script = _script(
        tmp_path,
        f"""
        import gitcfg
        run = gitcfg.track(**{WANDB_INIT_KWARGS!r})
        print(run.id)
        """,
    )
    proc = run_python(repo, script)
    assert proc.returncode == 0, proc.stderr
    meta = _meta(repo, proc.stdout.strip())
    assert (meta["project"], meta["entity"], meta["job_type"]) == ("proj", "team", "train")
    assert meta["init_args"] == {
        "save_code": True,
        "settings": {"start_method": "thread"},
        "anonymous": "allow",
        "magic": True,
        "sync_tensorboard": True,
        "tensorboard": True,
        "monitor_gym": True,
        "force": True,
        "fork_from": "y?_step=2",
        "resume_from": "x?_step=1",
    }
    said = [line for line in proc.stderr.splitlines() if "has no effect here" in line]
    assert len(said) == 9 and all(line.startswith("gitcfg: warning: track(") for line in said)


def test_project_entity_job_type_are_null_when_not_given(repo: Path, tmp_path: Path) -> None:
    proc = run_python(repo, _script(tmp_path, "import gitcfg\nprint(gitcfg.track().id)\n"))
    meta = _meta(repo, proc.stdout.strip())
    assert (meta["project"], meta["entity"], meta["job_type"]) == (None, None, None)
    assert "init_args" not in meta


def test_a_keyword_wandb_init_does_not_take_is_still_a_type_error(
    repo: Path, tmp_path: Path
) -> None:
    proc = run_python(repo, _script(tmp_path, "import gitcfg\ngitcfg.track(projet='x')\n"))
    assert proc.returncode == 1
    assert "TypeError: track() got an unexpected keyword argument 'projet'" in proc.stderr
    assert git(repo, "branch", "--list", "gitcfg-runs") == ""


def test_an_ineffective_keyword_is_said_once_per_process(repo: Path, tmp_path: Path) -> None:
    script = _script(
        tmp_path,
        """
        import gitcfg
        for i in range(3):
            gitcfg.track(sync_tensorboard=True, magic=False, reinit=True).finish()
        """,
    )
    proc = run_python(repo, script)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("sync_tensorboard") == 1 and "magic" not in proc.stderr


@pytest.mark.parametrize(
    ("run_id", "says"),
    [
        ("", "it is empty"),
        ("a/b", "path separator"),
        ("a..b", "`..`"),
        ("x" * 65, "65 characters long"),
        ("a b", "' '"),
        ("a:b", "':'"),
        ("-ab", "starts with"),
    ],
)
def test_a_bad_id_is_one_line_before_anything_is_written(
    repo: Path, tmp_path: Path, run_id: str, says: str
) -> None:
    proc = run_python(repo, _script(tmp_path, f"import gitcfg\ngitcfg.track(id={run_id!r})\n"))
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gitcfg: error: track(id=") and says in lines[0]
    assert git(repo, "branch", "--list", "gitcfg-runs") == ""


def test_a_chosen_id_names_the_run_and_resolves_in_the_cli(repo: Path, tmp_path: Path, cli) -> None:
    script = _script(tmp_path, "import gitcfg\nrun = gitcfg.track(id='Exp-1.a')\nprint(run.name)\n")
    proc = run_python(repo, script)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "Exp-1.a"
    assert _runs(repo) == ["Exp-1.a"]
    assert _meta(repo, "Exp-1.a")["status"] == "finished"
    result = cli(repo, "show", "Exp-1.a")
    assert result.exit_code == 0, result.output
    assert "Exp-1.a" in result.output


def test_a_removed_run_with_a_chosen_id_is_restored_by_it(repo: Path, tmp_path: Path, cli) -> None:
    script = _script(tmp_path, "import gitcfg\ngitcfg.track(id='Exp-2.a')\n")
    assert run_python(repo, script).returncode == 0
    result = cli(repo, "rm", "Exp-2.a", "-m", "by mistake")
    assert result.exit_code == 0, result.output
    assert _runs(repo) == []
    result = cli(repo, "restore", "Exp-2.a")
    assert result.exit_code == 0, result.output
    assert _runs(repo) == ["Exp-2.a"]


def test_an_id_in_use_without_resume_is_an_error_naming_resume(repo: Path, tmp_path: Path) -> None:
    script = _script(tmp_path, "import gitcfg\ngitcfg.track(id='exp1').log({'a': 1})\n")
    assert run_python(repo, script).returncode == 0
    tip = git(repo, "rev-parse", "gitcfg-runs")
    proc = run_python(repo, script)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "run exp1 already exists" in lines[0] and "resume=" in lines[0]
    assert git(repo, "rev-parse", "gitcfg-runs") == tip


def test_a_second_track_finishes_the_first_unless_reinit_returns_it(
    repo: Path, tmp_path: Path
) -> None:
    script = _script(
        tmp_path,
        """
        import gitcfg
        a = gitcfg.track(name="a")
        b = gitcfg.track(name="b", reinit=False)
        c = gitcfg.track(name="c", reinit="return_previous")
        assert a is b is c and a.name == "a" and not a._finished
        d = gitcfg.track(name="d", reinit="finish_previous")
        e = gitcfg.track(name="e", reinit="create_new")
        assert a._finished and d._finished and e is gitcfg.run
        """,
    )
    proc = run_python(repo, script)
    assert proc.returncode == 0, proc.stderr
    names = sorted(_meta(repo, run_id)["name"] for run_id in _runs(repo))
    assert names == ["a", "d", "e"]
    # finish_previous is asked for: no warning; create_new is done as finish_previous: warned
    assert proc.stderr.count("finishing it first") == 1


def test_an_unknown_reinit_is_one_line(repo: Path, tmp_path: Path) -> None:
    proc = run_python(repo, _script(tmp_path, "import gitcfg\ngitcfg.track(reinit='again')\n"))
    assert proc.returncode == 1 and proc.stderr.startswith("gitcfg: error: track(reinit='again')")


def test_run_dir_exists_and_follows_dir(repo: Path, tmp_path: Path) -> None:
    script = _script(
        tmp_path,
        """
        import os, sys, gitcfg
        a = gitcfg.track()
        print(a.dir, os.path.isdir(a.dir))
        a.finish()
        b = gitcfg.track(dir=sys.argv[1])
        print(b.dir, os.path.isdir(b.dir), b.id)
        """,
    )
    proc = run_python(repo, script, str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    first, second = proc.stdout.splitlines()
    a_dir, a_exists = first.split()
    assert a_exists == "True" and Path(a_dir).parent == repo / ".git" / "gitcfg" / "files"
    b_dir, b_exists, b_id = second.split()
    assert b_exists == "True" and Path(b_dir) == tmp_path / "out" / "gitcfg" / b_id


def test_mode_shared_and_offline_record_and_say_so(repo: Path, tmp_path: Path) -> None:
    script = _script(
        tmp_path,
        """
        import gitcfg
        for mode in ("shared", "offline", "disabled"):
            run = gitcfg.track(mode=mode)
            print(mode, run.recording, run.offline, run.disabled)
            run.finish()
        """,
    )
    proc = run_python(repo, script)
    assert proc.stdout.splitlines() == [
        "shared True False False",
        "offline True True False",
        "disabled False False True",
    ]
    assert len(_runs(repo)) == 2


def test_allow_val_change_lets_the_script_change_a_value(repo: Path, tmp_path: Path) -> None:
    script = _script(
        tmp_path,
        """
        import gitcfg
        run = gitcfg.track({"lr": 0.1}, allow_val_change=True)
        run.config.lr = 0.2
        print(run.id)
        """,
    )
    proc = run_python(repo, script)
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.strip()
    config = yaml.safe_load(read_branch_file(repo, f"{run_dir(run_id)}/config.yaml"))
    assert config == {"lr": 0.2}


# --- the Run's surface ------------------------------------------------------------------------


def test_labels_set_during_the_run_are_recorded(repo: Path, tmp_path: Path) -> None:
    script = _script(
        tmp_path,
        """
        import gitcfg
        run = gitcfg.track(tags=["base"], project="p0")
        run.name = "renamed"
        run.tags = run.tags + ("x",)
        run.tags.append("y")
        run.notes = "a note"
        run.group = "grp"
        run.project = "p1"
        run.job_type = "eval"
        run.entity = "me"
        assert run.tags == ("base", "x", "y")
        print(run.id, run.path, run.url)
        """,
    )
    proc = run_python(repo, script)
    assert proc.returncode == 0, proc.stderr
    run_id, path, url = proc.stdout.split()
    assert path == f"me/p1/{run_id}" and url == "None"
    meta = _meta(repo, run_id)
    assert meta["name"] == "renamed" and meta["tags"] == ["base", "x", "y"]
    assert (meta["notes"], meta["group"], meta["project"], meta["job_type"], meta["entity"]) == (
        "a note",
        "grp",
        "p1",
        "eval",
        "me",
    )


def test_a_label_set_is_journaled_so_a_killed_run_keeps_it(repo: Path, tmp_path: Path) -> None:
    script = _script(
        tmp_path,
        """
        import os, signal, gitcfg
        run = gitcfg.track()
        run.name = "kept"
        run.tags = ("t1", "t2")
        print(run.id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """,
    )
    proc = run_python(repo, script)
    assert proc.returncode == -signal.SIGKILL
    run_id = proc.stdout.strip()
    assert run_python(repo, _script(tmp_path, "import gitcfg\ngitcfg.track()\n")).returncode == 0
    meta = _meta(repo, run_id)
    assert (meta["status"], meta["name"], meta["tags"]) == ("crashed", "kept", ["t1", "t2"])


def test_wandb_run_properties_exist(repo: Path, tmp_path: Path) -> None:
    script = _script(
        tmp_path,
        """
        import time, gitcfg
        before = time.time()
        run = gitcfg.track(entity="e", project="p")
        assert run.path == f"e/p/{run.id}" and run.entity == "e" and run.project == "p"
        assert run.url is None and run.sweep_id is None and run.get_url() is None
        assert run.resumed is False and run.offline is False and run.disabled is False
        assert before <= run.start_time <= time.time() and run.starting_step == 0
        assert run.project_name() == "p" and run.job_type is None
        run.log_code(".")
        print("ok")
        """,
    )
    proc = run_python(repo, script)
    assert proc.stdout.strip() == "ok", proc.stderr


# --- the line at the end ----------------------------------------------------------------------


def test_a_run_ends_with_one_line_saying_what_to_run(repo: Path, tmp_path: Path, loud) -> None:
    script = _script(tmp_path, "import gitcfg\nrun = gitcfg.track(name='misty')\nprint(run.id)\n")
    proc = run_python(repo, script)
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.strip()
    line = proc.stderr.strip()
    assert line.startswith(f'gitcfg: run {run_id[:5]}… "misty" finished in ')
    assert line.endswith(f"s · gitcfg show {run_id[:8]}")
    assert len(proc.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("body", "env"),
    [
        ("gitcfg.track(quiet=True)", {}),
        ("gitcfg.track()", {"GITCFG_SILENT": "1"}),
        ("gitcfg.track(mode='disabled')", {}),
        ("gitcfg.track(rank=1)", {}),
    ],
)
def test_no_end_line_when_quiet_or_nothing_recorded(
    repo: Path, tmp_path: Path, body: str, env: dict[str, str], loud
) -> None:
    proc = run_python(repo, _script(tmp_path, f"import gitcfg\n{body}\n"), env=env)
    assert proc.returncode == 0 and proc.stderr == ""


def test_a_failed_run_says_failed(repo: Path, tmp_path: Path, loud) -> None:
    script = _script(tmp_path, "import gitcfg, sys\ngitcfg.track(id='f1')\nsys.exit(3)\n")
    proc = run_python(repo, script)
    assert proc.returncode == 3
    assert 'gitcfg: run f1 "f1" failed in ' in proc.stderr


# --- the module -------------------------------------------------------------------------------


def test_dir_lists_the_public_api_and_summary_without_a_run_is_no_attribute() -> None:
    code = (
        "import gitcfg, sys\n"
        "names = dir(gitcfg)\n"
        "assert {'track', 'init', 'log', 'config', 'summary', 'Api', 'login'} <= set(names)\n"
        "assert not hasattr(gitcfg, 'summary') and gitcfg.init is gitcfg.track\n"
        "try:\n"
        "    gitcfg.summary['x'] = 1\n"
        "except gitcfg.GitcfgError as e:\n"
        "    print(e)\n"
        "print(sorted(m for m in ('yaml', 'typer', 'rich') if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    message, loaded = proc.stdout.splitlines()
    assert message == "no active run; call gitcfg.track(config) before using gitcfg.summary"
    assert loaded == "[]"


def test_wandb_module_functions_are_local_stand_ins(repo: Path, tmp_path: Path) -> None:
    script = _script(
        tmp_path,
        """
        import gitcfg
        assert gitcfg.login(key="x") is True
        gitcfg.setup(); gitcfg.require("service")
        settings = gitcfg.Settings(start_method="thread", _disable_stats=True)
        assert settings.start_method == "thread"
        run = gitcfg.init(project="p", settings=settings)
        gitcfg.termlog("hello")
        gitcfg.termwarn("careful")
        gitcfg.termerror("bad")
        gitcfg.alert(title="loss", text="nan", level=gitcfg.AlertLevel.WARN)
        assert gitcfg.Error is gitcfg.GitcfgError
        gitcfg.mark_preempting()
        print(run.id)
        gitcfg.teardown()
        assert run.status == "finished"
        """,
    )
    proc = run_python(repo, script)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert "gitcfg: hello" in lines and "gitcfg: warning: careful" in lines
    assert "gitcfg: error: bad" in lines and "gitcfg: alert [WARN] loss: nan" in lines
    meta = _meta(repo, proc.stdout.strip())
    assert meta["init_args"]["settings"] == {"start_method": "thread", "_disable_stats": True}
    assert meta["alerts"][0]["title"] == "loss" and meta["preempting"] is True


def test_an_exception_at_the_python_prompt_does_not_end_the_run(repo: Path) -> None:
    session = (
        "import gitcfg\n"
        "run = gitcfg.track()\n"
        "1 / 0\n"
        "print('status', run.status)\n"
        "run.log({'a': 1})\n"
        "print('id', run.id)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-i", "-q"],
        input=session,
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ,
    )
    assert "ZeroDivisionError" in proc.stderr
    assert "status running" in proc.stdout
    run_id = proc.stdout.split("id ")[1].split()[0]
    meta = _meta(repo, run_id)
    assert meta["status"] == "finished" and meta["script"] == "<repl>"
    rows = read_branch_file(repo, f"{run_dir(run_id)}/metrics.jsonl").splitlines()
    assert [json.loads(r)["a"] for r in rows] == [1]


def test_config_persist_commits_the_config_to_the_runs_branch(repo: Path, tmp_path: Path) -> None:
    script = _script(
        tmp_path,
        """
        import sys, gitcfg
        run = gitcfg.track({"lr": 0.1})
        run.config.epochs = 7
        run.config.persist()
        print(run.id, flush=True)
        sys.stdin.readline()  # the test reads the branch while the run is alive
        """,
    )
    with held_script(repo, script) as run_id:
        base = f"{run_dir(run_id)}"
        config = yaml.safe_load(read_branch_file(repo, f"{base}/config.yaml"))
        assert config == {"lr": 0.1, "epochs": 7}
        assert yaml.safe_load(read_branch_file(repo, f"{base}/run.yaml"))["status"] == "running"
        assert git(repo, "log", "-1", "--format=%s", "gitcfg-runs") == (
            f"run {run_id}: config persisted"
        )
    assert _meta(repo, run_id)["status"] == "finished"  # the process has ended
