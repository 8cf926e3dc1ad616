"""The core pieces the framework integrations stand on (no framework needed): finishing a run from
a caught exception, the one-run-per-integration-object rule, hyperparameters as config values,
ranks of Lightning's launcher, and `import gitcfg` importing no integration."""

from __future__ import annotations

import enum
import json
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import pytest
from conftest import commit_script, run_python

from gitcfg.integrations._common import config_values
from gitcfg.tracking import process_rank


def test_finish_with_a_caught_exception_records_failed_with_its_error(repo: Path) -> None:
    script = commit_script(
        repo,
        "train.py",
        """
        import gitcfg
        run = gitcfg.track({"lr": 0.1})
        try:
            raise ValueError("loss is nan")
        except ValueError as e:
            run.finish(exception=e)
        run2 = gitcfg.track({"lr": 0.2})
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as e:
            run2.finish(exception=e)
        print(run.id, run2.id)
        """,
    )
    result = run_python(repo, script)
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.split()
    import gitcfg

    api = gitcfg.Api(repo)
    failed = api.run(first)
    assert failed.status == "failed"
    assert failed.meta["error"]["type"] == "ValueError"
    assert "loss is nan" in failed.meta["error"]["message"]
    assert "raise ValueError" in failed.meta["error"]["traceback"]
    assert api.run(second).status == "killed"


def test_an_integration_adopts_the_scripts_run_and_replaces_its_own_kinds(repo: Path) -> None:
    script = commit_script(
        repo,
        "train.py",
        """
        import gitcfg
        from gitcfg.integrations._common import adopt_or_open, adoptable_run
        assert adoptable_run("lightning") is None
        first, opened = adopt_or_open("lightning", config={"a": 1})
        assert opened and adoptable_run("lightning") is None
        second, opened = adopt_or_open("lightning", config={"a": 2})  # a new fit: never merged
        assert opened and first.status == "finished" and second.status == "running"
        assert adoptable_run("keras") is second
        second.finish()
        mine = gitcfg.track({"a": 3})
        assert adopt_or_open("lightning") == (mine, False)  # the script's run is adopted
        print(first.id, second.id, mine.id)
        """,
    )
    result = run_python(repo, script)
    assert result.returncode == 0, result.stderr
    import gitcfg

    runs = gitcfg.Api(repo).runs()
    assert len(runs) == 3
    assert sorted(r.config["a"] for r in runs) == [1, 2, 3]
    assert {r.status for r in runs} == {"finished"}


class Color(enum.Enum):
    RED = "red"


def test_hyperparameters_become_config_values_nested_as_given() -> None:
    def schedule() -> None: ...

    params = Namespace(
        lr=0.1,
        opt={"name": "adam", "betas": (0.9, 0.99)},
        color=Color.RED,
        act=schedule,
        kind=int,
        ids={3, 1},
        layers=[Namespace(width=4)],
        none=None,
        key_1={1: "a"},
    )
    assert config_values(params) == {
        "lr": 0.1,
        "opt": {"name": "adam", "betas": [0.9, 0.99]},
        "color": "red",
        "act": f"{__name__}.test_hyperparameters_become_config_values_nested_as_given."
        "<locals>.schedule",
        "kind": "builtins.int",
        "ids": [1, 3],
        "layers": [{"width": 4}],
        "none": None,
        "key_1": {"1": "a"},
    }
    assert config_values(None) == {}


@pytest.mark.parametrize(
    ("environ", "rank"),
    [
        ({}, 0),
        ({"LOCAL_RANK": "1", "NODE_RANK": "0", "WORLD_SIZE": "2"}, 1),  # Lightning's child
        ({"LOCAL_RANK": "0", "NODE_RANK": "1", "WORLD_SIZE": "4"}, 1),  # local 0 on node 1
        ({"LOCAL_RANK": "1", "NODE_RANK": "1", "LOCAL_WORLD_SIZE": "2"}, 3),
    ],
)
def test_lightning_launcher_ranks_count_the_node_rank(environ: dict[str, str], rank: int) -> None:
    assert process_rank(environ) == rank


def test_import_gitcfg_imports_no_integration_nor_framework() -> None:
    code = (
        "import gitcfg, sys, json; print(json.dumps(sorted(m for m in sys.modules if "
        "m.split('.')[0] in ('lightning', 'pytorch_lightning', 'torch', 'transformers', 'keras', "
        "'tensorflow', 'jax', 'hydra', 'optuna', 'xgboost', 'lightgbm') or "
        "m.startswith(('gitcfg.integrations', 'gitcfg.keras', 'gitcfg.integration')))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
