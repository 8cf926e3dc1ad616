"""Config sources: config-defaults.yaml, --configs, what the script passes, include/exclude."""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

from gitcfg.configuration import (
    Config,
    build_config,
    config_file_values,
    hydra_overrides,
    recorded_config,
)
from gitcfg.errors import ConfigError


def build(config=None, *, cwd, argv=("train.py",), **kwargs):
    kwargs.setdefault("script_path", None)
    kwargs.setdefault("interactive", False)
    return build_config(config, cwd=cwd, argv=list(argv), **kwargs)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


# --- config-defaults.yaml ------------------------------------------------------------------------


def test_defaults_file_in_wandb_form_gives_the_values(tmp_path):
    write(
        tmp_path / "config-defaults.yaml",
        """\
        wandb_version: 1
        epochs:
          desc: Number of epochs to train over
          value: 100
        batch_size:
          value: 32
        """,
    )
    assert build(cwd=tmp_path).as_dict() == {"epochs": 100, "batch_size": 32}


def test_defaults_file_in_plain_form_and_mixed_with_wandb_form(tmp_path):
    write(
        tmp_path / "config-defaults.yaml",
        """\
        lr: 1.0e-3
        model: {depth: 18, act: relu}
        epochs: {desc: passes, value: 3}
        note: {desc: only a desc}
        """,
    )
    assert build(cwd=tmp_path).as_dict() == {
        "lr": 1e-3,
        "model": {"depth": 18, "act": "relu"},
        "epochs": 3,
        "note": {"desc": "only a desc"},  # not wandb's form without a value: a nested mapping
    }


def test_defaults_file_next_to_the_script_wins_over_the_one_in_cwd(tmp_path):
    script = write(tmp_path / "project" / "train.py", "")
    write(tmp_path / "project" / "config-defaults.yaml", "where: script_dir\n")
    write(tmp_path / "config-defaults.yaml", "where: cwd\n")
    config = build(cwd=tmp_path, script_path=script)
    assert config.as_dict() == {"where": "script_dir"}
    assert config._sources == {"where": "defaults:project/config-defaults.yaml"}
    assert build(cwd=tmp_path, script_path=tmp_path / "elsewhere" / "x.py").where == "cwd"


def test_an_empty_defaults_file_gives_no_values(tmp_path):
    write(tmp_path / "config-defaults.yaml", "# nothing yet\n")
    assert build({"lr": 0.1}, cwd=tmp_path).as_dict() == {"lr": 0.1}


def test_wandb_internal_keys_and_leading_dashes_in_a_defaults_file(tmp_path):
    write(tmp_path / "config-defaults.yaml", "_wandb: {value: {}}\n--lr: {value: 0.5}\n")
    assert build(cwd=tmp_path).as_dict() == {"lr": 0.5}


def test_a_defaults_file_whose_top_level_is_not_a_mapping_is_refused(tmp_path):
    write(tmp_path / "config-defaults.yaml", "- lr\n- epochs\n")
    with pytest.raises(ConfigError) as raised:
        build(cwd=tmp_path)
    assert str(raised.value) == (
        "config-defaults.yaml: the top level must be a mapping of keys to values, not a list"
    )


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("lr: 0.1\nepochs: 3\nbad: b: c\n", 3),  # scanner error
        ("lr: 0.1\nmodel: [1, 2\n", 3),  # parser error at the end
        ("lr: 0.1\n\tepochs: 3\n", 2),  # a tab in the indentation
        ("a: 1\n b: 2\n", 2),
    ],
)
def test_malformed_yaml_is_one_line_naming_the_file_and_line(tmp_path, text, line):
    write(tmp_path / "config-defaults.yaml", text)
    with pytest.raises(ConfigError) as raised:
        build(cwd=tmp_path)
    message = str(raised.value)
    assert message.startswith(f"config-defaults.yaml:{line}: invalid YAML: ")
    assert "\n" not in message


def test_a_value_that_cannot_be_stored_names_the_file(tmp_path):
    write(tmp_path / "config-defaults.yaml", "blob: !!binary aGVsbG8=\n")
    with pytest.raises(
        ConfigError, match=r"^config-defaults.yaml: config key 'blob' holds a bytes"
    ):
        build(cwd=tmp_path)


