"""YAML text in and out: safe, plain, libyaml when available, insertion order kept.

The one module that imports yaml (tests/test_module_homes.py checks it): every other module loads,
dumps, types and reports YAML through the functions here.
"""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING, Any

from gitcfg.errors import YamlLimitExceeded

if TYPE_CHECKING:
    from yaml.events import Event


def _dumper() -> Any:
    import yaml

    return getattr(yaml, "CSafeDumper", yaml.SafeDumper)


# Every YAML gitcfg reads is bounded: a pulled run, a config file or an `amend --set` value can be
# hostile. A 486-byte alias bomb expands to ~10^9 nodes, and libyaml's own composer recurses in C
# (100,000 `[` crash the process), so documents are composed by PyYAML's Python composer over
# libyaml's event parser, with these limits checked while the node graph is built.
MAX_YAML_BYTES = 10_000_000  # the text of one document
MAX_YAML_DEPTH = 100  # nested mappings and sequences
MAX_ALIAS_NODES = 1_000_000  # nodes that aliases add when expanded (each alias counts its subtree)


def _loader() -> Any:
    global _BOUNDED_LOADER
    if _BOUNDED_LOADER is None:
        _BOUNDED_LOADER = _bounded_loader()
    return _BOUNDED_LOADER


_BOUNDED_LOADER: Any = None


def _bounded_loader() -> Any:
    """The safe loader (libyaml's parser when available) with a bounded, duplicate-refusing composer."""
    import yaml
    from yaml.composer import Composer
    from yaml.nodes import ScalarNode, SequenceNode

    try:
        from yaml._yaml import CParser  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # PyYAML without libyaml
        from yaml.parser import Parser
        from yaml.reader import Reader
        from yaml.scanner import Scanner

        class CParser(Reader, Scanner, Parser):  # type: ignore[no-redef]
            def __init__(self, stream: Any) -> None:
                Reader.__init__(self, stream)
                Scanner.__init__(self)
                Parser.__init__(self)

    merge_tag = "tag:yaml.org,2002:merge"

    class BoundedSafeLoader(
        Composer, CParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver
    ):
        def __init__(self, stream: Any) -> None:
            if len(stream) > MAX_YAML_BYTES:
                raise YamlLimitExceeded(
                    f"{len(stream):,} bytes, over the limit of {MAX_YAML_BYTES:,} for a YAML file"
                )
            CParser.__init__(self, stream)
            Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)
            self._depth = 0
            self._alias_nodes = 0
            self._sizes: dict[int, int] = {}  # id(node) -> nodes in its expanded subtree

        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.peek_event()
            if isinstance(event, yaml.AliasEvent):
                node = self.anchors.get(event.anchor)
                if node is not None:
                    size = self._sizes.get(id(node))
                    if size is None:
                        raise YamlLimitExceeded(
                            f"alias *{event.anchor} refers to a collection that contains it "
                            "(recursive data is not supported)",
                            _start_line(event),
                        )
                    self._alias_nodes += size
                    if self._alias_nodes > MAX_ALIAS_NODES:
                        raise YamlLimitExceeded(
                            f"aliases expand to more than {MAX_ALIAS_NODES:,} nodes (an alias bomb?)",
                            _start_line(event),
                        )
                return super().compose_node(parent, index)
            if isinstance(event, yaml.ScalarEvent):
                node = super().compose_node(parent, index)
                self._sizes[id(node)] = 1
                return node
            self._depth += 1
            if self._depth > MAX_YAML_DEPTH:
                raise YamlLimitExceeded(
                    f"nesting deeper than {MAX_YAML_DEPTH} levels", _start_line(event)
                )
            node = super().compose_node(parent, index)
            self._depth -= 1
            if isinstance(node, SequenceNode):
                self._sizes[id(node)] = 1 + sum(self._sizes[id(item)] for item in node.value)
            return node

        def compose_mapping_node(self, anchor: Any) -> Any:
            node = super().compose_mapping_node(anchor)
            sizes, total = self._sizes, 1
            seen: dict[Any, int] = {}  # key -> the line it was first on
            for key_node, value_node in node.value:
                total += sizes[id(key_node)] + sizes[id(value_node)]
                if isinstance(key_node, ScalarNode) and key_node.tag != merge_tag:
                    key = _duplicate_key(self, key_node)
                    if key in seen:
                        raise YamlLimitExceeded(
                            f"duplicate key {key_node.value!r} (first on line {seen[key]})",
                            key_node.start_mark.line + 1,
                        )
                    seen[key] = key_node.start_mark.line + 1
            sizes[id(node)] = total
            return node

    BoundedSafeLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
    return BoundedSafeLoader


