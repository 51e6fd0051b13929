"""Program documents (Markdown, Learn FAQ YAML, PDF, DOCX, HTML, plain text) parsed into `Document` records.

This package owns turning one file into plain text split into titled sections, plus the document's
access metadata (visibility, allowed groups). It never returns markup: answers quote section text
verbatim, so whatever we emit must already read as prose. A file we cannot read raises
`DocumentError` with a short reason the index summary shows to an admin; the loader records it as
a skipped file and carries on. Chunking for retrieval lives in `knowledge.chunking`.

One parser per format (`markdown`, `learn_yaml`, `pdf`, `word`, `web_page`, `plain_text`) returns a
`Parsed` result; `registry` maps file suffixes to parsers; `parse_document` applies the size limits,
the shared clean-up (`normalise`) and the access rules (`access`) to whatever the parser found.
"""
from __future__ import annotations

import logging
from pathlib import Path

from knowledge.documents.access import VISIBILITIES, read_access, read_metadata
from knowledge.documents.base import MAX_DOCUMENT_BYTES, MAX_DOCX_UNCOMPRESSED_BYTES, MB, DocumentError, decode_text
from knowledge.documents.normalise import clean_section, normalise_inline, title_from_filename
from knowledge.documents.registry import PARSERS as _PARSERS
from knowledge.documents.registry import SUPPORTED_SUFFIXES
from knowledge.records import Document

__all__ = [
    "DocumentError", "MAX_DOCUMENT_BYTES", "MAX_DOCX_UNCOMPRESSED_BYTES", "SUPPORTED_SUFFIXES", "VISIBILITIES",
    "decode_text", "parse_document",
]

log = logging.getLogger(__name__)


def parse_document(path: Path, rel_path: str, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> Document:
    """Parse one program document. `rel_path` (relative to the knowledge folder) becomes `Document.path`."""
    path = Path(path)
    rel = rel_path.replace("\\", "/")
    suffix = path.suffix.lower()
    parser = _PARSERS.get(suffix)
    if parser is None:
        raise DocumentError(f"unsupported file type {suffix or '(none)'}")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DocumentError(f"cannot read file ({exc.strerror or type(exc).__name__})") from exc
    if size == 0:
        raise DocumentError("empty file")
    if size > max_bytes:
        raise DocumentError(f"file larger than {_size_label(max_bytes)}")
    try:
        parsed = parser(path)
    except OSError as exc:
        raise DocumentError(f"cannot read file ({exc.strerror or type(exc).__name__})") from exc
    except RecursionError as exc:  # pathological nesting (HTML, YAML) must not take the indexer down
        raise DocumentError("document structure is nested too deeply") from exc
    sections = tuple(s for s in (clean_section(s) for s in parsed.sections) if s.heading or s.text)
    if not any(s.text for s in sections):
        raise DocumentError("no text could be extracted" + parsed.empty_hint)
    title = normalise_inline(parsed.title) or title_from_filename(path)
    visibility, groups = read_access(parsed.front, rel)
    metadata = read_metadata(parsed.front)
    metadata["title"] = title
    log.debug("parsed %s: %d sections, kind %s, %s", rel, len(sections), parsed.kind, visibility)
    return Document(path=rel, title=title, sections=sections, kind=parsed.kind, metadata=metadata,
                    visibility=visibility, allowed_groups=groups)


def _size_label(n: int) -> str:
    return f"{n // MB} MB" if n >= MB and n % MB == 0 else f"{n / MB:.1f} MB" if n >= MB else f"{max(1, n // 1024)} KB"
