"""DOCX documents: heading styles become sections, lists and tables keep one line per item or row."""
from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

from knowledge.documents.base import GENERIC_TITLES, MAX_DOCX_UNCOMPRESSED_BYTES, MB, DocumentError, Parsed
from knowledge.documents.normalise import join_lines, normalise_inline
from knowledge.records import Section


def parse_docx(path: Path) -> Parsed:
    try:
        with zipfile.ZipFile(path) as archive:
            # Declared sizes bound what zipfile will inflate (it stops at file_size and fails the CRC),
            # so their sum is an honest upper bound on what python-docx can be made to read.
            total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DocumentError("not a valid DOCX file (corrupt or not a zip archive)") from exc
    if total > MAX_DOCX_UNCOMPRESSED_BYTES:
        raise DocumentError(f"DOCX expands beyond {MAX_DOCX_UNCOMPRESSED_BYTES // MB} MB (zip bomb?)")

    import docx  # noqa: PLC0415 - python-docx pulls lxml; only DOCX folders pay for it
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(str(path))
        title = normalise_inline(document.core_properties.title or "")
        sections: list[Section] = []
        heading = ""
        lines: list[str] = []
        style_title = ""
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                lines.extend(["", *_docx_table(block), ""])
                continue
            if not isinstance(block, Paragraph):
                continue
            text = normalise_inline(block.text)
            style = (block.style.name if block.style is not None else "") or ""
            if not text:
                lines.append("")
                continue
            level = _docx_heading_level(style)
            if style == "Title":
                style_title = style_title or text
                continue
            if level and level <= 4:
                if heading or any(lines):
                    sections.append(Section(heading, join_lines(lines)))
                heading, lines = text, []
            elif style.startswith("List") or _docx_is_numbered(block):
                lines.append(("1. " if "Number" in style else "- ") + text)
            else:
                lines.extend([text, ""])
        if heading or any(lines):
            sections.append(Section(heading, join_lines(lines)))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise DocumentError("not a valid DOCX file") from exc
    if not title or title.lower() in GENERIC_TITLES:
        title = style_title or next((s.heading for s in sections if s.heading), "")
    return Parsed(title=title, sections=sections)


def _docx_heading_level(style: str) -> int:
    match = re.fullmatch(r"Heading\s*(\d)", style.strip(), re.I)
    return int(match.group(1)) if match else 0


def _docx_is_numbered(paragraph: Any) -> bool:
    ppr = paragraph._p.pPr  # noqa: SLF001 - python-docx has no public API for direct numbering
    return ppr is not None and ppr.numPr is not None


def _docx_table(table: Any) -> list[str]:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            if previous is not None and cell._tc is previous:  # noqa: SLF001 - merged cells repeat per grid column
                continue
            previous = cell._tc  # noqa: SLF001
            cells.append(normalise_inline(cell.text))
        if any(cells):
            rows.append(" | ".join(cells))
    return rows
