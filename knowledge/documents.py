"""Program documents (Markdown, Learn FAQ YAML, PDF, DOCX, HTML, plain text) parsed into `Document` records.

This module owns turning one file into plain text split into titled sections, plus the document's
access metadata (visibility, allowed groups). It never returns markup: answers quote section text
verbatim, so whatever we emit must already read as prose. A file we cannot read raises
`DocumentError` with a short reason the index summary shows to an admin; the loader records it as
a skipped file and carries on. Chunking for retrieval lives in `knowledge.chunking`.
"""
from __future__ import annotations

import html
import logging
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from knowledge.records import DEFAULT_CONFIDENTIAL_GROUPS, Document, Section
from knowledge.structured_files import UnsafeYamlError, load_yaml

__all__ = [
    "DocumentError", "MAX_DOCUMENT_BYTES", "MAX_DOCX_UNCOMPRESSED_BYTES", "SUPPORTED_SUFFIXES", "VISIBILITIES",
    "decode_text", "parse_document",
]

log = logging.getLogger(__name__)

MB = 1024 * 1024
MAX_DOCUMENT_BYTES = 25 * MB            # per file, before parsing; larger files are skipped
MAX_DOCX_UNCOMPRESSED_BYTES = 50 * MB   # sum of a DOCX's declared member sizes (zip-bomb guard)
VISIBILITIES = ("public", "internal", "confidential")
SUPPORTED_SUFFIXES = (".md", ".markdown", ".yml", ".yaml", ".pdf", ".docx", ".html", ".htm", ".txt")
METADATA_KEYS = ("title", "program", "fiscal_year", "updated", "description")


class DocumentError(Exception):
    """A document that cannot be read; `reason` is short and meant for the person who owns the folder."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
    sections = tuple(s for s in (_clean_section(s) for s in parsed.sections) if s.heading or s.text)
    if not any(s.text for s in sections):
        raise DocumentError("no text could be extracted" + parsed.empty_hint)
    title = _normalise_inline(parsed.title) or _title_from_filename(path)
    visibility, groups = _access(parsed.front, rel)
    metadata = _metadata(parsed.front)
    metadata["title"] = title
    log.debug("parsed %s: %d sections, kind %s, %s", rel, len(sections), parsed.kind, visibility)
    return Document(path=rel, title=title, sections=sections, kind=parsed.kind, metadata=metadata,
                    visibility=visibility, allowed_groups=groups)


def _size_label(n: int) -> str:
    return f"{n // MB} MB" if n >= MB and n % MB == 0 else f"{n / MB:.1f} MB" if n >= MB else f"{max(1, n // 1024)} KB"


@dataclass
class _Parsed:
    """What a format parser found, before the shared clean-up and access rules are applied."""

    title: str
    sections: list[Section]
    kind: str = "document"
    front: dict[str, Any] | None = None  # front matter / metadata mapping that may set visibility
    empty_hint: str = ""


# ----------------------------------------------------------------------------------------- text decoding
_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_NOT_TEXT = "not valid UTF-8/UTF-16/Latin-1 text"


def decode_text(raw: bytes) -> str:
    """Bytes of a text file to str: BOM, then UTF-8, then BOM-less UTF-16, then cp1252 / Latin-1.

    Exports from Windows tools arrive in all of these; only content that looks binary is refused.
    """
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(codec)
            except UnicodeDecodeError as exc:
                raise DocumentError(f"{_NOT_TEXT} (bad {codec})") from exc
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
        raise DocumentError(f"{_NOT_TEXT} (looks binary)")
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
    raise DocumentError(f"{_NOT_TEXT} (looks binary)")


def _read_text(path: Path) -> str:
    return decode_text(path.read_bytes())


# ----------------------------------------------------------------------------------------- normalisation
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000\f\v]+")


def _normalise_inline(text: str) -> str:
    """One line of prose: NFC, no zero-width characters, single spaces."""
    text = unicodedata.normalize("NFC", text)
    text = _ZERO_WIDTH.sub("", text)
    return _SPACES.sub(" ", text.replace("\r", " ").replace("\n", " ")).strip()


def _normalise_block(text: str) -> str:
    """Multi-line text: lines keep their breaks (lists, table rows), at most one blank line between paragraphs."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _ZERO_WIDTH.sub("", text)
    lines = [_nested_indent(line) + _SPACES.sub(" ", line).strip() for line in text.split("\n")]
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


