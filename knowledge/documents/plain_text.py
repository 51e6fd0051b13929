"""Plain-text notes: short standalone lines and underlined lines are headings; wrapped lines rejoin their paragraph."""
from __future__ import annotations

import re
from pathlib import Path

from knowledge.documents.base import Parsed, read_text
from knowledge.documents.normalise import BULLET_LINE, join_lines, normalise_inline
from knowledge.records import Section

_UNDERLINE = re.compile(r"^\s*(=+|-+)\s*$")


def parse_txt(path: Path) -> Parsed:
    text = read_text(path).replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    # paragraphs: runs of non-blank lines; an underline (=== / ---) marks the line above as a heading
    paragraphs: list[list[str]] = []
    block: list[str] = []
    for line in lines:
        if not line.strip():
            if block:
                paragraphs.append(block)
                block = []
        elif _UNDERLINE.match(line) and block:
            if len(block) > 1:
                paragraphs.append(block[:-1])
            paragraphs.append(["# " + block[-1].strip()])
            block = []
        else:
            block.append(line)
    if block:
        paragraphs.append(block)

    title = ""
    first = paragraphs[0] if paragraphs else []
    if len(first) == 1 and len(paragraphs) > 1 and _txt_heading(first[0], allow_sentence=False) is not None:
        title = _txt_heading(first[0], allow_sentence=False) or ""
        paragraphs = paragraphs[1:]

    sections: list[Section] = []
    heading = ""
    out: list[str] = []
    for n, para in enumerate(paragraphs):
        is_last = n == len(paragraphs) - 1
        candidate = _txt_heading(para[0]) if len(para) == 1 and not is_last else None
        body = para
        if candidate is None and len(para) > 1 and _txt_leading_heading(para):
            candidate, body = _txt_heading(para[0]), para[1:]  # "Agenda" directly above its first line
        if candidate:
            if heading or any(out):
                sections.append(Section(heading, join_lines(out)))
            heading, out = candidate, []
            if body is para:
                continue
        out.extend([*_txt_paragraph(body), ""])
    if heading or any(out):
        sections.append(Section(heading, join_lines(out)))
    return Parsed(title=title, sections=sections)


def _txt_leading_heading(para: list[str]) -> bool:
    """A very short first line over a longer line or a bullet is a heading, not the start of a wrapped paragraph."""
    first, second = normalise_inline(para[0]), normalise_inline(para[1])
    if len(first.split()) > 6 or first.endswith(":") or _txt_heading(first) is None:
        return False
    return bool(BULLET_LINE.match(second)) or len(second) > 2 * len(first)


def _txt_heading(line: str, allow_sentence: bool = True) -> str | None:
    """A short line standing alone, without sentence punctuation, reads as a heading in notes."""
    text = normalise_inline(line)
    if text.startswith("#"):
        return text.lstrip("#").strip() or None
    if not text or BULLET_LINE.match(text) or len(text.split()) > 10:
        return None
    if text.endswith((".", ",", ";", "!")) or (not allow_sentence and text.endswith("?")):
        return None
    if not (text[0].isupper() or text[0].isdigit()):
        return None
    return text.rstrip(":").strip() or None


def _txt_paragraph(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        clean = normalise_inline(line)
        if BULLET_LINE.match(clean):
            out.append(re.sub(r"^[•▪●◦*]\s+", "- ", clean))
        elif out and (BULLET_LINE.match(out[-1]) and line[:1].isspace() or not BULLET_LINE.match(out[-1])):
            out[-1] += " " + clean  # a wrapped line continues the paragraph or the indented bullet above
        else:
            out.append(clean)
    return out
