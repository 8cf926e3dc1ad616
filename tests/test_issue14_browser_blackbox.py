"""Black-box browser checks of issue 14: `gitcfg ui` and `gitcfg report` in Debian's chromium driven
by Playwright (executable_path=/usr/bin/chromium, --no-sandbox; never `playwright install`).
Written from the issue text and docs/ui.md; skips, saying why, without Playwright or chromium."""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from conftest import commit_initial, commit_script, init_repo, run_python, sealed, wait_for
from test_issue14_blackbox import HOSTILE, HOSTILE_SCRIPT, TRAIN, run_gitcfg, serving

CHROMIUM = Path("/usr/bin/chromium")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not CHROMIUM.exists():
    pytest.skip(
        "no chromium at /usr/bin/chromium (apt-get install chromium)", allow_module_level=True
    )

ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with sealed(tmp_path_factory):
        repo = commit_initial(init_repo(tmp_path_factory.mktemp("bsweep") / "repo"))
        script = commit_script(repo, "train.py", TRAIN)
        for lr in ("0.1", "0.01", "0.001"):
            for seed in ("0", "1"):
                assert run_python(repo, script, lr, seed).returncode == 0
        hostile = commit_script(repo, "hostile.py", HOSTILE_SCRIPT)
        assert run_python(repo, hostile).returncode == 0
        yield repo


class Watch:
    """A page with its console errors, uncaught errors, dialogs and requests recorded."""

    def __init__(self, browser, viewport=(1280, 800)) -> None:
        self.page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        self.navigations = 0
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", self._dialog)
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on(
            "framenavigated",
            lambda f: (
                setattr(self, "navigations", self.navigations + 1)
                if f == self.page.main_frame
                else None
            ),
        )

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def charts(self) -> list[dict]:
        """The option of every ECharts instance in the page (visible ones)."""
        return self.page.evaluate(
            """() => Array.from(document.querySelectorAll('[_echarts_instance_]'))
                 .filter(el => el.offsetParent !== null)
                 .map(el => { const c = echarts.getInstanceByDom(el);
                              const o = c && c.getOption();
                              return o ? JSON.parse(JSON.stringify(o)) : null; })
                 .filter(o => o)"""
        )

    def rows(self) -> list[list[str]]:
        return self.page.evaluate(
            """() => { const v = document.querySelector('.view:not([hidden])') || document;
              return Array.from(v.querySelectorAll('table tbody tr'))
                .filter(tr => tr.offsetParent !== null)
                .map(tr => Array.from(tr.querySelectorAll('td')).map(td => td.textContent.trim())); }"""
        )

    def headers(self) -> list[str]:
        return self.page.evaluate(
            """() => { const v = document.querySelector('.view:not([hidden])') || document;
              const t = Array.from(v.querySelectorAll('table')).find(t => t.offsetParent !== null);
              return t ? Array.from(t.querySelectorAll('thead th')).map(th => th.textContent.trim()) : []; }"""
        )


def non_blank(png: bytes) -> bool:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    return len(image.getcolors(maxcolors=1 << 20) or []) > 20


def local_only(requests: list[str], url: str) -> list[str]:
    host = urlparse(url).netloc
    return [r for r in requests if urlparse(r).netloc != host and not r.startswith("data:")]


def test_ui_views_load_clean_and_local(browser, sweep: Path) -> None:
    with serving(sweep) as (url, _, _):
        watch = Watch(browser)
        page = watch.page
        page.goto(url)
        wait_for(lambda: len(watch.rows()) == 7, "7 rows in the runs table")
        # columns gitcfg log chooses
        headers = watch.headers()
        for name in ("id", "name", "status", "age", "code", "lr", "seed", "best_acc"):
            assert any(h.startswith(name) for h in headers), headers
        for view, tab in (("group", "Group"), ("parallel", "Parallel"), ("curves", "Curves")):
            page.get_by_text(tab, exact=False).first.click()
            wait_for(lambda: watch.charts(), f"a chart in {view}")
            time.sleep(0.5)
            shot = page.screenshot()
            assert non_blank(shot), view
        assert watch.errors == [], watch.errors
        assert local_only(watch.requests, url) == []
        assert watch.dialogs == []
        page.close()


