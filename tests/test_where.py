import math
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitcfg.errors import BadQuery, UnknownKey, WhereSyntaxError
from gitcfg.values import values_equal
from gitcfg.where import (
    COMPARISONS,
    And,
    Compare,
    Not,
    Or,
    close_keys,
    expr_keys,
    matches,
    parse_where,
    render,
    require_key,
    resolve_expr,
    resolve_key,
    short_key,
    type_literal,
    where_all,
)

ROW = {
    "id": "01jf3kaaaa",
    "name": "bright-river",
    "status": "finished",
    "host": "gpu-1",
    "tags": ["baseline", "leak"],
    "started": "2026-11-26T00:35:12Z",
    "code_commit": "abc123",
    "config.lr": 0.001,
    "config.model.depth": 18,
    "config.use_amp": True,
    "config.layers": [64, 64],
    "config.dataset": "imagenet-v2",
    "config.name": "resnet",
    "config.note": None,
    "summary.val_acc": 0.93,
    "summary.train_loss": float("nan"),
    "summary.lr": 0.0005,
}


def where(text, row=ROW):
    return matches(parse_where(text), row)


# --- literals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("3", 3),
        ("-1", -1),
        ("1_000", 1000),
        ("0.5", 0.5),
        (".5", 0.5),
        ("1e-3", 0.001),
        ("1E5", 100000.0),
        ("1.0e5", 100000.0),
        ("-2.5e-4", -0.00025),
        (".inf", math.inf),
        ("-.inf", -math.inf),
        ("true", True),
        ("False", False),
        ("yes", True),  # as PyYAML reads `flag: yes` in config.yaml
        ("null", None),
        ("~", None),
        ("finished", "finished"),
        ("imagenet-v2", "imagenet-v2"),
        ("2026-11-26", "2026-11-26"),  # dates stay text, compared as ISO 8601
        ("2026-11-26T00:35:12Z", "2026-11-26T00:35:12Z"),
        ("#tag", "#tag"),  # not a YAML comment
        ("0x_", "0x_"),  # matches YAML's int pattern but is no number
        ("1e", "1e"),
    ],
)
def test_bare_words_are_typed_as_yaml_scalars(word, expected):
    value = type_literal(word)
    assert type(value) is type(expected)
    assert value == expected


def test_nan_word_is_a_float_nan():
    assert math.isnan(type_literal(".nan"))


@pytest.mark.parametrize("text", ['"1e-3"', "'1e-3'", '"true"', "'null'", '"3"'])
def test_quoted_values_are_always_strings(text):
    expr = parse_where(f"x == {text}")
    assert expr.value == text[1:-1]
    assert type(expr.value) is str


def test_string_escapes_cover_the_quote_and_backslash_only():
    assert parse_where(r'p == "a\"b"').value == 'a"b'
    assert parse_where(r"p == 'it\'s'").value == "it's"
    assert parse_where(r'p == "a\\b"').value == "a\\b"
    assert parse_where(r'p == "C:\data"').value == "C:\\data"


# --- structure ----------------------------------------------------------------------------


def test_left_side_is_a_key_and_right_side_a_value():
    assert parse_where("status == finished") == Compare("status", "==", "finished")
    assert parse_where("finished == status") == Compare("finished", "==", "status")
    assert parse_where("true == 1") == Compare("true", "==", 1)


def test_operators_parse_with_or_without_spaces():
    assert parse_where("lr>=1e-3") == Compare("lr", ">=", 0.001)
    assert parse_where("a!=-1") == Compare("a", "!=", -1)
    assert parse_where("a<b") == Compare("a", "<", "b")
    assert parse_where("tags contains leak") == Compare("tags", "contains", "leak")
    assert parse_where("a in [1,'x', true,]") == Compare("a", "in", (1, "x", True))
    assert parse_where("a not in []") == Compare("a", "not in", ())
    assert parse_where("layers == [64, 64]") == Compare("layers", "==", (64, 64))


def test_and_binds_tighter_than_or_and_not_looser_than_a_comparison():
    a, b, c = (Compare(k, "==", 1) for k in "abc")
    assert parse_where("a == 1 or b == 1 and c == 1") == Or((a, And((b, c))))
    assert parse_where("(a == 1 or b == 1) and c == 1") == And((Or((a, b)), c))
    assert parse_where("not a == 1 and b == 1") == And((Not(a), b))
    assert parse_where("not not a == 1") == Not(Not(a))
    assert parse_where("a == 1 and b == 1 and c == 1") == And((a, b, c))


def test_keywords_are_case_insensitive():
    assert parse_where("a == 1 AND NOT b IN [2] Or c CONTAINS x") == parse_where(
        "a == 1 and not b in [2] or c contains x"
    )


def test_backticks_quote_keys_with_spaces_or_keyword_names():
    assert parse_where("`my key` == 1") == Compare("my key", "==", 1)
    assert parse_where("`and` == 1") == Compare("and", "==", 1)
    assert render(Compare("in", "==", 1)) == "`in` == 1"
    assert render(Compare("a`b", "==", 1)) == r"`a\`b` == 1"


