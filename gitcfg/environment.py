"""The Python environment a run used: its installed distributions as a requirements.txt.

`installed_requirements()` lists what `importlib.metadata` finds on `sys.path` (no pip process) as
sorted `name==version` lines, pip-freeze style, so `pip install -r` reinstalls them. Reading every
distribution's METADATA costs ~0.5 ms per 10 distributions plus ~12 ms to import importlib.metadata,
too much for track() (budget: 20 ms), so the text is cached per environment in the user's cache
directory and reused while the environment is unchanged: same interpreter, same `sys.path`, same
modification times and entry names of its directories (installing, upgrading or removing a package
adds or removes a `*.dist-info` directory). A warm capture is a stat() and a listdir() per path
entry and one small file read (tests/bench/bench_environment.py).

Choices, as documented in docs/reproduce.md:
- The script's own directory (`sys.path[0]`) and the current directory are not searched: they
  change with every checkpoint written there, and hold code, not installed distributions.
- An editable install (`pip install -e .`, PEP 660) is written `# editable: name==version`: its code
  is the worktree, not an index package, so `pip install -r` must not try to download it.
- Direct-URL installs are written `name==version` (pip freeze writes `name @ url`).
"""

from __future__ import annotations

import json
import os
import re
import sys
import zlib
from collections.abc import Iterable
from pathlib import Path

REQUIREMENTS = "requirements.txt"  # the file in the run directory on the runs branch
EDITABLE = "# editable: "  # prefix of an editable install's line
_CACHE_FORMAT = 1


def installed_requirements(cache_dir: Path | None = None) -> bytes:
    """The environment's distributions as requirements.txt bytes (`name==version` lines, sorted).

    Uses the cache in `cache_dir` (default: cache_home()/environments) when it matches this
    environment; otherwise reads the distributions and rewrites the cache. An unwritable cache is
    skipped silently: the capture still happens, only slower next time.
    """
    return _capture(cache_dir, cached_only=False) or b""


def cached_requirements(cache_dir: Path | None = None) -> bytes | None:
    """installed_requirements() from the cache, without reading any metadata; None when the
    cache does not match this environment (cold)."""
    return _capture(cache_dir, cached_only=True)


def _capture(cache_dir: Path | None, cached_only: bool) -> bytes | None:
    entries = search_path()
    key = _environment_key(entries)  # before reading: an install meanwhile invalidates the entry
    cache_file = _cache_file(cache_dir)
    text = _read_cache(cache_file, key)
    if text is None and not cached_only:
        text = render_requirements(_distribution_lines(entries))
        _write_cache(cache_file, key, text)
    return text


def search_path() -> list[str]:
    """The `sys.path` entries searched for distributions: all but the script's and current dir."""
    skip = {"", os.getcwd()}
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if main_file:
        skip.add(os.path.dirname(os.path.abspath(main_file)))
    return [entry for entry in sys.path if isinstance(entry, str) and entry not in skip]


def cache_home() -> Path:
    """gitcfg's per-user cache directory: $XDG_CACHE_HOME/gitcfg, else ~/.cache/gitcfg."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gitcfg"


def _cache_file(cache_dir: Path | None) -> Path:
    """One cache file per interpreter: a changed environment overwrites its own entry."""
    return (cache_dir or cache_home() / "environments") / (_interpreter_checksum() + ".txt")


def _interpreter_checksum() -> str:
    return _checksum(f"{sys.prefix}\0{sys.executable}".encode())


def _environment_key(entries: Iterable[str]) -> str:
    parts = [str(_CACHE_FORMAT), sys.prefix, sys.executable, sys.version]
    for entry in entries:
        try:
            mtime = os.stat(entry).st_mtime_ns
            # Directory mtimes tick only every few ms on Linux: the names decide within a tick.
            names = sorted(os.listdir(entry)) if os.path.isdir(entry) else []
        except (OSError, ValueError):  # missing, or a path hook's name: appearing changes the key
            mtime, names = -1, []
        parts.append(f"{entry}\0{mtime}\0" + "\0".join(names))
    return _checksum("\n".join(parts).encode())


def _checksum(data: bytes) -> str:
    """64 bits of zlib checksums: not a security boundary, and zlib is loaded already (hashlib's
    OpenSSL import alone costs ~2 ms)."""
    return f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}"


def _read_cache(cache_file: Path, key: str) -> bytes | None:
    try:
        data = cache_file.read_bytes()
    except OSError:
        return None
    head, sep, text = data.partition(b"\n")
    return text if sep and head == f"# gitcfg environment {key}".encode() else None


def _write_cache(cache_file: Path, key: str, text: bytes) -> None:
    temporary = cache_file.with_name(f".{cache_file.name}.{os.getpid()}")
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_bytes(f"# gitcfg environment {key}\n".encode() + text)
        os.replace(temporary, cache_file)  # concurrent writers: the last complete one wins
    except OSError:
        try:
            temporary.unlink()
        except OSError:
            pass


def _distribution_lines(entries: list[str]) -> list[str]:
    """One line per distribution (the first found on the path wins, as for imports)."""
    import importlib.metadata as metadata

    lines: dict[str, str] = {}
    for dist in metadata.distributions(path=entries):
        name, version = _name_and_version(dist)
        if not name or not version:
            continue
        key = canonical_name(name)
        if key in lines:
            continue
        line = f"{name}=={version}"
        if _is_editable(dist):
            line = EDITABLE + line
        lines[key] = line
    return [lines[key] for key in sorted(lines)]


def _name_and_version(dist: object) -> tuple[str | None, str | None]:
    """Name and Version from the METADATA header. Parsing it with the email module, as
    `dist.metadata` does, costs ~10x more (56 ms vs 6 ms for 122 distributions)."""
    read_text = dist.read_text  # type: ignore[attr-defined]
    text = read_text("METADATA") or read_text("PKG-INFO") or ""
    name = version = None
    for line in text.partition("\n\n")[0].splitlines():
        if line.startswith("Name:"):
            name = line[5:].strip()
        elif line.startswith("Version:"):
            version = line[8:].strip()
        if name and version:
            break
    return name, version


def _is_editable(dist: object) -> bool:
    text = dist.read_text("direct_url.json")  # type: ignore[attr-defined]
    if not text:
        return False
    try:
        info = json.loads(text)
    except ValueError:
        return False
    return bool(isinstance(info, dict) and (info.get("dir_info") or {}).get("editable"))


def canonical_name(name: str) -> str:
    """PEP 503 normalised name: `PyYAML`, `pyyaml` and `py_yaml` compare by it."""
    return re.sub(r"[-_.]+", "-", name).lower()


def render_requirements(lines: Iterable[str]) -> bytes:
    return "".join(f"{line}\n" for line in lines).encode()


def parse_requirements(text: bytes | str | None) -> dict[str, str]:
    """{canonical name: `version` or `version (editable)`} of a recorded requirements.txt."""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    packages: dict[str, str] = {}
    for raw in (text or "").splitlines():
        line = raw.strip()
        editable = line.startswith(EDITABLE)
        if editable:
            line = line[len(EDITABLE) :]
        if not line or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        if not sep:
            name, sep, version = line.partition(" @ ")
        packages[canonical_name(name.strip())] = version.strip() + (
            " (editable)" if editable else ""
        )
    return packages
