"""Issue 13's scale table: each figure at 1k, 100k, 1M runs (and 10k), beside the 1k figure.

    env -u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX=/tmp/pyc-bench \\
        python tests/bench/bench_scale.py CACHE_DIR [--sizes 1k,100k,1M] [--repeat 7] [--json out.json]

CACHE_DIR keeps the built repositories (scale_build.cached_build: built once, reused by later
runs of this and other benchmarks; 1M is a one-commit branch, the others two commits per run, as
in the issue). Writes happen in scratch copies that share the cached objects, so a cached
repository never changes. Ratios are measured in one run of this script; compare them, not the
absolute times of a loaded machine.

Rows: a Row is a name, how to print its figure, and either `measure(size) -> float` (once per
size) or `prepare(size) -> context` plus `sample(context) -> float`, which is called `--repeat`
times per size, the sizes taking turns (so a load change on the shared machine hits every size
alike), and reported as the median. A Size is the cached repository, its run count and a scratch
directory. Add rows with `register(Row(...))`; `--rows 'CPU;tree'` picks some.

`--old-layout --gitcfg DIR` measures another checkout's gitcfg (say, main before FORMAT 2, from
`git worktree add /tmp/before <commit>`) on FORMAT 1 branches: the "before" figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import scale_build  # tests/bench, on sys.path when run as a script

ROOT = scale_build.ROOT
SIZES = {"0": 0, "1k": 1_000, "10k": 10_000, "100k": 100_000, "1M": 1_000_000}
ONE_COMMIT_FROM = 1_000_000  # sizes from here are one-commit branches (the 1M column)


@dataclass
class Size:
    label: str
    runs: int
    repo: Path  # the cached repository: read-only
    scratch: Path  # a directory for this size's scratch copies
    repeat: int
    notes: dict[str, str] = field(default_factory=dict)

    def copy(self, name: str) -> Path:
        """A writable copy of the repository (shares its objects; no data copied)."""
        return scale_build.scratch_copy(self.repo, self.scratch / name)


@dataclass(frozen=True)
class Row:
    name: str
    unit: str  # "s", "ms", "KB", "x" ...
    measure: Callable[[Size], float] | None = None
    prepare: Callable[[Size], Any] | None = None  # with sample: measured in turns, median
    sample: Callable[[Any], float] | None = None
    baseline: str = "1k"  # the size each figure is compared with ("0": runs vs 0 runs)
    sizes: tuple[str, ...] = ()  # only these sizes (empty: all)


ROWS: list[Row] = []


def register(row: Row) -> Row:
    ROWS.append(row)
    return row


# --- measuring helpers --------------------------------------------------------------------------


GITCFG = ROOT  # the checkout whose gitcfg records and queries (--gitcfg)


def bench_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(GITCFG), env.get("PYTHONPATH")]))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / "gitcfg-bench-pyc"))
    env.setdefault("GIT_AUTHOR_NAME", "bench")
    env.setdefault("GIT_AUTHOR_EMAIL", "bench@example.com")
    env["GITCFG_SILENT"] = "1"
    return env


def run_python(code: str, cwd: Path) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=bench_env(), capture_output=True, text=True
    )
    if out.returncode != 0:
        raise SystemExit(f"benchmark script failed in {cwd}:\n{out.stderr}")
    return out.stdout


def process_cpu_seconds(argv: list[str], cwd: Path) -> float:
    """CPU seconds (user + system) of one process and the processes it waited for (git):
    start-up, imports and exit included. CPU time tracks wall time on a quiet machine and
    barely moves with the load of a shared one, where wall time jitters by +-40%."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, cwd=cwd, env=bench_env(), check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


RECORD_SCRIPT = """
import gitcfg
run = gitcfg.track({"lr": 3e-4, "seed": 1, "batch_size": 64, "epochs": 10,
                    "model": {"name": "resnet", "depth": 18}})
for step in range(100):
    run.log({"loss": 1.0 / (step + 1), "val_acc": step / 100, "grad_norm": 0.5})
run.finish()
"""

# In one process: record 3 runs (the first a warm-up) and take the CPU seconds of only the
# runs-branch commits (Store.write, both of each run: this process and the git processes it
# waits for), which is what grows with the branch if anything does.
WRITE_PART_SCRIPT = """
import json, resource, statistics, time
import gitcfg
from gitcfg import store
spent = []
original = store.Store.write
def cpu():
    own, waited = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + waited.ru_utime + waited.ru_stime
def timed(self, files, message):
    start = cpu()
    try:
        return original(self, files, message)
    finally:
        spent[-1] += cpu() - start
store.Store.write = timed
for i in range(3):
    spent.append(0.0)
    run = gitcfg.track({"lr": 3e-4, "seed": i, "model": {"depth": 18}})
    for step in range(100):
        run.log({"loss": 1.0 / (step + 1), "val_acc": step / 100, "grad_norm": 0.5})
    run.finish()
print(json.dumps(statistics.median(spent[1:])))
"""


def _writable(size: Size, name: str) -> Path:
    """A scratch copy with one run recorded in it: a FORMAT 1 branch is migrated by that write,
    and caches (requirements, bytecode) are warm."""
    repo = size.copy(name)
    (repo / "record.py").write_text(RECORD_SCRIPT)
    subprocess.run([sys.executable, "record.py"], cwd=repo, env=bench_env(), check=True)
    return repo


def record_whole_process(repo: Path) -> float:
    return process_cpu_seconds([sys.executable, "record.py"], repo)


def record_write_part(repo: Path) -> float:
    return float(run_python(WRITE_PART_SCRIPT, repo))