def _clean_section(section: Section) -> Section:
    return Section(heading=_normalise_inline(section.heading), text=_normalise_block(section.text))


def _title_from_filename(path: Path) -> str:
    stem = re.sub(r"[-_]+", " ", path.stem).strip()
    return stem[:1].upper() + stem[1:] if stem else path.name


def _join_lines(lines: Iterable[str]) -> str:
    return _normalise_block("\n".join(lines))


# ----------------------------------------------------------------------------------------- access + metadata
def _access(front: dict[str, Any] | None, rel: str) -> tuple[str, tuple[str, ...]]:
    front = front or {}
    raw_vis = front.get("visibility")
    groups = _groups(front.get("allowed_groups"))
    if raw_vis is None or str(raw_vis).strip() == "":
        # Naming groups without a visibility can only mean "restricted to them".
        return ("confidential", groups) if groups else ("internal", ())
    vis = str(raw_vis).strip().lower()
    if vis in ("private", "restricted", "secret"):
        vis = "confidential"
    if vis not in VISIBILITIES:
        # Fail closed: a typo in the visibility must not publish a document to every seller.
        log.warning("%s: unknown visibility %r, treating it as confidential", rel, raw_vis)
        vis = "confidential"
    if vis != "confidential":
        if groups:
            log.warning("%s: allowed_groups is ignored for %s documents", rel, vis)
        return vis, ()
    return vis, groups or DEFAULT_CONFIDENTIAL_GROUPS


def _groups(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, (list, tuple)) else re.split(r"[;,|]", str(value))
    # access.yaml group names are compared lower-case by the loader
    return tuple(dict.fromkeys(str(g).strip().lower() for g in items if str(g).strip()))


def _metadata(front: dict[str, Any] | None) -> dict[str, str]:
    front = front or {}
    out = {key: _as_str(front[key]) for key in METADATA_KEYS if front.get(key) not in (None, "")}
    if "updated" not in out and front.get("ms.date"):  # Learn pages date themselves with ms.date
        out["updated"] = _as_str(front["ms.date"])
    return out


def _as_str(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "; ".join(_as_str(v) for v in value)
    return _normalise_inline(str(value))


# ----------------------------------------------------------------------------------------- markdown
_FRONT_MATTER = re.compile(r"\A(?:\ufeff)?---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_FENCE = re.compile(r"^\s*(```+(?=[^`]*$)|~~~+)")  # a backtick fence's info string has no backticks
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_LIST_ITEM = re.compile(r"^(\s*)([-*+•]|\d{1,3}[.)])\s+(.*)$")
_QUOTE = re.compile(r"^\s{0,3}(>\s?)+")
_ALERT = re.compile(r"\[!(NOTE|TIP|IMPORTANT|WARNING|CAUTION)\]", re.I)
_LEARN_DIRECTIVE = re.compile(r"^\s*\[!(INCLUDE|VIDEO|div|code)\b", re.I)
_REF_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s+\S+")
_HEADING_ANCHOR = re.compile(r"\s*\{#[^}]*\}\s*$")

_ESCAPABLE = "\\`*_{}[]()#+-.!<>|~"
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>|~])")
_PLACEHOLDER_BASE = 0xE000  # private-use characters stand in for escaped markdown characters
_IMAGE = re.compile(r"!\[[^\]]*\]\((?:[^()\n]|\([^)\n]*\))*\)|!\[[^\]]*\]\[[^\]]*\]")
_LINK = re.compile(r"\[([^\]]*)\]\((?:[^()\n]|\([^)\n]*\))*\)")  # a target may hold a title or stray spaces
_REF_LINK = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
_AUTOLINK = re.compile(r"<((?:https?|mailto|ftp):[^>\s]+)>")
_INLINE_DIRECTIVE = re.compile(r":::\s*[a-z][\w-]*\b.*?:::", re.I)  # Learn's :::image ...::: inside a line
_BR = re.compile(r"<br\s*/?>", re.I)
_LI = re.compile(r"\s*<li\b[^>]*>\s*", re.I)
_HTML_TAG = re.compile(
    r"</?(?:a|abbr|b|big|blockquote|br|button|caption|center|code|col|colgroup|dd|del|details|div|dl|dt|em|"
    r"figcaption|figure|font|form|h[1-6]|hr|i|iframe|img|input|ins|kbd|label|li|mark|nobr|ol|p|picture|pre|s|"
    r"section|small|source|span|strike|strong|sub|summary|sup|table|tbody|td|tfoot|th|thead|tr|u|ul|video)"
    r"\b[^>]*>", re.I)
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC_STAR = re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])")
_ITALIC_UNDERSCORE = re.compile(r"(?<![\w_])_(?=[^\s_])(.+?)(?<=[^\s_])_(?![\w_])")
_STRIKE = re.compile(r"~~(.+?)~~")
_CODE_SPAN = re.compile(r"(`+)\s?(.+?)\s?\1")


