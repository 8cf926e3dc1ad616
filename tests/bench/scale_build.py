"""Build a runs branch of N realistic runs quickly, for the scale benchmarks (issue 13).

    python tests/bench/scale_build.py REPO N [--one-commit] [--old-layout] [--seed S]

REPO is made (a git repository with one code commit) if it does not exist; its runs branch must
not exist yet. Each run is what a real `gitcfg.track()` run leaves: a 20-key config (`lr`,
`seed`, ... and a nested `model`), run.yaml with every field a real run writes, summary.yaml,
metrics.jsonl (3 metrics x 100 steps, _step and _time), requirements.txt (one shared blob),
and by default the two commits a real run makes (`run <id>: started` with config.yaml and
run.yaml, `run <id>: finished (exit 0)` with the rest); `--one-commit` puts all runs in one
commit after the branch's first one (the issue's 1M figures). The objects are generated here
and streamed into one `git fast-import`: about 10k runs/s with --one-commit.

The layout is gitcfg's current one (`gitcfg.store.run_dir`, `FORMAT_VERSION`, from this
checkout); `--old-layout` builds the same runs (same seed: same ids, values and commits) in
format 1 (`runs/<id[-2:]>/<id>/`), for migration tests.

From Python (tests/bench on sys.path, or `from scale_build import ...` in tests):

    build(repo, n, one_commit=False, old_layout=False, seed=0) -> Built
    cached_build(cache_dir, n, ...) -> Path   built once under cache_dir, reused after
    scratch_copy(cached, dest) -> Path        a writable copy sharing its objects (alternates)
    runs(n, seed=0)      the run specs (id, config, summary, status, ...) a build writes, in order
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gitcfg import store  # noqa: E402  (this checkout's gitcfg)

BRANCH = store.DEFAULT_BRANCH
REF = f"refs/heads/{BRANCH}"
OLD_FORMAT = 1
STEPS = 100
METRICS = ("loss", "val_acc", "grad_norm")
CODE_FILE = "train.py"
IDENTITY = b"bench <bench@example.com>"
START = 1_735_689_600  # 2025-01-01: the first run's start
SWEEP = 16  # runs per sweep, started a few seconds apart
SWEEP_GAP = 480  # seconds between sweeps: 1M runs span about a year

# Top-level config keys (20), each with the values it takes; `model` is a nested mapping.
LRS = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
CONFIG_CHOICES: dict[str, tuple[Any, ...]] = {
    "lr": LRS,
    "batch_size": (32, 64, 128, 256),
    "epochs": (10, 20, 50),
    "seed": (0, 1, 2, 3, 4),
    "optimizer": ("adamw", "sgd", "lion"),
    "weight_decay": (0.0, 0.01, 0.1),
    "warmup_steps": (0, 500, 1000),
    "dropout": (0.0, 0.1, 0.2),
    "dataset": ("cifar10", "cifar100", "imagenet-1k"),
    "augment": (True, False),
    "label_smoothing": (0.0, 0.1),
    "grad_clip": (0.5, 1.0),
    "precision": ("bf16", "fp32"),
    "scheduler": ("cosine", "linear", "constant"),
    "eval_every": (100, 500),
    "num_workers": (4, 8),
    "compile": (False, True),
    "tags_list": (["a", "b"], ["baseline"]),
    "notes_text": ("baseline run", "sweep"),
    "model": (
        {"name": "resnet", "depth": 18, "width": 64, "norm": "bn"},
        {"name": "resnet", "depth": 50, "width": 64, "norm": "bn"},
        {"name": "vit", "depth": 12, "width": 384, "norm": "ln"},
    ),
}
HOSTS = ("gpu-node-01", "gpu-node-02", "gpu-node-03", "workstation")
USERS = ("ada", "grace", "alan")
FAILED_EVERY = 29  # about 3% of runs fail


@dataclass(frozen=True)
class Spec:
    """One run a build writes: what a reader must find."""

    index: int
    run_id: str
    started: float  # unix seconds (ms precision)
    duration_s: float
    status: str  # finished or failed
    exit_code: int
    config: dict[str, Any]
    summary: dict[str, float]
    host: str
    user: str


@dataclass(frozen=True)
class Built:
    repo: Path
    runs: int
    commits: int
    seconds: float
    layout: str  # "current" or "old"
    tip: str


# --- ids and specs -----------------------------------------------------------------------------


def make_id(started: float, rng: random.Random) -> str:
    """A run id as store.new_run_id makes one for `started`, its random part from `rng`."""
    seconds, fraction = divmod(started - store.ID_EPOCH, 1.0)
    stamp = (int(seconds) + store._ID_SECONDS_OFFSET) * 1024 + min(int(fraction * 1000), 999)
    value = (stamp << store._RANDOM_BITS) | rng.getrandbits(store._RANDOM_BITS)
    chars = []
    for _ in range(store.ID_CHARS):
        chars.append(store._CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def runs(n: int, seed: int = 0) -> Iterator[Spec]:
    """The `n` runs a build with `seed` writes, oldest first (sweeps of SWEEP runs)."""
    rng = random.Random(seed)
    keys = list(CONFIG_CHOICES)
    for i in range(n):
        sweep, member = divmod(i, SWEEP)
        started = START + sweep * SWEEP_GAP + member * 3 + rng.randrange(1000) / 1000
        # A sweep varies lr and seed; the rest of its config is shared by the sweep's runs.
        sweep_rng = random.Random(seed * 1_000_003 + sweep)
        config = {k: CONFIG_CHOICES[k][sweep_rng.randrange(len(CONFIG_CHOICES[k]))] for k in keys}
        config["lr"] = LRS[member % len(LRS)]
        config["seed"] = member // len(LRS) % 5
        failed = i % FAILED_EVERY == FAILED_EVERY - 1
        lr = float(config["lr"])
        quality = 1.0 - abs(lr - 1e-3) * 40 + config["seed"] * 0.001
        summary = {
            "loss": round(max(0.05, 1.2 - quality), 4),
            "val_acc": round(min(0.99, 0.5 + quality * 0.4), 4),
            "grad_norm": round(0.5 + rng.random(), 4),
        }
        yield Spec(
            index=i,
            run_id=make_id(started, rng),
            started=started,
            duration_s=round(60 + rng.random() * 3000, 3),
            status="failed" if failed else "finished",
            exit_code=1 if failed else 0,
            config=config,
            summary=summary,
            host=HOSTS[sweep % len(HOSTS)],
            user=USERS[sweep % len(USERS)],
        )


# --- file contents (templates: PyYAML once per distinct value, not once per run) ---------------


def _dump(value: Any) -> str:
    import yaml

    return str(yaml.safe_dump(value, sort_keys=False, allow_unicode=True))


class _Files:
    """The bytes of each run file, byte for byte what gitcfg's own dump_yaml writes."""

    def __init__(self, code_commit: str, worktree: Path) -> None:
        self.lines: dict[tuple[str, int], str] = {}
        for key, values in CONFIG_CHOICES.items():
            for n, value in enumerate(values):
                self.lines[key, n] = _dump({key: value})
        self.sources = _dump({"config_sources": {k: "script" for k in CONFIG_CHOICES}})
        self.code = _dump(
            {
                "code": {
                    "commit": code_commit,
                    "branch": "main",
                    "dirty": False,
                    "remote_url": None,
                    "worktree": str(worktree),
                }
            }
        )
        self.requirements = b"".join(
            b"package-%03d==1.%d.%d\n" % (n, n % 7, n % 13) for n in range(160)
        )
        self.curve = [
            (s, 1.0 / (1 + s * 0.05) - 1 / (1 + (STEPS - 1) * 0.05)) for s in range(STEPS)
        ]
        noise_rng = random.Random(1)
        self.noise = [noise_rng.random() * 0.01 for _ in range(997)]
        self.rows = "".join(
            f'{{"loss": %.6f, "val_acc": %.6f, "grad_norm": %.6f, "_step": {step}, "_time": %.3f}}\n'
            for step in range(STEPS)
        )

    def config_yaml(self, spec: Spec) -> bytes:
        out = []
        for key, value in spec.config.items():
            out.append(self.lines[key, CONFIG_CHOICES[key].index(value)])
        return "".join(out).encode()

    def run_yaml(self, spec: Spec, final: bool) -> bytes:
        started = store.utc_iso(spec.started)
        ended = store.utc_iso(spec.started + spec.duration_s)
        head = (
            f"id: {spec.run_id}\n"
            f"name: {store.default_run_name(spec.run_id)}\n"
            "group: null\ntags: []\nnotes: null\nproject: null\nentity: null\njob_type: null\n"
        )
        if final:
            state = (
                f"status: {spec.status}\nexit_code: {spec.exit_code}\n"
                f"started_at: '{started}'\nended_at: '{ended}'\nduration_s: {spec.duration_s}\n"
            )
        else:
            state = (
                "status: running\nexit_code: null\n"
                f"started_at: '{started}'\nended_at: null\nduration_s: null\n"
            )
        tail = (
            f"host: {spec.host}\nuser: {spec.user}\npid: {10_000 + spec.index % 50_000}\n"
            "python: 3.11.7\nplatform: Linux-6.8.0-x86_64\nargv:\n- train.py\n"
            "script: /home/ada/project/train.py\ncwd: /home/ada/project\n"
            f"gitcfg_version: 0.1.0\nformat: 1\n{self.code}{self.sources}config_changed: []\n"
        )
        if final and spec.status == "failed":
            tail += (
                "error:\n  type: RuntimeError\n  message: CUDA out of memory\n"
                "  traceback: 'Traceback (most recent call last): RuntimeError: CUDA out of memory'\n"
            )
        return (head + state + tail).encode()

    def summary_yaml(self, spec: Spec) -> bytes:
        return "".join(f"{k}: {v}\n" for k, v in spec.summary.items()).encode()

    def metrics_jsonl(self, spec: Spec) -> bytes:
        """100 rows of 3 metrics, noisy (about as compressible as real ones); the last row's
        values are the summary's."""
        loss, acc, norm = (spec.summary[m] for m in METRICS)
        scale = spec.duration_s / STEPS
        phase = spec.index * 7
        noise = self.noise
        values: list[float] = []
        for step, decay in self.curve:
            jitter = noise[(phase + step) % len(noise)]
            values += (
                loss + decay + jitter,
                acc * (1 - decay * 0.5) - jitter,
                norm + decay * 0.3 + jitter * 3,
                (step + 1) * scale,
            )
        values[-4:-1] = (loss, acc, norm)
        return (self.rows % tuple(values)).encode()


