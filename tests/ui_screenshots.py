"""Take the README's screenshots of `gitcfg ui` (docs/img/ui-*.png) with the browser tests' recipe.

    python tests/ui_screenshots.py [OUT_DIR]      # default: docs/img

Makes the demo repository (`gitcfg demo`: 12 real runs of a training script, lr x seed), serves it
with `gitcfg ui --no-open`, and screenshots the table, the group view, parallel coordinates and
the curves in Debian's chromium through Playwright (pip install -e '.[browser]'). Not collected by
pytest; run it by hand after a visible change to the page.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright
from test_ui_browser import ARGS, CHROMIUM, gitcfg_ui, is_drawn

ROOT = Path(__file__).resolve().parent.parent


def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", GITCFG_SILENT="1")
    with tempfile.TemporaryDirectory() as scratch:
        repo = Path(scratch) / "gitcfg-demo"
        gitcfg = [sys.executable, "-m", "gitcfg"]
        subprocess.run([*gitcfg, "demo", str(repo)], env=env, check=True, capture_output=True)
        with gitcfg_ui(repo, env=env) as url:
            shoot(url, out_dir)


def shoot(url: str, out_dir: Path) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 720})
        page.goto(url)
        page.wait_for_function(
            "() => document.querySelectorAll('#runs-table tbody tr').length === 12"
        )
        page.click("#runs-table th[data-key='summary.best_val_acc']")
        page.click("#runs-table th[data-key='summary.best_val_acc']")  # best first
        save(page, out_dir / "ui-table.png")

        view(page, "#group")
        page.select_option("#group-metric", "summary.best_val_acc")
        save(page, out_dir / "ui-group.png", "#group-chart")

        view(page, "#parallel")
        page.select_option("#parallel-metric", "best_val_acc")
        save(page, out_dir / "ui-parallel.png", "#parallel-chart")

        view(page, "#curves")
        page.select_option("#curves-mode", "groups")
        page.wait_for_function(
            "() => echarts.getInstanceByDom(document.getElementById('curves-chart'))"
            ".getOption().series.some(s => String(s.id).startsWith('mean-'))"
        )
        page.select_option("#curves-metric", "val_acc")
        page.wait_for_function(
            "() => echarts.getInstanceByDom(document.getElementById('curves-chart'))"
            ".getOption().yAxis[0].name === 'val_acc'"
        )
        save(page, out_dir / "ui-curves.png", "#curves-chart")
        browser.close()


def view(page: Any, hash_: str) -> None:
    page.evaluate("h => { location.hash = h }", hash_)
    page.wait_for_function("v => document.body.dataset.view === v", arg=hash_.lstrip("#"))


def save(page: Any, path: Path, chart: str | None = None) -> None:
    if chart:
        page.wait_for_selector(chart)
    page.wait_for_timeout(600)  # the charts' last frame
    png = page.screenshot(path=str(path))
    assert is_drawn(png), f"{path} is blank"
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "img")
