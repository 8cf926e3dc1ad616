"""The Config object: dict-like, checked, YAML-exact; writes merge leaf by leaf under the change rule."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from gitcfg.configuration.base import ConfigBase
from gitcfg.configuration.masking import is_recorded, is_secret, mask_tree, secret_patterns
from gitcfg.configuration.normalise import normalise_mapping
from gitcfg.configuration.sources import SOURCE_SCRIPT, source_mapping
from gitcfg.configuration.tree import (
    KeyPath,
    Tree,
    copy_tree,
    dotted_keys,
    find_key,
    resolve_dotted_keys,
    write_target,
)
from gitcfg.configuration.views import checked_view, key_commit
from gitcfg.errors import ConfigError, ConfigKeyMissing, ConfigValueChanged
from gitcfg.values import same_value

if TYPE_CHECKING:
    from collections.abc import Iterator


class Config(ConfigBase):
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
            self._root._write((), source_mapping(data), allow_val_change=True, source="script")

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
        copied: Tree = copy_tree(self._node())
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
        shown = mask_tree(self.as_dict(), (), secret_patterns(True), [])
        where = f", at={'.'.join(self._path)!r}" if self._path else ""
        return f"Config({shown!r}{where})"

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | {k for k in self._node() if k.isidentifier()})

    def __reduce__(self) -> tuple[Any, ...]:
        # copy, deepcopy and pickle give a detached Config holding the values, never the callbacks.
        return (Config, (self.as_dict(),))

    # -- writing

    def __setitem__(self, key: str, value: Any) -> None:
        self._root._write(self._path, {key: value}, allow_val_change=None, source=SOURCE_SCRIPT)

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
        mapping = source_mapping(values)
        self._root._write(
            self._path,
            mapping,
            allow_val_change=allow_val_change,
            source=SOURCE_SCRIPT,
            resolve_dotted=not isinstance(values, Config),
        )

    def setdefaults(self, values: object) -> None:
        """Set the keys (leaves, for nested mappings) of `values` that are not set yet; return None."""
        mapping = source_mapping(values)
        self._root._write(
            self._path,
            mapping,
            allow_val_change=False,
            source=SOURCE_SCRIPT,
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
        return [k for k in root._changed if is_recorded(tuple(k.split(".")), root)]

    @property
    def _sources(self) -> dict[str, str]:
        """Top-level key -> where its value came from, for run.yaml `config_sources`.

        One of `defaults:<file>`, `configs:<file>` (as typed after --configs) or `script` (track()'s
        argument, values set on gitcfg.config before it, and every later change). The amend layer
        may record `amended`.
        """
        root = self._root
        return {
            key: root._source_of.get(key, SOURCE_SCRIPT)
            for key in root._data
            if is_recorded((key,), root)
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
            return checked_view(value, key_commit(self._root, path))
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

        `resolve_dotted`: `values` is one source as the user wrote it (see resolve_dotted_keys); False
        for a tree that is already a Config's, where a literal dotted key may sit beside a mapping.
        """
        root = self._root
        updates = normalise_mapping(values, prefix, strip_dashes=not prefix)
        if resolve_dotted:
            updates = resolve_dotted_keys(updates, prefix)
        if not updates:
            return
        allow = root._changes_allowed(allow_val_change)
        node = root._view_node(prefix)
        # Rehearse on a copy so that a refused change leaves nothing half-applied; then apply for
        # real (in place, so lists the script holds stay the stored ones).
        changes: list[KeyPath] = []
        _merge_into(copy_tree(node), updates, prefix, allow, only_missing, changes)
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
            target[leaf] = copy_tree(value)
            changes.append(path)
            continue
        old = target[leaf]
        if isinstance(old, dict) and isinstance(value, dict):
            _merge_into(old, value, path, allow, only_missing, changes)
        elif only_missing or same_value(old, value):
            continue
        elif not allow:
            dotted = ".".join(path)
            secret = is_secret(path, secret_patterns(True))
            raise ConfigValueChanged(dotted, old, value, hide_values=secret)
        else:
            target[leaf] = copy_tree(value)
            changes.append(path)


def _in_interactive_session() -> bool:
    """Jupyter, IPython or the plain Python REPL: where wandb (in Jupyter) allows value changes."""
    ipython = sys.modules.get("IPython")
    if ipython is not None:
        get_ipython = getattr(ipython, "get_ipython", None)
        if callable(get_ipython) and get_ipython() is not None:
            return True
    return hasattr(sys, "ps1")
