"""Bytes of a text file to str, by one rule shared by documents, tables (CSV) and structured files (YAML, JSON).

The rule, in order:
1. a byte-order mark names the encoding (UTF-8, UTF-16 or UTF-32);
2. otherwise UTF-8;
3. otherwise, if the bytes hold NULs, UTF-16 without a BOM (little- or big-endian, told apart by where
   the NULs of mostly-ASCII text fall);
4. otherwise Windows-1252 (what Excel and Notepad on Windows write), and Latin-1 when the file uses one
   of the five bytes cp1252 leaves undefined (Latin-1 maps every byte, so nothing is lost or replaced).
Exports from Windows tools arrive in all of these. Only content that looks binary (NULs that are not
UTF-16, or more than 5% control characters) is refused, with `NotTextError`.
"""
from __future__ import annotations

import re

__all__ = ["NOT_TEXT", "NotTextError", "decode_text"]

NOT_TEXT = "not valid UTF-8/UTF-16/Latin-1 text"
_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


class NotTextError(ValueError):
    """Bytes that are not text in any encoding we accept; `reason` is short and meant for the folder's owner."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def decode_text(raw: bytes) -> str:
    """Decode by the module's rule; raises `NotTextError` for binary content or a BOM that lies."""
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(codec)
            except UnicodeDecodeError as exc:
                raise NotTextError(f"{NOT_TEXT} (bad {codec})") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        if b"\x00" in raw:
            text = _decode_utf16_without_bom(raw)
        else:
            try:
                text = raw.decode("cp1252")
            except UnicodeDecodeError:  # cp1252 leaves five bytes undefined; Latin-1 maps every byte
                text = raw.decode("latin-1")
    else:
        if "\x00" in text:  # valid UTF-8 can still hold NULs: UTF-16 of ASCII text, or a binary file
            text = _decode_utf16_without_bom(raw)
    sample = text[:8192]
    if sample and len(_CONTROL.findall(sample)) > 0.05 * len(sample):
        raise NotTextError(f"{NOT_TEXT} (looks binary)")
    return text


def _decode_utf16_without_bom(raw: bytes) -> str:
    # UTF-16 text that is mostly ASCII has a NUL in every other byte; a binary file has NULs anywhere.
    sample = raw[:8192]
    even, odd = sample[0::2], sample[1::2]
    even_nul, odd_nul = even.count(0) / max(len(even), 1), odd.count(0) / max(len(odd), 1)
    codec = None
    if odd_nul > 0.3 and even_nul < 0.05:
        codec = "utf-16-le"
    elif even_nul > 0.3 and odd_nul < 0.05:
        codec = "utf-16-be"
    if codec and len(raw) % 2 == 0:
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            pass
    raise NotTextError(f"{NOT_TEXT} (looks binary)")
