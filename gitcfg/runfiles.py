"""A run's own files: what `save()` names, what the script writes to `run.dir`, and media values.

On the runs branch they sit in the run's directory:

    runs/<a>/<b>/<c>/<id>/files/<relative path> saved files (save(), run.dir)
                          media/<key>/<step>.png  Image values logged; .json for Table

`save(glob, base_path, policy)` follows wandb: a relative glob matches from the working directory,
and names are relative to `base_path` (default: the working directory; for an absolute glob, its
directory, so the files are saved without folders). `policy="now"` commits the files at once;
`"live"` and `"end"` commit them in the run's final commit, as they are then. Media files and the
live/end globs wait in the run's journal (`live/<run-id>/media/`, `saves.json`), so the commit
that records a crashed run includes them.

All of a run's files share one budget, `gitcfg.maxFileBytes` (default 50 MiB; git's k/m/g suffixes
work): a file that would exceed it is skipped with one warning naming it. Paths never escape the run
directory: a name with `..` is refused, and symlinks are followed only when they point inside the
directory being saved.
"""

from __future__ import annotations

import glob as globbing
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from gitcfg.gitio import share

FILES_DIR = "files"
MEDIA_DIR = "media"
SAVES_FILE = "saves.json"  # in the journal: the live/end globs, for crash recovery
POLICIES = ("live", "now", "end")
DEFAULT_MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_FILE_BYTES_KEY = "gitcfg.maxfilebytes"  # `git config -l` lowercases keys


def max_file_bytes(git_config: Mapping[str, str]) -> int:
    """The per-run byte budget from git config (`50m`, `1g`, `1000`); the default when unset or bad."""
    text = (
        git_config.get(MAX_FILE_BYTES_KEY) or git_config.get("gitcfg.maxFileBytes") or ""
    ).strip()
    if not text:
        return DEFAULT_MAX_FILE_BYTES
    scale = {"k": 1024, "m": 1024**2, "g": 1024**3}.get(text[-1].lower(), 1)
    try:
        return int(text[:-1] if scale > 1 else text) * scale
    except ValueError:
        return DEFAULT_MAX_FILE_BYTES


def safe_name(name: str) -> str | None:
    """`name` as a clean relative path with `/` separators, or None if it is absolute, empty or
    climbs out with `..`."""
    name = name.replace(os.sep, "/")
    if not name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def _inside(path: Path, base: Path) -> bool:
    return resolved_inside(base, path) is not None


def resolved_inside(base: Path, path: Path) -> Path | None:
    """`path` with every symlink resolved, spelled under `base`, if it stays inside `base`; else
    None. Paths taken from run data (a pulled run is someone else's) pass here before a write."""
    top = os.path.realpath(base)
    real = os.path.realpath(path)
    if real != top and not real.startswith(top.rstrip(os.sep) + os.sep):
        return None
    return base / os.path.relpath(real, top)


def match_save(glob_str: str, base_path: str | None, cwd: Path) -> tuple[Path, str]:
    """(the absolute glob, the base directory) of a save() call; ValueError if the glob does not
    lie under the base."""
    pattern = Path(glob_str)
    if not pattern.is_absolute():
        pattern = cwd / pattern
    if base_path is None:
        base = pattern.parent if Path(glob_str).is_absolute() else cwd
    else:
        base = Path(base_path)
        if not base.is_absolute():
            base = cwd / base
    rel = os.path.relpath(pattern, base)
    if safe_name(rel) is None:
        raise ValueError(
            f"save({glob_str!r}, base_path={base_path!r}): the files must lie under base_path"
        )
    return pattern, str(base)


def saved_matches(pattern: str, base: str, use_glob: bool = True) -> Iterator[tuple[str, Path]]:
    """(name under files/, path) of each regular file the glob matches now, under `base`."""
    paths = sorted(globbing.glob(pattern, recursive=True)) if use_glob else [pattern]
    base_path = Path(base)
    for match in paths:
        path = Path(match)
        if not path.is_file():
            continue
        name = safe_name(os.path.relpath(path, base_path))
        if name is None or (path.is_symlink() and not _inside(path, base_path)):
            continue
        yield name, path


def directory_files(directory: Path) -> Iterator[tuple[str, Path]]:
    """(relative name, path) of every file under `directory`; symlinks out of it are not followed."""
    for root, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not os.path.islink(os.path.join(root, d)))
        for file_name in sorted(names):
            path = Path(root, file_name)
            if path.is_symlink() and not _inside(path, directory):
                continue
            if not path.is_file():
                continue
            name = safe_name(os.path.relpath(path, directory))
            if name is not None:
                yield name, path


