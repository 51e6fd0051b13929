"""What a Teams message says and where it was said: question text, whether it is for the bot.

Pure functions over a turn's plain fields (dialogs/turn.py; the channel reads the mentions, the
conversation type and the tenant out of the activity), so the bot's rules (answer in channels only when
@mentioned, never trust typed identity) are testable without a turn.
"""
from __future__ import annotations

import html
import re
from typing import Any

from dialogs.turn import CHANNEL, GROUP_CHAT, PERSONAL, Turn

__all__ = ["CHANNEL", "GROUP_CHAT", "PERSONAL", "addressed_to_bot", "clean_inbound", "clean_text",
           "conversation_type", "is_bot_mentioned", "is_card_submit", "question_text", "tenant_ids"]

_AT_TAG = re.compile(r"<at[^>]*>(.*?)</at>", re.IGNORECASE | re.DOTALL)
_SPACES = re.compile(r"[ \t\u00a0]+")


def is_bot_mentioned(turn: Turn) -> bool:
    return bool(turn.bot_mentions)


def conversation_type(turn: Turn) -> str:
    """personal | groupChat | channel; a conversation marked as a group is never treated as private."""
    return turn.conversation_type


def tenant_ids(turn: Turn) -> set[str]:
    """Every tenant id the activity names, lower-cased."""
    return set(turn.tenant_ids)


def question_text(turn: Turn) -> str:
    """The message text without the bot's @mention; other people's mentions keep their names."""
    text = turn.text or ""
    for mention in turn.bot_mentions:
        mention_text = mention.get("text") or ""
        if mention_text:
            text = text.replace(mention_text, " ")
    text = _AT_TAG.sub(lambda m: m.group(1), text)
    text = html.unescape(text)
    if not text.strip() and isinstance(turn.value, dict):
        # an Action.Submit from one of our cards that carries the question in its data
        question = turn.value.get("question")
        if isinstance(question, str):
            text = question
    return _SPACES.sub(" ", text).strip()


def is_card_submit(turn: Turn) -> bool:
    return not (turn.text or "").strip() and isinstance(turn.value, dict) and "question" in turn.value


def addressed_to_bot(turn: Turn) -> bool:
    """In a 1:1 chat every message is for the bot; elsewhere only @mentions and our own card buttons."""
    if conversation_type(turn) == PERSONAL:
        return True
    return is_bot_mentioned(turn) or is_card_submit(turn)


# --------------------------------------------------------------------------- inbound text
# Removed from every inbound string: lone surrogates (not text: SQLite, JSON and the connector refuse them),
# NUL and the other C0/C1 control characters except tab and line breaks, and the non-characters U+FFFE/FFFF.
_UNSAFE = re.compile("[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


def clean_text(text: str) -> str:
    """`text` without lone surrogates, NULs or control characters (tab, CR and LF stay)."""
    return _UNSAFE.sub("", text)


def clean_inbound(value: Any) -> Any:
    """Every string in a parsed request body cleaned (clean_text), keys too: the message text, card submit
    values, names, ids. Done once where an activity enters the bot, so nothing downstream sees them.
    (Nesting is bounded by the JSON parser; a body nested deeper than the stack raises RecursionError.)"""
    if isinstance(value, str):
        return clean_text(value) if _UNSAFE.search(value) else value
    if isinstance(value, dict):
        return {clean_inbound(k): clean_inbound(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_inbound(v) for v in value]
    return value
