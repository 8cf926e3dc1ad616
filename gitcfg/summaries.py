"""A run's summary: each metric's last logged value, or its min/max/mean; assignments win.

Pure: no files, no git. The run folds its logged rows in (`_observe`); crash recovery rebuilds a
summary from the state the journal kept (`_state`, `_from_state`) and folds in the rows logged
after it. (Not summary.py: importing it would make `gitcfg.summary` this module, not the current
run's summary.)
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from fnmatch import fnmatchcase
from typing import Any

from gitcfg.values import SCALARS, equal_or_both_nan, is_number, plain_value

# wandb's define_metric(summary=...) values; a comma list ("min,max") keeps several. `best` is the
# min or max by the metric's goal. A metric with only `last` (the default) has its value as summary;
# any other choice gives a mapping by kind, as wandb's: {"loss": {"min": 0.1, "last": 0.2}}.
SUMMARY_KINDS = ("last", "min", "max", "mean", "best", "first", "none")
GOALS = ("minimize", "maximize")
_LAST = ("last",)
ROW_KEYS = ("_step", "_time")  # bookkeeping of a row, not metrics


class Summary(MutableMapping[str, Any]):
    """Each metric's summary: its last logged value, or min/max/mean as chosen with
    `run.define_metric(name, summary=...)`. Values assigned explicitly win over logged ones."""

    def __init__(self, sync: Callable[[], None] | None = None) -> None:
        self._last: dict[str, Any] = {}
        # metric -> kind -> [value, count], for first/min/max/mean/best (see _accumulate)
        self._stats: dict[str, dict[str, list[Any]]] = {}
        self._explicit: dict[str, Any] = {}
        self._deleted: set[str] = set()
        self._rules: dict[str, str] = {}  # metric name or glob -> summary kinds ("min,max")
        self._goals: dict[str, str] = {}  # metric name or glob -> minimize/maximize
        self._kinds: dict[str, tuple[str, ...]] = {}  # metric name -> its kinds (cache of _rules)
        self._sync = sync or (lambda: None)  # folds the rows logged so far in
        self._lock = threading.RLock()

    # logging side (called with the run's rows, under the run's lock)

    def _define(self, pattern: str, kinds: str, goal: str | None = None) -> None:
        self._rules[pattern] = kinds
        if goal:
            self._goals[pattern] = goal
        self._kinds.clear()

    def _kind(self, key: str) -> tuple[str, ...]:
        kinds = self._kinds.get(key)
        if kinds is None:
            spec = _matching(self._rules, key)
            kinds = tuple(spec.split(",")) if spec else _LAST
            if "best" in kinds:
                goal = _matching(self._goals, key) or "minimize"
                kinds = tuple(f"best:{goal}" if k == "best" else k for k in kinds)
            self._kinds[key] = kinds
        return kinds

    def _observe(self, rows: Iterable[Mapping[str, Any]]) -> None:
        last = self._last
        if not self._rules:
            for row in rows:
                last.update(row)
            return
        for row in rows:
            last.update(row)
            for key, value in row.items():
                kinds = self._kind(key)
                if kinds != _LAST:
                    _accumulate(self._stats, key, kinds, value)

    # mapping side

    def __getitem__(self, key: str) -> Any:
        self._sync()
        with self._lock:
            return self._get(key)

    def _get(self, key: str) -> Any:
        if key in self._explicit:
            return self._explicit[key]
        if key in self._deleted or key in ROW_KEYS:
            raise KeyError(key)
        kinds = self._kind(key) if self._rules else _LAST
        if kinds == _LAST:
            return self._last[key]
        stats = self._stats.get(key) or {}
        out: dict[str, Any] = {}
        for kind in kinds:
            name = kind.partition(":")[0]
            if kind == "last":
                if key in self._last:
                    out[name] = self._last[key]
            elif kind in stats and stats[kind][1]:
                value, count = stats[kind]
                out[name] = value / count if kind == "mean" else value
        if not out:  # `none`, or nothing countable logged
            raise KeyError(key)
        return out

    def __setitem__(self, key: str, value: Any) -> None:
        if type(value) not in SCALARS or type(value) is int:
            check_storable(value, f"summary[{key!r}]")
        with self._lock:
            self._explicit[key] = value
            self._deleted.discard(key)
        self._changed()

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        with self._lock:
            self._explicit.pop(key, None)
            self._deleted.add(key)
        self._changed()

    def _changed(self) -> None:
        """Hook: the run journals the summary again (set by Run)."""

    def _keys(self) -> list[str]:
        seen = dict.fromkeys(k for k in self._last if k not in self._deleted and k not in ROW_KEYS)
        if self._rules:  # `none` and metrics with nothing countable have no summary
            seen = dict.fromkeys(k for k in seen if self._has(k))
        seen.update(dict.fromkeys(self._explicit))
        return list(seen)

    def _has(self, key: str) -> bool:
        try:
            self._get(key)
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        self._sync()
        with self._lock:
            return iter(self._keys())

    def __len__(self) -> int:
        self._sync()
        with self._lock:
            return len(self._keys())

    def __contains__(self, key: object) -> bool:
        self._sync()
        with self._lock:
            try:
                self._get(key)  # type: ignore[arg-type]
            except (KeyError, TypeError):
                return False
            return True

    def __repr__(self) -> str:
        return f"Summary({self.as_dict()!r})"

    def as_dict(self) -> dict[str, Any]:
        """The summary as plain values, as summary.yaml stores it."""
        self._sync()
        with self._lock:
            return self._snapshot()

    def _snapshot(self) -> dict[str, Any]:
        return {str(k): plain_value(self._get(k)) for k in self._keys()}

    # journal side: what a crash recovery needs to go on folding rows in

    def _state(self) -> dict[str, Any]:
        """Everything the summary depends on, as plain JSON values, copied (call with the lock held)."""
        return {
            "last": {str(k): v for k, v in self._last.items() if k not in ROW_KEYS},
            "stats": {k: {kind: list(e) for kind, e in v.items()} for k, v in self._stats.items()},
            "explicit": {str(k): plain_value(v) for k, v in self._explicit.items()},
            "deleted": sorted(map(str, self._deleted)),
            "rules": dict(self._rules),
            "goals": dict(self._goals),
        }

    @classmethod
    def _from_state(cls, state: Mapping[str, Any]) -> Summary:
        """The summary that `_state()` described; a missing part is empty."""
        summary = cls()
        summary._load(state)
        return summary

    def _load(self, state: Mapping[str, Any]) -> None:
        """Replace this summary's contents with what `_state()` described."""
        self._last = dict(state.get("last") or {})
        self._stats = {
            k: {kind: list(entry) for kind, entry in v.items()}
            for k, v in (state.get("stats") or {}).items()
            if isinstance(v, dict)  # a journal of an older gitcfg kept [kind, value, count]
        }
        self._explicit = dict(state.get("explicit") or {})
        self._deleted = set(state.get("deleted") or ())
        self._rules = dict(state.get("rules") or {})
        self._goals = dict(state.get("goals") or {})
        self._kinds = {}

    @classmethod
    def _rebuilt(
        cls,
        rules: Mapping[str, str],
        rows: Iterable[Mapping[str, Any]],
        stored: Mapping[str, Any],
        goals: Mapping[str, str] | None = None,
    ) -> Summary:
        """The summary of a stored run, to go on from (resume): its rows folded in under its
        define_metric rules (and goals), then each stored value that the rows do not give is an
        assignment."""
        summary = cls()
        goals = goals or {}
        for pattern, kinds in rules.items():
            try:
                summary._define(str(pattern), parse_summary(kinds), goals.get(pattern))
            except ValueError:
                continue  # a damaged rule: the stored values stand as assignments
        summary._observe(rows)
        folded = summary._snapshot()
        for key, value in stored.items():
            if key not in folded or not equal_or_both_nan(folded[key], value):
                summary._explicit[key] = value
        summary._deleted = {key for key in folded if key not in stored}
        return summary