class RunFiles:
    """The files one run records besides its YAML and metrics: saved files and media.

    `warn` is told what is skipped (over the budget, unreadable); nothing here raises into the
    training script after a successful save() call.
    """

    def __init__(
        self, run_dir: str, journal_dir: Path | None, budget: int, warn: Callable[[str], None]
    ) -> None:
        self.run_dir = run_dir  # `runs/<a>/<b>/<c>/<id>` on the branch (store.run_dir)
        self.journal_dir = journal_dir  # where media files and saves.json wait; None: memory
        self.budget = budget
        self.warn = warn
        self.used = 0  # bytes committed or waiting
        self._sizes: dict[str, int] = {}  # branch path -> bytes counted against the budget
        self._warned: set[str] = set()  # what a warning already named (a path, a media key)
        self._media: dict[str, bytes] = {}  # branch path -> content, when there is no journal
        self._saves: list[tuple[str, str, bool]] = []  # (absolute glob, base, glob?) live/end

    # --- the budget ---

    def _admit(
        self, path: str, size: int, skipped: list[str], label: str, once: str | None = None
    ) -> bool:
        """Count `size` bytes for `path` (replacing what it counted before) if they fit. What
        does not fit goes into `skipped` the first time for `once` (default: the path), so a
        checkpoint saved every epoch or an image logged every step is warned about once."""
        used = self.used - self._sizes.get(path, 0)
        if used + size > self.budget:
            once = once or path
            if once not in self._warned:
                self._warned.add(once)
                skipped.append(f"{label} ({_size_text(size)})")
            return False
        self._sizes[path] = size
        self.used = used + size
        return True

    def _warn_skipped(self, skipped: list[str]) -> None:
        if skipped:
            self.warn(
                f"the run's files would exceed {_size_text(self.budget)} (git config "
                f"gitcfg.maxFileBytes); skipped {', '.join(skipped)}"
            )

    # --- saved files ---

    def save(
        self, glob_str: str, base_path: str | None, policy: str, use_glob: bool = True
    ) -> tuple[list[str], dict[str, bytes]]:
        """Register a save() call: (the names it matches now, the files to commit at once for
        policy "now", else {}). Raises ValueError for a bad policy or a glob above base_path."""
        if policy not in POLICIES:
            raise ValueError(f"save(policy={policy!r}): choose one of {', '.join(POLICIES)}")
        pattern, base = match_save(glob_str, base_path, Path.cwd())
        matches = list(saved_matches(str(pattern), base, use_glob))
        names = [name for name, _ in matches]
        if policy == "now":
            return names, self._read(matches)
        self._saves.append((str(pattern), base, use_glob))
        if self.journal_dir is not None:
            try:
                _write_json(self.journal_dir / SAVES_FILE, self._saves)
            except OSError as e:
                self.warn(f"cannot journal save({glob_str!r}) ({e}); it is committed at the end")
        return names, {}

    def _read(self, matches: list[tuple[str, Path]]) -> dict[str, bytes]:
        files: dict[str, bytes] = {}
        skipped: list[str] = []
        for name, path in matches:
            branch_path = f"{self.run_dir}/{FILES_DIR}/{name}"
            try:
                size = path.stat().st_size
                if not self._admit(branch_path, size, skipped, str(path)):
                    continue
                files[branch_path] = path.read_bytes()
            except OSError as e:
                self.warn(f"cannot save {path} ({e}); skipped")
        self._warn_skipped(skipped)
        return files

    def final_files(self, run_directory: str | None) -> dict[str, bytes]:
        """What the final commit adds: the live/end globs and `run_directory` (run.dir) as they
        are now, and the media files."""
        matches: dict[str, tuple[str, Path]] = {}
        for pattern, base, use_glob in self._saves:
            for name, path in saved_matches(pattern, base, use_glob):
                matches[name] = (name, path)
        if run_directory and os.path.isdir(run_directory):
            for name, path in directory_files(Path(run_directory)):
                matches.setdefault(name, (name, path))
        files = self._read(list(matches.values()))
        files.update(self.media_files())
        return files

    # --- media ---

    def add_media(self, key: str, value: Any, step: int) -> Any:
        """Store a logged Image/Table (or a list of them) at `step`; return the row's reference,
        or None when it was skipped (too big, or it could not be encoded: see warn)."""
        from gitcfg.media import media_dir

        directory = media_dir(key)
        if isinstance(value, (list, tuple)):
            refs = [self._store_one(v, f"{directory}/{step}_{i}", key) for i, v in enumerate(value)]
            kept = [ref for ref in refs if ref is not None]
            return kept or None
        return self._store_one(value, f"{directory}/{step}", key)

    def _store_one(self, value: Any, stem: str, key: str) -> dict[str, Any] | None:
        try:
            content, ext, extra = value.encode()
        except Exception as e:  # a media value must never fail the run
            if f"encode {key}" not in self._warned:  # once per key, not once per step
                self._warned.add(f"encode {key}")
                self.warn(
                    f"cannot record the {value._type} logged as {key!r} ({type(e).__name__}: "
                    f"{e}); skipped (later {key!r} values that fail are skipped without a warning)"
                )
            return None
        name = f"{stem}.{ext}"
        branch_path = f"{self.run_dir}/{name}"
        skipped: list[str] = []
        label = f"{name} (logged as {key!r})"
        if not self._admit(branch_path, len(content), skipped, label, once=f"media {key}"):
            if skipped:
                skipped[-1] += (
                    f"; later {key!r} values that do not fit are skipped without a warning"
                )
            self._warn_skipped(skipped)
            return None
        if self.journal_dir is not None:
            try:
                target = self.journal_dir / name
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(target.name + ".tmp")
                tmp.write_bytes(content)
                share(target.parent, tmp)  # core.sharedRepository
                os.replace(tmp, target)
            except OSError:
                self._media[branch_path] = content  # the final commit still has it
        else:
            self._media[branch_path] = content
        return {"_type": value._type, "path": name, **extra}

    def media_files(self) -> dict[str, bytes]:
        files = dict(self._media)
        if self.journal_dir is not None:
            files.update(journal_media(self.journal_dir, self.run_dir))
        return files


