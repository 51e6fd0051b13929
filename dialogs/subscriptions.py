"""Daily-sweep subscriptions: who asked for the digest, where to send it, and when it was last sent.

In the bot's database (storage/: the SQLite file, or PostgreSQL shared by every instance). One row per
channel manager (AAD object id): the conversation reference of the 1:1 chat they subscribed from, serialised as the Bot Framework JSON, so
the bot can write to them without waiting for a message. The last sent date (UTC) makes the digest
at most once a day even when the scheduler runs every minute or the server restarts, and a lease
(`claim`) makes one instance of several the one that sends it.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from storage import DatabaseTarget
from storage.subscriptions import SubscriptionTable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Subscription:
    user_id: str
    user_name: str
    reference: dict[str, Any]          # ConversationReference.serialize()
    last_sent_date: str | None
    failed_date: str | None
    failures: int


DIGEST_LEASE_SECONDS = 10 * 60        # an instance that died mid-send leaves the digest to another after this


class SubscriptionStore:
    def __init__(self, path: DatabaseTarget) -> None:
        self._table = SubscriptionTable(path)
        self.path = self._table.path
        self.holder = uuid.uuid4().hex          # this process, as the holder of digest leases

    def close(self) -> None:
        self._table.close()

    def subscribe(self, user_id: str, user_name: str, reference: dict[str, Any]) -> bool:
        """Store (or refresh) the user's subscription; True when it is new."""
        if not user_id:
            raise ValueError("a subscription needs the user's AAD object id")
        return self._table.upsert(user_id, user_name, json.dumps(reference), time.time())

    def unsubscribe(self, user_id: str) -> bool:
        return self._table.delete(user_id)

    def get(self, user_id: str) -> Subscription | None:
        return next((s for s in self.all() if s.user_id == user_id), None)

    def all(self) -> list[Subscription]:
        return [Subscription(row[0], row[1], json.loads(row[2]), row[3], row[4], row[5]) for row in self._table.all()]

    def claim(self, user_id: str, day: dt.date, *, now: float | None = None,
              lease_seconds: float = DIGEST_LEASE_SECONDS) -> bool:
        """Take the lease to send `day`'s digest to this user: False when it went out already or another
        instance is sending it. `mark_sent` or `mark_failed` releases it."""
        return self._table.claim(user_id, day.isoformat(), self.holder, time.time() if now is None else now,
                                 lease_seconds)

    def release(self, user_id: str) -> None:
        """Give up this process's lease on the user's digest: nothing went out, another pass may send it."""
        self._table.release(user_id, self.holder)

    def mark_sent(self, user_id: str, day: dt.date) -> None:
        self._table.mark_sent(user_id, day.isoformat())

    def mark_failed(self, user_id: str, day: dt.date) -> int:
        """Count a failed delivery today; returns today's failures so far."""
        return self._table.mark_failed(user_id, day.isoformat())
