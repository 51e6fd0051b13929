"""Splitting a parsed `Document` into retrieval chunks with stable, content-derived ids.

A chunk is what retrieval ranks and what the bot quotes, so each one must read on its own: one
section when it fits, long sections cut on paragraph then sentence boundaries with a little
overlap, tiny neighbouring sections merged. FAQ entries are never merged or cut short: the answer
to a question is shown whole.

Ids hash the path, the passage and everything stored or embedded with it, so an unchanged file
yields the same ids on every run (the index embeds nothing new), an edited section changes only
its own chunks, and a change of title or visibility replaces the chunks whose metadata it affects.
"""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass

from knowledge.records import Document, Section

__all__ = ["Chunk", "chunk_document", "MERGE_BELOW_WORDS", "FAQ_MAX_FACTOR"]

log = logging.getLogger(__name__)

MERGE_BELOW_WORDS = 40  # a section shorter than this joins its neighbour (documents only, never FAQ entries)
FAQ_MAX_FACTOR = 3      # an FAQ answer up to this many times max_words stays one chunk


@dataclass(frozen=True)
class Chunk:
    id: str
    doc_path: str
    title: str
    heading: str
    text: str          # the passage shown to users, verbatim from the document's section text
    ordinal: int       # position within the document, from 0
    kind: str          # document | faq
    visibility: str
    allowed_groups: tuple[str, ...]
    content_hash: str  # sha256 of embed_text: equal hashes embed to equal vectors

    @property
    def embed_text(self) -> str:
        """What gets embedded and keyword-indexed: the title and heading give a short passage its context."""
        return _embed_text(self.title, self.heading, self.text)


def _embed_text(title: str, heading: str, text: str) -> str:
    return "\n".join(part for part in (title, heading, text) if part)


