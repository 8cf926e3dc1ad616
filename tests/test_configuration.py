"""The Config object: access, change rule, views, sources bookkeeping, masking. No git needed."""

from __future__ import annotations

import argparse
import copy
import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from gitcfg.configuration import Config, build_config, recorded_config
from gitcfg.errors import ConfigError, ConfigValueChanged, GitcfgError, UnsupportedValue


def make(data=None, **kwargs):
    """A Config as track() builds it, outside any interactive session."""
    kwargs.setdefault("script_path", None)
    kwargs.setdefault("cwd", Path("/nonexistent-gitcfg-test-dir"))
    kwargs.setdefault("argv", ["train.py"])
    kwargs.setdefault("interactive", False)
    return build_config(data, **kwargs)


# --- access ------------------------------------------------------------------------------------


def test_attribute_and_item_access_read_the_same_value():
    config = make({"lr": 1e-3, "model": {"depth": 18}})
    assert config.lr == config["lr"] == 1e-3
    assert config.model.depth == config["model"]["depth"] == config["model.depth"] == 18


def test_get_returns_default_for_missing_keys_and_reaches_dotted_keys():
    config = make({"model": {"depth": 18}})
    assert config.get("lr") is None
    assert config.get("lr", 3) == 3
    assert config.get("model.depth") == 18
    assert config.get("model.width", 64) == 64


def test_in_len_iteration_keys_items_values_follow_the_top_level():
    config = make({"lr": 0.1, "model": {"depth": 18}})
    assert "lr" in config and "model.depth" in config and "model.width" not in config
    assert 3 not in config
    assert len(config) == 2
    assert list(config) == ["lr", "model"]
    assert list(config.keys()) == ["lr", "model"]
    assert dict(config.items())["lr"] == 0.1
    assert [v for v in config.values()][0] == 0.1
    assert {**config}["lr"] == 0.1


def test_as_dict_is_a_plain_deep_copy():
    config = make({"model": {"depth": 18, "layers": [1, 2]}})
    plain = config.as_dict()
    assert type(plain) is dict and type(plain["model"]) is dict
    plain["model"]["depth"] = 99
    plain["model"]["layers"].append(3)
    assert config.model.depth == 18 and config.model.layers == [1, 2]


def test_a_nested_mapping_compares_equal_to_its_dict():
    config = make({"model": {"depth": 18}})
    assert config.model == {"depth": 18}
    assert config == {"model": {"depth": 18}}
    assert config != {"model": {"depth": 19}}


def test_missing_attribute_raises_attribute_error_naming_the_nearest_key():
    config = make({"learning_rate": 0.1, "epochs": 3})
    with pytest.raises(AttributeError, match="nearest: 'learning_rate'"):
        _ = config.learning_rat
    assert not hasattr(config, "batch")
    assert getattr(config, "batch", 7) == 7


def test_missing_item_raises_key_error_naming_the_nearest_key():
    config = make({"model": {"depth": 18}})
    with pytest.raises(KeyError) as raised:
        config["model.dept"]
    assert str(raised.value).startswith("config has no key 'model.dept'; nearest: 'model.depth'")
    assert isinstance(raised.value, GitcfgError)


def test_missing_key_without_near_match_lists_the_existing_keys():
    config = make({"lr": 0.1, "epochs": 3})
    with pytest.raises(KeyError, match="it has 'lr', 'epochs'"):
        config["zzzzzz"]
    with pytest.raises(KeyError, match="it is empty"):
        make()["lr"]


def test_repr_shows_the_values_and_hides_secrets():
    config = make({"lr": 0.1, "hf_token": "hf_abc"})
    assert repr(config) == "Config({'lr': 0.1, 'hf_token': '***'})"
    assert config.hf_token == "hf_abc"


def test_copy_deepcopy_and_pickle_give_detached_configs():
    config = make({"model": {"depth": 18}})
    calls = []
    config.on_change(lambda changed: calls.append(1))
    config._set_recorder(lambda persist: calls.append(2))
    for clone in (copy.copy(config), copy.deepcopy(config), pickle.loads(pickle.dumps(config))):
        assert clone == config
        clone["new"] = 1
        assert "new" not in config
    assert calls == []


