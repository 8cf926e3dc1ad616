"""Merge the sources (files, values set before track(), the script's object) into one Config."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from gitcfg.configuration.config import Config
from gitcfg.configuration.masking import select_recorded
from gitcfg.configuration.normalise import normalise_mapping
from gitcfg.configuration.sources import (
    SOURCE_SCRIPT,
    file_sources,
    source_mapping,
    without_configs_argument,
)
from gitcfg.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path


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
    for label, values in file_sources(script_path, Path.cwd() if cwd is None else cwd, argv):
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
    sources = [(label, values, True) for label, values in file_sources(script_path, cwd, argv)]
    if pending is not None:
        sources.append((SOURCE_SCRIPT, pending.as_dict(), False))
    script_values = without_configs_argument(source_mapping(config), config, argv)
    sources.append((SOURCE_SCRIPT, script_values, not isinstance(config, Config)))

    result = Config()
    object.__setattr__(result, "_interactive", interactive)
    object.__setattr__(result, "_include", tuple(include) if include is not None else None)
    object.__setattr__(result, "_exclude", tuple(exclude) if exclude is not None else None)
    for label, mapping, as_written in sources:
        # Filter before checking (an excluded value need not be storable) and after (a dotted key
        # may point into a dataclass or other object that only normalising turns into a mapping).
        values = normalise_mapping(select_recorded(mapping, (), result), (), strip_dashes=True)
        values = select_recorded(values, (), result)
        result._write((), values, allow_val_change=True, source=label, resolve_dotted=as_written)
    if pending is None:
        return result
    pending._adopt(result)
    return pending
