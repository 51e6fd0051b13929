"""Sent cards by id, shared by every instance: a button press rewrites its own card wherever it lands.

A card is kept `ttl_seconds` after it was last saved (a press re-saves it); older rows are purged now and
then. The JSON is stored zlib-compressed (an answer card is a few kilobytes of repetitive JSON).
"""
from __future__ import annotations

import json
import threading
import time
import zlib
from collections.abc import Callable
from typing import Any

from storage.table import Table

TTL_SECONDS = 30 * 24 * 3600.0
PURGE_EVERY_SECONDS = 3600.0


class SentCards(Table):
    def __init__(self, target: object, *, ttl_seconds: float = TTL_SECONDS,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(target)  # type: ignore[arg-type]
        self._ttl, self._clock = ttl_seconds, clock
        self._purged_at = float("-inf")
        self._purge_lock = threading.Lock()

    def save(self, cards: dict[str, dict[str, Any]]) -> None:
        """Insert or replace these cards (one transaction)."""
        if not cards:
            return
        now = self._clock()
        self._purge(now)
        rows = [(card_id, zlib.compress(json.dumps(card, ensure_ascii=False).encode("utf-8")), now)
                for card_id, card in cards.items()]

        def write(tx: Any) -> None:
            for row in rows:
                tx.execute("insert into sent_cards (card_id, card, saved_at) values (?, ?, ?) on conflict (card_id) "
                           "do update set card = excluded.card, saved_at = excluded.saved_at", row)
        self.db.write(write)

    def load(self, card_id: str) -> dict[str, Any] | None:
        row = self.db.read(lambda tx: tx.one("select card, saved_at from sent_cards where card_id = ?", (card_id,)))
        if row is None or float(row[1]) <= self._clock() - self._ttl:
            return None
        card = json.loads(zlib.decompress(bytes(row[0])).decode("utf-8"))
        return card if isinstance(card, dict) else None

    def __len__(self) -> int:
        row = self.db.read(lambda tx: tx.one("select count(*) from sent_cards"))
        return int(row[0]) if row else 0

    def _purge(self, now: float) -> None:
        with self._purge_lock:
            if now - self._purged_at < PURGE_EVERY_SECONDS:
                return
            self._purged_at = now
        self.db.write(lambda tx: tx.execute("delete from sent_cards where saved_at <= ?", (now - self._ttl,)))
