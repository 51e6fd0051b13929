"""Markdown (and Learn-flavoured Markdown) documents: front matter, headings as sections, prose without markup.

The Markdown is read by markdown-it-py (CommonMark, plus GFM tables and strikethrough); this module walks its
tokens. What CommonMark does not know is Learn's own syntax, handled here: `[!NOTE]`-style alerts become
"Note: ...", and `:::image ...:::` / `[!INCLUDE ...]` / `[!VIDEO ...]` directive lines carry no prose and are
dropped. Indented code blocks are switched off: in these documents an indented line is continued prose
(under a list item, after a note), never code.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from knowledge.documents.base import GENERIC_TITLES, DocumentError, Parsed, read_text, yaml_where
from knowledge.documents.normalise import SPACES, join_lines, normalise_inline
from knowledge.records import Section
from knowledge.structured_files import UnsafeYamlError, load_yaml

_MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).disable("code")

_FRONT_MATTER = re.compile(r"\A(?:\ufeff)?---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
# Learn syntax CommonMark reads as plain text
_ALERT = re.compile(r"\[!(NOTE|TIP|IMPORTANT|WARNING|CAUTION)\]", re.I)
_DIRECTIVE_LINE = re.compile(r"^(?::::|\[!(?:INCLUDE|VIDEO|div|code)\b)", re.I)
_INLINE_DIRECTIVE = re.compile(r":::\s*[a-z][\w-]*\b.*?:::", re.I)  # :::image ...::: inside a line
# a link CommonMark refuses because its target has spaces ("[Submit](su mit.md)") still reads as its text
_BROKEN_LINK = re.compile(r"\[([^\]]*)\]\([^()\n]*\)")
_QUOTE_MARKS = re.compile(r"^\s*(>\s?)+")
_HEADING_ANCHOR = re.compile(r"\s*\{#[^}]*\}\s*$")
# inline HTML: a line break or a list item separates words; known formatting tags go; anything else is text
_BR = re.compile(r"<br\s*/?>", re.I)
_LI = re.compile(r"<li\b[^>]*>", re.I)
_HTML_TAG = re.compile(
    r"</?(?:a|abbr|b|big|blockquote|br|button|caption|center|code|col|colgroup|dd|del|details|div|dl|dt|em|"
    r"figcaption|figure|font|form|h[1-6]|hr|i|iframe|img|input|ins|kbd|label|li|mark|nobr|ol|p|picture|pre|s|"
    r"section|small|source|span|strike|strong|sub|summary|sup|table|tbody|td|tfoot|th|thead|tr|u|ul|video)"
    r"\b[^>]*>", re.I)
_LIST_SEPARATOR = "\ue000"  # stands in for an HTML <li> until the text around it is known


def clean_markdown_inline(text: str) -> str:
    """One line of Markdown/HTML inline syntax to the words a reader sees: links keep their text, images go."""
    return _inline_text(_MARKDOWN.parseInline(text)[0].children or [])


def _inline_text(children: Sequence[Token]) -> str:
    parts: list[str] = []
    for token in children:
        if token.type == "text":
            parts.append(_BROKEN_LINK.sub(r"\1", token.content.replace(_LIST_SEPARATOR, "")))
        elif token.type == "code_inline":
            parts.append(token.content.replace(_LIST_SEPARATOR, ""))
        elif token.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif token.type == "html_inline":
            parts.append(_html_tag_text(token.content))
        # images go with their alt text; link, emphasis and strikethrough tokens carry no text of their own
    text = _INLINE_DIRECTIVE.sub("", "".join(parts))
    text = _ALERT.sub(lambda m: m.group(1).capitalize() + ":", text)
    # "x<ul><li>a<li>b" reads "x; a; b": the separator follows the text before it, never opens or doubles up
    text = re.sub(rf"\s*{_LIST_SEPARATOR}\s*", "; ", text)
    text = re.sub(r"\s+;", ";", text)
    text = re.sub(r"([.:;!?]);\s*", r"\1 ", text)
    text = re.sub(r"^\s*;\s*", "", text)
    return SPACES.sub(" ", text).strip()


def _html_tag_text(tag: str) -> str:
    if _BR.fullmatch(tag):
        return " "
    if _LI.fullmatch(tag):
        return _LIST_SEPARATOR
    return " " if _HTML_TAG.fullmatch(tag) else tag


@dataclass
class _Block:
    """A rendered markdown line: a heading (level 1-6) or a line of text ("" = paragraph break)."""

    text: str
    level: int = 0


@dataclass
class _Renderer:
    """Markdown tokens to plain blocks. Paragraphs are joined onto one line; list items and table rows keep theirs."""

    out: list[_Block] = field(default_factory=list)
    lists: list[bool] = field(default_factory=list)  # the open lists, innermost last: ordered?
    item_prefix: str | None = None                    # "  - " until the open list item's first line is written
    quotes: int = 0
    source: list[str] = field(default_factory=list)   # the lines parsed, to see where the author left a blank line
    alert: str = ""                                   # "Note:" waiting for the text it labels

    def paragraph_break(self) -> None:
        if self.out and self.out[-1].text and not self.out[-1].level:
            self.out.append(_Block(""))

    def render(self, tokens: Sequence[Token]) -> list[_Block]:
        n = 0
        while n < len(tokens):
            token = tokens[n]
            kind = token.type
            if kind == "heading_open":
                self.heading(token, tokens[n + 1])
                n += 3
                continue
            if kind == "paragraph_open":
                self.paragraph(tokens[n + 1], blank_after=self.blank_line_after(token))
                n += 3
                continue
            if kind == "table_open":
                n = self.table(tokens, n)
                continue
            if kind in ("bullet_list_open", "ordered_list_open"):
                self.lists.append(kind == "ordered_list_open")
            elif kind in ("bullet_list_close", "ordered_list_close"):
                self.lists.pop()
                if not self.lists:
                    self.paragraph_break()
            elif kind == "list_item_open":
                marker = f"{token.info}{token.markup} " if self.lists[-1] else "- "
                self.item_prefix = "  " * min(len(self.lists) - 1, 3) + marker
            elif kind == "list_item_close":
                self.item_prefix = None
            elif kind == "blockquote_open":
                self.quotes += 1
            elif kind == "blockquote_close":
                self.quotes -= 1
            elif kind == "fence":
                self.paragraph_break()
                # code is literal: no inline clean-up, one line each
                self.out.extend(_Block(line.strip()) for line in token.content.split("\n") if line.strip())
                self.paragraph_break()
            elif kind == "hr":
                self.paragraph_break()
            elif kind == "html_block":
                self.paragraph(_MARKDOWN.parseInline(token.content.strip())[0], blank_after=True)
            n += 1
        return self.out

    def blank_line_after(self, token: Token) -> bool:
        end = token.map[1] if token.map else len(self.source)
        return end < len(self.source) and not _QUOTE_MARKS.sub("", self.source[end]).strip()

    def heading(self, token: Token, inline: Token) -> None:
        if self.quotes:  # a heading inside a quote is quoted text, not the document's structure
            self.paragraph(inline, blank_after=True, lead=token.markup + " ")
            return
        self.paragraph_break()
        self.alert = ""
        text = _HEADING_ANCHOR.sub("", _inline_text(inline.children or []))
        if text:
            self.out.append(_Block(text, level=int(token.tag[1])))

    def paragraph(self, inline: Token, *, blank_after: bool, lead: str = "") -> None:
        lines = inline.content.split("\n")
        kept = [line for line in lines if not _DIRECTIVE_LINE.match(line.strip())]
        if kept and _ALERT.fullmatch(kept[0].strip()):
            self.alert, kept = kept[0].strip()[2:-1].capitalize() + ":", kept[1:]
        source = inline if kept == lines else _MARKDOWN.parseInline("\n".join(kept))[0]
        children = source.children or []
        text = _inline_text(children)
        if lead and text:
            text = lead + text
        if not text:
            return
        if self.item_prefix is not None:
            if self.alert:  # a note whose body is a list: the label gets a line of its own
                self.out.append(_Block(self.alert))
                self.alert = ""
            self.out.append(_Block(self.item_prefix + text))
            self.item_prefix = None
            if blank_after:  # the author left a blank line: a loose list keeps its spacing
                self.out.append(_Block(""))
            return
        self.paragraph_break()  # a note right under a list item is a paragraph of its own
        self.out.append(_Block(f"{self.alert} {text}".strip()))
        self.out.append(_Block(""))  # a paragraph always ends a block; list items and rows do not
        self.alert = ""

    def table(self, tokens: Sequence[Token], n: int) -> int:
        cells: list[str] = []
        while tokens[n].type != "table_close":
            token = tokens[n]
            if token.type == "inline":
                cells.append(_inline_text(token.children or []))
            elif token.type == "tr_close":
                row = " | ".join(cells)
                if row.replace("|", "").strip():
                    self.out.append(_Block(row.strip(" |")))
                cells = []
            n += 1
        self.paragraph_break()
        return n + 1


def _render_markdown(source: str) -> list[_Block]:
    source = _HTML_COMMENT.sub("", source.replace("\r\n", "\n").replace("\r", "\n"))
    return _Renderer(source=source.split("\n")).render(_MARKDOWN.parse(source))


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