def chunk_document(doc: Document, max_words: int = 180, overlap_words: int = 30) -> list[Chunk]:
    """Chunks of one document, in document order. Empty sections are skipped."""
    if max_words < 1:
        raise ValueError("max_words must be positive")
    overlap_words = max(0, min(overlap_words, max_words // 2))
    sections = [s for s in doc.sections if s.text.strip()]
    pieces: list[tuple[str, str]] = []  # (heading, text)
    if doc.kind == "faq":
        for section in sections:
            limit = max_words * FAQ_MAX_FACTOR
            if _words(section.text) <= limit:
                pieces.append((section.heading, section.text.strip()))
            else:  # an answer too long to show whole is cut like any long section, each part under its question
                pieces.extend((section.heading, part) for part in _split(section.text, max_words, overlap_words))
    else:
        for heading, text in _merge_small(sections, max_words):
            if _words(text) <= max_words:
                pieces.append((heading, text))
            else:
                pieces.extend((heading, part) for part in _split(text, max_words, overlap_words))

    chunks: list[Chunk] = []
    seen: dict[tuple[str, str], int] = {}
    for ordinal, (heading, text) in enumerate(pieces):
        repeat = seen.get((heading, text), 0)
        seen[(heading, text)] = repeat + 1
        chunks.append(_make_chunk(doc, heading, text, ordinal, repeat))
    log.debug("%s: %d sections -> %d chunks", doc.path, len(sections), len(chunks))
    return chunks


def _make_chunk(doc: Document, heading: str, text: str, ordinal: int, repeat: int) -> Chunk:
    groups = tuple(doc.allowed_groups)
    # Everything stored beside the vector is in the id: the index only adds ids it lacks, so a document
    # that turns confidential (or is retitled) must produce new ids or its old metadata would stay.
    key = "\x00".join((doc.path, heading, text, doc.title, doc.kind, doc.visibility, ",".join(groups)))
    if repeat:
        key += f"\x00repeat {repeat}"  # the same passage twice in one file still needs two ids
    return Chunk(
        id=hashlib.sha256(key.encode("utf-8")).hexdigest()[:32], doc_path=doc.path, title=doc.title,
        heading=heading, text=text, ordinal=ordinal, kind=doc.kind, visibility=doc.visibility,
        allowed_groups=groups,
        content_hash=hashlib.sha256(_embed_text(doc.title, heading, text).encode("utf-8")).hexdigest(),
    )


# ----------------------------------------------------------------------------------------- merging
def _merge_small(sections: list[Section], max_words: int) -> list[tuple[str, str]]:
    """Join a tiny section to its neighbour when both fit in one chunk; the later heading stays as a line of text.

    A three-line "Next steps" list is a poor passage on its own but useful context beside the section
    before it; an intro paragraph reads better with the section it introduces.
    """
    merged: list[tuple[str, str]] = []
    for section in sections:
        text = section.text.strip()
        if merged:
            heading, prev = merged[-1]
            combined = f"{prev}\n\n{section.heading}\n{text}" if section.heading else f"{prev}\n\n{text}"
            tiny = _words(prev) < MERGE_BELOW_WORDS or _words(text) < MERGE_BELOW_WORDS
            if tiny and _words(combined) <= max_words:
                merged[-1] = (heading or section.heading, combined)
                continue
        merged.append((section.heading, text))
    return merged


# ----------------------------------------------------------------------------------------- splitting
# Only the space after a sentence is consumed, so pieces rejoined with " " are verbatim substrings.
_SENTENCE = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'”’)\]]))\s+(?=[\"'“‘(\[]*[A-Z0-9])")


@dataclass(frozen=True)
class _Unit:
    """The smallest piece we cut between: a sentence, a list item or table row, or a run of words."""

    text: str
    sep: str  # what joins it to the unit before: "\n\n" (new paragraph), "\n" (new line) or " "
    words: int


def _units(text: str, max_words: int) -> list[_Unit]:
    units: list[_Unit] = []
    for p, paragraph in enumerate(re.split(r"\n\s*\n", text.strip())):
        for li, raw_line in enumerate(paragraph.split("\n")):
            line = raw_line.rstrip()  # leading spaces are a nested list item's indentation: keep them
            if not line.strip():
                continue
            sentences = _SENTENCE.split(line)
            for s, sentence in enumerate(sentences):
                sep = "\n\n" if (li == 0 and s == 0 and p > 0) else "\n" if s == 0 else " "
                words = sentence.split()
                if len(words) <= max_words:
                    units.append(_Unit(sentence, sep, len(words)))
                    continue
                for start in range(0, len(words), max_words):  # a "sentence" with no stops at all
                    part = words[start:start + max_words]
                    units.append(_Unit(" ".join(part), sep if start == 0 else " ", len(part)))
    return units


def _split(text: str, max_words: int, overlap_words: int) -> list[str]:
    """Pack units into pieces of at most max_words; each piece after the first repeats the tail of the one before."""
    units = _units(text, max_words)
    pieces: list[str] = []
    start = first_new = 0  # first unit of the piece; first unit not already in the previous piece
    while first_new < len(units):
        end, total = start, 0
        while end < len(units) and total + units[end].words <= max_words:
            total += units[end].words
            end += 1
        end = max(end, first_new + 1)  # always take one new unit (units never exceed max_words)
        if end < len(units):
            end = _prefer_break(units, start, first_new, end, max_words)
        pieces.append(_join(units[start:end]))
        if end >= len(units):
            break
        start, first_new = _overlap_start(units, start, end, overlap_words, max_words), end
    return pieces


def _prefer_break(units: list[_Unit], start: int, first_new: int, end: int, max_words: int) -> int:
    """Cut at the last paragraph (else line) boundary if that still leaves the piece at least half full."""
    for boundary in ("\n\n", "\n"):
        for cut in range(end - 1, first_new, -1):
            if units[cut].sep == boundary:
                if sum(u.words for u in units[start:cut]) >= max_words // 2:
                    return cut
                break
    return end


def _overlap_start(units: list[_Unit], start: int, end: int, overlap_words: int, max_words: int) -> int:
    """Where the next piece starts: back from `end` by whole units totalling at most overlap_words.

    Whole sentences keep the repeated context readable; the overlap shrinks when the next unit would
    not fit beside it, and it never reaches back to the start of the previous piece.
    """
    budget = min(overlap_words, max_words - units[end].words)
    begin, total = end, 0
    while begin - 1 > start and total + units[begin - 1].words <= budget:
        begin -= 1
        total += units[begin].words
    return begin


def _join(units: list[_Unit]) -> str:
    out = ""
    for n, unit in enumerate(units):
        out += unit.text if n == 0 else unit.sep + unit.text
    return out.strip()


def _words(text: str) -> int:
    return len(text.split())
