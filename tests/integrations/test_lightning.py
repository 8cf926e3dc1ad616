"""GitcfgLogger with the real Lightning: tiny CPU models trained in real script processes in a real
repository, each run read back through gitcfg.Api() (config, rows, summary, status)."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
from conftest import commit_script, git, run_python

pytest.importorskip("torch")
pytest.importorskip("lightning")

import gitcfg  # noqa: E402

ENV = {"OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}

PRELUDE = """
import json, os, sys
import torch
torch.set_num_threads(1)
import lightning.pytorch as pl
from lightning.pytorch.callbacks import ModelCheckpoint
from torch.utils.data import DataLoader, TensorDataset
from gitcfg.integrations.lightning import GitcfgLogger

OUT = os.environ["OUT"]


class Net(pl.LightningModule):
    def __init__(self, hidden=8, lr=0.05, opt=None, fail_at=None):
        super().__init__()
        self.save_hyperparameters()
        self.layers = torch.nn.Sequential(
            torch.nn.Linear(4, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1)
        )

    def _loss(self, batch):
        x, y = batch
        return torch.nn.functional.mse_loss(self.layers(x), y)

    def training_step(self, batch, index):
        if self.hparams.fail_at is not None and self.global_step >= self.hparams.fail_at:
            raise RuntimeError("loss diverged")
        loss = self._loss(batch)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, index):
        self.log("val_loss", self._loss(batch))

    def test_step(self, batch, index):
        self.log("test_loss", self._loss(batch))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


def data(n=64):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=generator)
    return DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=8)


class Steps(pl.loggers.Logger):
    # Lightning's own record of the steps it logged at, to compare with the run's rows.
    name, version = "steps", "0"
    seen = []

    def log_hyperparams(self, params, *args, **kwargs):
        pass

    def log_metrics(self, metrics, step=None):
        self.seen.append([step, sorted(metrics)])


def trainer(logger, **kwargs):
    kwargs.setdefault("max_epochs", 2)
    return pl.Trainer(
        logger=logger, log_every_n_steps=2, enable_progress_bar=False,
        enable_model_summary=False, accelerator="cpu", default_root_dir=OUT, **kwargs
    )
