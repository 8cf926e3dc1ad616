"""What gitcfg's git hooks do: `python -m gitcfg hook-impl NAME --hook-dir DIR -- ARGS...`.

`gitcfg init` installs one small shell template (hooks/hook-tmpl, see install.py) as each of
HOOK_NAMES; it execs the Python that ran `gitcfg init` with the command above, as pre-commit's
`resources/hook-tmpl` runs its `hook-impl`. The decisions are the pure functions below; `run_hook`
chains the user's own hook (kept as NAME.pre-gitcfg) and then shares or brings in the runs branch by
running `gitcfg push` / `gitcfg pull` (best-effort: only the user's own hook can fail a git command).
`__main__` calls `main` before the CLI is imported, so a hook that has nothing to do costs one bare
Python start (no typer).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HOOK_NAMES = ("pre-push", "post-merge", "post-rewrite")
CHAINED_SUFFIX = ".pre-gitcfg"
_READS_STDIN = ("pre-push", "post-rewrite")


@dataclass(slots=True)
class HookResult:
    status: int  # the hook's exit status: the user's own hook's, else 0
    messages: list[str] = field(default_factory=list)  # one line each, for stderr


# --- pure decisions ------------------------------------------------------------------------------


def is_dry_run(git_argv: Sequence[str]) -> bool:
    """Whether a `git ... push ...` command line asks for a dry run (--dry-run, -n, -qn; not `-o n`).

    git (2.39) runs pre-push on `git push --dry-run` too and tells the hook nothing, so the hook reads
    the command line of the git process that runs it.
    """
    words = iter(git_argv)
    if "push" not in words:  # consumes up to and including "push"
        return False
    takes_value = False
    for word in words:
        if takes_value:
            takes_value = False
        elif word == "--":
            return False
        elif word == "--dry-run":
            return True
        elif word.startswith("-") and not word.startswith("--"):
            for i, flag in enumerate(word[1:], 1):
                if flag == "o":  # -o takes a value: the rest of the word, else the next one
                    takes_value = i == len(word) - 1
                    break
                if flag == "n":
                    return True
    return False


def pull_remote(reflog_action: str) -> str | None:
    """The remote a `git pull` names, from the GIT_REFLOG_ACTION it exports to its merge or rebase
    ("pull [options] [remote [refspec]]"): "" for a pull naming none, None when git pull is not
    what runs the hook (a local merge or rebase: fetch nothing)."""
    words = reflog_action.split()
    if not words or words[0] != "pull":
        return None
    return next((word for word in words[1:] if not word.startswith("-")), "")


def pushes_branch(push_input: bytes, branch: str) -> bool:
    """Whether pre-push's input ("<local ref> <sha> <remote ref> <sha>" lines) pushes `branch`."""
    ref = f"refs/heads/{branch}".encode()
    return any(ref in line.split()[0:3:2] for line in push_input.splitlines())


def is_false(value: str | None) -> bool:
    """git's boolean false (`git config --type=bool` prints false); unset or invalid is not."""
    return value is not None and value.strip().lower() in ("false", "no", "off", "0")


# --- the hooks -----------------------------------------------------------------------------------


def run_chained(hook_dir: Path, name: str, args: Sequence[str], stdin: bytes | None) -> int:
    """Run the hook that was here before gitcfg (NAME.pre-gitcfg), if any: its exit status, else 0."""
    from gitcfg import gitio

    chained = hook_dir / (name + CHAINED_SUFFIX)
    if not os.access(chained, os.X_OK) or chained.is_dir():
        return 0
    return gitio.run_program([str(chained), *args], input=stdin)


def run_hook(
    name: str,
    hook_dir: Path,
    args: Sequence[str],
    stdin: bytes | None,
    environ: Mapping[str, str],
) -> HookResult:
    """Hook `name`: the user's own hook first, then gitcfg's part (which never changes the status)."""
    status = run_chained(hook_dir, name, args, stdin)
    result = HookResult(status)
    if name == "pre-push":
        if status == 0 and environ.get("GITCFG_NO_PUSH_HOOK", "0") != "1":
            _share_runs(args, stdin or b"", environ, result.messages)
    elif environ.get("GITCFG_NO_PULL_HOOK", "0") != "1":
        if name == "post-merge" or (args[:1] == ["rebase"]):  # `commit --amend` rewrites too
            _bring_in_runs(environ, result.messages)
    return result