def _start_line(event: Event | None) -> int | None:
    """The 1-based line where a parser event starts (None when the parser gave it no mark)."""
    mark = event.start_mark if event is not None else None
    return mark.line + 1 if mark is not None else None


def _construct_int(loader: Any, node: Any) -> int:
    """An int, or YamlLimitExceeded when Python will not write it out (more digits than
    sys.get_int_max_str_digits(), 4300 by default; `0x` ints are checked once built)."""
    import sys

    import yaml

    try:
        value: int = yaml.constructor.SafeConstructor.construct_yaml_int(loader, node)
        if value.bit_length() > 4000:
            str(value)
    except ValueError:
        limit = sys.get_int_max_str_digits()
        raise YamlLimitExceeded(
            f"an int of {len(node.value):,} characters, over Python's limit of {limit:,} digits",
            node.start_mark.line + 1,
        ) from None
    return value


def _duplicate_key(loader: Any, key_node: Any) -> Any:
    """Two scalar keys are the same key when their values are (`1`/`0x1`, `yes`/`true`): the dict
    built from them would keep only the last."""
    try:
        key = loader.construct_object(key_node)
        hash(key)
    except Exception:
        return (key_node.tag, key_node.value)
    return key


def dump_yaml(data: Any) -> str:
    """Return block-style YAML for `data` (plain types only), keys in insertion order.

    libyaml's dumper is used when present: the pure-Python one turns U+0085 into a space.
    """
    if data == {}:
        return "{}\n"
    text = _dump_with(_dumper(), data)
    if text.replace("\n", " ").isprintable():
        return text
    # YAML escapes C0, C1 and DEL in quoted scalars but writes format characters (bidi
    # overrides, U+202E) raw: strings holding one are double-quoted and the character escaped,
    # so the document reads back the same and prints inert.
    return _escape_format_characters(_dump_with(_quoting_dumper(), data))


def _dump_with(dumper: Any, data: Any) -> str:
    import yaml

    return yaml.dump(
        data,
        Dumper=dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=1_000_000,
    )


def _quoting_dumper() -> Any:
    base = _dumper()

    def represent(dumper: Any, value: str) -> Any:
        style = '"' if any(_is_format(char) for char in value) else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    dumper: Any = type("QuotingDumper", (base,), {})  # the C or the Python dumper, as _dumper()
    dumper.add_representer(str, represent)
    return dumper


def _is_format(char: str) -> bool:
    import unicodedata

    return not char.isprintable() and unicodedata.category(char) == "Cf"


def _escape_format_characters(text: str) -> str:
    out = []
    for char in text:
        code = ord(char)
        if not _is_format(char):
            out.append(char)
        else:
            out.append(f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)


def load_yaml(text: str | bytes) -> Any:
    """Parse YAML with the bounded safe loader (libyaml's parser when available).

    Raises YamlLimitExceeded past MAX_YAML_BYTES/MAX_YAML_DEPTH/MAX_ALIAS_NODES or on a
    duplicate key, yaml.YAMLError on bad syntax.
    """
    import yaml

    try:
        return yaml.load(text, Loader=_loader())
    except yaml.MarkedYAMLError as e:
        # PyYAML 6.0.4+ refuses deep flow nesting itself ("while increasing flow level ...
        # exceeded maximum nesting depth") before our composer sees it: the same limit, our words.
        if "flow level" in str(e.context or "") or "nesting depth" in str(e.problem or ""):
            mark = e.problem_mark or e.context_mark
            raise YamlLimitExceeded(
                f"nesting deeper than {MAX_YAML_DEPTH} levels", mark.line + 1 if mark else None
            ) from None
        raise


_STR, _MAP, _SEQ, _NULL = (f"tag:yaml.org,2002:{t}" for t in ("str", "map", "seq", "null"))
_resolved: dict[tuple[str, tuple[bool, bool]], str] = {}


def _fast_loader() -> Any:
    """The bounded loader whose scalar tag resolution is memoised (libyaml only)."""
    import yaml
    from yaml.nodes import ScalarNode

    if not getattr(yaml, "__with_libyaml__", False):
        return None

    class FastSafeLoader(_loader()):  # type: ignore[misc,unused-ignore]
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