def _clean_markdown_inline(text: str) -> str:
    """Markdown/HTML inline syntax to the words a reader sees: links keep their text, images go."""
    text = _ESCAPE.sub(lambda m: chr(_PLACEHOLDER_BASE + _ESCAPABLE.index(m.group(1))), text)
    text = _ALERT.sub(lambda m: m.group(1).capitalize() + ":", text)
    # Code spans first: their content is literal; the private-use trick keeps it from being re-read as markup.
    text = _CODE_SPAN.sub(lambda m: _protect(m.group(2)), text)
    text = _IMAGE.sub("", text)
    text = _INLINE_DIRECTIVE.sub("", text)
    text = _LINK.sub(lambda m: m.group(1), text)
    text = _REF_LINK.sub(lambda m: m.group(1), text)
    text = _AUTOLINK.sub(lambda m: m.group(1), text)
    text = _BR.sub(" ", text)
    text = _LI.sub("; ", text)
    text = _HTML_TAG.sub(" ", text)
    # "x<ul><li>a<li>b" became "x ; a; b": tidy the separators the list items left behind
    text = re.sub(r"\s+;", ";", text)
    text = re.sub(r"([.:;!?]);\s*", r"\1 ", text)
    text = re.sub(r"^\s*;\s*", "", text)
    for _ in range(2):  # nested emphasis (***x***, **_x_**)
        text = _BOLD.sub(lambda m: m.group(2), text)
        text = _ITALIC_STAR.sub(lambda m: m.group(1), text)
        text = _ITALIC_UNDERSCORE.sub(lambda m: m.group(1), text)
    text = _STRIKE.sub(lambda m: m.group(1), text)
    text = html.unescape(text)
    text = "".join(_ESCAPABLE[ord(c) - _PLACEHOLDER_BASE] if _PLACEHOLDER_BASE <= ord(c) < _PLACEHOLDER_BASE + len(
        _ESCAPABLE) else c for c in text)
    return _SPACES.sub(" ", text).strip()


def _protect(literal: str) -> str:
    return "".join(chr(_PLACEHOLDER_BASE + _ESCAPABLE.index(c)) if c in _ESCAPABLE else c for c in literal)


@dataclass
class _Block:
    """A rendered markdown line: a heading (level 1-6) or a line of text ("" = paragraph break)."""

    text: str
    level: int = 0