# --- changes -----------------------------------------------------------------------------------


def test_new_keys_can_be_added_by_attribute_item_and_update():
    config = make({"lr": 0.1})
    config.epochs = 3
    config["dropout"] = 0.2
    config.update({"dataset": "cifar10"})
    assert config.as_dict() == {"lr": 0.1, "epochs": 3, "dropout": 0.2, "dataset": "cifar10"}


def test_changing_a_value_raises_naming_key_old_new_and_the_way_out():
    config = make({"lr": 0.1})
    with pytest.raises(ConfigValueChanged) as raised:
        config.lr = 0.2
    message = str(raised.value)
    assert "'lr'" in message and "0.1" in message and "0.2" in message
    assert "allow_val_change=True" in message
    assert (raised.value.key, raised.value.old, raised.value.new) == ("lr", 0.1, 0.2)
    with pytest.raises(ConfigValueChanged):
        config["lr"] = 0.2
    with pytest.raises(ConfigValueChanged):
        config.update({"lr": 0.2})
    assert config.lr == 0.1


def test_setting_the_same_value_again_is_accepted():
    config = make({"lr": 0.1, "model": {"depth": 18}, "layers": [1, 2]})
    config.lr = 0.1
    config.update({"model": {"depth": 18}, "layers": [1, 2]})
    assert config.as_dict() == {"lr": 0.1, "model": {"depth": 18}, "layers": [1, 2]}


def test_a_value_of_another_type_is_a_change_even_when_python_says_equal():
    config = make({"epochs": 1})
    with pytest.raises(ConfigValueChanged):
        config.epochs = 1.0
    with pytest.raises(ConfigValueChanged):
        config.epochs = True


def test_allow_val_change_lets_update_change_a_value():
    config = make({"lr": 0.1})
    config.update({"lr": 0.2}, allow_val_change=True)
    assert config.lr == 0.2


def test_a_refused_update_changes_nothing():
    config = make({"lr": 0.1})
    with pytest.raises(ConfigValueChanged):
        config.update({"new": 1, "lr": 0.2})
    assert config.as_dict() == {"lr": 0.1}


def test_interactive_sessions_allow_changes_unless_explicitly_refused():
    config = make({"lr": 0.1}, interactive=True)
    config.lr = 0.2
    assert config.lr == 0.2
    with pytest.raises(ConfigValueChanged):
        config.update({"lr": 0.3}, allow_val_change=False)


def test_nested_change_through_a_view_is_checked_and_named_by_its_dotted_key():
    config = make({"model": {"depth": 18}})
    with pytest.raises(ConfigValueChanged, match="'model.depth'"):
        config.model.depth = 34
    with pytest.raises(ConfigValueChanged, match="'model.depth'"):
        config["model"]["depth"] = 34
    config.model.width = 64
    config["model"]["heads"] = 8
    assert config.as_dict() == {"model": {"depth": 18, "width": 64, "heads": 8}}


def test_updating_a_mapping_merges_leaf_by_leaf():
    config = make({"model": {"depth": 18, "width": 64}})
    config.update({"model": {"heads": 8}})
    config.model = {"dropout": 0.1}
    assert config.model == {"depth": 18, "width": 64, "heads": 8, "dropout": 0.1}
    config.update({"model": {"depth": 34}}, allow_val_change=True)
    assert config.model.depth == 34 and config.model.width == 64


def test_a_dotted_key_writes_through_to_an_existing_mapping():
    config = make({"model": {"depth": 18}})
    config["model.width"] = 64
    assert config.as_dict() == {"model": {"depth": 18, "width": 64}}
    with pytest.raises(ConfigValueChanged, match="'model.depth'"):
        config.update({"model.depth": 34})


def test_a_dotted_key_without_a_parent_mapping_is_an_ordinary_key():
    config = make({"x.y": 5})
    assert config.as_dict() == {"x.y": 5}
    assert config["x.y"] == 5 and "x.y" in config


