"""The conversation for this stage: one question, one grounded answer, plus help and a welcome.

The handler decides whether a message is for the bot (always in 1:1, only when @mentioned in channels
and group chats), establishes who asks from the channel's `from.aadObjectId` (never from typed text),
runs the synchronous engine in a worker thread and sends the rendered answer. Multi-turn dialogs will
hang off `on_message_activity` later; the rendering stays in `dialogs.render`.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from botbuilder.core import ActivityHandler, TurnContext
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount, DeliveryModes

from dialogs import render, teams
from retrieval.answers import Answer
from retrieval.engine import AnswerEngine

log = logging.getLogger(__name__)

EngineSource = Callable[[], AnswerEngine | None]
"""Returns the loaded engine, or None while it is loading or after loading failed."""

HELP_WORDS = frozenset({"help", "/help", "?", "hi", "hello", "start", "/start"})


class PartnerBot(ActivityHandler):
    def __init__(self, engine_source: EngineSource) -> None:
        super().__init__()
        self._engine_source = engine_source

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if not teams.addressed_to_bot(activity):
            log.debug("message in a %s without a mention: not for me", teams.conversation_type(activity))
            return
        question = teams.question_text(activity)
        if question.lower().strip(" !.") in HELP_WORDS:
            await self._reply(turn_context, render.help_activity())
            return
        if not question:
            await self._reply(turn_context, render.text_activity(render.messages()["empty_prompt"]))
            return
        engine = self._engine_source()
        if engine is None or not engine.ready:
            await self._reply(turn_context, render.text_activity(render.messages()["loading"]))
            return
        await self._answer(turn_context, engine, question)

    async def on_members_added_activity(self, members_added: list[ChannelAccount], turn_context: TurnContext) -> None:
        bot_id = turn_context.activity.recipient.id if turn_context.activity.recipient else None
        if any(member.id == bot_id for member in members_added or []):
            await turn_context.send_activity(render.welcome_activity())

    async def _answer(self, turn_context: TurnContext, engine: AnswerEngine, question: str) -> None:
        activity = turn_context.activity
        conversation = teams.conversation_type(activity)
        if activity.delivery_mode != DeliveryModes.expect_replies:
            # with expectReplies the replies come back in one HTTP response: a typing indicator means nothing
            await turn_context.send_activity(Activity(type=ActivityTypes.typing))
        started = time.perf_counter()
        try:
            sender = activity.from_property
            user = engine.user_context(sender.aad_object_id if sender else None, name=(sender.name or "") if sender else "",
                                       conversation_type=conversation)
            answer: Answer = await asyncio.to_thread(engine.answer, question, user)
            reply = render.answer_to_activity(answer)
        except Exception:
            # the trace goes to the log only; the user gets a short apology
            log.exception("answering failed in a %s conversation", conversation)
            await self._reply(turn_context, render.text_activity(render.messages()["apology"]))
            return
        await self._reply(turn_context, reply)
        # counts and timings only: the question and the answer may be confidential
        log.info("answered kind=%s partners=%d other=%d incentives=%d opportunities=%d passages=%d "
                 "bytes=%d in %.0f ms (%s)", answer.kind.value, len(answer.partners), len(answer.other_partners),
                 len(answer.incentives), len(answer.opportunities), len(answer.passages),
                 render.activity_size(reply), (time.perf_counter() - started) * 1000, conversation)

    async def _reply(self, turn_context: TurnContext, reply: Activity) -> None:
        """Send a reply; in channels and group chats it goes into the thread of the question."""
        if teams.conversation_type(turn_context.activity) != teams.PERSONAL and turn_context.activity.id:
            reply.reply_to_id = turn_context.activity.id
        await turn_context.send_activity(reply)
