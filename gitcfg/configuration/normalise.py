"""Normalisation: any value a script may set (numpy, torch, dataclasses, enums, ...) as plain YAML data.

Libraries are recognised through `sys.modules` or by module name: nothing is imported that the user
did not import.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Mapping
from typing import Any

from gitcfg.configuration.base import ConfigBase
from gitcfg.configuration.tree import KeyPath, Tree
from gitcfg.errors import ConfigError, UnsupportedValue

_MAX_ARRAY_ELEMENTS = 1000  # a bigger array is data, not a setting: log it or store its path


def normalise_value(value: object, key: str) -> object:
    """Return `value` as plain YAML data (dict, list, str, int, float, bool, None).

    Raises UnsupportedValue naming `key` and the type when there is no faithful form, and
    ConfigError for a mapping key that is empty or not a string.
    """
    return _normalise(value, key)


# Nested dicts and lists in a config or logged value: at most this deep (a YAML file gitcfg reads
# may nest up to yamlio.MAX_YAML_DEPTH; a dict or list that contains itself reaches this limit).
MAX_VALUE_DEPTH = 64
_nesting = threading.local()  # the depth of the normalisation under way in this thread


def _enter(prefix: str) -> int:
    """One level deeper: the depth before it. ConfigError past MAX_VALUE_DEPTH."""
    depth: int = getattr(_nesting, "depth", 0)
    if depth >= MAX_VALUE_DEPTH:
        shown = prefix if len(prefix) <= 60 else prefix[:40] + "…"
        raise ConfigError(
            f"config key {shown!r} nests dicts and lists deeper than {MAX_VALUE_DEPTH} levels "
            "(a dict or list that contains itself?)"
        )
    _nesting.depth = depth + 1
    return depth


def _normalise_items(value: Any, key: str) -> list[Any]:
    depth = _enter(key)
    try:
        return [_normalise(v, f"{key}[{i}]") for i, v in enumerate(value)]
    finally:
        _nesting.depth = depth


def normalise_mapping(mapping: Mapping[Any, Any], prefix: KeyPath, *, strip_dashes: bool) -> Tree:
    depth = _enter(".".join(prefix))
    try:
        return _normalise_entries(mapping, prefix, strip_dashes)
    finally:
        _nesting.depth = depth


def _normalise_entries(mapping: Mapping[Any, Any], prefix: KeyPath, strip_dashes: bool) -> Tree:
    result: Tree = {}
    for raw_key, value in mapping.items():
        where = f" under {'.'.join(prefix)!r}" if prefix else ""
        if not isinstance(raw_key, str):
            raise ConfigError(
                f"config key {raw_key!r}{where} is a {type(raw_key).__name__}; keys must be strings"
            )
        key = str(raw_key.lstrip("-") if strip_dashes else raw_key)
        if not key:
            raise ConfigError(f"config key {raw_key!r}{where} is empty; keys must be non-empty")
        if key in result:
            raise ConfigError(f"config keys{where} {raw_key!r} and {key!r} name the same key")
        _check_text(key, ".".join((*prefix, key)))
        result[key] = _normalise(value, ".".join((*prefix, key)))
    return result


_INT_BITS = 4000  # ints this long always print; longer ones are checked against Python's limit


def _checked_int(value: int, key: str) -> int:
    """`value`, or UnsupportedValue when Python will not write it out (more digits than
    sys.get_int_max_str_digits(), 4300 by default): YAML and JSON could not store it."""
    try:
        str(value)
    except ValueError:
        limit = sys.get_int_max_str_digits()
        raise UnsupportedValue(key, value, f"an int of more than {limit} digits") from None
    return value


def _check_text(text: str, key: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UnsupportedValue(
            key, text, "a string with unpaired surrogates, as from undecodable bytes"
        ) from None


def _normalise(value: Any, key: str) -> Any:  # noqa: C901 (one flat dispatch on type)
    kind = type(value)
    if value is None or kind is bool or kind is float:
        return value
    if kind is int:
        return value if value.bit_length() <= _INT_BITS else _checked_int(value, key)
    if kind is str:
        _check_text(value, key)
        return value
    if kind is dict:
        return normalise_mapping(value, tuple(key.split(".")), strip_dashes=False)
    if kind is list or kind is tuple:
        return _normalise_items(value, key)

    enum = sys.modules.get("enum")
    if enum is not None and isinstance(value, enum.Enum):
        return _normalise(value.value, key)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):  # str subclasses, numpy.str_
        return _normalise(str(value), key)
    if isinstance(value, int):  # int subclasses (not bool, not IntEnum: handled above)
        return _normalise(int(value), key)

    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, (numpy.generic, numpy.ndarray)):
        return _normalise_numpy(value, key, numpy)
    text = canonical_text(value)
    if text is not None:
        return text
    if isinstance(value, float):  # float subclasses, numpy.float64
        return float(value)
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return _normalise_tensor(value, key)
    module = kind.__module__.split(".")[0]
    if module in ("tensorflow", "jax", "jaxlib") and hasattr(value, "__array__") and numpy:
        return _normalise(numpy.asarray(value), key)
    if module == "omegaconf":
        return _normalise(omegaconf_container(value, key), key)
    if isinstance(value, Mapping):
        if isinstance(value, ConfigBase):
            return value.as_dict()
        return normalise_mapping(value, tuple(key.split(".")), strip_dashes=False)
    if isinstance(value, (list, tuple)):  # subclasses, namedtuples
        return _normalise_items(value, key)
    if isinstance(value, (set, frozenset)):
        return _sorted_items(_normalise_items(value, key))
    if isinstance(value, os.PathLike):
        path = os.fspath(value)
        if isinstance(path, str):
            return _normalise(path, key)
    if _is_datetime(value):
        return value.isoformat()
    if not isinstance(value, type):
        fields = record_fields(value)
        if fields is not None:
            return normalise_mapping(fields, tuple(key.split(".")), strip_dashes=False)
    raise UnsupportedValue(key, value, _why_unsupported(value))


# Types with one canonical text form, stored as that text as wandb does (`config.device =
# torch.device("cuda")`): (module, class name) -> how the text is made. Matched by name, so torch is
# never imported for the check.
_CANONICAL_TEXT_TYPES = {
    ("torch", "device"): str,  # "cuda:0", "cpu"
    ("torch", "dtype"): str,  # "torch.float32"
}


def canonical_text(value: object) -> str | None:
    """The text of a value whose type has one canonical text form (torch.device, torch.dtype,
    numpy.dtype), else None."""
    kind = type(value)
    make = _CANONICAL_TEXT_TYPES.get((kind.__module__, kind.__name__))
    if make is not None:
        return make(value)
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.dtype):
        return str(value)  # "float32"
    return None


def _sorted_items(items: list[Any]) -> list[Any]:
    """A set's items in an order that does not depend on hashing (which varies with
    PYTHONHASHSEED and, for NaN, with the object), so config.yaml is the same run to run: sorted
    when they compare (NaN aside), else by type name, then value (repr for what does not compare)."""
    if not any(isinstance(item, float) and item != item for item in items):
        try:
            return sorted(items)
        except TypeError:
            pass

    def order(item: Any) -> tuple[str, int, Any]:
        kind = type(item).__name__
        if isinstance(item, (bool, int, str)) or (isinstance(item, float) and item == item):
            return kind, 0, item
        return kind, 1, repr(item)

    return sorted(items, key=order)


def _is_datetime(value: object) -> bool:
    datetime = sys.modules.get("datetime")
    return datetime is not None and isinstance(value, (datetime.date, datetime.time))


def record_fields(value: object) -> Mapping[str, Any] | None:
    """The fields of a dataclass, attrs or pydantic instance, else None."""
    kind = type(value)
    dataclass_fields = getattr(kind, "__dataclass_fields__", None)
    if isinstance(dataclass_fields, dict):
        import dataclasses

        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}  # type: ignore[arg-type]
    attrs_fields = getattr(kind, "__attrs_attrs__", None)
    if attrs_fields is not None:
        return {a.name: getattr(value, a.name) for a in attrs_fields}
    model_dump = getattr(value, "model_dump", None)  # pydantic v2
    if callable(model_dump) and kind.__module__ != "builtins":
        dumped = model_dump()
        return dumped if isinstance(dumped, Mapping) else None
    return None


def _why_unsupported(value: object) -> str:
    if isinstance(value, (bytes, bytearray)):
        return "bytes; decode them to a str first"
    if isinstance(value, complex):
        return "complex numbers have no YAML type; store real and imag parts"
    if isinstance(value, type) or callable(value):
        return "a class or function; store its name as a str"
    decimal = sys.modules.get("decimal")
    if decimal is not None and isinstance(value, decimal.Decimal):
        return "a float would round it; store it as a str"
    return ""


def _shortest_float(value: float, struct_format: str) -> float:
    """The shortest decimal that reads back as the same float16/float32: numpy.float32(0.1) -> 0.1."""
    import math
    import struct

    if not math.isfinite(value):
        return value
    packed = struct.pack(struct_format, value)
    for digits in range(1, 18):
        candidate = float(f"{value:.{digits}g}")
        if struct.pack(struct_format, candidate) == packed:
            return candidate
    return value


def _normalise_numpy(value: Any, key: str, numpy: Any) -> object:
    if isinstance(value, numpy.ndarray):
        if value.ndim == 0:
            return _normalise(value[()], key)
        if value.size > _MAX_ARRAY_ELEMENTS:
            why = f"an array of {value.size} elements is data: log it or store its path"
            raise UnsupportedValue(key, value, why)
        return _normalise_items(value, key)
    if isinstance(value, numpy.datetime64):
        return str(numpy.datetime_as_string(value))
    if isinstance(value, numpy.floating) and value.dtype.itemsize in (2, 4):
        return _shortest_float(float(value), "e" if value.dtype.itemsize == 2 else "f")
    if isinstance(value, numpy.timedelta64):
        raise UnsupportedValue(key, value, "store a number of seconds instead")
    item = value.item()
    if type(item).__module__ == "numpy":  # longdouble, clongdouble: no Python equivalent
        raise UnsupportedValue(key, value, "no Python number holds it exactly")
    return _normalise(item, key)


def _normalise_tensor(value: Any, key: str) -> object:
    if value.numel() > _MAX_ARRAY_ELEMENTS:
        why = f"a tensor of {value.numel()} elements is data: log it or store its path"
        raise UnsupportedValue(key, value, why)
    dtype = str(value.dtype)
    data = value.detach().cpu().tolist()
    struct_format = {"torch.float16": "e", "torch.float32": "f", "torch.bfloat16": "f"}.get(dtype)
    if struct_format is not None:
        data = _map_floats(data, lambda x: _shortest_float(x, struct_format))
    return _normalise(data, key)


def _map_floats(data: Any, convert: Callable[[float], float]) -> Any:
    if isinstance(data, list):
        return [_map_floats(v, convert) for v in data]
    return convert(data) if isinstance(data, float) else data


def omegaconf_container(value: Any, key: str) -> Any:
    from omegaconf import OmegaConf

    try:
        return OmegaConf.to_container(value, resolve=True, throw_on_missing=True)
    except Exception as error:  # omegaconf raises its own hierarchy; one line is enough
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        where = f" at {key!r}" if key else ""
        raise ConfigError(f"cannot resolve the OmegaConf config{where}: {detail}") from error
