"""The `--where` filter language: parse, render, match. Pure: no git, no files, never `eval`.

Grammar (keywords are case-insensitive; `and` binds tighter than `or`, `not` looser than a comparison):

    filter     := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := unary ("and" unary)*
    unary      := "not" unary | "(" or_expr ")" | comparison
    comparison := KEY ("==" | "!=") (VALUE | LIST)
                | KEY ("<" | "<=" | ">" | ">=" | "contains") VALUE
                | KEY ["not"] "in" LIST
    LIST       := "[" [VALUE ("," VALUE)* [","]] "]"

The left side of a comparison is always a key and the right side always a value, so
`status == finished` compares the key `status` with the string "finished". A key is a bare word
(`model.depth`, `val_acc`) or, when it holds spaces, brackets, quotes or a keyword, a backtick-quoted
name (`` `my key` ``). A value is a bare word typed as the same text would be in config.yaml (PyYAML's
safe loader: `3` int, `0.5` float, `true`/`yes` bool, `null`/`~` None, anything else a string), except
that an exponent without a dot (`1e-3`) is a float too; a quoted value ("1e-3", '1e-3') is always a
string. Dates and timestamps stay strings, so `started >= 2026-11-01` compares ISO 8601 text.

Key resolution (`resolve_key`, in rows.py): a key is looked up as written, then as `config.<key>`, then as
`summary.<key>`. Run fields (`status`, `name`, `tags`, `host`, `started`, ...) are stored unprefixed,
so they win over a config key of the same name, which stays reachable as `config.name`.

Matching: a comparison on a missing key is false, for `!=` and `not in` too; `not` negates the result
(`not lr == 1` is true for runs without `lr`). Numbers compare with numbers (1 == 1.0), strings with
strings, booleans only with booleans; ordering across types is false, never an error. `contains`
tests list membership or a substring.
"""

from __future__ import annotations

import functools
import math
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from gitcfg.errors import GitcfgError, WhereSyntaxError

# Key resolution lives in rows.py (the query path needs it without this parser); re-exported.
from gitcfg.rows import PREFIXES as PREFIXES
from gitcfg.rows import Row as Row
from gitcfg.rows import close_keys as close_keys
from gitcfg.rows import require_key as require_key
from gitcfg.rows import resolve_key as resolve_key
from gitcfg.rows import short_key as short_key
from gitcfg.values import is_number, value_token, values_equal

Scalar = str | int | float | bool | None
Value = Scalar | tuple[Scalar, ...]

COMPARISONS = ("==", "!=", "<", "<=", ">", ">=", "in", "not in", "contains")
_KEYWORDS = frozenset({"and", "or", "not", "in", "contains"})
MAX_WHERE_DEPTH = 100  # nested '(' and 'not' in one filter


def _typed(value: Value) -> object:
    """Return `value` tagged with its type, so that 1, 1.0 and True differ and NaN equals NaN."""
    if isinstance(value, tuple):
        return tuple(_typed(item) for item in value)
    if isinstance(value, float) and math.isnan(value):
        return (float, "nan")
    return (type(value), value)


@dataclass(frozen=True, slots=True, eq=False)
class Compare:
    """`key op value`; `value` is a tuple for `in`/`not in` (and may be one for `==`/`!=`).

    Equality is by type as well as value (`lr == 1` is not `lr == true`), so two ASTs are equal
    exactly when they render to the same text.
    """

    key: str
    op: str
    value: Value

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Compare):
            return NotImplemented
        return (self.key, self.op, _typed(self.value)) == (other.key, other.op, _typed(other.value))

    def __hash__(self) -> int:
        return hash((self.key, self.op, _typed(self.value)))


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Expr, ...]  # two or more


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Expr, ...]  # two or more


Expr = Compare | Not | And | Or


# --- literals -------------------------------------------------------------------------------

# YAML 1.2 core floats PyYAML (YAML 1.1) reads as strings: `1e-3`, `1.0e5`.
_EXPONENT_FLOAT = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][-+]?[0-9]+\Z")
_YAML_SCALAR_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("null", "bool", "int", "float"))


