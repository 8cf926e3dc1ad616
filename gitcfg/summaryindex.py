"""The summary index: each run's three YAML files, parsed, committed on the runs branch.

A fresh clone's query cache (cache.py) would otherwise read and parse every run's run.yaml,
config.yaml and summary.yaml: three objects a run, millions at a million runs. The index holds
them as JSON, about 256 runs to a file, under the branch's top-level `index/` directory, so a
cold build reads thousands of objects instead. It is a derived copy, never the truth:

    index/<k0k1>/<k2>/<k3>/<k0..k4>.tsv     one file per prefix of the run's index key
        #keys TAB <JSON list of the key lists of the file's rows>
        <run id> TAB <the run directory's tree id> TAB <its file names, a JSON list>
                 TAB <run.yaml as JSON> TAB <config.yaml as JSON> TAB <summary.yaml as JSON>
                 TAB <the run's flat row (rows.run_row): [n, values...], n its key list's place>

- The key is the run id (time first, so a file holds runs started close together); an id
  chosen with track(id=...) that is not a generated one is keyed by `x` + its SHA-1 in hex.
- An entry is used only when its tree id is that of the run's directory at the tip the cache
  reads: a run changed by a writer that does not know the index (any file of it), or a damaged
  entry, is read from its files instead. A run without an entry is read from its files. A cold
  build reads the fan-out trees down to the run directories (about N/30 small trees), never a
  run's own tree or files.
- Every commit gitcfg writes that changes a run's directory (record, amend, rm, merge) updates
  that run's entry in the same commit: the writer reads the one file holding it (through its own
  fast-import, gitio.ImportReader), asks the same fast-import for the directory's new tree, and
  rewrites the file. The file names are the old entry's with this commit's changes (or, when
  the old entry is missing or stale, read from the old tree). A file past SPLIT_AT entries is
  split into one file per next key character, one directory deeper: each file and each tree
  stays small whatever the number of runs, so a write costs the same at 1,000 runs as at
  1,000,000.
- A run whose YAML does not survive JSON unchanged (date values, NaN) gets no entry. Keys are
  read as text (store.read_row_mapping: `on:` is `True`), as the row names them.
- The last field, the flat row that queries read (the cache's key columns), saves a cold build
  the parse of the three texts and the flattening: it copies the texts as they are and decodes
  the rows' values, many lines in one json.loads. The keys are the header's: a sweep's runs share
  one key list, so each line holds values only (an array decodes ~40% faster than an object of
  the same keys, and the file is a third smaller). A writer rewrites the header by string
  operations (_Line), never decoding a row; a row may also be a JSON object (no header needed).
- Lines of the first shape (keyed by the three YAML files' blob ids: a gitcfg from before the
  tree key) are not used: their runs are read from their files until a commit rewrites them or
  `store.rebuild_index` writes the whole index anew.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from gitcfg import gitio, runfile

INDEX_DIR = "index"
FIRST_LEVEL = 5  # key characters naming a first-level file (2**25 s: about 17 minutes of ids)
SPLIT_AT = 256  # entries in one file before it is split one level deeper
NO_FILE = "-"  # the blob id of a summary.yaml the run does not have
_MIN_ID = 12

RunPath = Callable[[str], "tuple[str, str, str] | None"]  # store.parse_run_path
ParseYaml = Callable[[bytes | None], "tuple[dict[str, Any], str | None]"]  # store.read_row_mapping
# rows.run_row: (run id, run.yaml, config.yaml, summary.yaml mappings) -> the run's flat row
FlatRow = Callable[[str, "dict[str, Any]", "dict[str, Any]", "dict[str, Any]"], "dict[str, Any]"]


class Entry(NamedTuple):
    run_id: str
    tree: str  # the run directory's tree id
    names: str  # the paths of the files in the run directory, sorted, as a JSON list
    texts: tuple[str, str, str]  # run.yaml, config.yaml, summary.yaml as JSON
    row: str  # the run's flat row (rows.run_row): `[n, values...]`, or a JSON object
    keys: tuple[str, ...] | None = None  # the row's keys: the file's key list n (None: unknown)


HEADER = "#keys"  # the first line of an index file: HEADER TAB <JSON list of key lists>


def entry_row(entry: Entry) -> dict[str, Any] | None:
    """The flat row an entry holds, as a mapping; None when damaged."""
    try:
        row = json.loads(entry.row)
    except (ValueError, RecursionError):
        return None
    if isinstance(row, dict):
        return row
    if not isinstance(row, list) or entry.keys is None or len(row) != len(entry.keys) + 1:
        return None
    return dict(zip(entry.keys, row[1:], strict=True))


def index_key(run_id: str) -> str:
    """The key that places a run's entry: its id when generated, else `x` + SHA-1 hex."""
    # Every character in the alphabet: what strip() leaves is empty.
    if len(run_id) >= _MIN_ID and not run_id.strip(runfile.ID_ALPHABET):
        return run_id
    import hashlib  # here: a generated id needs none, and its start-up is ~2 ms of a warm query

    return "x" + hashlib.sha1(run_id.encode("utf-8", "surrogateescape")).hexdigest()