def tree_bytes_per_run(size: Size) -> float:
    """Bytes of the tree objects one recorded run's commits add (both commits), in KB."""
    repo = _writable(size, "trees")
    before = _git(repo, "rev-parse", scale_build.REF)
    subprocess.run([sys.executable, "record.py"], cwd=repo, env=bench_env(), check=True)
    commits = _git(repo, "rev-list", f"{before}..{scale_build.REF}").split()
    trees: set[str] = set()
    for commit in commits:
        root = _git(repo, "rev-parse", f"{commit}^{{tree}}")
        changed = _git(repo, "diff-tree", "-r", "-t", "--no-commit-id", f"{commit}^", commit)
        trees.add(root)
        for line in changed.splitlines():
            meta = line.split("\t", 1)[0].split()
            if meta[1] == "040000" and meta[3] != "0" * len(meta[3]):
                trees.add(meta[3])
    sizes = _git(repo, "cat-file", "--batch-check=%(objectsize)", input="\n".join(trees) + "\n")
    return sum(int(n) for n in sizes.split()) / 1000


def pack_kb_per_run(size: Size) -> float:
    return scale_build.pack_bytes(size.repo) / max(size.runs, 1) / 1000


def _git(repo: Path, *args: str, input: str | None = None) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, input=input, capture_output=True, text=True, check=True
    ).stdout.strip()


register(
    Row(
        "record one run, whole process (CPU)",
        "s",
        prepare=lambda size: _writable(size, "record"),
        sample=record_whole_process,
        baseline="0",
    )
)
register(
    Row(
        "record one run, write part: its 2 commits (CPU)",
        "ms",
        prepare=lambda size: _writable(size, "write"),
        sample=record_write_part,
        baseline="0",
    )
)
register(Row("tree bytes written per run", "KB", measure=tree_bytes_per_run, baseline="0"))
register(Row("pack size per run (as built, not repacked)", "KB", measure=pack_kb_per_run))

# Query rows (s13b: history, sharing; s13c: warm/cold log, Api group-by, memory) go here:
# register(Row("gitcfg log --group-by lr, warm", measure_fn, "s")) with measure_fn(size) -> float.


# --- the table ----------------------------------------------------------------------------------


def _scaled(value: float, unit: str) -> float:
    return value * 1000 if unit == "ms" else value


def format_figure(value: float | None, unit: str, base: float | None) -> str:
    if value is None:
        return "-"
    shown = _scaled(value, unit)
    text = f"{shown:.3g} {unit}" if unit != "x" else f"{shown:.2f}x"
    if base:
        text += f" ({value / base:.2f}x)"
    return text


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    git_version = _git(Path.cwd(), "--version")
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {git_version}, "
        f"{platform.system()} {platform.release()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cache", type=Path, help="where built repositories are kept and reused")
    parser.add_argument("--sizes", default="1k,100k,1M", help="comma-separated: 1k,10k,100k,1M")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--rows",
        default="",
        help="rows whose names contain one of these ;-separated words (default: all)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--old-layout", action="store_true", help="FORMAT 1 branches")
    parser.add_argument(
        "--gitcfg", type=Path, help="the gitcfg checkout to measure (default: this)"
    )
    args = parser.parse_args()
    global GITCFG
    if args.gitcfg:
        GITCFG = args.gitcfg.resolve()
    labels = [label.strip() for label in args.sizes.split(",") if label.strip()]
    unknown = [label for label in labels if label not in SIZES]
    if unknown:
        raise SystemExit(f"unknown sizes {unknown}; choose from {', '.join(SIZES)}")
    picked = [word.strip() for word in args.rows.split(";") if word.strip()]
    rows = [r for r in ROWS if not picked or any(word in r.name for word in picked)]
    needed = set(labels) | {r.baseline for r in rows}
    columns = [label for label in SIZES if label in needed]
    results: dict[str, dict[str, float]] = {r.name: {} for r in rows}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        sizes = {}
        for label in columns:
            n = SIZES[label]
            started = time.perf_counter()
            repo = scale_build.cached_build(
                args.cache, n, one_commit=n >= ONE_COMMIT_FROM, old_layout=args.old_layout
            )
            print(f"{label}: {repo} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
            scratch = Path(tmp) / label
            scratch.mkdir()
            sizes[label] = Size(label, n, repo, scratch, args.repeat)
        for row in rows:
            wanted = [
                label
                for label in columns
                if (not row.sizes or label in row.sizes) and (label != "0" or row.baseline == "0")
            ]
            if row.measure is not None:
                for label in wanted:
                    results[row.name][label] = row.measure(sizes[label])
            else:
                assert row.prepare is not None and row.sample is not None
                contexts = {label: row.prepare(sizes[label]) for label in wanted}
                samples: dict[str, list[float]] = {label: [] for label in wanted}
                for _ in range(args.repeat):
                    for label in wanted:
                        samples[label].append(row.sample(contexts[label]))
                for label in wanted:
                    results[row.name][label] = statistics.median(samples[label])
            shown = ", ".join(f"{k} {v:.4g}" for k, v in results[row.name].items())
            print(f"  {row.name}: {shown}", file=sys.stderr)
    print(f"machine: {machine()}")
    header = ["operation", *columns]
    lines = ["| " + " | ".join(header) + " |", "|---" + "|--:" * len(columns) + "|"]
    for row in rows:
        figures = results[row.name]
        base = figures.get(row.baseline)
        cells = [
            format_figure(figures.get(label), row.unit, base if label != row.baseline else None)
            for label in columns
        ]
        lines.append(f"| {row.name} (vs {row.baseline}) | " + " | ".join(cells) + " |")
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "figures": results}, indent=2))


if __name__ == "__main__":
    main()
