"""One exception hierarchy: every message is one sentence a user can act on."""

from __future__ import annotations

from collections.abc import Sequence


class GitcfgError(Exception):
    """Root of every error gitcfg raises on purpose; the CLI prints it as one line and exits 1."""


class NotARepo(GitcfgError):
    def __init__(self, path: object) -> None:
        self.path = path
        super().__init__(
            f"{path} is not inside a git repository; run `git init` there first "
            "(then `gitcfg init`), or cd into your project"
        )


class UnsafeRepository(NotARepo):
    """git refuses a repository owned by someone else (safe.directory, git 2.35.2+)."""

    def __init__(self, path: object) -> None:
        self.path = path
        GitcfgError.__init__(
            self,
            f"git refuses the repository at {path}: it is owned by another user (safe.directory); "
            f"if you trust it, run `git config --global --add safe.directory <its top directory>`",
        )


class GitError(GitcfgError):
    """A git command failed; keeps argv, exit code and stderr."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str) -> None:
        self.argv, self.returncode, self.stderr = list(argv), returncode, stderr
        super().__init__(f"`git {' '.join(argv[:3])}` failed (exit {returncode}): {self.detail}")

    @property
    def detail(self) -> str:
        """The useful line of git's stderr: the first `fatal:`/`error:` line, else the last line."""
        lines = [line.strip() for line in self.stderr.splitlines() if line.strip()]
        failures = [line for line in lines if line.startswith(("fatal:", "error:"))]
        if failures:
            return failures[0].removeprefix("fatal: ")
        return lines[-1] if lines else "no message from git"


class StateNotWritable(GitcfgError):
    """gitcfg's state directory (`.git/gitcfg`) or a file in it cannot be created or opened."""

    def __init__(self, path: object, reason: str) -> None:
        self.path, self.reason = path, reason
        super().__init__(f"cannot write {path}: {reason}; check its permissions")


class RunsBranchMoved(GitcfgError):
    """Another writer moved the runs branch between our read and our swap; rebuild and retry."""

    def __init__(self, runs_ref: str) -> None:
        self.runs_ref = runs_ref
        super().__init__(f"{runs_ref} moved while writing; retry")


class RunNotFound(GitcfgError):
    def __init__(self, run_id_prefix: str) -> None:
        self.run_id_prefix = run_id_prefix
        super().__init__(f"no run matches {run_id_prefix!r}; `gitcfg log` lists the runs")


class AmbiguousRun(GitcfgError):
    def __init__(self, run_id_prefix: str, matches: Sequence[str]) -> None:
        self.run_id_prefix, self.matches = run_id_prefix, list(matches)
        shown = ", ".join(matches[:5]) + (", ..." if len(matches) > 5 else "")
        super().__init__(
            f"{run_id_prefix!r} matches {len(matches)} runs ({shown}); type more of the id"
        )


class ConfigError(GitcfgError):
    """A config source or value is invalid; raised before anything is written."""


class YamlLimitExceeded(GitcfgError):
    """A YAML document over gitcfg's bounds (size, nesting, alias expansion) or with a duplicate key.

    The message says where in the document; the caller adds which file or run it was.
    """

    def __init__(self, problem: str, line: int | None = None) -> None:
        self.problem, self.line = problem, line
        super().__init__(f"line {line}: {problem}" if line else problem)


class ConfigValueChanged(ConfigError):
    def __init__(
        self, key: str, old: object, new: object, *, hide_values: bool = False, hint: str = ""
    ) -> None:
        # hide_values: the key looks like a secret, so the message must not print its values.
        # hint: how this change came about, when that is not obvious (an in-place list edit).
        self.key, self.old, self.new, self.hide_values = key, old, new, hide_values
        change = (
            "already has a value (not shown: the key looks secret); refusing to change it"
            if hide_values
            else f"is already {old!r}; refusing to change it to {new!r}"
        )
        super().__init__(
            f"config key {key!r} {change} "
            "(pass allow_val_change=True to config.update() to allow it"
            + (f"; {hint})" if hint else ")")
        )