def index_path(prefix: str) -> str:
    """The file holding the entries whose key starts with `prefix` (FIRST_LEVEL chars or more)."""
    return f"{INDEX_DIR}/{prefix[:2]}/{'/'.join(prefix[2:-1])}/{prefix}.tsv"


def to_json(value: object) -> str:
    """A mapping as the index and the query cache hold it (cache.py stores the same text): UTF-8
    as it is, except that a text holding a lone surrogate (a file name git gave that is not
    UTF-8) is written with escapes, which SQLite and an index file can hold."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return json.dumps(value, default=str)
    return text


def entry_line(entry: Entry) -> str:
    return "\t".join((entry.run_id, entry.tree, entry.names, *entry.texts, entry.row)) + "\n"


def parse_index(blob: bytes) -> Iterator[Entry]:
    """The well-formed entries of one index file (a damaged line, or one of the first shape, is
    skipped: its run is read from its files). Entries of one key list share one keys tuple."""
    header, lines = _split_header(blob)
    for line in lines:
        fields = line.split("\t")
        if len(fields) == 7 and fields[0] and fields[2][:1] == "[":
            row = fields[6]
            number = _row_number(row, len(header))
            keys = header[number[0]] if number is not None else None
            yield Entry(
                fields[0], fields[1], fields[2], (fields[3], fields[4], fields[5]), row, keys
            )


def _split_header(blob: bytes) -> tuple[list[tuple[str, ...]], list[str]]:
    """An index file's key lists ([] without a well-formed header line) and its other lines."""
    lines = blob.decode("utf-8", "replace").split("\n")
    if lines and lines[0].startswith(HEADER + "\t"):
        return _header(lines[0][len(HEADER) + 1 :]), lines[1:]
    return [], lines


def _row_number(row: str, lists: int) -> tuple[int, int] | None:
    """(n, the place of the comma after it) of an array row `[n, values...]` whose n names one
    of a header's `lists` key lists; None for any other row."""
    if row[:1] != "[":
        return None
    comma = row.find(",", 1, 12)
    number = row[1:comma]
    if comma > 0 and number.isascii() and number.isdigit() and int(number) < lists:
        return int(number), comma
    return None


def file_names(text: str) -> list[str] | None:
    """The file names an entry's names field holds; None unless it is a JSON list of text."""
    try:
        names = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if type(names) is not list or not all(type(name) is str for name in names):
        return None
    return names


def _header(text: str) -> list[tuple[str, ...]]:
    """The key lists of a header line; [] when damaged."""
    try:
        lists = json.loads(text)
    except (ValueError, RecursionError):
        return []
    if not isinstance(lists, list) or not all(
        isinstance(keys, list) and all(type(key) is str for key in keys) for keys in lists
    ):
        return []
    return [tuple(keys) for keys in lists]


def make_entry(
    run_id: str,
    tree: str,
    names: Sequence[str],
    blobs: Sequence[bytes | None],
    parse: ParseYaml,
    flat: FlatRow,
) -> Entry | None:
    """The entry of a run whose directory is the tree `tree` holding the files `names`, with
    run.yaml, config.yaml, summary.yaml `blobs` (None: absent); None when the run cannot be
    served from the index (a file missing or damaged, or values JSON would change)."""
    if blobs[0] is None or blobs[1] is None:
        return None
    texts, mappings = [], []
    for blob in blobs:
        mapping, problem = parse(blob)
        if problem is not None:
            return None
        text = to_json(mapping)
        if json.loads(text) != mapping:
            return None
        texts.append(text)
        mappings.append(mapping)
    if texts[0] == "{}":
        return None
    row = flat(run_id, mappings[0], mappings[1], mappings[2])
    values = to_json(list(row.values()))
    return Entry(
        run_id,
        tree,
        to_json(sorted(names)),
        (texts[0], texts[1], texts[2]),
        f"[0, {values[1:]}" if len(values) > 2 else "[0]",
        tuple(row),
    )


