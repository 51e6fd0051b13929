"""Activities in, replies out: a Bot Framework activity read into a plain `Turn`, and a `Reply` made an activity.

`TeamsTurn` is the dialogs' turn (dialogs/turn.py) over botbuilder's `TurnContext`: sending, the typing
indicator, the Teams roster (`TeamsInfo.get_members`) and the conversation reference for proactive
messages. `AccessorSlot` is a dialogs state slot over a `StatePropertyAccessor`.
"""
from __future__ import annotations

from typing import Any, cast

from botbuilder.core import StatePropertyAccessor, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.schema import (
    ActionTypes,
    Activity,
    ActivityTypes,
    Attachment,
    CardAction,
    DeliveryModes,
    SuggestedActions,
)

from dialogs.reply import ADAPTIVE_CARD_CONTENT_TYPE, Reply
from dialogs.turn import GROUP_CHAT, PERSONAL, Member, Turn

TURN_KEY = "partner_atlas.turn"


# --------------------------------------------------------------------------- reading an activity
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


def conversation_type(activity: Activity) -> str:
    """personal | groupChat | channel; a conversation marked as a group is never treated as private."""
    conversation = activity.conversation
    kind = (conversation.conversation_type if conversation else None) or ""
    if kind:
        return kind
    return GROUP_CHAT if conversation and conversation.is_group else PERSONAL


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


def turn_fields(activity: Activity) -> dict[str, Any]:
    """The activity's plain fields, as `Turn` names them."""
    sender, bot, conversation = activity.from_property, activity.recipient, activity.conversation
    return {
        "type": activity.type or "", "id": activity.id, "name": activity.name, "text": activity.text or "",
        "value": activity.value, "channel_id": activity.channel_id or "",
        "conversation_id": (conversation.id if conversation else "") or "",
        "conversation_type": conversation_type(activity), "tenant_ids": frozenset(tenant_ids(activity)),
        "channel_data": activity.channel_data, "user_id": (sender.id if sender else "") or "",
        "aad_object_id": sender.aad_object_id if sender else None, "user_name": (sender.name if sender else "") or "",
        "bot_id": (bot.id if bot else "") or "", "bot_name": (bot.name if bot else "") or "",
        "bot_mentions": bot_mentions(activity), "reply_to_id": activity.reply_to_id,
        "expects_replies": activity.delivery_mode == DeliveryModes.expect_replies,
    }


def read_activity(activity: Activity) -> Turn:
    """A plain turn of the activity (sending needs a `TeamsTurn`)."""
    return Turn(**turn_fields(activity))


# --------------------------------------------------------------------------- replies
def to_activity(reply: Reply) -> Activity:
    """The message activity for a reply."""
    suggested = None
    if reply.suggested_actions is not None:
        suggested = SuggestedActions(actions=[CardAction(type=a.get("type", ActionTypes.im_back), title=a.get("title"),
                                                         value=a.get("value")) for a in reply.suggested_actions])
    attachments = None
    if reply.cards is not None:
        attachments = [Attachment(content_type=ADAPTIVE_CARD_CONTENT_TYPE, content=card) for card in reply.cards]
    return Activity(type=ActivityTypes.message, text=reply.text, text_format=reply.text_format,
                    attachments=attachments, suggested_actions=suggested, reply_to_id=reply.reply_to_id)


def cards_of(activity: Activity) -> list[dict[str, Any]]:
    """The Adaptive Cards an outgoing activity carries (the dicts themselves, not copies)."""
    return [a.content for a in activity.attachments or []
            if a.content_type == ADAPTIVE_CARD_CONTENT_TYPE and isinstance(a.content, dict)]


# --------------------------------------------------------------------------- the turn
class TeamsTurn(Turn):
    """A turn over botbuilder's TurnContext; one per context (`of`), so its `state` is the turn's."""

    context: TurnContext

    @classmethod
    def of(cls, context: TurnContext) -> TeamsTurn:
        turn = context.turn_state.get(TURN_KEY)
        if not isinstance(turn, TeamsTurn):
            turn = cls(**turn_fields(context.activity))
            turn.context = context
            context.turn_state[TURN_KEY] = turn
        return turn

    async def send(self, reply: Reply) -> None:
        await self.context.send_activity(to_activity(reply))

    async def typing(self) -> None:
        await self.context.send_activity(Activity(type=ActivityTypes.typing))

    async def members(self) -> list[Member]:
        members = await TeamsInfo.get_members(self.context)
        return [Member(str(member.id or ""), str(member.aad_object_id or "")) for member in members]

    def conversation_reference(self) -> dict[str, Any]:
        activity = self.context.activity
        reference = TurnContext.get_conversation_reference(activity)
        reference.activity_id = None          # the digest is a new message, not a reply to "subscribe"
        if reference.conversation is not None and not reference.conversation.tenant_id:
            reference.conversation.tenant_id = next(iter(sorted(tenant_ids(activity))), None)
        return cast(dict[str, Any], reference.serialize())


def context_of(turn: Turn) -> TurnContext:
    if not isinstance(turn, TeamsTurn):
        raise TypeError("a turn from the Bot Framework channel is needed here")
    return turn.context


class AccessorSlot:
    """A dialogs state slot (dialogs.turn.Slot) over a botbuilder state property."""

    def __init__(self, accessor: StatePropertyAccessor) -> None:
        self.accessor = accessor

    async def get(self, turn: Turn) -> Any:
        return await self.accessor.get(context_of(turn), lambda: None)

    async def set(self, turn: Turn, value: Any) -> None:
        await self.accessor.set(context_of(turn), value)

    async def delete(self, turn: Turn) -> None:
        await self.accessor.delete(context_of(turn))