class UnsupportedValue(ConfigError):
    def __init__(self, key: str, value: object, why: str = "") -> None:
        self.key, self.value, self.why = key, value, why
        kind = f"{type(value).__module__}.{type(value).__qualname__}".removeprefix("builtins.")
        super().__init__(
            f"config key {key!r} holds a {kind}, which has no faithful YAML form"
            + (f" ({why})" if why else "")
            + "; convert it to a str, number, bool, list or dict first"
        )


class BadQuery(GitcfgError):
    """A --where expression, key or range the user typed cannot be used."""


class MissingExtra(GitcfgError, ImportError):
    """An optional dependency is not installed; names the extra that brings it."""

    def __init__(self, feature: str, extra: str) -> None:
        self.feature, self.extra = feature, extra
        super().__init__(f"{feature} needs {extra}: pip install 'gitcfg[{extra}]'")


class NoActiveRun(GitcfgError, AttributeError):
    """`gitcfg.summary` (etc.) with no run: an AttributeError too, so hasattr() says False."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"no active run; call gitcfg.track(config) before using {what}")


class RunStateError(GitcfgError):
    """The run is in a state that forbids the operation (e.g. amending a running run)."""


class WhereSyntaxError(BadQuery):
    """A filter expression cannot be parsed; keeps the text and the 0-based position of the fault."""

    def __init__(self, text: str, position: int, reason: str) -> None:
        self.text, self.position, self.reason = text, position, reason
        shown = repr(text) if len(text) <= 200 else repr(text[:100]) + "…"  # the caret shows where
        super().__init__(f"cannot parse filter {shown} at column {position + 1}: {reason}")

    def caret_text(self) -> str:
        """Return the filter's line with a caret under the fault and the reason beside it
        (control characters escaped, the caret still under the fault)."""
        from gitcfg.inert import inert

        line_start = self.text.rfind("\n", 0, self.position) + 1
        line_end = self.text.find("\n", self.position)
        line = self.text[line_start : line_end if line_end != -1 else len(self.text)]
        indent = len(inert(self.text[line_start : self.position]))
        return f"{inert(line)}\n{' ' * indent}^ {inert(self.reason)}"


class UnknownKey(BadQuery):
    """A key named in --group-by, --sort, --over or --columns matches no run's config, summary or field."""

    def __init__(self, key: str, suggestions: Sequence[str], option: str) -> None:
        self.key, self.suggestions, self.option = key, list(suggestions), option
        super().__init__(f"unknown key {key!r} in {option}; {unknown_key_hint(suggestions)}")


def unknown_key_hint(suggestions: Sequence[str]) -> str:
    """`did you mean 'lr' or 'lr_min'?`, or where to see every key when nothing is close."""
    if suggestions:
        return "did you mean " + " or ".join(repr(name) for name in suggestions[:3]) + "?"
    return "`gitcfg log --all-keys` shows every key"


class ConfigKeyMissing(GitcfgError, KeyError):
    """A config key that is not there: a KeyError (so dict idioms work) whose message lists near keys."""

    def __init__(self, key: object, message: str) -> None:
        self.key, self.message = key, message
        super().__init__(message)

    def __str__(self) -> str:  # KeyError's own __str__ would print the repr of the message
        return self.message


# --- amending, sharing, reproducing -------------------------------------------------------------


class RunStillRunning(RunStateError):
    def __init__(self, run_id: str, action: str, pid: object = None, host: object = None) -> None:
        self.run_id, self.action = run_id, action
        where = f" (pid {pid} on {host})" if pid and host else ""
        super().__init__(
            f"run {run_id} is still running{where}; {action} it after it ends "
            "(a run whose process died is marked crashed by the next gitcfg command on its machine)"
        )


class JournalFull(GitcfgError, OSError):
    """log() could not journal a row (disk full, file size limit): the row is not recorded, every
    earlier one is. Also an OSError, which is what it is to a script catching those."""

    def __init__(self, run_id: str, step: int, error: OSError) -> None:
        self.run_id, self.step = run_id, step
        super().__init__(
            f"cannot record step {step} of run {run_id}: {error.strerror or error} (disk full?); "
            f"its {step} earlier steps are kept"
        )


