"""Daily-sweep subscriptions: who asked for the digest, where to send it, and when it was last sent.

SQLite (the same file as the feedback, WAL). One row per channel manager (AAD object id): the
conversation reference of the 1:1 chat they subscribed from, serialised as the Bot Framework JSON, so
the bot can write to them without waiting for a message. The last sent date (UTC) makes the digest
at most once a day even when the scheduler runs every minute or the server restarts.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retrieval.sqlite_store import SqliteStore

log = logging.getLogger(__name__)

_SCHEMA = """
create table if not exists digest_subscriptions (
    user_id text primary key,
    user_name text not null default '',
    reference text not null,
    created_at real not null,
    last_sent_date text,
    failed_date text,
    failures integer not null default 0
);
"""


@dataclass(frozen=True)
class Subscription:
    user_id: str
    user_name: str
    reference: dict[str, Any]          # ConversationReference.serialize()
    last_sent_date: str | None
    failed_date: str | None
    failures: int


class SubscriptionStore(SqliteStore):
    def __init__(self, path: Path | str) -> None:
        super().__init__(path, _SCHEMA)

    def subscribe(self, user_id: str, user_name: str, reference: dict[str, Any]) -> bool:
        """Store (or refresh) the user's subscription; True when it is new."""
        if not user_id:
            raise ValueError("a subscription needs the user's AAD object id")
        with self._lock, self._db:
            known = self._db.execute("select 1 from digest_subscriptions where user_id = ?", (user_id,)).fetchone()
            if known:
                self._db.execute("update digest_subscriptions set user_name = ?, reference = ? where user_id = ?",
                                 (user_name, json.dumps(reference), user_id))
            else:
                self._db.execute("insert into digest_subscriptions (user_id, user_name, reference, created_at) "
                                 "values (?, ?, ?, ?)", (user_id, user_name, json.dumps(reference), time.time()))
        return not known

    def unsubscribe(self, user_id: str) -> bool:
        with self._lock, self._db:
            cursor = self._db.execute("delete from digest_subscriptions where user_id = ?", (user_id,))
        return cursor.rowcount > 0

    def get(self, user_id: str) -> Subscription | None:
        return next((s for s in self.all() if s.user_id == user_id), None)

    def all(self) -> list[Subscription]:
        with self._lock:
            rows = self._db.execute(
                "select user_id, user_name, reference, last_sent_date, failed_date, failures "
                "from digest_subscriptions order by created_at").fetchall()
        return [Subscription(row[0], row[1], json.loads(row[2]), row[3], row[4], int(row[5])) for row in rows]

    def mark_sent(self, user_id: str, day: dt.date) -> None:
        with self._lock, self._db:
            self._db.execute("update digest_subscriptions set last_sent_date = ?, failed_date = null, failures = 0 "
                             "where user_id = ?", (day.isoformat(), user_id))

    def mark_failed(self, user_id: str, day: dt.date) -> int:
        """Count a failed delivery today; returns today's failures so far."""
        with self._lock, self._db:
            row = self._db.execute("select failed_date, failures from digest_subscriptions where user_id = ?",
                                   (user_id,)).fetchone()
            if row is None:
                return 0
            failures = (int(row[1]) if row[0] == day.isoformat() else 0) + 1
            self._db.execute("update digest_subscriptions set failed_date = ?, failures = ? where user_id = ?",
                             (day.isoformat(), failures, user_id))
        return failures

