"""Acceptance: a wandb tutorial script, ported by changing the import and the init call."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import git, read_branch_file, run_python, runs_branch_files, write_script

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
    base = f"runs/{run_id[-2:]}/{run_id}"
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
    base = f"runs/{run_id[-2:]}/{run_id}"
    recorded = yaml.safe_load(read_branch_file(repo, f"{base}/config.yaml"))
    assert recorded == {"seed": 1, "lr": 0.1, "epochs": 2, "dropout": 0.2}
    meta = yaml.safe_load(read_branch_file(repo, f"{base}/run.yaml"))
    assert meta["config_changed"] == ["dropout"]
