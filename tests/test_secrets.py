"""Secrets never leave the machine: capture policy, URL credentials, masking, the pre-push hook.

The end-to-end test plants a token in every place issue 17 lists and greps every object of the
local repository and of the bare remote after a push (`git cat-file --batch-all-objects --batch`).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import git, read_branch_file, run_id_of, run_python, write_script

from gitcfg.secrets import (
    credential_file,
    mask_text,
    mask_url_passwords,
    secret_shape,
    strip_url_credentials,
)
from gitcfg.store import run_dir
from gitcfg.yamlio import load_yaml

GHP = "ghp_" + "Q7" * 18  # a GitHub token shape
HF = "hf_" + "Zx9" * 11
AWS = "AKIA" + "Z7QX" * 4
SK = "sk-proj-" + "Ab3" * 9


# --- pure rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "credential"),
    [
        (".env", True),
        (".env.local", True),
        ("deploy/prod.env", True),
        ("certs/server.pem", True),
        ("tls.key", True),
        ("id_rsa", True),
        ("keys/id_ed25519", True),
        ("id_rsa.pub", False),
        ("credentials.json", True),
        ("secrets.yaml", True),
        ("client_secret_123.json", True),
        ("store.p12", True),
        (".netrc", True),
        (".npmrc", True),
        (".pypirc", True),
        (".git-credentials", True),
        (".aws/credentials", True),
        ("home/.config/gcloud/application_default_credentials.json", True),
        (".azure/accessTokens.json", True),
        ("kubeconfig", True),
        (".docker/config.json", True),
        ("train.py", False),
        ("id_map.py", False),
        ("environment.yml", False),
        ("secretary.py", False),
        ("secret.py", False),  # a script's name: only `secrets*` is a credential store by name
        ("data/tokens.csv", False),
    ],
)
def test_credential_file_names(path: str, credential: bool) -> None:
    assert credential_file(path) is credential


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n", True),
        ("-----BEGIN RSA PRIVATE KEY-----", True),
        (f"aws_access_key_id = {AWS}", True),
        (f"client = OpenAI(api_key='{SK}')", True),
        (f"HF = '{HF}'", True),
        (f"url = 'https://{GHP}@github.com/x'", True),
        ("github_pat_" + "A1" * 20, True),
        ("SLACK=xoxb-123456789012-abcdefghij", True),
        ("password=hunter2", True),
        ("  db_password: 's3cret!'", True),
        ("password = os.environ['DB_PASSWORD']", False),
        ("password=args.password", False),
        ("password = None", False),
        ("password: ${DB_PASSWORD}", False),
        ("tokenizer = AutoTokenizer.from_pretrained('gpt2')", False),
        ("print('use sk- keys')", False),
        ("hf_token = args.hf_token", False),
    ],
)
def test_secret_shapes(text: str, secret: bool) -> None:
    assert secret_shape(text.encode()) is secret


def test_url_credentials() -> None:
    assert strip_url_credentials(f"https://bob:{GHP}@github.com/a/b.git") == (
        "https://github.com/a/b.git"
    )
    assert strip_url_credentials(f"https://{GHP}@github.com/a/b") == "https://github.com/a/b"
    assert strip_url_credentials("git@github.com:a/b.git") == "git@github.com:a/b.git"
    assert mask_url_passwords("postgres://u:pw@db:5432/x") == "postgres://u:***@db:5432/x"
    assert mask_url_passwords(f"https://{GHP}@h/x") == "https://***@h/x"
    assert mask_url_passwords("https://user@h/x") == "https://user@h/x"
    assert mask_text(f"bad key {SK} for hunter22 at s3://a:b@c", ["hunter22"]) == (
        "bad key *** for *** at s3://a:***@c"
    )


# --- capture policy, on real repositories --------------------------------------------------------

RECORD = """
import gitcfg
run = gitcfg.track(config={"lr": 0.1})
print(run.id)
run.finish()
"""


def record(repo: Path, script: str = RECORD, *args: str) -> tuple[str, str]:
    """Run a recording script in `repo`; (the run's id, stderr)."""
    path = write_script(repo.parent / "record_script.py", script)
    proc = run_python(repo, path, *args)
    return proc.stdout.split()[-1] if proc.stdout.split() else "", proc.stderr


def run_file(repo: Path, run_id: str, name: str) -> str:
    return read_branch_file(repo, f"{run_dir(run_id)}/{name}")


def warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("gitcfg: warning: left out")]


