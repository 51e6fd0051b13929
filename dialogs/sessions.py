"""Readiness Q&A sessions in channels, group chats and meeting chats.

  @Partner Atlas start readiness session "FY27 Azure incentives"   (a member of "ecm" or "admins")
  @Partner Atlas <any question>          answered in its thread as usual, and recorded
  @Partner Atlas session summary         the digest so far (anyone in the conversation)
  @Partner Atlas end session             the digest, and the session is closed (its starter, ecm or admins)

While a session runs, a question that repeats an earlier one of the session (the same meaning by
MiniLM similarity and the same facts by the linker: retrieval/clustering.py) is answered by pointing
to the earlier answer — who asked, the answer's title and sources, and a link to that message —
instead of a second copy of the card, so a busy channel stays readable. An "Answer here anyway"
button gets the full answer.

The digest: questions and askers, the top question clusters, what was answered with which sources,
and what needs follow-up (no match, low confidence, a thumbs down), exported as Markdown and CSV
behind short-lived links (built in dialogs/session_digest.py). Everything is stored in SQLite
(dialogs/session_store.py). The digest and its exports show a question answered from confidential
records only when the conversation, as it is when the digest is asked for, and the reader may see them.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Protocol

from dialogs import audience, card_update, render, teams
from dialogs.card_actions import Outcome
from dialogs.conversation import EngineSource, send
from dialogs.exports import EXPORT_TTL_SECONDS, ExportStore
from dialogs.feedback import FeedbackStore, answer_outcome
from dialogs.markup import inert
from dialogs.reply import Reply
from dialogs.roster import RosterCheck, sender_here
from dialogs.session_answers import answer_key, answer_sources, answer_topic
from dialogs.session_commands import ANSWER_ANYWAY_KEY, HOSTS, PHRASES, parse_command
from dialogs.session_digest import (
    CSV_HEADER,
    FOLLOW_UP_OUTCOMES,
    SESSION_KEY,
    Digest,
    _q,
    _when,
    build_digest,
    digest_activity,
    digest_markdown,
    digest_table,
    for_reader,
    sources_text,
)
from dialogs.session_links import conversation_key, message_link, thread_id
from dialogs.session_store import Session, SessionAlreadyRunning, SessionQuestion, SessionStore
from dialogs.turn import Turn
from retrieval.answers import Answer, AnswerKind, Understood
from retrieval.clustering import Signature, first_duplicate, signature
from retrieval.engine import UserContext

log = logging.getLogger(__name__)

# the digest lives in dialogs/session_digest.py, the commands in session_commands.py, what is kept of an answer in
# session_answers.py and the conversation and message links in session_links.py; these names stay importable from here
__all__ = ["CSV_HEADER", "SESSION_KEY", "ReadinessSessions", "_q", "answer_key", "answer_sources", "answer_topic",
           "build_digest", "conversation_key", "digest_activity", "digest_markdown", "digest_table", "for_reader",
           "message_link", "parse_command", "thread_id"]



class SessionEngine(Protocol):
    """What sessions need from the engine beyond answering: who asks, vectors and linked facts."""

    @property
    def ready(self) -> bool: ...

    def user_context(self, aad_object_id: str | None, *, name: str = "",
                     conversation_type: str = "personal") -> UserContext: ...

    def embed(self, text: str) -> list[float] | None: ...

    def understand(self, question: str) -> Understood: ...


# --------------------------------------------------------------------------- the turn handlers
class ReadinessSessions:
    def __init__(self, engine_source: EngineSource, store: SessionStore, *, feedback: FeedbackStore | None = None,
                 exports: ExportStore | None = None, public_base_url: str = "",
                 clock: Callable[[], float] = time.time, roster: RosterCheck | None = None) -> None:
        self._engine_source = engine_source
        self.store = store
        self.roster = roster           # who is in the conversation now: what the digest may show them
        self.feedback = feedback
        self.exports = exports
        self.public_base_url = public_base_url.rstrip("/")
        self._clock = clock

    # ------------------------------------------------------------------ commands and buttons
    async def on_command(self, turn: Turn, text: str) -> bool:
        command = parse_command(text)
        if command is None:
            return False
        if teams.conversation_type(turn) == teams.PERSONAL:
            await send(turn, render.text_activity(PHRASES["personal_chat"]))
            return True
        name, topic = command
        if name == "summary":
            await self._summary(turn)
            return True
        engine = self._engine()
        if engine is None:
            await send(turn, render.text_activity(render.messages()["loading"]))
            return True
        user = self._user(engine, turn)
        if name == "start":
            await self._start(turn, user, topic)
        else:
            await self._end(turn, user)
        return True

    async def on_press(self, turn: Turn, value: object) -> Outcome:
        """A digest's export button (EXPORT_VERB): the link is noted under the digest, whose buttons stay."""
        if not (isinstance(value, dict) and value.get(SESSION_KEY) == "export"):
            return Outcome(str(render.messages()["card_action_unknown"]), refused=True)
        fmt = "csv" if value.get("fmt") == "csv" else "md"
        session = await asyncio.to_thread(self.store.get, str(value.get("session") or ""))
        # a digest's buttons work where the digest was posted, and nowhere else
        if session is None or session.conversation_key != conversation_key(turn):
            return Outcome(PHRASES["session_over"], refused=True)
        text = await self._export_text(turn, session, fmt)
        return Outcome(text, update=lambda card: card_update.noted(card, text))

    # ------------------------------------------------------------------ around each answer
    def running_session(self, turn: Turn) -> Session | None:
        if teams.conversation_type(turn) == teams.PERSONAL:
            return None
        return self.store.running(conversation_key(turn))

    async def before_reply(self, turn: Turn, question: str, answer: Answer) -> bool:
        """In a session, a repeat of an earlier question gets a pointer instead of the answer: True when sent."""
        session = await asyncio.to_thread(self.running_session, turn)
        if session is None or answer.kind is AnswerKind.CLARIFY:
            return False
        sig = self._signature(question, answer)
        turn.state[SESSION_KEY] = (session, sig)
        if isinstance(turn.value, dict) and turn.value.get(ANSWER_ANYWAY_KEY):
            return False
        earlier = [q for q in await asyncio.to_thread(self.store.questions, session.session_id)
                   if q.duplicate_of is None and q.kind and q.kind != AnswerKind.CLARIFY.value]
        if any(q.restricted_to for q in earlier):
            # never point to an answer this conversation may no longer see (a seller joined since)
            reader = await self.reader(turn)
            earlier = [q for q in earlier if audience.may_read(reader, q.restricted_to)]
        found = first_duplicate(sig, [q.signature for q in earlier])
        if found is None:
            return False
        original = earlier[found]
        await asyncio.to_thread(
            self.store.add_question, session_id=session.session_id, activity_id=turn.id or "",
            thread_id=thread_id(turn), asker_id=turn.aad_object_id or turn.user_id or "",
            asker_name=turn.user_name, question=question, answer_id="", kind=original.kind,
            title=original.title, outcome=original.outcome, sources=original.sources, topic=original.topic,
            duplicate_of=original.id, signature=sig, now=self._clock(), restricted_to=original.restricted_to)
        log.info("session question answered by pointing to question %d", original.id)
        await send(turn, self._pointer(turn, original, question))
        return True

    async def after_reply(self, turn: Turn, question: str, answer: Answer | None,
                          answer_id: str | None) -> None:
        """Record an answered question in the running session (with its sources and feedback id)."""
        stashed = turn.state.get(SESSION_KEY)
        if stashed is not None:
            session, sig = stashed
        else:
            session = await asyncio.to_thread(self.running_session, turn)
            if session is None:
                return
            sig = self._signature(question, answer) if answer is not None else signature(question, None, Understood())
        if answer is not None and answer.kind is AnswerKind.CLARIFY:
            return                       # the question is recorded when the clarified answer comes
        recorded = answer.understood.question if answer is not None and answer.understood.follow_up else ""
        text = f"{recorded} → {question}" if recorded and recorded != question else question
        restricted_to = await asyncio.to_thread(audience.restrictions, self._engine_source(), text, answer)
        await asyncio.to_thread(
            self.store.add_question, session_id=session.session_id, activity_id=turn.id or "",
            thread_id=thread_id(turn), asker_id=turn.aad_object_id or turn.user_id or "",
            asker_name=turn.user_name, question=text, answer_id=answer_id or "",
            kind=answer.kind.value if answer else "", title=answer.title if answer else "",
            outcome=answer_outcome(answer) if answer else "failed",
            sources=answer_sources(answer) if answer else (), topic=answer_topic(answer) if answer else "",
            duplicate_of=None, signature=sig, now=self._clock(), restricted_to=restricted_to)

    # ------------------------------------------------------------------ internals
    async def reader(self, turn: Turn, *, fresh: bool = False) -> UserContext | None:
        """Who reads a reply here: the sender, with the groups everyone in the conversation shares (from its
        roster, asked afresh when `fresh`: a digest must not trust a roster from before someone joined).
        None while the engine loads: then nothing restricted is shown."""
        engine = self._engine_source()
        if engine is None or not engine.ready:
            return None
        return await sender_here(engine, turn, self.roster, fresh=fresh)

    def _engine(self) -> SessionEngine | None:
        engine = self._engine_source()
        if engine is None or not engine.ready or not hasattr(engine, "embed"):
            return None
        return engine  # type: ignore[return-value]

    def _user(self, engine: SessionEngine, turn: Turn) -> UserContext:
        return engine.user_context(turn.aad_object_id, name=turn.user_name,
                                   conversation_type=teams.conversation_type(turn))

    def _signature(self, question: str, answer: Answer) -> Signature:
        engine = self._engine()
        understood = answer.understood
        if answer.kind is AnswerKind.DENIED and engine is not None:
            # a refusal keeps few facts; the question's own (which opportunity) tell two refusals apart
            understood = engine.understand(question)
        # a follow-up ("and in France?") is compared as the question it became
        text = f"{understood.question} {question}" if understood.follow_up and understood.question else question
        vector = engine.embed(text) if engine is not None else None
        return signature(question, vector, understood, answer.kind.value, answer_key(answer.title, answer_sources(answer)))

    async def _start(self, turn: Turn, user: UserContext, topic: str) -> None:
        if not (set(user.groups) & HOSTS):
            await send(turn, render.text_activity(PHRASES["not_host"]))
            return
        try:
            session = await asyncio.to_thread(
                self.store.start, conversation_key=conversation_key(turn),
                conversation_type=teams.conversation_type(turn), topic=topic, started_by_id=user.aad_object_id or "",
                started_by_name=user.name, now=self._clock())
        except SessionAlreadyRunning as running:
            s = running.session
            await send(turn, render.text_activity(PHRASES["already_running"].format(
                topic=s.topic, by=s.started_by_name or "a channel manager", at=_when(s.started_at))))
            return
        log.info("readiness session started in a %s", session.conversation_type)
        bot = turn.bot_name or "Partner Atlas"
        await send(turn, render.text_activity(PHRASES["started"].format(topic=session.topic, bot=bot)))

    async def _end(self, turn: Turn, user: UserContext) -> None:
        key = conversation_key(turn)
        running = await asyncio.to_thread(self.store.running, key)
        if running is None:
            await send(turn, render.text_activity(PHRASES["none_running"]))
            return
        is_starter = bool(user.aad_object_id) and user.aad_object_id == running.started_by_id
        if not (is_starter or set(user.groups) & HOSTS):
            await send(turn, render.text_activity(PHRASES["not_host"]))
            return
        ended = await asyncio.to_thread(self.store.end, key, ended_by_name=user.name, now=self._clock())
        if ended is None:         # someone else ended it a moment ago: their reply carries the digest
            await send(turn, render.text_activity(PHRASES["none_running"]))
            return
        log.info("readiness session ended")
        await send(turn, await self._digest_activity(turn, ended, final=True))

    async def _summary(self, turn: Turn) -> None:
        session = await asyncio.to_thread(self.store.latest, conversation_key(turn))
        if session is None:
            await send(turn, render.text_activity(PHRASES["nothing_yet"]))
            return
        await send(turn, await self._digest_activity(turn, session, final=not session.running))

    async def _digest(self, turn: Turn, session: Session, *,
                      final: bool) -> tuple[Digest, dict[str, dict[str, int]]]:
        """The digest as whoever reads it here may see it: the conversation now, and the one who asked for it."""
        questions = await asyncio.to_thread(self.store.questions, session.session_id)
        if any(q.restricted_to for q in questions):
            questions = for_reader(questions, await self.reader(turn, fresh=True))
        ids = [q.answer_id for q in questions if q.answer_id]
        ratings = await asyncio.to_thread(self.feedback.ratings, ids) if self.feedback is not None and ids else {}
        return build_digest(session, questions, ratings, final=final), ratings

    async def _digest_activity(self, turn: Turn, session: Session, *, final: bool) -> Reply:
        digest, _ = await self._digest(turn, session, final=final)
        return digest_activity(digest)

    async def _export_text(self, turn: Turn, session: Session, fmt: str) -> str:
        if self.exports is None or not self.public_base_url:
            return PHRASES["export_unavailable"]
        digest, ratings = await self._digest(turn, session, final=not session.running)
        if fmt == "csv":
            header, rows = digest_table(digest, ratings)
            name = await asyncio.to_thread(self.exports.save, header, rows, "csv")
        else:
            name = await asyncio.to_thread(self.exports.save_text, digest_markdown(digest))
        return PHRASES["export_ready"].format(fmt="CSV" if fmt == "csv" else "Markdown",
                                              url=f"{self.public_base_url}/exports/{name}",
                                              minutes=EXPORT_TTL_SECONDS // 60)

    def _pointer(self, turn: Turn, original: SessionQuestion, question: str) -> Reply:
        tenants = sorted(teams.tenant_ids(turn))
        link = message_link(conversation_key(turn), teams.conversation_type(turn), original.activity_id,
                            original.thread_id, tenants[0] if tenants else "")
        same_thread = original.thread_id and original.thread_id == thread_id(turn)
        link_text = (" The answer is above in this thread." if same_thread else "") + \
            (f" [Open the earlier answer]({link})" if link else "")
        sources = sources_text(original.sources)
        answer_line = f"My answer: **{original.title}**" + (f" (sources: {sources})." if sources else ".") \
            if original.title else ""
        if original.outcome in FOLLOW_UP_OUTCOMES:
            answer_line = f"I could not answer it well then ({FOLLOW_UP_OUTCOMES[original.outcome]}): it is on the " \
                          "follow-up list for the program owners."
        text = PHRASES["duplicate"].format(asker=original.asker_name or "someone", at=_when(original.asked_at),
                                           earlier=inert(original.question), answer_line=answer_line, link=link_text)
        card = render.adaptive_card(
            [render.text_block(text)],
            [{"type": "Action.Submit", "title": PHRASES["answer_anyway"],
              "data": {"question": question, ANSWER_ANYWAY_KEY: True}}])
        card["fallbackText"] = text
        return Reply(text=text, text_format="markdown", cards=[card])
