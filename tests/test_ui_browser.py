"""`gitcfg ui` and `gitcfg report` in a real headless browser (issue 14's Acceptance).

Debian's chromium driven by Playwright (`pip install -e '.[browser]'`; never `playwright install`):
the page loads with no console error and no request leaving the server (the report: no request at
all but its own file); the table sorts and filters; the group view, parallel coordinates and curves
draw (non-blank pixels, the expected series in the chart's option); a run recorded by a real
`python train.py` while the page is open appears without a reload; a run named
`</script><script>alert(1)</script>` executes nothing, in the ui and in the report.
Skips, saying why, where Playwright or chromium is missing.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    commit_script,
    copy_repo,
    git,
    held_script,
    init_repo,
    run_python,
    sealed,
)

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed (pip install -e '.[browser]')"
)
CHROMIUM = os.environ.get("GITCFG_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
    pytest.skip(
        f"no chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)",
        allow_module_level=True,
    )

# The recipe of shared/reference/ui.md 3.3: system chromium, no sandbox (root), nothing phoning home.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEADLINE = 20.0  # seconds for anything the page does by itself (the issue: new runs within ~2 s)
HOSTILE = "</script><script>alert(1)</script>"

TRAIN = """\
import sys

import gitcfg

lr, seed = float(sys.argv[1]), int(sys.argv[2])
name = sys.argv[3] if len(sys.argv) > 3 else None
with gitcfg.track({"lr": lr, "seed": seed, "model": {"depth": 4}}, name=name) as run:
    for step in range(12):
        loss = 2.0 / (1 + lr * 30 * (step + 1)) + 0.01 * seed
        run.log({"loss": loss, "acc": 1 - loss / 2})
"""
LRS = (0.001, 0.01, 0.1)
SEEDS = (0, 1)


def record(repo: Path, lr: float, seed: int, name: str | None = None) -> None:
    args = [str(lr), str(seed)] + ([name] if name is not None else [])
    proc = run_python(repo, "train.py", *args)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def sweep_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A repository with a sweep of real runs of train.py: 3 learning rates x 2 seeds."""
    with sealed(tmp_path_factory):
        repo = init_repo(tmp_path_factory.mktemp("sweep") / "repo")
        commit_script(repo, "train.py", TRAIN)
        for lr in LRS:
            for seed in SEEDS:
                record(repo, lr, seed)
        yield repo


@pytest.fixture
def sweep(sweep_template: Path, tmp_path: Path) -> Path:
    return copy_repo(sweep_template, tmp_path / "repo")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield launched
        launched.close()


class Page:
    """A browser page that records console errors, uncaught exceptions, dialogs and requests."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context(viewport={"width": 1200, "height": 800})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        self.page.on(
            "console",
            lambda message: self.errors.append(message.text) if message.type == "error" else None,
        )
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("dialog", self._dialog)
        self.page.on("request", lambda request: self.requests.append(request.url))

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def view(self, hash_: str) -> None:
        """Go to a view of the page (no reload) and wait until it has drawn."""
        before = self.page.evaluate("document.body.dataset.rendered || ''")
        self.page.evaluate("h => { location.hash = h }", hash_)
        self.page.wait_for_function(
            "b => document.body.dataset.rendered && document.body.dataset.rendered !== b",
            arg=before,
            timeout=DEADLINE * 1000,
        )

    def option(self, chart_id: str) -> dict[str, Any]:
        """The option of the ECharts chart drawn in the element `chart_id`."""
        return self.page.evaluate(
            """id => {
                const option = echarts.getInstanceByDom(document.getElementById(id)).getOption();
                return {series: option.series.map(s => ({id: s.id, type: s.type, name: s.name,
                        length: (s.data || []).length}))};
            }""",
            chart_id,
        )

    def rows(self) -> list[str]:
        """The run ids of the runs table's rows, in order."""
        return self.page.eval_on_selector_all(
            "#runs-table tbody tr", "rows => rows.map(r => r.dataset.run)"
        )

    def column(self, key: str) -> list[str]:
        """The cells of column `key` in the runs table, as shown."""
        return self.page.evaluate(
            """key => {
                const heads = Array.from(document.querySelectorAll("#runs-table thead th"));
                const i = heads.findIndex(th => th.dataset.key === key);
                return Array.from(document.querySelectorAll("#runs-table tbody tr"))
                    .map(tr => tr.children[i].textContent);
            }""",
            key,
        )

    def wait_rows(self, count: int) -> None:
        self.page.wait_for_function(
            "n => document.querySelectorAll('#runs-table tbody tr').length === n",
            arg=count,
            timeout=DEADLINE * 1000,
        )

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[[], Page]]:
    pages: list[Page] = []

    def make() -> Page:
        pages.append(Page(browser))
        return pages[-1]

    yield make
    for page in pages:
        page.close()