def _render_markdown(source: str) -> list[_Block]:
    """Markdown to plain blocks. Paragraphs are joined onto one line; list items and table rows keep theirs."""
    source = _HTML_COMMENT.sub("", source.replace("\r\n", "\n").replace("\r", "\n"))
    out: list[_Block] = []
    para: list[str] = []
    item: list[str] = []
    item_prefix = ""
    indents: list[int] = []  # indentation of the open list levels, to render nesting consistently
    fence: str | None = None
    pending_alert = ""

    def flush() -> None:
        nonlocal item_prefix, pending_alert
        if item and pending_alert:  # a note whose body is a list: the label gets a line of its own
            out.append(_Block(pending_alert))
            pending_alert = ""
        if item:
            text = _clean_markdown_inline(" ".join(item))
            if text:
                out.append(_Block(item_prefix + text))
            item.clear()
        if para:
            text = _clean_markdown_inline(" ".join(para))
            if text:
                out.append(_Block((pending_alert + " " + text).strip() if pending_alert else text))
                out.append(_Block(""))  # a paragraph always ends a block; list items and rows do not
                pending_alert = ""
            para.clear()

    def paragraph_break() -> None:
        flush()
        if out and out[-1].text and not out[-1].level:
            out.append(_Block(""))

    for raw_line in source.split("\n"):
        fence_match = _FENCE.match(raw_line)
        if fence is not None:
            if fence_match and fence_match.group(1)[0] == fence[0] and len(fence_match.group(1)) >= len(fence):
                fence = None
                paragraph_break()
            elif raw_line.strip():
                out.append(_Block(raw_line.strip()))  # code is literal: no inline clean-up, one line each
            continue
        if fence_match:
            paragraph_break()
            fence = fence_match.group(1)
            continue
        quoted = bool(_QUOTE.match(raw_line))
        line = _QUOTE.sub("", raw_line) if quoted else raw_line
        stripped = line.strip()
        if not stripped:
            paragraph_break()
            continue
        if stripped.startswith(":::") or _LEARN_DIRECTIVE.match(stripped) or _REF_DEFINITION.match(stripped):
            continue  # Learn image/zone/row fences, includes and videos carry no prose
        alert = _ALERT.fullmatch(stripped)
        if alert:
            paragraph_break()
            pending_alert = alert.group(1).capitalize() + ":"
            continue
        heading = _HEADING.match(line)
        if heading and not quoted:
            paragraph_break()
            pending_alert = ""
            indents.clear()
            text = _clean_markdown_inline(_HEADING_ANCHOR.sub("", heading.group(2)))
            if text:
                out.append(_Block(text, level=len(heading.group(1))))
            continue
        if _RULE.match(line):
            paragraph_break()
            continue
        if stripped.startswith("|"):
            flush()
            if _TABLE_SEPARATOR.match(stripped):
                continue
            cells = [_clean_markdown_inline(c) for c in re.split(r"(?<!\\)\|", stripped.strip("|"))]
            row = " | ".join(c for c in cells)
            if row.replace("|", "").strip():
                out.append(_Block(row.strip(" |")))
            continue
        listed = _LIST_ITEM.match(line)
        if listed:
            flush()
            width = len(listed.group(1).expandtabs(4))
            while indents and width < indents[-1]:
                indents.pop()
            if not indents or width > indents[-1]:
                indents.append(width)
            marker = listed.group(2)
            item_prefix = "  " * min(len(indents) - 1, 3) + ("- " if marker in "-*+•" else marker + " ")
            item.append(listed.group(3))
            continue
        if item:
            item.append(stripped)  # continuation (indented or lazy) of the current list item
            continue
        if not line[:1].isspace():
            indents.clear()  # an unindented paragraph ends the list; an indented one continues a loose list
        para.append(stripped)
    flush()
    return out


def _sections_from_blocks(blocks: list[_Block], max_level: int = 4) -> tuple[str, list[Section], list[str]]:
    """Split rendered markdown on headings up to `max_level`. Returns (first H1, sections, their headings)."""
    first_h1 = next((b.text for b in blocks if b.level == 1), "")
    sections: list[Section] = []
    heading = ""
    lines: list[str] = []
    for block in blocks:
        if 0 < block.level <= max_level:
            if heading or any(lines):
                sections.append(Section(heading, _join_lines(lines)))
            heading, lines = block.text, []
        else:
            lines.append(block.text)
    if heading or any(lines):
        sections.append(Section(heading, _join_lines(lines)))
    headings = [s.heading for s in sections if s.heading]
    return first_h1, sections, headings


def _markdown_to_text(source: str) -> str:
    """A markdown fragment (a FAQ answer, a YAML summary) as plain text, headings kept as lines."""
    _, sections, _ = _sections_from_blocks(_render_markdown(source), max_level=0)
    return "\n\n".join(s.text for s in sections if s.text)


def _looks_like_faq(headings: list[str], title: str) -> bool:
    questions = [h for h in headings if h != title]
    return len(questions) >= 3 and sum(h.rstrip().endswith("?") for h in questions) >= 0.6 * len(questions)


