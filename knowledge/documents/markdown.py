"""Markdown (and Learn-flavoured Markdown) documents: front matter, headings as sections, prose without markup."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from knowledge.documents.base import GENERIC_TITLES, DocumentError, Parsed, read_text, yaml_where
from knowledge.documents.normalise import SPACES, join_lines, normalise_inline
from knowledge.records import Section
from knowledge.structured_files import UnsafeYamlError, load_yaml

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


def clean_markdown_inline(text: str) -> str:
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
    return SPACES.sub(" ", text).strip()


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
            text = clean_markdown_inline(" ".join(item))
            if text:
                out.append(_Block(item_prefix + text))
            item.clear()
        if para:
            text = clean_markdown_inline(" ".join(para))
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
            text = clean_markdown_inline(_HEADING_ANCHOR.sub("", heading.group(2)))
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
            cells = [clean_markdown_inline(c) for c in re.split(r"(?<!\\)\|", stripped.strip("|"))]
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
                sections.append(Section(heading, join_lines(lines)))
            heading, lines = block.text, []
        else:
            lines.append(block.text)
    if heading or any(lines):
        sections.append(Section(heading, join_lines(lines)))
    headings = [s.heading for s in sections if s.heading]
    return first_h1, sections, headings


def markdown_to_text(source: str) -> str:
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
        raise DocumentError(f"invalid YAML front matter{yaml_where(exc)}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise DocumentError("front matter is not a YAML mapping")
    return {str(k): v for k, v in data.items()}, text[match.end():]



def parse_markdown(path: Path) -> Parsed:
    front, body = _split_front_matter(read_text(path))
    first_h1, sections, headings = _sections_from_blocks(_render_markdown(body))
    fm_title = normalise_inline(str(front.get("title") or ""))
    title = fm_title if fm_title.lower() not in GENERIC_TITLES else ""
    title = title or first_h1
    kind = "faq" if _looks_like_faq(headings, first_h1) else "document"
    return Parsed(title=title, sections=sections, kind=kind, front=front)
