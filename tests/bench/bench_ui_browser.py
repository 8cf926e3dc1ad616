"""How fast the page of `gitcfg report` and `gitcfg ui` opens in headless chromium, at 1k and 10k runs.

    python tests/bench/bench_ui_browser.py [N ...]        # default: 1000 10000

For each N: a runs branch of N realistic runs (scale_build.py: 20-key configs, 3 metrics x 100
steps), then
- `gitcfg report -o report.html`: its size, and in chromium (Playwright, the browser tests'
  recipe) the time from `goto(file://...)` to the runs table drawn, and to each chart view drawn
  (group, parallel coordinates with one line per run, curves) in a fresh page each;
- `gitcfg ui`: the time from `goto` to the runs table drawn (the page, then /api/version, then
  /api/runs; the server's cache warm after one load).
The issue's target: a 10,000-run report opens in under 3 s. Times are wall-clock medians of 3 on a
shared machine. Needs `pip install -e '.[browser]'` and chromium.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE), str(ROOT / "tests")]

from _common import set_bench_identity  # noqa: E402
from scale_build import cached_build  # noqa: E402
from test_ui_browser import ARGS, CHROMIUM, gitcfg_ui  # noqa: E402

VIEWS = ("#runs", "#group", "#parallel", "#curves")
REPEAT = 3


def drawn_seconds(browser: Any, url: str) -> float:
    """Seconds from goto(url) in a fresh page to the page's view drawn."""
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_function(
        "() => document.body.dataset.rendered && document.querySelector('#runs-table, .chart')",
        timeout=120_000,
    )
    seconds = time.perf_counter() - start
    page.close()
    assert not errors, errors
    return seconds


def median(browser: Any, url: str) -> float:
    return statistics.median(drawn_seconds(browser, url) for _ in range(REPEAT))


def bench(n: int, cache: Path, browser: Any, env: dict[str, str]) -> None:
    repo = cached_build(cache, n, one_commit=True)
    gitcfg = [sys.executable, "-m", "gitcfg"]
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.html"
        start = time.perf_counter()
        subprocess.run([*gitcfg, "report", "-o", str(report)], cwd=repo, env=env, check=True)
        made = time.perf_counter() - start
        size = report.stat().st_size
        print(f"{n} runs: gitcfg report {made:.1f} s, {size / 2**20:.2f} MiB")
        for view in VIEWS:
            print(
                f"  report {view:10} open -> drawn {median(browser, report.as_uri() + view):.2f} s"
            )
    with gitcfg_ui(repo, env=env) as url:
        drawn_seconds(browser, url)  # warm the server's answers
        print(f"  ui     #runs      open -> drawn {median(browser, url):.2f} s (warm)")


def main(sizes: list[int]) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), GITCFG_SILENT="1")
    set_bench_identity(env)
    cache = Path(tempfile.gettempdir()) / "gitcfg-bench-cache"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        for n in sizes:
            bench(n, cache, browser, env)
        browser.close()


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [1000, 10000])