def check_templates(files: _Files, spec: Spec) -> None:
    """The templates must read back as the spec says (a guard against a template drifting)."""
    import yaml

    assert yaml.safe_load(files.config_yaml(spec)) == spec.config
    meta = yaml.safe_load(files.run_yaml(spec, final=True))
    assert meta["id"] == spec.run_id and meta["status"] == spec.status, meta
    assert _dump(meta) == files.run_yaml(spec, final=True).decode()
    assert yaml.safe_load(files.summary_yaml(spec)) == spec.summary
    last = json.loads(files.metrics_jsonl(spec).splitlines()[-1])
    assert {m: last[m] for m in METRICS} == spec.summary


# --- the fast-import stream --------------------------------------------------------------------


def old_run_dir(run_id: str) -> str:
    """Format 1's run directory: `runs/<last two chars>/<id>`."""
    return f"{store.RUNS_DIR}/{run_id[-2:]}/{run_id}"


def _git(repo: Path, *args: str) -> str:
    # Fixed dates: the code commit (named in every run.yaml) is the same in every build.
    env = {**os.environ, "GIT_AUTHOR_DATE": f"{START - 3600} +0000"}
    env["GIT_COMMITTER_DATE"] = env["GIT_AUTHOR_DATE"]
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True, env=env
    ).stdout.strip()