def _matching(rules: Mapping[str, str], key: str) -> str | None:
    """The rule for `key`: its own, else the first glob that matches it."""
    found = rules.get(key)
    if found is None:
        found = next((v for p, v in rules.items() if fnmatchcase(key, p)), None)
    return found


def parse_summary(summary: str | None) -> str:
    """A define_metric summary choice checked and normalised: "min, max" -> "min,max".

    Raises ValueError naming the choices for anything else.
    """
    kinds = [k.strip().lower() for k in str(summary or "last").split(",") if k.strip()]
    bad = [k for k in kinds if k not in SUMMARY_KINDS]
    if bad or not kinds:
        raise ValueError(
            f"summary={summary!r}: choose one of {', '.join(SUMMARY_KINDS)}, or a comma list"
        )
    return ",".join(dict.fromkeys(kinds))


def _accumulate(
    stats: dict[str, dict[str, list[Any]]], key: str, kinds: tuple[str, ...], value: Any
) -> None:
    """Fold one logged value into its kinds: [value, count] each. first takes any value; min, max,
    mean and best count numbers only (not NaN)."""
    entries = stats.get(key)
    if entries is None:
        entries = stats[key] = {}
    number = is_number(value) and value == value
    for kind in kinds:
        if kind == "last" or kind == "none":
            continue
        entry = entries.get(kind)
        if kind == "first":
            if entry is None:
                entries[kind] = [value, 1]
            continue
        if not number:
            continue
        if entry is None:
            entries[kind] = [value, 1]
        elif kind == "mean":
            entry[0] += value
            entry[1] += 1
        elif (value < entry[0]) if kind in ("min", "best:minimize") else (value > entry[0]):
            entry[0] = value


def check_storable(value: Any, what: str, depth: int = 0) -> None:
    """ValueError naming `what` when `value` could not be written out: dicts and lists nested
    past configuration.MAX_VALUE_DEPTH (or containing themselves), an int of more digits than
    Python prints (sys.get_int_max_str_digits())."""
    from gitcfg.configuration import MAX_VALUE_DEPTH

    if type(value) is int and value.bit_length() > 4000:
        try:
            str(value)
        except ValueError:
            limit = sys.get_int_max_str_digits()
            why = f"an int of more than {limit} digits cannot be stored"
            raise ValueError(f"{what}: {why}") from None
    elif isinstance(value, (Mapping, list, tuple)):
        if depth >= MAX_VALUE_DEPTH:
            raise ValueError(
                f"{what}: dicts and lists nested deeper than {MAX_VALUE_DEPTH} levels "
                "(a dict or list that contains itself?)"
            )
        for item in value.values() if isinstance(value, Mapping) else value:
            check_storable(item, what, depth + 1)
