"""Where a session's questions were asked: its conversation, a message's thread, and a Teams link to a message."""
from __future__ import annotations

import urllib.parse

from dialogs import teams
from dialogs.turn import Turn


def conversation_key(turn: Turn) -> str:
    """A channel (all of its threads) or a chat: the conversation id without its ';messageid=' thread part."""
    return turn.conversation_id.split(";messageid=", 1)[0]


def thread_id(turn: Turn) -> str:
    """The root message of the thread a channel message is in (the message itself when it starts one)."""
    if ";messageid=" in turn.conversation_id:
        return turn.conversation_id.split(";messageid=", 1)[1]
    return turn.reply_to_id or turn.id or ""


def message_link(key: str, conversation_type: str, message_id: str, thread: str, tenant: str) -> str:
    """A Teams deep link to a message (https://learn.microsoft.com/microsoftteams/platform/concepts/build-and-test/deep-link-teams)."""
    if not (key and message_id):
        return ""
    base = f"https://teams.microsoft.com/l/message/{urllib.parse.quote(key, safe=':@.')}/{urllib.parse.quote(message_id)}"
    if conversation_type == teams.CHANNEL:
        query = {"tenantId": tenant, "parentMessageId": thread or message_id}
    else:
        query = {"tenantId": tenant, "context": '{"contextType":"chat"}'}
    return f"{base}?{urllib.parse.urlencode({k: v for k, v in query.items() if v})}"
