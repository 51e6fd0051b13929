"""Answers given and their thumbs up/down; the knowledge-gaps log reads them back."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from storage.database import Tx
from storage.table import Table

_CHUNK = 500                       # ids per `in (…)`: well under either engine's bound-parameter limit


class FeedbackTable(Table):
    def insert_answer(self, *, answer_id: str, question_id: str, conversation_type: str, user_id: str, question: str,
                      kind: str, title: str, created_at: float, outcome: str, topic: str, unknown_terms: str,
                      restricted_to: str = "[]") -> None:
        self.db.write(lambda tx: tx.execute(
            "insert into answers (answer_id, question_id, conversation_type, user_id, question, kind, title, "
            "created_at, outcome, topic, unknown_terms, restricted_to) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (answer_id, question_id, conversation_type, user_id, question, kind, title, created_at, outcome, topic,
             unknown_terms, restricted_to)))

    def record_delivery(self, *, answer_id: str, conversation_id: str, created_at: float) -> None:
        """Note that the answer's card (and its rating buttons) was delivered into this conversation."""
        self.db.write(lambda tx: tx.execute(
            "insert into answer_audience (answer_id, conversation_id, created_at) values (?, ?, ?) "
            "on conflict (answer_id, conversation_id) do nothing", (answer_id, conversation_id, created_at)))

    def rate(self, *, answer_id: str, user_id: str, rating: str, comment: str, created_at: float,
             conversation_id: str | None = None) -> bool:
        """A user's rating of an answer (replacing their earlier one); False if the answer is unknown.

        With `conversation_id` the rater must have seen the answer: they asked it, or it was delivered into
        that conversation; otherwise False, as if unknown."""

        def work(tx: Tx) -> bool:
            known = tx.one("select user_id from answers where answer_id = ?", (answer_id,))
            if known is None:
                return False
            if conversation_id is not None and not (user_id and known[0] == user_id) and tx.one(
                    "select 1 from answer_audience where answer_id = ? and conversation_id = ?",
                    (answer_id, conversation_id)) is None:
                return False
            tx.execute("insert into feedback (answer_id, user_id, rating, comment, created_at) values (?, ?, ?, ?, ?) "
                       "on conflict (answer_id, user_id) do update set rating = excluded.rating, "
                       "comment = excluded.comment, created_at = excluded.created_at",
                       (answer_id, user_id, rating, comment, created_at))
            return True

        return self.db.write(work)

    def rated(self) -> list[tuple[Any, ...]]:
        """(answer_id, question_id, question, kind, rating, user_id) per rating, oldest first."""
        return self.db.read(lambda tx: tx.rows(
            "select f.answer_id, a.question_id, a.question, a.kind, f.rating, f.user_id "
            "from feedback f join answers a on a.answer_id = f.answer_id order by f.created_at"))

    def rating_counts(self, answer_ids: Sequence[str]) -> list[tuple[str, str, int]]:
        """(answer_id, rating, count) for the given answers."""

        def work(tx: Tx) -> list[tuple[str, str, int]]:
            out = []
            for start in range(0, len(answer_ids), _CHUNK):
                chunk = list(answer_ids[start:start + _CHUNK])
                marks = ", ".join("?" * len(chunk))
                out += [(str(a), str(r), int(n)) for a, r, n in tx.rows(
                    f"select answer_id, rating, count(*) from feedback where answer_id in ({marks}) "  # noqa: S608
                    "group by answer_id, rating", chunk)]
            return out

        return self.db.read(work)

    def gap_rows(self, since: float | None) -> list[tuple[Any, ...]]:
        """Answers that were gaps (no match, low confidence, or currently rated down), oldest first:
        (question, user_id, kind, outcome, topic, unknown_terms, created_at, conversation_type, rated_down,
        restricted_to)."""
        query = ("select a.question, a.user_id, a.kind, a.outcome, a.topic, a.unknown_terms, a.created_at, "
                 "a.conversation_type, exists (select 1 from feedback f where f.answer_id = a.answer_id "
                 "and f.rating = 'down') as rated_down, a.restricted_to from answers a "
                 "where (a.outcome in ('no_match', 'low_confidence') or exists (select 1 from feedback f "
                 "where f.answer_id = a.answer_id and f.rating = 'down'))")
        params: list[object] = []
        if since is not None:
            query += " and a.created_at >= ?"
            params.append(float(since))

        def work(tx: Tx) -> list[tuple[Any, ...]]:
            tie = "a.rowid" if tx.dialect == "sqlite" else "a.answer_id"
            return tx.rows(f"{query} order by a.created_at, {tie}", params)

        return self.db.read(work)
