"""Daily-digest subscriptions, and the lease that lets exactly one instance send a subscriber's digest a day.

`claim` is one conditional update: it succeeds for the first instance that asks while today's digest is
unsent and no unexpired lease is held, so two instances checking the same minute cannot both send.
`mark_sent` and `mark_failed` release the lease; a lease of an instance that died mid-send expires.
"""
from __future__ import annotations

from typing import Any

from storage.table import Table

SubscriptionRow = tuple[str, str, str, str | None, str | None, int]


class SubscriptionTable(Table):
    def upsert(self, user_id: str, user_name: str, reference: str, created_at: float) -> bool:
        """Store or refresh a subscription; True when it is new."""
        def work(tx: Any) -> bool:
            rows = tx.rows("insert into digest_subscriptions (user_id, user_name, reference, created_at) "
                           "values (?, ?, ?, ?) on conflict (user_id) do update set user_name = excluded.user_name, "
                           "reference = excluded.reference returning created_at", (user_id, user_name, reference,
                                                                                   created_at))
            return bool(rows) and float(rows[0][0]) == created_at

        return self.db.write(work)

    def delete(self, user_id: str) -> bool:
        return self.db.write(lambda tx: tx.count("delete from digest_subscriptions where user_id = ?", (user_id,))) > 0

    def all(self) -> list[SubscriptionRow]:
        return [(str(r[0]), str(r[1]), str(r[2]), r[3], r[4], int(r[5])) for r in self.db.read(lambda tx: tx.rows(
            "select user_id, user_name, reference, last_sent_date, failed_date, failures "
            "from digest_subscriptions order by created_at"))]

    def claim(self, user_id: str, day: str, holder: str, now: float, lease_seconds: float) -> bool:
        """Take the lease to send `day`'s digest to this user; False when it is sent or another holds it."""
        return self.db.write(lambda tx: tx.count(
            "update digest_subscriptions set claimed_by = ?, claimed_until = ? where user_id = ? "
            "and (last_sent_date is null or last_sent_date <> ?) and (claimed_until is null or claimed_until <= ?)",
            (holder, now + lease_seconds, user_id, day, now))) == 1

    def release(self, user_id: str, holder: str) -> None:
        """Give up a lease this holder took (nothing was sent)."""
        self.db.write(lambda tx: tx.execute(
            "update digest_subscriptions set claimed_by = '', claimed_until = null where user_id = ? and claimed_by = ?",
            (user_id, holder)))

    def mark_sent(self, user_id: str, day: str) -> None:
        self.db.write(lambda tx: tx.execute(
            "update digest_subscriptions set last_sent_date = ?, failed_date = null, failures = 0, claimed_by = '', "
            "claimed_until = null where user_id = ?", (day, user_id)))

    def mark_failed(self, user_id: str, day: str) -> int:
        """Count a failed delivery on `day` and release the lease; today's failures so far (0: no such user)."""
        rows = self.db.write(lambda tx: tx.rows(
            "update digest_subscriptions set failures = case when failed_date = ? then failures + 1 else 1 end, "
            "failed_date = ?, claimed_by = '', claimed_until = null where user_id = ? returning failures",
            (day, day, user_id)))
        return int(rows[0][0]) if rows else 0