@contextlib.contextmanager
def gitcfg_ui(repo: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """Run `gitcfg ui --no-open` in `repo`; yield the URL it prints once it listens; stop it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "gitcfg", "ui", "--no-open", *args],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(env or os.environ, PYTHONUNBUFFERED="1"),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+/", line)
        if not found:
            proc.kill()
            raise AssertionError(f"gitcfg ui printed {line!r}; stderr: {proc.communicate()[1]}")
        yield found.group(0)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def serve() -> Iterator[Callable[..., str]]:
    """serve(repo, *args): `gitcfg ui` in `repo` for the test's length; its URL."""
    with contextlib.ExitStack() as servers:
        yield lambda repo, *args: servers.enter_context(gitcfg_ui(repo, *args))


def is_drawn(png: bytes) -> bool:
    """A screenshot that is not blank: many colours, and no single colour covering it all."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20) or []
    biggest = max(count for count, _ in colours)
    return len(colours) > 20 and biggest < 0.97 * image.width * image.height


def run_ids(repo: Path) -> dict[str, dict[str, Any]]:
    """The runs of `repo` through the library: id -> {lr, seed, name}."""
    import gitcfg

    return {
        run.id: {"lr": run.config["lr"], "seed": run.config["seed"], "name": run.name}
        for run in gitcfg.Api(str(repo)).runs()
    }


def open_ui(
    repo: Path, serve: Callable[..., str], open_page: Callable[[], Page]
) -> tuple[Page, dict[str, dict[str, Any]]]:
    """`gitcfg ui` on `repo` in a new page, its table drawn; and the runs, by id."""
    runs = run_ids(repo)
    page = open_page()
    page.page.goto(serve(repo))
    page.wait_rows(len(runs))
    return page, runs


def test_ui_loads_every_view_with_no_console_error_and_no_request_elsewhere(
    sweep: Path, serve: Callable[..., str], open_page: Callable[[], Page]
) -> None:
    url = serve(sweep)
    page = open_page()
    page.page.goto(url)
    page.wait_rows(len(LRS) * len(SEEDS))
    first, second = page.rows()[:2]
    for view in ("#group", "#parallel", "#curves", f"#run/{first}", f"#compare/{first},{second}"):
        page.view(view)
        assert not page.errors, (view, page.errors)
    assert not page.page.is_visible("#run-title")  # the compare view replaced the run page
    assert page.page.locator("#compare-table th", has_text="seed").count() == 1
    page.view(f"#run/{first}")
    assert first in page.page.locator("#run-title").inner_text()
    assert page.page.locator("#run-metrics button", has_text="loss").count() == 1
    time.sleep(1.5)  # a poll of /api/version or two
    assert not page.errors, page.errors
    outside = [u for u in page.requests if not u.startswith(url) and not u.startswith("data:")]
    assert not outside, outside
    assert any(u.startswith(url + "api/version") for u in page.requests)


def test_the_table_sorts_filters_chooses_columns_and_selects(
    sweep: Path, serve: Callable[..., str], open_page: Callable[[], Page]
) -> None:
    page, runs = open_ui(sweep, serve, open_page)
    headers = page.page.eval_on_selector_all(
        "#runs-table thead th", "t => t.map(h => h.dataset.key)"
    )
    assert {"config.lr", "config.seed", "summary.loss", "summary.acc"} <= set(headers)
    assert "config.model.depth" not in headers  # constant: shown only when chosen

    page.page.click("#runs-table th[data-key='config.lr']")
    ascending = [runs[i]["lr"] for i in page.rows()]
    assert ascending == sorted(ascending)
    page.page.click("#runs-table th[data-key='config.lr']")
    descending = [runs[i]["lr"] for i in page.rows()]
    assert descending == sorted(ascending, reverse=True)
    page.page.click("#runs-table th[data-key='summary.loss']")
    losses = [float(x) for x in page.column("summary.loss")]
    assert losses == sorted(losses)

    page.page.fill("#where-input", "lr == 0.01")
    page.page.click("#where-apply")
    page.wait_rows(len(SEEDS))
    assert {runs[i]["lr"] for i in page.rows()} == {0.01}

    page.page.fill("#where-input", "lr = 0.01")  # the error, its caret under the `=`, inline
    page.page.click("#where-apply")
    page.page.wait_for_selector("#where-error:not([hidden])", timeout=DEADLINE * 1000)
    assert "==" in page.page.inner_text("#where-error .message")
    expression = page.page.text_content("#where-error .expression")
    caret = page.page.text_content("#where-error .caret") or ""
    assert (
        expression == "lr = 0.01" and caret.strip() == "^" and expression[caret.index("^")] == "="
    )
    assert len(page.rows()) == len(SEEDS)  # the last good table stays under the error

    page.page.fill("#where-input", "")
    page.page.click("#where-apply")
    page.wait_rows(len(runs))
    page.page.wait_for_selector("#where-error", state="hidden")
    page.page.fill("#quick-filter", "0.001")  # the text filter over the shown columns
    page.wait_rows(len(SEEDS))

    page.page.fill("#quick-filter", "")
    page.wait_rows(len(runs))
    page.page.click("#column-chooser summary")
    page.page.check("#column-chooser input[data-key='config.model.depth']")
    page.page.uncheck("#column-chooser input[data-key='config.seed']")
    headers = page.page.eval_on_selector_all(
        "#runs-table thead th", "t => t.map(h => h.dataset.key)"
    )
    assert "config.model.depth" in headers and "config.seed" not in headers
    assert page.column("config.model.depth") == ["4"] * len(runs)
    page.page.click("#column-chooser summary")  # closed again: it no longer covers the table
    chooser_open = "document.getElementById('column-chooser').open"
    assert not page.page.evaluate(chooser_open)
    page.page.click("#column-chooser summary")
    assert page.page.evaluate(chooser_open)
    page.page.click("#top .brand")  # a click outside closes it
    page.page.wait_for_function(f"() => !{chooser_open}", timeout=DEADLINE * 1000)
    page.page.click("#column-chooser summary")
    page.page.check("#column-chooser input[data-key='config.seed']")  # a tick inside keeps it open
    assert page.page.evaluate(chooser_open)
    page.page.keyboard.press("Escape")  # and so does Escape
    page.page.wait_for_function(f"() => !{chooser_open}", timeout=DEADLINE * 1000)

    for run_id in page.rows()[:2]:
        page.page.check(f"#runs-table input.select-run[data-run='{run_id}']")
    assert page.page.is_enabled("#compare-selected")
    assert "2 selected" in page.page.inner_text("#run-count")
    assert not page.errors, page.errors


def test_group_view_parallel_coordinates_and_curves_draw(
    sweep: Path, serve: Callable[..., str], open_page: Callable[[], Page]
) -> None:
    page, runs = open_ui(sweep, serve, open_page)

    page.view("#group")  # grouped by the first varying key: lr
    assert page.page.locator("#group-table tbody tr").count() == len(LRS)
    series = page.option("group-chart")["series"]
    assert [s["length"] for s in series if s["id"] == "group-mean"] == [len(LRS)]
    assert is_drawn(page.page.locator("#group-chart").screenshot())
    page.page.fill("#group-over", "model.depth")  # seed varies inside each lr group too
    page.page.press("#group-over", "Enter")
    page.page.wait_for_selector("#group-warning", timeout=DEADLINE * 1000)
    assert "seed" in page.page.inner_text("#group-warning")

    page.view("#parallel")
    series = page.option("parallel-chart")["series"]
    assert [(s["type"], s["length"]) for s in series] == [("parallel", len(runs))]
    assert is_drawn(page.page.locator("#parallel-chart").screenshot())
    # Brushing the lr axis around 0.01 keeps those runs in the table below the chart.
    page.page.evaluate(
        """() => echarts.getInstanceByDom(document.getElementById("parallel-chart")).dispatchAction(
            {type: "axisAreaSelect", parallelAxisId: "axis-config.lr", intervals: [[0.005, 0.02]]})"""
    )
    page.wait_rows(len(SEEDS))
    assert {runs[i]["lr"] for i in page.rows()} == {0.01}
    page.page.click("#clear-brush")
    page.wait_rows(len(runs))
    # The log lr axis spans the powers of ten around the values (0.001 .. 0.1), not up to 1.
    extent = page.page.evaluate(
        """() => echarts.getInstanceByDom(document.getElementById("parallel-chart")).getModel()
            .getComponent("parallelAxis", 0).axis.scale.getExtent()"""
    )
    axis = page.page.evaluate(
        """() => echarts.getInstanceByDom(document.getElementById("parallel-chart"))
            .getOption().parallelAxis[0]"""
    )
    assert axis["type"] == "log" and axis["name"].endswith("lr")
    assert extent == pytest.approx([0.001, 0.1])

    chosen = page.rows()[:3]
    for run_id in chosen:
        page.page.check(f"#runs-table input.select-run[data-run='{run_id}']")
    page.view("#curves")
    page.page.wait_for_function(
        "() => { const c = echarts.getInstanceByDom(document.getElementById('curves-chart'));"
        " return c && c.getOption().series.length > 0 }",
        timeout=DEADLINE * 1000,
    )
    lines = [s for s in page.option("curves-chart")["series"] if s["type"] == "line"]
    assert sorted(s["id"] for s in lines) == sorted(f"run-{i}" for i in chosen)
    assert all(s["length"] == 12 for s in lines)
    # The x name sits under the axis and the axis ends at the last step (11), no empty stretch.
    x_axis = page.page.evaluate(
        "() => echarts.getInstanceByDom(document.getElementById('curves-chart')).getOption().xAxis[0]"
    )
    assert (x_axis["name"], x_axis["nameLocation"]) == ("_step", "middle")
    x_extent = page.page.evaluate(
        """() => echarts.getInstanceByDom(document.getElementById("curves-chart")).getModel()
            .getComponent("xAxis", 0).axis.scale.getExtent()"""
    )
    assert x_extent[1] == 11
    assert is_drawn(page.page.locator("#curves-chart").screenshot())

    page.page.check("#curves-log")
    page.page.wait_for_function(
        "() => echarts.getInstanceByDom(document.getElementById('curves-chart'))"
        ".getOption().yAxis[0].type === 'log'",
        timeout=DEADLINE * 1000,
    )
    page.page.select_option("#curves-mode", "groups")  # mean ± std bands, one per lr
    page.page.wait_for_function(
        "() => echarts.getInstanceByDom(document.getElementById('curves-chart'))"
        ".getOption().series.some(s => String(s.id).startsWith('mean-'))",
        timeout=DEADLINE * 1000,
    )
    means = [s for s in page.option("curves-chart")["series"] if s["id"].startswith("mean-")]
    bands = [s for s in page.option("curves-chart")["series"] if s["id"].startswith("band-")]
    assert len(means) == len(bands) == len(LRS)
    assert not page.errors, page.errors


IMAGE_SCRIPT = """\
import gitcfg
from PIL import Image

Image.new("RGB", (16, 8), (200, 30, 30)).save("red.png")
with gitcfg.track({"lr": 0.3, "seed": 9}, name="with-media") as run:
    run.log({"loss": 0.5, "sample": gitcfg.Image("red.png")})
"""


def test_the_run_page_shows_images_the_patch_and_amended_keys(
    sweep: Path, serve: Callable[..., str], open_page: Callable[[], Page]
) -> None:
    pytest.importorskip("PIL", reason="Pillow writes the test's image")
    (sweep / "media_run.py").write_text(IMAGE_SCRIPT)  # untracked: the run records a diff.patch
    (sweep / "train.py").write_text(TRAIN + "# an uncommitted line\n")
    proc = run_python(sweep, "media_run.py")
    assert proc.returncode == 0, proc.stderr
    amended = subprocess.run(
        [sys.executable, "-m", "gitcfg", "amend", "with-media", "--set", "lr=0.25", "-m", "typo"],
        cwd=sweep,
        capture_output=True,
        text=True,
    )
    assert amended.returncode == 0, amended.stderr
    run_id = next(i for i, r in run_ids(sweep).items() if r["name"] == "with-media")
    url = serve(sweep)
    page = open_page()
    page.page.goto(url)
    page.wait_rows(len(LRS) * len(SEEDS) + 1)
    page.view(f"#run/{run_id}")
    page.page.wait_for_function(
        "() => { const i = document.querySelector('#run-media img'); return i && i.complete"
        " && i.naturalWidth === 16 }",
        timeout=DEADLINE * 1000,
    )
    assert "an uncommitted line" in page.page.inner_text("#run-patch .add")
    # The 16x8 image is drawn scaled up to a visible thumbnail (a whole factor: 128x64).
    box = page.page.locator("#run-media img").bounding_box()
    assert box is not None and (box["width"], box["height"]) == (128, 64)
    # Its summary entry is one row: the media reference with a link to the image.
    summary_keys = page.page.locator("#run-summary th").all_inner_texts()
    assert "sample" in summary_keys and not [k for k in summary_keys if k.startswith("sample.")]
    link = page.page.locator("#run-summary .media-ref a")
    assert link.count() == 1 and "/api/file/" in (link.get_attribute("href") or "")
    assert link.inner_text().startswith("media/") and link.inner_text().endswith(".png")
    amended_rows = page.page.locator("#run-config tr.amended").all_inner_texts()
    assert len(amended_rows) == 1 and amended_rows[0].startswith("lr")
    assert page.page.locator("#run-history tbody tr").count() >= 1
    assert not page.errors, page.errors


def test_a_run_recorded_while_the_page_is_open_appears_without_reload(
    sweep: Path, serve: Callable[..., str], open_page: Callable[[], Page]
) -> None:
    url = serve(sweep)
    page = open_page()
    page.page.goto(url)
    count = len(LRS) * len(SEEDS)
    page.wait_rows(count)
    page.page.evaluate("window.__sameDocument = true")
    record(sweep, 0.5, 7, "recorded-while-open")
    page.wait_rows(count + 1)  # within the deadline, by polling, not by a reload
    assert page.page.evaluate("window.__sameDocument === true")
    assert page.page.locator("#runs-table td", has_text="recorded-while-open").count() == 1
    assert not page.errors, page.errors


HELD = """\
import sys

import gitcfg

with gitcfg.track({"lr": 0.7, "seed": 5}, name="still-running") as run:
    for step in range(5):
        run.log({"loss": 1.0 / (step + 1)})
    print(run.id, flush=True)
    sys.stdin.readline()  # the test looks at the page while the run is running
    for step in range(5, 9):
        run.log({"loss": 1.0 / (step + 1)})
"""


def test_a_running_run_shows_running_then_finished_and_its_curve_grows(
    sweep: Path, serve: Callable[..., str], open_page: Callable[[], Page]
) -> None:
    page, runs = open_ui(sweep, serve, open_page)
    page.page.evaluate("window.__sameDocument = true")
    script = sweep / "held.py"
    script.write_text(HELD)
    with held_script(sweep, script) as run_id:
        page.wait_rows(len(runs) + 1)
        row = f"#runs-table tr[data-run='{run_id}']"
        assert page.page.inner_text(f"{row} td.st-running") == "running"
        page.page.check(f"{row} input.select-run")
        page.view("#curves")
        page.page.select_option("#curves-metric", "loss")
        page.page.wait_for_function(
            "id => { const c = echarts.getInstanceByDom(document.getElementById('curves-chart'));"
            " const s = c && c.getOption().series.find(s => s.id === 'run-' + id);"
            " return s && s.data.length === 5 }",
            arg=run_id,
            timeout=DEADLINE * 1000,
        )
    page.page.wait_for_function(  # the rest of the curve arrives without a reload
        "id => echarts.getInstanceByDom(document.getElementById('curves-chart')).getOption()"
        ".series.find(s => s.id === 'run-' + id).data.length === 9",
        arg=run_id,
        timeout=DEADLINE * 1000,
    )
    page.view("#runs")
    page.page.wait_for_selector(
        f"#runs-table tr[data-run='{run_id}'] td.st-finished", timeout=DEADLINE * 1000
    )
    assert page.page.evaluate("window.__sameDocument === true")
    assert not page.errors, page.errors


def test_a_hostile_run_name_executes_nothing_in_the_ui_or_the_report(
    sweep: Path, serve: Callable[..., str], open_page: Callable[[], Page], tmp_path: Path
) -> None:
    record(sweep, 0.02, 3, HOSTILE)
    url = serve(sweep)
    page = open_page()
    page.page.goto(url)
    page.wait_rows(len(LRS) * len(SEEDS) + 1)
    assert page.page.locator("#runs-table td", has_text=HOSTILE).count() == 1
    hostile_id = next(i for i, r in run_ids(sweep).items() if r["name"] == HOSTILE)
    page.view(f"#run/{hostile_id}")
    assert HOSTILE in page.page.inner_text("#run-title")
    for view in ("#parallel", "#group", "#curves"):
        page.view(view)
    assert not page.dialogs and not page.errors, (page.dialogs, page.errors)

    report = tmp_path / "report.html"
    result = subprocess.run(
        [sys.executable, "-m", "gitcfg", "report", "-o", str(report)],
        cwd=sweep,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    opened = open_page()
    opened.page.goto(report.as_uri())
    opened.wait_rows(len(LRS) * len(SEEDS) + 1)
    assert opened.page.locator("#runs-table td", has_text=HOSTILE).count() == 1
    opened.view(f"#run/{hostile_id}")
    assert HOSTILE in opened.page.inner_text("#run-title")
    assert not opened.dialogs and not opened.errors, (opened.dialogs, opened.errors)


def test_the_report_opens_with_no_request_at_all(
    sweep: Path, open_page: Callable[[], Page], tmp_path: Path
) -> None:
    runs = run_ids(sweep)
    report = tmp_path / "report.html"
    result = subprocess.run(
        [sys.executable, "-m", "gitcfg", "report", "-o", str(report), "--metric", "loss"],
        cwd=sweep,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    page = open_page()
    refused: list[str] = []

    def only_the_file(route: Any) -> None:
        if route.request.url == report.as_uri():
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.page.route("**/*", only_the_file)
    page.page.goto(report.as_uri())
    page.wait_rows(len(runs))
    header = page.page.inner_text("#report-header")
    assert "tip" in header and git(sweep, "rev-parse", "gitcfg-runs")[:12] in header
    page.page.click("#runs-table th[data-key='config.lr']")  # sorting works offline too
    assert [runs[i]["lr"] for i in page.rows()] == sorted(r["lr"] for r in runs.values())
    page.page.fill("#quick-filter", "0.001")
    page.wait_rows(len(SEEDS))
    page.page.fill("#quick-filter", "")
    page.wait_rows(len(runs))
    for view in ("#group", "#parallel"):
        page.view(view)
    series = page.option("parallel-chart")["series"]
    assert [(s["type"], s["length"]) for s in series] == [("parallel", len(runs))]
    page.view("#curves")
    page.page.wait_for_function(
        "() => echarts.getInstanceByDom(document.getElementById('curves-chart'))"
        ".getOption().series.length > 0",
        timeout=DEADLINE * 1000,
    )
    assert is_drawn(page.page.locator("#curves-chart").screenshot())
    page.page.select_option("#curves-mode", "groups")  # bands computed in the page from the curves
    page.page.wait_for_function(
        "n => echarts.getInstanceByDom(document.getElementById('curves-chart'))"
        ".getOption().series.filter(s => String(s.id).startsWith('mean-')).length === n",
        arg=len(LRS),
        timeout=DEADLINE * 1000,
    )
    assert not refused, refused
    assert [u for u in page.requests if u != report.as_uri()] == []
    assert not page.errors, page.errors
