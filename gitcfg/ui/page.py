"""The page of `gitcfg ui` and `gitcfg report`: its files, the data tag, and the inlined report.

The page is `static/index.html` with its scripts and styles beside it. The server and the report
both insert `<script type="application/json" id="gitcfg-data">` right after `<head>`; its JSON is
escaped (`<`, `>`, `&`, U+2028, U+2029 as `\\uXXXX`) so that no string from a run can end the
element: a run named `</script><script>alert(1)</script>` stays text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

STATIC_DIR = Path(__file__).resolve().parent / "static"
DATA_ID = "gitcfg-data"

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
}
_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_ESCAPED = re.compile("[<>&\u2028\u2029]")
_HEAD = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)
_SCRIPT_SRC = re.compile(
    r"<script\b([^>]*?)\bsrc\s*=\s*([\"'])([^\"']+)\2([^>]*)>\s*</script\s*>", re.IGNORECASE
)
_STYLESHEET = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
_HREF = re.compile(r"\bhref\s*=\s*([\"'])([^\"']+)\1", re.IGNORECASE)


def static_type(name: str) -> str:
    """The Content-Type of a file of the page, by its extension."""
    return _TYPES.get(Path(name).suffix.lower(), "application/octet-stream")


def safe_json(document: Any) -> str:
    """`document` as JSON that can sit inside a <script> element: `<`, `>`, `&`, U+2028 and
    U+2029 written as \\u escapes (JSON.parse reads them back), NaN and inf as null."""
    from gitcfg.ui.data import encode

    text = encode(document).decode()
    return _ESCAPED.sub(lambda match: _ESCAPES[match.group()], text)


def embed_data(page: str, document: Any) -> str:
    """`page` with the data tag holding `document` inserted right after <head> (or in front)."""
    tag = f'<script type="application/json" id="{DATA_ID}">{safe_json(document)}</script>'
    match = _HEAD.search(page)
    if match is None:
        return tag + page
    return page[: match.end()] + tag + page[match.end() :]


def _local(url: str) -> Path | None:
    """The file of static/ that a relative URL (`app.js`, `./vendor/echarts.min.js`,
    `/static/app.js`) names; None for any other URL."""
    if re.match(r"^[a-z][a-z0-9+.-]*:|^//", url, re.IGNORECASE):
        return None
    relative = url.split("?", 1)[0].split("#", 1)[0].removeprefix("/static/").lstrip("./")
    base = STATIC_DIR.resolve()
    path = (base / relative).resolve()
    return path if path.is_relative_to(base) and path.is_file() else None


def inline_assets(page: str) -> str:
    """`page` with each <script src> and stylesheet <link> of static/ replaced by its content,
    and any other <link> to a file (icons) dropped: the page then needs no other file."""

    def script(match: re.Match[str]) -> str:
        path = _local(match.group(3))
        if path is None:
            return match.group(0)
        code = path.read_text(encoding="utf-8")
        # Nothing in the code may end the element or start HTML's "script data escaped" state.
        code = re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE).replace("<!--", "<\\!--")
        return f"<script{match.group(1)}{match.group(4)}>{code}</script>"

    def link(match: re.Match[str]) -> str:
        tag = match.group(0)
        href = _HREF.search(tag)
        if href is None:
            return tag
        path = _local(href.group(2))
        if path is None:
            return tag
        if "stylesheet" in tag.lower():
            css = re.sub(r"</(style)", r"<\\/\1", path.read_text(encoding="utf-8"), flags=re.I)
            return f"<style>{css}</style>"
        return ""

    return _STYLESHEET.sub(link, _SCRIPT_SRC.sub(script, page))


def read_page() -> str:
    """static/index.html."""
    return (STATIC_DIR / "index.html").read_text(encoding="utf-8")