def deriver(
    run_path: RunPath, parse: ParseYaml, names: Sequence[str], flat: FlatRow
) -> gitio.Derive:
    """The gitio.commit_files `derive` hook that updates the entries of the runs whose
    directories a commit changes (`names`: run.yaml, config.yaml, summary.yaml)."""

    def derive(
        files: Mapping[str, bytes | gitio.BlobRef | None], reader: gitio.ImportReader
    ) -> dict[str, bytes | None]:
        touched: dict[str, str] = {}  # run id -> run dir
        for path in files:
            parsed = run_path(path)
            if parsed is not None:
                touched[parsed[0]] = parsed[1]
            else:
                whole = run_path(path + "/" + names[0])  # a run directory, deleted or moved whole
                if whole is not None and whole[1] == path:
                    touched[whole[0]] = whole[1]
        if not touched:
            return {}
        buckets: dict[str, dict[str, _Line]] = {}
        located = {run_id: _locate(index_key(run_id), reader, buckets) for run_id in touched}
        entries: dict[str, Entry | None] = {}
        for run_id, run_dir in touched.items():
            old_line = buckets[located[run_id]].get(run_id)
            entries[run_id] = _derived_entry(
                run_id, run_dir, files, reader, old_line, parse, names, flat
            )
        return update_files(entries, reader, buckets)

    return derive


def _derived_entry(
    run_id: str,
    run_dir: str,
    files: Mapping[str, bytes | gitio.BlobRef | None],
    reader: gitio.ImportReader,
    old_line: _Line | None,
    parse: ParseYaml,
    yaml_names: Sequence[str],
    flat: FlatRow,
) -> Entry | None:
    """The entry of one run a commit changes, or None (no entry: the run is read from its files)."""
    written = reader.written(run_dir)
    if written is None or written[0] != "tree":
        return None  # the run is gone
    old_dir = reader.entry(run_dir)
    old = _entry_of(old_line) if old_line else None
    if old is not None and (old_dir is None or old.tree != old_dir[1]):
        old = None  # stale: written before a change that did not update it
    prefix = run_dir + "/"
    own = {p[len(prefix) :]: c for p, c in files.items() if p.startswith(prefix)}
    if run_dir in files:  # the whole directory deleted, or moved here (a merge)
        whole = files[run_dir]
        base = set(reader.file_names(whole.oid)) if isinstance(whole, gitio.BlobRef) else set()
        old = None
    elif old is not None and (kept := file_names(old.names)) is not None:
        base = set(kept)
    elif old_dir is not None and old_dir[0] == "tree":
        base = set(reader.file_names(old_dir[1]))
    else:
        base = set()
    for name, content in own.items():
        base = {n for n in base if n != name and not n.startswith(name + "/")}
        if isinstance(content, gitio.BlobRef) and content.mode.lstrip("0") == gitio.TREE_MODE:
            base.update(name + "/" + inner for inner in reader.file_names(content.oid))
        elif content is not None:
            base.add(name)
    if old is not None and not any(name in own for name in yaml_names):
        # the YAML files are unchanged: the old entry's texts and row still hold
        return old._replace(tree=written[1], names=to_json(sorted(base)))
    blobs = [_content(files, reader, run_dir, name) for name in yaml_names]
    return make_entry(run_id, written[1], sorted(base), blobs, parse, flat)


def _content(
    files: Mapping[str, bytes | gitio.BlobRef | None],
    reader: gitio.ImportReader,
    run_dir: str,
    name: str,
) -> bytes | None:
    path = f"{run_dir}/{name}"
    if path in files:
        content = files[path]
        return reader.blob(content.oid) if isinstance(content, gitio.BlobRef) else content
    if run_dir in files:  # the directory deleted or moved here whole: read what the commit holds
        whole = files[run_dir]
        if not isinstance(whole, gitio.BlobRef):
            return None
        found = reader.written(path)
        return reader.blob(found[1]) if found is not None and found[0] == "blob" else None
    return reader.read(path)


