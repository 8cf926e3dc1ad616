"""Media values in log(): Image and Table stored as files under the run (`media/<key>/<step>.png`,
`.json`) with a reference in the metric row; the other media and gitcfg.plot.* charts accepted and
skipped with one warning per key; a media value never fails the run."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from conftest import git, read_branch_file, run_python, write_script

from gitcfg.media import Image, Table, encode_png, media_dir
from gitcfg.store import run_dir


def _run(repo: Path, body: str) -> tuple[str, str]:
    proc = run_python(repo, write_script(repo / "media_script.py", body))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()[-1], proc.stderr


def _rows(repo: Path, run_id: str) -> list[dict[str, Any]]:
    text = read_branch_file(repo, f"{run_dir(run_id)}/metrics.jsonl")
    return [json.loads(line) for line in text.splitlines()]


def _blob(repo: Path, run_id: str, path: str) -> bytes:
    import subprocess

    return subprocess.run(
        ["git", "show", f"gitcfg-runs:{run_dir(run_id)}/{path}"],
        cwd=repo,
        capture_output=True,
        check=True,
    ).stdout


def _png_size_and_pixels(data: bytes) -> tuple[int, int, int, bytes]:
    """(width, height, colour type, raw scanlines) of an 8-bit PNG, read by hand."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8
    return width, height, colour, zlib.decompress(idat)


MEDIA = """
import numpy as np, pandas as pd, gitcfg
run = gitcfg.track({"lr": 0.1})
for step in range(2):
    gitcfg.log({
        "loss": 1.0 / (step + 1),
        "val/img": gitcfg.Image(np.full((4, 6, 3), 0.5), caption="half grey"),
        "table": gitcfg.Table(columns=["x", "y"], data=[[1, np.float32(0.1)], [2, "b"]]),
        "df": gitcfg.Table(dataframe=pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5]})),
        "batch": [gitcfg.Image(np.zeros((2, 2), dtype=np.uint8)) for _ in range(3)],
        "hist": gitcfg.Histogram([1, 2, 3]),
        "html": gitcfg.Html("<b>x</b>"),
        "audio": gitcfg.Audio(np.zeros(10), sample_rate=16000),
        "video": gitcfg.Video(np.zeros((1, 3, 2, 2))),
        "cloud": gitcfg.Object3D(np.zeros((5, 3))),
        "chart": gitcfg.plot.line(gitcfg.Table(columns=["x", "y"], data=[[0, 1]]), "x", "y"),
        "cm": gitcfg.plot.confusion_matrix(y_true=[0, 1], preds=[0, 1], class_names=["a", "b"]),
    })
t = gitcfg.Table(columns=["k"])
t.add_data("v1")
t.add_data("v2")
gitcfg.log({"added": t})
print(run.id)
"""


def test_image_and_table_are_files_on_the_branch_with_references_in_the_rows(repo: Path) -> None:
    pytest.importorskip("numpy")
    pytest.importorskip("pandas")
    run_id, stderr = _run(repo, MEDIA)
    rows = _rows(repo, run_id)
    assert rows[0]["val/img"] == {
        "_type": "image",
        "path": "media/val/img/0.png",
        "caption": "half grey",
        "width": 6,
        "height": 4,
    }
    assert rows[1]["table"] == {
        "_type": "table",
        "path": "media/table/1.json",
        "ncols": 2,
        "nrows": 2,
    }
    assert [ref["path"] for ref in rows[0]["batch"]] == [
        "media/batch/0_0.png",
        "media/batch/0_1.png",
        "media/batch/0_2.png",
    ]
    for key in ("hist", "html", "audio", "video", "cloud", "chart", "cm"):
        assert key not in rows[0] and key not in rows[1]
        assert stderr.count(f"'{key}' is a ") == 1  # one warning per key, not per step
    width, height, colour, raw = _png_size_and_pixels(_blob(repo, run_id, "media/val/img/1.png"))
    assert (width, height, colour) == (6, 4, 2)
    assert raw == (b"\x00" + bytes([127]) * 18) * 4  # 0.5 scaled to 0-255
    table = json.loads(_blob(repo, run_id, "media/table/0.json"))
    assert table == {"columns": ["x", "y"], "data": [[1, 0.1], [2, "b"]]}
    frame = json.loads(_blob(repo, run_id, "media/df/1.json"))
    assert frame == {"columns": ["a", "b"], "data": [[1, 0.5], [2, 1.5]]}
    added = json.loads(_blob(repo, run_id, "media/added/2.json"))
    assert added == {"columns": ["k"], "data": [["v1"], ["v2"]]}
    listed = git(repo, "ls-tree", "-r", "--name-only", "gitcfg-runs", run_dir(run_id) + "/media")
    assert len(listed.splitlines()) == 2 * (1 + 1 + 1 + 3) + 1


