"""The activity handler: decides which turns are for the bot, and hands them to the question dialog.

A thin `ActivityHandler`, as in the BotBuilder samples: it saves state at the end of every turn and
runs the root dialog. Messages count in 1:1 chats always, elsewhere only when the bot is
@mentioned (or a button on its own card is pressed). Who asks comes from the channel's
`from.aadObjectId`, never from typed text. Feedback buttons and the welcome are handled here; the
channel managers' buttons and commands (attach decisions, exports, the daily sweep) go to
`ChannelManagerActions`, readiness-session commands to `ReadinessSessions`, the admins' knowledge-gaps
log to `KnowledgeGapActions` and quizzes to `QuizFlow`, before anything is treated as a question; a running session also sees every answer (to point repeats to the earlier one).
"""
from __future__ import annotations

import asyncio
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
from botbuilder.dialogs import DialogExtensions
from botbuilder.schema import Activity, ChannelAccount

from dialogs import card_verbs, quiz, render, teams
from dialogs.card_actions import Outcome
from dialogs.conversation import QuestionDialog, command_of, send
from dialogs.feedback import FeedbackStore
from dialogs.knowledge_gaps import KnowledgeGapActions
from dialogs.quiz import QuizFlow
from dialogs.roster import RosterCheck
from dialogs.search_extension import PartnerSearch
from dialogs.sessions import ReadinessSessions
from dialogs.storage import ETagConflictError
from dialogs.workflow import ChannelManagerActions, deliver
from retrieval.engine import AnswerEngine
from retrieval.generation import AnswerWriter

log = logging.getLogger(__name__)

EngineSource = Callable[[], AnswerEngine | None]
"""Returns the loaded engine, or None while it is loading or after loading failed."""