def _construct(loader: Any, node: Any, text_keys: bool) -> Any:
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
                key = _construct(loader, key_node, text_keys)
                if text_keys:
                    hash(key)  # a list key: load_yaml's error, below, not a text made of it
                    key = str(key)
            out[key] = _construct(loader, value_node, text_keys)
        return out
    if tag == _SEQ and node.id == "sequence":
        return [_construct(loader, item, text_keys) for item in node.value]
    return loader.construct_object(node, deep=True)


class _Fallback(Exception):
    pass


_FAST_LOADER: Any = ...


def load_yaml_fast(text: str | bytes, text_keys: bool = False) -> Any:
    """Parse YAML to a value equal to load_yaml's, three to four times as fast on run files.

    `text_keys`: every mapping key comes out as text, str() of what YAML reads (`on:` is True,
    so "True"; `~:`, "None"; `2020-01-01:`, "2020-01-01"), as a flat row names it
    (`config.True`) and as JSON can hold it: what the query cache and the summary index read.
    gitcfg writes only text keys; a hand-written file may hold others. Keys YAML calls the same
    (`1:` and `true:`) are still a duplicate-key error; two keys that only read as the same text
    (`1:` and `'1':`) keep the later one's value.

    The block-style mappings gitcfg writes (dump_yaml) are read line by line (_load_block);
    anything else goes to libyaml, whose nodes are built here: strings, mappings and sequences
    directly, any other node by PyYAML's safe constructor. Anything unusual (merge keys,
    recursive aliases, errors) is parsed again by load_yaml, so the result, or the error, is
    load_yaml's. (An alias gives an equal copy here, the same object there.)
    """
    block = _load_block(text)  # its keys are texts (a document with any other key goes on)
    if block is not None:
        return block
    global _FAST_LOADER
    if _FAST_LOADER is ...:
        _FAST_LOADER = _fast_loader()
    if _FAST_LOADER is not None:
        loader = _FAST_LOADER(text)
        try:
            node = loader.get_single_node()  # duplicate keys (by value) are refused here
            if node is not None:
                return _construct(loader, node, text_keys)
        except YamlLimitExceeded:
            raise
        except Exception:  # noqa: S110 - load_yaml below raises the proper error, or copes
            pass
        finally:
            loader.dispose()
    value = load_yaml(text)
    return _text_keys(value) if text_keys else value


# --- the block subset, line by line ---------------------------------------------------------------
# libyaml spends most of a run file's parse building node objects with start and end marks. The
# files gitcfg writes are a small subset of YAML: block mappings and sequences of one-line scalars,
# plain or single-quoted, and `{}`/`[]`. _load_block reads exactly that subset and gives up
# (returns None, and load_yaml_fast asks libyaml) on anything else: flow collections, double
# quotes, block scalars, anchors, tags, comments, documents markers, tabs, blank lines, line
# breaks other than \n, a mapping inside a sequence, a scalar continued on the next line. Plain
# scalars are typed by PyYAML's own resolver table and safe constructors, so values are the ones
# yaml.safe_load gives. tests/test_query.py compares the two on generated documents.

_QUOTED = re.compile(r"'((?:[^']|'')*)'")  # a single-quoted scalar; '' is one quote
_PLAIN_START = frozenset("-?:,[]{}#&*!|>'\"%@` ")  # indicators a plain scalar cannot start with
_plain_values: dict[str, Any] = {}
_GIVE_UP: Any = object()