def test_setdefaults_sets_only_missing_keys_and_returns_none():
    config = make({"lr": 0.1, "model": {"depth": 18}})
    assert config.setdefaults({"lr": 0.5, "epochs": 3, "model": {"depth": 1, "width": 2}}) is None
    assert config.as_dict() == {"lr": 0.1, "model": {"depth": 18, "width": 2}, "epochs": 3}


def test_leading_dashes_are_stripped_from_keys():
    config = make({"--lr": 0.1})
    config["-epochs"] = 3
    config.update({"--batch-size": 32})
    assert config.as_dict() == {"lr": 0.1, "epochs": 3, "batch-size": 32}


@pytest.mark.parametrize("key", ["", "--", 1, None, ("a",)])
def test_empty_or_non_string_keys_are_refused(key):
    with pytest.raises(ConfigError, match="key"):
        make({key: 1})
    config = make()
    with pytest.raises(ConfigError):
        config[key] = 1
    if key != "--":  # dashes are stripped from top-level keys only
        with pytest.raises(ConfigError):
            config.update({"nested": {key: 1}})
    assert config.as_dict() == {}


def test_setting_a_method_name_as_an_attribute_is_refused_with_the_item_form():
    config = make()
    with pytest.raises(ConfigError, match=r"config\['update'\]"):
        config.update = 5
    config["update"] = 5
    assert config["update"] == 5 and callable(config.update)


# --- the run's hooks ---------------------------------------------------------------------------


def test_the_recorder_and_callbacks_run_after_each_accepted_change_and_on_persist():
    config = make({"lr": 0.1})
    seen = []
    config._set_recorder(lambda persist: seen.append(("run", persist, config.as_dict())))
    config.on_change(lambda changed: seen.append(("user", changed.as_dict())))
    config.epochs = 3
    config.lr = 0.1  # no change: no call
    with pytest.raises(ConfigValueChanged):
        config.lr = 0.2
    config.model = {"depth": 1}
    config.model.depth = 1
    config.persist()
    first = {"lr": 0.1, "epochs": 3}
    second = {"lr": 0.1, "epochs": 3, "model": {"depth": 1}}
    assert seen == [
        ("run", False, first),
        ("user", first),
        ("run", False, second),
        ("user", second),
        ("run", True, second),
        ("user", second),  # persist() asks the run to commit
    ]


def test_registering_callbacks_never_replaces_the_runs_recorder():
    config = make({"lr": 0.1})
    recorded, first, second = [], [], []
    config._set_recorder(lambda persist: recorded.append(1))
    config.on_change(first.append)
    config.model = {"depth": 1}
    # on a nested view, and under wandb's private name: still one more callback, not a replacement
    config.model.on_change(second.append)
    config._set_callback(second.append)
    config.persist()
    assert len(recorded) == 2 and len(first) == 2 and len(second) == 2
    assert all(c is config for c in first + second)  # called with the whole config


def test_on_change_is_a_decorator_and_callbacks_registered_before_track_stay():
    pending = Config()

    @pending.on_change
    def remember(config):
        remember.seen.append(config.as_dict())

    remember.seen = []
    built = make({"lr": 0.1}, pending=pending)
    assert built is pending
    built.epochs = 2
    assert remember.seen == [{"lr": 0.1, "epochs": 2}]


