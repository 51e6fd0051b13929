"""Readiness sessions and the questions asked in them, in the bot's database (storage/, with decisions and feedback).

A session belongs to a conversation *key*: the channel (every thread in it) or the group / meeting
chat, so questions asked in different threads of one channel count in the same session. At most one
session runs per key (a partial unique index enforces it, so two managers typing "start" at once
cannot open two). For each question: who asked, the text as typed, the answer's kind, title and
outcome, the sources it cited (title, path, locator), the feedback id, and for a repeated question
the id of the first asking. The question's MiniLM vector and linked facts are kept so duplicates
are found after a restart. No passages or record text from the knowledge folder are stored, only
titles and paths of the cited sources. With CONFIDENTIAL_IN_GROUPS=roster a room of channel managers
may get confidential answers, so each question also keeps the groups it was restricted to
(dialogs/audience.py): the digest checks them against whoever reads it later.
"""
from __future__ import annotations

import array
import json
import time
import uuid
from dataclasses import dataclass

from dialogs import audience
from dialogs.audience import Restriction
from retrieval.clustering import Signature
from storage import Conflict, DatabaseTarget
from storage.sessions import SessionTable

MAX_QUESTION_CHARS = 2000


@dataclass(frozen=True)
class Session:
    session_id: str
    conversation_key: str
    conversation_type: str
    topic: str
    started_by_id: str
    started_by_name: str
    started_at: float
    ended_at: float | None = None
    ended_by_name: str = ""

    @property
    def running(self) -> bool:
        return self.ended_at is None


@dataclass(frozen=True)
class Source:
    title: str
    path: str
    locator: str = ""

    def label(self) -> str:
        where = f" ({self.locator})" if self.locator else ""
        return f"{self.title} — {self.path}{where}" if self.path and self.path != self.title else f"{self.title}{where}"


@dataclass(frozen=True)
class SessionQuestion:
    id: int
    session_id: str
    activity_id: str
    thread_id: str
    asker_id: str
    asker_name: str
    question: str
    asked_at: float
    answer_id: str
    kind: str
    title: str
    outcome: str              # answered | no_match | low_confidence | denied | clarify | failed
    sources: tuple[Source, ...]
    topic: str
    duplicate_of: int | None
    signature: Signature
    # the groups the question and its answer were restricted to when answered (dialogs/audience.py): the
    # digest and its exports show them only to an audience that may see them
    restricted_to: Restriction = ()
    hidden: bool = False      # shown as "(answer restricted)": this reader may not see it


class SessionAlreadyRunning(Exception):
    def __init__(self, session: Session) -> None:
        super().__init__(f"a session is already running here: {session.topic!r}")
        self.session = session


class SessionStore:
    def __init__(self, path: DatabaseTarget) -> None:
        self._table = SessionTable(path)
        self.path = self._table.path

    def close(self) -> None:
        self._table.close()

    # ------------------------------------------------------------------ sessions
    def start(self, *, conversation_key: str, conversation_type: str, topic: str, started_by_id: str,
              started_by_name: str, now: float | None = None) -> Session:
        session = Session(uuid.uuid4().hex, conversation_key, conversation_type, topic.strip()[:200], started_by_id,
                          started_by_name, time.time() if now is None else now)
        try:
            self._table.insert_session((session.session_id, session.conversation_key, session.conversation_type,
                                        session.topic, session.started_by_id, session.started_by_name,
                                        session.started_at))
        except Conflict:
            running = self.running(conversation_key)
            if running is None:      # ended between the insert and the look-up: try once more
                return self.start(conversation_key=conversation_key, conversation_type=conversation_type, topic=topic,
                                  started_by_id=started_by_id, started_by_name=started_by_name, now=now)
            raise SessionAlreadyRunning(running) from None
        return session

    def running(self, conversation_key: str) -> Session | None:
        return self._one("running", conversation_key)

    def latest(self, conversation_key: str) -> Session | None:
        """The running session here, else the one that ended last."""
        return self._one("latest", conversation_key)

    def get(self, session_id: str) -> Session | None:
        return self._one("id", session_id)

    def end(self, conversation_key: str, *, ended_by_name: str, now: float | None = None) -> Session | None:
        """End the running session here; None when none runs."""
        ended = self._table.end(conversation_key, time.time() if now is None else now, ended_by_name)
        return self.get(ended) if ended else None

    def _one(self, which: str, key: str) -> Session | None:
        row = self._table.session(which, key)
        return Session(*row) if row else None

    # ------------------------------------------------------------------ questions
    def add_question(self, *, session_id: str, activity_id: str, thread_id: str, asker_id: str, asker_name: str,
                     question: str, answer_id: str, kind: str, title: str, outcome: str,
                     sources: tuple[Source, ...], topic: str, duplicate_of: int | None, signature: Signature,
                     now: float | None = None, restricted_to: Restriction = ()) -> int:
        vector = array.array("f", signature.vector).tobytes() if signature.vector else None
        return self._table.insert_question(
            (session_id, activity_id, thread_id, asker_id, asker_name, question[:MAX_QUESTION_CHARS],
             time.time() if now is None else now, answer_id, kind, title[:300], outcome,
             json.dumps([[s.title, s.path, s.locator] for s in sources]), topic[:200], duplicate_of,
             signature.text, vector, json.dumps({k: list(v) for k, v in signature.facts.items()}),
             audience.dump(restricted_to)))

    def questions(self, session_id: str) -> list[SessionQuestion]:
        out = []
        for row in self._table.questions(session_id):
            (qid, session, activity_id, thread, asker_id, asker_name, question, asked_at, answer_id, kind, title,
             outcome, sources, topic, duplicate_of, normalised, vector, facts, restricted_to) = row
            values = array.array("f")
            if vector:
                values.frombytes(vector)
            cited = tuple(Source(*s) for s in json.loads(sources))
            first = cited[0] if cited else None
            answered = f"{title}|{first.path}|{first.locator}" if first else title   # as sessions.answer_key
            signature = Signature(normalised, tuple(values), {k: tuple(v) for k, v in json.loads(facts).items()}, kind,
                                  answered)
            out.append(SessionQuestion(qid, session, activity_id, thread, asker_id, asker_name, question, asked_at,
                                       answer_id, kind, title, outcome, cited, topic, duplicate_of, signature,
                                       audience.load(restricted_to)))
        return out
