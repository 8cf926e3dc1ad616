"""The run config: a dict-like, checked, YAML-exact `Config`, and the sources that fill it.

Named `configuration` because a submodule `gitcfg/config.py` would overwrite the package attribute
`gitcfg.config` (the module-level Config object) when imported.

Importing this module is cheap: yaml, numpy, torch, omegaconf and absl are never imported here at
module level. Values from those libraries are recognised through `sys.modules` (a numpy scalar can
only exist if the user imported numpy) or by module name, so nothing is imported that the user did not.

Decisions (see docs-config-section.md for the user-facing version):
- Sources, lowest first: config-defaults.yaml < --configs files (left to right) < values set on
  `gitcfg.config` before track() < the object passed to track() < later updates. Nested mappings merge
  leaf by leaf; a later source wins per leaf.
- Assigning or updating a mapping onto a mapping merges it leaf by leaf; the change rule applies to each
  leaf. "Same value" means same type and equal (1, 1.0 and True differ: their YAML differs), NaN equals NaN.
- NaN and infinities are stored as YAML .nan/.inf (wandb turns NaN into null); they load back as floats.
- A dotted key reads a nested value when no literal key of that name exists, and writes through to a
  nested mapping when its leading part names an existing mapping; otherwise it is an ordinary key.
- Secret-looking keys are masked in the recorded copy and in repr(); the Config keeps the real value.
  The values of secret-looking command-line options (`--hf_token X`) are masked in run.yaml's argv.
- Lists (and mappings inside lists) read from the config are checked views: an in-place edit is a
  change of the key that holds the list, under the change rule. The stored tree is never handed out.
- Within one source, a dotted key whose head names a mapping of that same source writes into it,
  whatever the order; giving a leaf both ways ({"a": {"b": 1}, "a.b": 2}) is a ConfigError.
- config_include_keys / config_exclude_keys filter every source at track() and the recorded copy.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from gitcfg.errors import (
    ConfigError,
    ConfigKeyMissing,
    ConfigValueChanged,
    UnsupportedValue,
    YamlLimitExceeded,
)
from gitcfg.secrets import MASKED, mask_url_passwords

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

__all__ = [
    "Config",
    "ConfigDict",
    "ConfigList",
    "build_config",
    "config_file_values",
    "hydra_overrides",
    "mask_command_line",
    "normalise_value",
    "recorded_config",
    "DEFAULT_SECRET_PATTERNS",
    "MASKED",
]

DEFAULTS_FILE = "config-defaults.yaml"
# Whole words of a key (split on _ - . space and camelCase); a pattern of several words must appear
# as consecutive words: `api_key` matches OPENAI_API_KEY and apiKey. `token` must end the key and
# not follow a tokenizer word: hf_token and authToken are secrets; tokenizer, max_tokens, pad_token
# and token_ids are not. `mask=["!pad_token"]` exempts a key, `mask=["url"]` adds a pattern.
DEFAULT_SECRET_PATTERNS = (
    "token",
    "password",
    "passwd",
    "secret",
    "api_key",
    "apikey",
    "access_key",
    "private_key",
    "passphrase",
    "credential",
    "credentials",
    "cookie",
    "cookies",
    "pwd",
    "auth",
)
# Words before "token" that make it a tokenizer setting (pad_token), not a credential (hf_token).
_TOKENIZER_WORDS = frozenset(
    "pad bos eos unk sep cls mask start end begin sos stop special added new default image "
    "video audio vision num max min per first last next split word sub bpe".split()
)
_MAX_ARRAY_ELEMENTS = 1000  # a bigger array is data, not a setting: log it or store its path
_SOURCE_SCRIPT = "script"

Tree = dict[str, Any]
KeyPath = tuple[str, ...]


# --- the object ----------------------------------------------------------------------------------


class Config(Mapping[str, Any]):
    """The run config: `cfg.lr`, `cfg["lr"]`, `cfg.model.depth`, `cfg.get("model.depth")`, ...

    Nested mappings come back as Config views that write through to the run's config, so
    `cfg.model.depth = 3` is checked and recorded like `cfg.lr = 3`. Lists come back as ConfigList
    views: `cfg.betas[0] = 0.5` is checked and recorded the same way (a change of `betas`).
    """

    __slots__ = (
        "_root",
        "_path",
        "_data",
        "_recorder",
        "_callbacks",
        "_started",
        "_changed",
        "_source_of",
        "_interactive",
        "_include",
        "_exclude",
    )

    _root: Config
    _path: KeyPath
    _data: Tree
    _recorder: Callable[[bool], None] | None
    _callbacks: list[Callable[[Config], object]]
    _started: bool
    _changed: list[str]
    _source_of: dict[str, str]
    _interactive: bool | None
    _include: tuple[str, ...] | None
    _exclude: tuple[str, ...] | None

    def __init__(self, data: object = None) -> None:
        _init_root(self)
        if data is not None:
            self._root._write((), _source_mapping(data), allow_val_change=True, source="script")

    # -- reading

    def __getitem__(self, key: str) -> Any:
        node = self._node()
        found = find_key(node, key)
        if found is None:
            raise ConfigKeyMissing(key, self._missing_message(key, node))
        path, value = found
        return self._wrap(self._path + path, value)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails. Private and dunder names are never keys, so copy,
        # pickle and IPython's probes get a plain AttributeError.
        if name.startswith("_"):
            raise AttributeError(name)
        node = self._node()
        found = find_key(node, name)
        if found is None:
            raise AttributeError(self._missing_message(name, node))
        path, value = found
        return self._wrap(self._path + path, value)

    def get(self, key: str, default: Any = None) -> Any:
        """Return the value at `key` (dotted keys reach nested values), or `default`."""
        found = find_key(self._node(), key)
        return default if found is None else self._wrap(self._path + found[0], found[1])

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and find_key(self._node(), key) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._node()))

    def __len__(self) -> int:
        return len(self._node())

    def as_dict(self) -> Tree:
        """Return a plain deep copy (dicts, lists, str, int, float, bool, None)."""
        copied: Tree = _copy_tree(self._node())
        return copied

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Config):
            return self.as_dict() == other.as_dict()
        if isinstance(other, Mapping):
            return self.as_dict() == {k: other[k] for k in other}
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        # Masked like the recorded copy: printing the config at the top of a training log is common.
        shown = _mask_tree(self.as_dict(), (), _secret_patterns(True), [])
        where = f", at={'.'.join(self._path)!r}" if self._path else ""
        return f"Config({shown!r}{where})"

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | {k for k in self._node() if k.isidentifier()})

    def __reduce__(self) -> tuple[Any, ...]:
        # copy, deepcopy and pickle give a detached Config holding the values, never the callbacks.
        return (Config, (self.as_dict(),))

    # -- writing

    def __setitem__(self, key: str, value: Any) -> None:
        self._root._write(self._path, {key: value}, allow_val_change=None, source=_SOURCE_SCRIPT)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_") or hasattr(type(self), name):
            raise ConfigError(
                f"cannot set config attribute {name!r} (it is private or a Config method); "
                f"use config[{name!r}] = ..."
            )
        self[name] = value

    def __delattr__(self, name: str) -> None:
        raise ConfigError(f"config keys cannot be deleted ({name!r}); use `gitcfg amend --unset`")

    def update(self, values: object, allow_val_change: bool | None = None) -> None:
        """Merge `values` (a dict or any source track() accepts) into the config, all or nothing.

        Raises ConfigValueChanged when an existing leaf would get a different value, unless
        `allow_val_change=True` or the session is interactive (Jupyter/IPython/REPL) and
        `allow_val_change` is not False.
        """
        mapping = _source_mapping(values)
        self._root._write(
            self._path,
            mapping,
            allow_val_change=allow_val_change,
            source=_SOURCE_SCRIPT,
            resolve_dotted=not isinstance(values, Config),
        )

    def setdefaults(self, values: object) -> None:
        """Set the keys (leaves, for nested mappings) of `values` that are not set yet; return None."""
        mapping = _source_mapping(values)
        self._root._write(
            self._path,
            mapping,
            allow_val_change=False,
            source=_SOURCE_SCRIPT,
            only_missing=True,
            resolve_dotted=not isinstance(values, Config),
        )

    def persist(self) -> None:
        """Write the current config to the run now, then call the on_change callbacks.

        The run commits it to the runs branch before this returns (config.yaml and run.yaml, a
        `run <id>: config persisted` commit), so another clone that pulls, or `git show`, sees it.
        Every accepted change is journaled at once anyway; persist() also commits it.
        Without a run, only the callbacks are called.
        """
        self._root._notify(persist=True)

    def on_change(self, callback: Callable[[Config], object]) -> Callable[[Config], object]:
        """Call `callback(config)` after every accepted change and on persist(); return `callback`.

        Callbacks run after the run has recorded the change, in the order registered; registering
        one never replaces the run's own recording. One registered on `gitcfg.config` before
        track() stays registered for the run. Usable as a decorator.
        """
        self._root._callbacks.append(callback)
        return callback

    # wandb's private name for registering its callback; a port that calls it registers one more
    # callback (it must not switch off the run's own recording, as wandb's replaces wandb's).
    _set_callback = on_change

    # -- the run's hooks

    def _set_recorder(self, recorder: Callable[[bool], None] | None) -> None:
        """recorder(persist) runs after every accepted change and on persist() (persist=True),
        before the callbacks; the Run journals (and on persist commits) there. Exceptions it
        raises propagate to the write that caused them."""
        object.__setattr__(self._root, "_recorder", recorder)

    def _notify(self, persist: bool = False) -> None:
        root = self._root
        if root._recorder is not None:
            root._recorder(persist)
        for callback in list(root._callbacks):
            callback(root)

    def _mark_started(self) -> None:
        """From now on, remember the keys added or changed (run.yaml `config_changed`)."""
        object.__setattr__(self._root, "_started", True)

    @property
    def _changed_after_start(self) -> list[str]:
        """Dotted keys added or changed after _mark_started, first change first, recorded keys only."""
        root = self._root
        return [k for k in root._changed if _is_recorded(tuple(k.split(".")), root)]

    @property
    def _sources(self) -> dict[str, str]:
        """Top-level key -> where its value came from, for run.yaml `config_sources`.

        One of `defaults:<file>`, `configs:<file>` (as typed after --configs) or `script` (track()'s
        argument, values set on gitcfg.config before it, and every later change). The amend layer
        may record `amended`.
        """
        root = self._root
        return {
            key: root._source_of.get(key, _SOURCE_SCRIPT)
            for key in root._data
            if _is_recorded((key,), root)
        }

    # -- internals

    def _node(self) -> Tree:
        node: Any = self._root._data
        for depth, part in enumerate(self._path):
            node = node.get(part) if isinstance(node, dict) else None
            if not isinstance(node, dict):
                dotted = ".".join(self._path[: depth + 1])
                raise ConfigError(f"config key {dotted!r} no longer holds a mapping")
        return node  # type: ignore[no-any-return]

    def _wrap(self, path: KeyPath, value: Any) -> Any:
        if isinstance(value, dict):
            view = object.__new__(Config)
            object.__setattr__(view, "_root", self._root)
            object.__setattr__(view, "_path", path)
            return view
        if isinstance(value, list):
            return _checked(value, _key_commit(self._root, path))
        return value

    def _missing_message(self, key: object, node: Tree) -> str:
        import difflib

        where = f" under {'.'.join(self._path)!r}" if self._path else ""
        candidates = list(dotted_keys(node))
        if not candidates:
            return f"config has no key {key!r}{where}; it is empty"
        near = difflib.get_close_matches(str(key), candidates, n=3, cutoff=0.6)
        if near:
            return f"config has no key {key!r}{where}; nearest: {', '.join(map(repr, near))}"
        listed = list(node)[:8]
        more = ", ..." if len(node) > 8 else ""
        return f"config has no key {key!r}{where}; it has {', '.join(map(repr, listed))}{more}"

    def _changes_allowed(self, allow_val_change: bool | None) -> bool:
        if allow_val_change is not None:
            return allow_val_change
        interactive = self._root._interactive
        return _in_interactive_session() if interactive is None else interactive

    def _write(
        self,
        prefix: KeyPath,
        values: Mapping[str, Any],
        *,
        allow_val_change: bool | None,
        source: str,
        only_missing: bool = False,
        resolve_dotted: bool = True,
    ) -> None:
        """Check, normalise and merge `values` at `prefix`; all or nothing; then notify.

        `resolve_dotted`: `values` is one source as the user wrote it (see _resolve_dotted); False
        for a tree that is already a Config's, where a literal dotted key may sit beside a mapping.
        """
        root = self._root
        updates = _normalise_mapping(values, prefix, strip_dashes=not prefix)
        if resolve_dotted:
            updates = _resolve_dotted(updates, prefix)
        if not updates:
            return
        allow = root._changes_allowed(allow_val_change)
        node = root._view_node(prefix)
        # Rehearse on a copy so that a refused change leaves nothing half-applied; then apply for
        # real (in place, so lists the script holds stay the stored ones).
        changes: list[KeyPath] = []
        _merge_into(_copy_tree(node), updates, prefix, allow, only_missing, changes)
        if not changes:
            return
        _merge_into(node, updates, prefix, allow, only_missing, [])
        for path in changes:
            root._source_of[path[0]] = source
            dotted = ".".join(path)
            if root._started and dotted not in root._changed:
                root._changed.append(dotted)
        root._notify()

    def _view_node(self, prefix: KeyPath) -> Tree:
        view = object.__new__(Config)
        object.__setattr__(view, "_root", self)
        object.__setattr__(view, "_path", prefix)
        return view._node()

    def _adopt(self, other: Config) -> None:
        """Take over `other`'s values and bookkeeping (build_config refilling the pending config)."""
        for slot in ("_data", "_source_of", "_interactive", "_include", "_exclude"):
            object.__setattr__(self, slot, getattr(other, slot))
        object.__setattr__(self, "_changed", [])
        object.__setattr__(self, "_started", False)


