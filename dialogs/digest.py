"""The daily sweep, sent proactively: every subscribed channel manager gets their unattached
opportunities once a day, at or after DIGEST_HOUR_UTC, without writing first.

`send_due_digests(now)` does one pass and is what tests call with a fake clock; `run` calls it once a
minute until stopped. Access is checked again at send time, as the engine sees the user now: someone
removed from "ecm" gets nothing (their subscription is kept, so a mistaken edit of access.yaml does
not silently unsubscribe everyone). A delivery that fails is retried on the next pass, at most
MAX_FAILURES_PER_DAY times a day (a user who removed the app makes the connector answer 403 for good).
With several instances on one database, each subscriber's digest is sent by the instance that takes its
lease for the day (`SubscriptionStore.claim`); the others skip it.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any, Protocol

from dialogs.conversation import EngineSource
from dialogs.exports import ExportStore
from dialogs.reply import Reply
from dialogs.subscriptions import Subscription, SubscriptionStore
from dialogs.workflow import WorkflowEngine, digest_activity

log = logging.getLogger(__name__)

CHECK_INTERVAL_SECONDS = 60.0
MAX_FAILURES_PER_DAY = 3


def _utc(now: dt.datetime) -> dt.datetime:
    return now.astimezone(dt.UTC) if now.tzinfo else now.replace(tzinfo=dt.UTC)


class ProactiveSender(Protocol):
    """The channel's adapter: posts a message into a stored conversation (channel/delivery.py)."""

    async def send_proactive(self, reference: dict[str, Any], reply: Reply, bot_app_id: str | None) -> None: ...


class DigestSender:
    def __init__(self, adapter: ProactiveSender, bot_app_id: str, engine_source: EngineSource,
                 subscriptions: SubscriptionStore, *, hour_utc: int = 7, exports: ExportStore | None = None) -> None:
        self.adapter = adapter
        self.bot_app_id = bot_app_id
        self._engine_source = engine_source
        self.subscriptions = subscriptions
        self.hour_utc = hour_utc
        self.exports = exports

    async def send_due_digests(self, now: dt.datetime) -> list[str]:
        """Send today's digest to every subscriber who has not had it; returns the user ids it went to."""
        now = _utc(now)
        if now.hour < self.hour_utc:
            return []
        engine = self._engine_source()
        if engine is None or not engine.ready or not hasattr(engine, "export_sweep"):
            return []                                   # loading: the next pass will send
        today = now.date()
        sent: list[str] = []
        subscribers = await asyncio.to_thread(self.subscriptions.all)
        skipped = 0
        for subscription in subscribers:
            if subscription.last_sent_date == today.isoformat():
                continue
            if subscription.failed_date == today.isoformat() and subscription.failures >= MAX_FAILURES_PER_DAY:
                continue
            workflow_engine: WorkflowEngine = engine  # type: ignore[assignment]  # checked above
            user = workflow_engine.user_context(subscription.user_id, name=subscription.user_name,
                                                conversation_type="personal")
            if not user.sees_pipeline:
                skipped += 1
                continue
            # several instances check the same minute: the one that takes the lease sends, the others skip
            if not await asyncio.to_thread(self.subscriptions.claim, subscription.user_id, today,
                                           now=now.timestamp()):
                continue
            try:
                activity = await asyncio.to_thread(digest_activity, workflow_engine, user, today,
                                                   brief=subscription.reference.get("channelId") == "msteams")
            except BaseException:
                await asyncio.to_thread(self.subscriptions.release, subscription.user_id)
                raise
            if await self._deliver(subscription, activity):
                await asyncio.to_thread(self.subscriptions.mark_sent, subscription.user_id, today)
                sent.append(subscription.user_id)
            else:
                failures = await asyncio.to_thread(self.subscriptions.mark_failed, subscription.user_id, today)
                log.warning("daily sweep not delivered (attempt %d today)", failures)
        if sent or skipped:
            log.info("daily sweep sent to %d subscribers; %d skipped (no longer channel managers)", len(sent), skipped)
        return sent

    async def _deliver(self, subscription: Subscription, reply: Reply) -> bool:
        """True when the digest went out, or may have: a connector that failed without saying whether it took
        the message (a 500, a read timeout: the channel marks such errors `uncertain`) is not asked again, so
        a subscriber gets the day's digest at most once."""
        try:
            await self.adapter.send_proactive(subscription.reference, reply, self.bot_app_id or None)
        except Exception as exc:
            if getattr(exc, "uncertain", False):
                log.warning("daily sweep delivery uncertain (%s): counted as sent, not repeated today",
                            type(exc).__name__)
                return True
            log.warning("proactive message failed: %s: %s", type(exc).__name__, str(exc)[:200])
            return False
        return True

    async def run(self, stop: asyncio.Event, *, interval: float = CHECK_INTERVAL_SECONDS,
                  clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        """Check once a minute until `stop` is set; one failing pass never ends the loop."""
        log.info("daily sweep scheduler started (sends at or after %02d:00 UTC)", self.hour_utc)
        while not stop.is_set():
            try:
                await self.send_due_digests(clock())
                if self.exports is not None:
                    await asyncio.to_thread(self.exports.purge_expired)
            except Exception:
                log.exception("daily sweep pass failed")
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except TimeoutError:
                pass
