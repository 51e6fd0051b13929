"""The question dialog: answer, ask for a missing fact when the answer needs one, answer again.

The dialog stack that runs it (answer, prompt, answer the clarified question) is the channel's
(channel/dialog_stack.py); this module answers, says which fact to ask for, and handles help and reset
(`interrupt`), which work in the middle of a clarification too. What the last answer understood is kept per
user and conversation, so a follow-up ("and in France?", "what about Enterprise?") changes one filter of the previous question.
With an `AnswerWriter` (an LLM configured, see retrieval/generation/) the engine's answer goes through it
before it is rendered: the typing indicator is repeated while the model writes, and whatever happens there
(a timeout, a provider error, an unusable text) the user gets exactly one reply, the extractive answer at worst.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from dialogs import audience, manager_buttons, render, teams
from dialogs.feedback import FeedbackStore, answer_outcome
from dialogs.reply import Reply
from dialogs.roster import RosterCheck, member_groups, sender_here
from dialogs.turn import Slot, Turn
from retrieval.answers import Answer, AnswerKind, Understood
from retrieval.engine import PIPELINE_GROUP, AnswerEngine, UserContext
from retrieval.generation import AnswerWriter, Outcome

log = logging.getLogger(__name__)

EngineSource = Callable[[], AnswerEngine | None]
CONTEXT_TTL_SECONDS = 30 * 60      # a follow-up an hour later is a new question
HELP_WORDS = frozenset({"help", "/help", "?", "hi", "hello", "start", "/start"})
RESET_WORDS = frozenset({"reset", "/reset", "start over", "cancel", "/cancel", "restart", "new topic"})
_CLARIFIABLE = ("country", "deal size", "segment", "workload")
TYPING_EVERY_SECONDS = 3.0         # Teams shows a typing indicator for about three seconds


def command_of(text: str) -> str | None:
    word = text.lower().strip(" !.")
    if word in HELP_WORDS:
        return "help"
    if word in RESET_WORDS:
        return "reset"
    return None


def clarification_for(answer: Answer) -> str | None:
    """The one question to ask back, when the answer depends on a fact the user did not give."""
    if answer.kind not in (AnswerKind.COVERAGE, AnswerKind.INCENTIVE, AnswerKind.CLARIFY, AnswerKind.NO_MATCH):
        return None
    for fact in _CLARIFIABLE:
        if fact in answer.missing:
            phrases = render.messages()
            if fact == "country" and answer.kind is AnswerKind.INCENTIVE:
                return str(phrases["clarify_country_incentive"])
            return str(phrases[f"clarify_{fact}"])
    return None


class ReplyHooks(Protocol):
    """Around each answer (readiness sessions): replace the reply, and record what was answered."""

    async def before_reply(self, turn: Turn, question: str, answer: Answer) -> bool: ...

    async def after_reply(self, turn: Turn, question: str, answer: Answer | None, answer_id: str | None) -> None: ...


class QuestionDialog:
    """Answers a question (or its clarification) as the user who asked it, in this conversation."""

    def __init__(self, engine_source: EngineSource, context_slot: Slot, feedback: FeedbackStore | None,
                 on_reset: Callable[[Turn], Awaitable[None]], *, channel_manager_buttons: bool = False,
                 hooks: ReplyHooks | None = None, writer: AnswerWriter | None = None,
                 roster: RosterCheck | None = None) -> None:
        self._engine_source = engine_source
        self._roster = roster
        self._writer = writer
        self._hooks = hooks
        self._channel_manager_buttons = channel_manager_buttons
        self._context = context_slot
        self._feedback = feedback
        self._on_reset = on_reset

    async def interrupt(self, turn: Turn) -> str | None:
        """Help or reset typed while a dialog runs: handled (and said) here; the command, or None for anything else."""
        if turn.type != "message":
            return None
        command = command_of(teams.question_text(turn))
        if command == "help":
            await send(turn, render.help_activity())
        elif command == "reset":
            await self._on_reset(turn)
            await send(turn, render.text_activity(render.messages()["reset_done"]))
        return command

    async def first_answer(self, turn: Turn) -> Reply | None:
        """Answer the turn's question; the clarifying question to ask back (None: the dialog is done)."""
        answer = await self.answer(turn, teams.question_text(turn))
        question = clarification_for(answer) if answer is not None else None
        if question is None:
            return None
        prompt = Reply(text=question)
        if teams.conversation_type(turn) != teams.PERSONAL:
            prompt.reply_to_id = turn.id
        return prompt

    async def clarified_answer(self, turn: Turn, reply: str) -> None:
        # The reply is merged with the previous question by the engine when it only adds a fact;
        # a reply that asks something new is answered as a new question.
        await self.answer(turn, reply)

    async def answer(self, turn: Turn, question: str) -> Answer | None:
        engine = self._engine_source()
        if engine is None or not engine.ready:
            await send(turn, render.text_activity(render.messages()["loading"]))
            return None
        if not question:
            await send(turn, render.text_activity(render.messages()["empty_prompt"]))
            return None
        conversation = teams.conversation_type(turn)
        if not turn.expects_replies:
            # with expectReplies the replies come back in one HTTP response: a typing indicator means nothing
            await turn.typing()
        user = await sender_here(engine, turn, self._roster)
        previous = await self._previous(turn)
        started = time.perf_counter()
        try:
            answer: Answer = await asyncio.to_thread(engine.answer, question, user, previous)
        except Exception:
            # the trace goes to the log only; the user gets a short apology and a clean slate
            log.exception("answering failed in a %s conversation", conversation)
            await self._on_reset(turn)
            await send(turn, render.text_activity(render.messages()["apology"]))
            if self._hooks is not None:
                await self._hooks.after_reply(turn, question, None, None)
            return None
        if self._hooks is not None and await self._hooks.before_reply(turn, question, answer):
            # a repeat in a readiness session: pointed to the earlier answer; the context still follows it
            await self._context.set(turn, {"understood": answer.understood.to_dict(), "at": time.time()})
            return None
        if self._writer is not None:
            answer = await self._written(turn, question, answer, user, previous)
        answer_id = None
        if self._feedback is not None:
            # what the question and answer were restricted to: the knowledge-gaps log shows it to no one else
            restricted = await asyncio.to_thread(audience.restrictions, engine, _as_asked(question, answer.understood),
                                                 answer)
            answer_id = await asyncio.to_thread(
                self._feedback.record_answer, question_id=turn.id or "", conversation_type=conversation,
                user_id=user.aad_object_id or "", question=_as_asked(question, answer.understood), kind=answer.kind.value,
                title=answer.title,
                outcome=answer_outcome(answer), topic=answer.understood.describe(),
                unknown_terms=answer.understood.unknown_terms,
                restricted_to=restricted)
        # attach and export buttons for channel managers where the pipeline may be shown; in a room of channel
        # managers the message is the read-only card, refreshed into this one for the managers in its roster
        manage = self._channel_manager_buttons and user.sees_pipeline
        managers: list[str] = []
        if manage and not user.private_chat and self._roster is not None:
            managers = await self._roster.user_ids_in(turn, member_groups(engine), PIPELINE_GROUP)
        manage = manage and (user.private_chat or bool(managers))
        reply, size = render.sized_answer_activity(answer, answer_id=answer_id, brief=turn.channel_id == "msteams",
                                                   manage=manage)
        if manage and managers and reply.cards:
            reply.cards = [manager_buttons.for_managers(card, managers) if manager_buttons.has_manager_buttons(card)
                           else card for card in reply.cards]
        await send(turn, reply)
        await self._context.set(turn, {"understood": answer.understood.to_dict(), "at": time.time()})
        if self._hooks is not None:
            await self._hooks.after_reply(turn, question, answer, answer_id)
        # counts and timings only: the question and the answer may be confidential
        log.info("answered kind=%s partners=%d other=%d incentives=%d opportunities=%d passages=%d follow_up=%s "
                 "bytes=%d in %.0f ms (%s)", answer.kind.value, len(answer.partners), len(answer.other_partners),
                 len(answer.incentives), len(answer.opportunities), len(answer.passages), answer.understood.follow_up,
                 size, (time.perf_counter() - started) * 1000, conversation)
        return answer

    async def _written(self, turn: Turn, question: str, answer: Answer, user: UserContext,
                       previous: Understood | None) -> Answer:
        """The writer's answer (or the engine's, whatever goes wrong there), with a note saying which it is."""
        assert self._writer is not None
        typing = None
        if not turn.expects_replies:
            typing = asyncio.create_task(_keep_typing(turn))
        history = (previous.question,) if previous is not None and answer.understood.follow_up and previous.question else ()
        user_key = user.aad_object_id or turn.user_id or ""
        outcome = Outcome.PROVIDER_ERROR
        try:
            # the writer bounds its own call; this guards against one that does not
            async with asyncio.timeout(self._writer.budget_seconds):
                written = await self._writer.write(question, answer, user_key=user_key, history=history)
            answer, outcome = written.answer, written.outcome
        except TimeoutError:
            outcome = Outcome.TIMEOUT
            log.warning("the answer writer overran its budget: the extractive answer is sent")
        except Exception:
            log.exception("the answer writer failed: the extractive answer is sent")
        finally:
            if typing is not None:
                typing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await typing
        phrases = render.messages()
        if outcome is Outcome.GENERATED:
            return answer.with_note(phrases["llm_generated"])
        if outcome.provider_failed:
            return answer.with_note(phrases["llm_unavailable"])
        return answer

    async def _previous(self, turn: Turn) -> Understood | None:
        saved: Any = await self._context.get(turn)
        if not isinstance(saved, dict) or time.time() - float(saved.get("at", 0)) > CONTEXT_TTL_SECONDS:
            return None
        try:
            return Understood.from_dict(saved["understood"])
        except (KeyError, TypeError):
            return None


async def _keep_typing(turn: Turn) -> None:
    """Repeat the typing indicator while a model writes (cancelled before the reply is sent)."""
    try:
        while True:
            await asyncio.sleep(TYPING_EVERY_SECONDS)
            await turn.typing()
    except asyncio.CancelledError:
        raise
    except Exception as exc:       # a typing indicator that cannot be delivered is not worth a failed turn
        log.debug("typing indicator not sent: %s", type(exc).__name__)


def _as_asked(question: str, understood: Understood) -> str:
    """A follow-up ("and in France?") with the question it completes, so logs read as whole questions."""
    if understood.follow_up and understood.question and understood.question != question:
        return f"{understood.question} → {question}"
    return question


async def send(turn: Turn, reply: Reply) -> None:
    """Send a reply; in channels and group chats it goes into the thread of the question."""
    if teams.conversation_type(turn) != teams.PERSONAL and turn.id:
        reply.reply_to_id = turn.id
    await turn.send(reply)