def make_repo(repo: Path) -> str:
    """A git repository at `repo` with one commit of train.py (made unless it exists); its HEAD."""
    if not (repo / ".git").exists():
        repo.mkdir(parents=True, exist_ok=True)
        _git(repo, "init", "-q", "-b", "main")
        (repo / CODE_FILE).write_text("import gitcfg\n")
        _git(repo, "add", CODE_FILE)
        _git(
            repo,
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@example.com",
            "commit",
            "-qm",
            "code",
        )
    return _git(repo, "rev-parse", "HEAD")


class _Stream:
    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.commits = 0

    def commit(self, message: str, when: float) -> None:
        msg = message.encode()
        who = b"%s %d +0000" % (IDENTITY, int(when))
        self.out.write(
            b"commit %s\nauthor %s\ncommitter %s\ndata %d\n%s\n"
            % (REF.encode(), who, who, len(msg), msg)
        )
        self.commits += 1

    def file(self, path: str, data: bytes) -> None:
        self.out.write(b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(data), data))

    def file_ref(self, path: str, mark: bytes) -> None:
        self.out.write(b"M 100644 %s %s\n" % (mark, path.encode()))


def write_stream(
    out: IO[bytes],
    n: int,
    code_commit: str,
    *,
    one_commit: bool = False,
    old_layout: bool = False,
    seed: int = 0,
) -> int:
    """Write the fast-import stream of a new runs branch of `n` runs to `out`; return its commits."""
    run_dir = old_run_dir if old_layout else store.run_dir
    version = OLD_FORMAT if old_layout else store.FORMAT_VERSION
    files = _Files(code_commit, Path("/home/ada/project"))
    stream = _Stream(out)
    out.write(b"blob\nmark :1\ndata %d\n%s\n" % (len(files.requirements), files.requirements))
    stream.commit("gitcfg: start the runs branch\n", START - 60)
    stream.file("README.md", store.BRANCH_README.encode())
    stream.file("FORMAT", f"{version}\n".encode())
    if one_commit:
        stream.commit(f"scale_build: {n} runs\n", START)
    for spec in runs(n, seed):
        if spec.index in (0, FAILED_EVERY - 1):  # a finished run and a failed one
            check_templates(files, spec)
        base = run_dir(spec.run_id)
        if not one_commit:
            message = store.run_event_message(spec.run_id, "started", code_commit)
            stream.commit(message, spec.started)
            stream.file(f"{base}/config.yaml", files.config_yaml(spec))
            stream.file(f"{base}/run.yaml", files.run_yaml(spec, final=False))
            event = f"{spec.status} (exit {spec.exit_code})"
            message = store.run_event_message(spec.run_id, event, code_commit)
            stream.commit(message, spec.started + spec.duration_s)
        else:
            stream.file(f"{base}/config.yaml", files.config_yaml(spec))
        stream.file(f"{base}/run.yaml", files.run_yaml(spec, final=True))
        stream.file(f"{base}/summary.yaml", files.summary_yaml(spec))
        stream.file(f"{base}/metrics.jsonl", files.metrics_jsonl(spec))
        stream.file_ref(f"{base}/requirements.txt", b":1")
    out.write(b"done\n")
    return stream.commits


