"""One turn as the dialogs see it: what was said, by whom, where, and how to answer.

The channel (channel/) builds a `Turn` from its SDK's incoming activity and implements the few things
that need the SDK: sending a reply, a typing indicator, the conversation's roster, the address for a
later proactive message. Everything else is plain data, so dialogs/ never sees the SDK.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from dialogs.reply import Reply

PERSONAL = "personal"
GROUP_CHAT = "groupChat"
CHANNEL = "channel"


@dataclass(frozen=True)
class Member:
    user_id: str             # the channel's id of the member (Teams: "29:…")
    aad_object_id: str       # their Entra object id; "" when they have none


@dataclass
class Turn:
    """The incoming activity's plain fields. `user_id` is the channel's id of the sender, `aad_object_id`
    their Entra object id (who they are for access: never taken from typed text); `bot_mentions` the
    mention entities that point at this bot; `state` is scratch space for this turn only."""

    type: str = "message"
    id: str | None = None
    name: str | None = None                  # an invoke's name
    text: str = ""
    value: Any = None
    channel_id: str = ""
    conversation_id: str = ""
    conversation_type: str = PERSONAL
    tenant_ids: frozenset[str] = frozenset()
    channel_data: Any = None
    user_id: str = ""
    aad_object_id: str | None = None
    user_name: str = ""
    bot_id: str = ""
    bot_name: str = ""
    bot_mentions: list[dict[str, Any]] = field(default_factory=list)
    reply_to_id: str | None = None
    expects_replies: bool = False            # the replies go back in the HTTP response (no typing indicator)
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def is_invoke(self) -> bool:
        return self.type == "invoke"

    @property
    def personal(self) -> bool:
        return self.conversation_type == PERSONAL

    async def send(self, reply: Reply) -> None:
        """Post a reply in this conversation (as it is: see dialogs.conversation.send for threading)."""
        raise NotImplementedError

    async def typing(self) -> None:
        """Show the typing indicator."""
        raise NotImplementedError

    async def members(self) -> list[Member]:
        """The conversation's members: each one's channel id (Teams "29:…", what a card's refresh `userIds`
        names) and Entra object id ("" for a member without one)."""
        raise NotImplementedError

    def conversation_reference(self) -> dict[str, Any]:
        """Where a later proactive message to this conversation goes (JSON, stored with a subscription)."""
        raise NotImplementedError


class Slot(Protocol):
    """One value kept for the user in this conversation between turns (saved at the end of the turn)."""

    async def get(self, turn: Turn) -> Any: ...

    async def set(self, turn: Turn, value: Any) -> None: ...

    async def delete(self, turn: Turn) -> None: ...