def _init_root(config: Config) -> None:
    setattr_ = object.__setattr__
    setattr_(config, "_root", config)
    setattr_(config, "_path", ())
    setattr_(config, "_data", {})
    setattr_(config, "_recorder", None)
    setattr_(config, "_callbacks", [])
    setattr_(config, "_started", False)
    setattr_(config, "_changed", [])
    setattr_(config, "_source_of", {})
    setattr_(config, "_interactive", None)
    setattr_(config, "_include", None)
    setattr_(config, "_exclude", None)


# --- lists read from the config ------------------------------------------------------------------

# A commit takes the new plain value of a container, writes it through the Config (checked, under
# the change rule) and returns the value as now stored.
_Commit = Callable[[Any], Any]


class _WriteThrough:
    """What ConfigList and ConfigDict share: an in-place edit is rehearsed on a plain copy, written
    through `_commit` (checked; it raises and nothing changes if refused), then shown."""

    __slots__ = ()
    _commit: _Commit

    def _edit(self, edit: Callable[[Any], Any]) -> Any:
        new = _copy_tree(self)
        result = edit(new)
        _refill(self, self._commit(new))  # type: ignore[arg-type]
        return result

    def __setitem__(self, key: Any, value: Any) -> None:
        self._edit(lambda new: new.__setitem__(key, value))

    def __delitem__(self, key: Any) -> None:
        self._edit(lambda new: new.__delitem__(key))

    def clear(self) -> None:
        self._edit(lambda new: new.clear())

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        # copy.copy, copy.deepcopy and pickle give the plain list or dict: a copy to edit freely
        plain = _copy_tree(self)
        return (type(plain), (plain,))


