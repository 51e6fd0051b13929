"""The bot's turns: decides which turns are for the bot, and hands them to the question dialog.

Messages count in 1:1 chats always, elsewhere only when the bot is @mentioned (or a button on its own
card is pressed). Who asks comes from the channel's `from.aadObjectId` (`Turn.aad_object_id`), never from
typed text. Feedback buttons and the welcome are handled here; the channel managers' buttons and commands
(attach decisions, exports, the daily sweep) go to `ChannelManagerActions`, readiness-session commands to
`ReadinessSessions`, the admins' knowledge-gaps log to `KnowledgeGapActions` and quizzes to `QuizFlow`,
before anything is treated as a question; a running session also sees every answer (to point repeats to
the earlier one). The dialog stack and the saved state are the channel's (`DialogStack`: channel/handler.py).
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from dialogs import card_verbs, quiz, render, session_digest, teams
from dialogs import knowledge_gaps as knowledge_gaps_flow
from dialogs.card_actions import Outcome
from dialogs.conversation import EngineSource, QuestionDialog, command_of, send
from dialogs.feedback import FeedbackStore
from dialogs.knowledge_gaps import KnowledgeGapActions
from dialogs.quiz import QuizFlow
from dialogs.roster import RosterCheck
from dialogs.search_extension import PartnerSearch
from dialogs.sessions import ReadinessSessions
from dialogs.turn import Slot, Turn
from dialogs.workflow import ChannelManagerActions, deliver
from retrieval.generation import AnswerWriter

log = logging.getLogger(__name__)


class DialogStack(Protocol):
    """The running question dialog and the conversation's saved state, kept by the channel."""

    async def in_dialog(self, turn: Turn) -> bool: ...

    async def run_dialog(self, turn: Turn) -> None: ...

    async def reset(self, turn: Turn) -> None: ...


class PartnerAtlas:
    def __init__(self, engine_source: EngineSource, stack: DialogStack, *, quiz_state: Slot, follow_up_state: Slot,
                 feedback: FeedbackStore | None = None, actions: ChannelManagerActions | None = None,
                 sessions: ReadinessSessions | None = None, knowledge_gaps: KnowledgeGapActions | None = None,
                 writer: AnswerWriter | None = None, roster: RosterCheck | None = None,
                 cards: card_verbs.CardMemory | None = None) -> None:
        self.stack = stack
        self.feedback = feedback
        self.actions = actions
        self.card_verbs = card_verbs.CardVerbs(feedback=self._record_feedback, actions=actions, memory=cards)
        self.partner_search = PartnerSearch(engine_source)
        self.sessions = sessions
        if sessions is not None and sessions.roster is None:
            sessions.roster = roster        # the digest is checked against who is in the conversation now
        if actions is not None and actions.roster is None:
            actions.roster = roster         # managers' buttons in a room of channel managers, checked per press
        self.knowledge_gaps = knowledge_gaps
        self.quiz = QuizFlow(engine_source, quiz_state)
        self.card_verbs.add(quiz.QUIZ_VERB, self.quiz.on_press, submit_key=quiz.QUIZ_ANSWER_KEY)
        if knowledge_gaps is not None:
            self.card_verbs.add(knowledge_gaps_flow.EXPORT_VERB, knowledge_gaps.on_press,
                                submit_key=knowledge_gaps_flow.EXPORT_KEY)
        if sessions is not None:
            self.card_verbs.add(session_digest.EXPORT_VERB, sessions.on_press, submit_key=session_digest.SESSION_KEY)
        self.questions = QuestionDialog(engine_source, follow_up_state, feedback, stack.reset,
                                        channel_manager_buttons=actions is not None, hooks=sessions, writer=writer,
                                        roster=roster)

    async def on_invoke(self, turn: Turn) -> tuple[int, Any] | None:
        """(status, body) of an invoke this bot handles; None for any other invoke."""
        if turn.name == "adaptiveCard/action":
            # Universal Actions: the verb table answers with the pressed card updated in place
            return 200, await self.card_verbs.on_invoke(turn)
        if turn.name == "composeExtension/query":
            return await self.partner_search.on_query(turn)
        return None

    async def on_message(self, turn: Turn) -> None:
        press = self.card_verbs.press_of(turn.value) if turn.value is not None and not turn.text.strip() else None
        if press is not None and press.verb in self.card_verbs.verbs:
            # a button of a card posted before Universal Actions (it carries no text, so no @mention in a
            # channel): the same verb table, the result as a message
            outcome = await self.card_verbs.run(turn, press)
            await deliver(turn, outcome or Outcome(str(render.messages()["card_action_unknown"]), refused=True))
            return
        if not teams.addressed_to_bot(turn):
            log.debug("message in a %s without a mention: not for me", teams.conversation_type(turn))
            return
        question = teams.question_text(turn)
        command = command_of(question)
        if command == "help" and not await self.stack.in_dialog(turn):
            await send(turn, render.help_activity())
            return
        if command == "reset" and not await self.stack.in_dialog(turn):
            await self.stack.reset(turn)
            await send(turn, render.text_activity(render.messages()["reset_done"]))
            return
        # typed as a whole message, so they take precedence even over a pending clarifying question
        if self.actions is not None and await self.actions.on_command(turn, question):
            return
        if self.sessions is not None and await self.sessions.on_command(turn, question):
            return
        if self.knowledge_gaps is not None and await self.knowledge_gaps.on_command(turn, question):
            return
        if await self.quiz.on_message(turn, question):
            return
        prompt = render.messages()["command_prompts"].get(question.lower().strip(" !.?"))
        if prompt and not await self.stack.in_dialog(turn):
            # a bare command from the Teams command menu: say what to ask, rather than guess
            await send(turn, render.text_activity(prompt))
            return
        await self.stack.run_dialog(turn)

    async def on_members_added(self, turn: Turn, member_ids: list[str]) -> None:
        if any(member == turn.bot_id for member in member_ids):
            await turn.send(render.welcome_activity())

    async def sending(self, cards: list[dict[str, Any]]) -> None:
        """Every card the bot sends is remembered, so a press on it can update it in place."""
        await self.card_verbs.memory.remember(cards)

    async def _record_feedback(self, turn: Turn, answer_id: str, rating: str) -> Outcome:
        phrases = render.messages()
        if self.feedback is None:
            return Outcome(str(phrases["feedback_unknown"]), refused=True)
        user_id = turn.aad_object_id or turn.user_id or ""
        # only someone who was shown the answer may rate it (FeedbackStore.record_feedback)
        stored = await asyncio.to_thread(self.feedback.record_feedback, answer_id=answer_id, user_id=user_id,
                                         rating=rating, conversation_id=turn.conversation_id)
        log.info("feedback %s on an answer (%s)", rating, "stored" if stored else "unknown answer id")
        if not stored:
            return Outcome(str(phrases["feedback_unknown"]), refused=True)
        thanks = str(phrases[f"feedback_thanks_{rating}"])
        return Outcome(thanks, update=card_verbs.thank_update(thanks))
