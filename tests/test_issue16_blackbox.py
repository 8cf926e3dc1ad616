"""Issue 16, checked from the outside: every name, option, file and behaviour the issue text states,
through `python -m gitcfg` subprocesses and real Python scripts in real temporary repositories.

Written from the issue text alone (not from the code), as an independent reviewer would."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import commit_script, git, run_python

# --- helpers --------------------------------------------------------------------------------------


def gc(cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120):
    """The gitcfg command as a user runs it: a separate process."""
    return subprocess.run(
        [sys.executable, "-m", "gitcfg", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    """A failed command's single `gitcfg: error: ...` line, with no traceback."""
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    lines = [line for line in (proc.stderr + proc.stdout).strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("gitcfg: error: "), lines
    return lines[0]


def run_path(repo: Path, run_id: str, ref: str = "gitcfg-runs") -> str:
    """The run's directory on the runs branch."""
    names = git(repo, "ls-tree", "-r", "--name-only", ref).splitlines()
    dirs = {
        n.rsplit("/", 1)[0] for n in names if n.endswith("/run.yaml") and n.split("/")[-2] == run_id
    }
    assert len(dirs) == 1, (run_id, dirs)
    return dirs.pop()


def branch_yaml(repo: Path, run_id: str, name: str, ref: str = "gitcfg-runs"):
    return yaml.safe_load(git(repo, "show", f"{ref}:{run_path(repo, run_id, ref)}/{name}"))


def branch_rows(repo: Path, run_id: str, ref: str = "gitcfg-runs") -> list[dict]:
    text = git(repo, "show", f"{ref}:{run_path(repo, run_id, ref)}/metrics.jsonl")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def branch_names(repo: Path, run_id: str, ref: str = "gitcfg-runs") -> list[str]:
    base = run_path(repo, run_id, ref)
    return [
        n[len(base) + 1 :]
        for n in git(repo, "ls-tree", "-r", "--name-only", ref, base).splitlines()
    ]


def has_runs_branch(repo: Path) -> bool:
    return bool(git(repo, "rev-parse", "-q", "--verify", "refs/heads/gitcfg-runs", check=False))


def commit_count(repo: Path) -> int:
    if not has_runs_branch(repo):
        return 0
    return int(git(repo, "rev-list", "--count", "gitcfg-runs"))


# A driver: `python drive.py '<json kwargs>' [steps]` tracks with those keywords, logs `steps` rows
# of loss/acc, prints the run id and exits 0.
DRIVER = """
import json, sys
import gitcfg
kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
config = kw.pop("config", {"lr": 0.1})
run = gitcfg.track(config, **kw)
for i in range(steps):
    run.log({"loss": 1.0 / (i + 1), "acc": i / 10})
print(run.id)
"""


@pytest.fixture
def driver(repo: Path) -> Path:
    return commit_script(repo, "drive.py", DRIVER)


def drive(
    repo: Path,
    kwargs: dict | None = None,
    steps: int = 3,
    script: str = "drive.py",
    env: dict[str, str] | None = None,
) -> str:
    proc = run_python(repo, script, json.dumps(kwargs or {}), str(steps), env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


def log_json(repo: Path, *args: str) -> list[dict]:
    return json.loads(ok(gc(repo, "log", "-f", "json", "-n", "-1", *args)))


def flat_get(record: dict, key: str):
    """A key of a `log -f json` record, flat (`project`) or nested under a section."""
    if key in record:
        return record[key]
    for value in record.values():
        if isinstance(value, dict) and key in value:
            return value[key]
    raise KeyError(key)


# --- track() takes every keyword argument of wandb.init -------------------------------------------

WANDB_INIT_KWARGS = dict(
    entity="team",
    project="proj",
    dir=None,
    id=None,
    name="n1",
    notes="some notes",
    tags=["a", "b"],
    config={"lr": 0.1},
    config_exclude_keys=None,
    config_include_keys=None,
    allow_val_change=True,
    group="g1",
    job_type="train",
    mode="online",
    force=False,
    anonymous="never",
    reinit=None,
    resume=None,
    resume_from=None,
    fork_from=None,
    save_code=True,
    tensorboard=False,
    sync_tensorboard=False,
    monitor_gym=False,
    settings={},
    magic=False,
)


def test_track_accepts_every_wandb_init_keyword_and_records_the_labels(
    repo: Path, driver: Path
) -> None:
    run_id = drive(repo, WANDB_INIT_KWARGS)
    meta = branch_yaml(repo, run_id, "run.yaml")
    assert meta["status"] == "finished"
    assert (meta["project"], meta["entity"], meta["job_type"]) == ("proj", "team", "train")
    assert (meta["name"], meta["group"], meta["notes"]) == ("n1", "g1", "some notes")
    assert list(meta["tags"]) == ["a", "b"]


@pytest.mark.parametrize(
    "name, value",
    [
        ("anonymous", "allow"),
        ("magic", True),
        ("sync_tensorboard", True),
        ("monitor_gym", True),
        ("force", True),
        ("tensorboard", True),
        ("settings", {"silent": True}),
        ("save_code", False),
        ("fork_from", "abc?_step=3"),
        ("resume_from", "abc?_step=3"),
        ("mode", "offline"),
    ],
)
def test_each_no_effect_keyword_is_accepted_and_recorded(repo: Path, name: str, value) -> None:
    commit_script(
        repo,
        "kw.py",
        f"""
        import gitcfg
        run = gitcfg.track({{"lr": 0.1}}, {name}={value!r})
        run.log({{"loss": 1.0}})
        run.finish()
        run2 = gitcfg.track({{"lr": 0.2}}, {name}={value!r})
        run2.finish()
        print(run.id)
        """,
    )
    proc = run_python(repo, "kw.py")
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.strip()
    meta = branch_yaml(repo, run_id, "run.yaml")
    assert meta["status"] == "finished"
    if name != "mode":
        assert name in yaml.safe_dump(meta), meta  # accepted and recorded
        # one line on stderr, once per process, saying it has no effect here
        mentions = [line for line in proc.stderr.splitlines() if name in line]
        assert len(mentions) == 1, proc.stderr
        assert "no effect" in mentions[0] or "recorded" in mentions[0], mentions


def test_a_keyword_wandb_init_does_not_take_is_a_type_error(repo: Path) -> None:
    commit_script(
        repo,
        "typo.py",
        """
        import gitcfg
        try:
            gitcfg.track({"lr": 0.1}, projct="x")
        except TypeError as exc:
            print("TypeError", exc)
        """,
    )
    proc = run_python(repo, "typo.py")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("TypeError") and "projct" in proc.stdout
    assert not has_runs_branch(repo)


def test_project_entity_job_type_are_first_class_in_log_where_group_by_and_api(
    repo: Path, driver: Path
) -> None:
    commit_script(repo, "other.py", DRIVER)
    a = drive(repo, {"project": "x", "job_type": "train", "entity": "me"})
    b = drive(repo, {"project": "y", "job_type": "eval", "entity": "me"})
    c = drive(repo, {"project": "x", "job_type": "eval", "entity": "me"}, script="other.py")
    table = ok(gc(repo, "log"))
    header = table.splitlines()[0] if table.strip() else ""
    assert "project" in table and "job_type" in table, table
    assert "entity" not in header, table  # does not vary: no column
    rows = log_json(repo, "--where", 'project == "x"')
    assert {r["id"] for r in rows} == {a, c}
    rows = log_json(repo, "--where", 'job_type == "eval"', "--where", 'entity == "me"')
    assert {r["id"] for r in rows} == {b, c}
    grouped = ok(gc(repo, "log", "--group-by", "job_type"))
    assert "train" in grouped and "eval" in grouped
    grouped_rows = json.loads(ok(gc(repo, "log", "--group-by", "job_type", "-f", "json")))
    assert len(grouped_rows) == 2, grouped_rows
    rows = log_json(repo, "--where", 'script == "other.py"')
    assert [r["id"] for r in rows] == [c]
    # the Api and the DataFrame
    proc = run_python(
        repo,
        "-c",
        "import gitcfg\n"
        "api = gitcfg.Api()\n"
        f"r = api.run({b!r})\n"
        "print(r.project, r.entity, r.job_type)\n"
        "df = api.runs().to_dataframe()\n"
        "print(sorted(c for c in df.columns if c.split('.')[-1] in ('project', 'job_type', 'entity')))\n",
    )
    assert proc.returncode == 0, proc.stderr
    first, second = proc.stdout.splitlines()
    assert first == "y me eval"
    assert "project" in second and "job_type" in second and "entity" in second


# --- id= ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["a/b", "..", "x..y", "", "a" * 300])
def test_a_bad_id_is_a_clear_error_before_anything_is_written(
    repo: Path, driver: Path, bad: str
) -> None:
    proc = run_python(repo, "drive.py", json.dumps({"id": bad}))
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert "id" in last.lower(), proc.stderr
    assert not has_runs_branch(repo)


def test_a_chosen_id_is_the_run_id_and_must_be_unique(repo: Path, driver: Path) -> None:
    assert drive(repo, {"id": "exp-7"}) == "exp-7"
    assert branch_yaml(repo, "exp-7", "run.yaml")["id"] == "exp-7"
    before = commit_count(repo)
    proc = run_python(repo, "drive.py", json.dumps({"id": "exp-7"}))
    assert proc.returncode != 0
    assert "exp-7" in proc.stderr.strip().splitlines()[-1], proc.stderr
    assert commit_count(repo) == before
    ok(gc(repo, "show", "exp-7"))


# --- resume= --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [True, "allow", "must", "auto"])
def test_resume_continues_a_finished_run(repo: Path, driver: Path, mode) -> None:
    commit_script(
        repo,
        "again.py",
        """
        import json, sys
        import gitcfg
        run = gitcfg.track({"lr": 0.1}, id="exp-1", resume=json.loads(sys.argv[1]))
        print(run.resumed, run.step, run.status if hasattr(run, "status") else "")
        for i in range(run.step, run.step + 2):
            run.log({"loss": 10.0 + i})
        """,
    )
    drive(repo, {"id": "exp-1"}, steps=3)
    proc = run_python(repo, "again.py", json.dumps(mode))
    assert proc.returncode == 0, proc.stderr
    resumed, step = proc.stdout.split()[:2]
    assert resumed == "True" and step == "3"
    meta = branch_yaml(repo, "exp-1", "run.yaml")
    assert meta["status"] == "finished"
    rows = branch_rows(repo, "exp-1")
    assert [r["_step"] for r in rows] == [0, 1, 2, 3, 4]
    assert rows[-1]["loss"] == 14.0
    summary = branch_yaml(repo, "exp-1", "summary.yaml")
    assert summary["loss"] == 14.0 and summary["acc"] == pytest.approx(0.2)
    assert "resume" in git(repo, "log", "--format=%s", "gitcfg-runs").lower()


@pytest.mark.parametrize("status_script", ["failed", "killed"])
def test_resume_continues_a_failed_or_killed_run_and_status_goes_back_to_running(
    repo: Path, status_script: str
) -> None:
    commit_script(
        repo,
        "end.py",
        """
        import os, signal, sys
        import gitcfg
        run = gitcfg.track({"lr": 0.1}, id="r1", resume="allow")
        run.log({"x": run.step})
        if not run.resumed:
            if sys.argv[1] == "failed":
                raise RuntimeError("boom")
            os.kill(os.getpid(), signal.SIGTERM)
        """,
    )
    first = run_python(repo, "end.py", status_script)
    assert first.returncode != 0
    assert branch_yaml(repo, "r1", "run.yaml")["status"] == status_script
    proc = subprocess.Popen(  # resume and hold, to see `running` on the branch
        [
            sys.executable,
            "-c",
            "import gitcfg, sys\nrun = gitcfg.track({'lr': 0.1}, id='r1', resume='must')\n"
            "run.log({'x': run.step})\nprint(run.resumed, flush=True)\nsys.stdin.readline()\n",
        ],
        cwd=repo,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        assert proc.stdout.readline().strip() == "True"
        assert branch_yaml(repo, "r1", "run.yaml")["status"] == "running"
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert branch_yaml(repo, "r1", "run.yaml")["status"] == "finished"
    assert [r["x"] for r in branch_rows(repo, "r1")] == [0, 1]


def test_resume_must_without_a_run_and_never_with_one_are_errors_before_writing(
    repo: Path, driver: Path
) -> None:
    proc = run_python(repo, "drive.py", json.dumps({"id": "nope", "resume": "must"}))
    assert proc.returncode != 0 and "nope" in proc.stderr.strip().splitlines()[-1], proc.stderr
    assert not has_runs_branch(repo)
    drive(repo, {"id": "there"})
    before = commit_count(repo)
    proc = run_python(repo, "drive.py", json.dumps({"id": "there", "resume": "never"}))
    assert proc.returncode != 0 and "there" in proc.stderr.strip().splitlines()[-1], proc.stderr
    assert commit_count(repo) == before
    # "never" with no such run: a new run
    assert drive(repo, {"id": "fresh", "resume": "never"}) == "fresh"
    # "must" without id: an error
    proc = run_python(repo, "drive.py", json.dumps({"resume": "must"}))
    assert proc.returncode != 0


def _sigkill_script(repo: Path, kwargs: str) -> Path:
    return commit_script(
        repo,
        "preempt.py",
        f"""
        import sys
        import gitcfg
        run = gitcfg.track({{"lr": 0.1}}, {kwargs})
        print(run.id, run.resumed, run.step, flush=True)
        stop = int(sys.argv[1])
        for step in range(run.step, 10):
            run.log({{"loss": float(step)}})
            if step == stop:
                print("ready", flush=True)
                sys.stdin.readline()
        """,
    )


def _run_until_signal(repo: Path, stop: int, signum: int = signal.SIGKILL) -> str:
    proc = subprocess.Popen(
        [sys.executable, "preempt.py", str(stop)],
        cwd=repo,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        first = proc.stdout.readline().split()
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(signum)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    return first[0]


@pytest.mark.parametrize("kwargs", ['id="job-42", resume="allow"', "resume=True", 'resume="auto"'])
def test_resume_after_sigkill_continues_the_step_count_and_ends_finished_with_all_rows(
    repo: Path, kwargs: str
) -> None:
    _sigkill_script(repo, kwargs)
    first_id = _run_until_signal(repo, stop=4)
    proc = run_python(repo, "preempt.py", "-1")
    assert proc.returncode == 0, proc.stderr
    run_id, resumed, step = proc.stdout.split()[:3]
    assert run_id == first_id and resumed == "True" and step == "5"
    meta = branch_yaml(repo, run_id, "run.yaml")
    assert meta["status"] == "finished"
    assert [r["_step"] for r in branch_rows(repo, run_id)] == list(range(10))
    assert [r["loss"] for r in branch_rows(repo, run_id)] == [float(i) for i in range(10)]
    assert len(log_json(repo)) == 1


def test_resume_true_without_id_and_no_crashed_run_starts_a_new_run(
    repo: Path, driver: Path
) -> None:
    a = drive(repo, {"resume": True})
    b = drive(repo, {"resume": "auto"})
    assert a != b  # a finished run is not continued without id=
    assert len(log_json(repo)) == 2


# --- reinit= and dir= -----------------------------------------------------------------------------


def test_reinit(repo: Path) -> None:
    commit_script(
        repo,
        "re.py",
        """
        import gitcfg
        a = gitcfg.track({"lr": 0.1})
        same = gitcfg.track({"lr": 0.5}, reinit=False)
        prev = gitcfg.track({"lr": 0.7}, reinit="return_previous")
        print(same is a, prev is a)
        b = gitcfg.track({"lr": 0.2})
        print(a.id, b.id, b is not a)
        """,
    )
    proc = run_python(repo, "re.py")
    assert proc.returncode == 0, proc.stderr
    first, second = proc.stdout.splitlines()
    assert first == "True True"
    a, b, distinct = second.split()
    assert distinct == "True"
    assert branch_yaml(repo, a, "run.yaml")["status"] == "finished"
    assert branch_yaml(repo, a, "config.yaml") == {"lr": 0.1}
    assert branch_yaml(repo, b, "config.yaml") == {"lr": 0.2}


def test_dir_is_where_run_dir_lives_and_its_files_are_saved_at_finish(
    repo: Path, tmp_path: Path
) -> None:
    where = tmp_path / "scratch"
    where.mkdir()
    commit_script(
        repo,
        "d.py",
        f"""
        import os
        import gitcfg
        run = gitcfg.track({{"lr": 0.1}}, dir={str(where)!r})
        print(run.id)
        print(run.dir)
        with open(os.path.join(run.dir, "notes.txt"), "w") as f:
            f.write("hello from run.dir")
        """,
    )
    proc = run_python(repo, "d.py")
    assert proc.returncode == 0, proc.stderr
    run_id, run_dir = proc.stdout.splitlines()
    assert Path(run_dir).resolve().is_relative_to(where.resolve())
    listing = ok(gc(repo, "show", run_id, "--files"))
    assert "notes.txt" in listing
    assert ok(gc(repo, "show", run_id, "--file", "notes.txt")) == "hello from run.dir"


# --- save() ----------------------------------------------------------------------------------------


SAVER = """
import sys
import gitcfg
run = gitcfg.track({"lr": 0.1})
policy = sys.argv[1]
open("ckpt.txt", "w").write("v1")
gitcfg.save("ckpt.txt", policy=policy)
print(run.id, flush=True)
sys.stdin.readline()
open("ckpt.txt", "w").write("v2")
"""


@pytest.mark.parametrize("policy", ["now", "end", "live"])
def test_save_policies(repo: Path, policy: str) -> None:
    commit_script(repo, "saver.py", SAVER)
    proc = subprocess.Popen(
        [sys.executable, "saver.py", policy],
        cwd=repo,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    assert proc.stderr is not None
    try:
        run_id = proc.stdout.readline().strip()
        on_branch_now = "files/ckpt.txt" in branch_names(repo, run_id)
        if policy == "now":
            assert on_branch_now
            assert git(repo, "show", f"gitcfg-runs:{run_path(repo, run_id)}/files/ckpt.txt") == "v1"
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.wait(timeout=60) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "files/ckpt.txt" in branch_names(repo, run_id)  # at the latest at finish
    content = git(repo, "show", f"gitcfg-runs:{run_path(repo, run_id)}/files/ckpt.txt")
    if policy in ("end", "live"):
        assert content == "v2"
    assert "ckpt.txt" in ok(gc(repo, "show", run_id, "--files"))
    assert ok(gc(repo, "show", run_id, "--file", "ckpt.txt")) == content
    api = run_python(
        repo,
        "-c",
        f"import gitcfg; b = gitcfg.Api().run({run_id!r}).file('ckpt.txt'); print(type(b).__mro__[-2].__name__, bytes(b))",
    )
    assert api.returncode == 0, api.stderr
    assert api.stdout.strip() == f"bytes {content.encode()!r}"


def test_save_with_a_glob_and_base_path(repo: Path) -> None:
    commit_script(
        repo,
        "globsave.py",
        """
        import os
        import gitcfg
        run = gitcfg.track({"lr": 0.1})
        os.makedirs("out/ckpt", exist_ok=True)
        for n in (1, 2):
            open(f"out/ckpt/m{n}.pt", "w").write(str(n))
        gitcfg.save("out/ckpt/*.pt", base_path="out")
        print(run.id)
        """,
    )
    proc = run_python(repo, "globsave.py")
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.strip()
    names = branch_names(repo, run_id)
    assert "files/ckpt/m1.pt" in names and "files/ckpt/m2.pt" in names, names


def test_save_over_the_size_limit_warns_once_naming_the_file_and_the_run_finishes(
    repo: Path,
) -> None:
    git(repo, "config", "gitcfg.maxFileBytes", "1000")
    commit_script(
        repo,
        "big.py",
        """
        import gitcfg
        run = gitcfg.track({"lr": 0.1})
        open("small.bin", "wb").write(b"s" * 100)
        open("huge.bin", "wb").write(b"h" * 5000)
        open("huge2.bin", "wb").write(b"h" * 5000)
        gitcfg.save("small.bin", policy="now")
        gitcfg.save("huge.bin", policy="now")
        gitcfg.save("huge2.bin", policy="end")
        print(run.id)
        """,
    )
    proc = run_python(repo, "big.py")
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.strip()
    assert branch_yaml(repo, run_id, "run.yaml")["status"] == "finished"
    for name in ("huge.bin", "huge2.bin"):
        warnings = [
            line for line in proc.stderr.splitlines() if f"{name} " in line or line.endswith(name)
        ]
        assert len(warnings) == 1, proc.stderr
    names = branch_names(repo, run_id)
    assert (
        "files/small.bin" in names
        and "files/huge.bin" not in names
        and "files/huge2.bin" not in names
    )


def test_show_file_of_a_name_the_run_did_not_save_is_a_one_line_error(
    repo: Path, driver: Path
) -> None:
    run_id = drive(repo)
    one_line_error(gc(repo, "show", run_id, "--file", "nothing.txt"))


# --- watch -----------------------------------------------------------------------------------------


def test_watch_records_class_and_parameter_count_and_says_no_gradients_once(repo: Path) -> None:
    pytest.importorskip("torch", reason="torch is an optional extra, not in the test extra")
    commit_script(
        repo,
        "w.py",
        """
        import torch
        import gitcfg
        run = gitcfg.track({"lr": 0.1})
        model = torch.nn.Linear(3, 2)   # 3*2 + 2 = 8 parameters
        gitcfg.watch(model, log="all", log_freq=10)
        gitcfg.watch(model)
        gitcfg.unwatch()
        gitcfg.unwatch(model)
        print(run.id)
        """,
    )
    proc = run_python(repo, "w.py")
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.strip()
    meta = yaml.safe_dump(branch_yaml(repo, run_id, "run.yaml"))
    assert "Linear" in meta and re.search(r"\b8\b", meta), meta
    assert len([line for line in proc.stderr.splitlines() if "gradient" in line.lower()]) == 1, (
        proc.stderr
    )


# --- media ----------------------------------------------------------------------------------------


def test_image_and_table_are_files_under_the_run_with_references_in_the_rows(repo: Path) -> None:
    commit_script(
        repo,
        "m.py",
        """
        import numpy as np
        import pandas as pd
        from PIL import Image as PILImage
        import gitcfg
        run = gitcfg.track({"lr": 0.1})
        run.log({"img": gitcfg.Image(np.zeros((4, 5, 3), dtype=np.uint8)), "loss": 1.0})
        run.log({"img": gitcfg.Image(PILImage.new("RGB", (2, 2))),
                 "preds": gitcfg.Table(columns=["a", "b"], data=[[1, 2], [3, 4]])})
        run.log({"preds": gitcfg.Table(dataframe=pd.DataFrame({"a": [1], "b": [2]}))})
        run.log({"h": gitcfg.Histogram([1, 2, 3]), "w": gitcfg.Html("<b>x</b>")})
        run.log({"h": gitcfg.Histogram([1, 2, 3]), "a": gitcfg.Audio(np.zeros(10), sample_rate=8000)})
        run.log({"v": gitcfg.Video(np.zeros((1, 3, 2, 2))), "o": gitcfg.Object3D(np.zeros((3, 3)))})
        run.log({"p": gitcfg.plot.line(gitcfg.Table(columns=["x", "y"], data=[[1, 2]]), "x", "y")})
        print(run.id)
        """,
    )
    proc = run_python(repo, "m.py")
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.strip()
    assert branch_yaml(repo, run_id, "run.yaml")["status"] == "finished"
    names = branch_names(repo, run_id)
    assert "media/img/0.png" in names and "media/img/1.png" in names, names
    assert "media/preds/1.json" in names and "media/preds/2.json" in names, names
    png = subprocess.run(
        ["git", "show", f"gitcfg-runs:{run_path(repo, run_id)}/media/img/0.png"],
        cwd=repo,
        capture_output=True,
    ).stdout
    assert png.startswith(b"\x89PNG")
    rows = branch_rows(repo, run_id)
    assert rows[0]["img"]["_type"] == "image" and rows[0]["img"]["path"] == "media/img/0.png"
    assert rows[0]["loss"] == 1.0
    assert rows[1]["preds"]["path"] == "media/preds/1.json"
    table = json.loads(
        git(repo, "show", f"gitcfg-runs:{run_path(repo, run_id)}/media/preds/1.json")
    )
    assert table["columns"] == ["a", "b"] and table["data"] == [[1, 2], [3, 4]]
    # the others: skipped with one warning per key
    for key in ("h", "w", "a", "v", "o", "p"):
        warned = [line for line in proc.stderr.splitlines() if f"'{key}'" in line]
        assert len(warned) == 1, (key, proc.stderr)
    assert not any("h" in row for row in rows)
    shown = subprocess.run(
        [sys.executable, "-m", "gitcfg", "show", run_id, "--file", "media/img/0.png"],
        cwd=repo,
        capture_output=True,
    )
    assert shown.returncode == 0 and shown.stdout == png, shown.stderr


def test_image_from_a_path(repo: Path) -> None:
    commit_script(
        repo,
        "mp.py",
        """
        import numpy as np
        from PIL import Image as PILImage
        import gitcfg
        PILImage.new("RGB", (3, 3)).save("pic.png")
        run = gitcfg.track({"lr": 0.1})
        run.log({"pic": gitcfg.Image("pic.png")}, step=7)
        print(run.id)
        """,
    )
    proc = run_python(repo, "mp.py")
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.strip()
    assert "media/pic/7.png" in branch_names(repo, run_id)
    assert branch_rows(repo, run_id)[0]["pic"] == {
        **branch_rows(repo, run_id)[0]["pic"],
        "_type": "image",
        "path": "media/pic/7.png",
    }


def test_a_media_value_never_fails_the_run(repo: Path) -> None:
    commit_script(
        repo,
        "mbad.py",
        """
        import gitcfg
        run = gitcfg.track({"lr": 0.1})
        run.log({"img": gitcfg.Image("does-not-exist.png"), "loss": 0.5})
        print(run.id)
        """,
    )
    proc = run_python(repo, "mbad.py")
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.strip()
    assert branch_yaml(repo, run_id, "run.yaml")["status"] == "finished"
    assert branch_rows(repo, run_id)[0]["loss"] == 0.5


# --- define_metric --------------------------------------------------------------------------------


def test_define_metric_records_step_metric_and_goal(repo: Path) -> None:
    commit_script(
        repo,
        "dm.py",
        """
        import gitcfg
        run = gitcfg.track({"lr": 0.1})
        gitcfg.define_metric("epoch")
        gitcfg.define_metric("val_loss", step_metric="epoch", step_sync=True, hidden=False,
                             summary="min", goal="minimize", overwrite=True)
        run.define_metric("acc", goal="maximize", summary="best")
        for e, (v, a) in enumerate([(0.9, 0.5), (0.3, 0.8), (0.6, 0.7)]):
            run.log({"epoch": e, "val_loss": v, "acc": a})
        print(run.id)
        """,
    )
    proc = run_python(repo, "dm.py")
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.strip()
    text = yaml.safe_dump(branch_yaml(repo, run_id, "run.yaml"))
    assert "step_metric: epoch" in text and "goal: minimize" in text and "goal: maximize" in text, (
        text
    )
    summary = branch_yaml(repo, run_id, "summary.yaml")
    assert yaml.safe_dump(summary).count("0.3") >= 1 and "0.8" in yaml.safe_dump(summary), summary
    plot = ok(gc(repo, "plot", "val_loss", run_id))
    assert "epoch" in plot, plot  # the default x axis


# --- log() ----------------------------------------------------------------------------------------


def test_log_value_rules(repo: Path) -> None:
    commit_script(
        repo,
        "lv.py",
        """
        import numpy as np
        import gitcfg
        class Thing:
            pass
        run = gitcfg.track({"lr": 0.1})
        run.log({"a": np.float32(0.1), "arr": np.arange(3), "obj": Thing(), "n": np.int64(5)})
        run.log({"obj": Thing(), "b": 1}, commit=False)
        gitcfg.log()
        try:
            run.log({"c": 1}, step=1.5)
        except Exception as exc:
            print(type(exc).__name__, exc)
        print(run.id)
        """,
    )
    proc = run_python(repo, "lv.py")
    assert proc.returncode == 0, proc.stderr
    err_line, run_id = proc.stdout.strip().splitlines()
    assert "step" in err_line and "1.5" in err_line, err_line
    rows = branch_rows(repo, run_id)
    assert len(rows) == 2, rows  # log() with no data committed the open row
    assert rows[0]["a"] == 0.1 and rows[0]["arr"] == [0, 1, 2] and rows[0]["n"] == 5
    assert "obj" not in rows[0] and "obj" not in rows[1]
    assert rows[1]["b"] == 1
    text = git(repo, "show", f"gitcfg-runs:{run_path(repo, run_id)}/metrics.jsonl")
    assert "object at 0x" not in text and "0.10000000149" not in text
    assert len([line for line in proc.stderr.splitlines() if "obj" in line]) == 1, proc.stderr


# --- config values with one canonical text ---------------------------------------------------------


def test_config_canonical_text_of_device_and_dtypes(repo: Path) -> None:
    pytest.importorskip("torch", reason="torch is an optional extra, not in the test extra")
    commit_script(
        repo,
        "cv.py",
        """
        import pathlib
        import numpy as np
        import torch
        import gitcfg
        run = gitcfg.track({"lr": 0.1, "path": pathlib.PurePosixPath("a/b")})
        run.config.device = torch.device("cuda")
        run.config.dtype = torch.float16
        run.config.np_dtype = np.dtype("float32")
        try:
            run.config.thing = object()
        except Exception as exc:
            print("refused", type(exc).__name__)
        print(run.id)
        """,
    )
    proc = run_python(repo, "cv.py")
    assert proc.returncode == 0, proc.stderr
    refused, run_id = proc.stdout.strip().splitlines()
    assert refused.startswith("refused")
    config = branch_yaml(repo, run_id, "config.yaml")
    assert config["device"] == "cuda"
    assert config["dtype"] == "torch.float16"
    assert config["np_dtype"] == "float32"
    assert config["path"] == "a/b"
    assert "thing" not in config


# --- the Run's labels, url, path ------------------------------------------------------------------


def test_run_attributes_set_during_the_run_are_recorded(repo: Path) -> None:
    commit_script(
        repo,
        "attrs.py",
        """
        import gitcfg
        run = gitcfg.track({"lr": 0.1}, entity="ent", project="p0")
        run.name = "renamed"
        run.tags = ["t1"]
        run.notes = "late notes"
        run.group = "grp"
        run.project = "p1"
        run.job_type = "jt"
        print(run.url, run.path, run.entity)
        print(run.id)
        """,
    )
    proc = run_python(repo, "attrs.py")
    assert proc.returncode == 0, proc.stderr
    first, run_id = proc.stdout.strip().splitlines()
    url, path, entity = first.split()
    assert url == "None" and entity == "ent" and path.endswith(run_id)
    meta = branch_yaml(repo, run_id, "run.yaml")
    assert (
        meta["name"] == "renamed" and list(meta["tags"]) == ["t1"] and meta["notes"] == "late notes"
    )
    assert meta["group"] == "grp" and meta["project"] == "p1" and meta["job_type"] == "jt"


def test_dir_of_gitcfg_and_hasattr_summary(repo: Path) -> None:
    proc = run_python(
        repo,
        "-c",
        "import gitcfg\nnames = dir(gitcfg)\n"
        "print(all(n in names for n in ['track', 'log', 'config', 'Api', 'save', 'watch', 'unwatch',"
        " 'Image', 'Table', 'Histogram', 'Html', 'Audio', 'Video', 'Object3D', 'plot', 'define_metric',"
        " 'init', 'finish']))\n"
        "print(hasattr(gitcfg, 'summary'))\n",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "False"]


# --- the line at a run's end ----------------------------------------------------------------------


def test_the_end_of_run_line_and_how_to_silence_it(repo: Path, driver: Path) -> None:
    proc = run_python(
        repo, "drive.py", json.dumps({"name": "misty-canyon"}), env={"GITCFG_SILENT": ""}
    )
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.strip()
    line = proc.stderr.strip().splitlines()[-1]
    match = re.fullmatch(
        r'gitcfg: run (\w+)… "misty-canyon" finished in (\S+) · gitcfg show (\w+)', line
    )
    assert match, line
    assert run_id.startswith(match.group(1)) and run_id.startswith(match.group(3))
    assert re.fullmatch(r"(\d+m)?\d+s|\d+(\.\d+)?s|\d+ms", match.group(2)), line
    ok(gc(repo, "show", match.group(3)))
    env = {k: v for k, v in os.environ.items() if k != "GITCFG_SILENT"}
    silent = subprocess.run(
        [sys.executable, "drive.py", "{}"],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**env, "GITCFG_SILENT": "1"},
    )
    assert silent.returncode == 0 and "finished in" not in silent.stderr
    quiet = subprocess.run(
        [sys.executable, "drive.py", json.dumps({"quiet": True})],
        cwd=repo,
        capture_output=True,
        text=True,
        env=env,
    )
    assert quiet.returncode == 0, quiet.stderr
    assert "finished in" not in quiet.stderr


def test_python_i_an_exception_at_the_prompt_does_not_end_the_run(repo: Path) -> None:
    lines = [
        "import gitcfg",
        "run = gitcfg.track({'lr': 0.1})",
        "run.log({'x': 1})",
        "1 / 0",
        "run.log({'x': 2})",
        "print('ID', run.id)",
    ]
    proc = subprocess.run(
        [sys.executable, "-i"],
        input="\n".join(lines) + "\n",
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "ZeroDivisionError" in proc.stderr
    found = re.search(r"ID (\S+)", proc.stdout)
    assert found, proc.stdout
    run_id = found.group(1)
    assert branch_yaml(repo, run_id, "run.yaml")["status"] == "finished"
    assert [r["x"] for r in branch_rows(repo, run_id)] == [1, 2]


# --- the running run is visible -------------------------------------------------------------------

HOLD = """
import sys
import gitcfg
run = gitcfg.track({"lr": 0.1})
for i in range(3):
    run.log({"loss": 1.0 / (i + 1)})
print(run.id, flush=True)
sys.stdin.readline()
run.log({"loss": 0.125})
print("more", flush=True)
sys.stdin.readline()
"""


def test_a_running_runs_metrics_and_summary_are_visible_through_cli_and_api(repo: Path) -> None:
    commit_script(repo, "hold.py", HOLD)
    proc = subprocess.Popen(
        [sys.executable, "hold.py"],
        cwd=repo,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        run_id = proc.stdout.readline().strip()
        metrics = ok(gc(repo, "show", run_id, "--metrics"))
        assert "0.5" in metrics and "0.333" in metrics, metrics
        summary = ok(gc(repo, "show", run_id, "--summary"))
        assert "0.333" in summary, summary
        assert "loss" in ok(gc(repo, "log")), "the log shows the running run's metric"
        assert ok(gc(repo, "plot", "loss", run_id)).strip()
        api = run_python(
            repo,
            "-c",
            f"import gitcfg\nr = gitcfg.Api().run({run_id!r})\nprint(r.summary['loss'])\n"
            "print(len(list(r.metrics())))\n"
            "print([x.summary.get('loss') for x in gitcfg.Api().runs()])\n",
        )
        assert api.returncode == 0, api.stderr
        s, n, listed = api.stdout.strip().splitlines()
        assert float(s) == pytest.approx(1 / 3) and n == "3"
        assert "0.333" in listed
        where = log_json(repo, "--where", "loss < 0.4")
        assert [r["id"] for r in where] == [run_id]
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "more"
        api = run_python(
            repo, "-c", f"import gitcfg\nprint(gitcfg.Api().run({run_id!r}).summary['loss'])"
        )
        assert float(api.stdout) == 0.125
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_show_metrics_follow_prints_rows_as_logged_until_the_run_ends(repo: Path) -> None:
    commit_script(repo, "hold.py", HOLD)
    proc = subprocess.Popen(
        [sys.executable, "hold.py"],
        cwd=repo,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    follow = None
    try:
        run_id = proc.stdout.readline().strip()
        follow = subprocess.Popen(
            [sys.executable, "-m", "gitcfg", "show", run_id, "--metrics", "--follow"],
            cwd=repo,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert follow.stdout is not None
        seen = [json.loads(follow.stdout.readline()) for _ in range(3)]
        assert [r["loss"] for r in seen] == [1.0, 0.5, pytest.approx(1 / 3)]
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "more"
        fourth = json.loads(follow.stdout.readline())
        assert fourth["loss"] == 0.125  # printed while the run is still running
        assert follow.poll() is None
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.wait(timeout=60) == 0
        assert follow.wait(timeout=60) == 0
        assert follow.stdout.read().strip() == ""
    finally:
        for p in (proc, follow):
            if p is not None and p.poll() is None:
                p.kill()


def test_config_persist_is_on_the_branch_at_once(repo: Path) -> None:
    commit_script(
        repo,
        "persist.py",
        """
        import sys
        import gitcfg
        run = gitcfg.track({"lr": 0.1})
        run.config.extra = 42
        run.config.persist()
        print(run.id, flush=True)
        sys.stdin.readline()
        """,
    )
    proc = subprocess.Popen(
        [sys.executable, "persist.py"],
        cwd=repo,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        run_id = proc.stdout.readline().strip()
        assert branch_yaml(repo, run_id, "config.yaml") == {"lr": 0.1, "extra": 42}
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


# --- amending through the public Api --------------------------------------------------------------


def test_api_amend_is_one_amend_commit_with_history_and_as_recorded(
    repo: Path, driver: Path
) -> None:
    run_id = drive(repo, {"config": {"lr": 0.1, "opt": {"beta": 0.9}, "drop": 0.5}, "tags": ["x"]})
    before = commit_count(repo)
    proc = run_python(
        repo,
        "-c",
        "import gitcfg\n"
        f"api = gitcfg.Api(); run = api.run({'ent/proj/' + run_id[:8]!r})\n"
        "run.config['foo'] = 32\n"
        "run.config['opt']['beta'] = 0.99\n"
        "run.config['opt.eps'] = 1e-8\n"
        "del run.config['drop']\n"
        "run.summary['test_acc'] = 0.91\n"
        "run.tags.append('best')\n"
        "run.name = 'renamed'\n"
        "run.notes = 'good one'\n"
        "run.update(reason='picked for the paper')\n",
    )
    assert proc.returncode == 0, proc.stderr
    assert commit_count(repo) == before + 1
    assert git(repo, "log", "-1", "--format=%s", "gitcfg-runs").startswith("amend")
    config = branch_yaml(repo, run_id, "config.yaml")
    assert config == {"lr": 0.1, "opt": {"beta": 0.99, "eps": 1e-8}, "foo": 32}
    assert branch_yaml(repo, run_id, "summary.yaml")["test_acc"] == 0.91
    meta = branch_yaml(repo, run_id, "run.yaml")
    assert (
        list(meta["tags"]) == ["x", "best"]
        and meta["name"] == "renamed"
        and meta["notes"] == "good one"
    )
    history = ok(gc(repo, "history", run_id))
    assert "picked for the paper" in history
    recorded = ok(gc(repo, "show", run_id, "--as-recorded", "--config"))
    assert yaml.safe_load(recorded) == {"lr": 0.1, "opt": {"beta": 0.9}, "drop": 0.5}


def test_api_amend_from_runs_and_reason_none(repo: Path, driver: Path) -> None:
    run_id = drive(repo)
    before = commit_count(repo)
    proc = run_python(
        repo,
        "-c",
        "import gitcfg\n"
        "for run in gitcfg.Api().runs():\n"
        "    run.config['lr'] = 0.5\n"
        "    run.update(reason=None)\n",
    )
    assert proc.returncode == 0, proc.stderr
    assert commit_count(repo) == before + 1
    assert branch_yaml(repo, run_id, "config.yaml") == {"lr": 0.5}


def test_api_amend_of_a_running_run_is_refused(repo: Path) -> None:
    commit_script(repo, "hold.py", HOLD)
    proc = subprocess.Popen(
        [sys.executable, "hold.py"],
        cwd=repo,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        run_id = proc.stdout.readline().strip()
        before = commit_count(repo)
        amend = run_python(
            repo,
            "-c",
            f"import gitcfg\nr = gitcfg.Api().run({run_id!r})\nr.config['lr'] = 1.0\n"
            "try:\n    r.update()\nexcept gitcfg.GitcfgError as exc:\n    print('refused', exc)\n",
        )
        assert amend.stdout.startswith("refused"), amend.stdout + amend.stderr
        assert commit_count(repo) == before
        one_line_error(gc(repo, "amend", run_id, "--set", "lr=1.0"))
        for _ in range(2):
            proc.stdin.write("\n")
            proc.stdin.flush()
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


# --- rm, restore, show --at, amend/rm of several -------------------------------------------------


def test_rm_several_in_one_commit_restore_and_their_errors(repo: Path, driver: Path) -> None:
    a, b, c = (drive(repo, {"config": {"lr": lr}}) for lr in (0.1, 0.2, 0.3))
    before = commit_count(repo)
    ok(gc(repo, "rm", a, b, "-m", "bad seeds"))
    assert commit_count(repo) == before + 1
    assert {r["id"] for r in log_json(repo)} == {c}
    one_line_error(gc(repo, "rm", a, "-m", "again"))
    one_line_error(gc(repo, "restore", c))
    ok(gc(repo, "restore", a))
    assert commit_count(repo) == before + 2
    assert {r["id"] for r in log_json(repo)} == {a, c}
    assert branch_yaml(repo, a, "config.yaml") == {"lr": 0.1}
    history = ok(gc(repo, "history", a))
    assert "bad seeds" in history and "restore" in history.lower()


def test_show_at_a_revision(repo: Path, driver: Path) -> None:
    run_id = drive(repo, {"config": {"lr": 0.1}})
    rev = git(repo, "rev-parse", "gitcfg-runs")
    ok(gc(repo, "amend", run_id, "--set", "lr=0.2", "-m", "fix"))
    assert yaml.safe_load(ok(gc(repo, "show", run_id, "--config"))) == {"lr": 0.2}
    assert yaml.safe_load(ok(gc(repo, "show", run_id, "--at", rev, "--config"))) == {"lr": 0.1}
    assert yaml.safe_load(ok(gc(repo, "show", run_id, "--at", "gitcfg-runs~1", "--config"))) == {
        "lr": 0.1
    }
    one_line_error(gc(repo, "show", run_id, "--at", "no-such-rev"))


def test_amend_and_rm_several_or_where_with_dry_run(repo: Path, driver: Path) -> None:
    a, b, c = (drive(repo, {"config": {"lr": lr}}) for lr in (0.1, 0.2, 0.3))
    before = commit_count(repo)
    ok(gc(repo, "amend", a, b, "--set", "seed=1", "-m", "two"))
    assert commit_count(repo) == before + 1
    assert (
        branch_yaml(repo, a, "config.yaml")["seed"] == 1
        and branch_yaml(repo, b, "config.yaml")["seed"] == 1
    )
    dry = ok(gc(repo, "amend", "--where", "lr >= 0.2", "--set", "tag=hi", "--dry-run"))
    assert b in dry and c in dry and a not in dry, dry
    assert commit_count(repo) == before + 1
    ok(gc(repo, "amend", "--where", "lr >= 0.2", "--set", "tag=hi", "-m", "where"))
    assert commit_count(repo) == before + 2
    assert "tag" not in branch_yaml(repo, a, "config.yaml")
    assert branch_yaml(repo, c, "config.yaml")["tag"] == "hi"
    dry = ok(gc(repo, "rm", "--where", "lr < 0.25", "--dry-run", "-m", "x"))
    assert a in dry and b in dry and c not in dry, dry
    assert commit_count(repo) == before + 2
    ok(gc(repo, "rm", "--where", "lr < 0.25", "-m", "x"))
    assert commit_count(repo) == before + 3
    assert {r["id"] for r in log_json(repo)} == {c}


@pytest.mark.parametrize("arg", [".x=1", "a..b=1", "a.=1"])
def test_an_empty_dotted_part_in_set_is_an_error_quoting_the_argument(
    repo: Path, driver: Path, arg: str
) -> None:
    run_id = drive(repo)
    before = commit_count(repo)
    line = one_line_error(gc(repo, "amend", run_id, "--set", arg))
    assert arg in line, line
    assert commit_count(repo) == before


def test_a_merge_states_per_key_both_values_and_which_won(
    repo: Path, driver: Path, tmp_path: Path
) -> None:
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    git(repo, "push", "-q", "origin", "main")
    run_id = drive(repo, {"config": {"lr": 0.1, "seed": 3}})
    ok(gc(repo, "push"))
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(bare), str(other))
    ok(gc(other, "pull"))
    ok(gc(other, "amend", run_id, "--set", "lr=0.2", "-m", "theirs"))
    ok(gc(other, "push"))
    ok(gc(repo, "amend", run_id, "--set", "lr=0.3", "-m", "ours"))
    ok(gc(repo, "pull"))
    message = git(repo, "log", "-1", "--format=%B", "gitcfg-runs")
    assert run_id in message and "lr" in message, message
    assert "0.2" in message and "0.3" in message, message
    assert re.search(r"won|wins|kept|keep", message), message


# --- reproduce: packages, diff --env, checkout, rerun ---------------------------------------------


def test_packages_python_platform_recorded_identical_lists_share_one_blob(
    repo: Path, driver: Path
) -> None:
    a = drive(repo)
    b = drive(repo)
    meta = branch_yaml(repo, a, "run.yaml")
    assert meta["python"].startswith(f"{sys.version_info.major}.{sys.version_info.minor}")
    assert meta["platform"]
    blob_a = git(repo, "rev-parse", f"gitcfg-runs:{run_path(repo, a)}/requirements.txt")
    blob_b = git(repo, "rev-parse", f"gitcfg-runs:{run_path(repo, b)}/requirements.txt")
    assert blob_a == blob_b
    text = git(repo, "show", blob_a)
    assert re.search(r"(?im)^pyyaml==\S+$", text), text[:500]
    listed = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+==\S+", line) for line in listed), text


def test_diff_env_shows_package_differences_and_checkout_writes_the_list(
    repo: Path, driver: Path, tmp_path: Path
) -> None:
    a = drive(repo)
    extra = tmp_path / "site"
    info = extra / "fakepkg_for_gitcfg-1.2.3.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: fakepkg-for-gitcfg\nVersion: 1.2.3\n"
    )
    b = drive(repo, env={"PYTHONPATH": f"{os.environ['PYTHONPATH']}{os.pathsep}{extra}"})
    diff = ok(gc(repo, "diff", a, b, "--env"))
    assert "fakepkg" in diff.lower() and "1.2.3" in diff, diff
    target = tmp_path / "co"
    out = gc(repo, "checkout", b, str(target))
    assert out.returncode == 0, out.stdout + out.stderr
    written = [p for p in target.rglob("requirements.txt") if ".git" not in p.parts]
    assert len(written) == 1, list(target.rglob("*"))
    assert (written[0].parent / "config.yaml").is_file()  # beside the config
    assert "fakepkg-for-gitcfg==1.2.3" in written[0].read_text()
    assert "pip install -r" in out.stdout + out.stderr


def test_rerun_records_a_new_run_linked_to_the_original_and_exits_with_the_scripts_code(
    repo: Path,
) -> None:
    commit_script(
        repo,
        "exits.py",
        """
        import sys
        import gitcfg
        run = gitcfg.track({"lr": 0.1})
        run.log({"loss": 1.0})
        print("ARGS", sys.argv[1:])
        sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
        """,
    )
    proc = run_python(repo, "exits.py")
    assert proc.returncode == 0, proc.stderr
    original = log_json(repo)[0]["id"]
    rerun = gc(repo, "rerun", original, "--", "3")
    assert rerun.returncode == 3, rerun.stdout + rerun.stderr
    assert "ARGS ['3']" in rerun.stdout
    runs = log_json(repo)
    new = [r["id"] for r in runs if r["id"] != original]
    assert len(new) == 1
    meta = branch_yaml(repo, new[0], "run.yaml")
    assert meta["rerun_of"] == original and meta["status"] == "failed" and meta["exit_code"] == 3
    ok(gc(repo, "diff", original, new[0]))
    again = gc(repo, "rerun", original, "--dir", str(repo.parent / "second"))
    assert again.returncode == 0, again.stdout + again.stderr


# --- the first hour -------------------------------------------------------------------------------


def test_help_lists_log_show_diff_plot_first_with_one_line_summaries(repo: Path) -> None:
    text = ok(gc(repo, "--help"))
    commands = text.split("Commands:", 1)[1]
    names = [
        line.split()[0]
        for line in commands.splitlines()
        if line.strip() and not line.startswith("╰")
    ]
    names = [n.strip("│ ") for n in names if n.strip("│ ")]
    assert names[:4] == ["log", "show", "diff", "plot"], names
    for name in ("amend", "rm", "restore", "rerun", "checkout", "history"):
        assert name in names


def test_where_with_a_misspelled_key_warns_naming_the_nearest_and_prints_the_empty_result(
    repo: Path, driver: Path
) -> None:
    drive(repo, {"config": {"learning_rate": 0.1}})
    proc = gc(repo, "log", "--where", "learning_rat < 1")
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(warnings) == 1 and "learning_rate" in warnings[0], proc.stderr
    as_json = gc(repo, "log", "--where", "learning_rat < 1", "-f", "json")
    assert json.loads(as_json.stdout) == []


def test_demo_best_val_acc_is_not_the_last_val_acc_everywhere(tmp_path: Path) -> None:
    out = gc(tmp_path, "demo", str(tmp_path / "demo"), timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    rows = log_json(tmp_path / "demo")
    assert len(rows) >= 12
    pairs = [(flat_get(r, "best_val_acc"), flat_get(r, "val_acc")) for r in rows]
    assert any(best != last for best, last in pairs), pairs
    assert all(best >= last for best, last in pairs), pairs


def test_plot_without_colour_has_distinct_markers(repo: Path, driver: Path) -> None:
    a = drive(repo, {"config": {"lr": 0.1}}, steps=6)
    b = drive(repo, {"config": {"lr": 0.2}}, steps=6)
    text = ok(gc(repo, "plot", "loss", a, b, env={"NO_COLOR": "1", "TERM": "dumb"}))
    assert "\x1b[" not in text
    legend = [line for line in text.splitlines() if a[:6] in line or b[:6] in line]
    assert len(legend) >= 2, text
    markers = set()
    for line in legend:
        marker = line.strip().split()[0]
        markers.add(marker)
    assert len(markers) == 2, legend


def test_a_failed_runs_traceback_prints_as_a_traceback_in_show(repo: Path) -> None:
    commit_script(
        repo,
        "fail.py",
        """
        import gitcfg
        run = gitcfg.track({"lr": 0.1})
        def inner():
            raise ValueError("bad value here")
        inner()
        """,
    )
    proc = run_python(repo, "fail.py")
    assert proc.returncode == 1
    run_id = log_json(repo)[0]["id"]
    text = ok(gc(repo, "show", run_id))
    assert "Traceback (most recent call last):" in text
    assert re.search(r'^\s*File ".*fail\.py", line \d+, in inner$', text, re.M), text
    assert "\\n" not in text.split("Traceback", 1)[1], text


def test_grouped_headers_use_the_width_there_is(repo: Path, driver: Path) -> None:
    commit_script(repo, "long.py", DRIVER.replace('"acc"', '"validation_accuracy_top1"'))
    for lr in (0.1, 0.2):
        for seed in (1, 2):
            drive(repo, {"config": {"lr": lr, "seed": seed}}, script="long.py")
    text = ok(gc(repo, "log", "--group-by", "lr", env={"COLUMNS": "200"}))
    assert "validation_accuracy_top1" in text, text


# --- more edges of the same statements ------------------------------------------------------------


def test_end_and_live_saves_and_media_of_a_sigkilled_run_are_committed_with_it(repo: Path) -> None:
    commit_script(
        repo,
        "crash.py",
        """
        import os, signal
        import numpy as np
        import gitcfg
        run = gitcfg.track({"lr": 0.1})
        open("a.txt", "w").write("end file")
        open("b.txt", "w").write("live file")
        gitcfg.save("a.txt", policy="end")
        gitcfg.save("b.txt", policy="live")
        run.log({"img": gitcfg.Image(np.zeros((2, 2), dtype=np.uint8)), "loss": 1.0})
        print(run.id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """,
    )
    proc = run_python(repo, "crash.py")
    assert proc.returncode == -signal.SIGKILL
    run_id = proc.stdout.strip()
    ok(gc(repo, "log"))  # any command records the crashed run from its journal
    assert branch_yaml(repo, run_id, "run.yaml")["status"] == "crashed"
    names = branch_names(repo, run_id)
    assert {"files/a.txt", "files/b.txt", "media/img/0.png"} <= set(names), names
    assert branch_rows(repo, run_id)[0]["img"]["path"] == "media/img/0.png"


def test_run_dir_by_default_is_saved_at_finish(repo: Path) -> None:
    commit_script(
        repo,
        "rd.py",
        """
        import os
        import gitcfg
        run = gitcfg.track({"lr": 0.1})
        os.makedirs(os.path.join(run.dir, "sub"), exist_ok=True)
        open(os.path.join(run.dir, "sub", "out.json"), "w").write('{"k": 1}')
        print(run.id)
        """,
    )
    proc = run_python(repo, "rd.py")
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.strip()
    assert "files/sub/out.json" in branch_names(repo, run_id)
    assert "sub/out.json" in ok(gc(repo, "show", run_id, "--files"))
    assert json.loads(ok(gc(repo, "show", run_id, "--file", "sub/out.json"))) == {"k": 1}
    assert git(repo, "status", "--porcelain") == ""  # nothing left in the worktree


def test_watch_of_any_object_with_parameters(repo: Path) -> None:
    commit_script(
        repo,
        "w2.py",
        """
        import numpy as np
        import gitcfg
        class Param:
            def __init__(self, n):
                self.n = n
            def numel(self):
                return self.n
        class Net:
            def parameters(self):
                return iter([Param(10), Param(5)])
        run = gitcfg.track({"lr": 0.1})
        gitcfg.watch(Net())
        gitcfg.watch([Net()])   # wandb takes a model or a list of models
        gitcfg.watch(object())  # no .parameters(): accepted, nothing recorded, the run goes on
        print(run.id)
        """,
    )
    proc = run_python(repo, "w2.py")
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.strip()
    meta = yaml.safe_dump(branch_yaml(repo, run_id, "run.yaml"))
    assert "Net" in meta and "15" in meta, meta


def test_an_array_over_the_limit_is_dropped_with_one_warning(repo: Path) -> None:
    commit_script(
        repo,
        "bigarr.py",
        """
        import numpy as np
        import gitcfg
        run = gitcfg.track({"lr": 0.1})
        for i in range(3):
            run.log({"weights": np.zeros(100_000), "loss": float(i)})
        print(run.id)
        """,
    )
    proc = run_python(repo, "bigarr.py")
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.strip()
    rows = branch_rows(repo, run_id)
    assert [r["loss"] for r in rows] == [0.0, 1.0, 2.0] and not any("weights" in r for r in rows)
    assert len([line for line in proc.stderr.splitlines() if "weights" in line]) == 1, proc.stderr


@pytest.mark.parametrize("step", ["'3'", "1.5", "None if False else 2.0"])
def test_a_non_integer_step_is_an_error_naming_it(repo: Path, step: str) -> None:
    commit_script(
        repo,
        "st.py",
        f"""
        import gitcfg
        run = gitcfg.track({{"lr": 0.1}})
        try:
            run.log({{"a": 1}}, step={step})
        except Exception as exc:
            print(type(exc).__name__, "|", exc)
        run.log({{"a": 2}}, step=__import__("numpy").int64(4))
        print(run.id)
        """,
    )
    proc = run_python(repo, "st.py")
    assert proc.returncode == 0, proc.stderr
    err, run_id = proc.stdout.strip().splitlines()
    assert "step" in err and str(eval(step)) in err, err
    assert [(r["_step"], r["a"]) for r in branch_rows(repo, run_id)] == [(4, 2)]


def test_table_from_columns_and_rows_or_a_dataframe_as_data(repo: Path) -> None:
    commit_script(
        repo,
        "tb.py",
        """
        import pandas as pd
        import gitcfg
        run = gitcfg.track({"lr": 0.1})
        run.log({"t": gitcfg.Table(columns=["x", "y"], rows=[[1, "a"], [2, "b"]])})
        run.log({"t": gitcfg.Table(data=pd.DataFrame({"x": [3], "y": ["c"]}))})
        print(run.id)
        """,
    )
    proc = run_python(repo, "tb.py")
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.strip()
    base = run_path(repo, run_id)
    first = json.loads(git(repo, "show", f"gitcfg-runs:{base}/media/t/0.json"))
    second = json.loads(git(repo, "show", f"gitcfg-runs:{base}/media/t/1.json"))
    assert (first["columns"], first["data"]) == (["x", "y"], [[1, "a"], [2, "b"]])
    assert (second["columns"], second["data"]) == (["x", "y"], [[3, "c"]])
    rows = branch_rows(repo, run_id)
    assert rows[0]["t"]["_type"] == "table" and rows[0]["t"]["path"] == "media/t/0.json"


def test_an_image_of_an_array_needs_no_pillow(repo: Path) -> None:
    commit_script(
        repo,
        "np_img.py",
        """
        import sys
        import numpy as np
        import gitcfg
        run = gitcfg.track({"lr": 0.1})
        run.log({"img": gitcfg.Image(np.random.rand(3, 4, 4))})
        print(run.id)
        print("PIL" in sys.modules)
        """,
    )
    proc = run_python(repo, "np_img.py")
    assert proc.returncode == 0, proc.stderr
    run_id, pil = proc.stdout.strip().splitlines()
    assert "media/img/0.png" in branch_names(repo, run_id)
    row = branch_rows(repo, run_id)[0]["img"]
    assert row["_type"] == "image" and row["path"] == "media/img/0.png"
    assert pil == "False"


def test_mode_disabled_records_nothing_and_config_keys_filters(repo: Path, driver: Path) -> None:
    drive(repo, {"mode": "disabled"})
    assert not has_runs_branch(repo)
    run_id = drive(repo, {"config": {"a": 1, "b": 2, "c": 3}, "config_exclude_keys": ["b"]})
    assert branch_yaml(repo, run_id, "config.yaml") == {"a": 1, "c": 3}
    run_id = drive(repo, {"config": {"a": 1, "b": 2, "c": 3}, "config_include_keys": ["a"]})
    assert branch_yaml(repo, run_id, "config.yaml") == {"a": 1}


def test_reinit_true_finishes_the_previous_run_without_a_warning_default_warns(repo: Path) -> None:
    commit_script(
        repo,
        "re2.py",
        """
        import sys
        import gitcfg
        a = gitcfg.track({"lr": 0.1})
        print("--mark--", file=sys.stderr, flush=True)
        b = gitcfg.track({"lr": 0.2}, reinit=True)
        print("--mark2--", file=sys.stderr, flush=True)
        c = gitcfg.track({"lr": 0.3})
        print(a.id, b.id, c.id)
        """,
    )
    proc = run_python(repo, "re2.py")
    assert proc.returncode == 0, proc.stderr
    between = proc.stderr.split("--mark--")[1].split("--mark2--")
    assert "warning" not in between[0], proc.stderr
    assert "warning" in between[1], proc.stderr
    ids = proc.stdout.split()
    assert [branch_yaml(repo, i, "run.yaml")["status"] for i in ids] == ["finished"] * 3


def test_resume_of_a_run_still_running_is_an_error(repo: Path, driver: Path) -> None:
    commit_script(
        repo,
        "holdid.py",
        """
        import sys
        import gitcfg
        run = gitcfg.track({"lr": 0.1}, id="live-1")
        print(run.id, flush=True)
        sys.stdin.readline()
        """,
    )
    proc = subprocess.Popen(
        [sys.executable, "holdid.py"],
        cwd=repo,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        assert proc.stdout.readline().strip() == "live-1"
        before = commit_count(repo)
        second = run_python(repo, "drive.py", json.dumps({"id": "live-1", "resume": "allow"}))
        assert second.returncode != 0 and "live-1" in second.stderr.strip().splitlines()[-1], (
            second.stderr
        )
        assert commit_count(repo) == before
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert branch_yaml(repo, "live-1", "run.yaml")["status"] == "finished"


def test_resume_auto_without_id_only_continues_the_same_scripts_crashed_run(repo: Path) -> None:
    commit_script(
        repo,
        "other_crash.py",
        """
        import os, signal
        import gitcfg
        run = gitcfg.track({"lr": 0.1})
        run.log({"x": 1})
        print(run.id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """,
    )
    crashed = run_python(repo, "other_crash.py").stdout.strip()
    commit_script(repo, "auto.py", DRIVER)
    new = drive(repo, {"resume": "auto"}, script="auto.py")
    assert new != crashed
    assert branch_yaml(repo, crashed, "run.yaml")["status"] == "crashed"


def test_rm_with_an_unknown_run_removes_nothing(repo: Path, driver: Path) -> None:
    a = drive(repo)
    before = commit_count(repo)
    one_line_error(gc(repo, "rm", a, "zzzzzzzz", "-m", "x"))
    assert commit_count(repo) == before
    one_line_error(gc(repo, "restore", "zzzzzzzz"))
    one_line_error(gc(repo, "amend", a, "zzzzzzzz", "--set", "lr=1"))
    assert commit_count(repo) == before


def test_show_files_of_a_run_without_files_and_api_file_missing(repo: Path, driver: Path) -> None:
    run_id = drive(repo)
    proc = gc(repo, "show", run_id, "--files")
    assert proc.returncode == 0 and proc.stdout.strip() == "", proc.stdout + proc.stderr
    api = run_python(
        repo,
        "-c",
        f"import gitcfg\ntry:\n    gitcfg.Api().run({run_id!r}).file('nope.txt')\n"
        "except Exception as exc:\n    print(type(exc).__name__, exc)\n",
    )
    assert api.returncode == 0 and "nope.txt" in api.stdout, api.stdout + api.stderr


def test_rerun_of_a_run_without_a_command_is_a_one_line_error(repo: Path) -> None:
    proc = run_python(repo, "-c", "import gitcfg\nrun = gitcfg.track({'lr': 0.1})\nprint(run.id)")
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.strip()
    before = commit_count(repo)
    one_line_error(gc(repo, "rerun", run_id))
    assert commit_count(repo) == before
    assert not (repo.parent / f"{repo.name}-{run_id[:8]}").exists()


def test_hasattr_summary_true_during_a_run(repo: Path) -> None:
    proc = run_python(
        repo,
        "-c",
        "import gitcfg\nrun = gitcfg.track({'lr': 0.1})\ngitcfg.summary['best'] = 1\n"
        "print(hasattr(gitcfg, 'summary'))\nprint(run.id)\n",
    )
    assert proc.returncode == 0, proc.stderr
    flag, run_id = proc.stdout.split()
    assert flag == "True"
    assert branch_yaml(repo, run_id, "summary.yaml")["best"] == 1


def test_log_shows_project_column_only_when_it_varies(repo: Path, driver: Path) -> None:
    drive(repo, {"project": "same", "config": {"lr": 0.1}})
    drive(repo, {"project": "same", "config": {"lr": 0.2}})
    header = ok(gc(repo, "log")).splitlines()[0]
    assert "project" not in header
    drive(repo, {"project": "other", "config": {"lr": 0.3}})
    assert "project" in ok(gc(repo, "log")).splitlines()[0]


def test_diff_env_of_the_same_environment_says_so(repo: Path, driver: Path) -> None:
    a, b = drive(repo), drive(repo)
    out = ok(gc(repo, "diff", a, b, "--env"))
    assert "identical" in out.lower() or "no difference" in out.lower() or "same" in out.lower(), (
        out
    )


def test_resume_auto_without_id_continues_a_killed_run_of_the_same_script(repo: Path) -> None:
    _sigkill_script(repo, 'resume="auto"')
    first_id = _run_until_signal(repo, stop=2, signum=signal.SIGTERM)
    assert branch_yaml(repo, first_id, "run.yaml")["status"] == "killed"
    proc = run_python(repo, "preempt.py", "-1")
    assert proc.returncode == 0, proc.stderr
    run_id, resumed, step = proc.stdout.split()[:3]
    assert (run_id, resumed, step) == (first_id, "True", "3")
    assert [r["_step"] for r in branch_rows(repo, run_id)] == list(range(10))
    assert branch_yaml(repo, run_id, "run.yaml")["status"] == "finished"


def test_a_job_killed_twice_and_requeued_continues_one_run_with_every_row(repo: Path) -> None:
    _sigkill_script(repo, 'id="job-9", resume="allow"')
    assert _run_until_signal(repo, stop=2) == "job-9"
    assert _run_until_signal(repo, stop=5) == "job-9"
    proc = run_python(repo, "preempt.py", "-1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[:3] == ["job-9", "True", "6"]
    assert [r["loss"] for r in branch_rows(repo, "job-9")] == [float(i) for i in range(10)]
    assert branch_yaml(repo, "job-9", "run.yaml")["status"] == "finished"
    subjects = git(repo, "log", "--format=%s", "gitcfg-runs").splitlines()
    assert len([s for s in subjects if "resumed" in s]) == 2, subjects


def test_resume_auto_picks_the_most_recent_crashed_run_of_the_script(repo: Path) -> None:
    commit_script(
        repo,
        "pick.py",
        """
        import os, signal, sys
        import gitcfg
        run = gitcfg.track({"lr": 0.1}, resume="auto" if sys.argv[1] == "resume" else None)
        print(run.id, run.resumed, flush=True)
        if sys.argv[1] == "crash":
            os.kill(os.getpid(), signal.SIGKILL)
        """,
    )
    older = run_python(repo, "pick.py", "crash").stdout.split()[0]
    newer = run_python(repo, "pick.py", "crash").stdout.split()[0]
    assert older != newer
    proc = run_python(repo, "pick.py", "resume")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [newer, "True"]
    assert branch_yaml(repo, older, "run.yaml")["status"] == "crashed"


def test_show_at_a_revision_before_the_run_was_removed(repo: Path, driver: Path) -> None:
    run_id = drive(repo, {"config": {"lr": 0.1}})
    ok(gc(repo, "rm", run_id, "-m", "gone"))
    one_line_error(gc(repo, "show", run_id))
    shown = yaml.safe_load(ok(gc(repo, "show", run_id, "--at", "gitcfg-runs~1", "--config")))
    assert shown == {"lr": 0.1}
    started = git(repo, "log", "--format=%H", "--grep", f"run {run_id}: started", "gitcfg-runs")
    text = ok(gc(repo, "show", run_id, "--at", started))
    assert "running" in text


def test_a_running_run_in_the_api_dataframe(repo: Path) -> None:
    commit_script(repo, "hold.py", HOLD)
    proc = subprocess.Popen(
        [sys.executable, "hold.py"],
        cwd=repo,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        assert proc.stdout.readline().strip()
        api = run_python(
            repo,
            "-c",
            "import gitcfg\ndf = gitcfg.Api().runs().to_dataframe()\n"
            "col = [c for c in df.columns if c.split('.')[-1] == 'loss'][0]\n"
            "print(df[col].iloc[0])\n",
        )
        assert api.returncode == 0, api.stderr
        assert float(api.stdout) == pytest.approx(1 / 3)
        for _ in range(2):
            proc.stdin.write("\n")
            proc.stdin.flush()
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_api_amends_on_both_sides_merge_with_a_message_per_key(
    repo: Path, driver: Path, tmp_path: Path
) -> None:
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    git(repo, "push", "-q", "origin", "main")
    run_id = drive(repo, {"config": {"lr": 0.1}})
    ok(gc(repo, "push"))
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(bare), str(other))
    ok(gc(other, "pull"))
    amend = "import gitcfg\nr = gitcfg.Api().run({!r})\nr.summary['test_acc'] = {}\nr.update(reason='{}')\n"
    proc = run_python(other, "-c", amend.format(run_id, 0.5, "theirs"))
    assert proc.returncode == 0, proc.stderr
    ok(gc(other, "push"))
    proc = run_python(repo, "-c", amend.format(run_id, 0.7, "ours"))
    assert proc.returncode == 0, proc.stderr
    ok(gc(repo, "pull"))
    message = git(repo, "log", "-1", "--format=%B", "gitcfg-runs")
    assert "test_acc" in message and "0.5" in message and "0.7" in message, message
    history = ok(gc(repo, "history", run_id))
    assert "ours" in history and "theirs" in history, history


def test_goal_maximize_decides_best_for_log_sort(repo: Path) -> None:
    commit_script(
        repo,
        "goal.py",
        """
        import sys
        import gitcfg
        run = gitcfg.track({"lr": float(sys.argv[1])})
        run.define_metric("acc", goal="maximize")
        run.define_metric("err", goal="minimize")
        run.log({"acc": float(sys.argv[1]), "err": 1 - float(sys.argv[1])})
        print(run.id)
        """,
    )
    ids = {lr: run_python(repo, "goal.py", lr).stdout.strip() for lr in ("0.5", "0.9", "0.1")}
    assert [r["id"] for r in log_json(repo, "--sort", "acc")] == [
        ids["0.9"],
        ids["0.5"],
        ids["0.1"],
    ]
    assert [r["id"] for r in log_json(repo, "--sort", "err")] == [
        ids["0.9"],
        ids["0.5"],
        ids["0.1"],
    ]


def test_tags_idioms_during_the_run(repo: Path) -> None:
    commit_script(
        repo,
        "tags.py",
        """
        import gitcfg
        run = gitcfg.track({"lr": 0.1}, tags=["a"])
        run.tags += ("b",)
        run.tags = run.tags + ("c",)
        print(run.id)
        """,
    )
    proc = run_python(repo, "tags.py")
    assert proc.returncode == 0, proc.stderr
    assert list(branch_yaml(repo, proc.stdout.strip(), "run.yaml")["tags"]) == ["a", "b", "c"]


def test_follow_of_an_ended_run_prints_its_rows_and_exits(repo: Path, driver: Path) -> None:
    run_id = drive(repo, steps=4)
    out = ok(gc(repo, "show", run_id, "--metrics", "--follow", timeout=30))
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["_step"] for r in rows] == [0, 1, 2, 3]


def test_follow_ends_when_the_followed_process_is_killed(repo: Path) -> None:
    commit_script(repo, "hold.py", HOLD)
    proc = subprocess.Popen(
        [sys.executable, "hold.py"],
        cwd=repo,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    follow = None
    try:
        run_id = proc.stdout.readline().strip()
        follow = subprocess.Popen(
            [sys.executable, "-m", "gitcfg", "show", run_id, "--metrics", "--follow"],
            cwd=repo,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert follow.stdout is not None
        assert [json.loads(follow.stdout.readline())["_step"] for _ in range(3)] == [0, 1, 2]
        proc.kill()
        proc.wait(timeout=30)
        follow.wait(timeout=60)  # ends on its own
        assert follow.stdout.read().strip() == ""
    finally:
        for p in (proc, follow):
            if p is not None and p.poll() is None:
                p.kill()
    assert branch_yaml(repo, run_id, "run.yaml")["status"] == "crashed"
    assert len(branch_rows(repo, run_id)) == 3


def test_a_mechanically_ported_script(repo: Path) -> None:
    commit_script(
        repo,
        "ported.py",
        """
        import argparse
        import numpy as np
        import gitcfg

        parser = argparse.ArgumentParser()
        parser.add_argument("--lr", type=float, default=0.01)
        parser.add_argument("--epochs", type=int, default=3)
        args = parser.parse_args()

        gitcfg.init(project="mnist", entity="lab", config=args, job_type="train", group="sweep-1",
                    tags=["baseline"], name="first", notes="n", save_code=True, reinit=True)
        gitcfg.config.update({"batch_size": 32})
        config = gitcfg.config
        gitcfg.define_metric("epoch")
        gitcfg.define_metric("val/*", step_metric="epoch")
        best = 0.0
        for epoch in range(config.epochs):
            acc = 0.5 + 0.1 * epoch
            gitcfg.log({"epoch": epoch, "train/loss": np.float32(1.0 / (epoch + 1)), "val/acc": acc})
            best = max(best, acc)
        gitcfg.run.summary["best_acc"] = best
        gitcfg.summary["final"] = True
        print(gitcfg.run.id, gitcfg.run.name, gitcfg.run.project)
        gitcfg.finish()
        """,
    )
    proc = run_python(repo, "ported.py", "--lr", "0.1")
    assert proc.returncode == 0, proc.stderr
    run_id, name, project = proc.stdout.split()
    assert (name, project) == ("first", "mnist")
    config = branch_yaml(repo, run_id, "config.yaml")
    assert config == {"lr": 0.1, "epochs": 3, "batch_size": 32}
    summary = branch_yaml(repo, run_id, "summary.yaml")
    assert summary["best_acc"] == pytest.approx(0.7) and summary["final"] is True
    assert summary["train/loss"] == pytest.approx(1 / 3) and summary["epoch"] == 2
    rows = branch_rows(repo, run_id)
    assert [r["train/loss"] for r in rows] == [1.0, 0.5, 0.33333334]
    meta = branch_yaml(repo, run_id, "run.yaml")
    assert (meta["entity"], meta["job_type"], meta["group"], list(meta["tags"])) == (
        "lab",
        "train",
        "sweep-1",
        ["baseline"],
    )


def test_with_block_and_track_without_arguments(repo: Path) -> None:
    commit_script(
        repo,
        "withblock.py",
        """
        import gitcfg
        with gitcfg.track() as run:
            gitcfg.config.lr = 0.3
            run.log({"x": 1})
            rid = run.id
        print(rid, gitcfg.run is None)
        """,
    )
    proc = run_python(repo, "withblock.py")
    assert proc.returncode == 0, proc.stderr
    run_id, no_run = proc.stdout.split()
    assert no_run == "True"
    assert branch_yaml(repo, run_id, "config.yaml") == {"lr": 0.3}
    assert branch_yaml(repo, run_id, "run.yaml")["status"] == "finished"


def test_a_failed_run_in_show_json_and_yaml_stays_machine_readable(repo: Path) -> None:
    commit_script(
        repo, "fail2.py", "import gitcfg\nrun = gitcfg.track({'lr': 0.1})\nraise ValueError('x')\n"
    )
    assert run_python(repo, "fail2.py").returncode == 1
    run_id = log_json(repo)[0]["id"]
    as_json = json.loads(ok(gc(repo, "show", run_id, "-f", "json")))
    assert "ValueError" in as_json["run"]["error"]["traceback"]
    as_yaml = yaml.safe_load(ok(gc(repo, "show", run_id, "-f", "yaml")))
    assert as_yaml["run"]["status"] == "failed"


def test_labels_set_during_a_run_survive_a_sigkill(repo: Path) -> None:
    commit_script(
        repo,
        "killlabels.py",
        """
        import os, signal
        import gitcfg
        run = gitcfg.track({"lr": 0.1})
        run.name = "late-name"
        run.tags = ["t"]
        run.project = "proj"
        run.log({"x": 1})
        print(run.id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """,
    )
    run_id = run_python(repo, "killlabels.py").stdout.strip()
    ok(gc(repo, "log"))
    meta = branch_yaml(repo, run_id, "run.yaml")
    assert meta["status"] == "crashed"
    assert (meta["name"], list(meta["tags"]), meta["project"]) == ("late-name", ["t"], "proj")


def test_the_same_oversized_file_saved_twice_warns_once(repo: Path) -> None:
    git(repo, "config", "gitcfg.maxFileBytes", "1k")
    commit_script(
        repo,
        "big2.py",
        """
        import gitcfg
        run = gitcfg.track({"lr": 0.1})
        open("huge.bin", "wb").write(b"h" * 5000)
        gitcfg.save("huge.bin", policy="now")
        gitcfg.save("huge.bin", policy="end")
        print(run.id)
        """,
    )
    proc = run_python(repo, "big2.py")
    assert proc.returncode == 0, proc.stderr
    assert len([line for line in proc.stderr.splitlines() if "huge.bin" in line]) == 1, proc.stderr


def test_media_over_the_limit_every_step_warns_once(repo: Path) -> None:
    git(repo, "config", "gitcfg.maxFileBytes", "200")
    commit_script(
        repo,
        "manyimg.py",
        """
        import numpy as np
        import gitcfg
        run = gitcfg.track({"lr": 0.1})
        for i in range(20):
            run.log({"img": gitcfg.Image(np.random.rand(20, 20)), "x": i})
        print(run.id)
        """,
    )
    proc = run_python(repo, "manyimg.py")
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.strip()
    assert len([line for line in proc.stderr.splitlines() if "'img'" in line]) == 1, proc.stderr
    assert [r["x"] for r in branch_rows(repo, run_id)] == list(range(20))
    assert branch_yaml(repo, run_id, "run.yaml")["status"] == "finished"


def test_a_checkpoint_saved_now_every_epoch_over_the_limit_warns_once(repo: Path) -> None:
    git(repo, "config", "gitcfg.maxFileBytes", "1k")
    commit_script(
        repo,
        "epochs.py",
        """
        import gitcfg
        run = gitcfg.track({"lr": 0.1})
        for epoch in range(5):
            open("model.pt", "wb").write(b"w" * 5000)
            gitcfg.save("model.pt", policy="now")
        print(run.id)
        """,
    )
    proc = run_python(repo, "epochs.py")
    assert proc.returncode == 0, proc.stderr
    assert len([line for line in proc.stderr.splitlines() if "model.pt" in line]) == 1, proc.stderr


def test_a_second_rerun_into_the_same_default_directory_says_how_to_rerun(
    repo: Path, driver: Path
) -> None:
    run_id = drive(repo)
    first = gc(repo, "rerun", run_id)
    assert first.returncode == 0, first.stdout + first.stderr
    line = one_line_error(gc(repo, "rerun", run_id))
    assert "gitcfg rerun" in line and "--dir" in line, line


def test_config_persist_reaches_another_clone_that_pulls(repo: Path, tmp_path: Path) -> None:
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    git(repo, "push", "-q", "origin", "main")
    commit_script(
        repo,
        "persist2.py",
        """
        import sys
        import gitcfg
        run = gitcfg.track({"lr": 0.1})
        run.config.layers = [64, 32]
        run.config.persist()
        print(run.id, flush=True)
        sys.stdin.readline()
        """,
    )
    proc = subprocess.Popen(
        [sys.executable, "persist2.py"],
        cwd=repo,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        run_id = proc.stdout.readline().strip()
        ok(gc(repo, "push"))
        other = tmp_path / "other"
        git(tmp_path, "clone", "-q", str(bare), str(other))
        ok(gc(other, "pull"))
        assert branch_yaml(other, run_id, "config.yaml") == {"lr": 0.1, "layers": [64, 32]}
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_an_unknown_mode_is_an_error_naming_every_mode_wandb_has(repo: Path, driver: Path) -> None:
    assert drive(repo, {"mode": "shared"})  # wandb's mode for several writers records
    before = commit_count(repo)
    proc = run_python(repo, "drive.py", json.dumps({"mode": "bogus"}))
    assert proc.returncode != 0
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("gitcfg: error: ") and "bogus" in line, proc.stderr
    assert all(mode in line for mode in ("online", "offline", "disabled", "shared")), line
    assert commit_count(repo) == before