def _split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        data = load_yaml(match.group(1))
    except UnsafeYamlError as exc:
        raise DocumentError(f"front matter refused: {exc}") from exc
    except yaml.YAMLError as exc:
        # Refuse rather than guess: the front matter may be what marks the document confidential.
        raise DocumentError(f"invalid YAML front matter{_yaml_where(exc)}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise DocumentError("front matter is not a YAML mapping")
    return {str(k): v for k, v in data.items()}, text[match.end():]


_GENERIC_TITLES = {"include file", "include", "untitled", "title"}


def _parse_markdown(path: Path) -> _Parsed:
    front, body = _split_front_matter(_read_text(path))
    first_h1, sections, headings = _sections_from_blocks(_render_markdown(body))
    fm_title = _normalise_inline(str(front.get("title") or ""))
    title = fm_title if fm_title.lower() not in _GENERIC_TITLES else ""
    title = title or first_h1
    kind = "faq" if _looks_like_faq(headings, first_h1) else "document"
    return _Parsed(title=title, sections=sections, kind=kind, front=front)


# ----------------------------------------------------------------------------------------- YAML (Learn FAQ)
def _yaml_where(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    return f" (line {mark.line + 1})" if mark is not None else ""


def _parse_yaml(path: Path) -> _Parsed:
    text = _read_text(path)
    try:
        data = load_yaml(text)
    except UnsafeYamlError as exc:
        raise DocumentError(str(exc)) from exc
    except yaml.YAMLError as exc:
        raise DocumentError(f"invalid YAML{_yaml_where(exc)}") from exc
    meta: dict[Any, Any] = data["metadata"] if isinstance(data, dict) and isinstance(data.get("metadata"), dict) else {}
    front: dict[str, Any] = {}
    if isinstance(data, dict):
        # Access and metadata keys may sit at the top or under Learn's `metadata:` block.
        front = {**{str(k): v for k, v in meta.items()}, **{str(k): v for k, v in data.items() if k != "metadata"}}
    title = _normalise_inline(str(front.get("title") or ""))
    if _is_learn_faq(text, data):
        assert isinstance(data, dict)
        return _Parsed(title=title, sections=list(_faq_sections(data)), kind="faq", front=front,
                       empty_hint=" (the FAQ has no questions)")
    if isinstance(data, dict) and not title:
        title = _normalise_inline(str(data.get("name") or ""))
    body = "\n".join(_render_yaml(data))
    return _Parsed(title=title, sections=[Section("", body)], front=front)


def _is_learn_faq(text: str, data: Any) -> bool:
    if not isinstance(data, dict) or not isinstance(data.get("sections"), list):
        return False
    if text.lstrip().startswith("### YamlMime:FAQ"):
        return True
    return any(isinstance(s, dict) and isinstance(s.get("questions"), list) for s in data["sections"])


def _faq_sections(data: dict[str, Any]) -> Iterator[Section]:
    for group in data.get("sections") or []:
        if not isinstance(group, dict):
            continue
        for entry in group.get("questions") or []:
            if not isinstance(entry, dict):
                continue
            question = _clean_markdown_inline(_normalise_inline(str(entry.get("question") or "")))
            answer = _markdown_to_text(str(entry.get("answer") or ""))
            if question and answer:
                yield Section(heading=question, text=answer)


def _render_yaml(value: Any, indent: str = "") -> Iterator[str]:
    """A YAML value as readable `key: value` lines; nested mappings and lists are indented."""
    if isinstance(value, dict):
        for key, item in value.items():
            label = str(key).replace("_", " ")
            if isinstance(item, (dict, list)) and item:
                yield f"{indent}{label}:"
                yield from _render_yaml(item, indent + "  ")
            else:
                yield f"{indent}{label}: {_scalar(item)}"
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)) and item:
                lines = list(_render_yaml(item, indent + "  "))
                yield f"{indent}- {lines[0].strip()}"
                yield from lines[1:]
            else:
                yield f"{indent}- {_scalar(item)}"
    elif value is not None:
        yield f"{indent}{_scalar(value)}"


def _scalar(value: Any) -> str:
    if value is None or value in ({}, []):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return _normalise_inline(str(value))


