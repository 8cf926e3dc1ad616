"""gitcfg.integrations.hydra: a run per job of a real Hydra app, failed jobs recorded failed."""

from __future__ import annotations

import os

import pytest
from conftest import commit_script, git, run_python

import gitcfg

pytest.importorskip("hydra")

CONF = """\
lr: 0.1
seed: 0
model:
  depth: 2
  name: mlp${model.depth}
hydra:
  callbacks:
    gitcfg:
      _target_: gitcfg.integrations.hydra.GitcfgCallback
      tags: [hydra-test]
"""

APP = """\
import os
import hydra
import gitcfg


@hydra.main(version_base="1.3", config_path=".", config_name="conf")
def main(cfg):
    print("pid", os.getpid(), flush=True)
    if cfg.get("calls_track"):
        run = gitcfg.track(cfg)
        assert gitcfg.run is run
    for step in range(3):
        gitcfg.log({"loss": cfg.lr / (step + 1)}, step=step)
    if cfg.lr == 0.9 and cfg.seed == 1:
        raise ValueError("diverged at lr=0.9")
    if cfg.get("returns") == "number":
        return cfg.lr * 2
    return {"val_loss": cfg.lr / 10, "best": {"epoch": cfg.seed}}


if __name__ == "__main__":
    main()
"""


@pytest.fixture
def hydra_repo(repo):
    (repo / ".gitignore").write_text("multirun/\noutputs/\n")
    (repo / "conf.yaml").write_text(CONF)
    git(repo, "add", ".gitignore", "conf.yaml")
    commit_script(repo, "app.py", APP)
    return repo


def run_app(repo, *args, cwd=None):
    return run_python(cwd or repo, repo / "app.py", *args, env={"OMP_NUM_THREADS": "1"})


@pytest.mark.parametrize("calls_track", [False, True], ids=["callback-only", "task-calls-track"])
def test_multirun_of_four_jobs_with_one_failing_records_four_runs_one_failed(
    hydra_repo, calls_track
):
    extra = ["+calls_track=true"] if calls_track else []
    proc = run_app(hydra_repo, "-m", "lr=0.1,0.9", "seed=0,1", *extra)
    assert proc.returncode == 1, proc.stderr  # Hydra exits 1 after a multirun with a failed job
    assert len({line for line in proc.stdout.splitlines() if line.startswith("pid")}) == 1
    assert "finishing it first" not in proc.stderr
    runs = list(gitcfg.Api(hydra_repo).runs())
    assert len(runs) == 4
    by_params = {(r.config["lr"], r.config["seed"]): r for r in runs}
    assert set(by_params) == {(0.1, 0), (0.1, 1), (0.9, 0), (0.9, 1)}
    groups = {r.group for r in runs}
    assert len(groups) == 1
    (group,) = groups
    assert group.startswith("multirun/")
    assert (hydra_repo / group / "multirun.yaml").is_file()  # the sweep directory itself
    for (lr, seed), run in by_params.items():
        expected = {"lr": lr, "seed": seed, "model": {"depth": 2, "name": "mlp2"}}
        if calls_track:
            expected["calls_track"] = True
        assert run.config == expected  # resolved, and no `hydra` node
        assert run.tags == ["hydra-test"]
        assert run.meta["hydra_overrides"][:2] == [f"lr={lr}", f"seed={seed}"]
        assert [row["loss"] for row in run.metrics()] == [lr, lr / 2, lr / 3]
        if (lr, seed) == (0.9, 1):
            assert run.status == "failed"
            assert run.meta["error"]["type"] == "ValueError"
            assert "diverged at lr=0.9" in run.meta["error"]["message"]
            assert "val_loss" not in run.summary
        else:
            assert run.status == "finished"
            assert run.summary["val_loss"] == pytest.approx(lr / 10)
            assert run.summary["best"] == {"epoch": seed}


def test_a_single_run_records_a_number_returned_and_no_group(hydra_repo, tmp_path):
    # The output directory is outside the repository and the job runs there (hydra.job.chdir):
    # the run is still recorded in the repository Hydra was started from.
    outside = tmp_path / "outputs"
    proc = run_app(
        hydra_repo, "lr=0.5", "+returns=number", f"hydra.run.dir={outside}", "hydra.job.chdir=true"
    )
    assert proc.returncode == 0, proc.stderr
    (run,) = gitcfg.Api(hydra_repo).runs()
    assert run.status == "finished"
    assert run.group is None
    assert run.summary["return_value"] == pytest.approx(1.0)
    assert run.config == {
        "lr": 0.5,
        "seed": 0,
        "model": {"depth": 2, "name": "mlp2"},
        "returns": "number",
    }
    assert run.meta["cwd"] == os.fspath(outside)
    assert run.code["commit"] == git(hydra_repo, "rev-parse", "HEAD")
