"""Where config values come from: config-defaults.yaml, --configs files, the script's object
(dict, argparse, absl flags, dataclass, OmegaConf, module, ...), Hydra's overrides.

`build` merges them into one Config."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gitcfg.configuration.base import SOURCE_SCRIPT as SOURCE_SCRIPT
from gitcfg.configuration.base import ConfigBase
from gitcfg.configuration.normalise import normalise_mapping, omegaconf_container, record_fields
from gitcfg.configuration.tree import Tree, resolve_dotted_keys
from gitcfg.errors import ConfigError, YamlLimitExceeded

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

DEFAULTS_FILE = "config-defaults.yaml"


def source_mapping(source: object) -> Mapping[str, Any]:
    """Turn anything track() or update() accepts into a mapping (normalised later)."""
    import types

    if source is None:
        return {}
    if type(source) is dict:
        return source
    if isinstance(source, ConfigBase):
        return source.as_dict()
    kind = type(source)
    if kind.__module__.split(".")[0] == "omegaconf":
        container = omegaconf_container(source, "")
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
            return source_mapping(flags)
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
    fields = record_fields(source)
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
    from gitcfg.yamlio import load_yaml, yaml_syntax_problem

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
    except Exception as error:
        syntax = yaml_syntax_problem(error)
        if syntax is None:
            raise
        line = f":{syntax[0]}" if syntax[0] is not None else ""
        raise ConfigError(f"{shown}{line}: invalid YAML: {syntax[1]}") from None
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
        return resolve_dotted_keys(normalise_mapping(unwrapped, (), strip_dashes=True), ())
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


def without_configs_argument(
    mapping: Mapping[str, Any], source: object, argv: Sequence[str]
) -> Mapping[str, Any]:
    """The script's source without a top-level `configs` key that only repeats the `--configs`
    argument gitcfg read: the script declared the option (as docs/config.md says to) for argparse's
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


def file_sources(
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