# ----------------------------------------------------------------------------------------- PDF
_SENTENCE_END = (".", "!", "?", ":", ";")
_BULLET_LINE = re.compile(r"^\s*([-•▪●◦*]|\d{1,3}[.)])\s+")


def _parse_pdf(path: Path) -> _Parsed:
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
    return _Parsed(title=title, sections=sections, empty_hint=" (scanned images? only text PDFs are read)")


def _pdf_title(reader: Any) -> str:
    try:
        meta = reader.metadata
        title = _normalise_inline(str(meta.title or "")) if meta else ""
    except Exception:  # noqa: BLE001 - a broken info dictionary only costs us the title
        return ""
    # Titles Word and print drivers leave behind ("Microsoft Word - x.docx", "untitled") are not titles.
    if not title or title.lower() in _GENERIC_TITLES or re.search(r"\.(docx?|pptx?|pdf|txt)$", title, re.I) \
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
        return _PAGE_NUMBER.sub("#", _normalise_inline(line))

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
        drop = {n for n in drop if not _is_pdf_heading(_normalise_inline(lines[n]), page)}
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
            clean = _normalise_inline(line)
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
        line = _normalise_inline(raw)
        if not line:
            if current:
                out.append(current)
                current = ""
            if out and out[-1]:
                out.append("")
            continue
        if _BULLET_LINE.match(line):
            if current:
                out.append(current)
            current = line
        elif current and not current.endswith(_SENTENCE_END):
            current += " " + line  # a wrapped line: the sentence goes on
        elif current and _BULLET_LINE.match(current) and line[:1].islower():
            current += " " + line
        else:
            if current:
                out.append(current)
                if not _BULLET_LINE.match(current) and not _BULLET_LINE.match(line):
                    out.append("")
            current = line
    if current:
        out.append(current)
    return _join_lines(out)


# ----------------------------------------------------------------------------------------- DOCX
def _parse_docx(path: Path) -> _Parsed:
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
        title = _normalise_inline(document.core_properties.title or "")
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
            text = _normalise_inline(block.text)
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
                    sections.append(Section(heading, _join_lines(lines)))
                heading, lines = text, []
            elif style.startswith("List") or _docx_is_numbered(block):
                lines.append(("1. " if "Number" in style else "- ") + text)
            else:
                lines.extend([text, ""])
        if heading or any(lines):
            sections.append(Section(heading, _join_lines(lines)))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise DocumentError("not a valid DOCX file") from exc
    if not title or title.lower() in _GENERIC_TITLES:
        title = style_title or next((s.heading for s in sections if s.heading), "")
    return _Parsed(title=title, sections=sections)


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
            cells.append(_normalise_inline(cell.text))
        if any(cells):
            rows.append(" | ".join(cells))
    return rows


# ----------------------------------------------------------------------------------------- HTML
_HTML_DROP = {"script", "style", "nav", "header", "footer", "noscript", "template", "svg", "iframe", "form",
              "button", "select", "object", "embed", "canvas", "head"}
_HTML_BLOCK = {"p", "div", "section", "article", "main", "aside", "blockquote", "pre", "dl", "dt", "dd", "ul",
               "ol", "figure", "figcaption", "address", "details", "summary", "body", "html", "h5", "h6", "hr",
               "caption", "center"}


