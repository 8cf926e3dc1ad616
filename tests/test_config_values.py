"""Values in the config: normalisation to YAML types, refusals, round-trip exactness, masking."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import math
import sys
from collections import OrderedDict, namedtuple
from decimal import Decimal
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitcfg.configuration import Config, normalise_value, recorded_config
from gitcfg.errors import ConfigError, UnsupportedValue
from gitcfg.yamlio import dump_yaml, load_yaml


def round_trip(config: Config) -> object:
    recorded, _ = recorded_config(config, mask=False)
    return load_yaml(dump_yaml(recorded))


# --- normalisation -------------------------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"
    BLUE = 2


class Level(enum.IntEnum):
    LOW = 1


Pair = namedtuple("Pair", "x y")


@dataclasses.dataclass
class Optimizer:
    name: str = "adam"
    betas: tuple = (0.9, 0.999)
    path: Path = Path("/tmp/ckpt")


def test_plain_values_pass_through_unchanged():
    plain = [None, True, 0, -3, 10**40, 1e-4, float("inf"), "x", [], {}, [1, [2, {"a": None}]]]
    for value in plain:
        assert normalise_value(value, "k") == value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ((1, 2), [1, 2]),
        ({3, 1, 2}, [1, 2, 3]),
        (frozenset({"b", "a"}), ["a", "b"]),
        (Path("/data/x"), "/data/x"),
        (PurePosixPath("rel/x"), "rel/x"),
        (Color.RED, "red"),
        (Color.BLUE, 2),
        (Level.LOW, 1),
        (datetime.datetime(2024, 1, 2, 3, 4, 5), "2024-01-02T03:04:05"),
        (datetime.date(2024, 1, 2), "2024-01-02"),
        (Optimizer(), {"name": "adam", "betas": [0.9, 0.999], "path": "/tmp/ckpt"}),
        (OrderedDict(b=1, a=2), {"b": 1, "a": 2}),
        (Pair(1, 2), [1, 2]),
        (Config({"a": {"b": 1}}), {"a": {"b": 1}}),
        ({"when": datetime.date(2024, 1, 2)}, {"when": "2024-01-02"}),
    ],
    ids=repr,
)
def test_values_are_normalised_to_plain_yaml_types(value, expected):
    normalised = normalise_value(value, "k")
    assert normalised == expected
    assert type(normalised) is type(expected)


def test_a_set_of_mixed_types_is_stored_in_the_same_order_whatever_the_hash_seed():
    import subprocess

    code = (
        "from gitcfg.configuration import normalise_value as n;"
        "print(n({1, 'a', None, 'b', 2.5, float('nan'), (1, 'x'), 0, True and 7}, 'k'))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**__import__("os").environ, "PYTHONHASHSEED": str(seed)},
        ).stdout
        for seed in range(8)
    }
    # by type name, then value: NoneType, float (NaN last), int, list, str
    assert outputs == {"[None, 2.5, nan, 0, 1, 7, [1, 'x'], 'a', 'b']\n"}
    assert normalise_value({3, 1.5, 2}, "k") == [1.5, 2, 3]  # comparable items: sorted as usual


def test_numpy_scalars_and_0d_arrays_become_python_numbers():
    numpy = pytest.importorskip("numpy")
    cases = [
        (numpy.float64(1e-4), 1e-4),
        (numpy.float32(0.1), 0.1),
        (numpy.float16(0.5), 0.5),
        (numpy.int64(7), 7),
        (numpy.uint8(255), 255),
        (numpy.bool_(True), True),
        (numpy.str_("s"), "s"),
        (numpy.array(3), 3),
        (numpy.array(0.25, dtype=numpy.float32), 0.25),
        (numpy.arange(3), [0, 1, 2]),
        (numpy.array([[1.5, 2.5]]), [[1.5, 2.5]]),
        (numpy.datetime64("2024-01-02"), "2024-01-02"),
    ]
    for value, expected in cases:
        normalised = normalise_value(value, "k")
        assert normalised == expected and type(normalised) is type(expected), value


def test_float32_keeps_the_decimal_the_user_wrote():
    numpy = pytest.importorskip("numpy")
    for text in ("0.1", "3e-4", "0.9", "1e-08", "123.456"):
        value = numpy.float32(text)
        normalised = normalise_value(value, "lr")
        assert normalised == float(text)
        assert numpy.float32(normalised) == value


def test_large_numpy_arrays_are_refused_as_data():
    numpy = pytest.importorskip("numpy")
    with pytest.raises(UnsupportedValue, match="'weights'.*1001 elements"):
        normalise_value(numpy.zeros(1001), "weights")


def test_numpy_complex_and_timedelta_are_refused():
    numpy = pytest.importorskip("numpy")
    with pytest.raises(UnsupportedValue, match="complex"):
        normalise_value(numpy.complex128(1 + 2j), "z")
    with pytest.raises(UnsupportedValue, match="seconds"):
        normalise_value(numpy.timedelta64(3, "s"), "t")


def test_torch_tensors_become_python_numbers_or_lists():
    torch = pytest.importorskip("torch")
    assert normalise_value(torch.tensor(0.1), "x") == 0.1
    assert normalise_value(torch.tensor(3), "x") == 3
    assert normalise_value(torch.tensor([1.5, 0.1]), "x") == [1.5, 0.1]


def test_importing_and_normalising_loads_no_yaml_numpy_torch_omegaconf_or_absl():
    import subprocess

    code = (
        "import sys; import gitcfg.configuration as c; c.normalise_value({'a': [1.5]}, 'k');"
        "print([m for m in ('yaml', 'numpy', 'torch', 'omegaconf', 'absl') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (lambda: 0, "function"),
        (print, "function"),
        (Optimizer, "class"),
        (b"raw", "bytes"),
        (1 + 2j, "complex"),
        (Decimal("0.1"), "round"),
        (object(), ""),
        (datetime.timedelta(seconds=3), ""),
        ("\udcff", "surrogates"),
    ],
    ids=repr,
)
def test_values_without_a_faithful_yaml_form_are_refused_naming_key_and_type(value, why):
    with pytest.raises(UnsupportedValue) as raised:
        normalise_value({"inner": [value]}, "outer")
    message = str(raised.value)
    assert "'outer.inner[0]'" in message
    assert type(value).__name__ in message
    assert why in message


def test_a_refused_value_is_never_stored():
    config = Config({"lr": 0.1})
    with pytest.raises(UnsupportedValue, match="'fn'"):
        config.update({"ok": 1, "fn": print})
    assert config.as_dict() == {"lr": 0.1}


def test_a_refused_key_is_a_config_error_not_a_silent_str():
    with pytest.raises(ConfigError, match="keys must be strings"):
        normalise_value({1: "a"}, "k")


# --- round trip ----------------------------------------------------------------------------------

TRICKY_STRINGS = [
    "1e-4",
    "1E4",
    "1.0",
    ".5",
    "0x1F",
    "0o17",
    "0777",
    "1_000",
    "+1",
    "1:20",
    "-1",
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "True",
    "FALSE",
    "null",
    "Null",
    "~",
    "",
    " ",
    "  lead",
    "trail ",
    "2024-01-01",
    "2024-01-01T00:00:00Z",
    ".inf",
    "-.Inf",
    ".nan",
    "NaN",
    "- a",
    ": x",
    "a: b",
    "#c",
    "a #c",
    "'",
    '"',
    "\\",
    "{}",
    "[]",
    "*x",
    "&x",
    "!x",
    "%x",
    "@x",
    "`x",
    "|",
    ">",
    "?",
    "=",
    "<<",
    "---",
    "...",
    "\t",
    "\n",
    "a\nb",
    "\r\n",
    "\x00",
    "\x07",
    "\x85",
    "\u2028",
    "\u2029",
    "\ufeff",
    "\ufeffx",
    "é",
    "日本語",
    "🙂",
]
safe_text = st.text() | st.sampled_from(TRICKY_STRINGS)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**200), max_value=2**200)
    | st.floats(allow_nan=False)
    | safe_text
)
# Dots address nested keys and leading dashes are stripped at the top level: both tested apart.
keys = safe_text.filter(lambda k: k != "" and "." not in k)
top_keys = keys.filter(lambda k: not k.startswith("-"))
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(top_keys, values, max_size=6))
def test_recorded_yaml_loads_back_equal_to_as_dict(data):
    config = Config(data)
    assert config.as_dict() == data
    assert round_trip(config) == data


@given(st.lists(st.floats(allow_nan=False, width=32), min_size=1, max_size=5))
def test_float32_values_round_trip_to_the_same_float32(floats):
    numpy = pytest.importorskip("numpy")
    array = numpy.array(floats, dtype=numpy.float32)
    config = Config({"x": array})
    loaded = round_trip(config)["x"]
    assert numpy.array_equal(numpy.array(loaded, dtype=numpy.float32), array)


def test_non_identifier_and_dotted_keys_round_trip():
    data = {"x.y": 1, "1": 2, "with space": {"a-b": 3, "--c": 4}, "true": 5, "null": 6, "é": 7}
    config = Config(data)
    assert round_trip(config) == config.as_dict() == data


@pytest.mark.parametrize(
    "data", [{"a": {"b": 1}, "a.b": 2}, {"a.b": 2, "a": {"b": 1}}, {"m": {"a.b": 2, "a": {"b": 1}}}]
)
def test_a_dotted_key_and_a_nested_key_naming_one_leaf_in_one_source_are_refused(data):
    with pytest.raises(
        ConfigError, match=r"config keys 'a\.b' and 'b' inside '(m\.)?a' name the same key"
    ):
        Config(data)


def test_a_dotted_key_writes_into_a_mapping_of_its_source_whatever_the_order():
    expected = {"z": 0, "a": {"b": 1, "c": 2}}
    assert Config({"z": 0, "a": {"b": 1}, "a.c": 2}).as_dict() == expected
    assert Config({"z": 0, "a.c": 2, "a": {"b": 1}}).as_dict() == expected
    # no mapping on its way: an ordinary key, in its place, both ways
    assert list(Config({"x.y": 1, "q": 2, "x": 3}).as_dict()) == ["x.y", "q", "x"]
    assert Config({"x": 3, "x.y": 1}).as_dict() == {"x": 3, "x.y": 1}


def test_nan_and_infinities_are_stored_as_floats():
    config = Config({"nan": float("nan"), "inf": float("inf"), "ninf": float("-inf")})
    loaded = round_trip(config)
    assert math.isnan(loaded["nan"])
    assert loaded["inf"] == math.inf and loaded["ninf"] == -math.inf
    assert "nan: .nan" in dump_yaml(recorded_config(config)[0])


def test_setting_nan_again_is_not_a_change():
    config = Config({"x": float("nan")})
    config._mark_started()
    config.x = float("nan")
    assert config._changed_after_start == []


# --- secret masking ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    (
        "token hf_token HF_TOKEN hfToken HFToken github-token auth.token password DB_PASSWORD "
        "dbPassword passwd secret client_secret SecretValue api_key apiKey OPENAI_API_KEY ApiKey "
        "apikey WANDB_APIKEY access_key AWS_ACCESS_KEY awsAccessKey private_key"
    ).split(),
)
def test_secret_looking_keys_are_masked(key):
    recorded, masked = recorded_config(Config({key: "s3cr3t"}))
    assert recorded == {key: "***"} and masked == [key]


@pytest.mark.parametrize(
    "key",
    (
        "tokenizer max_tokens num_tokens tokens token_ids token_count pad_token bos_token "
        "eos_token_id special_tokens num_token secretary key apis access keyboard lr"
    ).split(),
)
def test_ordinary_ml_settings_are_not_masked(key):
    assert recorded_config(Config({key: "value"})) == ({key: "value"}, [])


def test_secrets_are_masked_at_any_depth_including_inside_lists():
    config = Config(
        {"a": {"b": {"c": {"api_key": "k"}}}, "endpoints": [{"url": "u", "token": "t"}]}
    )
    recorded, masked = recorded_config(config)
    assert recorded == {
        "a": {"b": {"c": {"api_key": "***"}}},
        "endpoints": [{"url": "u", "token": "***"}],
    }
    assert masked == ["a.b.c.api_key", "endpoints[0].token"]


def test_a_secret_key_holding_a_mapping_is_masked_whole():
    recorded, masked = recorded_config(Config({"secrets": {"a": 1}, "secret": {"a": 1}}))
    assert recorded == {"secrets": {"a": 1}, "secret": "***"} and masked == ["secret"]


def test_unset_secrets_are_recorded_as_unset():
    config = Config({"hf_token": None, "password": ""})
    assert recorded_config(config) == ({"hf_token": None, "password": ""}, [])


def test_mask_patterns_add_words_dotted_keys_and_globs():
    config = Config({"db_url": "u", "wandb_entity": "e", "model": {"path": "p"}, "s3_uri": "s"})
    recorded, masked = recorded_config(config, mask=["url", "model.path", "*_uri"])
    assert recorded == {
        "db_url": "***",
        "wandb_entity": "e",
        "model": {"path": "***"},
        "s3_uri": "***",
    }
    assert masked == ["db_url", "model.path", "s3_uri"]
    assert recorded_config(Config({"hf_token": "x"}), mask=["url"])[0] == {"hf_token": "***"}


def test_an_exempting_pattern_unmasks_a_false_positive():
    config = Config({"image_secret_sauce": "x", "hf_token": "t"})
    recorded, masked = recorded_config(config, mask=["!image_secret_sauce"])
    assert recorded == {"image_secret_sauce": "x", "hf_token": "***"} and masked == ["hf_token"]


def test_a_changed_secret_is_not_printed_in_the_error():
    config = Config({"hf_token": "old-secret"})
    object.__setattr__(config, "_interactive", False)
    with pytest.raises(ConfigError) as raised:
        config.hf_token = "new-secret"
    assert "secret" in str(raised.value) and "old-secret" not in str(raised.value)
    assert "new-secret" not in str(raised.value)


def test_an_unstorable_value_appended_to_a_config_list_is_refused_at_the_append():
    config = Config({"layers": [1]})
    with pytest.raises(UnsupportedValue, match=r"'layers\[1\]'"):
        config.layers.append(print)
    assert recorded_config(config)[0] == {"layers": [1]}
