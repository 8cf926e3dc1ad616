"""Run ids: millisecond time order, monotonic within a process, the first format still read."""

from __future__ import annotations

import os
from datetime import datetime, timezone

from hypothesis import given
from hypothesis import strategies as st

from gitcfg.store import (
    ID_CHARS,
    ID_EPOCH,
    is_run_id_prefix,
    is_valid_run_id,
    new_run_id,
    run_id_time,
    shard,
)

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
# 2020-01-01 .. 2120-01-01, in whole milliseconds
_MS = st.integers(min_value=0, max_value=100 * 365 * 86_400_000)


def first_format_id(seconds: int) -> str:
    """An id as gitcfg made them before ms ids: 7 chars of seconds since 2020, 13 random."""
    value = (seconds << 65) | int.from_bytes(os.urandom(9), "big") >> 7
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(20)))


def at(ms: int) -> float:
    return ID_EPOCH + ms / 1000 + 0.0001  # inside the millisecond, clear of float rounding


@given(st.lists(_MS, min_size=2, max_size=20, unique=True))
def test_ids_sort_by_start_millisecond(times):
    ids = {ms: new_run_id(at(ms)) for ms in times}
    assert [ids[ms] for ms in sorted(times)] == sorted(ids.values())
    for ms, run_id in ids.items():
        assert len(run_id) == ID_CHARS == 20 and is_valid_run_id(run_id)
        assert run_id_time(run_id) == datetime.fromtimestamp(ID_EPOCH + ms / 1000, tz=timezone.utc)
        assert run_id[0] != "0"  # what tells a new id from the first format
        assert all(is_run_id_prefix(run_id[:n]) for n in range(1, 21))
        assert shard(run_id) == run_id[-2:]


@given(_MS, st.integers(min_value=2, max_value=50))
def test_ids_made_in_one_millisecond_differ_and_keep_creation_order(ms, count):
    ids = [new_run_id(at(ms)) for _ in range(count)]
    assert sorted(ids) == ids and len(set(ids)) == count
    assert {run_id_time(run_id) for run_id in ids} == {run_id_time(ids[0])}


def test_ids_without_a_time_are_monotonic_too():
    ids = [new_run_id() for _ in range(2000)]
    assert sorted(ids) == ids and len(set(ids)) == len(ids)
    assert len({shard(run_id) for run_id in ids}) > 100  # shards still spread


@given(st.integers(min_value=0, max_value=32**6 - 1), _MS)
def test_first_format_ids_still_read_and_sort_before_new_ones(seconds, ms):
    old = first_format_id(seconds)
    assert old[0] == "0" and len(old) == 20 and is_run_id_prefix(old)
    assert run_id_time(old) == datetime.fromtimestamp(ID_EPOCH + seconds, tz=timezone.utc)
    assert old < new_run_id(at(ms))


@given(st.lists(_MS, min_size=1, max_size=10))
def test_a_prefix_names_exactly_the_ids_it_starts(times):
    ids = sorted(new_run_id(at(ms)) for ms in times)
    for run_id in ids:
        for n in (8, 9, 12, 20):
            matches = [other for other in ids if other.startswith(run_id[:n])]
            assert run_id in matches
            assert matches == ids[ids.index(matches[0]) : ids.index(matches[-1]) + 1]


def test_chosen_ids_have_no_time():
    epoch = datetime.fromtimestamp(ID_EPOCH, tz=timezone.utc)
    assert run_id_time("baseline-lr3") == epoch