@functools.lru_cache(maxsize=4096)
def type_literal(word: str) -> Scalar:
    """Return the value a bare word stands for: None, bool, int or float as YAML types it, else str."""
    from gitcfg.yamlio import implicit_tag, load_yaml, yaml_syntax_problem  # yaml: lazily, ~30 ms

    # The safe loader's own implicit resolvers decide the type, exactly as for a config.yaml value.
    if implicit_tag(word) in _YAML_SCALAR_TAGS:
        try:
            value = load_yaml(word)
        except Exception as error:  # `0x_` or `._` match YAML's regexes, build no number
            if isinstance(error, (ValueError, GitcfgError)) or yaml_syntax_problem(error):
                return word
            raise
        if value is None or isinstance(value, (bool, int, float)):
            return value
    if _EXPONENT_FLOAT.match(word):
        return float(word)
    return word  # timestamps included: run fields hold ISO 8601 text, compared as text


def _render_scalar(value: Scalar) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)  # `1e-05`, `0.001`, `3.0`: each reads back as the same float
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- tokens ---------------------------------------------------------------------------------

_WORD = re.compile(r"[^\s()\[\],<>=!\"'`]+")
_OPERATORS = ("==", "!=", "<=", ">=", "<", ">")
_PUNCTUATION = {"(": "lparen", ")": "rparen", "[": "lbrack", "]": "rbrack", ",": "comma"}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # word string key op keyword stray(= !) lparen rparen lbrack rbrack comma end
    text: str  # as typed (a keyword lower-cased); for string and key tokens, the unquoted content
    position: int


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """Return the content of the quoted run at `start` and the index after its closing quote."""
    quote, chars, i = text[start], [], start + 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in ("\\", quote):
            chars.append(text[i + 1])
            i += 2
        elif char == quote:
            return "".join(chars), i + 1
        else:
            chars.append(char)  # other backslashes stay literal: "C:\data" means what it says
            i += 1
    what = "key" if quote == "`" else "string"
    raise WhereSyntaxError(text, start, f"unterminated {what}: add the closing {quote}")


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char in _PUNCTUATION:
            tokens.append(_Token(_PUNCTUATION[char], char, i))
            i += 1
        elif char in "\"'`":
            content, end = _read_quoted(text, i)
            tokens.append(_Token("key" if char == "`" else "string", content, i))
            i = end
        elif op := next((op for op in _OPERATORS if text.startswith(op, i)), None):
            tokens.append(_Token("op", op, i))
            i += len(op)
        elif char in "=!":
            tokens.append(_Token("stray", char, i))  # the parser knows what was meant
            i += 1
        else:
            match = _WORD.match(text, i)
            assert match, f"{char!r} is neither a word nor punctuation"  # _WORD excludes only those
            word = match.group()
            if word.lower() in _KEYWORDS:
                tokens.append(_Token("keyword", word.lower(), i))
            else:
                tokens.append(_Token("word", word, i))
            i = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


# --- parser ---------------------------------------------------------------------------------