class RunFile(bytes):
    """A stored file's bytes (what `Api().run(id).file(name)` returns), with wandb's File names:
    `.name` (its path in the run directory) and `.download(root=".")`."""

    name: str

    def __new__(cls, content: bytes, name: str) -> RunFile:
        self = super().__new__(cls, content)
        self.name = name
        return self

    def download(self, root: str = ".", replace: bool = False, exist_ok: bool = False) -> Path:
        """Write the file under `root` (as `root/<name>`); return its path.

        Never through a symlink: a directory on the way that leads out of `root`, or a symlink
        in the file's place, raises a GitcfgError and nothing is written.
        """
        from gitcfg.errors import GitcfgError

        target = Path(root, self.name.removeprefix(FILES_DIR + "/"))
        if os.path.lexists(target) and not (replace or exist_ok):
            raise FileExistsError(f"{target} exists; pass replace=True to overwrite it")
        directory = resolved_inside(Path(root), target.parent)
        if directory is None:
            raise GitcfgError(f"{target.parent} leads outside {root} (a symlink); not written")
        directory.mkdir(parents=True, exist_ok=True)
        if os.path.lexists(target) and not replace:
            return target
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(directory / target.name, flags, 0o644)
        except OSError:
            if os.path.islink(directory / target.name):
                raise GitcfgError(f"{target} is a symlink; not written through") from None
            raise
        with os.fdopen(fd, "wb") as file:
            file.write(bytes(self))
        return target


def saved_names(run_files: Iterable[str]) -> list[str]:
    """The names of a run's saved files (`files/` stripped), sorted."""
    prefix = FILES_DIR + "/"
    return sorted(name[len(prefix) :] for name in run_files if name.startswith(prefix))


def resolve_file(run_files: Iterable[str], name: str) -> str | None:
    """The path in the run directory that `name` names: `files/<name>` first, then the run
    directory's own (`media/img/3.png`); None when there is none."""
    clean = safe_name(name)
    if clean is None:
        return None
    present = set(run_files)
    for candidate in (f"{FILES_DIR}/{clean}", clean):
        if candidate in present:
            return candidate
    return None


def journal_media(journal_dir: Path, run_dir: str) -> dict[str, bytes]:
    """The media files waiting in a journal, keyed by branch path."""
    media = journal_dir / MEDIA_DIR
    files: dict[str, bytes] = {}
    if not media.is_dir():
        return files
    for name, path in directory_files(media):
        if name.endswith(".tmp"):
            continue
        try:
            files[f"{run_dir}/{MEDIA_DIR}/{name}"] = path.read_bytes()
        except OSError:
            continue
    return files


def recovered_files(
    journal_dir: Path, run_dir: str, budget: int, run_directory: Path | None = None
) -> dict[str, bytes]:
    """The files a crashed run's final commit records: its journaled media, its live/end globs
    as they match now, and `run_directory` (run.dir's default place) if the script made it.
    Best effort: what cannot be read is left out."""
    files = RunFiles(run_dir, journal_dir, budget, lambda message: None)
    try:
        saves = json.loads((journal_dir / SAVES_FILE).read_bytes())
        files._saves = [(str(p), str(b), bool(g)) for p, b, g in saves]
    except (OSError, ValueError, TypeError):
        pass
    return files.final_files(str(run_directory) if run_directory is not None else None)


def _write_json(path: Path, value: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value))
    share(tmp)
    os.replace(tmp, path)


def _size_text(size: int) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"
