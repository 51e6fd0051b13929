"""What every format parser shares: the error it raises, the result it returns, the size limits, the text reader."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from knowledge import text
from knowledge.records import Section

MB = 1024 * 1024
MAX_DOCUMENT_BYTES = 25 * MB            # per file, before parsing; larger files are skipped
MAX_DOCX_UNCOMPRESSED_BYTES = 50 * MB   # sum of a DOCX's declared member sizes (zip-bomb guard)
# titles that tools leave behind and that name nothing ("Include file", "Untitled")
GENERIC_TITLES = {"include file", "include", "untitled", "title"}


class DocumentError(Exception):
    """A document that cannot be read; `reason` is short and meant for the person who owns the folder."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Parsed:
    """What a format parser found, before the shared clean-up and access rules are applied."""

    title: str
    sections: list[Section]
    kind: str = "document"
    front: dict[str, Any] | None = None  # front matter / metadata mapping that may set visibility
    empty_hint: str = ""


def decode_text(raw: bytes) -> str:
    """Bytes of a text document to str by the rule of `knowledge.text`; binary content is a `DocumentError`."""
    try:
        return text.decode_text(raw)
    except text.NotTextError as exc:
        raise DocumentError(exc.reason) from exc


def read_text(path: Path) -> str:
    return decode_text(path.read_bytes())


def yaml_where(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    return f" (line {mark.line + 1})" if mark is not None else ""
