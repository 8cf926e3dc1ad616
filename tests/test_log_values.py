"""log() values follow the config rules; what cannot be stored exactly is dropped with one warning
per key; a non-integer step is an error; log() with no data commits the open row; config values
with one canonical text form (numpy.dtype, torch.device, torch.dtype) are stored as that text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import read_branch_file, run_python, start_run, write_script

from gitcfg.configuration import Config
from gitcfg.errors import UnsupportedValue
from gitcfg.store import run_dir

np = pytest.importorskip("numpy")


def _rows(repo: Path, run_id: str) -> list[dict[str, Any]]:
    text = read_branch_file(repo, f"{run_dir(run_id)}/metrics.jsonl")
    return [json.loads(line) for line in text.splitlines()]


def _strip(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "_time"} for row in rows]


def test_numpy_values_are_stored_as_config_values_are(repo: Path) -> None:
    run = start_run(repo)
    run.log(
        {
            "f32": np.float32(0.1),
            "f16": np.float16(0.5),
            "i64": np.int64(7),
            "flag": np.bool_(True),
            "zero_d": np.array(2.5),
            "arr": np.arange(3, dtype=np.float32) / 10,
            "nested": {"m": np.float32(0.3)},
        }
    )
    run.finish()
    (row,) = _rows(repo, run.id)
    assert row["f32"] == 0.1 and row["f16"] == 0.5 and row["i64"] == 7 and row["flag"] is True
    assert row["zero_d"] == 2.5 and row["arr"] == [0.0, 0.1, 0.2] and row["nested.m"] == 0.3


def test_a_value_with_no_exact_form_is_dropped_with_one_warning_per_key(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    class Opaque:
        pass

    run = start_run(repo)
    for step in range(3):
        run.log({"loss": 1.0 / (step + 1), "obj": Opaque(), "big": np.zeros(5000)})
    run.finish()
    rows = _rows(repo, run.id)
    assert [sorted(row) for row in rows] == [["_step", "_time", "loss"]] * 3
    assert not any("object at 0x" in json.dumps(row) for row in rows)
    err = capsys.readouterr().err
    assert err.count("dropped 'obj'") == 1 and err.count("dropped 'big'") == 1
    assert "Opaque" in err and "5000 elements" in err


@pytest.mark.parametrize("step", [1.5, "3", True, 2.0])
def test_a_non_integer_step_is_an_error_naming_it(repo: Path, step: object) -> None:
    run = start_run(repo)
    with pytest.raises(TypeError, match=f"step={step!r}.*must be an integer"):
        run.log({"loss": 1.0}, step=step)  # type: ignore[arg-type]
    run.finish()


def test_a_numpy_integer_step_is_accepted(repo: Path) -> None:
    run = start_run(repo)
    run.log({"loss": 1.0}, step=np.int64(4))
    run.log({"loss": 2.0}, step=np.int32(5))
    run.finish()
    assert [row["_step"] for row in _rows(repo, run.id)] == [4, 5]


def test_log_with_no_data_commits_the_open_row(repo: Path) -> None:
    run = start_run(repo)
    run.log({"a": 1}, commit=False)
    run.log({"b": 2}, commit=False)
    run.log()  # commits {a, b} as one step
    run.log({})  # nothing open: writes nothing
    run.log({"c": 3})
    run.finish()
    assert _strip(_rows(repo, run.id)) == [{"a": 1, "b": 2, "_step": 0}, {"c": 3, "_step": 1}]


def test_module_log_with_no_data_commits_the_open_row(repo: Path) -> None:
    script = write_script(
        repo / "empty_log.py",
        """
        import gitcfg
        run = gitcfg.track({"lr": 0.1})
        gitcfg.log({"a": 1}, commit=False)
        gitcfg.log()
        gitcfg.log({"b": 2})
        print(run.id)
        """,
    )
    proc = run_python(repo, script)
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.split()[-1]
    assert _strip(_rows(repo, run_id)) == [{"a": 1, "_step": 0}, {"b": 2, "_step": 1}]


def test_config_stores_numpy_dtype_as_its_text(repo: Path) -> None:
    config = Config({"dtype": np.dtype("float32"), "kinds": [np.dtype("int64")]})
    assert config.as_dict() == {"dtype": "float32", "kinds": ["int64"]}
    with pytest.raises(UnsupportedValue, match="'model'"):
        config.model = object()


def test_config_device_idiom_records_text_in_a_real_run(repo: Path) -> None:
    script = write_script(
        repo / "device.py",
        """
        import numpy as np, gitcfg
        run = gitcfg.track({"lr": 0.1})
        gitcfg.config.dtype = np.dtype("float16")
        print(run.id)
        """,
    )
    proc = run_python(repo, script)
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.split()[-1]
    config = yaml.safe_load(read_branch_file(repo, f"{run_dir(run_id)}/config.yaml"))
    assert config == {"lr": 0.1, "dtype": "float16"}


def test_torch_device_and_dtype_are_stored_as_text(repo: Path) -> None:
    torch = pytest.importorskip("torch")
    script = write_script(
        repo / "torch_device.py",
        """
        import torch, gitcfg
        run = gitcfg.track({"lr": 0.1})
        run.config.device = torch.device("cpu")
        run.config.cuda = torch.device("cuda", 0)
        run.config.dtype = torch.float32
        run.log({"t": torch.tensor(0.1), "v": torch.tensor([1, 2])})
        print(run.id)
        """,
    )
    proc = run_python(repo, script)
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.split()[-1]
    config = yaml.safe_load(read_branch_file(repo, f"{run_dir(run_id)}/config.yaml"))
    assert config == {"lr": 0.1, "device": "cpu", "cuda": "cuda:0", "dtype": "torch.float32"}
    (row,) = _rows(repo, run_id)
    assert row["t"] == 0.1 and row["v"] == [1, 2]
    assert torch is not None
