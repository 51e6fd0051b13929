"""Readiness sessions and the questions asked in them, in SQLite (the same file as decisions and feedback).

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
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from dialogs import audience
from dialogs.audience import Restriction
from retrieval.clustering import Signature
from retrieval.sqlite_store import SqliteStore

_SCHEMA = """
create table if not exists readiness_sessions (
    session_id text primary key,
    conversation_key text not null,
    conversation_type text not null default '',
    topic text not null default '',
    started_by_id text not null default '',
    started_by_name text not null default '',
    started_at real not null,
    ended_at real,
    ended_by_name text not null default ''
);
create unique index if not exists one_running_session_per_conversation
    on readiness_sessions (conversation_key) where ended_at is null;
create index if not exists sessions_by_conversation on readiness_sessions (conversation_key, started_at);
create table if not exists session_questions (
    id integer primary key autoincrement,
    session_id text not null references readiness_sessions (session_id),
    activity_id text not null default '',
    thread_id text not null default '',
    asker_id text not null default '',
    asker_name text not null default '',
    question text not null,
    asked_at real not null,
    answer_id text not null default '',
    kind text not null default '',
    title text not null default '',
    outcome text not null default '',
    sources text not null default '[]',
    topic text not null default '',
    duplicate_of integer references session_questions (id),
    normalised text not null default '',
    vector blob,
    facts text not null default '{}',
    restricted_to text not null default '[]'
);
create index if not exists questions_by_session on session_questions (session_id, id);
"""
# Columns added after the first release: an older file gets them on open (SessionStore._migrate).
_ADDED_COLUMNS = {"restricted_to": "text not null default '[]'"}

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


class SessionStore(SqliteStore):
    def __init__(self, path: Path | str) -> None:
        super().__init__(path, _SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        with self._lock:
            present = {row[1] for row in self._db.execute("pragma table_info(session_questions)")}
            for name, definition in _ADDED_COLUMNS.items():
                if name in present:
                    continue
                try:
                    with self._db:
                        self._db.execute(f"alter table session_questions add column {name} {definition}")
                except sqlite3.OperationalError as exc:
                    if "duplicate column" not in str(exc).lower():   # another process migrated it a moment ago
                        raise

    # ------------------------------------------------------------------ sessions
    def start(self, *, conversation_key: str, conversation_type: str, topic: str, started_by_id: str,
              started_by_name: str, now: float | None = None) -> Session:
        session = Session(uuid.uuid4().hex, conversation_key, conversation_type, topic.strip()[:200], started_by_id,
                          started_by_name, time.time() if now is None else now)
        try:
            with self._lock, self._db:
                self._db.execute("insert into readiness_sessions values (?, ?, ?, ?, ?, ?, ?, null, '')",
                                 (session.session_id, session.conversation_key, session.conversation_type,
                                  session.topic, session.started_by_id, session.started_by_name, session.started_at))
        except sqlite3.IntegrityError:
            running = self.running(conversation_key)
            if running is None:      # ended between the insert and the look-up: try once more
                return self.start(conversation_key=conversation_key, conversation_type=conversation_type, topic=topic,
                                  started_by_id=started_by_id, started_by_name=started_by_name, now=now)
            raise SessionAlreadyRunning(running) from None
        return session

    def running(self, conversation_key: str) -> Session | None:
        return self._one("where conversation_key = ? and ended_at is null", (conversation_key,))

    def latest(self, conversation_key: str) -> Session | None:
        """The running session here, else the one that ended last."""
        return self._one("where conversation_key = ? order by ended_at is null desc, started_at desc limit 1",
                         (conversation_key,))

    def get(self, session_id: str) -> Session | None:
        return self._one("where session_id = ?", (session_id,))

    def end(self, conversation_key: str, *, ended_by_name: str, now: float | None = None) -> Session | None:
        """End the running session here; None when none runs."""
        with self._lock, self._db:
            cursor = self._db.execute(
                "update readiness_sessions set ended_at = ?, ended_by_name = ? "
                "where conversation_key = ? and ended_at is null returning session_id",
                (time.time() if now is None else now, ended_by_name, conversation_key))
            row = cursor.fetchone()
        return self.get(row[0]) if row else None

    def _one(self, where: str, params: tuple[object, ...]) -> Session | None:
        with self._lock:
            row = self._db.execute(f"select * from readiness_sessions {where}", params).fetchone()  # noqa: S608
        return Session(*row) if row else None

    # ------------------------------------------------------------------ questions
    def add_question(self, *, session_id: str, activity_id: str, thread_id: str, asker_id: str, asker_name: str,
                     question: str, answer_id: str, kind: str, title: str, outcome: str,
                     sources: tuple[Source, ...], topic: str, duplicate_of: int | None, signature: Signature,
                     now: float | None = None, restricted_to: Restriction = ()) -> int:
        vector = array.array("f", signature.vector).tobytes() if signature.vector else None
        with self._lock, self._db:
            cursor = self._db.execute(
                "insert into session_questions (session_id, activity_id, thread_id, asker_id, asker_name, question, "
                "asked_at, answer_id, kind, title, outcome, sources, topic, duplicate_of, normalised, vector, facts, "
                "restricted_to) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (session_id, activity_id, thread_id, asker_id, asker_name, question[:MAX_QUESTION_CHARS],
                 time.time() if now is None else now, answer_id, kind, title[:300], outcome,
                 json.dumps([[s.title, s.path, s.locator] for s in sources]), topic[:200], duplicate_of,
                 signature.text, vector, json.dumps({k: list(v) for k, v in signature.facts.items()}),
                 audience.dump(restricted_to)))
            return int(cursor.lastrowid or 0)

    def questions(self, session_id: str) -> list[SessionQuestion]:
        with self._lock:
            rows = self._db.execute(
                "select id, session_id, activity_id, thread_id, asker_id, asker_name, question, asked_at, answer_id, "
                "kind, title, outcome, sources, topic, duplicate_of, normalised, vector, facts, restricted_to "
                "from session_questions where session_id = ? order by id", (session_id,)).fetchall()
        out = []
        for row in rows:
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