class ConfigList(_WriteThrough, list[Any]):
    """A list read from the config: `cfg.betas`, `cfg.layers`.

    It reads as a list. An in-place edit (`cfg.betas[0] = 0.5`, `cfg.layers.append(4)`) is a change
    of the key holding the list, written through the Config: the value is checked, the change rule
    applies (ConfigValueChanged outside interactive sessions), and the run records it. Nested lists
    and mappings inside it are views of the same kind. copy.copy, copy.deepcopy, pickle,
    `list(view)` and `cfg.as_dict()` give plain lists to edit freely.
    """

    __slots__ = ("_commit",)

    def __iadd__(self, values: Any) -> ConfigList:  # type: ignore[misc]
        self._edit(lambda new: new.extend(values))
        return self

    def __imul__(self, count: Any) -> ConfigList:  # type: ignore[misc]
        self._edit(lambda new: new.__imul__(count))
        return self

    def append(self, value: Any) -> None:
        self._edit(lambda new: new.append(value))

    def extend(self, values: Any) -> None:
        self._edit(lambda new: new.extend(values))

    def insert(self, index: Any, value: Any) -> None:
        self._edit(lambda new: new.insert(index, value))

    def pop(self, index: Any = -1) -> Any:
        return self._edit(lambda new: new.pop(index))

    def remove(self, value: Any) -> None:
        self._edit(lambda new: new.remove(value))

    def sort(self, *, key: Any = None, reverse: bool = False) -> None:
        self._edit(lambda new: new.sort(key=key, reverse=reverse))

    def reverse(self) -> None:
        self._edit(lambda new: new.reverse())