def build(
    repo: Path,
    n: int,
    *,
    one_commit: bool = False,
    old_layout: bool = False,
    seed: int = 0,
) -> Built:
    """Put `n` runs (see `runs`) on REPO's runs branch (made if missing; the branch must not be)."""
    repo = Path(repo).resolve()
    code_commit = make_repo(repo)
    exists = subprocess.run(
        ["git", "rev-parse", "-q", "--verify", REF], cwd=repo, capture_output=True
    )
    if exists.returncode == 0:
        raise SystemExit(f"{repo} already has {BRANCH}: build into a new repository")
    started = time.perf_counter()
    proc = subprocess.Popen(
        ["git", "fast-import", "--quiet", "--done"], cwd=repo, stdin=subprocess.PIPE
    )
    assert proc.stdin is not None
    with proc.stdin as out:
        commits = write_stream(
            out, n, code_commit, one_commit=one_commit, old_layout=old_layout, seed=seed
        )
    if proc.wait() != 0:
        raise SystemExit(f"git fast-import failed ({proc.returncode})")
    return Built(
        repo=repo,
        runs=n,
        commits=commits,
        seconds=time.perf_counter() - started,
        layout="old" if old_layout else "current",
        tip=_git(repo, "rev-parse", REF),
    )


def cached_build(
    cache_dir: Path, n: int, *, one_commit: bool = False, old_layout: bool = False, seed: int = 0
) -> Path:
    """The repository `build` makes with these arguments, built once under `cache_dir` and reused.

    Named for the arguments and the format (a layout change makes a new one). Built under a
    temporary name and renamed when complete, so an interrupted build is never reused. Treat it
    as read-only: write into a `scratch_copy` of it.
    """
    version = OLD_FORMAT if old_layout else store.FORMAT_VERSION
    name = f"runs-{n}-{'one' if one_commit else 'two'}-f{version}-s{seed}"
    final = Path(cache_dir).resolve() / name
    if not (final / ".git").exists():
        partial = final.with_name(name + f".partial-{os.getpid()}")
        if partial.exists():
            import shutil

            shutil.rmtree(partial)
        build(partial, n, one_commit=one_commit, old_layout=old_layout, seed=seed)
        partial.rename(final)
    return final