def test_ast_equality_tells_types_apart():
    assert parse_where("a == 1") != parse_where("a == true")
    assert parse_where("a == 1") != parse_where("a == 1.0")
    assert parse_where("a == .nan") == parse_where("a == .nan")
    assert len({parse_where("a == 1"), parse_where("a == true"), parse_where("a == 1")}) == 2


def test_where_all_ands_the_clauses():
    assert where_all([]) is None
    assert where_all(["a == 1"]) == Compare("a", "==", 1)
    assert where_all(["a == 1", "b == 2 or c == 3"]) == And(
        (Compare("a", "==", 1), parse_where("b == 2 or c == 3"))
    )


def test_expr_keys_lists_every_key_as_written():
    assert expr_keys(parse_where("lr > 1 and not (status == x or config.lr in [1])")) == {
        "lr",
        "status",
        "config.lr",
    }


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [
        ("lr >= = 3", 6, "expected a value after '>='"),
        ("lr = 3", 3, "use == to compare"),
        ("lr ! 3", 3, "use != or"),
        ("(a == 1", 7, "')' to close the '(' at column 1"),
        ("a == 1)", 6, "expected `and`, `or` or the end"),
        ("a == 1 b == 2", 7, "expected `and`, `or` or the end"),
        ("a in [1, 2", 10, "']' to close the '[' at column 6"),
        ("a in [1 2]", 8, "',' or ']'"),
        ("a in 1", 5, "'[' to start a list"),
        ("a < [1]", 4, "not a list"),
        ("a contains [1]", 11, "not a list"),
        ("a not 3", 6, "'in' after 'not'"),
        ("a 3", 2, "an operator after the key 'a'"),
        ('"status" == x', 0, "the left side of a comparison is a key"),
        ('a == "x', 5, "unterminated string"),
        ("`a == 1", 0, "unterminated key"),
        ("`` == 1", 0, "empty key"),
        ("", 0, "expected a key"),
        ("   ", 3, "expected a key"),
        ("a == 1 and", 10, "expected a key"),
        ("a == and", 5, "expected a value after '=='"),
        ("not", 3, "expected a key"),
        ("[1] == a", 0, "expected a key"),
    ],
)
def test_syntax_errors_point_at_the_position(text, position, reason):
    with pytest.raises(WhereSyntaxError) as caught:
        parse_where(text)
    error = caught.value
    assert isinstance(error, BadQuery)
    assert error.position == position
    assert reason in error.reason
    message = str(error)
    assert "\n" not in message
    assert f"column {position + 1}" in message
    line, caret = error.caret_text().split("\n")
    assert line == text
    assert caret == " " * position + "^ " + error.reason


def test_caret_points_into_the_right_line_of_a_multiline_filter():
    with pytest.raises(WhereSyntaxError) as caught:
        parse_where("a == 1 and\n  b >= = 2")
    assert caught.value.caret_text() == "  b >= = 2\n       ^ " + caught.value.reason
    assert "\n" not in str(caught.value)


@given(st.text(max_size=40))
def test_any_text_parses_or_raises_a_positioned_syntax_error(text):
    try:
        expr = parse_where(text)
    except WhereSyntaxError as error:
        assert 0 <= error.position <= len(text)
        assert "\n" not in str(error)
    else:
        assert parse_where(render(expr)) == expr


# --- round trip ---------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # NaN and ±inf included: AST equality treats NaN as NaN
    st.text(),
)
keys = st.text(min_size=1)


@st.composite
def comparisons(draw):
    op = draw(st.sampled_from(COMPARISONS))
    if op in ("in", "not in") or (op in ("==", "!=") and draw(st.booleans())):
        return Compare(draw(keys), op, tuple(draw(st.lists(scalars, max_size=4))))
    return Compare(draw(keys), op, draw(scalars))


exprs = st.recursive(
    comparisons(),
    lambda children: st.one_of(
        children.map(Not),
        st.lists(children, min_size=2, max_size=4).map(lambda items: And(tuple(items))),
        st.lists(children, min_size=2, max_size=4).map(lambda items: Or(tuple(items))),
    ),
    max_leaves=12,
)


@given(exprs)
def test_parse_where_of_render_gives_back_the_same_tree(expr):
    text = render(expr)
    assert parse_where(text) == expr
    assert repr(parse_where(text)) == repr(expr) or "nan" in repr(expr)
    assert render(parse_where(text)) == text


def test_render_uses_parentheses_only_where_needed():
    assert render(parse_where("a == 1 or b == 2 and c == 3")) == "a == 1 or b == 2 and c == 3"
    assert render(parse_where("(a == 1 or b == 2) and c == x")) == '(a == 1 or b == 2) and c == "x"'
    assert render(parse_where("not (a == 1 and b == 2)")) == "not (a == 1 and b == 2)"
    assert render(parse_where("a == 1 or (b == 2 or c == 3)")) == "a == 1 or (b == 2 or c == 3)"
    assert render(parse_where("x in [1e-3, .inf, null, no]")) == "x in [0.001, .inf, null, false]"


