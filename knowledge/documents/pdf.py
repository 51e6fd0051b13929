"""PDF documents: text per page, headings from font size, running headers and footers dropped, lines reflowed."""
from __future__ import annotations

import logging
import re
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge.documents.base import GENERIC_TITLES, DocumentError, Parsed
from knowledge.documents.normalise import BULLET_LINE, SENTENCE_END, join_lines, normalise_inline
from knowledge.records import Section

log = logging.getLogger(__name__)


def parse_pdf(path: Path) -> Parsed:
    from pypdf import PdfReader  # noqa: PLC0415 - only PDF folders pay for the import
    from pypdf.errors import DependencyError, PyPdfError

    with path.open("rb") as fh:
        if b"%PDF-" not in fh.read(1024):
            raise DocumentError("not a PDF file")
        fh.seek(max(0, path.stat().st_size - 4096))
        if b"%%EOF" not in fh.read():
            # pypdf would rebuild a cut-off file from the objects it can find and return half a document.
            raise DocumentError("truncated or corrupt PDF")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pypdf warns about every harmless oddity of real-world files
            reader = PdfReader(path, strict=False)
            if reader.is_encrypted:
                try:
                    opened = reader.decrypt("")  # owner-password-only PDFs open with an empty user password
                except DependencyError as exc:
                    raise DocumentError("encrypted PDF (needs the cryptography package)") from exc
                if not opened:
                    raise DocumentError("encrypted PDF")
            title = _pdf_title(reader)
            pages = [_pdf_page(page) for page in reader.pages]
            if not pages:
                raise DocumentError("truncated or corrupt PDF (no pages)")
    except DocumentError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError,
            RecursionError, ZeroDivisionError, AssertionError) as exc:
        log.debug("pypdf failed on %s", path, exc_info=True)
        raise DocumentError("truncated or corrupt PDF") from exc
    sections = _pdf_sections(pages)
    if not title:
        title = next((s.heading for s in sections if s.heading and not s.heading.startswith("Page ")), "")
    return Parsed(title=title, sections=sections, empty_hint=" (scanned images? only text PDFs are read)")


def _pdf_title(reader: Any) -> str:
    try:
        meta = reader.metadata
        title = normalise_inline(str(meta.title or "")) if meta else ""
    except Exception:  # noqa: BLE001 - a broken info dictionary only costs us the title
        return ""
    # Titles Word and print drivers leave behind ("Microsoft Word - x.docx", "untitled") are not titles.
    if not title or title.lower() in GENERIC_TITLES or re.search(r"\.(docx?|pptx?|pdf|txt)$", title, re.I) \
            or title.lower().startswith("microsoft word -"):
        return ""
    return title


@dataclass
class _PdfPage:
    text: str
    runs: list[tuple[float, str]]  # (effective font size, text) of every text run on the page
    headings: set[str]


def _pdf_page(page: Any) -> _PdfPage:
    runs: list[tuple[float, str]] = []

    def visit(text: str, cm: Any, tm: Any, font: Any, size: float) -> None:
        if text and text.strip() and size:
            # the size operand is scaled by the text and graphics matrices; their y-scale is the rendered size
            scale = abs(float(tm[3]) or float(tm[0]) or 1.0) * abs(float(cm[3]) or float(cm[0]) or 1.0)
            runs.append((round(float(size) * scale, 1), text.strip()))

    return _PdfPage(text=page.extract_text(visitor_text=visit) or "", runs=runs, headings=set())


def _mark_pdf_headings(pages: list[_PdfPage]) -> None:
    """Lines set in a clearly larger font than the body text (the most used size) are headings.

    Keys are compared without spaces: producers split a heading into several runs (kerning, styles),
    and pypdf's line text puts spaces where the runs did not.
    """
    weight: dict[float, int] = {}
    for page in pages:
        for size, run in page.runs:
            weight[size] = weight.get(size, 0) + len(run)
    if not weight:
        return
    body = max(weight, key=lambda s: weight[s])
    for page in pages:
        joined = ""
        for size, run in [*page.runs, (0.0, "")]:
            if size >= body * 1.15:
                page.headings.add(_heading_key(run))
                joined += run
                continue
            if joined:
                page.headings.add(_heading_key(joined))  # consecutive large runs: one heading line
            joined = ""


def _heading_key(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFC", text))


def _is_pdf_heading(line: str, page: _PdfPage) -> bool:
    return 1 <= len(line.split()) <= 14 and _heading_key(line) in page.headings


_PAGE_NUMBER = re.compile(r"\d+")


def _drop_running_lines(pages: list[_PdfPage]) -> None:
    """Remove running headers and footers: the same short first or last lines on most pages (digits ignored)."""
    if len(pages) < 3:
        return

    def key(line: str) -> str:
        return _PAGE_NUMBER.sub("#", normalise_inline(line))

    def edges(page: _PdfPage) -> list[int]:
        filled = [n for n, line in enumerate(page.text.split("\n")) if line.strip()]
        return sorted({filled[0], filled[-1]}) if filled else []

    seen: dict[str, int] = {}
    for page in pages:
        lines = page.text.split("\n")
        for k in {key(lines[n]) for n in edges(page)}:
            if len(k.split()) <= 12:
                seen[k] = seen.get(k, 0) + 1
    running = {k for k, count in seen.items() if count > len(pages) / 2}
    if not running:
        return
    for page in pages:
        lines = page.text.split("\n")
        drop = {n for n in edges(page) if key(lines[n]) in running}
        # a heading that opens every page is structure, not a running header
        drop = {n for n in drop if not _is_pdf_heading(normalise_inline(lines[n]), page)}
        page.text = "\n".join(line for n, line in enumerate(lines) if n not in drop)


def _pdf_sections(pages: list[_PdfPage]) -> list[Section]:
    _mark_pdf_headings(pages)
    _drop_running_lines(pages)
    sections: list[Section] = []
    any_headings = any(p.headings for p in pages)
    heading = ""
    lines: list[str] = []
    for n, page in enumerate(pages, start=1):
        if not any_headings:
            # No typographic structure: one section per page, so a citation can say where to look.
            sections.append(Section(f"Page {n}" if len(pages) > 1 else "", _reflow(page.text.split("\n"))))
            continue
        for line in page.text.split("\n"):
            clean = normalise_inline(line)
            if clean and _is_pdf_heading(clean, page):
                if heading or any(lines):
                    sections.append(Section(heading, _reflow(lines)))
                heading, lines = clean, []
            else:
                lines.append(line)
    if any_headings and (heading or any(lines)):
        sections.append(Section(heading, _reflow(lines)))
    return sections


def _reflow(lines: list[str]) -> str:
    """Join the hard-wrapped lines of extracted text into paragraphs; bullets start their own line."""
    out: list[str] = []
    current = ""
    for raw in lines:
        line = normalise_inline(raw)
        if not line:
            if current:
                out.append(current)
                current = ""
            if out and out[-1]:
                out.append("")
            continue
        if BULLET_LINE.match(line):
            if current:
                out.append(current)
            current = line
        elif current and not current.endswith(SENTENCE_END):
            current += " " + line  # a wrapped line: the sentence goes on
        elif current and BULLET_LINE.match(current) and line[:1].islower():
            current += " " + line
        else:
            if current:
                out.append(current)
                if not BULLET_LINE.match(current) and not BULLET_LINE.match(line):
                    out.append("")
            current = line
    if current:
        out.append(current)
    return join_lines(out)
