"""Benchmark the run lifecycle: run.log() throughput with the journal on, and the finish commit.

    PYTHONPYCACHEPREFIX=/tmp/pycache python tests/bench/bench_lifecycle.py [--calls 100000] [--repeat 5]

Prints one table (medians over --repeat):
- the same loop (a 3-scalar dict built per call) calling a no-op function, then run.log(); every
  row is in the journal's memory-mapped file when log() returns (what survives a SIGKILL), and the
  sustained time also includes draining the rows into the summary and journaling it (the flusher
  thread's work), not just the loop;
- the finish commit of a run with --calls logged steps (final drain, reading the rows back from
  the journal, metrics.jsonl encoding, commit): right after the loop, and after the flusher drained
  the rows at a training loop's pace.
Targets (issue 6): >= 1,000,000 scalars/s over 100,000 calls; finish commit <= 1 s.
Targets (issue 16), as ratios measured in this one process so they hold on any machine:
- run.log() <= 2x the floor of a crash-safe logger: `json.dumps(row)` + copying the bytes into a
  memory-mapped file, per call, in the same loop;
- finish of --calls steps <= 2x encoding them as JSONL + one plumbing commit (`git fast-import`
  of one commit holding that blob).
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

from _common import make_repo, set_bench_identity  # tests/bench, on sys.path when run as a script

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def noop(data: object) -> None:
    pass


def time_noop(calls: int) -> float:
    start = time.perf_counter()
    for i in range(calls):
        noop({"loss": 1.0 / (i + 1), "acc": i * 1e-5, "lr": 3e-4})
    return time.perf_counter() - start


def time_floor_log(calls: int, directory: Path) -> float:
    """The floor of a crash-safe logger: json.dumps(row) + copy into a memory-mapped file."""
    import mmap

    dumps = json.dumps
    path = directory / "floor.mmap"
    size = 64 * 1024 * 1024
    with open(path, "wb") as f:
        f.truncate(size)
    with open(path, "r+b") as f:
        mapped = mmap.mmap(f.fileno(), size)
        position = 0
        start = time.perf_counter()
        for i in range(calls):
            line = dumps({"loss": 1.0 / (i + 1), "acc": i * 1e-5, "lr": 3e-4, "_step": i}).encode()
            end = position + len(line) + 1
            mapped[position:end] = line + b"\n"
            position = end
        elapsed = time.perf_counter() - start
        mapped.close()
    path.unlink()
    return elapsed


def time_floor_finish(calls: int) -> float:
    """The floor of a finish: encode the rows as JSONL, then one fast-import commit holding them."""
    import subprocess

    rows = [{"loss": 1.0 / (i + 1), "acc": i * 1e-5, "lr": 3e-4, "_step": i} for i in range(calls)]
    start = time.perf_counter()
    dumps = json.dumps
    blob = ("\n".join(map(dumps, rows)) + "\n").encode()
    who = b"bench <bench@example.com> %d +0000" % int(time.time())
    message = b"floor"
    stream = (
        b"commit refs/heads/floor\nauthor %s\ncommitter %s\ndata %d\n%s\n"
        b"M 100644 inline metrics.jsonl\ndata %d\n%s\ndone\n"
        % (who, who, len(message), message, len(blob), blob)
    )
    subprocess.run(["git", "fast-import", "--quiet", "--done", "--force"], input=stream, check=True)
    return time.perf_counter() - start


def time_log(calls: int) -> tuple[float, float, float]:
    """(seconds for the log loop alone, for loop + draining into the journal, for finish())."""
    import gitcfg

    run = gitcfg.track({"lr": 3e-4, "bench": "lifecycle"}, path=".")  # the temporary repo
    log = run.log
    start = time.perf_counter()
    for i in range(calls):
        log({"loss": 1.0 / (i + 1), "acc": i * 1e-5, "lr": 3e-4})
    looped = time.perf_counter()
    run._recorder.flush()  # every row journaled: the sustained rate includes the flusher's work
    drained = time.perf_counter()
    assert run._recorder.journal is not None and len(run._recorder.journal.rows()) == calls
    finishing = time.perf_counter()
    run.finish()
    finished = time.perf_counter()
    return looped - start, drained - start, finished - finishing


def time_finish_paced(calls: int) -> float:
    """finish() of a run that logged at a training loop's pace: the flusher drained as it went."""
    import gitcfg

    run = gitcfg.track({"lr": 3e-4, "bench": "paced"}, path=".")
    for i in range(calls):
        run.log({"loss": 1.0 / (i + 1), "acc": i * 1e-5, "lr": 3e-4})
        if i % 1000 == 999:
            run._recorder.flush()  # as the flusher does every 0.5 s
    start = time.perf_counter()
    run.finish()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    set_bench_identity(os.environ)
    calls = args.calls
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(make_repo(Path(tmp)))
        time_log(1000)  # warm up: imports, first commit on the branch
        noops, loops, sustained, finishes, paced = [], [], [], [], []
        floor_logs, floor_finishes = [], []
        for _ in range(args.repeat):
            noops.append(time_noop(calls))
            floor_logs.append(time_floor_log(calls, Path(tmp)))
            floor_finishes.append(time_floor_finish(calls))
            loop, drained, finished = time_log(calls)
            loops.append(loop)
            sustained.append(drained)
            finishes.append(finished)
            paced.append(time_finish_paced(calls))
    med = statistics.median
    r = {
        "calls": calls,
        "noop_loop_s": med(noops),
        "log_loop_s": med(loops),
        "log_sustained_s": med(sustained),
        "finish_commit_s": med(finishes),
        "finish_commit_paced_s": med(paced),
        "floor_log_loop_s": med(floor_logs),
        "floor_finish_s": med(floor_finishes),
    }
    r["log_vs_floor"] = r["log_loop_s"] / r["floor_log_loop_s"]
    r["finish_vs_floor"] = r["finish_commit_s"] / r["floor_finish_s"]
    scalars = 3 * calls
    print(f"{'measure':48} {'time':>9} {'per call':>9} {'scalars/s':>12}  target")
    rows = [
        ("loop calling a no-op function", r["noop_loop_s"], ""),
        ("floor: json.dumps(row) + copy into an mmap", r["floor_log_loop_s"], ""),
        ("loop calling run.log() (rows journaled)", r["log_loop_s"], ""),
        ("run.log() loop + summary drained (sustained)", r["log_sustained_s"], ">= 1,000,000/s"),
    ]
    for name, seconds, target in rows:
        print(
            f"{name:48} {seconds * 1000:7.1f}ms {seconds / calls * 1e6:7.2f}us "
            f"{scalars / seconds:12,.0f}  {target}"
        )
    for how, key in (
        ("logged at a training loop's pace", "finish_commit_paced_s"),
        ("logged in one burst", "finish_commit_s"),
    ):
        print(f"{f'finish commit, {calls:,} steps {how}':70} {r[key] * 1000:7.1f}ms  <= 1 s")
    print(
        f"{'floor: JSONL encoding + one fast-import commit':70} {r['floor_finish_s'] * 1000:7.1f}ms"
    )
    print(f"{'ratio run.log() loop / floor':70} {r['log_vs_floor']:7.2f}x   <= 2.0")
    print(f"{'ratio finish (one burst) / floor':70} {r['finish_vs_floor']:7.2f}x   <= 2.0")
    if args.json:
        args.json.write_text(json.dumps(r, indent=2))


if __name__ == "__main__":
    main()
