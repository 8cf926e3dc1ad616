"""Benchmark the environment capture track() makes (requirements.txt): cold and warm cache.

    PYTHONPYCACHEPREFIX=/tmp/pycache python tests/bench/bench_environment.py [--repeat 9] [--json out.json]

Each measurement is a new interpreter (importlib.metadata caches directory listings per process),
after the imports track() has made. `track() warm`: what track() waits for with the cache filled
(every run but the first after an install): import gitcfg.environment, stat + listdir the path,
read the cache. `track() cold`: the same with an empty cache (track() goes on without the list).
`listing`: what the end of that run adds (importlib.metadata import + every METADATA header).
Measured on this interpreter's environment, then with 1,000 more distributions on sys.path.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys, time
from pathlib import Path
import gitcfg.tracking  # what track() has loaded before it captures
t0 = time.perf_counter()
from gitcfg.environment import cached_requirements, installed_requirements
hit = cached_requirements(Path(sys.argv[1]))  # what track() waits for
t1 = time.perf_counter()
text = hit if hit is not None else installed_requirements(Path(sys.argv[1]))  # at the end
t2 = time.perf_counter()
print((t1 - t0) * 1000, (t2 - t0) * 1000, text.count(b"\\n"))
"""


def fake_site(base: Path, count: int) -> Path:
    """`count` distributions as pip lays them out: `<name>-<version>.dist-info/METADATA`."""
    site = base / "site"
    for index in range(count):
        info = site / f"fake_pkg_{index}-1.{index}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: fake-pkg-{index}\nVersion: 1.{index}\n\n"
            + "Long description line.\n" * 40
        )
    return site


def measure(cache: Path, env: dict[str, str], cold: bool) -> tuple[float, float, int]:
    """(ms track() waits, ms until the list is known, distributions) in a new interpreter."""
    if cold:
        shutil.rmtree(cache, ignore_errors=True)
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(cache)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return float(out[0]), float(out[1]), int(out[2])


def bench(env: dict[str, str], repeat: int, base: Path) -> dict[str, float]:
    cache = base / "cache"
    track_cold, list_cold, track_warm = [], [], []
    count = 0
    for _ in range(repeat):
        waited, listed, count = measure(cache, env, cold=True)
        track_cold.append(waited)
        list_cold.append(listed)
        track_warm.append(measure(cache, env, cold=False)[0])
    return {
        "distributions": count,
        "track_warm_ms": round(statistics.median(track_warm), 2),
        "track_cold_ms": round(statistics.median(track_cold), 2),
        "listing_cold_ms": round(statistics.median(list_cold), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        results["this environment"] = bench(env, args.repeat, base)
        site = fake_site(base, 1000)
        env_big = dict(env, PYTHONPATH=os.pathsep.join([str(ROOT), str(site)]))
        results["+1,000 distributions"] = bench(env_big, args.repeat, base)
    print(
        f"{'environment':<22} {'dists':>6} {'track() warm':>13} {'track() cold':>13} "
        f"{'listing (at end)':>17}"
    )
    for name, row in results.items():
        print(
            f"{name:<22} {row['distributions']:>6} {row['track_warm_ms']:>11.2f}ms "
            f"{row['track_cold_ms']:>11.2f}ms {row['listing_cold_ms']:>15.1f}ms"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
