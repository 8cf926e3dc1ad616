"""How a script exits decides its run's status: every way to raise SystemExit, and the ones a
script catches and survives (gitcfg/exitstatus.py)."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import read_branch_file, run_id_of, run_python, runs_branch_files, write_script

from gitcfg.store import run_dir


def _only_run(repo: Path) -> dict[str, Any]:
    (run_id,) = {run_id_of(p) for p in runs_branch_files(repo) if p.startswith("runs/")}
    meta = yaml.safe_load(read_branch_file(repo, f"{run_dir(run_id)}/run.yaml"))
    assert isinstance(meta, dict)
    return meta


TRACK = 'run = gitcfg.track({"lr": 0.1})\nrun.log({"loss": 0.5})\n'

EXITS = {
    "sys.exit(3)": ("import sys, gitcfg\n" + TRACK + "sys.exit(3)\n", 3),
    "raise SystemExit(3)": ("import gitcfg\n" + TRACK + "raise SystemExit(3)\n", 3),
    "exit(3)": ("import gitcfg\n" + TRACK + "exit(3)\n", 3),
    "quit(3)": ("import gitcfg\n" + TRACK + "quit(3)\n", 3),
    "from sys import exit, before import gitcfg": (
        "from sys import exit\nimport gitcfg\n" + TRACK + "exit(4)\n",
        4,
    ),
    "from sys import exit, after import gitcfg": (
        "import gitcfg\nfrom sys import exit\n" + TRACK + "exit(4)\n",
        4,
    ),
    "raise SystemExit(main())": (
        """
        import gitcfg

        def main():
            run = gitcfg.track({"lr": 0.1})
            run.log({"loss": float("nan")})
            return 2  # diverged

        if __name__ == "__main__":
            raise SystemExit(main())
        """,
        2,
    ),
    "a SystemExit subclass defined before import gitcfg": (
        "class Stop(SystemExit):\n    pass\n\nimport gitcfg\n" + TRACK + "raise Stop(5)\n",
        5,
    ),
    "caught, then exit(5)": (
        "import sys, gitcfg\n" + TRACK + "try:\n    sys.exit(3)\nexcept SystemExit:\n    pass\n"
        "sys.exit(5)\n",
        5,
    ),
}


@pytest.mark.parametrize("name", list(EXITS))
def test_a_non_zero_exit_in_any_form_records_the_run_as_failed_with_its_code(
    repo: Path, tmp_path: Path, name: str
) -> None:
    body, code = EXITS[name]
    proc = run_python(repo, write_script(tmp_path / "train.py", body))
    assert proc.returncode == code, proc.stderr
    meta = _only_run(repo)
    assert (meta["status"], meta["exit_code"]) == ("failed", code)


def test_raise_systemexit_in_python_c_records_the_code(repo: Path) -> None:
    code = "import gitcfg\n" + TRACK + "raise SystemExit(3)"
    proc = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True)
    assert proc.returncode == 3, proc.stderr
    assert (_only_run(repo)["status"], _only_run(repo)["exit_code"]) == ("failed", 3)


@pytest.mark.parametrize(
    "last_line", ["raise SystemExit", "raise SystemExit(0)", "exit()", "sys.exit(None)"]
)
def test_an_exit_with_status_zero_records_the_run_as_finished(
    repo: Path, tmp_path: Path, last_line: str
) -> None:
    script = write_script(tmp_path / "train.py", "import sys, gitcfg\n" + TRACK + last_line + "\n")
    proc = run_python(repo, script)
    assert proc.returncode == 0, proc.stderr
    meta = _only_run(repo)
    assert (meta["status"], meta["exit_code"]) == ("finished", 0)


def test_raise_systemexit_with_a_message_records_it(repo: Path, tmp_path: Path) -> None:
    script = write_script(
        tmp_path / "t.py", "import gitcfg\n" + TRACK + "raise SystemExit('no data')\n"
    )
    proc = run_python(repo, script)
    assert proc.returncode == 1 and proc.stderr == "no data\n"
    meta = _only_run(repo)
    assert (meta["status"], meta["exit_code"]) == ("failed", 1)
    assert meta["error"]["message"] == "no data"


CAUGHT = {
    "sys.exit": "sys.exit(3)",
    "raise SystemExit": "raise SystemExit(3)",
    "exit()": "exit(3)",
    "argparse": "import argparse; argparse.ArgumentParser().parse_args(['--bad'])",
    "a SystemExit subclass defined before import gitcfg": "raise Stop(3)",
    "sys.exit bound before import gitcfg": "early_exit(3)",
}


@pytest.mark.parametrize("name", list(CAUGHT))
def test_a_systemexit_the_script_catches_and_survives_does_not_end_the_run(
    repo: Path, tmp_path: Path, name: str
) -> None:
    script = write_script(
        tmp_path / "train.py",
        "from sys import exit as early_exit\n"
        "class Stop(SystemExit):\n    pass\n\n"
        "import sys, gitcfg\n" + TRACK + "try:\n"
        f"    {CAUGHT[name]}\n"
        "except SystemExit as e:\n"
        "    print('caught', e.code, type(e).__name__, flush=True)\n"
        "run.log({'loss': 0.25})\n",
    )
    proc = run_python(repo, script)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("caught ")
    meta = _only_run(repo)
    assert (meta["status"], meta["exit_code"]) == ("finished", 0)


def test_sys_exit_in_a_thread_ends_the_thread_not_the_run(repo: Path, tmp_path: Path) -> None:
    script = write_script(
        tmp_path / "train.py",
        "import sys, threading, gitcfg\n"
        + TRACK
        + "t = threading.Thread(target=sys.exit, args=(3,))\n"
        "t.start(); t.join()\nprint('still here')\n",
    )
    proc = run_python(repo, script)
    assert proc.returncode == 0 and proc.stdout == "still here\n", proc.stderr
    assert (_only_run(repo)["status"], _only_run(repo)["exit_code"]) == ("finished", 0)


def test_the_systemexit_gitcfg_installs_looks_and_behaves_like_the_builtin() -> None:
    import gitcfg  # noqa: F401  (installs it)

    with pytest.raises(SystemExit) as caught:
        sys.exit(3)
    error = caught.value
    assert type(error).__name__ == "SystemExit" and repr(error) == "SystemExit(3)"
    assert error.code == 3 and error.args == (3,)
    error.code = 4
    assert error.code == 4
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error) and copy.args == (3,)
    # The interpreter's own class still catches it, and it still catches its own kind.
    interpreter_class = SystemExit.__mro__[-3]
    assert isinstance(error, interpreter_class) and issubclass(SystemExit, interpreter_class)