class ConfigDict(_WriteThrough, dict[str, Any]):
    """A mapping inside a list read from the config (`cfg.layers[0]`): a dict whose in-place edits
    are written through like ConfigList's. (Mappings reached by key are Config views.)"""

    __slots__ = ("_commit",)

    def __ior__(self, values: Any) -> ConfigDict:  # type: ignore[override,misc]
        self._edit(lambda new: new.update(values))
        return self

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._edit(lambda new: new.update(*args, **kwargs))

    def pop(self, *args: Any) -> Any:
        return self._edit(lambda new: new.pop(*args))

    def popitem(self) -> Any:
        return self._edit(lambda new: new.popitem())

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]


def _checked(value: Any, commit: _Commit) -> Any:
    """`value` (stored, plain) as the script sees it: lists and mappings inside lists as views."""
    if isinstance(value, list):
        view: ConfigList | ConfigDict = ConfigList()
    elif isinstance(value, dict):
        view = ConfigDict()
    else:
        return value
    object.__setattr__(view, "_commit", commit)
    _refill(view, value)
    _register_yaml_representers()
    return view


_CONTAINERS = frozenset((list, dict))


def _refill(view: ConfigList | ConfigDict, stored: Any) -> None:
    """Make `view` show `stored` again (after a write), its lists and mappings views of their own."""
    # Scalars as they are (stored values are plain types): reading a list of 1,000 numbers costs
    # ~15 us so, against ~170 us with a commit closure per item.
    if isinstance(view, ConfigList):
        if _CONTAINERS.isdisjoint(map(type, stored)):
            list.__setitem__(view, slice(None), stored)
            return
        items = [
            _checked(v, _item_commit(view, i)) if type(v) in _CONTAINERS else v
            for i, v in enumerate(stored)
        ]
        list.__setitem__(view, slice(None), items)
    else:
        dict.clear(view)
        dict.update(
            view,
            {
                k: _checked(v, _item_commit(view, k)) if type(v) in _CONTAINERS else v
                for k, v in stored.items()
            },
        )


def _key_commit(root: Config, path: KeyPath) -> _Commit:
    """Write a list's new value to the config key at `path`, as `cfg[...] = value` would."""

    def commit(new: Any) -> Any:
        parent, key = path[:-1], path[-1]
        try:
            root._write(parent, {key: new}, allow_val_change=None, source=_SOURCE_SCRIPT)
        except ConfigValueChanged as error:
            raise ConfigValueChanged(
                error.key, error.old, error.new, hide_values=error.hide_values,
                hint="an in-place edit of a list read from the config changes its key; "
                "edit a copy (list(...), copy.deepcopy(...)) to leave the config as it is",
            ) from None  # fmt: skip
        return root._view_node(parent)[key]

    return commit


def _item_commit(container: ConfigList | ConfigDict, index: Any) -> _Commit:
    """Write an item's new value by writing its container's new value."""

    def commit(new: Any) -> Any:
        whole = _copy_tree(container)
        whole[index] = new
        stored = container._commit(whole)
        _refill(container, stored)
        return stored[index]

    return commit


_yaml_registered = False


def _register_yaml_representers() -> None:
    """Let yaml.safe_dump/yaml.dump write the views as plain lists and dicts (once yaml is loaded:
    gitcfg never imports it for this). Without this a list subclass is a RepresenterError."""
    global _yaml_registered
    yaml = sys.modules.get("yaml")
    if _yaml_registered or yaml is None:
        return
    # Representer keeps its own copy of the table, so register on both classes.
    for representer in (yaml.representer.SafeRepresenter, yaml.representer.Representer):
        representer.add_representer(ConfigList, representer.represent_list)
        representer.add_representer(ConfigDict, representer.represent_dict)
    _yaml_registered = True


# --- tree helpers (plain dict/list data) ------------------------------------------------------------


def _copy_tree(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_tree(v) for v in value]
    return value


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