def test_yaml_dates_become_iso_strings(tmp_path):
    write(tmp_path / "config-defaults.yaml", "day: 2024-01-02\n")
    assert build(cwd=tmp_path).day == "2024-01-02"


# --- --configs ---------------------------------------------------------------------------------


def test_configs_files_override_defaults_and_each_other_left_to_right(tmp_path):
    write(tmp_path / "config-defaults.yaml", "a: defaults\nb: defaults\nc: defaults\nd: defaults\n")
    write(tmp_path / "one.yaml", "b: one\nc: one\nd: one\n")
    write(tmp_path / "two.yaml", "c: two\nd: two\n")
    write(tmp_path / "sub" / "three.yaml", "d: {value: three}\n")
    config = build(
        cwd=tmp_path, argv=["t.py", "--configs", "one.yaml,two.yaml", "--configs=sub/three.yaml"]
    )
    assert config.as_dict() == {"a": "defaults", "b": "one", "c": "two", "d": "three"}
    assert config._sources == {
        "a": "defaults:config-defaults.yaml",
        "b": "configs:one.yaml",
        "c": "configs:two.yaml",
        "d": "configs:sub/three.yaml",
    }


def test_what_the_script_passes_wins_over_both_files(tmp_path):
    write(tmp_path / "config-defaults.yaml", "lr: 0.5\nepochs: 1\nseed: 0\n")
    write(tmp_path / "best.yaml", "lr: 0.2\nepochs: 2\n")
    pending = Config({"seed": 7})
    config = build({"lr": 0.1}, cwd=tmp_path, argv=["t.py", "--configs=best.yaml"], pending=pending)
    assert config.as_dict() == {"lr": 0.1, "epochs": 2, "seed": 7}


def test_nested_mappings_merge_leaf_by_leaf_across_sources(tmp_path):
    write(tmp_path / "config-defaults.yaml", "model: {depth: 18, width: 64, act: relu}\n")
    write(tmp_path / "big.yaml", "model: {depth: 50, norm: {kind: batch}}\n")
    config = build(
        {"model": {"width": 128, "norm": {"eps": 1e-5}}},
        cwd=tmp_path,
        argv=["t.py", "--configs", "big.yaml"],
    )
    assert config.as_dict() == {
        "model": {"depth": 50, "width": 128, "act": "relu", "norm": {"kind": "batch", "eps": 1e-5}}
    }
    assert config._sources == {"model": "script"}


def test_a_dotted_argparse_dest_overrides_one_leaf_of_a_nested_default(tmp_path):
    write(tmp_path / "config-defaults.yaml", "model: {depth: 18, width: 64}\n")
    args = argparse.Namespace(**{"model.depth": 34})
    assert build(args, cwd=tmp_path).as_dict() == {"model": {"depth": 34, "width": 64}}


def test_a_file_giving_one_key_dotted_and_nested_names_itself(tmp_path):
    write(tmp_path / "config-defaults.yaml", "model:\n  depth: 18\nmodel.depth: 50\n")
    with pytest.raises(
        ConfigError,
        match=r"^config-defaults.yaml: config keys 'model.depth' and 'depth' inside 'model' name",
    ):
        build(cwd=tmp_path)
    # a dotted key of a file still writes through to a mapping of an earlier source
    write(tmp_path / "config-defaults.yaml", "model:\n  depth: 18\n  width: 2\n")
    write(tmp_path / "exp.yaml", "model.depth: 50\n")
    built = build(cwd=tmp_path, argv=["t.py", "--configs", "exp.yaml"])
    assert built.as_dict() == {"model": {"depth": 50, "width": 2}}


def test_a_missing_configs_file_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"^--configs file nope.yaml does not exist"):
        build(cwd=tmp_path, argv=["t.py", "--configs", "nope.yaml"])


def test_configs_without_a_value_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="--configs needs a value"):
        build(cwd=tmp_path, argv=["t.py", "--configs"])


def test_configs_after_a_double_dash_is_left_to_the_script(tmp_path):
    assert build(cwd=tmp_path, argv=["t.py", "--", "--configs", "nope.yaml"]).as_dict() == {}


