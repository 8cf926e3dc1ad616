"""A table of bad inputs: each is a one-line error, bounded in time and memory, and changes nothing.

Every case is a real process (`gitcfg ...` or `python script.py`, stdin empty) under a 2 GB
address-space limit. It must exit non-zero with exactly one error line naming the problem
(`gitcfg: error: ...`, or click's `Error: ...` for a usage error), print no traceback, and leave
the runs branch tip and the worktree (conftest.snapshot) as they were.

"Bounded in time and memory" is checked without a clock that load can break (house rule: no
wall-clock bounds on a shared machine). What bounds a case's work is the input-size check that
refuses it before any expansion: the error line must name that check (nesting depth, 4,300
digits, alias expansion...), and the process's peak resident memory (ru_maxrss read with wait4
by a small launcher: its own or a git child's, the larger) must stay under PEAK_RSS_BYTES (measured: <= 50 MiB for
every case), deterministic for a given input where a time is not: an expansion that the checks
let through shows in memory whatever the load.
The 2 GB RLIMIT_AS turns a runaway allocation into a failure instead of swapping. The only clock
is HANG_GUARD_S, a generous hang guard ("never hangs": a case killed there fails); the issue's
"<= 5 s" is the typical case (the 78 cases take 15-30 s in all here), not something asserted here.

Cases come in four kinds: CLI options and arguments; config files (`--configs`,
config-defaults.yaml); config values passed to track(); runs pulled from a remote whose runs
branch was written with git plumbing (not gitcfg).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pytest
from conftest import ROOT, run_id_of, snapshot
from runs_branch import run_id as make_run_id

from gitcfg.store import run_dir

# Wall clock: a case still running after a minute hangs (load alone never takes it that long).
HANG_GUARD_S = 60.0
MEMORY_BYTES = 2 << 30  # RLIMIT_AS of each case's process
PEAK_RSS_BYTES = 256 << 20  # each case's peak resident memory (measured: 30-50 MiB)
DIGITS = "9" * 5000
BOMB = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]"
            for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
        ),
    ]
)
DEEP_YAML = "a: " + "[" * 10_000 + "]" * 10_000 + "\n"


@dataclass(frozen=True)
class Case:
    name: str
    argv: tuple[str, ...]  # `gitcfg` args, or ("python", script, args...)
    expect: str  # a fragment the error line holds (case-insensitive): the problem, named


# --- the world the cases run in: a repo with recorded runs, and hostile runs pulled into it ---


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GITCFG_"))}
    for key in ("RANK", "LOCAL_RANK", "NODE_RANK", "GROUP_RANK", "SLURM_PROCID"):
        env.pop(key, None)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        GIT_CONFIG_NOSYSTEM="1",
        GITCFG_SILENT="1",
        PYTHONDONTWRITEBYTECODE="1",
        COLUMNS="120",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    return env


def _git(cwd: Path, env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env=env, input=stdin, capture_output=True, text=True
    )
    assert proc.returncode == 0, (args, proc.stderr)
    return proc.stdout.strip()


TRAIN = """\
import sys
import gitcfg