def _load_block(text: str | bytes) -> dict[Any, Any] | None:
    """The mapping `text` holds when it is in the block subset above; None otherwise."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if text == "{}\n" or text == "{}":
        return {}
    # str.isprintable() is False for every character YAML forbids or reads as a line break or
    # a byte order mark (C0, C1, DEL, U+2028/9, U+FEFF, U+FFFE/F), and for some it allows
    # (tab, no-break space, unassigned): those texts go to libyaml.
    if not text.replace("\n", " ").isprintable():
        return None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    indents = [len(line) - len(line.lstrip(" ")) for line in lines]
    try:
        value, end = _block_mapping(lines, indents, 0, 0)
    except (_NotBlock, IndexError):  # IndexError: an empty or blank line
        return None
    return value if end == len(lines) else None


class _NotBlock(Exception):
    pass


def _block_mapping(
    lines: list[str], indents: list[int], start: int, indent: int
) -> tuple[dict[Any, Any], int]:
    """The mapping whose keys are at `indent` from lines[start]; and the index after it."""
    out: dict[Any, Any] = {}
    i, count = start, len(lines)
    known = _plain_values
    while i < count:
        depth = indents[i]
        if depth != indent:
            if depth < indent:
                break
            raise _NotBlock
        body = lines[i][depth:] if depth else lines[i]
        if not depth and body[0] in "-." and body.startswith(("---", "...")):
            raise _NotBlock  # a document marker, even where a plain key could start
        i += 1
        if body[0] == "'":
            key, rest = _quoted_key(body)
        else:
            key_text, separator, rest = body.partition(": ")
            if not separator:
                if body[-1] != ":":
                    raise _NotBlock
                key_text = body[:-1]
            elif not rest:  # `key: ` with a trailing space
                raise _NotBlock
            if len(key_text) > 1000:  # libyaml's limit for a simple key is 1024 characters
                raise _NotBlock
            key = known.get(key_text, _GIVE_UP)
            if key is _GIVE_UP:
                key = _plain(key_text)
            if type(key) is not str:
                # `on`, `1`, `~`, a date: libyaml's path refuses keys of equal values (`1` and
                # `true`) as load_yaml does, and gives the key typed or as text as asked.
                raise _NotBlock
        if key in out:  # a duplicate key: load_yaml's error names its line
            raise _NotBlock
        if rest:
            value = known.get(rest, _GIVE_UP)
            out[key] = _scalar(rest) if value is _GIVE_UP else value
            if i < count and indents[i] > indent:  # a continued scalar or a nested block
                raise _NotBlock
            continue
        # `key:` alone: a nested block below, an indentless sequence at this depth, or null.
        if i < count:
            below = indents[i]
            if below > indent:
                if lines[i][below] == "-":
                    out[key], i = _block_sequence(lines, indents, i, below)
                else:
                    out[key], i = _block_mapping(lines, indents, i, below)
                continue
            if below == indent and lines[i][below] == "-":
                out[key], i = _block_sequence(lines, indents, i, indent)
                continue
        out[key] = None
    if i == start:
        raise _NotBlock
    return out, i


def _block_sequence(
    lines: list[str], indents: list[int], start: int, indent: int
) -> tuple[list[Any], int]:
    """The sequence of one-line scalars whose `- ` are at `indent`; and the index after it."""
    out: list[Any] = []
    i, count = start, len(lines)
    while i < count:
        line, depth = lines[i], indents[i]
        if depth != indent or not line.startswith("- ", depth):
            if depth > indent or (depth == indent and line[depth] == "-"):
                raise _NotBlock
            break
        item = line[depth + 2 :]
        if not item or item == "-" or item.startswith("- "):
            raise _NotBlock
        if item[0] != "'" and (": " in item or item[-1] == ":"):
            raise _NotBlock  # a mapping inside the sequence
        out.append(_scalar(item))
        i += 1
        if i < count and indents[i] > indent:
            raise _NotBlock
    return out, i


def _quoted_key(body: str) -> tuple[str, str]:
    """Split `'key': rest` (rest may be empty after `'key':`)."""
    match = _QUOTED.match(body)
    if match is None or match.end() > 1000:
        raise _NotBlock
    after = body[match.end() :]
    if after == ":":
        return match.group(1).replace("''", "'"), ""
    if not after.startswith(": ") or after == ": ":
        raise _NotBlock
    return match.group(1).replace("''", "'"), after[2:]


def _scalar(text: str) -> Any:
    """A one-line scalar value: single-quoted, `{}`, `[]` or plain."""
    first = text[0]
    if first == "'":
        match = _QUOTED.fullmatch(text)
        if match is None:
            raise _NotBlock
        return match.group(1).replace("''", "'")
    if text == "{}":
        return {}
    if text == "[]":
        return []
    return _plain(text)


def _plain(text: str) -> Any:
    """A plain scalar typed by PyYAML's implicit resolvers and safe constructors."""
    found = _plain_values.get(text, _GIVE_UP)
    if found is not _GIVE_UP:
        return found
    if (
        not text
        or text[0] in _PLAIN_START
        and not (text[0] in "-?:" and len(text) > 1 and text[1] != " ")
        or text[-1] in " :"
        or ": " in text
        or " #" in text
    ):
        raise _NotBlock
    import yaml

    resolvers = yaml.resolver.Resolver.yaml_implicit_resolvers
    tag = _STR
    for candidate, pattern in (*resolvers.get(text[0], ()), *resolvers.get(None, ())):
        if pattern.match(text):
            tag = candidate
            break
    if tag == _STR:
        value: Any = text
    elif tag in _CONSTRUCTED:
        constructor = _safe_constructor()
        try:
            value = constructor.yaml_constructors[tag](constructor, yaml.ScalarNode(tag, text))
        except ValueError:  # an int over Python's digit limit: load_yaml's error names it
            raise _NotBlock from None
        if type(value) is int and value.bit_length() > 4000:
            raise _NotBlock
    else:  # `<<` (merge), `=` (value): libyaml's path handles them
        raise _NotBlock
    if len(_plain_values) > 50_000:
        _plain_values.clear()
    _plain_values[text] = value
    return value