def test_an_image_from_a_path_keeps_its_bytes_and_extension(repo: Path) -> None:
    (repo / "pic.jpg").write_bytes(b"\xff\xd8jpegbytes")
    run_id, _ = _run(
        repo,
        """
        import gitcfg
        run = gitcfg.track({"lr": 0.1})
        gitcfg.log({"photo": gitcfg.Image("pic.jpg")})
        print(run.id)
        """,
    )
    assert _rows(repo, run_id)[0]["photo"] == {"_type": "image", "path": "media/photo/0.jpg"}
    assert _blob(repo, run_id, "media/photo/0.jpg") == b"\xff\xd8jpegbytes"


def test_a_media_value_that_cannot_be_encoded_never_fails_the_run(repo: Path) -> None:
    run_id, stderr = _run(
        repo,
        """
        import gitcfg
        run = gitcfg.track({"lr": 0.1})
        gitcfg.log({"loss": 1.0, "photo": gitcfg.Image("does-not-exist.png")})
        gitcfg.log({"loss": 0.5, "photo": gitcfg.Image("does-not-exist.png")})
        print(run.id)
        """,
    )
    rows = _rows(repo, run_id)
    assert [row["loss"] for row in rows] == [1.0, 0.5] and "photo" not in rows[0]
    assert "cannot record the image logged as 'photo'" in stderr


def test_images_over_the_size_limit_are_skipped_with_a_warning(repo: Path) -> None:
    git(repo, "config", "gitcfg.maxFileBytes", "200")
    run_id, stderr = _run(
        repo,
        """
        import numpy as np, gitcfg
        run = gitcfg.track({"lr": 0.1})
        rng = np.random.default_rng(0)
        gitcfg.log({"noise": gitcfg.Image(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))})
        gitcfg.log({"tiny": gitcfg.Image(np.zeros((2, 2), dtype=np.uint8))})
        print(run.id)
        """,
    )
    rows = _rows(repo, run_id)
    assert "noise" not in rows[0] and rows[1]["tiny"]["path"] == "media/tiny/1.png"
    assert "media/noise/0.png" in stderr and "gitcfg.maxFileBytes" in stderr


def test_an_array_image_needs_no_pillow() -> None:
    np = pytest.importorskip("numpy")
    content, ext, extra = Image(np.arange(6, dtype=np.uint8).reshape(2, 3)).encode()
    assert ext == "png" and extra == {"width": 3, "height": 2}
    assert _png_size_and_pixels(content) == (3, 2, 0, b"\x00\x00\x01\x02\x00\x03\x04\x05")
    chw = Image(np.zeros((3, 5, 7), dtype=np.float32)).encode()[2]  # torch's channels-first
    assert chw == {"width": 7, "height": 5}


def test_pil_images_are_saved_with_pillow() -> None:
    pil = pytest.importorskip("PIL.Image")
    content, ext, extra = Image(pil.new("RGB", (3, 2), (255, 0, 0))).encode()
    assert ext == "png" and extra == {"width": 3, "height": 2}
    assert _png_size_and_pixels(content)[:3] == (3, 2, 2)


def test_media_keys_never_name_a_path_outside_media() -> None:
    assert media_dir("val/img") == "media/val/img"
    assert media_dir("../../etc/x") == "media/_/_/etc/x"
    assert media_dir("a b/./c") == "media/a_b/_/c"


def test_tables_from_rows_and_lists() -> None:
    assert Table(columns=["a"], rows=[[1], [2]]).encode()[2] == {"ncols": 1, "nrows": 2}
    assert json.loads(Table(data=[[1, 2]]).encode()[0]) == {
        "columns": ["col0", "col1"],
        "data": [[1, 2]],
    }
    assert encode_png([[0]])[:8] == b"\x89PNG\r\n\x1a\n"
