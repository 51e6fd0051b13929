"""Which parser reads which file type: one entry per suffix, each parser turning a path into a `Parsed` result."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from knowledge.documents.base import Parsed
from knowledge.documents.learn_yaml import parse_yaml
from knowledge.documents.markdown import parse_markdown
from knowledge.documents.pdf import parse_pdf
from knowledge.documents.plain_text import parse_txt
from knowledge.documents.web_page import parse_html
from knowledge.documents.word import parse_docx

Parser = Callable[[Path], Parsed]

PARSERS: dict[str, Parser] = {
    ".md": parse_markdown, ".markdown": parse_markdown,
    ".yml": parse_yaml, ".yaml": parse_yaml,
    ".pdf": parse_pdf,
    ".docx": parse_docx,
    ".html": parse_html, ".htm": parse_html,
    ".txt": parse_txt,
}
SUPPORTED_SUFFIXES = tuple(PARSERS)
