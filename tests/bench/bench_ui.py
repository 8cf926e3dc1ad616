"""Benchmark `gitcfg report` and the `gitcfg ui` JSON endpoints (issue 14).

    python tests/bench/bench_ui.py [--sizes 1000,10000] [--repeat 5] [--json out.json]

Each size gets a fresh repository whose runs branch scale_build.py writes (realistic runs: a
20-key config, 3 metrics x 100 steps each), and a warm query cache (`gitcfg log -n 1` first).
- report: whole-process `gitcfg report -o FILE` (median of --repeat), and the page's size;
- endpoints (the largest size): a real server (`make_server`, in this process, on a free port)
  asked over HTTP with urllib. `first` is the first request of a generation (the document is
  computed from the warm cache), `repeat` a repeated one (the answer kept for the generation);
  `table` is /api/runs, `curves20` is /api/curves for 20 runs. Targets (issue 14): table
  <= 100 ms, 20 curves <= 300 ms, warm. `table_live` (in process) is the table's answer after a
  running run's journal changed while the tip stayed (data.refresh_running: only running runs
  are read again, the other runs' JSON reused).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import scale_build  # tests/bench, on sys.path when run as a script

ROOT = Path(__file__).resolve().parents[2]
TARGETS_MS = {"table": 100, "curves20": 300}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("GIT_AUTHOR_NAME", "bench")
    env.setdefault("GIT_AUTHOR_EMAIL", "bench@example.com")
    return env


def _gitcfg(repo: Path, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "gitcfg", *args],
        cwd=repo,
        env=_env(),
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def bench_report(repo: Path, repeat: int) -> dict[str, float]:
    out = repo.parent / "report.html"
    times = [_gitcfg(repo, "report", "-o", str(out)) for _ in range(repeat)]
    return {"median_s": statistics.median(times), "bytes": out.stat().st_size}


def _get(url: str) -> tuple[float, bytes]:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as response:
        body = response.read()
    return time.perf_counter() - started, body


def bench_endpoints(repo: Path, repeat: int) -> dict[str, dict[str, float]]:
    sys.path.insert(0, str(ROOT))
    from gitcfg.query import Api
    from gitcfg.ui.data import Selection
    from gitcfg.ui.server import UiApp, make_server

    api = Api(repo)
    server, url = make_server(api, Selection())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        app: UiApp = server.RequestHandlerClass.ui_app  # type: ignore[attr-defined]
        _, body = _get(url + "api/runs")
        ids = [run["id"] for run in json.loads(body)["runs"][:20]]
        paths = {
            "table": "api/runs",
            "curves20": f"api/curves?runs={','.join(ids)}&metric=loss",
            "group": "api/group?by=lr&over=seed",
        }
        results: dict[str, dict[str, float]] = {}
        for name, path in paths.items():
            first, repeated, size = [], [], 0
            for _ in range(repeat):
                app.forget()  # a new generation: the document is computed again
                seconds, body = _get(url + path)
                first.append(seconds)
                repeated.append(_get(url + path)[0])
                size = len(body)
            results[name] = {
                "first_ms": statistics.median(first) * 1000,
                "repeat_ms": statistics.median(repeated) * 1000,
                "bytes": size,
            }
        # A running run's journal changed, the tip did not: only running runs are read again.
        from gitcfg.ui import data

        document = data.runs_document(api, Selection())
        _, kept = data.encode_runs(document, {}, set())
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            refreshed, changed = data.refresh_running(api, Selection(), document)
            data.encode_runs(refreshed, kept, changed)
            times.append(time.perf_counter() - started)
        results["table_live"] = {
            "first_ms": statistics.median(times) * 1000,
            "repeat_ms": results["table"]["repeat_ms"],
            "bytes": results["table"]["bytes"],
        }
        return results
    finally:
        server.shutdown()
        server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as base:
        for n in sizes:
            repo = Path(base) / f"runs{n}"
            scale_build.build(repo, n, one_commit=True)
            cold = _gitcfg(repo, "log", "-n", "1")  # builds the query cache
            report = bench_report(repo, args.repeat)
            out[f"report_{n}"] = {**report, "cache_build_s": cold}
            print(
                f"{n:>7,} runs: report {report['median_s']:.2f} s, "
                f"{report['bytes'] / 1_048_576:.2f} MiB (cache build first: {cold:.2f} s)",
                flush=True,
            )
            if n == max(sizes):
                endpoints = bench_endpoints(repo, args.repeat)
                out[f"endpoints_{n}"] = endpoints
                for name, numbers in endpoints.items():
                    target = TARGETS_MS.get(name)
                    print(
                        f"{n:>7,} runs: /{name}: first {numbers['first_ms']:.0f} ms, repeat "
                        f"{numbers['repeat_ms']:.1f} ms, {numbers['bytes'] / 1024:.0f} KiB"
                        + (f" (target <= {target} ms)" if target else ""),
                        flush=True,
                    )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
