"""Text clean-up every format parser shares: one line of prose, a block of lines, a section, a fallback title."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from knowledge.records import Section

# bullets and sentence ends as they appear in extracted text (PDF, plain text)
SENTENCE_END = (".", "!", "?", ":", ";")
BULLET_LINE = re.compile(r"^\s*([-•▪●◦*]|\d{1,3}[.)])\s+")


_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000\f\v]+")


def normalise_inline(text: str) -> str:
    """One line of prose: NFC, no zero-width characters, single spaces."""
    text = unicodedata.normalize("NFC", text)
    text = _ZERO_WIDTH.sub("", text)
    return SPACES.sub(" ", text.replace("\r", " ").replace("\n", " ")).strip()


def normalise_block(text: str) -> str:
    """Multi-line text: lines keep their breaks (lists, table rows), at most one blank line between paragraphs."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _ZERO_WIDTH.sub("", text)
    lines = [_nested_indent(line) + SPACES.sub(" ", line).strip() for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def _nested_indent(line: str) -> str:
    """Leading spaces survive (up to 8): parsers only emit them for nested list items and nested YAML keys."""
    line = line.expandtabs(4)
    lead = len(line) - len(line.lstrip(" "))
    return " " * min(lead, 8) if line.strip() else ""


def clean_section(section: Section) -> Section:
    return Section(heading=normalise_inline(section.heading), text=normalise_block(section.text))


def title_from_filename(path: Path) -> str:
    stem = re.sub(r"[-_]+", " ", path.stem).strip()
    return stem[:1].upper() + stem[1:] if stem else path.name


def join_lines(lines: Iterable[str]) -> str:
    return normalise_block("\n".join(lines))
