"""Benchmark a config change during a run: it is journaled before it returns (issue 5).

    PYTHONPYCACHEPREFIX=/tmp/pycache python tests/bench/bench_config_change.py [--keys 40] [--changes 50]

Prints medians over --changes calls, on a run whose config has --keys top-level keys (a typical
argparse script's 20-60) plus a nested mapping and a list:
- `run.config.k = v` for a new key (check, merge, then config.yaml and meta.json rewritten
  atomically in the journal: run.yaml's config_changed and config_sources change too);
- `run.config.update({"lr": v}, allow_val_change=True)` (config.yaml only);
- `run.config.persist()` with nothing changed (no write: the journal holds it);
- `run.config.k`, `run.config.betas` and `run.config.grid` (1,000 numbers) reads, for scale.
Target: a change stays under ~1 ms, so that writing it synchronously costs a script nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import make_repo, set_bench_identity  # noqa: E402


def timed(action: object, count: int) -> float:
    """Median seconds of `action(i)` over `count` calls."""
    times = []
    for i in range(count):
        start = time.perf_counter()
        action(i)  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keys", type=int, default=40)
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    set_bench_identity(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(make_repo(Path(tmp)))
        import gitcfg

        config = {f"setting_{i}": i * 0.5 for i in range(args.keys)}
        config.update(model={"depth": 18, "width": 64}, betas=[0.9, 0.999])
        run = gitcfg.track(config, path=".")  # the temporary repo, not this script's
        grid = gitcfg.Config({"grid": list(range(1000))})
        cfg = run.config
        r = {
            "keys": args.keys,
            "persist_s": timed(lambda i: cfg.persist(), args.changes),
            "change_value_s": timed(
                lambda i: cfg.update({"setting_0": i * 1e-3}, allow_val_change=True), args.changes
            ),
            "set_new_key_s": timed(lambda i: cfg.__setitem__(f"added_{i}", i), args.changes),
            "read_scalar_s": timed(lambda i: cfg.setting_1, args.changes),
            "read_list_s": timed(lambda i: cfg.betas, args.changes),
            # apart: 1,000 numbers in the run's config would dominate the change measures
            "read_long_list_s": timed(lambda i: grid.grid, args.changes),
        }
        run.finish()
    print(f"{'measure':52} {'median':>10}  target")
    for name, key, target in (
        (f"change a value, allow_val_change ({args.keys} keys)", "change_value_s", "< 1 ms"),
        (f"run.config.k = v, new key ({args.keys}+ keys)", "set_new_key_s", "< 1 ms"),
        ("run.config.persist(), nothing changed", "persist_s", "< 1 ms"),
        ("run.config.k (read a scalar)", "read_scalar_s", ""),
        ("run.config.betas (read a 2-item list view)", "read_list_s", ""),
        ("run.config.grid (read a 1,000-number list view)", "read_long_list_s", ""),
    ):
        print(f"{name:52} {r[key] * 1e6:8.1f}us  {target}")
    if args.json:
        args.json.write_text(json.dumps(r, indent=2))


if __name__ == "__main__":
    main()
