"""HTML documents: h1-h4 become sections; navigation, scripts and forms are dropped; `<meta>` may set access."""
from __future__ import annotations

import warnings
from pathlib import Path

from knowledge.documents.base import Parsed
from knowledge.documents.normalise import join_lines, normalise_inline
from knowledge.records import Section

_HTML_DROP = {"script", "style", "nav", "header", "footer", "noscript", "template", "svg", "iframe", "form",
              "button", "select", "object", "embed", "canvas", "head"}
_HTML_BLOCK = {"p", "div", "section", "article", "main", "aside", "blockquote", "pre", "dl", "dt", "dd", "ul",
               "ol", "figure", "figcaption", "address", "details", "summary", "body", "html", "h5", "h6", "hr",
               "caption", "center"}


def parse_html(path: Path) -> Parsed:
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
    title = normalise_inline(title_tag.get_text(" ")) if title_tag else ""
    front = {}
    for meta in soup.find_all("meta"):
        name = str(meta.get("name") or "").strip().lower().replace("-", "_")
        if name in ("visibility", "allowed_groups", "program", "fiscal_year", "updated", "description"):
            front[name] = str(meta.get("content") or "")
    if not title:
        h1 = soup.find("h1")
        title = normalise_inline(h1.get_text(" ")) if h1 else ""

    sections: list[Section] = []
    heading = ""
    lines: list[str] = []
    current: list[str] = []

    def flush() -> None:
        text = normalise_inline("".join(current))
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
                    sections.append(Section(heading, join_lines(lines)))
                heading, lines = normalise_inline(child.get_text(" ")), []
            elif name == "table":
                flush()
                lines.append("")
                for tr in child.find_all("tr"):
                    cells = [normalise_inline(td.get_text(" ")) for td in tr.find_all(["td", "th"])]
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
        sections.append(Section(heading, join_lines(lines)))
    return Parsed(title=title, sections=sections, front=front)
