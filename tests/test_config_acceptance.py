"""Acceptance: a wandb tutorial script, ported by changing the import and the init call."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import git, read_branch_file, run_python, runs_branch_files, write_script

from gitcfg.store import run_dir

# wandb's "track experiments" tutorial, as a user would port it: `import wandb` -> `import gitcfg`,
# `wandb.init(config=args)` -> `gitcfg.track(args)`; everything else is wandb's idiom unchanged.
TUTORIAL = """
import argparse
import gitcfg

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.01)
parser.add_argument("--epochs", type=int, default=10)
parser.add_argument("--batch_size", type=int, default=64)
parser.add_argument("--architecture", default="CNN")
args, _unknown = parser.parse_known_args()  # leaves --configs to gitcfg

run = gitcfg.track(args)
config = run.config
config.update({"dataset_id": "cifar-10-v2", "steps_per_epoch": 50000 // config.batch_size})
config["dropout"] = 0.2

offset = config.seed / 100
for epoch in range(2, config.epochs):
    train_acc = 1 - 2 ** -epoch - config.dropout / epoch - offset
    train_loss = 2 ** -epoch + config.dropout / epoch + offset
    val_acc = 1 - 2 ** -epoch - config.lr / epoch - offset
    val_loss = 2 ** -epoch + config.lr / epoch + offset
    run.log({"epoch": epoch, "train_acc": train_acc, "train_loss": train_loss,
             "val_acc": val_acc, "val_loss": val_loss})
run.finish()
print(run.id)
"""

DEFAULTS = """\
wandb_version: 1
seed:
  desc: random seed
  value: 7
lr:
  desc: overridden by the script's argparse default
  value: 0.5
"""

EXPERIMENT = """\
optimizer: adam
momentum: 0.9
lr: 0.3
"""


def test_a_ported_wandb_tutorial_records_the_expected_config_summary_and_metrics(repo: Path):
    write_script(repo / "train.py", TUTORIAL)
    (repo / "config-defaults.yaml").write_text(DEFAULTS)
    (repo / "exp.yaml").write_text(EXPERIMENT)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "tutorial")

    proc = run_python(repo, "train.py", "--lr", "0.02", "--configs", "exp.yaml", "--epochs", "5")
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.strip().splitlines()[-1]
    base = f"{run_dir(run_id)}"
    assert f"{base}/config.yaml" in runs_branch_files(repo)

    # Precedence: config-defaults.yaml < --configs files < the script (argparse values, defaults
    # included, then later updates). lr: 0.5 (defaults) < 0.3 (exp.yaml) < 0.02 (command line).
    expected_config = {
        "seed": 7,
        "lr": 0.02,
        "optimizer": "adam",
        "momentum": 0.9,
        "epochs": 5,
        "batch_size": 64,
        "architecture": "CNN",
        "dataset_id": "cifar-10-v2",
        "steps_per_epoch": 781,
        "dropout": 0.2,
    }
    config_yaml = read_branch_file(repo, f"{base}/config.yaml")
    recorded = yaml.safe_load(config_yaml)
    assert recorded == expected_config
    assert list(recorded) == list(expected_config)  # first-set order, as a person would read it

    meta = yaml.safe_load(read_branch_file(repo, f"{base}/run.yaml"))
    assert meta["config_changed"] == ["dataset_id", "steps_per_epoch", "dropout"]
    assert meta["config_sources"] == {
        "seed": "defaults:config-defaults.yaml",
        "lr": "script",
        "optimizer": "configs:exp.yaml",
        "momentum": "configs:exp.yaml",
        "epochs": "script",
        "batch_size": "script",
        "architecture": "script",
        "dataset_id": "script",
        "steps_per_epoch": "script",
        "dropout": "script",
    }

    offset = 7 / 100
    expected_rows = [
        {
            "epoch": epoch,
            "train_acc": 1 - 2**-epoch - 0.2 / epoch - offset,
            "train_loss": 2**-epoch + 0.2 / epoch + offset,
            "val_acc": 1 - 2**-epoch - 0.02 / epoch - offset,
            "val_loss": 2**-epoch + 0.02 / epoch + offset,
        }
        for epoch in range(2, 5)
    ]
    lines = read_branch_file(repo, f"{base}/metrics.jsonl").splitlines()
    rows = [json.loads(line) for line in lines]
    assert [row["_step"] for row in rows] == [0, 1, 2]
    assert [
        {k: v for k, v in row.items() if not k.startswith("_")} for row in rows
    ] == expected_rows

    summary = yaml.safe_load(read_branch_file(repo, f"{base}/summary.yaml"))
    assert summary == expected_rows[-1]


BAD_TRACK = """
import sys
import gitcfg
from gitcfg.errors import ConfigError
try:
    gitcfg.track({"lr": 0.1, "schedule": print if sys.argv[1] == "value" else "cosine"})
except ConfigError as error:
    print(error)
    sys.exit(1)
"""


@pytest.mark.parametrize(
    ("case", "files", "argv", "message"),
    [
        ("value", {}, [], "config key 'schedule' holds a builtin_function_or_method"),
        ("ok", {"config-defaults.yaml": "a: [1\n"}, [], "config-defaults.yaml:2: invalid YAML"),
        ("ok", {"config-defaults.yaml": "- a\n"}, [], "config-defaults.yaml: the top level"),
        ("ok", {}, ["--configs", "nope.yaml"], "--configs file nope.yaml does not exist"),
    ],
)
def test_a_bad_config_fails_track_before_anything_is_written(
    repo: Path, case, files, argv, message
):
    write_script(repo / "bad.py", BAD_TRACK)
    for name, text in files.items():
        (repo / name).write_text(text)
    before = git(repo, "for-each-ref")
    proc = run_python(repo, "bad.py", case, *argv)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.startswith(message) and proc.stdout.count("\n") == 1
    assert git(repo, "for-each-ref") == before
    assert not (repo / ".git" / "gitcfg" / "live").exists() or not any(
        (repo / ".git" / "gitcfg" / "live").iterdir()
    )


PENDING = """
import gitcfg
from gitcfg import config  # taken before track(): still the run's config afterwards

gitcfg.config.seed = 1
config.update({"lr": 0.5})
run = gitcfg.track({"lr": 0.1, "epochs": 2})
config.dropout = 0.2
assert run.config is config and gitcfg.config is config, (run.config, config)
run.finish()
print(run.id)
"""


def test_values_set_on_gitcfg_config_before_track_are_merged_below_the_object(repo: Path):
    write_script(repo / "pending.py", PENDING)
    proc = run_python(repo, "pending.py")
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.strip().splitlines()[-1]
    base = f"{run_dir(run_id)}"
    recorded = yaml.safe_load(read_branch_file(repo, f"{base}/config.yaml"))
    assert recorded == {"seed": 1, "lr": 0.1, "epochs": 2, "dropout": 0.2}
    meta = yaml.safe_load(read_branch_file(repo, f"{base}/run.yaml"))
    assert meta["config_changed"] == ["dropout"]


# --- the config during a run --------------------------------------------------------------------


def _run_dir(run_id: str) -> str:
    return f"{run_dir(run_id)}"


def _branch_yaml(repo: Path, run_id: str, name: str):
    return yaml.safe_load(read_branch_file(repo, f"{_run_dir(run_id)}/{name}"))


def _live(repo: Path, run_id: str) -> Path:
    return repo / ".git" / "gitcfg" / "live" / run_id


def test_each_config_change_and_persist_are_kept_by_a_run_sigkilled_right_after(cli, repo: Path):
    write_script(
        repo / "kill.py",
        """
        import os, signal, sys, gitcfg
        run = gitcfg.track({"lr": 0.1})
        print(run.id, flush=True)
        run.config.on_change(lambda config: print("callback", sorted(config), flush=True))
        run.config.epochs = 3
        if sys.argv[1] == "persist":
            run.config._set_callback(lambda config: None)  # wandb's private name: no harm done
            run.config["added_later"] = 42
            run.config.persist()
        os.kill(os.getpid(), signal.SIGKILL)  # no flusher, no exit hook: only what is journaled
    """,
    )
    for how, expected in [
        ("change", {"lr": 0.1, "epochs": 3}),
        ("persist", {"lr": 0.1, "epochs": 3, "added_later": 42}),
    ]:
        proc = run_python(repo, "kill.py", how)
        assert proc.returncode == -9, proc.stderr
        run_id, *callbacks = proc.stdout.splitlines()
        assert len(callbacks) == (1 if how == "change" else 3)  # a change each, and persist()
        result = cli(repo, "log")  # recovers the journal of the dead process
        assert result.exit_code == 0, result.output
        assert _branch_yaml(repo, run_id, "run.yaml")["status"] == "crashed"
        assert _branch_yaml(repo, run_id, "config.yaml") == expected
        assert _branch_yaml(repo, run_id, "run.yaml")["config_changed"] == list(expected)[1:]


def test_a_secret_key_added_during_the_run_is_masked_with_one_warning_per_key(repo: Path):
    write_script(
        repo / "secret.py",
        """
        import gitcfg
        run = gitcfg.track({"lr": 0.1})
        run.config.hf_token = "hf_abc"
        run.config.hf_token = "hf_abc"  # the same value again: no second warning
        run.config.update({"db": {"password": "pw"}})
        run.config.epochs = 2
        run.finish()
        print(run.id)
    """,
    )
    proc = run_python(repo, "secret.py")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [
        "gitcfg: warning: masked secret-looking config keys in the record: hf_token",
        "gitcfg: warning: masked secret-looking config keys in the record: db.password",
    ]
    assert _branch_yaml(repo, proc.stdout.strip(), "config.yaml") == {
        "lr": 0.1,
        "hf_token": "***",
        "db": {"password": "***"},
        "epochs": 2,
    }


def test_an_unrecordable_final_config_still_ends_the_run_with_its_status(repo: Path):
    write_script(
        repo / "odd.py",
        """
        import gitcfg
        run = gitcfg.track({"layers": [1, 2]})
        run.config.epochs = 3
        # a value that slipped past the checks (here: written around them) cannot be recorded
        run.config._data["layers"].append(object())
        print(run.id)
    """,
    )
    proc = run_python(repo, "odd.py")
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.strip()
    assert "could not record the final config of run" in proc.stderr
    assert "recording its last recorded config instead" in proc.stderr
    meta = _branch_yaml(repo, run_id, "run.yaml")
    assert meta["status"] == "finished" and meta["exit_code"] == 0
    assert _branch_yaml(repo, run_id, "config.yaml") == {"layers": [1, 2], "epochs": 3}
    assert not _live(repo, run_id).exists()


def test_an_in_place_list_edit_is_refused_at_its_line_and_the_run_fails(repo: Path):
    script = write_script(
        repo / "edit.py",
        """
        import gitcfg
        run = gitcfg.track({"betas": [0.9, 0.99]})
        print(run.id, flush=True)
        run.config.betas[0] = 0.5
    """,
    )
    proc = run_python(repo, "edit.py")
    assert proc.returncode == 1
    run_id = proc.stdout.strip()
    assert f'File "{script}", line 5, in <module>' in proc.stderr
    assert "ConfigValueChanged: config key 'betas' is already [0.9, 0.99]" in proc.stderr
    assert _branch_yaml(repo, run_id, "config.yaml") == {"betas": [0.9, 0.99]}
    meta = _branch_yaml(repo, run_id, "run.yaml")
    assert meta["status"] == "failed" and meta["error"]["type"] == "ConfigValueChanged"


def test_a_scripts_config_error_shows_its_traceback_and_tracks_own_errors_one_line(repo: Path):
    script = write_script(
        repo / "change.py",
        """
        import gitcfg
        run = gitcfg.track({"lr": 0.1})
        def train():
            run.config.lr = 0.5
        train()
    """,
    )
    proc = run_python(repo, "change.py")
    assert proc.returncode == 1
    assert proc.stderr.startswith("Traceback (most recent call last):")
    assert f'File "{script}", line 5, in train' in proc.stderr
    assert proc.stderr.splitlines()[-1].startswith(
        "gitcfg.errors.ConfigValueChanged: config key 'lr' is already 0.1"
    )
    # an error of track() itself (here: its config file) is one line: the script is not at fault
    (repo / "config-defaults.yaml").write_text("a: [1\n")
    proc = run_python(repo, "change.py")
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("gitcfg: error: config-defaults.yaml:2: invalid")


SECRET_ARGS = """
import argparse, sys, gitcfg
parser = argparse.ArgumentParser()
parser.add_argument("--hf_token")
parser.add_argument("--db-password")
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--configs")
run = gitcfg.track(parser.parse_args(), mask=sys.argv[0].endswith("masked.py"))
run.finish()
print(run.id)
"""


def test_secret_command_line_values_are_masked_in_run_yaml(repo: Path):
    write_script(repo / "masked.py", SECRET_ARGS)
    (repo / "exp.yaml").write_text("seed: 3\n")
    argv = [
        "--hf_token",
        "hf_SECRET",
        "--db-password=pw_SECRET",
        "--lr",
        "0.5",
        "--configs",
        "exp.yaml",
    ]
    proc = run_python(repo, "masked.py", *argv)
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.strip()
    meta = _branch_yaml(repo, run_id, "run.yaml")
    assert meta["argv"][1:] == [
        "--hf_token",
        "***",
        "--db-password=***",
        "--lr",
        "0.5",
        "--configs",
        "exp.yaml",
    ]
    assert "options in the recorded command line: --hf_token, --db-password" in proc.stderr
    for path in runs_branch_files(repo):
        assert "_SECRET" not in read_branch_file(repo, path), path
    # the declared --configs option is gitcfg's: its files are recorded, not a `configs` key
    assert _branch_yaml(repo, run_id, "config.yaml") == {
        "seed": 3,
        "hf_token": "***",
        "db_password": "***",
        "lr": 0.5,
    }
    write_script(repo / "plain.py", SECRET_ARGS)  # mask=False: recorded as typed
    proc = run_python(repo, "plain.py", *argv)
    assert proc.returncode == 0, proc.stderr
    assert _branch_yaml(repo, proc.stdout.strip(), "run.yaml")["argv"][1:] == argv
