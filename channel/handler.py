"""The activity handler: botbuilder's side of the bot's turns (dialogs/partner_bot.py decides what they do).

A thin `ActivityHandler`, as in the BotBuilder samples: it reads each activity into a plain turn
(channel/turn.py), hands messages, invokes and new members to `PartnerAtlas`, keeps the question
dialog's stack and the per-user state (ConversationState, PrivateConversationState) and saves them at
the end of every turn.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from botbuilder.core import (
    ActivityHandler,
    ConversationState,
    InvokeResponse,
    MemoryStorage,
    PrivateConversationState,
    Storage,
    TurnContext,
)
from botbuilder.schema import Activity, ChannelAccount

from channel.dialog_stack import ClarifyingDialog, DialogRunner
from channel.storage import ETagConflictError
from channel.turn import AccessorSlot, TeamsTurn, cards_of, context_of
from dialogs.card_verbs import CardMemory
from dialogs.conversation import EngineSource
from dialogs.feedback import FeedbackStore
from dialogs.knowledge_gaps import KnowledgeGapActions
from dialogs.partner_bot import PartnerAtlas
from dialogs.roster import RosterCheck
from dialogs.sessions import ReadinessSessions
from dialogs.turn import Turn
from dialogs.workflow import ChannelManagerActions
from retrieval.generation import AnswerWriter

log = logging.getLogger(__name__)


class PartnerBot(ActivityHandler):
    def __init__(self, engine_source: EngineSource, *, conversation_state: ConversationState | None = None,
                 private_state: PrivateConversationState | None = None, feedback: FeedbackStore | None = None,
                 actions: ChannelManagerActions | None = None, sessions: ReadinessSessions | None = None,
                 knowledge_gaps: KnowledgeGapActions | None = None, storage: Storage | None = None,
                 writer: AnswerWriter | None = None, roster: RosterCheck | None = None,
                 cards: CardMemory | None = None) -> None:
        super().__init__()
        storage = storage if storage is not None else MemoryStorage()   # the server passes its durable store
        self.conversation_state = conversation_state or ConversationState(storage)
        # Dialog state and follow-up context are per user *and* conversation: in a channel thread two
        # sellers asking at once must not answer each other's clarifying questions.
        self.private_state = private_state or PrivateConversationState(storage)
        self.atlas = PartnerAtlas(
            engine_source, self, quiz_state=AccessorSlot(self.private_state.create_property("QuizState")),
            follow_up_state=AccessorSlot(self.private_state.create_property("FollowUpContext")), feedback=feedback,
            actions=actions, sessions=sessions, knowledge_gaps=knowledge_gaps, writer=writer, roster=roster,
            cards=cards)
        self.dialogs = DialogRunner(ClarifyingDialog(self.atlas.questions),
                                    self.private_state.create_property("DialogState"))

    async def on_turn(self, turn_context: TurnContext) -> None:
        turn_context.on_send_activities(self._stamp_cards)
        await super().on_turn(turn_context)
        for state in (self.conversation_state, self.private_state):
            try:
                await state.save_changes(turn_context)
            except ETagConflictError:
                # A concurrent turn of the same user in the same conversation saved first. This turn's
                # replies are out already; keeping the winner's state (not overwriting it) is the lesser loss.
                log.info("conversation state saved by a concurrent turn first: this turn's state change is dropped")

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse | None:
        handled = await self.atlas.on_invoke(TeamsTurn.of(turn_context))
        if handled is not None:
            status, body = handled
            return InvokeResponse(status=status, body=body)
        return await super().on_invoke_activity(turn_context)

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        await self.atlas.on_message(TeamsTurn.of(turn_context))

    async def on_members_added_activity(self, members_added: list[ChannelAccount], turn_context: TurnContext) -> None:
        await self.atlas.on_members_added(TeamsTurn.of(turn_context), [m.id or "" for m in members_added or []])

    # ------------------------------------------------------------------ the dialog stack (dialogs.partner_bot.DialogStack)
    async def in_dialog(self, turn: Turn) -> bool:
        return await self.dialogs.active(turn)

    async def run_dialog(self, turn: Turn) -> None:
        await self.dialogs.run(turn)

    async def reset(self, turn: Turn | TurnContext) -> None:
        """Forget this conversation's context: dialog stack and follow-up context."""
        turn_context = turn if isinstance(turn, TurnContext) else context_of(turn)
        for state in (self.private_state, self.conversation_state):
            await state.clear_state(turn_context)
            await state.save_changes(turn_context, force=True)

    async def _stamp_cards(self, turn_context: TurnContext, activities: list[Activity],
                           next_send: Callable[[], Awaitable[Any]]) -> Any:
        """Every card the bot sends is remembered, so a press on it can update it in place."""
        for activity in activities:
            await self.atlas.sending(cards_of(activity))
        return await next_send()
