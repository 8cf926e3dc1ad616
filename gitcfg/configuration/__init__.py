"""The run config: a dict-like, checked, YAML-exact `Config`, and the sources that fill it.

Named `configuration` because a submodule `gitcfg/config.py` would overwrite the package attribute
`gitcfg.config` (the module-level Config object) when imported.

One module per section: `config` (the Config object), `views` (lists read from it), `tree` (plain
dict/list helpers, dotted keys), `normalise` (values as plain YAML data), `sources` (files, the
script's object, build_config), `masking` (include/exclude and secret-looking keys). This package
re-exports their public names.

Importing this package is cheap: yaml, numpy, torch, omegaconf and absl are never imported here at
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

from gitcfg.configuration.build import build_config, config_file_values
from gitcfg.configuration.config import Config
from gitcfg.configuration.masking import (
    DEFAULT_SECRET_PATTERNS,
    mask_command_line,
    recorded_config,
    secret_values,
)
from gitcfg.configuration.normalise import MAX_VALUE_DEPTH, canonical_text, normalise_value
from gitcfg.configuration.sources import DEFAULTS_FILE, hydra_overrides
from gitcfg.configuration.tree import KeyPath, Tree, dotted_keys, find_key, write_target
from gitcfg.configuration.views import ConfigDict, ConfigList
from gitcfg.secrets import MASKED
from gitcfg.values import same_value

__all__ = [
    "Config",
    "ConfigDict",
    "ConfigList",
    "DEFAULTS_FILE",
    "DEFAULT_SECRET_PATTERNS",
    "KeyPath",
    "MASKED",
    "MAX_VALUE_DEPTH",
    "Tree",
    "build_config",
    "canonical_text",
    "config_file_values",
    "dotted_keys",
    "find_key",
    "hydra_overrides",
    "mask_command_line",
    "normalise_value",
    "recorded_config",
    "same_value",
    "secret_values",
    "write_target",
]