def _resolve_dotted(updates: Tree, prefix: KeyPath) -> Tree:
    """One source's mapping with each dotted key moved into the mapping of that source its head
    names, at every depth: `{"a.c": 2, "a": {"b": 1}}` -> `{"a": {"b": 1, "c": 2}}`.

    Without this the outcome would depend on key order, because a dotted key writes through to a
    mapping only once that mapping exists. A leaf given both ways is a ConfigError. Dotted keys
    that stay (no mapping on their way) keep their place.
    """
    # Values are fresh from normalising, so the mappings may be filled in place.
    nested = {
        key: _resolve_dotted(value, (*prefix, key)) if isinstance(value, dict) else value
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


def _merge_into(
    node: Tree,
    updates: Tree,
    prefix: KeyPath,
    allow: bool,
    only_missing: bool,
    changes: list[KeyPath],
) -> None:
    for key, value in updates.items():
        target, leaf, path = write_target(node, key, prefix)
        if leaf not in target:
            target[leaf] = _copy_tree(value)
            changes.append(path)
            continue
        old = target[leaf]
        if isinstance(old, dict) and isinstance(value, dict):
            _merge_into(old, value, path, allow, only_missing, changes)
        elif only_missing or same_value(old, value):
            continue
        elif not allow:
            dotted = ".".join(path)
            secret = _is_secret(path, _secret_patterns(True))
            raise ConfigValueChanged(dotted, old, value, hide_values=secret)
        else:
            target[leaf] = _copy_tree(value)
            changes.append(path)


def dotted_keys(node: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    """Every key of `node` as a dotted path, nested ones included (`a`, `a.b`, ...)."""
    for key, value in node.items():
        yield prefix + key
        if isinstance(value, Mapping):
            yield from dotted_keys(value, prefix + key + ".")


# --- normalisation -----------------------------------------------------------------------------


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


def _normalise_mapping(mapping: Mapping[Any, Any], prefix: KeyPath, *, strip_dashes: bool) -> Tree:
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
        return _normalise_mapping(value, tuple(key.split(".")), strip_dashes=False)
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
        return _normalise(_omegaconf_container(value, key), key)
    if isinstance(value, Config):
        return value.as_dict()
    if isinstance(value, Mapping):
        return _normalise_mapping(value, tuple(key.split(".")), strip_dashes=False)
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
        fields = _record_fields(value)
        if fields is not None:
            return _normalise_mapping(fields, tuple(key.split(".")), strip_dashes=False)
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


def _record_fields(value: object) -> Mapping[str, Any] | None:
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


def _omegaconf_container(value: Any, key: str) -> Any:
    from omegaconf import OmegaConf

    try:
        return OmegaConf.to_container(value, resolve=True, throw_on_missing=True)
    except Exception as error:  # omegaconf raises its own hierarchy; one line is enough
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        where = f" at {key!r}" if key else ""
        raise ConfigError(f"cannot resolve the OmegaConf config{where}: {detail}") from error


# --- sources -----------------------------------------------------------------------------------


def _source_mapping(source: object) -> Mapping[str, Any]:
    """Turn anything track() or update() accepts into a mapping (normalised later)."""
    import types

    if source is None:
        return {}
    if isinstance(source, Config):
        return source.as_dict()
    kind = type(source)
    if kind.__module__.split(".")[0] == "omegaconf":
        container = _omegaconf_container(source, "")
        if not isinstance(container, dict):
            raise ConfigError("an OmegaConf config must be a DictConfig, not a ListConfig")
        return container
    if isinstance(source, Mapping):
        return source
    if isinstance(source, (str, os.PathLike)):
        from pathlib import Path

        return _read_config_file(Path(source), str(source))
    if isinstance(source, types.ModuleType):
        flags = getattr(source, "FLAGS", None)  # absl.flags, tf.compat.v1.flags, tf.flags
        if flags is not None:
            return _source_mapping(flags)
        return {
            name: value
            for name, value in vars(source).items()
            if not name.startswith("_")
            and not isinstance(value, (types.ModuleType, type))
            and not callable(value)
        }
    if isinstance(source, type):
        raise ConfigError(f"pass an instance, not the class {kind.__name__}, as the config")
    flag_values = _flag_values(source)
    if flag_values is not None:
        return flag_values
    fields = _record_fields(source)
    if fields is not None:
        return fields
    attributes = getattr(source, "__dict__", None)
    if isinstance(attributes, dict):  # argparse.Namespace, SimpleNamespace, plain objects
        keep_private = kind.__name__ == "Namespace"
        return {k: v for k, v in attributes.items() if keep_private or not k.startswith("_")}
    raise ConfigError(
        f"cannot read a config from a {kind.__name__}; pass a dict, argparse.Namespace, "
        "absl FLAGS, dataclass, OmegaConf DictConfig, object with attributes, or a YAML path"
    )


def _flag_values(source: object) -> dict[str, Any] | None:
    """absl FlagValues and TensorFlow v1 flags as {name: value}, without importing either."""
    attributes = getattr(source, "__dict__", None)
    if not isinstance(attributes, dict):
        return None
    wrapped = attributes.get("__wrapped")
    if wrapped is not None and wrapped is not source:
        # TF >= 1.5: tf.compat.v1.flags.FLAGS is a _FlagValuesWrapper holding absl's FlagValues in
        # vars(obj)["__wrapped"] and delegating attribute access to it. Known by that shape, not by
        # its module, so that no TensorFlow import (or version) is needed.
        found = _flag_values(wrapped)
        if found is not None:
            return found
    by_module = getattr(source, "flags_by_module_dict", None)
    if callable(by_module) and any(
        k.__module__.split(".")[0] == "absl" for k in type(source).__mro__
    ):
        values: dict[str, Any] = {}
        for module_name, flags in by_module().items():
            # absl.logging and absl.app define verbosity, logtostderr, help, ...: not the script's
            if module_name.split(".")[0] == "absl":
                continue
            for flag in flags:
                values.setdefault(flag.name, flag.value)
        return values
    if "__flags" in attributes:  # TensorFlow < 1.5: tf.app.flags.FLAGS
        if not attributes.get("__parsed", True) and callable(getattr(source, "_parse_flags", None)):
            source._parse_flags()  # type: ignore[attr-defined]
        raw = dict(vars(source)["__flags"])
        return {name: getattr(v, "value", v) for name, v in raw.items()}
    return None


def _read_config_file(path: Path, shown: str) -> Tree:
    """Load a YAML config file: plain `key: value` or wandb's `key: {desc: ..., value: ...}`."""
    import yaml

    from gitcfg.yamlio import load_yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {shown} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read config file {shown}: {error}") from None
    try:
        data = load_yaml(text)
    except YamlLimitExceeded as error:
        line = f":{error.line}" if error.line else ""
        raise ConfigError(f"{shown}{line}: {error.problem}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).strip().splitlines()[0]
        raise ConfigError(f"{shown}{line}: invalid YAML: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{shown}: the top level must be a mapping of keys to values, "
            f"not a {type(data).__name__}"
        )
    data.pop("wandb_version", None)  # wandb's format marker
    data.pop("_wandb", None)  # wandb's internal bookkeeping
    unwrapped = {key: _unwrap_wandb_entry(value) for key, value in data.items()}
    try:
        return _resolve_dotted(_normalise_mapping(unwrapped, (), strip_dashes=True), ())
    except ConfigError as error:
        raise ConfigError(f"{shown}: {error}") from error


def _unwrap_wandb_entry(value: Any) -> Any:
    # wandb's form is exactly {value: v} or {desc: d, value: v}; any other mapping is a nested value.
    if isinstance(value, dict) and "value" in value and set(value) <= {"value", "desc"}:
        return value["value"]
    return value


def _find_defaults_file(script_path: Path | None, cwd: Path) -> Path | None:
    places = [script_path.parent] if script_path is not None else []
    places.append(cwd)
    for place in places:
        candidate = place / DEFAULTS_FILE
        if candidate.is_file():
            return candidate
    return None


def _configs_arguments(argv: Sequence[str]) -> list[str]:
    """The values given to `--configs` (`--configs a.yaml,b.yaml`, `--configs=a.yaml`; repeatable),
    as typed, in order."""
    values: list[str] = []
    args = list(argv[1:])
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":  # everything after is positional
            break
        if arg == "--configs":
            if index + 1 >= len(args):
                raise ConfigError("--configs needs a value: --configs a.yaml,b.yaml")
            values.append(args[index + 1])
            index += 2
        else:
            if arg.startswith("--configs="):
                values.append(arg.removeprefix("--configs="))
            index += 1
    return values


def _configs_paths(argv: Sequence[str]) -> list[str]:
    """The files named by `--configs a.yaml,b.yaml` / `--configs=a.yaml` (repeatable), in order."""
    return [
        part.strip()
        for value in _configs_arguments(argv)
        for part in value.split(",")
        if part.strip()
    ]


def _without_configs_argument(
    mapping: Mapping[str, Any], source: object, argv: Sequence[str]
) -> Mapping[str, Any]:
    """The script's source without a top-level `configs` key that only repeats the `--configs`
    argument gitcfg read: the script declared the option (as the README says to) for argparse's
    sake, and the files' values are recorded in its place. An argparse Namespace's `configs=None`
    (declared, not given) goes too. A `configs` key holding anything else stays."""
    keys = [k for k in mapping if isinstance(k, str) and k.lstrip("-") == "configs"]
    if not keys:
        return mapping
    given = _configs_arguments(argv)
    namespace = type(source).__name__ == "Namespace"

    def repeats_argument(value: object) -> bool:
        if value is None:
            return namespace and not given
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        if isinstance(value, str):
            return value in given
        if isinstance(value, (list, tuple)):  # action="append", or a type that splits on commas
            items = [os.fspath(v) if isinstance(v, os.PathLike) else v for v in value]
            return bool(items) and items in (given, _configs_paths(argv))
        return False

    dropped = [k for k in keys if repeats_argument(mapping[k])]
    if not dropped:
        return mapping
    return {k: v for k, v in mapping.items() if k not in dropped}


def _shown_path(path: Path, cwd: Path) -> str:
    try:
        return str(path.relative_to(cwd))
    except ValueError:
        return str(path)


def _file_sources(
    script_path: Path | None, cwd: Path, argv: Sequence[str]
) -> list[tuple[str, Mapping[str, Any]]]:
    """(label, values) of config-defaults.yaml and each --configs file, lowest first."""
    sources: list[tuple[str, Mapping[str, Any]]] = []
    defaults_file = _find_defaults_file(script_path, cwd)
    if defaults_file is not None:
        shown = _shown_path(defaults_file, cwd)
        sources.append((f"defaults:{shown}", _read_config_file(defaults_file, shown)))
    for name in _configs_paths(argv):
        path = cwd / name
        if not path.is_file():
            raise ConfigError(f"--configs file {name} does not exist (looked in {cwd})")
        sources.append((f"configs:{name}", _read_config_file(path, name)))
    return sources


def config_file_values(
    argv: Sequence[str] | None = None,
    script_path: Path | None = None,
    cwd: Path | None = None,
) -> dict[str, Any]:
    """Return config-defaults.yaml merged with the --configs files, for `parser.set_defaults(**...)`.

    What the script passes to track() wins over both files, argparse defaults included; a script
    that wants the files to set its argparse defaults (so `--configs best.yaml` reproduces a run)
    feeds them in here. Defaults: sys.argv, the __main__ script, the current directory.
    """
    from pathlib import Path

    if argv is None:
        argv = sys.argv
    if script_path is None:
        main_file = getattr(sys.modules.get("__main__"), "__file__", None)
        script_path = Path(main_file).resolve() if main_file else None
    merged = Config()
    for label, values in _file_sources(script_path, Path.cwd() if cwd is None else cwd, argv):
        merged._write((), values, allow_val_change=True, source=label)
    return merged.as_dict()


def build_config(
    config: object = None,
    *,
    pending: Config | None = None,
    script_path: Path | None,
    cwd: Path,
    argv: Sequence[str],
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    interactive: bool | None = None,
) -> Config:
    """Merge every source into one checked Config; raise ConfigError (one line) on any bad input.

    Lowest first: config-defaults.yaml (next to the script, else in cwd), the `--configs` files in
    argv order, `pending` (values set on gitcfg.config before track()), then `config`. Nested mappings
    merge leaf by leaf. When `pending` is given it is refilled and returned, so references to
    gitcfg.config taken before track() see the run's config; it is untouched if this raises.
    `interactive=None` detects Jupyter/IPython/REPL, where value changes are allowed.
    """
    if include is not None and exclude is not None:
        raise ConfigError("pass config_include_keys or config_exclude_keys, not both")
    if isinstance(include, str) or isinstance(exclude, str):
        raise ConfigError("config_include_keys / config_exclude_keys take a list of keys")
    # (label, values, whether values is one source as written: see Config._write's resolve_dotted)
    sources = [(label, values, True) for label, values in _file_sources(script_path, cwd, argv)]
    if pending is not None:
        sources.append((_SOURCE_SCRIPT, pending.as_dict(), False))
    script_values = _without_configs_argument(_source_mapping(config), config, argv)
    sources.append((_SOURCE_SCRIPT, script_values, not isinstance(config, Config)))

    result = Config()
    object.__setattr__(result, "_interactive", interactive)
    object.__setattr__(result, "_include", tuple(include) if include is not None else None)
    object.__setattr__(result, "_exclude", tuple(exclude) if exclude is not None else None)
    for label, mapping, as_written in sources:
        # Filter before checking (an excluded value need not be storable) and after (a dotted key
        # may point into a dataclass or other object that only normalising turns into a mapping).
        values = _normalise_mapping(_select(mapping, (), result), (), strip_dashes=True)
        values = _select(values, (), result)
        result._write((), values, allow_val_change=True, source=label, resolve_dotted=as_written)
    if pending is None:
        return result
    pending._adopt(result)
    return pending


# --- filtering and masking the recorded copy ------------------------------------------------------


def _is_recorded(path: KeyPath, root: Config) -> bool:
    """Whether include/exclude keep the value at `path` (dotted keys name whole subtrees)."""
    include, exclude = root._include, root._exclude
    prefixes = {".".join(path[:n]) for n in range(1, len(path) + 1)}
    if exclude is not None:
        return not prefixes & set(exclude)
    if include is not None:
        dotted = ".".join(path)
        return bool(prefixes & set(include)) or any(k.startswith(dotted + ".") for k in include)
    return True


def _select(node: Mapping[Any, Any], prefix: KeyPath, root: Config) -> Tree:
    """The part of `node` (at `prefix`) that include/exclude keep; works on raw mappings too, so an
    excluded value is dropped before it is checked (argparse's `func=` from set_defaults)."""
    if root._include is None and root._exclude is None:
        return dict(node)
    listed = (root._include or ()) + (root._exclude or ())
    kept: Tree = {}
    for raw_key, value in node.items():
        key = raw_key.lstrip("-") if isinstance(raw_key, str) and not prefix else raw_key
        if not isinstance(key, str):
            kept[raw_key] = value  # the normaliser refuses it with a proper message
            continue
        path = (*prefix, key)
        if not _is_recorded(path, root):
            continue
        dotted = ".".join(path)
        inside = any(k.startswith(dotted + ".") for k in listed)
        if (
            isinstance(value, Mapping)
            and inside
            and not (root._include and dotted in root._include)
        ):
            kept[raw_key] = _select(value, path, root)
        else:
            kept[raw_key] = value
    return kept


@functools.lru_cache(maxsize=4096)
def _key_words(key: str) -> tuple[str, ...]:
    import re

    spaced = re.sub(
        r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=[0-9])", " ", key
    )
    return tuple(word.lower() for word in re.split(r"[\s_.\-]+", spaced) if word)


def _secret_patterns(mask: bool | Sequence[str]) -> tuple[str, ...]:
    if mask is False:
        return ()
    if mask is True:
        return DEFAULT_SECRET_PATTERNS
    if isinstance(mask, str):
        mask = [mask]
    return (*DEFAULT_SECRET_PATTERNS, *mask)


def _is_secret(path: KeyPath, patterns: Sequence[str]) -> bool:
    """Whether the key at `path` looks secret: a pattern matches and no `!pattern` exempts it."""
    if not patterns:
        return False
    # Cached: the config is re-recorded on every change during a run, and matching every key
    # against every pattern (regex word splits) was ~90% of that (~0.8 ms for 40 keys).
    return _is_secret_cached(path, tuple(patterns))


@functools.lru_cache(maxsize=4096)
def _is_secret_cached(path: KeyPath, patterns: tuple[str, ...]) -> bool:
    words = _key_words(path[-1])
    dotted = ".".join(path).lower()
    if any(_key_matches(words, dotted, p[1:]) for p in patterns if p.startswith("!")):
        return False
    for pattern in patterns:
        if pattern == "token":
            # A secret token ends the key (hf_token, authToken); pad_token, bos_token, token_ids
            # and num_token are tokenizer settings that every NLP config has.
            if words[-1:] == ("token",) and (len(words) < 2 or words[-2] not in _TOKENIZER_WORDS):
                return True
        elif not pattern.startswith("!") and _key_matches(words, dotted, pattern):
            return True
    return False


def _key_matches(words: tuple[str, ...], dotted: str, pattern: str) -> bool:
    """A glob matches the dotted key, a dotted pattern equals it, else the pattern's words are
    consecutive words of the key."""
    if any(c in pattern for c in "*?["):
        import fnmatch

        return fnmatch.fnmatchcase(dotted, pattern.lower())
    if "." in pattern:
        return dotted == pattern.lower()
    wanted = _key_words(pattern)
    span = len(wanted)
    return bool(span) and any(words[i : i + span] == wanted for i in range(len(words) - span + 1))


def _mask_tree(value: Any, path: KeyPath, patterns: Sequence[str], masked: list[str]) -> Any:
    if isinstance(value, dict):
        result: Tree = {}
        for key, item in value.items():
            child = (*path, key)
            # Nothing to hide in an unset secret (None or ""), and masking it would hide that fact.
            if item not in (None, "") and _is_secret(child, patterns):
                result[key] = MASKED
                masked.append(".".join(child))
            else:
                result[key] = _mask_tree(item, child, patterns, masked)
        return result
    if isinstance(value, list) and path:
        head, last = path[:-1], path[-1]
        return [
            _mask_tree(item, (*head, f"{last}[{i}]"), patterns, masked)
            for i, item in enumerate(value)
        ]
    if isinstance(value, str) and "@" in value:  # a URL with a password, under any key
        shown = mask_url_passwords(value)
        if shown != value:
            masked.append(".".join(path))
        return shown
    return value


def secret_values(config: Config, mask: bool | Sequence[str] = True) -> list[Any]:
    """The real values that recorded_config masks (leaves of masked mappings and lists included):
    a failed run's error message is cleaned of them."""
    patterns = _secret_patterns(mask)
    found: list[Any] = []

    def walk(value: Any, path: KeyPath, secret: bool) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                child = (*path, str(key))
                walk(item, child, secret or _is_secret(child, patterns))
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item, path, secret)
        elif secret:
            found.append(value)

    walk(config.as_dict(), config._path, False)
    return found


def recorded_config(
    config: Config, mask: bool | Sequence[str] = True
) -> tuple[dict[str, Any], list[str]]:
    """Return (the config to write as config.yaml, the dotted keys that were masked in it).

    Applies config_include_keys/config_exclude_keys, re-checks the values (lists may have been
    mutated in place), and replaces secret-looking values with MASKED: the default patterns, plus
    `mask` when it is a list of patterns (words, dotted keys or globs); `mask=False` masks nothing.
    The Config keeps the real values. The caller warns on stderr about the masked keys.
    """
    root = config._root
    values = _normalise_mapping(config.as_dict(), config._path, strip_dashes=False)
    values = _select(values, config._path, root)
    masked: list[str] = []
    recorded = _mask_tree(values, config._path, _secret_patterns(mask), masked)
    return recorded, masked


def mask_command_line(
    args: Sequence[str], mask: bool | Sequence[str] = True
) -> tuple[list[str], list[str]]:
    """Return (`args` with the values of secret-looking options replaced by MASKED, their names).

    An option is secret-looking by the rule and `mask` patterns of config keys: `--hf_token X`,
    `--hf-token=X`, `-api_key=X`, and Hydra overrides `db.password=X` (also `+`/`++` prefixed).
    The value after a bare option is the next argument unless that starts with `-` (then the
    option was a flag). Nothing after `--` is touched; `mask=False` masks nothing.
    """
    import re

    patterns = _secret_patterns(mask)
    masked_args = list(args)
    names: list[str] = []
    if not patterns:
        return masked_args, names
    option = re.compile(r"(-{1,2}|\+{0,2})([A-Za-z_][\w.\-]*)(?:=(.*))?\Z", re.DOTALL)
    index = 0
    while index < len(masked_args):
        arg = masked_args[index]
        index += 1
        if arg == "--":
            break
        if "@" in arg:  # a URL with a password, in any argument
            shown = mask_url_passwords(arg)
            if shown != arg:
                masked_args[index - 1] = shown
                names.append(shown.split("=", 1)[0] if shown.startswith("-") else "a URL")
                continue
        match = option.match(arg)
        if match is None:
            continue
        dashes, name, value = match.groups()
        if value is None and not dashes.startswith("-"):
            continue  # a positional word, not an option or an override
        if not _is_secret(tuple(name.split(".")), patterns):
            continue
        if value is not None:
            if value:  # an unset secret (`--token=`) has nothing to hide
                masked_args[index - 1] = f"{dashes}{name}={MASKED}"
                names.append(f"{dashes}{name}")
        elif index < len(masked_args) and not masked_args[index].startswith("-"):
            if masked_args[index]:
                masked_args[index] = MASKED
                names.append(f"{dashes}{name}")
            index += 1
    return masked_args, names


# --- environment ---------------------------------------------------------------------------------


def _in_interactive_session() -> bool:
    """Jupyter, IPython or the plain Python REPL: where wandb (in Jupyter) allows value changes."""
    ipython = sys.modules.get("IPython")
    if ipython is not None:
        get_ipython = getattr(ipython, "get_ipython", None)
        if callable(get_ipython) and get_ipython() is not None:
            return True
    return hasattr(sys, "ps1")


def hydra_overrides() -> list[str] | None:
    """Hydra's command-line overrides (`lr=0.1 model=resnet`) when running under Hydra, else None."""
    if "hydra" not in sys.modules:
        return None
    try:
        from hydra.core.hydra_config import HydraConfig

        if not HydraConfig.initialized():
            return None
        return [str(o) for o in HydraConfig.get().overrides.task]
    except Exception:  # an older or partial Hydra: recording its overrides is best effort
        return None