def test_persist_without_a_run_only_calls_the_callbacks(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = make({"lr": 0.1})
    config.persist()  # no run, no callback: nothing happens, nothing is written
    assert config.as_dict() == {"lr": 0.1} and list(tmp_path.iterdir()) == []
    seen = []
    config.on_change(lambda changed: seen.append(changed.as_dict()))
    config.persist()
    assert seen == [{"lr": 0.1}] and list(tmp_path.iterdir()) == []


def test_changed_after_start_lists_dotted_keys_once_in_order():
    config = make({"lr": 0.1, "model": {"depth": 18}})
    config.epochs = 1  # before start: not listed
    config._mark_started()
    config.dropout = 0.2
    config.model.width = 64
    config.update({"lr": 0.3}, allow_val_change=True)
    config.update({"dropout": 0.5}, allow_val_change=True)
    config.model.update({"depth": 34}, allow_val_change=True)
    assert config._changed_after_start == ["dropout", "model.width", "lr", "model.depth"]


def test_sources_say_where_each_top_level_key_came_from(tmp_path):
    (tmp_path / "config-defaults.yaml").write_text("batch: {desc: size, value: 32}\nlr: 0.5\n")
    (tmp_path / "a.yaml").write_text("epochs: 3\n")
    config = make(
        {"lr": 0.1},
        cwd=tmp_path,
        argv=["train.py", "--configs", "a.yaml"],
    )
    config.dropout = 0.2
    assert config._sources == {
        "batch": "defaults:config-defaults.yaml",
        "lr": "script",
        "epochs": "configs:a.yaml",
        "dropout": "script",
    }


# --- build_config basics -------------------------------------------------------------------------


def test_build_config_accepts_none_dict_namespace_and_config():
    assert make().as_dict() == {}
    assert make({"lr": 0.1}).as_dict() == {"lr": 0.1}
    assert make(argparse.Namespace(lr=0.1, name=None)).as_dict() == {"lr": 0.1, "name": None}
    assert make(Config({"lr": 0.1})).as_dict() == {"lr": 0.1}


def test_pending_values_are_merged_below_the_object_and_the_pending_config_is_returned():
    pending = Config()
    pending.seed = 1
    pending.lr = 0.5
    held = pending
    config = make({"lr": 0.1}, pending=pending)
    assert config is held
    assert config.as_dict() == {"seed": 1, "lr": 0.1}
    assert config._sources == {"seed": "script", "lr": "script"}


def test_a_failing_build_leaves_the_pending_config_untouched():
    pending = Config({"seed": 1})
    with pytest.raises(ConfigError):
        make({"f": lambda: 0}, pending=pending)
    assert pending.as_dict() == {"seed": 1}


# --- recorded copy -------------------------------------------------------------------------------


def test_recorded_config_masks_secrets_and_keeps_the_real_values_in_the_config():
    config = make({"hf_token": "hf_x", "model": {"db": {"DB_PASSWORD": "pw"}}, "lr": 0.1})
    recorded, masked = recorded_config(config)
    assert recorded == {"hf_token": "***", "model": {"db": {"DB_PASSWORD": "***"}}, "lr": 0.1}
    assert masked == ["hf_token", "model.db.DB_PASSWORD"]
    assert config.hf_token == "hf_x" and config.model.db.DB_PASSWORD == "pw"


def test_mask_false_records_secrets_as_they_are():
    config = make({"hf_token": "hf_x"})
    assert recorded_config(config, mask=False) == ({"hf_token": "hf_x"}, [])


def test_the_python_repl_counts_as_interactive(monkeypatch):
    config = build_config({"lr": 0.1}, script_path=None, cwd=Path("/nonexistent"), argv=[""])
    with pytest.raises(ConfigValueChanged):
        config.lr = 0.2
    monkeypatch.setattr(sys, "ps1", ">>> ", raising=False)  # what the REPL sets
    config.lr = 0.2
    assert config.lr == 0.2


def test_an_ipython_session_counts_as_interactive():
    pytest.importorskip("IPython")
    import subprocess

    code = (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "from gitcfg.configuration import Config\n"
        "config = Config({'lr': 0.1})\n"
        "try:\n    config.lr = 0.2\nexcept Exception as e:\n    print(type(e).__name__)\n"
        "InteractiveShell.instance()\n"
        "config.lr = 0.3\n"
        "print(config.lr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["ConfigValueChanged", "0.3"]


# --- lists read from the config ------------------------------------------------------------------


def test_a_list_reads_as_a_list_and_its_in_place_edits_are_changes_of_its_key():
    config = make({"betas": [0.9, 0.99], "model": {"layers": [64, 32]}})
    betas = config.betas
    assert isinstance(betas, list) and betas == [0.9, 0.99] and json.dumps(betas) == "[0.9, 0.99]"
    with pytest.raises(ConfigValueChanged, match=r"'betas' is already \[0.9, 0.99\].*edit a copy"):
        betas[0] = 0.5
    with pytest.raises(ConfigValueChanged, match="'model.layers'"):
        config.model.layers.append(16)
    for edit in (
        lambda v: v.extend([1]),
        lambda v: v.insert(0, 1),
        lambda v: v.pop(),
        lambda v: v.remove(0.9),
        lambda v: v.clear(),
        lambda v: v.sort(reverse=True),
        lambda v: v.reverse(),
        lambda v: v.__delitem__(0),
        lambda v: v.__iadd__([1]),
        lambda v: v.__imul__(2),
    ):
        with pytest.raises(ConfigValueChanged):
            edit(config.betas)
    betas[0] = 0.9  # the same value again is no change
    assert config.as_dict() == {"betas": [0.9, 0.99], "model": {"layers": [64, 32]}}
    assert betas == [0.9, 0.99]  # a refused edit leaves the view as it was


def test_an_allowed_in_place_edit_is_checked_normalised_and_recorded():
    config = make({"layers": [1, 2], "blocks": [{"units": 8, "acts": ["relu"]}]}, interactive=True)
    seen = []
    config._set_recorder(lambda persist: seen.append(config.as_dict()))
    config._mark_started()
    layers = config.layers
    layers.append((3, 4))  # a tuple, stored as a list
    assert layers == [1, 2, [3, 4]] and config.as_dict()["layers"] == [1, 2, [3, 4]]
    layers[2].append(5)  # a list inside the list writes through its parent
    block = config.blocks[0]
    block["units"] = 16  # so does a mapping inside a list
    block["acts"] += ["gelu"]
    assert config.as_dict() == {
        "layers": [1, 2, [3, 4, 5]],
        "blocks": [{"units": 16, "acts": ["relu", "gelu"]}],
    }
    assert len(seen) == 4 and seen[-1] == config.as_dict()
    assert config._changed_after_start == ["layers", "blocks"]
    with pytest.raises(UnsupportedValue, match=r"'layers\[3\]'"):
        layers.append(object())
    assert recorded_config(config)[0] == config.as_dict()


def test_the_stored_tree_is_never_handed_out():
    config = make({"layers": [1, [2]], "rows": [{"a": [1]}]})
    for plain in (
        copy.copy(config.layers),
        copy.deepcopy(config.layers),
        pickle.loads(pickle.dumps(config.layers)),
        config.as_dict()["layers"],
    ):
        assert type(plain) is list and plain == [1, [2]]
        plain.append(3)  # a copy: edits are the script's own
    assert type(copy.copy(config.rows[0])) is dict
    list.append(config.layers, 9)  # even around the view's checks: only the view changes
    list.append(config.layers[1], 9)
    dict.__setitem__(config.rows[0], "b", 1)
    assert config.as_dict() == {"layers": [1, [2]], "rows": [{"a": [1]}]}


def test_config_lists_dump_as_plain_yaml():
    yaml = pytest.importorskip("yaml")
    config = make({"layers": [1, {"a": [2]}]})
    assert yaml.safe_load(yaml.safe_dump({"x": config.layers})) == {"x": [1, {"a": [2]}]}
    assert "python/" not in yaml.dump(config.layers)


# --- errors from the package ------------------------------------------------------------------------


def test_the_config_errors_are_exported_from_the_package_lazily():
    code = (
        "import sys, gitcfg\n"
        "names = ['ConfigError', 'ConfigValueChanged', 'UnsupportedValue', 'GitcfgError']\n"
        "import gitcfg.errors as errors\n"
        "assert all(getattr(gitcfg, n) is getattr(errors, n) for n in names)\n"
        "assert all(n in gitcfg.__all__ for n in names)\n"
        "print(','.join(m for m in ('git', 'yaml', 'typer', 'rich') if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""