def _describe(token: _Token) -> str:
    if token.kind == "end":
        return "the end of the filter"
    if token.kind == "string":
        return f"the string {_render_scalar(token.text)}"
    if token.kind == "key":
        return f"the key `{token.text}`"
    return repr(token.text)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0  # '(' and 'not' open at this point

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at(self, kind: str, text: str | None = None) -> bool:
        return self.token.kind == kind and (text is None or self.token.text == text)

    def fail(self, expected: str, token: _Token | None = None) -> WhereSyntaxError:
        token = token or self.token
        return WhereSyntaxError(
            self.text, token.position, f"expected {expected}, got {_describe(token)}"
        )

    def parse(self) -> Expr:
        expr = self.or_expr()
        if not self.at("end"):
            raise self.fail("`and`, `or` or the end of the filter")
        return expr

    def or_expr(self) -> Expr:
        return self.chain("or", self.and_expr, Or)

    def and_expr(self) -> Expr:
        return self.chain("and", self.unary, And)

    def chain(self, keyword: str, operand: Callable[[], Expr], node: type[And | Or]) -> Expr:
        """Parse `operand (keyword operand)*` into one flat And/Or, or the lone operand."""
        operands = [operand()]
        while self.at("keyword", keyword):
            self.advance()
            operands.append(operand())
        return operands[0] if len(operands) == 1 else node(tuple(operands))

    def unary(self) -> Expr:
        if not self.at("keyword", "not") and not self.at("lparen"):
            return self.comparison()
        self.depth += 1
        if self.depth > MAX_WHERE_DEPTH:
            raise WhereSyntaxError(
                self.text,
                self.token.position,
                f"more than {MAX_WHERE_DEPTH} nested '(' and 'not' (a filter this deep is not "
                "supported)",
            )
        try:
            if self.at("keyword", "not"):
                self.advance()
                return Not(self.unary())
            opening = self.advance()
            expr = self.or_expr()
            if not self.at("rparen"):
                raise self.fail(f"')' to close the '(' at column {opening.position + 1}")
            self.advance()
            return expr
        finally:
            self.depth -= 1

    def comparison(self) -> Compare:
        token = self.token
        if token.kind == "string":
            raise WhereSyntaxError(
                self.text,
                token.position,
                "expected a key, got a quoted string (the left side of a comparison is a key; "
                "quote a key with backticks: `my key`)",
            )
        if token.kind not in ("word", "key"):
            raise self.fail("a key")
        if token.kind == "key" and not token.text:
            raise WhereSyntaxError(self.text, token.position, "empty key ``")
        key = self.advance().text
        if self.at("op"):
            op = self.advance().text
            if op in ("==", "!=") and self.at("lbrack"):
                return Compare(key, op, self.list_value())
            return Compare(key, op, self.scalar(f"a value after {op!r}"))
        if self.at("keyword", "contains"):
            self.advance()
            return Compare(key, "contains", self.scalar("a value after 'contains'"))
        if self.at("keyword", "not"):
            self.advance()
            if not self.at("keyword", "in"):
                raise self.fail("'in' after 'not'")
            self.advance()
            return Compare(key, "not in", self.list_value())
        if self.at("keyword", "in"):
            self.advance()
            return Compare(key, "in", self.list_value())
        if self.at("stray", "="):
            raise WhereSyntaxError(self.text, self.token.position, "use == to compare")
        if self.at("stray", "!"):
            raise WhereSyntaxError(self.text, self.token.position, "use != or `not in`")
        raise self.fail(f"an operator after the key {key!r} (== != < <= > >= in, not in, contains)")

    def scalar(self, expected: str) -> Scalar:
        token = self.token
        if token.kind == "string":
            self.advance()
            return token.text
        if token.kind == "word":
            self.advance()
            return type_literal(token.text)
        if token.kind == "lbrack":
            raise WhereSyntaxError(self.text, token.position, f"expected {expected}, not a list")
        raise self.fail(expected)

    def list_value(self) -> tuple[Scalar, ...]:
        if not self.at("lbrack"):
            raise self.fail("'[' to start a list")
        opening = self.advance()
        items: list[Scalar] = []
        while not self.at("rbrack"):
            if self.at("end"):
                raise self.fail(f"']' to close the '[' at column {opening.position + 1}")
            items.append(self.scalar("a value in the list"))
            if self.at("comma"):
                self.advance()
            elif self.at("end"):
                raise self.fail(f"']' to close the '[' at column {opening.position + 1}")
            elif not self.at("rbrack"):
                raise self.fail("',' or ']' in the list")
        self.advance()
        return tuple(items)


def parse_where(text: str) -> Expr:
    """Parse a filter expression; raise WhereSyntaxError (a BadQuery) pointing at the position."""
    return _Parser(text).parse()


def where_all(texts: Iterable[str]) -> Expr | None:
    """Parse each `--where` clause and AND them; None when there are none."""
    exprs = [parse_where(text) for text in texts]
    if not exprs:
        return None
    return exprs[0] if len(exprs) == 1 else And(tuple(exprs))


# --- rendering ------------------------------------------------------------------------------


def _render_key(key: str) -> str:
    if _WORD.fullmatch(key) and key.lower() not in _KEYWORDS:
        return key
    return "`" + key.replace("\\", "\\\\").replace("`", "\\`") + "`"


