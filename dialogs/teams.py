"""What a Teams message says and where it was said: mentions, question text, conversation type.

Pure functions over incoming activities, so the bot's rules (answer in channels only when @mentioned,
never trust typed identity) are testable without a turn.
"""
from __future__ import annotations

import html
import re
from typing import Any

from botbuilder.schema import Activity

PERSONAL = "personal"
GROUP_CHAT = "groupChat"
CHANNEL = "channel"

_AT_TAG = re.compile(r"<at[^>]*>(.*?)</at>", re.IGNORECASE | re.DOTALL)
_SPACES = re.compile(r"[ \t\u00a0]+")


def _bare_id(channel_id: str | None) -> str:
    """Teams addresses a bot as '28:<app id>'; mention entities may carry either form."""
    value = (channel_id or "").strip()
    return value[3:] if value.startswith("28:") else value


def _entity(entity: Any) -> dict[str, Any]:
    if isinstance(entity, dict):
        return entity
    # botbuilder's Entity keeps unknown fields in additional_properties
    data = dict(getattr(entity, "additional_properties", None) or {})
    data.setdefault("type", getattr(entity, "type", None))
    return data


def bot_mentions(activity: Activity) -> list[dict[str, Any]]:
    """Mention entities that point at this bot (the activity's recipient)."""
    bot_id = _bare_id(activity.recipient.id if activity.recipient else "")
    found = []
    for raw in activity.entities or []:
        entity = _entity(raw)
        if entity.get("type") != "mention":
            continue
        mentioned = entity.get("mentioned") or {}
        if bot_id and _bare_id(mentioned.get("id")) == bot_id:
            found.append(entity)
    return found


def is_bot_mentioned(activity: Activity) -> bool:
    return bool(bot_mentions(activity))


def conversation_type(activity: Activity) -> str:
    """personal | groupChat | channel; a conversation marked as a group is never treated as private."""
    conversation = activity.conversation
    kind = (conversation.conversation_type if conversation else None) or ""
    if kind:
        return kind
    return GROUP_CHAT if conversation and conversation.is_group else PERSONAL


def question_text(activity: Activity) -> str:
    """The message text without the bot's @mention; other people's mentions keep their names."""
    text = activity.text or ""
    for mention in bot_mentions(activity):
        mention_text = mention.get("text") or ""
        if mention_text:
            text = text.replace(mention_text, " ")
    text = _AT_TAG.sub(lambda m: m.group(1), text)
    text = html.unescape(text)
    if not text.strip() and isinstance(activity.value, dict):
        # an Action.Submit from one of our cards that carries the question in its data
        question = activity.value.get("question")
        if isinstance(question, str):
            text = question
    return _SPACES.sub(" ", text).strip()


def is_card_submit(activity: Activity) -> bool:
    return not (activity.text or "").strip() and isinstance(activity.value, dict) and "question" in activity.value


def addressed_to_bot(activity: Activity) -> bool:
    """In a 1:1 chat every message is for the bot; elsewhere only @mentions and our own card buttons."""
    if conversation_type(activity) == PERSONAL:
        return True
    return is_bot_mentioned(activity) or is_card_submit(activity)


def tenant_ids(activity: Activity) -> set[str]:
    """Every tenant id the activity names, lower-cased (Teams puts it in channelData and in the conversation)."""
    conversation = activity.conversation
    tenants: set[Any] = set()
    if conversation is not None:
        # botbuilder maps "tenantID"; Teams sends "tenantId", which lands in additional_properties
        tenants = {conversation.tenant_id, (conversation.additional_properties or {}).get("tenantId")}
    if isinstance(activity.channel_data, dict) and isinstance(activity.channel_data.get("tenant"), dict):
        tenants.add(activity.channel_data["tenant"].get("id"))
    return {str(t).lower() for t in tenants if t}


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