"""


def script(repo: Path, body: str, name: str = "train.py") -> Path:
    return commit_script(repo, name, PRELUDE + textwrap.dedent(body))


def train(repo: Path, path: Path, tmp_path: Path, *args: str, timeout: float = 180):
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    result = run_python(repo, path, *args, env={**ENV, "OUT": str(out)}, timeout=timeout)
    return result, out


def test_fit_then_test_is_one_run_with_hyperparameters_rows_at_lightnings_steps_and_best_checkpoint(
    repo: Path, tmp_path: Path
) -> None:
    path = script(
        repo,
        """
        logger = GitcfgLogger(tags=["pl"])
        schedule = [{"epoch": 0, "lr": 0.05}, {"epoch": 1, "lr": 0.01}]  # a list of dicts
        opt = {"name": "sgd", "betas": (0.9, 0.99), "schedule": schedule}
        model = Net(hidden=8, lr=0.05, opt=opt)
        checkpoint = ModelCheckpoint(monitor="val_loss", mode="min")
        t = trainer([logger, Steps()], callbacks=[checkpoint])
        t.fit(model, data(), data(16))
        t.test(model, data(16))
        json.dump({"version": logger.version, "steps": Steps.seen,
                   "best": checkpoint.best_model_path}, open(os.path.join(OUT, "seen.json"), "w"))
        """,
    )
    result, out = train(repo, path, tmp_path)
    assert result.returncode == 0, result.stderr
    seen = json.loads((out / "seen.json").read_text())
    runs = gitcfg.Api(repo).runs()
    assert len(runs) == 1
    run = runs[0]
    assert run.status == "finished"
    assert run.id == seen["version"]
    assert run.tags == ["pl"]
    assert run.config == {
        "hidden": 8,
        "lr": 0.05,
        "opt": {
            "name": "sgd",
            "betas": [0.9, 0.99],
            "schedule": [{"epoch": 0, "lr": 0.05}, {"epoch": 1, "lr": 0.01}],
        },
        "fail_at": None,
    }
    rows = run.metrics()
    # each log_metrics call is a row at Lightning's step (calls of one step merge into one row)
    logged: dict[int, set[str]] = {}
    for step, keys in seen["steps"]:
        logged.setdefault(step, set()).update(keys)
    extra = {"_step", "_time", "trainer/global_step"}
    assert {row["_step"]: set(row) - extra for row in rows} == logged
    assert all(row["trainer/global_step"] == row["_step"] for row in rows)  # a fresh run
    assert any("train_loss" in row for row in rows)
    assert any("val_loss" in row for row in rows)
    assert "test_loss" in rows[-1]  # test() after fit(): the same run
    summary = run.summary
    assert summary["best_model_path"] == seen["best"]
    assert os.path.isfile(seen["best"])
    assert summary["best_model_monitor"] == "val_loss"
    assert summary["best_model_score"] == pytest.approx(
        min(row["val_loss"] for row in rows if "val_loss" in row)
    )
    assert "test_loss" in summary


def test_a_failing_fit_is_recorded_failed_with_its_error_and_rows(
    repo: Path, tmp_path: Path
) -> None:
    path = script(
        repo,
        """
        t = trainer(GitcfgLogger())
        t.fit(Net(fail_at=5), data())
        """,
    )
    result, _ = train(repo, path, tmp_path)
    assert result.returncode != 0
    assert "loss diverged" in result.stderr  # the script's traceback still reaches the user
    (run,) = gitcfg.Api(repo).runs()
    assert run.status == "failed"
    assert run.meta["error"]["type"] == "RuntimeError"
    assert run.meta["error"]["message"] == "loss diverged"
    assert [row["_step"] for row in run.metrics() if "train_loss" in row] == [1, 3]


def test_two_fits_with_two_loggers_in_one_process_are_two_runs(repo: Path, tmp_path: Path) -> None:
    path = script(
        repo,
        """
        ids = []
        for hidden in (4, 8):  # a sweep in one process
            logger = GitcfgLogger(group="sweep")
            trainer(logger, max_epochs=1).fit(Net(hidden=hidden), data())
            ids.append(logger.version)
        print(" ".join(ids))
        """,
    )
    result, _ = train(repo, path, tmp_path)
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.split()
    api = gitcfg.Api(repo)
    assert len(api.runs()) == 2
    for run_id, hidden in ((first, 4), (second, 8)):
        run = api.run(run_id)
        assert run.status == "finished"
        assert run.group == "sweep"
        assert run.config["hidden"] == hidden
        assert [row["_step"] for row in run.metrics() if "train_loss" in row] == [1, 3, 5, 7]


def test_the_scripts_own_run_is_adopted(repo: Path, tmp_path: Path) -> None:
    path = script(
        repo,
        """
        import gitcfg
        run = gitcfg.track({"data": "random"}, name="mine")
        logger = GitcfgLogger()
        trainer(logger, max_epochs=1).fit(Net(), data())
        assert logger.version == run.id and logger.experiment is run
        run.finish()
        with gitcfg.track(name="ended") as ended:
            late = GitcfgLogger()  # created inside the run, trained after it ended
        trainer(late, max_epochs=1).fit(Net(hidden=4), data())
        assert late.version != ended.id
        """,
    )
    result, _ = train(repo, path, tmp_path)
    assert result.returncode == 0, result.stderr
    runs = {run.name: run for run in gitcfg.Api(repo).runs()}
    assert len(runs) == 3
    run = runs["mine"]
    assert run.config["data"] == "random" and run.config["hidden"] == 8
    assert runs["ended"].config == {}
    (late,) = (r for name, r in runs.items() if name not in ("mine", "ended"))
    assert late.config["hidden"] == 4 and late.status == "finished"


def test_resuming_from_a_checkpoint_continues_the_same_run(repo: Path, tmp_path: Path) -> None:
    path = script(
        repo,
        """
        resume = sys.argv[1:]
        checkpoint = ModelCheckpoint(save_last=True)
        if resume:
            logger = GitcfgLogger(version=resume[0], resume="allow")
            trainer(logger, callbacks=[checkpoint], max_epochs=2).fit(
                Net(), data(), ckpt_path=resume[1]
            )
        else:
            logger = GitcfgLogger()
            trainer(logger, callbacks=[checkpoint], max_epochs=1).fit(Net(), data())
        print(logger.version, checkpoint.last_model_path)
        """,
    )
    result, _ = train(repo, path, tmp_path)
    assert result.returncode == 0, result.stderr
    run_id, last = result.stdout.split()
    assert f"{os.sep}gitcfg{os.sep}{run_id}{os.sep}checkpoints{os.sep}" in last  # version = id
    result, _ = train(repo, path, tmp_path, run_id, last)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == run_id
    (run,) = gitcfg.Api(repo).runs()
    assert run.status == "finished"
    steps = [row["_step"] for row in run.metrics() if "train_loss" in row]
    assert steps == [1, 3, 5, 7, 9, 11, 13, 15]  # epoch 0 from the first process, 1 from the second
    assert run.metrics()[-1]["epoch"] == 1


def test_ddp_with_two_cpu_processes_records_exactly_one_run_with_one_version(
    repo: Path, tmp_path: Path
) -> None:
    path = script(
        repo,
        """
        logger = GitcfgLogger()
        t = trainer(logger, max_epochs=1, strategy="ddp", devices=2)
        t.fit(Net(), data())
        with open(os.path.join(OUT, f"rank{t.global_rank}.txt"), "w") as f:
            f.write(logger.version)
        """,
    )
    result, out = train(repo, path, tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    versions = {(out / f"rank{rank}.txt").read_text() for rank in (0, 1)}
    (run,) = gitcfg.Api(repo).runs()
    assert versions == {run.id}
    assert run.status == "finished"
    assert run.config["hidden"] == 8
    assert [row["_step"] for row in run.metrics() if "train_loss" in row] == [1, 3]
    assert (out / "gitcfg" / run.id / "checkpoints").is_dir()


def test_the_older_pytorch_lightning_namespace(repo: Path, tmp_path: Path) -> None:
    pytest.importorskip("pytorch_lightning")
    path = commit_script(
        repo,
        "old.py",
        """
        import sys
        import torch
        import pytorch_lightning as pl
        from torch.utils.data import DataLoader, TensorDataset
        from gitcfg.integrations.lightning import GitcfgLogger

        assert issubclass(GitcfgLogger, pl.loggers.Logger) and "lightning" not in sys.modules

        class Net(pl.LightningModule):
            def __init__(self, lr=0.1):
                super().__init__()
                self.save_hyperparameters()
                self.layer = torch.nn.Linear(4, 1)

            def training_step(self, batch, index):
                loss = torch.nn.functional.mse_loss(self.layer(batch[0]), batch[1])
                self.log("train_loss", loss)
                return loss

            def configure_optimizers(self):
                return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

        x = torch.randn(32, 4)
        t = pl.Trainer(logger=GitcfgLogger(), max_epochs=1, log_every_n_steps=1,
                       enable_progress_bar=False, enable_checkpointing=False, accelerator="cpu")
        t.fit(Net(), DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=8))
        """,
    )
    result = run_python(repo, path, env=ENV, timeout=180)
    assert result.returncode == 0, result.stderr
    (run,) = gitcfg.Api(repo).runs()
    assert run.config == {"lr": 0.1}
    assert [row["_step"] for row in run.metrics()] == [0, 1, 2, 3]


def test_local_rank_0_of_node_1_records_nothing_and_takes_rank_0s_version(repo: Path) -> None:
    # Lightning's multi-node launcher sets NODE_RANK and LOCAL_RANK, no RANK.
    path = commit_script(
        repo,
        "node1.py",
        """
        import gitcfg
        from gitcfg.integrations.lightning import GitcfgLogger
        logger = GitcfgLogger()
        run = gitcfg.track({"a": 1})
        print(logger.version, run.recording)
        """,
    )
    env = {**ENV, "NODE_RANK": "1", "LOCAL_RANK": "0", "WORLD_SIZE": "4"}
    env["GITCFG_LIGHTNING_RUN_IDS"] = "0123456789abcdefghij"  # as rank 0 hands it on
    result = run_python(repo, path, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0123456789abcdefghij", "False"]
    assert git(repo, "branch", "--list", "gitcfg-runs") == ""


def test_a_hydra_multirun_of_fits_is_one_run_per_job_with_both_configs(
    repo: Path, tmp_path: Path
) -> None:
    pytest.importorskip("hydra")
    (repo / "conf").mkdir()
    (repo / "conf" / "config.yaml").write_text(
        "hidden: 4\n"
        "hydra:\n  callbacks:\n    gitcfg:\n"
        "      _target_: gitcfg.integrations.hydra.GitcfgCallback\n"
    )
    git(repo, "add", "conf")
    path = script(
        repo,
        """
        import hydra

        @hydra.main(version_base=None, config_path="conf", config_name="config")
        def main(cfg):
            trainer(GitcfgLogger(), max_epochs=1).fit(Net(hidden=cfg.hidden), data())

        main()
        """,
        name="app.py",
    )
    sweep = f"hydra.sweep.dir={tmp_path / 'sweep'}"
    result, _ = train(repo, path, tmp_path, "-m", "hidden=4,8", sweep)
    assert result.returncode == 0, result.stderr
    runs = gitcfg.Api(repo).runs()
    assert len(runs) == 2  # the logger records into each job's run: never merged, never doubled
    assert sorted(run.config["hidden"] for run in runs) == [4, 8]
    for run in runs:
        assert run.status == "finished"
        assert run.config["lr"] == 0.05  # Lightning's hyperparameters join the job's config
        assert run.group == str(tmp_path / "sweep")
        assert [row["_step"] for row in run.metrics() if "train_loss" in row] == [1, 3, 5, 7]


# Rows in a run that already has rows further on: none dropped (docs/integrations.md)


def test_fit_after_the_scripts_own_rows_keeps_every_row_after_them(
    repo: Path, tmp_path: Path
) -> None:
    path = script(
        repo,
        """
        import gitcfg
        run = gitcfg.track(name="mine")
        gitcfg.log({"setup": 1})
        gitcfg.log({"setup": 2})
        trainer(GitcfgLogger(), max_epochs=1).fit(Net(), data())
        gitcfg.log({"after": 1})
        """,
    )
    result, _ = train(repo, path, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "dropped" not in result.stderr
    (run,) = gitcfg.Api(repo).runs()
    rows = run.metrics()
    assert [(row["_step"], row.get("setup")) for row in rows[:2]] == [(0, 1), (1, 2)]
    fitted = [row for row in rows if "train_loss" in row]
    # Lightning's steps 1, 3, 5, 7 after the script's 2 rows: offset by 1, its gaps kept
    assert [row["trainer/global_step"] for row in fitted] == [1, 3, 5, 7]
    assert [row["_step"] for row in fitted] == [2, 4, 6, 8]
    assert "after" in rows[-1]  # the script's next log() commits the open row (wandb's rule)
    assert run.meta["metric_definitions"]["train_loss"]["step_metric"] == "trainer/global_step"


def test_two_trainers_in_one_adopted_run_keep_every_row(repo: Path, tmp_path: Path) -> None:
    path = script(
        repo,
        """
        import gitcfg
        with gitcfg.track(name="both"):
            trainer(GitcfgLogger(), max_epochs=1).fit(Net(), data())
            trainer(GitcfgLogger(), max_epochs=1).fit(Net(), data())  # steps restart at 0
        """,
    )
    result, _ = train(repo, path, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "dropped" not in result.stderr
    (run,) = gitcfg.Api(repo).runs()
    rows = [row for row in run.metrics() if "train_loss" in row]
    assert [row["trainer/global_step"] for row in rows] == [1, 3, 5, 7] * 2
    steps = [row["_step"] for row in rows]
    assert steps[:4] == [1, 3, 5, 7]  # the first fit in a fresh run: at Lightning's steps
    assert steps == sorted(set(steps))  # the second after it, in order, nothing merged


def test_resuming_from_an_older_checkpoint_keeps_the_rows_logged_again(
    repo: Path, tmp_path: Path
) -> None:
    path = script(
        repo,
        """
        if sys.argv[1:]:
            logger = GitcfgLogger(version=sys.argv[1], resume="allow")
            trainer(logger, max_epochs=2).fit(Net(), data(), ckpt_path=sys.argv[2])
        else:
            logger = GitcfgLogger()
            every = ModelCheckpoint(dirpath=OUT, save_top_k=-1, filename="{epoch}")
            trainer(logger, callbacks=[every], max_epochs=2).fit(Net(), data())
        print(logger.version)
        """,
    )
    result, out = train(repo, path, tmp_path)
    assert result.returncode == 0, result.stderr
    run_id = result.stdout.split()[-1]
    # back to the end of epoch 0: Lightning logs steps 9, 11, 13, 15 again
    result, _ = train(repo, path, tmp_path, run_id, str(out / "epoch=0.ckpt"))
    assert result.returncode == 0, result.stderr
    assert "dropped" not in result.stderr
    (run,) = gitcfg.Api(repo).runs()
    rows = [row for row in run.metrics() if "train_loss" in row]
    again = [9, 11, 13, 15]  # epoch 1 once more: kept, after the run's last row
    assert [row["trainer/global_step"] for row in rows] == [1, 3, 5, 7, 9, 11, 13, 15, *again]
    steps = [row["_step"] for row in rows]
    assert steps == sorted(set(steps))