# --- matching -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "lr == 1e-3",
        "lr == 0.001",
        "model.depth == 18",
        "model.depth == 18.0",  # 18 == 18.0
        "model.depth >= 18 and model.depth < 19",
        "status == finished",
        'status == "finished"',
        "status in [finished, failed]",
        "status not in [running, crashed]",
        "status != failed",
        "tags contains leak",
        "dataset contains imagenet",  # substring
        "use_amp == true",
        "use_amp == yes",
        "note == null",
        "layers == [64, 64]",
        "layers contains 64",
        "started >= 2026-11-26",
        "started < 2026-11-27T00:00:00Z",
        "name == bright-river",  # the run field, not config.name
        "config.name == resnet",
        "val_acc > 0.9",
        "summary.val_acc > 0.9",
        "train_loss == .nan",  # finds diverged runs
        "not missing == 1",
        "missing == 1 or val_acc > 0.9",
    ],
)
def test_filters_that_match(text):
    assert where(text)


@pytest.mark.parametrize(
    "text",
    [
        "missing == 1",
        "missing != 1",  # a missing key is false for != too
        "missing not in [1, 2]",  # ... and for not in
        "missing == null",
        "missing contains x",
        "missing < 3",
        "use_amp == 1",  # a bool is not a number
        "model.depth == true",
        'model.depth == "18"',  # "18" is text
        "model.depth < abc",  # ordering across types is false, not an error
        "model.depth > abc",
        "status > 3",
        "use_amp > 0",
        "layers < 100",
        "model.depth contains 1",  # contains needs a list or a string
        "tags contains lea",  # list membership is exact
        "status == Finished",
        "train_loss > 0",
        "train_loss < 0",
        "note != null",
        "layers == [64]",
        "started > 2026-11-26T00:35:12Z",
        "val_acc > 0.9 and missing == 1",
    ],
)
def test_filters_that_do_not_match(text):
    assert not where(text)


def test_not_equal_matches_a_present_different_value():
    assert where("status != failed")
    assert where('model.depth != "18"')
    assert where("use_amp != 1")


def test_bare_keys_resolve_as_written_then_config_then_summary():
    assert resolve_key(ROW, "status") == "status"
    assert resolve_key(ROW, "name") == "name"  # run field first
    assert resolve_key(ROW, "lr") == "config.lr"  # config before summary
    assert resolve_key(ROW, "val_acc") == "summary.val_acc"
    assert resolve_key(ROW, "summary.lr") == "summary.lr"
    assert resolve_key(ROW, "model.depth") == "config.model.depth"
    assert resolve_key(ROW, "nope") is None
    assert resolve_key(list(ROW), "lr") == "config.lr"
    assert where("lr == 0.001") and where("summary.lr == 0.0005")


def test_resolve_expr_pins_each_key_to_one_column_across_runs():
    expr = resolve_expr(parse_where("lr > 0 and not (val_acc < 1 or nope == 1)"), ROW)
    assert expr == parse_where("config.lr > 0 and not (summary.val_acc < 1 or nope == 1)")
    only_summary = {"summary.lr": 0.5}
    pinned = resolve_expr(parse_where("lr == 0.5"), set(ROW))
    assert not matches(pinned, only_summary)  # `lr` means config.lr in this set of runs
    assert matches(parse_where("lr == 0.5"), only_summary)  # unpinned: resolved per row


def test_values_equal_follows_yaml():
    assert values_equal(1, 1.0)
    assert not values_equal(True, 1)
    assert not values_equal("1", 1)
    assert values_equal([1, [2, "x"]], (1.0, (2, "x")))
    assert values_equal({"a": 1}, {"a": 1.0})
    assert values_equal(float("nan"), float("nan"))
    assert not values_equal(None, "null")


# --- unknown keys -------------------------------------------------------------------------


def test_close_keys_suggests_the_name_a_user_would_type():
    known = set(ROW)
    assert close_keys("val_accc", known)[0] == "val_acc"
    assert close_keys("model.dept", known)[0] == "model.depth"
    assert "config.name" not in close_keys("nmae", known)  # `name` is the run field
    assert close_keys("lrr", known)[0] == "lr"
    assert close_keys("zzzzzz", known) == []
    assert short_key("summary.lr", known) == "summary.lr"  # `lr` would mean config.lr


def test_require_key_raises_one_line_with_suggestions():
    assert require_key(ROW, "lr", "--group-by") == "config.lr"
    with pytest.raises(UnknownKey) as caught:
        require_key(ROW, "val_acc_", "--sort")
    error = caught.value
    assert isinstance(error, BadQuery)
    assert error.suggestions[0] == "val_acc"
    assert str(error) == "unknown key 'val_acc_' in --sort; did you mean 'val_acc'?"
    with pytest.raises(UnknownKey, match="--all-keys"):
        require_key(ROW, "qqqqqq", "--group-by")


def test_importing_the_query_modules_loads_no_heavy_dependency():
    code = (
        "import sys, gitcfg; before = set(sys.modules);"
        "import gitcfg.where, gitcfg.aggregate;"
        "new = {m.split('.')[0] for m in set(sys.modules) - before};"
        "print(sorted(new & {'yaml', 'git', 'rich', 'typer'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