run = gitcfg.track(config={"lr": 0.1, "seed": 1})
run.log({"val_acc": 0.5})
run.finish()
"""

# Scripts whose config values are bad: each must end in the one line track() prints.
VALUE_SCRIPTS = {
    "recursive-dict": ("c = {}\nc['a'] = c\ngitcfg.track(config=c)", "deeper than 64 levels"),
    "recursive-list": ("c = []\nc.append(c)\ngitcfg.track(config={'x': c})", "deeper than 64"),
    "deep-dict": (
        "d = cur = {}\nfor _ in range(100_000):\n    cur['k'] = {}\n    cur = cur['k']\n"
        "gitcfg.track(config=d)",
        "deeper than 64 levels",
    ),
    "deep-list": (
        "d = cur = []\nfor _ in range(100_000):\n    cur.append([])\n    cur = cur[0]\n"
        "gitcfg.track(config={'x': d})",
        "deeper than 64 levels",
    ),
    "huge-int": ("gitcfg.track(config={'x': 10**5000})", "more than 4300 digits"),
    "huge-int-in-list": ("gitcfg.track(config={'x': [1, 10**5000]})", "more than 4300 digits"),
    "int-key": ("gitcfg.track(config={1: 2})", "keys must be strings"),
    "empty-key": ("gitcfg.track(config={'': 2})", "keys must be non-empty"),
    "object-value": ("gitcfg.track(config={'x': object()})", "no faithful YAML form"),
    "surrogate": ("gitcfg.track(config={'x': 'a\\udc80'})", "surrogates"),
    "surrogate-key": ("gitcfg.track(config={'a\\udc80': 1})", "surrogates"),
    "lambda-value": ("gitcfg.track(config={'f': lambda: 1})", "no faithful YAML form"),
}

# Config files, given as --configs FILE and (the first few) as config-defaults.yaml.
CONFIG_FILES = {
    "digits.yaml": ("x: " + DIGITS + "\n", "over Python's limit of 4,300 digits"),
    "bomb.yaml": (BOMB, "aliases expand"),
    "deep.yaml": (DEEP_YAML, "deeper than 100"),
    "duplicate.yaml": ("lr: 1\nseed: 2\nlr: 3\n", "duplicate key 'lr'"),
    "list.yaml": ("- 1\n- 2\n", "must be a mapping"),
    "syntax.yaml": ("a: [1, 2\nb: 3\n", "invalid YAML"),
    "binary.yaml": ("\udcff\udcfe", "cannot read config file"),
    "recursive.yaml": ("a: &x [1, *x]\n", "recursive"),
}
DEFAULTS_CASES = ("digits.yaml", "bomb.yaml", "deep.yaml", "duplicate.yaml", "list.yaml")

# Hostile runs pushed by someone else: (file replaced in a copy of a real run, its text).
PULLED = {
    "bomb": ("config.yaml", BOMB, "config.yaml cannot be read"),
    "digits": ("config.yaml", "x: " + DIGITS + "\n", "config.yaml cannot be read"),
    "deep": ("config.yaml", DEEP_YAML, "config.yaml cannot be read"),
    "duplicate": ("summary.yaml", "a: 1\na: 2\n", "summary.yaml cannot be read"),
    "not-mapping": ("config.yaml", "- 1\n- 2\n", "config.yaml cannot be read"),
    "syntax": ("summary.yaml", "a: [1\n", "summary.yaml cannot be read"),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    base = tmp_path_factory.mktemp("corpus")
    home = base / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test User\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n"
    )
    env = _env(home)
    bare, theirs, mine = base / "remote.git", base / "theirs", base / "mine"
    _git(base, env, "init", "-q", "--bare", str(bare))
    _git(base, env, "init", "-q", str(theirs))
    (theirs / "train.py").write_text(TRAIN)
    _git(theirs, env, "add", "train.py")
    _git(theirs, env, "commit", "-q", "-m", "train")
    _git(theirs, env, "remote", "add", "origin", str(bare))
    _git(theirs, env, "push", "-q", "origin", "HEAD:refs/heads/main")
    python = [sys.executable, "train.py"]
    subprocess.run(python, cwd=theirs, env=env, check=True, capture_output=True, timeout=120)
    good = _only_run_id(theirs, env)
    pulled_ids = _plant_hostile_runs(theirs, env, good)
    _git(theirs, env, "push", "-q", "origin", "gitcfg-runs")

    _git(base, env, "clone", "-q", str(bare), str(mine))
    for _ in range(2):
        subprocess.run(python, cwd=mine, env=env, check=True, capture_output=True, timeout=120)
    pull = subprocess.run(
        [sys.executable, "-m", "gitcfg", "pull"],
        cwd=mine,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert pull.returncode == 0, pull.stderr
    inputs = base / "inputs"
    inputs.mkdir()
    for name, (text, _) in CONFIG_FILES.items():
        (inputs / name).write_bytes(text.encode(errors="surrogateescape"))
    for name, (body, _) in VALUE_SCRIPTS.items():
        (inputs / f"{name}.py").write_text(f"import gitcfg\n{body}\n")
    (inputs / "plain.py").write_text("import gitcfg\ngitcfg.track(config={'lr': 0.1})\n")
    for name in DEFAULTS_CASES:  # a script beside each config-defaults.yaml
        folder = inputs / f"defaults-{name}"
        folder.mkdir()
        (folder / "config-defaults.yaml").write_bytes((inputs / name).read_bytes())
        (folder / "train.py").write_text("import gitcfg\ngitcfg.track(config={'lr': 0.1})\n")
    log = subprocess.run(
        [sys.executable, "-m", "gitcfg", "log", "-f", "json"],
        cwd=mine,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    import json

    ids = [row["id"] for row in json.loads(log.stdout)]
    mine_ids = [run_id for run_id in ids if run_id not in pulled_ids.values()]
    return {"env": env, "repo": mine, "inputs": inputs, "pulled": pulled_ids, "runs": mine_ids}


def _only_run_id(repo: Path, env: dict[str, str]) -> str:
    names = _git(repo, env, "ls-tree", "-r", "--name-only", "gitcfg-runs", "runs/").splitlines()
    [run_id] = {run_id_of(name) for name in names}
    return run_id


def _plant_hostile_runs(repo: Path, env: dict[str, str], good: str) -> dict[str, str]:
    """Copies of run `good`, each with one file replaced, committed with plumbing."""
    plumbing_env = {**env, "GIT_INDEX_FILE": str(repo / ".git" / "plant-index")}
    _git(repo, plumbing_env, "read-tree", "gitcfg-runs")
    files = _git(repo, env, "ls-tree", "--name-only", f"gitcfg-runs:{run_dir(good)}")
    ids: dict[str, str] = {}
    for number, (case, (replaced, text, _)) in enumerate(PULLED.items()):
        new_id = make_run_id(300_000_000 + number)
        ids[case] = new_id
        for name in files.splitlines():
            content = _git(repo, env, "cat-file", "-p", f"gitcfg-runs:{run_dir(good)}/{name}")
            content = text if name == replaced else content.replace(good, new_id) + "\n"
            blob = _git(repo, env, "hash-object", "-w", "--stdin", stdin=content)
            path = f"{run_dir(new_id)}/{name}"
            _git(
                repo, plumbing_env, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}"
            )
    tree = _git(repo, plumbing_env, "write-tree")
    commit = _git(repo, env, "commit-tree", "-p", "gitcfg-runs", "-m", "hostile runs", tree)
    _git(repo, env, "update-ref", "refs/heads/gitcfg-runs", commit)
    return ids


# --- the cases ---------------------------------------------------------------------------------

N30 = "1" + "0" * 29
CLI_CASES = [
    Case("where-10k-parens", ("log", "--where", "(" * 10_000 + "lr == 1" + ")" * 10_000), "nested"),
    Case("where-10k-nots", ("log", "--where", "not " * 10_000 + "lr == 1"), "nested"),
    Case("where-syntax", ("log", "--where", "lr <"), "cannot parse filter"),
    Case("where-list-of-lists", ("log", "--where", "lr in [[1]]"), "not a list"),
    Case("where-unclosed-quote", ("log", "--where", 'name == "abc'), "cannot parse filter"),
    Case("where-ansi-key", ("log", "--where", "\x1b[2J =="), "cannot parse filter"),
    Case("limit-30-digits", ("log", "--limit", N30), "--limit"),
    Case("limit-negative-30-digits", ("log", "--limit", "-" + N30), "--limit"),
    Case("plot-limit-30-digits", ("plot", "val_acc", "--limit", N30), "--limit"),
    Case("plot-height-100000", ("plot", "val_acc", "--height", "100000"), "--height"),
    Case("plot-unknown-metric", ("plot", "no_such_metric"), "no_such_metric"),
    Case("format-xml", ("log", "--format", "xml"), "xml"),
    Case("show-format-xml", ("show", "{run}", "--format", "xml"), "xml"),
    Case("history-format-xml", ("history", "{run}", "--format", "xml"), "xml"),
    Case("sort-unknown-key", ("log", "--sort", "no_such_key"), "no_such_key"),
    Case("group-by-unknown-key", ("log", "--group-by", "no_such_key"), "no_such_key"),
    Case("columns-unknown-key", ("log", "--columns", "no_such_key"), "no_such_key"),
    Case("agg-without-group", ("log", "--agg", "mean"), "--agg"),
    Case("agg-unknown", ("log", "--group-by", "lr", "--agg", "bogus"), "bogus"),
    Case("status-unknown", ("log", "--status", "zzz"), "unknown status"),
    Case("range-unknown", ("log", "nosuchbranch..main"), "nosuchbranch"),
    Case("show-unknown-run", ("show", "zzzzzzzz"), "zzzzzzzz"),
    Case("show-ansi-run", ("show", "\x1b]52;c;aGk=\x07"), "\\x1b"),
    Case("show-follow-config", ("show", "{run}", "--follow", "--config"), "--follow"),
    Case("show-missing-file", ("show", "{run}", "--file", "nope.txt"), "nope.txt"),
    Case("show-at-unknown-rev", ("show", "{run}", "--at", "no-such-rev"), "no-such-rev"),
    Case("diff-unknown-run", ("diff", "{run}", "zzzzzzzz"), "zzzzzzzz"),
    Case("history-unknown-run", ("history", "zzzzzzzz"), "zzzzzzzz"),
    Case("amend-nothing", ("amend", "{run}"), "nothing to amend"),
    Case("amend-no-equals", ("amend", "{run}", "--set", "lr"), "lr"),
    Case("amend-flow-digits", ("amend", "{run}", "--set", f"x=[{DIGITS}]"), "4,300 digits"),
    Case("amend-flow-bomb", ("amend", "{run}", "--set", "x=" + "[" * 200 + "]" * 200), "deeper"),
    Case("amend-unknown-run", ("amend", "zzzzzzzz", "--set", "x=1"), "zzzzzzzz"),
    Case("amend-where-unknown-key", ("amend", "--where", "zz == 1", "--set", "x=1"), "zz"),
    Case("rm-unknown-run", ("rm", "zzzzzzzz"), "zzzzzzzz"),
    Case("restore-unknown-run", ("restore", "zzzzzzzz"), "zzzzzzzz"),
    Case("checkout-unknown-run", ("checkout", "zzzzzzzz"), "zzzzzzzz"),
    Case("pull-unknown-remote", ("pull", "nowhere"), "nowhere"),
    Case("push-unknown-remote", ("push", "nowhere"), "nowhere"),
    Case("demo-file-path", ("demo", "{file}"), "is a file"),
]
FILE_CASES = [
    Case(f"configs-{name}", ("python", "plain.py", "--configs", name), expect)
    for name, (_, expect) in CONFIG_FILES.items()
] + [
    Case("configs-missing", ("python", "plain.py", "--configs", "missing.yaml"), "does not exist"),
    *(
        Case(f"defaults-{name}", ("python", f"defaults-{name}/train.py"), CONFIG_FILES[name][1])
        for name in DEFAULTS_CASES
    ),
]
VALUE_CASES = [
    Case(f"value-{name}", ("python", f"{name}.py"), expect)
    for name, (_, expect) in VALUE_SCRIPTS.items()
]
PULLED_CASES = [
    Case(f"pulled-{name}-{command}", (command, "{pulled:" + name + "}"), expect)
    for name, (_, _, expect) in PULLED.items()
    for command in ("show", "checkout")
]
CASES = CLI_CASES + FILE_CASES + VALUE_CASES + PULLED_CASES


def test_the_corpus_has_at_least_60_cases_of_every_kind() -> None:
    assert len(CASES) >= 60 and len({case.name for case in CASES}) == len(CASES)
    assert all(len(kind) >= 5 for kind in (CLI_CASES, FILE_CASES, VALUE_CASES, PULLED_CASES))


# Each case runs as the child of this small launcher, not of pytest: on Linux a process's
# ru_maxrss starts from the resident memory of the process that forked it (kept across exec), and
# pytest's own grows past PEAK_RSS_BYTES over the whole suite. Started here, a case's peak is its
# own (or the launcher's, ~10 MiB). argv: the address-space limit, the report file, the case.
LAUNCHER = """
import os, resource, subprocess, sys
resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[1]), int(sys.argv[1])))
case = subprocess.Popen(sys.argv[3:])
_, status, usage = os.wait4(case.pid, 0)
with open(sys.argv[2], "w") as report:
    report.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


