"""Plain config trees (dicts of dicts, lists and scalars): copying, dotted-key lookup and writes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gitcfg.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterator

Tree = dict[str, Any]
KeyPath = tuple[str, ...]


def copy_tree(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: copy_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_tree(v) for v in value]
    return value


def find_key(node: Tree, key: object) -> tuple[KeyPath, Any] | None:
    """Locate `key` in `node`: the literal key first, then as a dotted path through mappings."""
    if not isinstance(key, str):
        return None
    if key in node:
        return (key,), node[key]
    start = key.find(".")
    while start != -1:
        head, tail = key[:start], key[start + 1 :]
        child = node.get(head)
        if isinstance(child, dict):
            found = find_key(child, tail)
            if found is not None:
                return (head, *found[0]), found[1]
        start = key.find(".", start + 1)
    return None


def write_target(
    node: Tree, key: str, prefix: KeyPath = (), *, create_parents: bool = False
) -> tuple[Tree, str, KeyPath]:
    """Where a write of `key` lands: (the mapping, the key in it, the whole path).

    Through existing mappings for a dotted key, else literally. With `create_parents` (amend's
    `--set a.b=1` on a run without `a`), a missing mapping at each dot is made, from the first dot
    on, instead; a value that is not a mapping in the way leaves the key literal, for the caller
    to refuse.
    """
    if key not in node:
        start = key.find(".")
        while start != -1:
            child = node.get(key[:start])
            if isinstance(child, dict):
                return write_target(
                    child, key[start + 1 :], (*prefix, key[:start]), create_parents=create_parents
                )
            start = key.find(".", start + 1)
        head, dot, tail = key.partition(".")
        if create_parents and dot and head not in node:
            node[head] = {}
            return write_target(node[head], tail, (*prefix, head), create_parents=True)
    return node, key, (*prefix, key)


def resolve_dotted_keys(updates: Tree, prefix: KeyPath) -> Tree:
    """One source's mapping with each dotted key moved into the mapping of that source its head
    names, at every depth: `{"a.c": 2, "a": {"b": 1}}` -> `{"a": {"b": 1, "c": 2}}`.

    Without this the outcome would depend on key order, because a dotted key writes through to a
    mapping only once that mapping exists. A leaf given both ways is a ConfigError. Dotted keys
    that stay (no mapping on their way) keep their place.
    """
    # Values are fresh from normalising, so the mappings may be filled in place.
    nested = {
        key: resolve_dotted_keys(value, (*prefix, key)) if isinstance(value, dict) else value
        for key, value in updates.items()
    }
    dotted = [key for key in nested if "." in key]
    if not dotted:
        return nested
    result = {key: value for key, value in nested.items() if "." not in key}
    for key in sorted(dotted, key=lambda k: k.count(".")):  # "x.y" before "x.y.z": order-free
        target, leaf, path = write_target(result, key, prefix)
        if target is result:  # no mapping of this source on its way: an ordinary key
            result[key] = nested[key]
        elif leaf in target:
            raise ConfigError(
                f"config keys {key!r} and {leaf!r} inside {'.'.join(path[:-1])!r} name the same "
                "key; give it once"
            )
        else:
            target[leaf] = nested[key]
    return {key: result[key] for key in nested if key in result}


def dotted_keys(node: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    """Every key of `node` as a dotted path, nested ones included (`a`, `a.b`, ...)."""
    for key, value in node.items():
        yield prefix + key
        if isinstance(value, Mapping):
            yield from dotted_keys(value, prefix + key + ".")