def test_ui_table_sorts_filters_chooses_columns_selects(browser, sweep: Path) -> None:
    with serving(sweep) as (url, _, _):
        watch = Watch(browser)
        page = watch.page
        page.goto(url + "#runs")
        wait_for(lambda: len(watch.rows()) == 7, "rows")
        headers = watch.headers()
        lr_col = next(i for i, h in enumerate(headers) if h.startswith("lr"))

        def lr_values() -> list[float]:
            return [float(r[lr_col]) for r in watch.rows()]

        # the page redraws after a click: wait for the order, never read it at once
        page.locator("thead th").nth(lr_col).click()
        first = wait_for(
            lambda: (v := lr_values()) and sorted(v) in (v, v[::-1]) and v, "rows sorted by lr"
        )
        page.locator("thead th").nth(lr_col).click()
        second = wait_for(lambda: (v := lr_values()) == first[::-1] and v, "the lr order reversed")
        assert sorted(first) in (first, first[::-1]) and second == first[::-1], (first, second)
        # --where in the page
        where = page.get_by_placeholder("e.g.", exact=False).first
        where.fill("lr < 0.05")
        where.press("Enter")
        wait_for(lambda: len(watch.rows()) == 4, "4 rows with lr < 0.05")
        where.fill("lr <")
        where.press("Enter")
        caret = wait_for(
            lambda: page.evaluate(
                "() => Array.from(document.querySelectorAll('*')).some("
                "e => e.children.length === 0 && e.offsetParent !== null && /\\^/.test(e.textContent))"
            ),
            "a caret shown for the bad --where",
        )
        assert caret
        body = page.inner_text("body")
        assert "lr <" in body and ("parse" in body or "expected" in body)
        where.fill("")
        where.press("Enter")
        wait_for(lambda: len(watch.rows()) == 7, "all rows again")
        # column chooser: untick seed
        page.get_by_text("Columns").first.click()
        page.locator("label", has_text="seed").first.locator("input").uncheck()
        wait_for(lambda: not any(h.startswith("seed") for h in watch.headers()), "seed hidden")
        page.get_by_text("Columns").first.click()  # close the chooser (it overlays the table)
        # checkboxes select runs; compare two
        boxes = page.locator("tbody input[type=checkbox]")
        boxes.nth(0).check()
        boxes.nth(1).check()
        page.get_by_text("Compare selected").click()
        wait_for(lambda: "compare" in page.url, "the compare page")
        wait_for(lambda: len(watch.rows()) >= 1, "compare rows")
        # the view fills after its data arrives: wait for it, never read it at once
        text = wait_for(
            lambda: (t := page.inner_text("#view-compare")) and "diff" in t.lower() and t,
            "the compare view filled",
        )
        # the two newest runs: the hostile one (lr 0.5, seed 9, opt=HOSTILE) and lr 0.001 seed 1
        for key in ("lr", "seed", "opt"):
            assert key in text, text
        assert "diff" in text.lower(), text  # the code diff between their commits
        page.screenshot(path="/tmp/v14-compare.png")
        assert watch.errors == [], watch.errors
        page.close()


def test_ui_parallel_brush_filters_table_and_curves_series(browser, sweep: Path) -> None:
    with serving(sweep, "--where", "lr < 0.5") as (url, _, _):
        watch = Watch(browser)
        page = watch.page
        page.goto(url + "#parallel")
        (option,) = wait_for(lambda: watch.charts(), "the parallel chart")
        names = [axis.get("name") for axis in option["parallelAxis"]]
        assert "lr" in names and "seed" in names, names
        assert len(option["series"][0]["data"]) == 6
        # brush lr to [0.005, 0.05] on its axis through ECharts' own action
        lr_index = names.index("lr")
        page.evaluate(
            """(i) => { const el = Array.from(document.querySelectorAll('[_echarts_instance_]'))
                  .find(e => e.offsetParent !== null);
               echarts.getInstanceByDom(el).dispatchAction({type: 'axisAreaSelect',
                  parallelAxisId: undefined, parallelAxisIndex: i, intervals: [[0.005, 0.05]]}); }""",
            lr_index,
        )
        wait_for(lambda: len(watch.rows()) == 2, "2 rows inside the brushed range")
        # the Runs tab follows the brush too (docs/ui.md), until Clear brush
        page.goto(url + "#runs")
        wait_for(lambda: len(watch.rows()) == 2, "the Runs tab brushed too")
        page.goto(url + "#parallel")
        page.get_by_text("Clear brush").click()
        # curves: one line per selected run; log y
        page.goto(url + "#runs")
        wait_for(lambda: len(watch.rows()) == 6, "6 rows")
        boxes = page.locator("tbody input[type=checkbox]")
        for i in range(3):
            boxes.nth(i).check()
        page.get_by_text("Curves of selected").click()

        def line_series():
            charts = watch.charts()
            return charts and [s for s in charts[0]["series"] if s.get("type") == "line"]

        wait_for(lambda: line_series() and len(line_series()) == 3, "3 curves")
        page.get_by_label("log y").check()
        wait_for(lambda: watch.charts()[0]["yAxis"][0]["type"] == "log", "a log y axis")
        assert watch.errors == [], watch.errors
        page.close()


