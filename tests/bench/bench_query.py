"""Benchmark the query layer: `gitcfg log --group-by lr` cold, warm and incremental, and the Api.

    python tests/bench/bench_query.py [--sizes 1000,10000,100000] [--repeat 7] [--json out.json]

Each size gets a fresh repository whose runs branch is written in one `git fast-import` (runs with a
realistic run.yaml, config lr/seed/batch/model.depth/optimizer, summary val_acc/train_loss, a short
metrics.jsonl). Whole-process times are medians of `gitcfg log --group-by lr --format json`:
- cold: the cache file deleted before each call (the call builds it: git ls-tree + cat-file + YAML);
- warm: the cache up to date (no git process, no YAML);
- incremental: 10 new runs committed on the branch before each call; `refresh` is the cache's
  part of it, timed in process (`Api(path).refresh()` after 10 more new runs);
- api: in-process `Api(path).runs().group_by("lr")` and `len(Api(path).runs())`, warm.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import bench_record  # tests/bench, on sys.path when run as a script
from _common import git
from _common import make_repo as make_plain_repo

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # this checkout's gitcfg: its run_dir and FORMAT_VERSION
TARGETS = {  # issue 7, seconds
    ("warm", 10_000): 0.3,
    ("cold", 10_000): 3.0,
    ("warm", 100_000): 1.0,
    ("refresh", 100_000): 0.2,
    ("api_group", 10_000): 0.05,
}
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_EPOCH = 1_577_836_800


def _env() -> dict[str, str]:
    env = bench_record._env()  # PYTHONPATH, pycache prefix, no PYTHONDONTWRITEBYTECODE
    env["COLUMNS"] = "100"
    return env


def make_repo(base: Path, name: str) -> tuple[Path, str]:
    repo = make_plain_repo(base, name)
    return repo, git(repo, "rev-parse", "HEAD").strip()


class RunWriter:
    """Writes realistic run directories into fast-import streams."""

    def __init__(self, code_commit: str, seed: int = 0) -> None:
        self.code_commit = code_commit
        self.rng = random.Random(seed)
        self.count = 0
        self.seconds = 200_000_000

    def run_id(self) -> str:
        seconds, head = self.seconds, ""
        for _ in range(7):
            head = _ALPHABET[seconds % 32] + head
            seconds //= 32
        return head + "".join(self.rng.choice(_ALPHABET) for _ in range(13))

    def files(self) -> dict[str, bytes]:
        i, self.count, self.seconds = self.count, self.count + 1, self.seconds + 7
        run_id = self.run_id()
        started = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(_EPOCH + self.seconds))
        lr = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1][i % 7]
        seed, batch, depth = i % 5, [32, 64, 128][i % 3], [18, 34, 50][i % 3]
        val_acc = round(0.6 + 0.3 * self.rng.random(), 4)
        train_loss = round(2 * self.rng.random(), 4)
        meta = textwrap.dedent(f"""\
            id: {run_id}
            name: bold-river-{run_id[-2:]}
            group: null
            tags: []
            notes: null
            status: finished
            exit_code: 0
            started_at: '{started}.000Z'
            ended_at: '{started}.900Z'
            duration_s: 0.9
            host: gpu-node-{i % 8}
            user: ada
            python: 3.11.7
            platform: Linux-6.1-x86_64
            argv:
            - train.py
            - --lr
            - '{lr}'
            cwd: /home/ada/project
            gitcfg_version: 0.1.0
            format: 1
            code:
              commit: {self.code_commit}
              branch: main
              dirty: false
              remote_url: git@example.com:ada/project.git
            config_sources:
              lr: script
              seed: script
              batch: script
              model: script
            """).encode()
        config = (
            f"lr: {lr}\nseed: {seed}\nbatch: {batch}\noptimizer: adamw\n"
            f"model:\n  name: resnet\n  depth: {depth}\n"
        ).encode()
        summary = f"val_acc: {val_acc}\ntrain_loss: {train_loss}\n".encode()
        metrics = b"".join(
            b'{"_step": %d, "_time": %d.5, "train_loss": %.4f, "val_acc": %.4f}\n'
            % (step, step, train_loss + 1 - step / 3, val_acc - 0.1 + step / 30)
            for step in range(3)
        )
        from gitcfg.store import run_dir

        base = run_dir(run_id)
        return {
            f"{base}/run.yaml": meta,
            f"{base}/config.yaml": config,
            f"{base}/summary.yaml": summary,
            f"{base}/metrics.jsonl": metrics,
        }

    def commit(self, repo: Path, count: int, first: bool = False) -> None:
        """Add `count` runs to the runs branch in one fast-import commit."""
        parts = [b"commit refs/heads/gitcfg-runs\ncommitter b <b@b> 0 +0000\ndata 5\nruns\n"]
        if not first:
            parts.append(b"from refs/heads/gitcfg-runs^0\n")
        from gitcfg.store import FORMAT_VERSION

        files = {"README.md": b"runs\n", "FORMAT": b"%d\n" % FORMAT_VERSION} if first else {}
        for _ in range(count):
            files.update(self.files())
        for path, data in files.items():
            parts.append(b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(data), data))
        parts.append(b"done\n")
        git(repo, "fast-import", "--quiet", "--done", input=b"".join(parts))


def cache_path(repo: Path) -> Path:
    return repo / ".git" / "gitcfg" / "query-cache.sqlite"


def drop_cache(repo: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(cache_path(repo)) + suffix).unlink(missing_ok=True)


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr.decode()}")
    return elapsed


REFRESH_SCRIPT = """
import sys, time
sys.path.insert(0, {root!r})
from gitcfg.query import Api
api = Api({path!r})
start = time.perf_counter()
api.refresh()
assert api.cache.last_refresh == ("incremental", 10), api.cache.last_refresh
print(time.perf_counter() - start)
"""

API_SCRIPT = """
import json, statistics, sys, time
sys.path.insert(0, {root!r})
from gitcfg.query import Api
path = {path!r}
Api(path).runs().group_by("lr")  # warm the cache
group, count, records = [], [], []
for _ in range({repeat}):
    t = time.perf_counter(); Api(path).runs().group_by("lr"); group.append(time.perf_counter() - t)
    t = time.perf_counter(); len(Api(path).runs()); count.append(time.perf_counter() - t)
    t = time.perf_counter(); [r.config for r in Api(path).runs()]; records.append(time.perf_counter() - t)
