"""Lists (and mappings inside lists) read from the config: views whose in-place edits are checked
changes of the key that holds them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gitcfg.configuration.base import SOURCE_SCRIPT, ConfigBase
from gitcfg.configuration.tree import copy_tree
from gitcfg.errors import ConfigValueChanged

if TYPE_CHECKING:
    from gitcfg.configuration.tree import KeyPath

# the change rule) and returns the value as now stored.
_Commit = Callable[[Any], Any]


class _WriteThrough:
    """What ConfigList and ConfigDict share: an in-place edit is rehearsed on a plain copy, written
    through `_commit` (checked; it raises and nothing changes if refused), then shown."""

    __slots__ = ()
    _commit: _Commit

    def _edit(self, edit: Callable[[Any], Any]) -> Any:
        new = copy_tree(self)
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
        plain = copy_tree(self)
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


def checked_view(value: Any, commit: _Commit) -> Any:
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
            checked_view(v, _item_commit(view, i)) if type(v) in _CONTAINERS else v
            for i, v in enumerate(stored)
        ]
        list.__setitem__(view, slice(None), items)
    else:
        dict.clear(view)
        dict.update(
            view,
            {
                k: checked_view(v, _item_commit(view, k)) if type(v) in _CONTAINERS else v
                for k, v in stored.items()
            },
        )


def key_commit(root: ConfigBase, path: KeyPath) -> _Commit:
    """Write a list's new value to the config key at `path`, as `cfg[...] = value` would."""

    def commit(new: Any) -> Any:
        parent, key = path[:-1], path[-1]
        try:
            root._write(parent, {key: new}, allow_val_change=None, source=SOURCE_SCRIPT)
        except ConfigValueChanged as error:
            raise ConfigValueChanged(
                error.key,
                error.old,
                error.new,
                hide_values=error.hide_values,
                hint="an in-place edit of a list read from the config changes its key; "
                "edit a copy (list(...), copy.deepcopy(...)) to leave the config as it is",
            ) from None
        return root._view_node(parent)[key]

    return commit


def _item_commit(container: ConfigList | ConfigDict, index: Any) -> _Commit:
    """Write an item's new value by writing its container's new value."""

    def commit(new: Any) -> Any:
        whole = copy_tree(container)
        whole[index] = new
        stored = container._commit(whole)
        _refill(container, stored)
        return stored[index]

    return commit


_yaml_registered = False


def _register_yaml_representers() -> None:
    """Let the user's yaml.safe_dump/yaml.dump write the views as plain lists and dicts (once yaml
    is loaded: gitcfg never imports it for this)."""
    global _yaml_registered
    if not _yaml_registered:
        from gitcfg.yamlio import represent_as_plain  # on use: keeps the import chain lean

        lists = represent_as_plain(ConfigList, list)
        _yaml_registered = lists and represent_as_plain(ConfigDict, dict)