def test_ui_live_new_run_appears_without_reload(browser, tmp_path: Path) -> None:
    repo = commit_initial(init_repo(tmp_path / "repo"))
    script = commit_script(repo, "train.py", TRAIN)
    assert run_python(repo, script, "0.1", "0").returncode == 0
    with serving(repo) as (url, _, _):
        watch = Watch(browser)
        page = watch.page
        page.goto(url)
        wait_for(lambda: len(watch.rows()) == 1, "one row")
        navigations = watch.navigations
        assert run_python(repo, script, "0.2", "1", "newcomer").returncode == 0
        appeared = time.monotonic()
        wait_for(
            lambda: any("newcomer" in cell for row in watch.rows() for cell in row),
            "the new run in the table",
            timeout=30,
        )
        print(f"new run shown {time.monotonic() - appeared:.2f} s after its process ended")
        assert watch.navigations == navigations  # no reload
        assert watch.errors == []
        page.close()


def test_hostile_name_never_executes_in_ui_or_report(browser, sweep: Path, tmp_path: Path) -> None:
    with serving(sweep) as (url, _, _):
        watch = Watch(browser)
        page = watch.page
        page.goto(url)
        wait_for(
            lambda: any(HOSTILE in c for r in watch.rows() for c in r), "the hostile name as text"
        )
        hostile_id = next(r for r in watch.rows() if any(HOSTILE in c for c in r))
        for view in ("#group", "#parallel", "#curves"):
            page.goto(url + view)
            wait_for(lambda: watch.charts(), view)
            page.mouse.move(600, 300)
            page.mouse.move(640, 320)
        page.goto(url + "#runs")
        page.locator("tbody a", has_text=HOSTILE).first.click()
        wait_for(lambda: "run/" in page.url, "the hostile run's page")
        time.sleep(1)
        assert HOSTILE in page.inner_text("body")
        assert watch.dialogs == [] and not page.evaluate("() => window.__pwned === 1")
        assert watch.errors == [], watch.errors
        assert hostile_id
        page.close()
    out = tmp_path / "report.html"
    assert run_gitcfg(sweep, "report", "-o", str(out)).returncode == 0
    watch = Watch(browser)
    watch.page.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort(),
    )
    watch.page.goto(out.as_uri())
    wait_for(
        lambda: any(HOSTILE in c for r in watch.rows() for c in r), "the hostile name in the report"
    )
    for view in ("#group", "#parallel", "#curves"):
        watch.page.goto(out.as_uri() + view)
        wait_for(lambda: watch.charts(), view)
    assert watch.dialogs == []
    assert [
        r for r in watch.requests if r != out.as_uri() and not r.startswith(out.as_uri() + "#")
    ] == []
    assert watch.errors == [], watch.errors
    watch.page.close()


