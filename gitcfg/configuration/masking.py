"""The recorded copy of a config: include/exclude filtering and masking of secret-looking keys."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gitcfg.configuration.base import ConfigBase
from gitcfg.configuration.normalise import normalise_mapping
from gitcfg.configuration.tree import KeyPath, Tree
from gitcfg.secrets import MASKED, mask_url_passwords

if TYPE_CHECKING:
    from collections.abc import Sequence


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


def is_recorded(path: KeyPath, root: ConfigBase) -> bool:
    """Whether include/exclude keep the value at `path` (dotted keys name whole subtrees)."""
    include, exclude = root._include, root._exclude
    prefixes = {".".join(path[:n]) for n in range(1, len(path) + 1)}
    if exclude is not None:
        return not prefixes & set(exclude)
    if include is not None:
        dotted = ".".join(path)
        return bool(prefixes & set(include)) or any(k.startswith(dotted + ".") for k in include)
    return True


def select_recorded(node: Mapping[Any, Any], prefix: KeyPath, root: ConfigBase) -> Tree:
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
        if not is_recorded(path, root):
            continue
        dotted = ".".join(path)
        inside = any(k.startswith(dotted + ".") for k in listed)
        if (
            isinstance(value, Mapping)
            and inside
            and not (root._include and dotted in root._include)
        ):
            kept[raw_key] = select_recorded(value, path, root)
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


def secret_patterns(mask: bool | Sequence[str]) -> tuple[str, ...]:
    if mask is False:
        return ()
    if mask is True:
        return DEFAULT_SECRET_PATTERNS
    if isinstance(mask, str):
        mask = [mask]
    return (*DEFAULT_SECRET_PATTERNS, *mask)


def is_secret(path: KeyPath, patterns: Sequence[str]) -> bool:
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


def mask_tree(value: Any, path: KeyPath, patterns: Sequence[str], masked: list[str]) -> Any:
    if isinstance(value, dict):
        result: Tree = {}
        for key, item in value.items():
            child = (*path, key)
            # Nothing to hide in an unset secret (None or ""), and masking it would hide that fact.
            if item not in (None, "") and is_secret(child, patterns):
                result[key] = MASKED
                masked.append(".".join(child))
            else:
                result[key] = mask_tree(item, child, patterns, masked)
        return result
    if isinstance(value, list) and path:
        head, last = path[:-1], path[-1]
        return [
            mask_tree(item, (*head, f"{last}[{i}]"), patterns, masked)
            for i, item in enumerate(value)
        ]
    if isinstance(value, str) and "@" in value:  # a URL with a password, under any key
        shown = mask_url_passwords(value)
        if shown != value:
            masked.append(".".join(path))
        return shown
    return value


def secret_values(config: ConfigBase, mask: bool | Sequence[str] = True) -> list[Any]:
    """The real values that recorded_config masks (leaves of masked mappings and lists included):
    a failed run's error message is cleaned of them."""
    patterns = secret_patterns(mask)
    found: list[Any] = []

    def walk(value: Any, path: KeyPath, secret: bool) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                child = (*path, str(key))
                walk(item, child, secret or is_secret(child, patterns))
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item, path, secret)
        elif secret:
            found.append(value)

    walk(config.as_dict(), config._path, False)
    return found


def recorded_config(
    config: ConfigBase, mask: bool | Sequence[str] = True
) -> tuple[dict[str, Any], list[str]]:
    """Return (the config to write as config.yaml, the dotted keys that were masked in it).

    Applies config_include_keys/config_exclude_keys, re-checks the values (lists may have been
    mutated in place), and replaces secret-looking values with MASKED: the default patterns, plus
    `mask` when it is a list of patterns (words, dotted keys or globs); `mask=False` masks nothing.
    The Config keeps the real values. The caller warns on stderr about the masked keys.
    """
    root = config._root
    values = normalise_mapping(config.as_dict(), config._path, strip_dashes=False)
    values = select_recorded(values, config._path, root)
    masked: list[str] = []
    recorded = mask_tree(values, config._path, secret_patterns(mask), masked)
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

    patterns = secret_patterns(mask)
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
        if not is_secret(tuple(name.split(".")), patterns):
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
