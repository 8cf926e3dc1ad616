"""What the modules below `Config` need of it, so that none of them imports config.py.

`Config` (config.py) subclasses `ConfigBase`; normalise, sources, masking and views test for and
annotate with `ConfigBase`, which keeps the package's imports one-way (config.py on top).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitcfg.configuration.tree import KeyPath, Tree

SOURCE_SCRIPT = "script"  # the source label of values the script sets (run.yaml config_sources)


class ConfigBase(Mapping[str, Any]):
    """The part of Config's interface the lower modules use."""

    __slots__ = ()

    _root: ConfigBase
    _path: KeyPath
    _include: tuple[str, ...] | None
    _exclude: tuple[str, ...] | None

    def as_dict(self) -> Tree:
        raise NotImplementedError

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
        raise NotImplementedError

    def _view_node(self, prefix: KeyPath) -> Tree:
        raise NotImplementedError