def render(expr: Expr) -> str:
    """Return filter text that parses back to `expr`, with parentheses only where needed."""
    if isinstance(expr, Compare):
        if isinstance(expr.value, tuple):
            value = "[" + ", ".join(_render_scalar(item) for item in expr.value) + "]"
        else:
            value = _render_scalar(expr.value)
        return f"{_render_key(expr.key)} {expr.op} {value}"
    if isinstance(expr, Not):
        inner = render(expr.operand)
        return f"not ({inner})" if isinstance(expr.operand, (And, Or)) else f"not {inner}"
    # A nested And/Or of either kind keeps its parentheses so the tree shape survives the trip.
    joiner = " and " if isinstance(expr, And) else " or "
    nested: type | tuple[type, ...] = (And, Or) if isinstance(expr, And) else Or
    return joiner.join(
        f"({render(operand)})" if isinstance(operand, nested) else render(operand)
        for operand in expr.operands
    )


# --- keys -----------------------------------------------------------------------------------


def expr_keys(expr: Expr) -> set[str]:
    """Return every key the expression names, as written."""
    if isinstance(expr, Compare):
        return {expr.key}
    if isinstance(expr, Not):
        return expr_keys(expr.operand)
    return set().union(*(expr_keys(operand) for operand in expr.operands))


def resolve_expr(expr: Expr, known: Iterable[str]) -> Expr:
    """Return `expr` with each key replaced by the row key it resolves to among `known`.

    Resolve once against the keys of all runs so a key means the same column in every run;
    keys that resolve to nothing stay as written (they match no run).
    """
    known_set = set(known)

    def walk(node: Expr) -> Expr:
        if isinstance(node, Compare):
            return Compare(resolve_key(known_set, node.key) or node.key, node.op, node.value)
        if isinstance(node, Not):
            return Not(walk(node.operand))
        return type(node)(tuple(walk(operand) for operand in node.operands))

    return walk(expr)


# --- matching -------------------------------------------------------------------------------

_MISSING = object()


def _lookup(row: Row, key: str) -> object:
    for candidate in (key, *(prefix + key for prefix in PREFIXES)):
        if candidate in row:
            return row[candidate]
    return _MISSING


_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _ordered(op: str, left: object, right: object) -> bool:
    """Order numbers with numbers and strings with strings; any other pair is simply false."""
    if (is_number(left) and is_number(right)) or (isinstance(left, str) and isinstance(right, str)):
        return bool(_ORDERINGS[op](left, right))
    return False


def _contains(container: object, item: object) -> bool:
    if isinstance(container, (list, tuple)):
        return any(values_equal(element, item) for element in container)
    if isinstance(container, str) and isinstance(item, str):
        return item in container
    return False


def _comparer(op: str, value: Value) -> Callable[[object], bool]:
    """Return a test of a present value against the literal, with the literal's token built once."""
    if op in ("==", "!="):
        target = value_token(value)
        if op == "==":
            return lambda actual: value_token(actual) == target
        return lambda actual: value_token(actual) != target
    if op in ("in", "not in"):
        targets = {value_token(item) for item in value}  # type: ignore[union-attr]
        if op == "in":
            return lambda actual: value_token(actual) in targets
        return lambda actual: value_token(actual) not in targets
    if op == "contains":
        return lambda actual: _contains(actual, value)
    return lambda actual: _ordered(op, actual, value)


Predicate = Callable[[Row], bool]


@functools.lru_cache(maxsize=256)
def predicate(expr: Expr) -> Predicate:
    """Return a function row -> bool for `expr`; build it once and call it for every run."""
    if isinstance(expr, Compare):
        key, test = expr.key, _comparer(expr.op, expr.value)

        def compare(row: Row) -> bool:
            actual = row[key] if key in row else _lookup(row, key)
            return actual is not _MISSING and test(actual)

        return compare
    if isinstance(expr, Not):
        operand = predicate(expr.operand)
        return lambda row: not operand(row)
    operands = tuple(predicate(operand) for operand in expr.operands)
    # Plain loops: all()/any() over a generator cost a third more per run at 100k runs.
    if isinstance(expr, And):

        def every(row: Row) -> bool:
            for check in operands:
                if not check(row):
                    return False
            return True

        return every

    def some(row: Row) -> bool:
        for check in operands:
            if check(row):
                return True
        return False

    return some


def matches(expr: Expr, row: Row) -> bool:
    """Return whether the run `row` satisfies `expr` (keys resolved per row; see resolve_expr)."""
    return predicate(expr)(row)