def _parse_html(path: Path) -> _Parsed:
    from bs4 import BeautifulSoup  # noqa: PLC0415 - only HTML folders pay for the import
    from bs4.element import Comment, Doctype, NavigableString, ProcessingInstruction, Tag

    raw = path.read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # bs4 warns when a file "looks like" a URL or XML
        try:
            soup = BeautifulSoup(raw, "lxml")
        except Exception:  # noqa: BLE001 - lxml missing or choking: the stdlib parser is slower but forgiving
            soup = BeautifulSoup(raw, "html.parser")

    title_tag = soup.find("title")
    title = _normalise_inline(title_tag.get_text(" ")) if title_tag else ""
    front = {}
    for meta in soup.find_all("meta"):
        name = str(meta.get("name") or "").strip().lower().replace("-", "_")
        if name in ("visibility", "allowed_groups", "program", "fiscal_year", "updated", "description"):
            front[name] = str(meta.get("content") or "")
    if not title:
        h1 = soup.find("h1")
        title = _normalise_inline(h1.get_text(" ")) if h1 else ""

    sections: list[Section] = []
    heading = ""
    lines: list[str] = []
    current: list[str] = []

    def flush() -> None:
        text = _normalise_inline("".join(current))
        if text:
            lines.append(text)
        current.clear()

    def walk(node: Tag) -> None:
        nonlocal heading, lines
        for child in node.children:
            if isinstance(child, (Comment, Doctype, ProcessingInstruction)):
                continue
            if isinstance(child, NavigableString):
                current.append(str(child))
                continue
            if not isinstance(child, Tag):
                continue
            name = child.name.lower()
            if name in _HTML_DROP:
                continue
            if name in ("h1", "h2", "h3", "h4"):
                flush()
                if heading or any(lines):
                    sections.append(Section(heading, _join_lines(lines)))
                heading, lines = _normalise_inline(child.get_text(" ")), []
            elif name == "table":
                flush()
                lines.append("")
                for tr in child.find_all("tr"):
                    cells = [_normalise_inline(td.get_text(" ")) for td in tr.find_all(["td", "th"])]
                    if any(cells):
                        lines.append(" | ".join(cells))
                lines.append("")
            elif name == "li":
                flush()
                current.append("- ")
                walk(child)
                flush()
            elif name == "br":
                flush()
            elif name in _HTML_BLOCK:
                flush()
                if name in ("p", "div", "section", "article", "blockquote", "pre", "ul", "ol", "dl"):
                    lines.append("")
                walk(child)
                flush()
                if name in ("p", "blockquote", "pre", "ul", "ol", "dl"):
                    lines.append("")
            else:
                walk(child)

    walk(soup.body if soup.body is not None else soup)
    flush()
    if heading or any(lines):
        sections.append(Section(heading, _join_lines(lines)))
    return _Parsed(title=title, sections=sections, front=front)


# ----------------------------------------------------------------------------------------- plain text
_UNDERLINE = re.compile(r"^\s*(=+|-+)\s*$")


def _parse_txt(path: Path) -> _Parsed:
    text = _read_text(path).replace("\r\n", "\n").replace("\r", "\n")
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
                sections.append(Section(heading, _join_lines(out)))
            heading, out = candidate, []
            if body is para:
                continue
        out.extend([*_txt_paragraph(body), ""])
    if heading or any(out):
        sections.append(Section(heading, _join_lines(out)))
    return _Parsed(title=title, sections=sections)


def _txt_leading_heading(para: list[str]) -> bool:
    """A very short first line over a longer line or a bullet is a heading, not the start of a wrapped paragraph."""
    first, second = _normalise_inline(para[0]), _normalise_inline(para[1])
    if len(first.split()) > 6 or first.endswith(":") or _txt_heading(first) is None:
        return False
    return bool(_BULLET_LINE.match(second)) or len(second) > 2 * len(first)


def _txt_heading(line: str, allow_sentence: bool = True) -> str | None:
    """A short line standing alone, without sentence punctuation, reads as a heading in notes."""
    text = _normalise_inline(line)
    if text.startswith("#"):
        return text.lstrip("#").strip() or None
    if not text or _BULLET_LINE.match(text) or len(text.split()) > 10:
        return None
    if text.endswith((".", ",", ";", "!")) or (not allow_sentence and text.endswith("?")):
        return None
    if not (text[0].isupper() or text[0].isdigit()):
        return None
    return text.rstrip(":").strip() or None


def _txt_paragraph(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        clean = _normalise_inline(line)
        if _BULLET_LINE.match(clean):
            out.append(re.sub(r"^[•▪●◦*]\s+", "- ", clean))
        elif out and (_BULLET_LINE.match(out[-1]) and line[:1].isspace() or not _BULLET_LINE.match(out[-1])):
            out[-1] += " " + clean  # a wrapped line continues the paragraph or the indented bullet above
        else:
            out.append(clean)
    return out


_PARSERS = {
    ".md": _parse_markdown, ".markdown": _parse_markdown,
    ".yml": _parse_yaml, ".yaml": _parse_yaml,
    ".pdf": _parse_pdf,
    ".docx": _parse_docx,
    ".html": _parse_html, ".htm": _parse_html,
    ".txt": _parse_txt,
}
