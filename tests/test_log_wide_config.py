"""`gitcfg log` over a config with 100,000 keys: column fitting is linear, the table prints fast.

Fitting the columns used to re-sum every shown column per dropped one and compare each hidden
column with all others: quadratic (10k keys: 50 s, 20k: 194 s). Times are CPU seconds of this
process (wall time on a shared machine measures the neighbours).
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from runs_branch import make_run, write_runs

from gitcfg import query
from gitcfg.cli import tables as report
from gitcfg.cli.table_fit import fit_columns
from gitcfg.cli.tables import Column


def test_fitting_100k_columns_is_linear() -> None:
    count = 100_000
    columns = [Column(f"config.key_{i:06d}", f"key_{i:06d}", "config") for i in range(count)]
    headers = [c.header for c in columns]
    cells = [[str(i) for i in range(count)], [str(i + 1) for i in range(count)]]
    started = time.process_time()
    layout = fit_columns(columns, headers, cells, 120, keep=[0])
    assert time.process_time() - started < 1.0
    assert layout.shown[0] == 0 and 5 <= len(layout.shown) <= 12
    assert sum(layout.widths) + 2 * (len(layout.shown) - 1) <= 120


@pytest.mark.slow  # ~25 s, most of it writing the runs and building the query cache
def test_log_of_a_100k_key_config_prints_its_table_in_under_2s(repo: Path) -> None:
    count = 100_000
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
    assert time.process_time() - started < 2.0
    out = screen.getvalue()
    assert "key_000000" in out and "and 99,9" in out and "more (widen the terminal" in out
    assert len(out.splitlines()) < 20