class DamagedRunFile(GitcfgError):
    def __init__(self, run_id: str, file_name: str, reason: str) -> None:
        self.run_id, self.file_name, self.reason = run_id, file_name, reason
        super().__init__(
            f"run {run_id}'s {file_name} cannot be read as a YAML mapping ({reason}); "
            f"`gitcfg history {run_id[:10]}` shows its versions: fix it with git first"
        )


class RunRecordInvalid(GitcfgError):
    """A run.yaml about to be written does not match its schema (runfile.SCHEMA): a gitcfg bug."""


class BadAmendment(GitcfgError):
    """An amendment that cannot be applied as asked (a missing key, a non-mapping parent, nothing to do)."""


class NothingToAmend(BadAmendment):
    """The run already holds every value the amendment sets (`Run.update()` then commits nothing)."""


class RunRemoved(GitcfgError):
    """A run that is in history but not on the runs branch now (`rm` of a removed run)."""

    def __init__(self, run_id: str, removed_in: str | None = None) -> None:
        self.run_id, self.removed_in = run_id, removed_in
        where = f" in {removed_in[:10]}" if removed_in else ""
        super().__init__(
            f"run {run_id} was already removed{where}; `gitcfg restore {run_id[:10]}` brings it back"
        )


class RunNotRemoved(GitcfgError):
    """`restore` of a run that is on the runs branch."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(
            f"run {run_id} is not removed (it is on the runs branch); nothing to restore"
        )


class RemoteNotFound(GitcfgError):
    def __init__(self, remote: str, defaulted: bool = False, command: str = "push") -> None:
        self.remote, self.command = remote, command
        why = " and the current branch has no upstream" if defaulted else ""
        super().__init__(
            f"no git remote named {remote!r}{why}; name one (`gitcfg {command} REMOTE`, "
            "`git remote -v` lists them) or add it with `git remote add`"
        )


class RemoteUnreachable(GitcfgError):
    def __init__(self, remote: str, detail: str) -> None:
        self.remote, self.detail = remote, detail
        super().__init__(
            f"could not reach remote {remote!r} ({detail}); check `git remote -v` and your access, then retry"
        )


class CodeCommitMissing(GitcfgError):
    def __init__(self, run_id: str, code_commit: str, remote_url: str | None) -> None:
        self.run_id, self.code_commit, self.remote_url = run_id, code_commit, remote_url
        where = f" (it was recorded in a clone of {remote_url})" if remote_url else ""
        super().__init__(
            f"run {run_id}'s code commit {code_commit[:12]} is not in this clone{where}; "
            "run `git fetch --all` and retry"
        )


class RunWithoutCommit(GitcfgError):
    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(
            f"run {run_id} was recorded before the repository's first commit (code.commit is null), "
            f"so there is no code to check out; `gitcfg show {run_id} --config` prints its config"
        )


class CheckoutFailed(GitcfgError):
    """`gitcfg checkout` could not build the worktree; nothing is left behind."""


class NothingToRerun(GitcfgError):
    """`gitcfg rerun` of a run started from an interactive session: no command line was recorded."""

    def __init__(self, run_id: str, script: str | None) -> None:
        self.run_id = run_id
        super().__init__(
            f"run {run_id} was started from {script or 'an interactive session'}, so there is no "
            f"command to re-run; `gitcfg checkout {run_id[:10]}` builds its code and config"
        )


class NoSuchRunFile(GitcfgError):
    """A run has no saved file by the name asked for."""

    def __init__(self, run_id: str, name: str) -> None:
        self.run_id, self.name = run_id, name
        super().__init__(
            f"run {run_id[:8]} has no file {name!r}; `gitcfg show {run_id[:8]} --files` lists them"
        )


class RunsBranchRefused(GitcfgError):
    """gitcfg will not write to the configured runs branch: its name is invalid, it is checked out
    in a worktree, it holds the code's history, or its FORMAT is newer than this gitcfg."""


class UnsafeRunPath(CheckoutFailed):
    """A path taken from a run's data (its cwd, a file to write) leads outside the worktree."""

    def __init__(self, run_id: str, what: str, path: object, worktree: object) -> None:
        self.run_id, self.what, self.path = run_id, what, path
        super().__init__(
            f"run {run_id}'s {what} {str(path)!r} leads outside the worktree {worktree}; "
            "refusing to write there (nothing was created)"
        )