class Outcome(NamedTuple):
    returncode: int
    stdout: bytes
    stderr: bytes
    peak_rss: int  # bytes: the largest resident set of the case or a child it waited for (git)


def _run_bounded(argv: list[str], cwd: Path, env: dict[str, str]) -> Outcome:
    """Run `argv` under the memory limit; the process group is killed after HANG_GUARD_S."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report"
        out, err = Path(scratch) / "out", Path(scratch) / "err"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            launcher = subprocess.Popen(
                [sys.executable, "-c", LAUNCHER, str(MEMORY_BYTES), str(report), *argv],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,  # its own process group, to kill the case and git with it
            )
            try:
                launcher.wait(timeout=HANG_GUARD_S)
            except subprocess.TimeoutExpired:
                os.killpg(launcher.pid, signal.SIGKILL)
                launcher.wait()
                raise AssertionError(f"still running after {HANG_GUARD_S:.0f} s: a hang") from None
        assert report.exists(), err.read_bytes()  # the launcher itself failed
        code, kib = report.read_text().split()
        return Outcome(int(code), out.read_bytes(), err.read_bytes(), int(kib) * 1024)


def _argv(case: Case, world: dict[str, object]) -> list[str]:
    inputs = world["inputs"]
    assert isinstance(inputs, Path)
    pulled = world["pulled"]
    assert isinstance(pulled, dict)
    runs = world["runs"]
    assert isinstance(runs, list)
    out = []
    for arg in case.argv:
        if arg == "{run}":
            arg = runs[0]
        elif arg == "{file}":
            arg = str(inputs / "plain.py")
        elif arg.startswith("{pulled:"):
            arg = pulled[arg[len("{pulled:") : -1]]
        out.append(arg)
    if out[0] == "python":
        script, *rest = out[1:]
        return [
            sys.executable,
            str(inputs / script),
            *(str(inputs / r) if r.endswith(".yaml") else r for r in rest),
        ]
    return [sys.executable, "-m", "gitcfg", *out]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_bad_input(world: dict[str, object], case: Case, tmp_path: Path) -> None:
    repo = world["repo"]
    assert isinstance(repo, Path)
    env = world["env"]
    assert isinstance(env, dict)
    argv = _argv(case, world)
    if case.argv[0] == "checkout":
        argv.append(str(tmp_path / "checkout"))
    tip = _git(repo, env, "rev-parse", "gitcfg-runs")
    before = snapshot(repo)
    proc = _run_bounded(argv, repo, env)
    out = proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
    assert "Traceback" not in out, out
    assert proc.returncode != 0, out
    errors = [
        line
        for line in proc.stderr.decode(errors="replace").splitlines()
        if line.startswith(("gitcfg: error: ", "Error: "))
    ]
    assert len(errors) == 1, out
    assert case.expect.lower() in errors[0].lower(), errors[0]
    assert len(errors[0]) < 2000, errors[0][:300]
    assert proc.peak_rss < PEAK_RSS_BYTES, f"peak RSS {proc.peak_rss >> 20} MiB"
    assert _git(repo, env, "rev-parse", "gitcfg-runs") == tip
    assert snapshot(repo) == before
    assert not (tmp_path / "checkout").exists()


def test_the_bounds_see_a_process_that_breaks_them(tmp_path: Path) -> None:
    """The checks above are not blind: a 300 MiB allocation shows in the peak memory measured."""
    big = _run_bounded([sys.executable, "-c", "b = b'x' * (300 << 20)"], tmp_path, dict(os.environ))
    assert big.returncode == 0, big.stderr
    assert big.peak_rss > PEAK_RSS_BYTES
