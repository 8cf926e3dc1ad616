"""The values `log()` takes: the config rules, media values set aside, the rest dropped.

A logged value is stored as config values are (configuration.normalise_value): numpy and torch
scalars as Python numbers (float32 as the shortest decimal that reads back the same), 0-d arrays
as their item, arrays and tensors of up to 1000 elements as lists, torch.device/dtype as text.
A value with no exact form (an arbitrary object, a large array) is dropped from the row and
reported, never stored as its str(). Media values (gitcfg.Image, Table, ...) are handed back for
the run to store as files. Pure: no files, no git.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

from gitcfg.configuration import MAX_VALUE_DEPTH
from gitcfg.errors import ConfigError
from gitcfg.values import SCALARS


def flatten_values(
    out: dict[str, Any],
    data: Mapping[Any, Any],
    prefix: str,
    media: list[tuple[str, Any]],
    dropped: list[tuple[str, str]],
    depth: int = 0,
) -> None:
    """Put `data`'s values into `out` under dotted keys (`{"val": {"acc": 1}}` -> `val.acc`).

    Media values (or lists of them) go to `media` as (key, value); values that cannot be stored
    exactly go to `dropped` as (key, why).
    """
    for key, value in data.items():
        name = f"{prefix}{key}"
        if type(value) in SCALARS and (type(value) is not int or value.bit_length() <= 4000):
            out[name] = value
        elif isinstance(value, Mapping):
            if depth >= MAX_VALUE_DEPTH:  # a dict that contains itself ends here
                dropped.append((name, f"a dict nested deeper than {MAX_VALUE_DEPTH} levels"))
            else:
                flatten_values(out, value, name + ".", media, dropped, depth + 1)
        elif _is_media(value):
            media.append((name, value))
        else:
            try:
                out[name] = plain_metric(value, name)
            except (ValueError, ConfigError) as e:  # UnsupportedValue is a ConfigError
                dropped.append((name, _reason(e, value)))


def plain_metric(value: Any, key: str) -> Any:
    """`value` as plain JSON data by the config rules; ValueError when it has no exact form."""
    from gitcfg.configuration import normalise_value

    return normalise_value(value, key)


def _reason(error: Exception, value: Any) -> str:
    """`a value of type numpy.ndarray (an array of 5000 elements is data: ...)`."""
    kind = f"{type(value).__module__}.{type(value).__qualname__}".removeprefix("builtins.")
    why = getattr(error, "why", None)
    if why is None:  # not an UnsupportedValue: its message says what is wrong
        why = str(error)
    return f"a value of type {kind}" + (f" ({why})" if why else "")


def _is_media(value: Any) -> bool:
    from gitcfg.media import Media

    if isinstance(value, Media):
        return True
    return (
        isinstance(value, (list, tuple))
        and bool(value)
        and all(isinstance(v, Media) for v in value)
    )


def checked_step(step: Any) -> int:
    """`step` as an int; TypeError naming it when it is not an integer (1.5, "3", True)."""
    if isinstance(step, bool):
        raise TypeError(f"log(step={step!r}): the step must be an integer, not a bool")
    try:
        return operator.index(step)
    except TypeError:
        raise TypeError(
            f"log(step={step!r}): the step must be an integer, not a {type(step).__name__}"
        ) from None


def watched_models(models: Any) -> list[dict[str, Any]]:
    """`{"class": "Net", "parameters": 1234}` for each model (or list of models) with `.parameters()`;
    counted with `p.numel()`, so torch is not imported."""
    items = models if isinstance(models, (list, tuple)) else [models]
    found = []
    for model in items:
        parameters = getattr(model, "parameters", None)
        if not callable(parameters):
            continue
        try:
            count = sum(_size(p) for p in parameters())
        except Exception:  # an odd object: record the class without a count
            count = None
        found.append({"class": type(model).__name__, "parameters": count})
    return found


def _size(parameter: Any) -> int:
    numel = getattr(parameter, "numel", None)  # torch; numpy arrays have .size
    return int(numel() if callable(numel) else parameter.size)
