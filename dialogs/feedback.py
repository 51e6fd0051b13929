"""Answers given and the thumbs up/down users give them, in SQLite.

Every answer gets an id that its card's feedback buttons carry back. What is stored: ids, who asked
(AAD object id), the kind and title of the answer, the question as typed, and the rating. No record
text from the knowledge folder is stored, so the file holds nothing confidential beyond what users typed.
"""
from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from retrieval.sqlite_store import SqliteStore

log = logging.getLogger(__name__)

_SCHEMA = """
create table if not exists answers (
    answer_id text primary key,
    question_id text,
    conversation_type text,
    user_id text,
    question text,
    kind text,
    title text,
    created_at real
);
create table if not exists feedback (
    answer_id text not null,
    user_id text,
    rating text not null check (rating in ('up', 'down')),
    comment text,
    created_at real,
    primary key (answer_id, user_id)
);
"""


@dataclass(frozen=True)
class FeedbackRow:
    answer_id: str
    question_id: str
    question: str
    kind: str
    rating: str
    user_id: str


class FeedbackStore(SqliteStore):
    def __init__(self, path: Path | str) -> None:
        super().__init__(path, _SCHEMA)

    def record_answer(self, *, question_id: str, conversation_type: str, user_id: str, question: str,
                      kind: str, title: str) -> str:
        answer_id = uuid.uuid4().hex
        with self._lock, self._db:
            self._db.execute("insert into answers values (?, ?, ?, ?, ?, ?, ?, ?)",
                             (answer_id, question_id, conversation_type, user_id, question[:2000], kind, title[:300],
                              time.time()))
        return answer_id

    def record_feedback(self, *, answer_id: str, user_id: str, rating: str, comment: str = "") -> bool:
        """Store a rating (a user's later click replaces their earlier one). False if the answer is unknown."""
        if rating not in ("up", "down"):
            raise ValueError(f"rating must be 'up' or 'down', not {rating!r}")
        with self._lock, self._db:
            known = self._db.execute("select 1 from answers where answer_id = ?", (answer_id,)).fetchone()
            if not known:
                return False
            self._db.execute("insert or replace into feedback values (?, ?, ?, ?, ?)",
                             (answer_id, user_id, rating, comment[:1000], time.time()))
        return True

    def feedback(self) -> list[FeedbackRow]:
        with self._lock:
            rows = self._db.execute(
                "select f.answer_id, a.question_id, a.question, a.kind, f.rating, f.user_id "
                "from feedback f join answers a using (answer_id) order by f.created_at").fetchall()
        return [FeedbackRow(*row) for row in rows]

