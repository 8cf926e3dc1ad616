"""`gitcfg log` over a config with 100,000 keys: column fitting is linear, the table prints fast.

Fitting the columns used to re-sum every shown column per dropped one and compare each hidden
column with all others: quadratic (10k keys: 50 s, 20k: 194 s). The tests compare the cost at
100,000 keys with the cost at 10,000 in the same run (CPU seconds of this process): linear work
grows about 10x, quadratic work 100x; no absolute time is asserted (it measures the machine).
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from conftest import commit_initial, init_repo
from runs_branch import make_run, write_runs

from gitcfg import query
from gitcfg.cli import tables as report
from gitcfg.cli.table_fit import fit_columns
from gitcfg.cli.tables import Column

# Ten times the keys: linear work costs ~10x, quadratic ~100x. 40 separates them with room for noise.
LINEAR_BOUND = 40


def _fit_seconds(count: int) -> float:
    columns = [Column(f"config.key_{i:06d}", f"key_{i:06d}", "config") for i in range(count)]
    headers = [c.header for c in columns]
    cells = [[str(i) for i in range(count)], [str(i + 1) for i in range(count)]]
    started = time.process_time()
    layout = fit_columns(columns, headers, cells, 120, keep=[0])
    spent = time.process_time() - started
    assert layout.shown[0] == 0 and 5 <= len(layout.shown) <= 12
    assert sum(layout.widths) + 2 * (len(layout.shown) - 1) <= 120
    return spent


def test_fitting_100k_columns_is_linear() -> None:
    small = min(_fit_seconds(10_000) for _ in range(3))
    large = _fit_seconds(100_000)
    assert large < LINEAR_BOUND * max(small, 1e-3), (small, large)


def _log_table_seconds(repo: Path, count: int) -> tuple[float, str]:
    """CPU seconds to make and print the `gitcfg log` table of two runs with `count` config keys
    (the query cache built beforehand), and the printed text."""
    runs = [make_run(i, {f"key_{k:06d}": i * count + k for k in range(count)}) for i in range(2)]
    write_runs(repo, runs)
    api = query.Api(repo)
    with api.runs():  # the query cache is built once; the table is what this test times
        pass
    from rich.console import Console

    screen = io.StringIO()
    console = Console(file=screen, width=120)
    started = time.process_time()
    with api.runs() as selected:
        table = report.log_report(selected, limit=100, say_total=True)
    report.emit(table, "table", console)
    return time.process_time() - started, screen.getvalue()


@pytest.mark.slow  # ~30 s, most of it writing the runs and building the query cache
def test_log_of_a_100k_key_config_prints_its_table_in_linear_time(tmp_path: Path) -> None:
    small_repo, large_repo = tmp_path / "small", tmp_path / "large"
    for path in (small_repo, large_repo):
        commit_initial(init_repo(path))
    small, _ = _log_table_seconds(small_repo, 10_000)
    large, out = _log_table_seconds(large_repo, 100_000)
    assert large < LINEAR_BOUND * max(small, 1e-2), (small, large)
    assert "key_000000" in out and "and 99,9" in out and "more (widen the terminal" in out
    assert len(out.splitlines()) < 20
