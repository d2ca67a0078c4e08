"""Make host-controlled text safe for a terminal, for XML and for JSON.

Mount sources, file names, labels and image names come from the host and can hold anything:
escape sequences that would repaint an operator's terminal, characters XML 1.0 forbids, bytes that
are not UTF-8. Reporters pass every such string through here; what the tool writes itself (colours)
is added afterwards.
"""
from __future__ import annotations

import re

# C0 and C1 controls, DEL, and the Unicode format characters that reorder or hide text (bidi
# overrides and isolates, zero-width joiners and the like), plus lone surrogates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]")
# Characters XML 1.0 cannot carry at all, even escaped.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
MAX_FIELD = 2000


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object, limit: int = MAX_FIELD) -> str:
    """One line of text with every control and invisible character shown as an escape."""
    value = str(text)
    if len(value) > limit:
        value = value[:limit] + "..."
    return _UNSAFE.sub(_escape, value)


def xml_text(text: object, limit: int = 20000) -> str:
    value = str(text)
    if len(value) > limit:
        value = value[:limit] + "..."
    return _XML_INVALID.sub(_escape, value)


_SURROGATE = re.compile("[\ud800-\udfff]")


def json_text(text: str) -> str:
    """Lone surrogates (from undecodable file names) cannot be encoded as UTF-8: escape them."""
    if text.isascii():  # nearly every string of a report; no regex call for those
        return text
    return _SURROGATE.sub(_escape, text)