print(json.dumps([statistics.median(group), statistics.median(count), statistics.median(records)]))
"""


def measure(base: Path, size: int, repeat: int, env: dict[str, str]) -> dict[str, float]:
    repo, head = make_repo(base, f"runs-{size}")
    writer = RunWriter(head, seed=size)
    start = time.perf_counter()
    writer.commit(repo, size, first=True)
    print(
        f"  {size:,} runs written with fast-import in {time.perf_counter() - start:.1f}s",
        file=sys.stderr,
    )
    argv = [sys.executable, "-m", "gitcfg", "log", "--group-by", "lr", "--format", "json"]
    timed(argv, repo, env)  # page cache, pycache
    cold_repeat = max(1, repeat // 3) if size >= 100_000 else max(3, repeat // 2)
    cold = []
    for _ in range(cold_repeat):
        drop_cache(repo)
        cold.append(timed(argv, repo, env))
    warm = [timed(argv, repo, env) for _ in range(repeat)]
    incremental, refresh = [], []
    refresh_code = REFRESH_SCRIPT.format(root=str(ROOT), path=str(repo))
    for _ in range(max(3, repeat // 2)):
        writer.commit(repo, 10)
        incremental.append(timed(argv, repo, env))
        writer.commit(repo, 10)
        out = subprocess.run(
            [sys.executable, "-c", refresh_code],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        refresh.append(float(out.stdout))
    code = API_SCRIPT.format(root=str(ROOT), path=str(repo), repeat=repeat * 2)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    api_group, api_count, api_records = json.loads(out.stdout)
    return {
        "cold": statistics.median(cold),
        "warm": statistics.median(warm),
        "incremental": statistics.median(incremental),
        "refresh": statistics.median(refresh),
        "api_group": api_group,
        "api_count": api_count,
        "api_records": api_records,
        "cache_mb": cache_path(repo).stat().st_size / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    env = _env()
    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        floor = [timed([sys.executable, "-c", "pass"], base, env) for _ in range(args.repeat)]
        cli_import = [
            timed([sys.executable, "-c", "import gitcfg.cli"], base, env)
            for _ in range(args.repeat)
        ]
        for size in sizes:
            print(f"measuring {size:,} runs ...", file=sys.stderr)
            results[size] = measure(base, size, args.repeat, env)
    print(
        f"python -c pass {statistics.median(floor) * 1000:.0f} ms, "
        f"python -c 'import gitcfg.cli' {statistics.median(cli_import) * 1000:.0f} ms"
    )
    print("gitcfg log --group-by lr, whole process (median):")
    header = f"{'runs':>8} {'cold':>9} {'warm':>9} {'+10 runs':>9} {'refresh':>9} {'Api group':>10} {'Api len':>9} {'Api .config':>12} {'cache':>8}"
    print(header)
    for size, r in results.items():
        print(
            f"{size:>8,} {r['cold'] * 1000:7.0f}ms {r['warm'] * 1000:7.0f}ms {r['incremental'] * 1000:7.0f}ms "
            f"{r['refresh'] * 1000:7.1f}ms "
            f"{r['api_group'] * 1000:8.1f}ms {r['api_count'] * 1000:7.1f}ms {r['api_records'] * 1000:10.1f}ms "
            f"{r['cache_mb']:6.1f}MB"
        )
    print(
        "targets:", ", ".join(f"{k} at {n:,} <= {v * 1000:.0f} ms" for (k, n), v in TARGETS.items())
    )
    missed = [
        f"{k} at {n:,}: {results[n][k] * 1000:.0f} ms"
        for (k, n), v in TARGETS.items()
        if n in results and results[n][k] > v
    ]
    print("all targets met" if not missed else "MISSED: " + "; ".join(missed))
    if args.json:
        args.json.write_text(json.dumps({str(k): v for k, v in results.items()}, indent=2))


if __name__ == "__main__":
    main()
