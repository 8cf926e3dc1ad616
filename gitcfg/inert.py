"""Inert text: strings from run data written so that a terminal cannot act on them.

Its own module at the bottom of the import graph: errors.py, rows.py and every renderer use it.
"""

from __future__ import annotations


def inert(text: str, keep: str = "") -> str:
    """`text` as one inert line: every control character (C0, DEL, C1, line and paragraph
    separators, bidi and other format characters, lone surrogates) written as a visible escape,
    `\\x1b`, `\\n`, `\\u202e`, so a string from run data can neither move the cursor, set
    the clipboard (OSC 52), retitle the terminal nor break a line. Every renderer uses this;
    `keep` names characters left as they are (`"\\n\\t"` for a block of lines, as csv quotes)."""
    if text.isprintable() or (keep and _strip(text, keep).isprintable()):
        return text
    return "".join(_inert_char(char, keep) for char in text)


def inert_lines(text: str) -> str:
    """`text` with its line breaks and tabs kept, every other control character escaped (a
    traceback, a block of lines)."""
    return inert(text, "\n\t")


def inert_json(text: str) -> str:
    """JSON text (from json.dumps(..., ensure_ascii=False)) with the control characters json
    leaves raw (DEL, C1, U+2028, bidi controls, lone surrogates) as `\\u` escapes: the same
    document, inert on a terminal."""
    if text.replace("\n", " ").isprintable():
        return text
    return "".join(_json_char(char) for char in text)


def _json_char(char: str) -> str:
    import unicodedata

    if char == "\n" or unicodedata.category(char) not in _CONTROLS:
        return char
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _strip(text: str, chars: str) -> str:
    for char in chars:
        text = text.replace(char, " ")
    return text


_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
_CONTROLS = frozenset(("Cc", "Cf", "Cs", "Zl", "Zp"))  # unicodedata categories escaped


def _inert_char(char: str, keep: str) -> str:
    import unicodedata

    if char in keep or unicodedata.category(char) not in _CONTROLS:
        return char  # printable, or a space such as U+00A0 that moves nothing
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