class PartnerBot(ActivityHandler):
    def __init__(self, engine_source: EngineSource, *, conversation_state: ConversationState | None = None,
                 private_state: PrivateConversationState | None = None, feedback: FeedbackStore | None = None,
                 actions: ChannelManagerActions | None = None, sessions: ReadinessSessions | None = None,
                 knowledge_gaps: KnowledgeGapActions | None = None, storage: Storage | None = None,
                 writer: AnswerWriter | None = None, roster: RosterCheck | None = None,
                 cards: card_verbs.CardMemory | None = None) -> None:
        super().__init__()
        storage = storage if storage is not None else MemoryStorage()   # the server passes its durable store
        self.conversation_state = conversation_state or ConversationState(storage)
        # Dialog state and follow-up context are per user *and* conversation: in a channel thread two
        # sellers asking at once must not answer each other's clarifying questions.
        self.private_state = private_state or PrivateConversationState(storage)
        self.feedback = feedback
        self.actions = actions
        self.card_verbs = card_verbs.CardVerbs(feedback=self._record_feedback, actions=actions, memory=cards)
        self.partner_search = PartnerSearch(engine_source)
        self.sessions = sessions
        if sessions is not None and sessions.roster is None:
            sessions.roster = roster        # the digest is checked against who is in the conversation now
        self.knowledge_gaps = knowledge_gaps
        self._dialog_state = self.private_state.create_property("DialogState")
        self.quiz = QuizFlow(engine_source, self.private_state.create_property("QuizState"))
        self.dialog = QuestionDialog(engine_source, self.private_state.create_property("FollowUpContext"),
                                     feedback, self.reset, channel_manager_buttons=actions is not None,
                                     hooks=sessions, writer=writer, roster=roster)

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
        if turn_context.activity.name == "adaptiveCard/action":
            # Universal Actions: the verb table answers with the pressed card updated in place
            return InvokeResponse(status=200, body=await self.card_verbs.on_invoke(turn_context))
        if turn_context.activity.name == "composeExtension/query":
            status, body = await self.partner_search.on_query(turn_context)
            return InvokeResponse(status=status, body=body)
        return await super().on_invoke_activity(turn_context)

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        press = card_verbs.press_of(activity.value) if activity.value is not None else None
        if press is not None and press.verb in self.card_verbs.verbs:
            # a button of a card posted before Universal Actions: the same verb table, the result as a message
            outcome = await self.card_verbs.run(turn_context, press)
            if outcome is not None:
                await deliver(turn_context, outcome)
                return
        if self.sessions is not None and await self.sessions.on_submit(turn_context):
            return
        if self.knowledge_gaps is not None and await self.knowledge_gaps.on_submit(turn_context):
            return
        if quiz.is_quiz_submit(activity):      # quiz buttons carry no question text: not "addressed" in a channel
            await self.quiz.on_message(turn_context, "")
            return
        if not teams.addressed_to_bot(activity):
            log.debug("message in a %s without a mention: not for me", teams.conversation_type(activity))
            return
        question = teams.question_text(activity)
        command = command_of(question)
        if command == "help" and not await self._in_dialog(turn_context):
            await send(turn_context, render.help_activity())
            return
        if command == "reset" and not await self._in_dialog(turn_context):
            await self.reset(turn_context)
            await send(turn_context, render.text_activity(render.messages()["reset_done"]))
            return
        # typed as a whole message, so they take precedence even over a pending clarifying question
        if self.actions is not None and await self.actions.on_command(turn_context, question):
            return
        if self.sessions is not None and await self.sessions.on_command(turn_context, question):
            return
        if self.knowledge_gaps is not None and await self.knowledge_gaps.on_command(turn_context, question):
            return
        if await self.quiz.on_message(turn_context, question):
            return
        prompt = render.messages()["command_prompts"].get(question.lower().strip(" !.?"))
        if prompt and not await self._in_dialog(turn_context):
            # a bare command from the Teams command menu: say what to ask, rather than guess
            await send(turn_context, render.text_activity(prompt))
            return
        await DialogExtensions.run_dialog(self.dialog, turn_context, self._dialog_state)

    async def on_members_added_activity(self, members_added: list[ChannelAccount], turn_context: TurnContext) -> None:
        bot_id = turn_context.activity.recipient.id if turn_context.activity.recipient else None
        if any(member.id == bot_id for member in members_added or []):
            await turn_context.send_activity(render.welcome_activity())

    async def reset(self, turn_context: TurnContext) -> None:
        """Forget this conversation's context: dialog stack and follow-up context."""
        for state in (self.private_state, self.conversation_state):
            await state.clear_state(turn_context)
            await state.save_changes(turn_context, force=True)

    async def _in_dialog(self, turn_context: TurnContext) -> bool:
        saved = await self._dialog_state.get(turn_context, lambda: None)
        stack = getattr(saved, "dialog_stack", None)
        return bool(stack)

    async def _stamp_cards(self, turn_context: TurnContext, activities: list[Activity],
                           next_send: Callable[[], Awaitable[Any]]) -> Any:
        """Every card the bot sends is remembered, so a press on it can update it in place."""
        for activity in activities:
            await self.card_verbs.memory.remember(activity)
        return await next_send()

    async def _record_feedback(self, turn_context: TurnContext, answer_id: str, rating: str) -> Outcome:
        phrases = render.messages()
        if self.feedback is None:
            return Outcome(str(phrases["feedback_unknown"]), refused=True)
        sender = turn_context.activity.from_property
        user_id = (sender.aad_object_id or sender.id or "") if sender else ""
        conversation = turn_context.activity.conversation
        # only someone who was shown the answer may rate it (FeedbackStore.record_feedback)
        stored = await asyncio.to_thread(self.feedback.record_feedback, answer_id=answer_id, user_id=user_id,
                                         rating=rating, conversation_id=conversation.id if conversation else "")
        log.info("feedback %s on an answer (%s)", rating, "stored" if stored else "unknown answer id")
        if not stored:
            return Outcome(str(phrases["feedback_unknown"]), refused=True)
        thanks = str(phrases[f"feedback_thanks_{rating}"])
        return Outcome(thanks, update=card_verbs.thank_update(thanks))


