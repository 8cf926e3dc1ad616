"""YAML text in and out: safe, plain, libyaml when available, insertion order kept."""

from __future__ import annotations

from typing import Any


def _dumper() -> Any:
    import yaml

    return getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _loader() -> Any:
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def dump_yaml(data: Any) -> str:
    """Return block-style YAML for `data` (plain types only), keys in insertion order.

    libyaml's dumper is used when present: the pure-Python one turns U+0085 into a space.
    """
    import yaml

    if data == {}:
        return "{}\n"
    return yaml.dump(
        data,
        Dumper=_dumper(),
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=1_000_000,
    )


def load_yaml(text: str | bytes) -> Any:
    """Parse YAML with the safe loader (C version when available)."""
    import yaml

    return yaml.load(text, Loader=_loader())