def test_a_malformed_configs_file_names_itself(tmp_path):
    write(tmp_path / "bad.yaml", "a: 1\nb: [\n")
    with pytest.raises(ConfigError, match=r"^bad.yaml:3: invalid YAML"):
        build(cwd=tmp_path, argv=["t.py", "--configs", "bad.yaml"])


def test_config_file_values_gives_the_merged_files_for_argparse_defaults(tmp_path):
    write(tmp_path / "config-defaults.yaml", "lr: 0.5\nepochs: 1\n")
    write(tmp_path / "best.yaml", "lr: 0.2\n")
    values = config_file_values(
        argv=["t.py", "--configs", "best.yaml"], script_path=None, cwd=tmp_path
    )
    assert values == {"lr": 0.2, "epochs": 1}


# --- the script's own argparse, for real -------------------------------------------------------


ARGPARSE_SCRIPT = """\
import argparse, json, sys
from pathlib import Path
from gitcfg.configuration import build_config, config_file_values

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--epochs", type=int, default=2)
MODE = sys.argv.pop(1)
if MODE == "declares":
    parser.add_argument("--configs", help="YAML files read by gitcfg")
    args = parser.parse_args()
elif MODE == "known":
    args, _unknown = parser.parse_known_args()
elif MODE == "set_defaults":
    parser.add_argument("--configs")
    parser.set_defaults(**config_file_values())
    args = parser.parse_args()
else:
    args = parser.parse_args()
config = build_config(args, script_path=Path(__file__), cwd=Path.cwd(), argv=sys.argv, interactive=False)
print(json.dumps({"args": vars(args), "config": config.as_dict()}))
"""


def run_script(tmp_path, *args):
    script = write(tmp_path / "train.py", ARGPARSE_SCRIPT)
    write(tmp_path / "config-defaults.yaml", "lr: {value: 0.5}\ndataset: {value: mnist}\n")
    write(tmp_path / "best.yaml", "lr: 0.01\nepochs: 9\nseed: 3\n")
    return subprocess.run(
        [sys.executable, str(script), *args], cwd=tmp_path, capture_output=True, text=True
    )


@pytest.mark.parametrize("mode", ["declares", "known"])
def test_an_argparse_script_sees_configs_and_its_own_arguments_win(tmp_path, mode):
    proc = run_script(tmp_path, mode, "--configs", "best.yaml", "--epochs", "4")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    # argparse's values (its defaults included) beat both files; the files add the other keys.
    expected = {"lr": 0.1, "epochs": 4, "dataset": "mnist", "seed": 3}
    assert {k: result["config"][k] for k in expected} == expected
    assert "configs" not in result["config"]  # the declared --configs option is gitcfg's


@pytest.mark.parametrize(
    ("declared", "argv"),
    [
        ({}, ["--configs", "best.yaml"]),
        ({}, ["--configs=best.yaml,more.yaml"]),
        ({}, []),  # declared, not given: configs=None
        ({"action": "append"}, ["--configs", "best.yaml", "--configs", "more.yaml"]),
        ({"type": lambda s: s.split(",")}, ["--configs", "best.yaml,more.yaml"]),
    ],
)
def test_the_declared_configs_option_is_not_recorded_as_a_key(tmp_path, declared, argv):
    write(tmp_path / "best.yaml", "seed: 3\n")
    write(tmp_path / "more.yaml", "depth: 4\n")
    parser = argparse.ArgumentParser()
    parser.add_argument("--configs", **declared)
    args = parser.parse_args(argv)
    recorded = build(args, cwd=tmp_path, argv=["t.py", *argv]).as_dict()
    assert "configs" not in recorded
    assert recorded.get("seed", 3) == 3


def test_a_configs_key_of_the_scripts_own_stays(tmp_path):
    write(tmp_path / "best.yaml", "seed: 3\n")
    argv = ["t.py", "--configs", "best.yaml"]
    assert build({"configs": "other.yaml"}, cwd=tmp_path, argv=argv)["configs"] == "other.yaml"
    assert build({"configs": None}, cwd=tmp_path)["configs"] is None  # a dict, not argparse's
    config = build(argparse.Namespace(configs="best.yaml"), cwd=tmp_path, argv=argv)
    config.configs = "best.yaml"  # set explicitly later: recorded
    assert config.as_dict() == {"seed": 3, "configs": "best.yaml"}