def scratch_copy(source: Path, dest: Path) -> Path:
    """A writable repository at `dest` sharing `source`'s objects (git alternates: no copy), with
    its code branch checked out and its runs branch; commits made in it stay in it."""
    dest = Path(dest).resolve()
    source = Path(source).resolve()
    _git(dest.parent if dest.parent.exists() else Path("/"), "init", "-q", "-b", "main", str(dest))
    alternates = dest / ".git" / "objects" / "info" / "alternates"
    alternates.write_text(f"{source / '.git' / 'objects'}\n")
    for ref in ("refs/heads/main", REF):
        _git(dest, "update-ref", ref, _git(source, "rev-parse", ref))
    _git(dest, "reset", "-q", "--hard", "main")
    return dest


def pack_bytes(repo: Path) -> int:
    pack = Path(_git(repo, "rev-parse", "--git-common-dir"))
    pack = pack if pack.is_absolute() else repo / pack
    return sum(p.stat().st_size for p in (pack / "objects" / "pack").glob("*.pack"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Build a runs branch of N realistic runs (see the module docstring)."
    )
    parser.add_argument("repo", type=Path)
    parser.add_argument("n", type=int)
    parser.add_argument("--one-commit", action="store_true", help="all runs in one commit")
    parser.add_argument(
        "--old-layout", action="store_true", help="format 1's runs/<id[-2:]>/<id>/ layout"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    built = build(
        args.repo, args.n, one_commit=args.one_commit, old_layout=args.old_layout, seed=args.seed
    )
    print(
        f"{built.repo}: {built.runs} runs, {built.commits} commits, {built.layout} layout, "
        f"{built.seconds:.1f} s, pack {pack_bytes(built.repo) / 2**20:.1f} MiB, tip {built.tip[:12]}",
        file=sys.stderr if os.environ.get("SCALE_BUILD_QUIET") else sys.stdout,
    )


if __name__ == "__main__":
    main()