def update_files(
    entries: Mapping[str, Entry | None],
    reader: gitio.ImportReader,
    buckets: dict[str, dict[str, _Line]] | None = None,
) -> dict[str, bytes | None]:
    """The index files to write so that each run of `entries` has that entry (None: none).
    `buckets`: the files already read (_locate), file path -> run id -> line."""
    buckets = {} if buckets is None else buckets
    for run_id, entry in entries.items():
        key = index_key(run_id)
        bucket = buckets[_locate(key, reader, buckets)]
        if entry is None:
            bucket.pop(run_id, None)
        else:
            bucket[run_id] = _line(entry)
    out: dict[str, bytes | None] = {}
    for path, bucket in buckets.items():
        level = len(path.rsplit("/", 1)[1]) - len(".tsv")
        out.update(_written(path, level, bucket))
    return out


def _locate(key: str, reader: gitio.ImportReader, buckets: dict[str, dict[str, _Line]]) -> str:
    """The file that holds (or will hold) `key`'s entry, loaded into `buckets`: file path ->
    run id -> line (every line of the file, of whichever shape, so that rewriting it keeps them)."""
    level = FIRST_LEVEL
    while True:
        path = index_path(key[:level])
        if path in buckets:
            return path
        found = reader.entry(path)
        if found is not None and found[0] == "blob":
            blob = reader.blob(found[1]) or b""
            buckets[path] = _lines(blob)
            return path
        if level < len(key):
            deeper = index_path(key[: level + 1]).rsplit("/", 1)[0]
            below = reader.entry(deeper)
            if below is not None and below[0] == "tree":
                level += 1
                continue
        buckets[path] = {}
        return path


class _Line(NamedTuple):
    """An index line as a writer keeps it: `head` TAB row, where an array row `[n, values...]`
    is kept as its key list's JSON (`keys`) and the text after `n` (`rest`: `, values...]`),
    so that a file is rewritten with a new header by string operations alone. A line of
    another shape is kept whole in `head` (keys None) and written back as it is."""

    head: str
    keys: str | None = None
    rest: str = ""


def _line(entry: Entry) -> _Line:
    if entry.keys is None or entry.row[:1] != "[":
        return _Line(entry_line(entry).rstrip("\n"))
    head = entry_line(entry)[: -len(entry.row) - 2]
    return _Line(head, to_json(list(entry.keys)), entry.row[entry.row.find(",") :])


def _entry_of(line: _Line) -> Entry | None:
    """The entry a kept line holds (None: damaged or of another shape)."""
    if line.keys is None:
        return next(parse_index(line.head.encode()), None)
    text = f"{HEADER}\t[{line.keys}]\n{line.head}\t[0{line.rest}\n"
    return next(parse_index(text.encode()), None)


def _lines(blob: bytes) -> dict[str, _Line]:
    """Run id -> line of each line of an index file that names a run (first field)."""
    lines: dict[str, _Line] = {}
    lists, texts = _split_header(blob)
    header = [to_json(list(keys)) for keys in lists]
    for text in texts:
        fields = text.split("\t", 1)
        if len(fields) != 2 or not fields[0]:
            continue
        head, _, row = text.rpartition("\t")
        if row[:1] != "[":  # another shape: written back as it is (never read as a row here)
            lines[fields[0]] = _Line(text)
            continue
        number = _row_number(row, len(header))
        if number is not None:
            lines[fields[0]] = _Line(head, header[number[0]], row[number[1] :])
        # else: a row whose key list is lost; dropped, not kept to meet another file's header
    return lines


def _file_text(bucket: Mapping[str, _Line]) -> bytes:
    """An index file holding `bucket`'s lines, sorted by run id, under their header."""
    numbers: dict[str, int] = {}
    out = []
    for run_id in sorted(bucket):
        line = bucket[run_id]
        if line.keys is None:
            out.append(line.head + "\n")
            continue
        number = numbers.setdefault(line.keys, len(numbers))
        out.append(f"{line.head}\t[{number}{line.rest}\n")
    header = f"{HEADER}\t[{', '.join(numbers)}]\n" if numbers else ""
    return (header + "".join(out)).encode()


def _written(path: str, level: int, bucket: Mapping[str, _Line]) -> dict[str, bytes | None]:
    """`bucket` written at `path`, split one level deeper (recursively) when too large."""
    if not bucket:
        return {path: None}
    if len(bucket) <= SPLIT_AT:
        return {path: _file_text(bucket)}
    parts: dict[str, dict[str, _Line]] = {}
    for run_id, line in bucket.items():
        key = index_key(run_id)
        if len(key) <= level:  # cannot split further (never for real ids): keep it whole
            return {path: _file_text(bucket)}
        parts.setdefault(key[: level + 1], {})[run_id] = line
    out: dict[str, bytes | None] = {path: None}
    for prefix, part in parts.items():
        out.update(_written(index_path(prefix), level + 1, part))
    return out


