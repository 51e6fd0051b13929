"""Readiness sessions (at most one running per conversation key: a partial unique index) and their questions."""
from __future__ import annotations

from typing import Any

from storage.table import Table

SESSION_COLUMNS = ("session_id, conversation_key, conversation_type, topic, started_by_id, started_by_name, "
                   "started_at, ended_at, ended_by_name")
QUESTION_COLUMNS = ("session_id, activity_id, thread_id, asker_id, asker_name, question, asked_at, answer_id, kind, "
                    "title, outcome, sources, topic, duplicate_of, normalised, vector, facts, restricted_to")
_WHERE = {
    "running": "where conversation_key = ? and ended_at is null",
    "latest": "where conversation_key = ? order by ended_at is null desc, started_at desc limit 1",
    "id": "where session_id = ?",
}


class SessionTable(Table):
    def insert_session(self, row: tuple[Any, ...]) -> None:
        """One new running session (SESSION_COLUMNS less the last two); `Conflict` when one runs there already."""
        self.db.write(lambda tx: tx.execute(
            f"insert into readiness_sessions ({SESSION_COLUMNS}) values (?, ?, ?, ?, ?, ?, ?, null, '')", row))

    def session(self, which: str, key: str) -> tuple[Any, ...] | None:
        """The running session of a conversation key ("running"), the latest there ("latest"), or by id ("id")."""
        where = _WHERE[which]
        return self.db.read(lambda tx: tx.one(f"select {SESSION_COLUMNS} from readiness_sessions {where}", (key,)))

    def end(self, conversation_key: str, ended_at: float, ended_by_name: str) -> str | None:
        """End the running session there; its id, or None when none runs."""
        row = self.db.write(lambda tx: tx.one(
            "update readiness_sessions set ended_at = ?, ended_by_name = ? "
            "where conversation_key = ? and ended_at is null returning session_id",
            (ended_at, ended_by_name, conversation_key)))
        return str(row[0]) if row else None

    def insert_question(self, row: tuple[Any, ...]) -> int:
        """One question (QUESTION_COLUMNS); its id."""
        marks = ", ".join("?" * len(row))
        found = self.db.write(lambda tx: tx.one(
            f"insert into session_questions ({QUESTION_COLUMNS}) values ({marks}) returning id", row))
        return int(found[0]) if found else 0

    def questions(self, session_id: str) -> list[tuple[Any, ...]]:
        """The session's questions in the order asked: id, then QUESTION_COLUMNS (vector as bytes)."""
        rows = self.db.read(lambda tx: tx.rows(
            f"select id, {QUESTION_COLUMNS} from session_questions where session_id = ? order by id", (session_id,)))
        return [(*row[:16], bytes(row[16]) if row[16] is not None else None, *row[17:]) for row in rows]