def test_an_argparse_script_that_does_not_declare_configs_fails_in_argparse(tmp_path):
    proc = run_script(tmp_path, "strict", "--configs", "best.yaml")
    assert proc.returncode == 2
    assert "unrecognized arguments: --configs best.yaml" in proc.stderr


def test_set_defaults_from_the_files_lets_them_override_argparse_defaults(tmp_path):
    proc = run_script(tmp_path, "set_defaults", "--configs", "best.yaml", "--epochs", "4")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["args"]["lr"] == 0.01 and result["args"]["epochs"] == 4
    assert {k: result["config"][k] for k in ("lr", "epochs", "dataset", "seed")} == {
        "lr": 0.01,
        "epochs": 4,
        "dataset": "mnist",
        "seed": 3,
    }


# --- what the script passes -------------------------------------------------------------------


def test_a_yaml_path_is_read_as_str_or_path(tmp_path):
    path = write(tmp_path / "run.yaml", "lr: {value: 0.3}\nmodel: {depth: 2}\n")
    assert build(str(path), cwd=tmp_path).as_dict() == {"lr": 0.3, "model": {"depth": 2}}
    assert build(path, cwd=tmp_path).as_dict() == {"lr": 0.3, "model": {"depth": 2}}
    config = Config()
    config.update(path)
    assert config.lr == 0.3


def test_a_missing_yaml_path_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="config file .*nope.yaml does not exist"):
        build(str(tmp_path / "nope.yaml"), cwd=tmp_path)


@dataclasses.dataclass
class TrainArgs:
    lr: float = 0.1
    layers: tuple = (1, 2)
    optimizer: dict = dataclasses.field(default_factory=lambda: {"name": "adam"})


def test_a_dataclass_instance_gives_its_fields(tmp_path):
    assert build(TrainArgs(), cwd=tmp_path).as_dict() == {
        "lr": 0.1,
        "layers": [1, 2],
        "optimizer": {"name": "adam"},
    }


def test_an_object_with_attributes_gives_its_public_attributes(tmp_path):
    class Settings:
        def __init__(self):
            self.lr = 0.1
            self._cache = object()

    assert build(Settings(), cwd=tmp_path).as_dict() == {"lr": 0.1}
    assert build(types.SimpleNamespace(a=1), cwd=tmp_path).as_dict() == {"a": 1}


def test_a_config_module_gives_its_public_settings(tmp_path):
    module = types.ModuleType("settings")
    module.LR = 0.1
    module.helper = lambda: 0
    module.os = types
    module._private = 1
    assert build(module, cwd=tmp_path).as_dict() == {"LR": 0.1}


def test_a_namespace_holding_a_function_is_refused_with_the_way_out(tmp_path):
    args = argparse.Namespace(lr=0.1, func=print)
    with pytest.raises(ConfigError, match="'func' holds a builtin_function_or_method"):
        build(args, cwd=tmp_path)
    assert build(args, cwd=tmp_path, exclude=["func"]).as_dict() == {"lr": 0.1}


@pytest.mark.parametrize("source", [[1, 2], 3, TrainArgs])
def test_other_objects_are_refused(tmp_path, source):
    with pytest.raises(ConfigError, match="config"):
        build(source, cwd=tmp_path)


def test_absl_flags_give_the_scripts_flags_only(tmp_path):
    flags = pytest.importorskip("absl.flags")
    pytest.importorskip("absl.logging")  # defines verbosity, logtostderr, ...: not recorded
    values = flags.FlagValues()
    flags.DEFINE_float("lr", 0.1, "learning rate", flag_values=values)
    flags.DEFINE_list("layers", ["a", "b"], "", flag_values=values)
    flags.DEFINE_enum("opt", "adam", ["adam", "sgd"], "", flag_values=values)
    values(["prog", "--lr=0.5"])
    assert build(values, cwd=tmp_path).as_dict() == {"lr": 0.5, "layers": ["a", "b"], "opt": "adam"}