def test_credentials_and_secret_shapes_are_left_out_with_one_warning(repo: Path) -> None:
    (repo / ".gitignore").write_text("ignored.txt\n")
    git(repo, "add", ".gitignore")
    git(repo, "commit", "-q", "-m", "ignore")
    planted = {
        ".env": f"GITHUB_TOKEN={GHP}\n",
        "secrets.yaml": "db: hunter2\n",
        "credentials.json": '{"key": "value"}\n',
        "id_rsa": "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n",
        "util.py": f"TOKEN = '{HF}'\n",
        ".aws/credentials": f"[default]\naws_access_key_id = {AWS}\n",
    }
    for name, text in planted.items():
        (repo / name).parent.mkdir(exist_ok=True)
        (repo / name).write_text(text)
    (repo / "ignored.txt").write_text("ignored content\n")
    (repo / "notes.txt").write_text("plain notes\n")
    run_id, stderr = record(repo)
    [warning] = warnings(stderr)
    assert all(name in warning for name in planted), warning
    patch = run_file(repo, run_id, "diff.patch")
    assert "notes.txt" in patch and "plain notes" in patch
    assert "ignored" not in patch
    for name, text in planted.items():
        assert name not in patch and text.strip() not in patch
    code = load_yaml(run_file(repo, run_id, "run.yaml"))["code"]
    assert set(planted) <= set(code["untracked_not_stored"])


def test_a_tracked_change_with_a_secret_is_left_out_too(repo: Path) -> None:
    (repo / "conf.py").write_text("LR = 0.1\n")
    git(repo, "add", "conf.py")
    git(repo, "commit", "-q", "-m", "conf")
    (repo / "conf.py").write_text(f"LR = 0.1\nKEY = '{SK}'\n")
    (repo / "README.md").write_text("# changed\n")
    run_id, stderr = record(repo)
    [warning] = warnings(stderr)
    assert "conf.py" in warning
    patch = run_file(repo, run_id, "diff.patch")
    assert "README.md" in patch and "conf.py" not in patch and SK not in patch


def test_untracked_limits_and_the_switch(repo: Path) -> None:
    git(repo, "config", "gitcfg.untrackedFileLimit", "1k")
    git(repo, "config", "gitcfg.untrackedTotalLimit", "3k")
    (repo / "big.csv").write_text("x\n" * 1000)  # 2000 bytes: over the per-file limit
    for i in range(5):
        (repo / f"part{i}.csv").write_text("y\n" * 400)  # 800 bytes each: three fit in 3 KiB
    run_id, stderr = record(repo)
    [warning] = warnings(stderr)
    assert "untracked-file limits" in warning and "1,024 bytes a file" in warning
    assert "big.csv" in warning and "part3.csv" in warning and "part4.csv" in warning
    patch = run_file(repo, run_id, "diff.patch")
    assert [n for n in ("part0", "part1", "part2", "part3", "big") if n in patch] == [
        "part0",
        "part1",
        "part2",
    ]

    git(repo, "config", "gitcfg.captureUntracked", "false")
    run_id, stderr = record(repo)
    assert warnings(stderr) == []
    files = git(repo, "ls-tree", "-r", "--name-only", "gitcfg-runs", f"{run_dir(run_id)}")
    assert "diff.patch" not in files  # nothing else changed: no patch at all
    code = load_yaml(run_file(repo, run_id, "run.yaml"))["code"]
    assert code["dirty"] is True and "part0.csv" in code["untracked_not_stored"]

    git(repo, "config", "gitcfg.untrackedFileLimit", "lots")
    _, stderr = record(repo)
    assert "git config gitcfg.untrackedFileLimit is 'lots'" in stderr


# --- every place at once, through a push ---------------------------------------------------------

FAILING = """
import sys, gitcfg
run = gitcfg.track(config={
    "lr": 0.1,
    "db_url": "postgres://trainer:PGPASS_4471@db.internal/exp",
    "hub_auth": "AUTHVALUE_9931",
    "passphrase": "PASSPHRASE_5521",
    "cookie": "COOKIE_6613",
})
run.log({"loss": 1.0})
raise RuntimeError(
    f"login failed for {run.config.hub_auth} via {run.config.db_url} "
    f"with {sys.argv[2]} and {__import__('os').environ['PLANTED_SK']}"
)
"""
PLANTED = [
    GHP,
    HF,
    AWS,
    SK,
    "ENVSECRET_1234",
    "YAMLSECRET_2345",
    "JSONSECRET_3456",
    "KEYMATERIAL_4567",
    "REMOTETOKEN_5678",
    "PGPASS_4471",
    "AUTHVALUE_9931",
    "PASSPHRASE_5521",
    "COOKIE_6613",
    "ARGVSECRET_7789",
]


