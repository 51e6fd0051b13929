"""Knowledge text made inert before it is shown: what a document says is displayed, never interpreted.

Answers quote the knowledge folder (documents, profiles, CRM cells) and echo what users typed. In Teams,
message text is Markdown with some HTML, and Adaptive Card TextBlocks render Markdown links, so a planted
`[Reset your password](https://evil.example)`, `![x](https://tracker.example/pixel)` or `<a href=…>` would
become a live link or image in the bot's voice. `inert` keeps every word and shows targets as plain
text: a Markdown link becomes `text (target)`, an image its alt text and target, and `<` `>` become the
look-alike `‹` `›` so no tag (`<script>`, `<at>`, `<img onerror=…>`) or autolink survives. Adaptive Card
JSON inside a text is only ever a string value of a TextBlock: it cannot become card structure.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Any, TypeVar

T = TypeVar("T")

_IMAGE = re.compile(r"!\[([^\]\n]*)\]\s*\(([^)\n]*)\)")
_LINK = re.compile(r"\[([^\]\n]*)\]\s*\(([^)\n]*)\)")
_ANGLES = str.maketrans({"<": "‹", ">": "›"})
_SPECIAL = frozenset("<>[]")


def inert(text: str) -> str:
    """`text` with Markdown links and images spelled out and HTML angle brackets replaced."""
    if not text or _SPECIAL.isdisjoint(text):
        return text

    def image(match: re.Match[str]) -> str:
        alt, target = match.group(1).strip(), match.group(2).strip()
        return f"{alt} (image: {target})" if alt else f"(image: {target})"

    def link(match: re.Match[str]) -> str:
        label, target = match.group(1).strip(), match.group(2).strip()
        return f"{label} ({target})" if target and target != label else label

    for _ in range(3):      # nested constructs ("[![x](a)](b)") unwrap from the inside out
        changed = _LINK.sub(link, _IMAGE.sub(image, text))
        if changed == text:
            break
        text = changed
    return text.translate(_ANGLES)


def inert_value(value: T) -> T:
    """A copy of a (frozen) dataclass, tuple or string with every string made inert."""
    if isinstance(value, str):
        return inert(value)  # type: ignore[return-value]
    if isinstance(value, tuple):
        return type(value)(inert_value(v) for v in value) if not hasattr(value, "_fields") else value  # type: ignore[return-value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes: dict[str, Any] = {}
        for field in dataclasses.fields(value):
            if not field.init:
                continue
            current = getattr(value, field.name)
            cleaned = inert_value(current)
            if cleaned is not current and cleaned != current:
                changes[field.name] = cleaned
        return dataclasses.replace(value, **changes) if changes else value  # type: ignore[type-var]
    return value
