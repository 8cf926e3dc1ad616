"""Review 7: load_yaml_fast gives every mapping key as text (yamlio._block_mapping, _plain_keys,
_construct, _text_keys) and the keys table keeps ranks (SCHEMA 9). Cases where the change goes
wrong. Real repositories, no mocks."""

from __future__ import annotations

from pathlib import Path

import pytest
import runs_branch

from gitcfg.errors import YamlLimitExceeded
from gitcfg.query import Api
from gitcfg.store import read_mapping
from gitcfg.yamlio import load_yaml, load_yaml_fast

# Two keys whose YAML values are equal (1 == True, 0 == False, 1 == 1.0, 0.0 == -0.0, the same
# instant in two time zones): load_yaml refuses them as a duplicate key, and so did
# load_yaml_fast before the change (its line parser compared the keys' values). Now the line
# parser compares the keys' texts ("1" != "True") and keeps both.
EQUAL_VALUED_KEYS = [
    pytest.param("1: a\ntrue: b\n", id="int-bool"),
    pytest.param("0: a\nfalse: b\n", id="zero-false"),
    pytest.param("yes: a\n1: b\n", id="yes-int"),
    pytest.param("1: a\n1.0: b\n", id="int-float"),
    pytest.param("0.0: a\n-0.0: b\n", id="signed-zero"),
    pytest.param(
        "2020-01-01 00:00:00Z: a\n2020-01-01 01:00:00+01:00: b\n", id="same-instant-two-zones"
    ),
    pytest.param("x:\n  1: a\n  true: b\n", id="nested"),
]


@pytest.mark.parametrize("text", EQUAL_VALUED_KEYS)
def test_load_yaml_fast_still_refuses_a_key_load_yaml_calls_a_duplicate(text: str) -> None:
    with pytest.raises(YamlLimitExceeded, match="duplicate key"):
        load_yaml(text)
    # The same document outside the line parser's subset (a comment first) still fails through
    # libyaml's path: only the line parser lets it through.
    with pytest.raises(YamlLimitExceeded, match="duplicate key"):
        load_yaml_fast("# hand-written\n" + text)
    with pytest.raises(YamlLimitExceeded, match="duplicate key"):
        load_yaml_fast(text)


def test_a_config_with_a_duplicate_key_is_damaged_in_the_cache_as_for_show(repo: Path, cli) -> None:
    """`gitcfg show` (store.read_run strict: load_yaml) refuses the file as damaged; the cache
    (store.read_mapping: load_yaml_fast) must not read it as a valid config with two keys."""
    text = b"1: a\ntrue: b\n"
    assert read_mapping(text)[1] is not None  # why it cannot be read: the duplicate key
    run = runs_branch.make_run(1, {}, {"acc": 1})
    files = runs_branch.run_files(run)
    files[f"{runs_branch.run_dir(run['id'])}/config.yaml"] = text
    runs_branch.commit(repo, files, f"run {run['id']}: finished")
    shown = cli(repo, "show", run["id"])
    assert shown.exit_code != 0 and "duplicate key" in shown.output
    with Api(repo).runs() as selected:
        [found] = list(selected)
        assert found.config == {}  # a damaged file shows as empty (store.read_mapping)
        assert "config.1" not in selected.keys() and "config.True" not in selected.keys()


def test_show_as_recorded_or_at_prints_the_config_show_prints(repo: Path, cli) -> None:
    """A run nobody amended: `show --as-recorded` and `show --at <tip>` are the same version of
    it as `show`. They read it through store.read_run without strict (store.load_mapping ->
    load_yaml_fast: text keys), `show` with strict (load_yaml: YAML's keys), so a hand-written
    `on:` prints as `true:` in one and `'True':` in the others (before the change, `true:` in
    all three). `show --config` is documented as a valid --configs file: `'True'` is another key."""
    run = runs_branch.make_run(1, {}, {"acc": 1})
    files = runs_branch.run_files(run)
    files[f"{runs_branch.run_dir(run['id'])}/config.yaml"] = b"on: push\nb: 2\n"
    runs_branch.commit(repo, files, f"run {run['id']}: finished")
    shown = cli(repo, "show", run["id"], "--config")
    assert shown.exit_code == 0, shown.output
    assert load_yaml(shown.output) == {True: "push", "b": 2}
    for flags in (["--as-recorded"], ["--at", "gitcfg-runs"]):
        other = cli(repo, "show", run["id"], "--config", *flags)
        assert other.exit_code == 0, other.output
        assert other.output == shown.output, flags