def test_the_absl_flags_module_reads_its_global_flags(tmp_path):
    flags = pytest.importorskip("absl.flags")
    name = "gitcfg_test_flag_x"
    if name not in flags.FLAGS:
        flags.DEFINE_integer(name, 3, "")
    assert build(flags, cwd=tmp_path)[name] == 3
    assert "verbosity" not in build(flags.FLAGS, cwd=tmp_path)


def test_tensorflow_v1_flags_are_read_without_importing_tensorflow(tmp_path):
    class _FlagValuesWrapper:  # tf.compat.v1.flags.FLAGS: wraps absl's FlagValues
        def __init__(self, wrapped):
            self.__dict__["__wrapped"] = wrapped

    _FlagValuesWrapper.__module__ = "tensorflow.python.platform.flags"

    class _FlagValues:  # TensorFlow < 1.5: tf.app.flags.FLAGS
        def __init__(self):
            self.__dict__["__flags"] = {"lr": 0.1, "steps": 10}
            self.__dict__["__parsed"] = False

        def _parse_flags(self):
            self.__dict__["__flags"]["steps"] = 20
            self.__dict__["__parsed"] = True

    assert build(_FlagValues(), cwd=tmp_path).as_dict() == {"lr": 0.1, "steps": 20}
    assert "tensorflow" not in sys.modules
    absl_flags = pytest.importorskip("absl.flags")
    values = absl_flags.FlagValues()
    absl_flags.DEFINE_integer("steps", 5, "", flag_values=values)
    values(["prog"])
    assert build(_FlagValuesWrapper(values), cwd=tmp_path).as_dict() == {"steps": 5}


class _FlagValuesWrapper:
    """TensorFlow's tf.compat.v1.flags.FLAGS class, as tensorflow/python/platform/flags.py
    defines it (TF >= 1.5), under another module: gitcfg must know it by its shape."""

    def __init__(self, flags_object):
        self.__dict__["__wrapped"] = flags_object

    def __getattribute__(self, name):
        if name == "__dict__":
            return super().__getattribute__(name)
        return self.__dict__["__wrapped"].__getattribute__(name)

    def __getattr__(self, name):
        wrapped = self.__dict__["__wrapped"]
        if not wrapped.is_parsed():
            wrapped(sys.argv)
        return wrapped.__getattr__(name)

    def __setattr__(self, name, value):
        return self.__dict__["__wrapped"].__setattr__(name, value)

    def __delattr__(self, name):
        return self.__dict__["__wrapped"].__delattr__(name)

    def __dir__(self):
        return self.__dict__["__wrapped"].__dir__()

    def __getitem__(self, name):
        return self.__dict__["__wrapped"].__getitem__(name)

    def __setitem__(self, name, flag):
        return self.__dict__["__wrapped"].__setitem__(name, flag)

    def __len__(self):
        return self.__dict__["__wrapped"].__len__()

    def __iter__(self):
        return self.__dict__["__wrapped"].__iter__()

    def __str__(self):
        return self.__dict__["__wrapped"].__str__()

    def __call__(self, *args, **kwargs):
        return self.__dict__["__wrapped"].__call__(*args, **kwargs)


def test_tensorflow_v1_flags_are_recorded_like_absl_flags_whatever_their_module(tmp_path):
    absl_flags = pytest.importorskip("absl.flags")
    values = absl_flags.FlagValues()
    absl_flags.DEFINE_float("lr", 0.1, "", flag_values=values)
    absl_flags.DEFINE_integer("batch_size", 32, "", flag_values=values)
    flags = _FlagValuesWrapper(values)
    flags(["train.py", "--batch_size=64"])
    assert flags.batch_size == 64  # the stand-in delegates as TensorFlow's does
    assert build(flags, cwd=tmp_path).as_dict() == {"lr": 0.1, "batch_size": 64}
    module = types.ModuleType("tf_flags")  # `config=tf.compat.v1.flags`: the module's FLAGS
    module.FLAGS = flags
    assert build(module, cwd=tmp_path).as_dict() == {"lr": 0.1, "batch_size": 64}
    assert "tensorflow" not in sys.modules