def _share_runs(
    args: Sequence[str], push_input: bytes, environ: Mapping[str, str], messages: list[str]
) -> None:
    """pre-push: `gitcfg push REMOTE` to a named remote unless a rule says no (docs/sharing.md)."""
    from gitcfg import gitio
    from gitcfg.secrets import strip_url_credentials
    from gitcfg.store import Store

    remote, url = (list(args) + ["", ""])[:2]
    if is_dry_run(gitio.process_args(os.getppid())):
        return
    branch = "the runs branch"
    try:
        store = Store.open(".")
        branch = store.runs_branch
        if not store.exists() or pushes_branch(push_input, branch):
            return
        config = store.git_config
        if remote == url or f"remote.{remote.lower()}.url" not in config:
            shown = strip_url_credentials(url)  # no credentials on the terminal either
            messages.append(
                f"gitcfg: not sharing {branch} with {shown}: not a named remote "
                f"(`gitcfg push {shown}` shares it)"
            )
            return
        if is_false(config.get(f"remote.{remote.lower()}.gitcfgpush")):
            return
        if _gitcfg(["push", "--quiet", remote], environ) == 0:
            return
    except Exception:  # noqa: BLE001 - whatever happens to the runs, the user's push goes on
        pass
    messages.append(
        f"gitcfg: could not share {branch} with {remote} (run `gitcfg push {remote}` later); "
        "your push goes on"
    )


def _bring_in_runs(environ: Mapping[str, str], messages: list[str]) -> None:
    """post-merge / post-rewrite after `git pull`: `gitcfg pull` from the remote it named."""
    remote = pull_remote(environ.get("GIT_REFLOG_ACTION", ""))
    if remote is None:
        return
    try:
        if remote:
            from gitcfg.store import Store

            if f"remote.{remote.lower()}.url" not in Store.open(".").git_config:
                remote = ""  # a URL: use the upstream
        if _gitcfg(["pull", "--quiet", *([remote] if remote else [])], environ) == 0:
            return
    except Exception:  # noqa: BLE001 - best-effort: never changes the user's pull
        pass
    command = f"gitcfg pull {remote}".rstrip()
    messages.append(f"gitcfg: could not pull runs (run `{command}` later)")


def _gitcfg(args: list[str], environ: Mapping[str, str]) -> int:
    """Run `gitcfg ARGS` with this Python; stdout to stderr, never a second password prompt."""
    from gitcfg import gitio

    env = {**environ, "GIT_TERMINAL_PROMPT": "0"}
    return gitio.run_program(
        [sys.executable, "-m", "gitcfg", *args], env=env, stdout_to_stderr=True
    )


# --- the command ---------------------------------------------------------------------------------


def main(argv: Sequence[str]) -> int:
    """`gitcfg hook-impl NAME --hook-dir DIR -- ARGS...` (hidden; what the installed hooks run)."""
    name, rest = (argv[0], list(argv[1:])) if argv else ("", [])
    hook_dir = "."
    if rest[:1] == ["--hook-dir"] and len(rest) > 1:
        hook_dir, rest = rest[1], rest[2:]
    if rest[:1] == ["--"]:
        rest = rest[1:]
    if name not in HOOK_NAMES:
        print(
            f"gitcfg: error: unknown hook {name!r} (one of {', '.join(HOOK_NAMES)})",
            file=sys.stderr,
        )
        return 2
    stdin = sys.stdin.buffer.read() if name in _READS_STDIN else None
    result = run_hook(name, Path(hook_dir), rest, stdin, os.environ)
    for line in result.messages:
        print(line, file=sys.stderr)
    return result.status
