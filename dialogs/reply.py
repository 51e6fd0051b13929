"""What the bot says, as plain data: a message's text, its Adaptive Cards and its suggested replies.

Renderers build a `Reply`; the channel (channel/) turns it into whatever its SDK sends. `serialize()` is the
JSON the channel posts for it (Bot Framework activity field names), so its size is what Teams counts.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ADAPTIVE_CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"


@dataclass
class Reply:
    """One message. `cards` are Adaptive Card JSON; `suggested_actions` are buttons under the message
    ({"type": "imBack", "title", "value"}); `reply_to_id` threads it under a message in a channel."""

    text: str | None = None
    text_format: str | None = None
    cards: list[dict[str, Any]] | None = field(default=None)
    suggested_actions: list[dict[str, Any]] | None = None
    reply_to_id: str | None = None

    def serialize(self) -> dict[str, Any]:
        """The message as the channel posts it (an activity of type "message")."""
        data: dict[str, Any] = {"type": "message"}
        if self.reply_to_id is not None:
            data["replyToId"] = self.reply_to_id
        if self.text_format is not None:
            data["textFormat"] = self.text_format
        if self.text is not None:
            data["text"] = self.text
        if self.suggested_actions is not None:
            data["suggestedActions"] = {"actions": [dict(a) for a in self.suggested_actions]}
        if self.cards is not None:
            data["attachments"] = [{"contentType": ADAPTIVE_CARD_CONTENT_TYPE, "content": card} for card in self.cards]
        return data


def im_back(text: str) -> dict[str, Any]:
    """A suggested reply that, pressed, posts `text` as the user's message."""
    return {"type": "imBack", "title": text, "value": text}