def test_report_offline_sorts_filters_and_draws(browser, sweep: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    proc = run_gitcfg(sweep, "report", "--group-by", "lr", "--metric", "loss", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    watch = Watch(browser)
    page = watch.page
    page.goto(out.as_uri())
    wait_for(lambda: len(watch.rows()) == 7, "7 rows in the report")
    body = page.inner_text("body")
    assert "lr" in body
    page.locator("input[placeholder*='text']").first.fill("0.001")
    wait_for(lambda: 0 < len(watch.rows()) < 7, "the text filter")
    page.goto(out.as_uri() + "#group")
    (option,) = wait_for(lambda: watch.charts(), "the group chart")
    assert len(option["series"]) >= 1
    assert non_blank(page.screenshot())
    page.goto(out.as_uri() + "#curves")
    wait_for(lambda: watch.charts(), "curves")
    assert not [r for r in watch.requests if not r.startswith("file:")]
    assert watch.errors == [], watch.errors
    page.close()


@pytest.mark.slow
def test_report_of_10000_runs_opens_about_as_fast_as_one_of_1000(browser, tmp_path: Path) -> None:
    """Issue 14: "a report of 10,000 runs opens in a browser in under 3 s". A wall-clock bound
    breaks under load on a shared machine, so this guards what keeps the open fast instead, each
    measured or counted in this one run:

    - the work on opening does not grow with the runs: the 10k page draws the same first table
      page (as many rows, with "Show more") as the 1k page, and its file is at most linear in the
      runs (size ratio < 10);
    - the time to the drawn table, 10k over 1k (fastest of 3 opens each, interleaved so load
      hits both alike), stays under RATIO: fixed costs (compiling ECharts) dominate, ~1.5x
      measured; per-run page work linear in the runs could reach 10x, a quadratic step ~100x.
    The absolute figures are printed, for docs/ui.md, never asserted.
    """
    sys.path.insert(0, str(ROOT / "tests" / "bench"))
    import scale_build

    ratio_bound = 5.0
    reports: dict[int, Path] = {}
    for n in (1_000, 10_000):
        repo = tmp_path / f"runs-{n}"
        scale_build.build(repo, n, one_commit=True)
        reports[n] = tmp_path / f"report-{n}.html"
        proc = run_gitcfg(repo, "report", "-o", str(reports[n]), timeout=900)
        assert proc.returncode == 0, proc.stderr

    def open_report(n: int) -> tuple[float, int, str]:
        watch = Watch(browser)
        page = watch.page
        start = time.monotonic()
        page.goto(reports[n].as_uri())
        page.wait_for_function(
            "() => document.querySelectorAll('table tbody tr').length > 0", timeout=120_000
        )
        seconds = time.monotonic() - start
        drawn = len(watch.rows())
        body = page.inner_text("body")
        assert watch.errors == [], watch.errors
        page.close()
        return seconds, drawn, body

    times: dict[int, list[float]] = {1_000: [], 10_000: []}
    drawn: dict[int, int] = {}
    for _ in range(3):
        for n in (1_000, 10_000):
            seconds, drawn[n], body = open_report(n)
            times[n].append(seconds)
    sizes = {n: reports[n].stat().st_size for n in reports}
    fastest = {n: min(times[n]) for n in times}
    print(
        f"report open -> table drawn: 1,000 runs {fastest[1_000]:.2f} s ({sizes[1_000] / 2**20:.1f} "
        f"MiB), 10,000 runs {fastest[10_000]:.2f} s ({sizes[10_000] / 2**20:.1f} MiB), ratio "
        f"{fastest[10_000] / fastest[1_000]:.2f}x"
    )
    assert "10,000" in body or "10000" in body  # the last page opened is the 10k one
    assert "sampl" in body.lower() or "left out" in body.lower() or "newest" in body.lower()
    assert 0 < drawn[10_000] == drawn[1_000] < 1_000, drawn  # one first page of rows, not all
    assert sizes[10_000] < 10 * sizes[1_000], sizes
    assert fastest[10_000] < ratio_bound * fastest[1_000], (times, ratio_bound)


def test_newcomer_demo_then_ui(browser, tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    proc = run_gitcfg(tmp_path, "demo", str(demo), timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "gitcfg ui" in proc.stdout  # a newcomer learns the page exists
    with serving(demo) as (url, _, _):
        watch = Watch(browser)
        page = watch.page
        page.goto(url)
        wait_for(lambda: len(watch.rows()) == 12, "the demo's 12 runs")
        for view in ("runs", "group", "parallel", "curves"):
            page.goto(url + "#" + view)
            if view != "runs":
                wait_for(lambda: watch.charts(), view)
            time.sleep(0.5)
            page.screenshot(path=str(tmp_path / f"demo-{view}.png"))
        assert watch.errors == []
        page.close()


def test_run_page_shows_amended_image_and_patch(browser, tmp_path: Path) -> None:
    repo = commit_initial(init_repo(tmp_path / "repo"))
    commit_script(repo, "train.py", TRAIN)
    hostile = commit_script(repo, "hostile.py", HOSTILE_SCRIPT)
    (repo / "README.md").write_text("# project\nan uncommitted line\n")  # diff.patch
    assert run_python(repo, hostile).returncode == 0
    proc = run_gitcfg(repo, "amend", HOSTILE, "--set", "lr=0.25", "-m", "typo in lr")
    assert proc.returncode == 0, proc.stderr
    with serving(repo) as (url, _, _):
        watch = Watch(browser)
        page = watch.page
        page.goto(url)
        wait_for(lambda: len(watch.rows()) == 1, "one row")
        page.locator("tbody a", has_text=HOSTILE).first.click()
        wait_for(lambda: "amended" in page.inner_text("body"), "the amended mark")
        body = page.inner_text("body")
        assert "typo in lr" in body  # history of amendments
        assert "an uncommitted line" in body  # diff.patch rendered
        assert "0.25" in body
        wait_for(
            lambda: page.evaluate(
                "() => Array.from(document.images).some(i => i.complete && i.naturalWidth === 8)"
            ),
            "the logged image shown",
        )
        page.screenshot(path="/tmp/v14-runpage.png", full_page=True)
        assert watch.dialogs == [] and watch.errors == [], watch.errors
        page.close()


def test_group_view_error_bars_and_over_warning(browser, sweep: Path) -> None:
    with serving(sweep, "--where", "lr < 0.5") as (url, _, _):
        watch = Watch(browser)
        page = watch.page
        page.goto(url + "#group")

        def kinds():
            charts = watch.charts()
            return charts and [(s.get("type"), len(s.get("data", []))) for s in charts[0]["series"]]

        wait_for(lambda: kinds() == [("bar", 3), ("custom", 3)], "bars with error bars per lr")
        over = page.get_by_placeholder("key")
        over.fill("opt")
        over.press("Enter")
        wait_for(
            lambda: "confounded" in page.inner_text("#view-group"), "the --over confounding warning"
        )
        assert "seed" in page.inner_text("#view-group")
        assert watch.errors == [], watch.errors
        page.close()
