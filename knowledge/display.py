"""Values written out for people, one way everywhere: dollar amounts, an amount in its own currency, an error
on one line, and what someone typed made inert in Markdown."""
from __future__ import annotations

import re

_MARKDOWN_SPECIAL = re.compile(r"([|\\`*_\[\]<>])")


def format_usd(value: float | None, *, unknown: str = "unknown") -> str:
    """$1,200,000: whole dollars, as sellers write them; `unknown` when there is no amount."""
    return unknown if value is None else f"${value:,.0f}"


def format_amount(value: float | None, currency: str = "") -> str:
    """An amount in the currency it was recorded in: `EUR 150,000` ("" without an amount; USD when none is named)."""
    return "" if value is None else f"{currency or 'USD'} {value:,.0f}"


def one_line(exc: BaseException, limit: int = 300) -> str:
    """An exception as one log or status line: its type and the first line of its message, at most `limit` characters."""
    message = str(exc).strip()
    text = message.splitlines()[0] if message else ""
    return f"{type(exc).__name__}: {text}"[:limit]


def escape_markdown(text: object) -> str:
    """User text made inert in Markdown: one line, no table breaks, no links, emphasis or HTML.

    What people typed is shown to admins and to channels; a pasted `[link](…)` or a `|` must not change what
    they see.
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))
