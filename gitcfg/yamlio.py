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


_STR, _MAP, _SEQ, _NULL = (f"tag:yaml.org,2002:{t}" for t in ("str", "map", "seq", "null"))
_resolved: dict[tuple[str, tuple[bool, bool]], str] = {}


def _fast_loader() -> Any:
    """A libyaml parser with the safe constructor whose scalar tag resolution is memoised."""
    import yaml
    from yaml.nodes import ScalarNode

    if not getattr(yaml, "__with_libyaml__", False):
        return None
    from yaml._yaml import CParser  # type: ignore[import-not-found,unused-ignore]

    class FastSafeLoader(CParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):  # type: ignore[misc,unused-ignore]
        def __init__(self, stream: Any) -> None:
            CParser.__init__(self, stream)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

        def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
            # A plain scalar's tag depends only on its text (no path resolvers are registered),
            # and run files repeat the same keys and many values.
            if kind is ScalarNode:
                key = (value, implicit)
                tag = _resolved.get(key)
                if tag is None:
                    if len(_resolved) > 100_000:
                        _resolved.clear()
                    tag = _resolved[key] = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call,unused-ignore]
                return tag
            return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call,unused-ignore]

    return FastSafeLoader


def _construct(loader: Any, node: Any) -> Any:
    """Build plain strings, mappings and sequences directly; every other tag (int, float, bool,
    null, timestamp, binary, set, ...) goes through the safe constructor as yaml.load would."""
    tag = node.tag
    if tag == _STR:
        return node.value
    if tag == _MAP and node.id == "mapping":
        out = {}
        for key_node, value_node in node.value:
            if key_node.tag == _STR:
                key = key_node.value
            elif key_node.tag.endswith((":merge", ":value")):  # `<<` and `=` need flatten_mapping
                raise _Fallback
            else:
                key = _construct(loader, key_node)
            out[key] = _construct(loader, value_node)
        return out
    if tag == _SEQ and node.id == "sequence":
        return [_construct(loader, item) for item in node.value]
    return loader.construct_object(node, deep=True)


class _Fallback(Exception):
    pass


_FAST_LOADER: Any = ...


def load_yaml_fast(text: str | bytes) -> Any:
    """Parse YAML to a value equal to load_yaml's, about twice as fast on run files.

    libyaml composes the nodes; strings, mappings and sequences are built directly and any other
    node by PyYAML's safe constructor. Anything unusual (merge keys, recursive aliases, errors)
    is parsed again by load_yaml, so the result, or the error, is load_yaml's. (An alias gives an
    equal copy here, the same object there.)
    """
    global _FAST_LOADER
    if _FAST_LOADER is ...:
        _FAST_LOADER = _fast_loader()
    if _FAST_LOADER is None:
        return load_yaml(text)
    loader = _FAST_LOADER(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            return _construct(loader, node)
    except Exception:  # noqa: S110 - load_yaml below raises the proper error, or copes
        pass
    finally:
        loader.dispose()
    return load_yaml(text)
