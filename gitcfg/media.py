"""Media values for `log()`, as wandb's: `gitcfg.Image`, `gitcfg.Table` and the ones not recorded.

`Image` and `Table` are encoded to files (`media/<key>/<step>.png`, `.json`) that the run keeps
until its final commit; the metric row holds a reference (`{"_type": "image", "path": ...}`).
`Histogram`, `Html`, `Audio`, `Video`, `Object3D` and `gitcfg.plot.*` charts are accepted and
skipped with one warning per key. Pure: encoding only, no files, no git; never imports numpy,
Pillow, torch or pandas unless the value given is one of theirs.
"""

from __future__ import annotations

import io
import json
import os
import struct
import sys
import zlib
from collections.abc import Sequence
from typing import Any

from gitcfg.errors import ConfigError

# A media key becomes a directory: characters other than these are replaced by "_".
_SAFE_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/")


class Media:
    """A value `log()` records as a file (Image, Table) or skips (the others)."""

    _type = "media"
    recorded = False  # False: accepted, skipped with one warning per key

    def encode(self) -> tuple[bytes, str, dict[str, Any]]:
        """(file content, file extension, extra reference fields)."""
        raise NotImplementedError


class Image(Media):
    """An image: a numpy array (HxW, HxWx1/3/4, or CxHxW), a torch tensor, a PIL image or a path.

    Arrays are written as PNG by gitcfg itself (no Pillow needed): floats in [0, 1] are scaled to
    0-255, other values clipped to 0-255. A PIL image is saved with Pillow's PNG writer. A path is
    stored as its bytes with its extension.
    """

    _type = "image"
    recorded = True

    def __init__(
        self,
        data_or_path: Any,
        mode: str | None = None,
        caption: str | None = None,
        grouping: int | None = None,
        classes: Any = None,
        boxes: Any = None,
        masks: Any = None,
        file_type: str | None = None,
        normalize: bool = True,
    ) -> None:
        self._data = data_or_path
        self.caption = caption
        self._normalize = normalize

    def encode(self) -> tuple[bytes, str, dict[str, Any]]:
        data = self._data
        extra: dict[str, Any] = {}
        if self.caption is not None:
            extra["caption"] = str(self.caption)
        if isinstance(data, (str, os.PathLike)):
            path = os.fspath(data)
            ext = os.path.splitext(str(path))[1].lstrip(".").lower() or "bin"
            with open(path, "rb") as f:
                return f.read(), ext, extra
        if _is_pil_image(data):
            buffer = io.BytesIO()
            data.save(buffer, format="PNG")
            extra.update(width=int(data.width), height=int(data.height))
            return buffer.getvalue(), "png", extra
        pixels = _pixels(data, self._normalize)
        height, width = len(pixels), len(pixels[0]) if pixels else 0
        extra.update(width=width, height=height)
        return encode_png(pixels), "png", extra


class Table(Media):
    """A table: `Table(columns=[...], data=[[...], ...])`, `rows=`, or `dataframe=` (pandas).
    `add_data(*row)` appends a row. Stored as JSON: {"columns": [...], "data": [[...], ...]}."""

    _type = "table"
    recorded = True

    def __init__(
        self,
        columns: Sequence[Any] | None = None,
        data: Any = None,
        rows: Any = None,
        dataframe: Any = None,
        dtype: Any = None,
        optional: Any = True,
        allow_mixed_types: bool = False,
        log_mode: str | None = None,
    ) -> None:
        frame = dataframe
        if frame is None and _is_dataframe(data):
            frame, data = data, None
        if frame is not None:
            self.columns = [str(c) for c in frame.columns]
            self.data = [list(row) for row in frame.itertuples(index=False, name=None)]
            return
        body = data if data is not None else rows
        self.data = [list(row) for row in body] if body is not None else []
        if columns is None:
            width = len(self.data[0]) if self.data else 0
            columns = [f"col{i}" for i in range(width)]
        self.columns = [str(c) for c in columns]

    def add_data(self, *row: Any) -> None:
        self.data.append(list(row))

    def add_column(self, name: str, data: Sequence[Any]) -> None:
        self.columns.append(str(name))
        values = list(data)
        if not self.data:
            self.data = [[] for _ in values]
        for row, value in zip(self.data, values, strict=False):
            row.append(value)

    def get_column(self, name: str) -> list[Any]:
        index = self.columns.index(name)
        return [row[index] for row in self.data]

    def encode(self) -> tuple[bytes, str, dict[str, Any]]:
        from gitcfg.configuration import normalise_value

        rows = [
            [
                _cell(value, f"{column}[{i}]", normalise_value)
                for column, value in zip(self.columns, row, strict=False)
            ]
            for i, row in enumerate(self.data)
        ]
        document = {"columns": self.columns, "data": rows}
        text = json.dumps(document, ensure_ascii=False, allow_nan=True)
        return text.encode(), "json", {"ncols": len(self.columns), "nrows": len(rows)}


