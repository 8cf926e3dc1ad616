"""A run's summary: each metric's last logged value, or its min/max/mean; assignments win.

Pure: no files, no git. The run folds its logged rows in (`_observe`); crash recovery rebuilds a
summary from the state the journal kept (`_state`, `_from_state`) and folds in the rows logged
after it. (Not summary.py: importing it would make `gitcfg.summary` this module, not the current
run's summary.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from fnmatch import fnmatchcase
from typing import Any

SUMMARY_KINDS = ("last", "min", "max", "mean")
ROW_KEYS = ("_step", "_time")  # bookkeeping of a row, not metrics
SCALARS = frozenset((float, int, str, bool, type(None)))


class Summary(MutableMapping[str, Any]):
    """Each metric's summary: its last logged value, or min/max/mean as chosen with
    `run.define_metric(name, summary=...)`. Values assigned explicitly win over logged ones."""

    def __init__(self, sync: Callable[[], None] | None = None) -> None:
        self._last: dict[str, Any] = {}
        self._stats: dict[str, list[Any]] = {}  # metric -> [kind, value, count] for min/max/mean
        self._explicit: dict[str, Any] = {}
        self._deleted: set[str] = set()
        self._rules: dict[str, str] = {}  # metric name or glob -> summary kind
        self._kinds: dict[str, str] = {}  # metric name -> resolved kind (cache of _rules)
        self._sync = sync or (lambda: None)  # folds the rows logged so far in
        self._lock = threading.RLock()

    # logging side (called with the run's rows, under the run's lock)

    def _define(self, pattern: str, kind: str) -> None:
        self._rules[pattern] = kind
        self._kinds.clear()

    def _kind(self, key: str) -> str:
        kind = self._kinds.get(key)
        if kind is None:
            kind = self._rules.get(key) or next(
                (k for p, k in self._rules.items() if fnmatchcase(key, p)), "last"
            )
            self._kinds[key] = kind
        return kind

    def _observe(self, rows: Iterable[Mapping[str, Any]]) -> None:
        last = self._last
        if not self._rules:
            for row in rows:
                last.update(row)
            return
        for row in rows:
            last.update(row)
            for key, value in row.items():
                kind = self._kind(key)
                if kind != "last":
                    _accumulate(self._stats, key, kind, value)

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
        stats = self._stats.get(key)
        if stats is not None and stats[2]:
            return stats[1] / stats[2] if stats[0] == "mean" else stats[1]
        return self._last[key]

    def __setitem__(self, key: str, value: Any) -> None:
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
        seen.update(dict.fromkeys(self._explicit))
        return list(seen)

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
            "stats": {k: list(v) for k, v in self._stats.items()},
            "explicit": {str(k): plain_value(v) for k, v in self._explicit.items()},
            "deleted": sorted(map(str, self._deleted)),
            "rules": dict(self._rules),
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
        self._stats = {k: list(v) for k, v in (state.get("stats") or {}).items()}
        self._explicit = dict(state.get("explicit") or {})
        self._deleted = set(state.get("deleted") or ())
        self._rules = dict(state.get("rules") or {})
        self._kinds = {}

    @classmethod
    def _rebuilt(
        cls,
        rules: Mapping[str, str],
        rows: Iterable[Mapping[str, Any]],
        stored: Mapping[str, Any],
    ) -> Summary:
        """The summary of a stored run, to go on from (resume): its rows folded in under its
        define_metric rules, then each stored value that the rows do not give is an assignment."""
        summary = cls()
        for pattern, kind in rules.items():
            if kind in SUMMARY_KINDS:
                summary._define(str(pattern), kind)
        summary._observe(rows)
        folded = summary._snapshot()
        for key, value in stored.items():
            if key not in folded or not _same(folded[key], value):
                summary._explicit[key] = value
        summary._deleted = {key for key in folded if key not in stored}
        return summary


def _same(a: Any, b: Any) -> bool:
    """Equal, or both NaN (a summary read back from YAML)."""
    return a == b or (a != a and b != b)


def _accumulate(stats: dict[str, list[Any]], key: str, kind: str, value: Any) -> None:
    """Fold one logged value into min/max/mean; non-numbers and NaN do not count."""
    if type(value) is bool or not isinstance(value, (int, float)) or value != value:
        return
    entry = stats.get(key)
    if entry is None:
        stats[key] = [kind, value, 1]
    elif kind == "mean":
        entry[1] += value
        entry[2] += 1
    elif (value < entry[1]) if kind == "min" else (value > entry[1]):
        entry[1] = value


def plain_value(value: Any) -> Any:
    """Metric values as plain JSON/YAML types (numpy/torch values via .tolist() or .item())."""
    if type(value) in SCALARS:
        return value
    if isinstance(value, Mapping):
        return {str(k): plain_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_value(v) for v in value]
    for method in ("tolist", "item"):  # numpy arrays and scalars, torch tensors
        convert = getattr(value, method, None)
        if callable(convert):
            try:
                return plain_value(convert())
            except (TypeError, ValueError, RuntimeError):
                pass
    for kind in (bool, int, float, str):  # subclasses (IntEnum, numpy.float64) as the base type
        if isinstance(value, kind):
            return kind(value)
    return str(value)