RANGE_RUNS = 50_000  # runs whose entries one commit of rebuild() writes


def rebuild(
    repo: gitio.Repo,
    runs_ref: str,
    identity: gitio.Identity,
    runs_dir: str,
    run_path: RunPath,
    parse: ParseYaml,
    names: Sequence[str],
    flat: FlatRow,
) -> int:
    """Write the whole index anew from the runs at the branch's tip: for a branch written without
    it (an older gitcfg, a bulk import). Returns the runs indexed.

    Reads the listing in passes of RANGE_RUNS runs (by index key), each pass one commit: the whole
    listing is never held, and each file is written whole once. Under a concurrent writer the
    commit is retried on the new tip (the runs it brings are indexed by its own commit).
    """
    tip = gitio.read_ref(repo, runs_ref)
    if tip is None:
        return 0
    keys = sorted({index_key(run.run_id) for run in _runs(repo, tip, runs_dir, run_path, names)})
    bounds = _range_bounds(keys)
    del keys
    indexed, first = 0, True
    for low, high in bounds:
        chosen = [
            run
            for run in _runs(repo, tip, runs_dir, run_path, names)
            if low <= index_key(run.run_id)[:FIRST_LEVEL] < high
        ]
        buckets: dict[str, dict[str, _Line]] = {}
        with gitio.BatchReader(repo) as reader:
            for start in range(0, len(chosen), 2000):
                part = chosen[start : start + 2000]
                wanted = [oid for run in part for oid in run.oids if oid != NO_FILE]
                found = dict(zip(wanted, reader.read_many(wanted), strict=True))
                for run in part:
                    contents = [found.get(oid) for oid in run.oids]
                    entry = make_entry(run.run_id, run.tree, run.names, contents, parse, flat)
                    if entry is not None:
                        key = index_key(run.run_id)[:FIRST_LEVEL]
                        buckets.setdefault(index_path(key), {})[run.run_id] = _line(entry)
                        indexed += 1
        files: dict[str, bytes | gitio.BlobRef | None] = {INDEX_DIR: None} if first else {}
        for path, bucket in buckets.items():
            files.update(_written(path, FIRST_LEVEL, bucket))
        files = {path: content for path, content in files.items() if content is not None or first}
        if files:
            gitio.commit_files(repo, runs_ref, files, "gitcfg: index run summaries\n", identity)
        first = False
    return indexed


class _Run(NamedTuple):
    run_id: str
    tree: str  # its directory's tree id
    names: list[str]  # the paths of its files
    oids: tuple[str, str, str]  # the blob ids of its `names` YAML files (NO_FILE: absent)


def _runs(
    repo: gitio.Repo, tip: str, runs_dir: str, run_path: RunPath, names: Sequence[str]
) -> Iterator[_Run]:
    """Each run's directory tree, file names and YAML blob ids, streamed (`ls-tree -r -t`)."""
    run_id, tree = "", ""
    files: dict[str, str] = {}
    for entry in gitio.iter_tree(repo, tip, runs_dir + "/", trees=True):
        parsed = run_path(entry.path)
        if parsed is None:
            whole = run_path(entry.path + "/" + names[0])
            if entry.kind == "tree" and whole is not None and whole[1] == entry.path:
                if run_id:
                    yield _Run(run_id, tree, sorted(files), _oids(files, names))
                run_id, tree, files = whole[0], entry.oid, {}
            continue
        if entry.kind != "tree" and parsed[0] == run_id:
            files[parsed[2]] = entry.oid
    if run_id:
        yield _Run(run_id, tree, sorted(files), _oids(files, names))


def _oids(files: Mapping[str, str], names: Sequence[str]) -> tuple[str, str, str]:
    found = [files.get(name, NO_FILE) for name in names]
    return found[0], found[1], found[2]


def _range_bounds(keys: Sequence[str]) -> list[tuple[str, str]]:
    """[low, high) ranges of first-level prefixes holding about RANGE_RUNS keys each."""
    bounds: list[tuple[str, str]] = []
    low, count = "", 0
    for i, key in enumerate(keys):
        count += 1
        prefix = key[:FIRST_LEVEL]
        following = keys[i + 1][:FIRST_LEVEL] if i + 1 < len(keys) else None
        if following is None or (count >= RANGE_RUNS and following != prefix):
            high = following if following is not None else "\U0010ffff"
            bounds.append((low, high))
            low, count = high, 0
    return bounds