def _cell(value: Any, key: str, normalise: Any) -> Any:
    """A table cell as plain JSON; a cell with no faithful form (an Image in a table) is None."""
    if isinstance(value, Media):
        return None
    try:
        return normalise(value, key)
    except (TypeError, ValueError, ConfigError):  # UnsupportedValue is a ConfigError
        return None


class _Skipped(Media):
    """Accepted for wandb compatibility; not recorded."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass


class Histogram(_Skipped):
    _type = "histogram"


class Html(_Skipped):
    _type = "html"


class Audio(_Skipped):
    _type = "audio"


class Video(_Skipped):
    _type = "video"


class Object3D(_Skipped):
    _type = "object3D"


class Molecule(_Skipped):
    _type = "molecule"


class Plotly(_Skipped):
    _type = "plotly"


class CustomChart(_Skipped):
    """What `gitcfg.plot.line(...)`, `.scatter`, `.bar`, `.histogram`, `.confusion_matrix`,
    `.pr_curve`, `.roc_curve`, `.line_series` return."""

    _type = "chart"


def media_dir(key: str) -> str:
    """The directory of a key's media files, relative to the run directory: `media/<key>`.

    Characters outside [A-Za-z0-9._-/] become "_", and so do empty, `.` and `..` parts, so a key
    never names a path outside media/.
    """
    safe = "".join(c if c in _SAFE_KEY_CHARS else "_" for c in key)
    parts = [p if p not in ("", ".", "..") else "_" for p in safe.split("/")]
    return "media/" + "/".join(parts)


# --- images: pixels and PNG --------------------------------------------------------------------


def _is_pil_image(value: object) -> bool:
    pil = sys.modules.get("PIL.Image")
    return pil is not None and isinstance(value, pil.Image)


def _is_dataframe(value: object) -> bool:
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(value, pandas.DataFrame)


def _pixels(data: Any, normalize: bool) -> list[list[Any]]:
    """Rows of pixels (ints, or lists of 1, 3 or 4 ints), each 0-255, from an array-like."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(data, torch.Tensor):
        data = data.detach().cpu().numpy()
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(data, numpy.ndarray):
        array = data
        if array.ndim == 3 and array.shape[0] in (1, 3, 4) and array.shape[-1] not in (1, 3, 4):
            array = array.transpose(1, 2, 0)  # channels first (torch's layout) to last
        if array.ndim == 3 and array.shape[-1] == 1:
            array = array[:, :, 0]
        if array.ndim not in (2, 3):
            raise ValueError(f"an image array must have 2 or 3 dimensions, not {array.ndim}")
        if array.dtype.kind == "f" and normalize:
            finite = array[numpy.isfinite(array)]
            if finite.size and finite.min() >= 0 and finite.max() <= 1:
                array = array * 255
            array = numpy.nan_to_num(array)
        array = numpy.clip(array, 0, 255).astype("uint8")
        return array.tolist()  # type: ignore[no-any-return]
    rows = [list(row) for row in data]
    return [[_channel(v) for v in row] for row in rows]


def _channel(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_channel(v) for v in value]
    number = float(value)
    return int(
        min(max(number * 255 if 0 <= number <= 1 and isinstance(value, float) else number, 0), 255)
    )


def encode_png(pixels: list[list[Any]]) -> bytes:
    """An 8-bit PNG of `pixels` (rows of gray ints, or of [r, g, b] / [r, g, b, a] / [gray] lists)."""
    height = len(pixels)
    width = len(pixels[0]) if height else 0
    first = pixels[0][0] if height and width else 0
    channels = len(first) if isinstance(first, list) else 1
    color_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    raw = bytearray()
    for row in pixels:
        raw.append(0)  # filter type: none
        if channels == 1:
            raw.extend(v[0] if isinstance(v, list) else v for v in row)
        else:
            for v in row:
                raw.extend(v)
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(bytes(raw), 6))
        + _png_chunk(b"IEND", b"")
    )


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)