def all_objects(repo: Path) -> bytes:
    return subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch"],
        cwd=repo,
        capture_output=True,
        check=True,
    ).stdout


def test_planted_tokens_reach_no_object_here_or_on_the_remote(
    cli, repo: Path, tmp_path: Path, gitcfg_on_path: None
) -> None:
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    assert cli(repo, "init").exit_code == 0
    (repo / ".env").write_text("API_KEY=ENVSECRET_1234\n")
    (repo / "secrets.yaml").write_text("token: YAMLSECRET_2345\n")
    (repo / "credentials.json").write_text('{"secret": "JSONSECRET_3456"}\n')
    (repo / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nKEYMATERIAL_4567\n")
    (repo / "helpers.py").write_text(f"GH = '{GHP}'\nHF = '{HF}'\nAWS = '{AWS}'\n")
    (repo / "notes.txt").write_text("kept\n")
    # a remote URL with credentials, as some CI systems write them
    git(repo, "config", "remote.origin.url", f"https://ci:REMOTETOKEN_5678@{bare}")
    script = write_script(tmp_path / "train.py", FAILING)
    proc = run_python(repo, script, "--password", "ARGVSECRET_7789", env={"PLANTED_SK": SK})
    assert proc.returncode == 1 and "login failed" in proc.stderr
    git(repo, "config", "remote.origin.url", str(bare))

    [run_id] = [
        run_id_of(p)
        for p in git(repo, "ls-tree", "-r", "--name-only", "gitcfg-runs").split()
        if p.endswith("run.yaml")
    ]
    meta = load_yaml(run_file(repo, run_id, "run.yaml"))
    assert meta["status"] == "failed"
    assert meta["error"]["message"].startswith("login failed for *** via postgres://trainer:***@")
    assert meta["code"]["remote_url"] == f"https://{bare}"
    assert "notes.txt" in run_file(repo, run_id, "diff.patch")

    push = subprocess.run(
        ["git", "push", "-q", "origin", "HEAD:refs/heads/main"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert push.returncode == 0, push.stderr
    assert git(bare, "rev-parse", "gitcfg-runs") == git(repo, "rev-parse", "gitcfg-runs")
    for where in (repo, bare):
        objects = all_objects(where)
        leaked = [token for token in PLANTED if token.encode() in objects]
        assert leaked == [], where


# --- the pre-push hook ---------------------------------------------------------------------------


@pytest.fixture
def pushing(cli, repo: Path, tmp_path: Path, gitcfg_on_path: None) -> tuple[Path, Path]:
    """A repo with gitcfg's hooks, one run, and a named bare remote `origin`."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    assert cli(repo, "init").exit_code == 0
    assert record(repo)[0]
    return repo, bare


def push(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["git", "push", *args], cwd=repo, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc


def remote_runs(bare: Path) -> str:
    return git(bare, "for-each-ref", "--format=%(refname)", "refs/heads/gitcfg-runs")


@pytest.mark.parametrize("flag", ["--dry-run", "-n", "-qn"])
def test_dry_run_delivers_nothing(pushing: tuple[Path, Path], flag: str) -> None:
    repo, bare = pushing
    push(repo, flag, "origin", "HEAD:refs/heads/main")
    assert remote_runs(bare) == ""
    git(bare, "config", "receive.advertisePushOptions", "true")
    push(repo, "-o", "n", "origin", "HEAD:refs/heads/main")  # `-o n` is a push option, not -n
    assert remote_runs(bare) == "refs/heads/gitcfg-runs"


def test_a_url_on_the_command_line_gets_nothing(pushing: tuple[Path, Path], tmp_path: Path) -> None:
    repo, bare = pushing
    fork = tmp_path / "fork.git"
    git(tmp_path, "init", "-q", "--bare", str(fork))
    proc = push(repo, str(fork), "HEAD:refs/heads/main")
    lines = [line for line in proc.stderr.splitlines() if line.startswith("gitcfg:")]
    assert lines == [
        f"gitcfg: not sharing gitcfg-runs with {fork}: not a named remote "
        f"(`gitcfg push {fork}` shares it)"
    ]
    assert remote_runs(fork) == "" and git(fork, "rev-parse", "main")


def test_delivery_can_be_turned_off_per_remote(pushing: tuple[Path, Path]) -> None:
    repo, bare = pushing
    git(repo, "config", "remote.origin.gitcfgPush", "false")
    push(repo, "origin", "HEAD:refs/heads/main")
    assert remote_runs(bare) == ""
    git(repo, "config", "remote.origin.gitcfgPush", "true")
    push(repo, "origin", "HEAD:refs/heads/main")
    assert remote_runs(bare) == "refs/heads/gitcfg-runs"