_CONSTRUCTED = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float", "timestamp")
)
_CONSTRUCTOR: Any = None


def _safe_constructor() -> Any:
    global _CONSTRUCTOR
    if _CONSTRUCTOR is None:
        import yaml

        _CONSTRUCTOR = yaml.constructor.SafeConstructor()
    return _CONSTRUCTOR


# --- for the modules that must not import yaml -----------------------------------------------------


def dump_inline(value: Any) -> str:
    """`value` as one line of flow-style YAML, a string always double-quoted (`"3"`, `[1, 2]`)."""
    import yaml

    text = yaml.dump(
        value,
        Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper),
        default_flow_style=True,
        default_style='"' if isinstance(value, str) else None,
        allow_unicode=True,
        width=1_000_000,
    )
    return text.removesuffix("\n").removesuffix("\n...")


def implicit_tag(word: str) -> str:
    """The tag the safe loader's implicit resolvers give `word` as a plain scalar
    (`tag:yaml.org,2002:int` for `12`, `...:str` for `lr`)."""
    import yaml

    resolver = yaml.resolver.Resolver()
    tag: str = resolver.resolve(yaml.ScalarNode, word, (True, False))  # type: ignore[no-untyped-call,unused-ignore]
    return tag


def yaml_syntax_problem(error: BaseException) -> tuple[int | None, str] | None:
    """(line, problem) when `error` is PyYAML's error for bad YAML (yaml.YAMLError), else None.

    Never imports yaml: such an error exists only once yaml is loaded.
    """
    yaml = sys.modules.get("yaml")
    if yaml is None or not isinstance(error, yaml.YAMLError):
        return None
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(error, "problem", None) or str(error).strip().splitlines()[0]
    return line, problem


def represent_as_plain(cls: type, base: type) -> bool:
    """Let yaml.safe_dump and yaml.dump (the user's own calls) write instances of `cls`, a subclass
    of dict or list, as a plain `base`; without this a subclass is a RepresenterError.

    Never imports yaml: returns False when yaml is not loaded yet (call again later), else True.
    """
    yaml = sys.modules.get("yaml")
    if yaml is None:
        return False
    if cls not in yaml.representer.SafeRepresenter.yaml_representers:
        # Representer keeps its own copy of the table, so register on both classes.
        for representer in (yaml.representer.SafeRepresenter, yaml.representer.Representer):
            represent = representer.represent_dict if base is dict else representer.represent_list
            representer.add_representer(cls, represent)
    return True


def _text_keys(value: Any) -> Any:
    """`value` with every mapping key in it, at any depth, a text: str() of the key (the fallback
    path of load_yaml_fast; the same object when every key is a text already)."""
    kind = type(value)
    return _text_mapping(value) if kind is dict else _text_list(value) if kind is list else value


def _text_mapping(mapping: dict[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] | None = None
    for place, (key, value) in enumerate(mapping.items()):
        new = _text_keys(value)
        if out is None and (type(key) is not str or new is not value):
            out = dict(list(mapping.items())[:place])
        if out is not None:
            out[key if type(key) is str else str(key)] = new
    return mapping if out is None else out


def _text_list(items: list[Any]) -> list[Any]:
    if not any(type(v) is dict or type(v) is list for v in items):
        return items
    new = [_text_keys(v) for v in items]
    return items if all(a is b for a, b in zip(new, items, strict=True)) else new
