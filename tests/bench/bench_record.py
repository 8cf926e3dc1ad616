"""Benchmark the write path: one recorded run vs the plain-git floor, import cost, write cost at scale.

    PYTHONPYCACHEPREFIX=/tmp/pycache python tests/bench/bench_record.py [--repeat 15] [--json out.json]

Prints one table; compare the ratios (measured in one run), not absolute times.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from _common import (  # tests/bench, on sys.path when run as a script
    git,
    make_repo,
    set_bench_identity,
)

ROOT = Path(__file__).resolve().parents[2]

CONFIG_20 = """{
    "lr": 3e-4, "batch_size": 64, "epochs": 10, "seed": 1, "optimizer": "adamw",
    "weight_decay": 0.01, "warmup_steps": 500, "dropout": 0.1, "dataset": "cifar10",
    "augment": True, "label_smoothing": 0.1, "grad_clip": 1.0, "precision": "bf16",
    "scheduler": "cosine", "eval_every": 100, "num_workers": 4, "compile": False,
    "tags_list": ["a", "b"], "notes_text": "baseline run",
    "model": {"name": "resnet", "depth": 18, "width": 64, "norm": "bn"},
}"""

RECORD_SCRIPT = f"""
import gitcfg
run = gitcfg.track({CONFIG_20})
for step in range(10):
    run.log({{"train_loss": 1.0 / (step + 1), "val_acc": step / 10}})
run.finish()
"""

FLOOR_SCRIPT = f"""
import subprocess, time, yaml
config = {CONFIG_20}
text = yaml.dump(config, Dumper=yaml.CSafeDumper, sort_keys=False).encode()
msg = b"floor"
who = b"bench <bench@example.com> %d +0000" % int(time.time())
stream = (b"commit refs/heads/floor\\nauthor %s\\ncommitter %s\\ndata %d\\n%s\\n"
          b"M 100644 inline config.yaml\\ndata %d\\n%s\\ndone\\n"
          % (who, who, len(msg), msg, len(text), text))
subprocess.run(["git", "fast-import", "--quiet", "--done", "--force"], input=stream, check=True)
"""


def fill_runs(repo: Path, count: int) -> None:
    """Put `count` finished-looking run directories on the runs branch in one fast-import commit."""
    sys.path.insert(0, str(ROOT))
    from gitcfg.store import BRANCH_README, new_run_id, run_dir

    parts = [b"commit refs/heads/gitcfg-runs\ncommitter b <b@b> 0 +0000\ndata 5\nfill\n"]

    def add(path: str, data: bytes) -> None:
        parts.append(b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(data), data))

    add("README.md", BRANCH_README.encode())
    add("FORMAT", b"1\n")
    for i in range(count):
        run_id = new_run_id(time.time() - i)
        base = run_dir(run_id)
        add(f"{base}/run.yaml", f"id: {run_id}\nstatus: finished\n".encode())
        add(f"{base}/config.yaml", f"lr: {0.001 * (i % 7 + 1)}\nseed: {i % 5}\n".encode())
        add(f"{base}/summary.yaml", f"val_acc: {i % 100 / 100}\n".encode())
    parts.append(b"done\n")
    git(repo, "fast-import", "--quiet", "--done", input=b"".join(parts))


def time_process(argv: list[str], cwd: Path, repeat: int, env: dict[str, str]) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def write_cost(repo: Path, repeat: int) -> float:
    """Median in-process time of one whole run (track, 10 log calls, finish) in `repo`."""
    code = textwrap.dedent(
        f"""
        import os, statistics, sys, time
        os.chdir({str(repo)!r})
        import gitcfg
        samples = []
        for i in range({repeat} + 2):
            t = time.perf_counter()
            run = gitcfg.track({{"lr": 0.1, "i": i, "model": {{"depth": 3}}}})
            for s in range(10):
                run.log({{"loss": 1 / (s + 1)}})
            run.finish()
            samples.append(time.perf_counter() - t)
        print(statistics.median(samples[2:]))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, check=True, text=True, env=_env()
    )
    return float(out.stdout.strip())


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    # Compiled modules are cached for every measured process alike (this machine sets
    # PYTHONDONTWRITEBYTECODE=1, which would make each process recompile an editable install).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / "gitcfg-bench-pycache"))
    set_bench_identity(env)
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--runs", type=int, default=10_000, help="runs on the branch for the scale row"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    env = _env()
    py = sys.executable
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        record_repo, floor_repo = make_repo(base, "record"), make_repo(base, "floor")
        (base / "record.py").write_text(RECORD_SCRIPT)
        (base / "floor.py").write_text(FLOOR_SCRIPT)
        # warm up both (page cache, pycache prefix)
        time_process([py, str(base / "record.py")], record_repo, 2, env)
        time_process([py, str(base / "floor.py")], floor_repo, 2, env)
        results["record_one_run_s"] = time_process(
            [py, str(base / "record.py")], record_repo, args.repeat, env
        )
        results["floor_one_commit_s"] = time_process(
            [py, str(base / "floor.py")], floor_repo, args.repeat, env
        )
        results["python_pass_s"] = time_process([py, "-c", "pass"], base, args.repeat * 2, env)
        results["import_gitcfg_s"] = time_process(
            [py, "-c", "import gitcfg"], base, args.repeat * 2, env
        )
        empty_repo, full_repo = make_repo(base, "empty"), make_repo(base, "full")
        fill_runs(full_repo, args.runs)
        results["write_cost_0_runs_s"] = write_cost(empty_repo, args.repeat)
        results["write_cost_n_runs_s"] = write_cost(full_repo, args.repeat)
    r = results
    rows = [
        (
            "record one run (whole process)",
            r["record_one_run_s"],
            "floor",
            r["floor_one_commit_s"],
            r["record_one_run_s"] / r["floor_one_commit_s"],
            "<= 2.0",
        ),
        (
            "python -c 'import gitcfg'",
            r["import_gitcfg_s"],
            "python -c pass",
            r["python_pass_s"],
            r["import_gitcfg_s"] / r["python_pass_s"],
            f"+{(r['import_gitcfg_s'] - r['python_pass_s']) * 1000:.1f} ms",
        ),
        (
            f"write cost, {args.runs:,} runs on branch",
            r["write_cost_n_runs_s"],
            "0 runs",
            r["write_cost_0_runs_s"],
            r["write_cost_n_runs_s"] / r["write_cost_0_runs_s"],
            "<= 1.5",
        ),
    ]
    print(f"{'measure':38} {'time':>9} {'vs':>16} {'time':>9} {'ratio':>7}  target")
    for name, a, vs, b, ratio, target in rows:
        print(f"{name:38} {a * 1000:7.1f}ms {vs:>16} {b * 1000:7.1f}ms {ratio:7.2f}  {target}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
