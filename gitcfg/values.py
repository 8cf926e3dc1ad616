"""Value semantics: the one meaning of "same", "equal", "a number", order, plain form and text of a
config or metric value, for every module that compares, sorts, converts or shows values.

- `same_value`: same type and equal (1, 1.0 and True differ: their YAML differs); the change rule of
  config writes, amend and sync.
- `values_equal` / `value_token`: equal as YAML values (1 equals 1.0, True does not equal 1), NaN
  equals NaN; `--where`, `--group-by` and the cache's SQL follow it.
- `is_number`: an int or float, never a bool. `order_key`: one order over any mix of values.
- `plain_value`: a metric value as plain JSON/YAML types. `format_value`: a value as a table cell.

Pure and cheap to import: no files, no git, no third-party library.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

# The scalar types stored as they are (everything else is converted or refused).
SCALARS = frozenset((float, int, str, bool, type(None)))


def same_value(old: Any, new: Any) -> bool:
    """Same type and equal, recursively; NaN is the same as NaN. (1, 1.0 and True are not the same.)

    The one meaning of "unchanged" for config values: config updates, amend and sync use it.
    """
    if type(old) is not type(new):
        return False
    if isinstance(old, dict):
        return old.keys() == new.keys() and all(same_value(old[k], new[k]) for k in old)
    if isinstance(old, list):
        return len(old) == len(new) and all(same_value(a, b) for a, b in zip(old, new, strict=True))
    if isinstance(old, float) and old != old:
        return bool(new != new)
    return bool(old == new)


def equal_or_both_nan(a: Any, b: Any) -> bool:
    """Equal by Python's ==, or both NaN: a summary value against the same one read back."""
    return bool(a == b) or (a != a and b != b)


def is_number(value: object) -> bool:
    """Return whether `value` is an int or float; a bool is not a number here."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def value_token(value: object) -> object:
    """Return a hashable stand-in for `value`: equal exactly when the YAML values are equal.

    1 and 1.0 are equal, True and 1 are not, "1" and 1 are not, lists (or tuples) compare item by
    item, mappings key by key, and NaN equals NaN (so `loss == .nan` finds diverged runs).
    """
    kind = type(value)
    if kind is str or kind is int or value is None:  # the common cases first: 100k runs pass here
        return value
    if kind is float:
        return value if value == value else ("nan",)
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, float) and math.isnan(value):
        return ("nan",)
    if isinstance(value, (int, float)):
        return value  # 1 and 1.0 hash and compare equal
    if isinstance(value, (list, tuple)):
        return ("list", tuple(value_token(item) for item in value))
    if isinstance(value, Mapping):
        return ("map", tuple(sorted((str(k), value_token(v)) for k, v in value.items())))
    return ("other", type(value).__name__, repr(value))


def values_equal(left: object, right: object) -> bool:
    """Return whether two YAML values are equal (see value_token)."""
    return value_token(left) == value_token(right)


def order_key(value: object) -> tuple[object, ...]:
    """Return a sort key that orders any mix of values: numbers, NaN, strings, bools, lists, None."""
    if value is None:
        return (9,)
    if isinstance(value, bool):
        return (3, value)
    if is_number(value):
        return (1,) if math.isnan(value) else (0, value)  # type: ignore[arg-type]
    if isinstance(value, str):
        return (2, value)
    if isinstance(value, (list, tuple)):
        return (4, tuple(order_key(item) for item in value))
    return (5, repr(value))


def plain_value(value: Any) -> Any:
    """Metric values as plain JSON/YAML types (numpy/torch values via .tolist() or .item())."""
    if type(value) in SCALARS:
        return value
    if isinstance(value, Mapping):
        return {str(k): plain_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_value(v) for v in value]
    for method in ("tolist", "item"):  # numpy arrays and scalars, torch tensors
        convert = getattr(value, method, None)
        if callable(convert):
            try:
                return plain_value(convert())
            except (TypeError, ValueError, RuntimeError):
                pass
    for kind in (bool, int, float, str):  # subclasses (IntEnum, numpy.float64) as the base type
        if isinstance(value, kind):
            return kind(value)
    return str(value)


def format_value(value: Any, digits: int | None = 4) -> str:
    """A value as a table cell or label: `0.001`, `true`, `–` for none, lists as JSON.

    Floats keep `digits` significant digits (metrics), or with digits=None their shortest exact
    form (`0.000123456`): config values and group labels, which must tell values apart.
    """
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return repr(value) if digits is None else f"{value:.{digits}g}"
    if isinstance(value, (list, dict)):
        import json

        return json.dumps(value, ensure_ascii=False)
    return str(value)