def test_omegaconf_configs_are_resolved_and_merge_with_defaults(tmp_path):
    omegaconf = pytest.importorskip("omegaconf")
    write(tmp_path / "config-defaults.yaml", "model: {depth: 18, act: relu}\n")
    cfg = omegaconf.OmegaConf.create(
        {"base_lr": 0.1, "lr": "${base_lr}", "model": {"depth": 50, "name": "r${model.depth}"}}
    )
    assert build(cfg, cwd=tmp_path).as_dict() == {
        "model": {"depth": 50, "act": "relu", "name": "r50"},
        "base_lr": 0.1,
        "lr": 0.1,
    }
    nested = build({"sub": omegaconf.OmegaConf.create({"a": [1, "${..b}"], "b": 2})}, cwd=tmp_path)
    assert nested.sub == {"a": [1, 2], "b": 2}


@pytest.mark.parametrize(
    ("data", "message"),
    [({"a": "???"}, "Missing mandatory value"), ({"a": "${nope}"}, "nope")],
)
def test_omegaconf_missing_values_and_broken_interpolations_are_one_line_errors(
    tmp_path, data, message
):
    omegaconf = pytest.importorskip("omegaconf")
    with pytest.raises(ConfigError, match=f"^cannot resolve the OmegaConf config: .*{message}"):
        build(omegaconf.OmegaConf.create(data), cwd=tmp_path)


def test_hydra_overrides_are_none_outside_hydra():
    assert hydra_overrides() is None


# --- include / exclude -------------------------------------------------------------------------


def test_exclude_drops_keys_from_every_source_and_from_the_record(tmp_path):
    write(tmp_path / "config-defaults.yaml", "data_dir: /d\nlr: 0.5\nmodel: {depth: 1, seed: 2}\n")
    config = build(
        {"lr": 0.1, "debug": True}, cwd=tmp_path, exclude=["data_dir", "debug", "model.seed"]
    )
    assert config.as_dict() == {"lr": 0.1, "model": {"depth": 1}}
    config.debug = False  # set later: kept for the script, left out of the record
    assert config.debug is False
    assert recorded_config(config)[0] == {"lr": 0.1, "model": {"depth": 1}}
    assert config._sources == {"lr": "script", "model": "defaults:config-defaults.yaml"}


def test_include_keeps_only_the_listed_keys(tmp_path):
    config = build(
        {"lr": 0.1, "epochs": 3, "model": {"depth": 1, "seed": 2}, "noise": 1},
        cwd=tmp_path,
        include=["lr", "model.depth"],
    )
    assert config.as_dict() == {"lr": 0.1, "model": {"depth": 1}}
    config._mark_started()
    config.extra = 1
    config.model.width = 3
    assert recorded_config(config)[0] == {"lr": 0.1, "model": {"depth": 1}}
    assert config._changed_after_start == []


def test_include_and_exclude_together_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="not both"):
        build({"a": 1}, cwd=tmp_path, include=["a"], exclude=["b"])


HYDRA_APP = """\
import json, sys
from pathlib import Path
import hydra
from gitcfg.configuration import build_config, hydra_overrides

@hydra.main(version_base=None, config_path=".", config_name="conf")
def main(cfg):
    config = build_config(cfg, script_path=Path(__file__), cwd=Path.cwd(), argv=sys.argv)
    print(json.dumps({"config": config.as_dict(), "overrides": hydra_overrides()}))

main()
"""


def test_a_hydra_app_records_its_resolved_config_and_overrides(tmp_path):
    pytest.importorskip("hydra")
    write(tmp_path / "app.py", HYDRA_APP)
    write(tmp_path / "conf.yaml", "lr: 0.1\nmodel:\n  depth: 18\n  name: r${model.depth}\n")
    proc = subprocess.run(
        [sys.executable, "app.py", "lr=0.5", "model.depth=50", f"hydra.run.dir={tmp_path}/out"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == {
        "config": {"lr": 0.5, "model": {"depth": 50, "name": "r50"}},
        "overrides": ["lr=0.5", "model.depth=50"],
    }
