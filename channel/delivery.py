"""Outgoing delivery to the Bot Connector: retry what was refused, never re-post what may have arrived.

`ReliableCloudAdapter` is botbuilder's `CloudAdapter` with `send_activities` wrapped: every reply,
proactive message (the daily sweep, `send_proactive`) and apology goes through it, one activity at a time,
so a retry never re-sends an activity that already went out.

Which connector answers are retried (each one says the activity was *not* accepted):
- 429 Too Many Requests: the rate limit (Teams: per bot per thread, per tenant), refused before
  processing. Retry-After is honoured.
- 412 Precondition Failed: Teams' rate-limit guidance says 412, 502 and 504 must be retried like 429.
  And by HTTP's definition (RFC 9110 §13.1) a server answering 412 has not applied the request: the
  precondition is checked first, so the activity was not posted and a re-post cannot duplicate it.
- 502 Bad Gateway, 503 Service Unavailable, 504 Gateway Timeout: a gateway in front of the connector
  could not reach it or gave up; the connector itself never saw the request, or did not finish it
  (Teams treats 502/504 as retryable for this reason). Retry-After is honoured on 503.
Not retried:
- 500 Internal Server Error is ambiguous: the connector may have stored and forwarded the message and
  failed afterwards. Re-posting would risk the user reading the answer twice, so the send raises
  `DeliveryUncertainError` after one attempt: the turn error handler logs it and ends the turn
  without an apology (which could be a second message too), and the endpoint keeps the activity in
  its replay guard so a redelivery is not answered again. A read timeout is treated the same way.
- Any other 4xx (401, 403, 404, …) is a definite refusal that a retry cannot change: it is raised
  as before (the endpoint answers 502 and lets a redelivery through).
- A typing indicator is best-effort: refused or uncertain, it is logged and dropped rather than
  retried (a late "typing…" means nothing, and it would spend the rate limit the answer needs).

Backoff is exponential with jitter (half fixed, half random, so instances that were throttled together
do not come back together); a Retry-After is waited in full plus a little jitter. A retry is made only
while attempts remain and the total wait stays within the budget: the user is waiting for this turn.
"""
from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ActivityTypes, ConversationReference, ResourceResponse
from botframework.connector.auth import BotFrameworkAuthentication
from msrest.exceptions import ClientRequestError, HttpOperationError

from channel.turn import to_activity
from dialogs.feedback import FeedbackStore, rated_answer_ids
from dialogs.reply import Reply

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({412, 429, 502, 503, 504})
AMBIGUOUS_STATUSES = frozenset({500})


class DeliveryUncertainError(Exception):
    """The connector failed in a way that does not say whether it accepted the activity (500, read timeout).
    `uncertain` tells the dialogs so without their importing this module (the daily digest is not resent)."""

    uncertain = True

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4               # the first post and up to three retries
    budget_seconds: float = 10.0        # total waiting across retries; the user's turn is on hold meanwhile
    base_delay: float = 0.5
    max_delay: float = 8.0              # no single wait is longer; a longer Retry-After means give up now

    def delay_before(self, retry: int, retry_after: float | None, draw: float) -> float | None:
        """Seconds to wait before retry number `retry` (1-based), or None when the connector asks for too long.

        `draw` is a random number in [0, 1).
        """
        if retry_after is not None:
            if retry_after > self.max_delay:
                return None
            return retry_after + draw * self.base_delay / 2
        ceiling = min(self.max_delay, self.base_delay * 2 ** (retry - 1))
        return ceiling / 2 + draw * ceiling / 2


@dataclass
class Timing:
    """The clock, sleep and random source of the retry loop; tests pass a fake one."""

    monotonic: Any = field(default=time.monotonic)
    sleep: Any = field(default=asyncio.sleep)
    random: Any = field(default=random.random)


def status_of(error: BaseException) -> int | None:
    response = getattr(error, "response", None)
    for name in ("status_code", "status"):
        value = getattr(response, name, None)
        if isinstance(value, int):
            return value
    return None


def retry_after_of(error: BaseException, now: datetime | None = None) -> float | None:
    """The Retry-After header in seconds (delta-seconds or an HTTP date), or None."""
    headers = getattr(getattr(error, "response", None), "headers", None) or {}
    try:
        value = str(headers.get("Retry-After", "")).strip()
    except AttributeError:
        return None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _is_read_timeout(error: ClientRequestError) -> bool:
    inner = getattr(error, "inner_exception", None) or error.__cause__
    name = type(inner).__name__ if inner is not None else ""
    return name in ("ReadTimeout", "ReadTimeoutError", "ServerTimeoutError")


class AnswerAudience:
    """Bot Framework middleware noting which conversation every answer card is delivered into (its rating
    buttons carry the answer id): FeedbackStore.record_feedback lets only that audience rate it. It sees
    replies sent in the response (expectReplies) as well as through the connector, and proactive ones."""

    def __init__(self, store: FeedbackStore) -> None:
        self.store = store

    async def on_turn(self, context: TurnContext, logic: Callable[[], Awaitable[None]]) -> None:
        async def note(_: TurnContext, activities: list[Activity], next_send: Callable[[], Awaitable[Any]]) -> Any:
            responses = await next_send()
            for activity in activities:
                conversation = activity.conversation.id if activity.conversation else ""
                for answer_id in rated_answer_ids([a.content for a in activity.attachments or []]):
                    await asyncio.to_thread(self.store.record_delivery, answer_id, conversation or "")
            return responses

        context.on_send_activities(note)
        await logic()


class ServiceUrlRefusedError(PermissionError):
    """An activity addressed to a serviceUrl this server may not post to (local mode: not loopback)."""


class ReliableCloudAdapter(CloudAdapter):
    """CloudAdapter whose outgoing activities are retried as the module docstring says.

    With `service_url_allowed`, an activity addressed elsewhere is not posted (ServiceUrlRefusedError):
    in local mode only loopback, whatever a request or an old stored subscription names.
    """

    def __init__(self, bot_framework_authentication: BotFrameworkAuthentication, *,
                 policy: RetryPolicy | None = None, timing: Timing | None = None,
                 service_url_allowed: Callable[[str | None], bool] | None = None) -> None:
        super().__init__(bot_framework_authentication)
        self.policy = policy or RetryPolicy()
        self.timing = timing or Timing()
        self.service_url_allowed = service_url_allowed

    async def send_activities(self, context: TurnContext, activities: list[Activity]) -> list[ResourceResponse]:
        if not activities:
            return await super().send_activities(context, activities)   # the SDK's own argument errors
        responses: list[ResourceResponse] = []
        for activity in activities:
            target = activity.service_url or context.activity.service_url
            if self.service_url_allowed is not None and not self.service_url_allowed(target):
                log.warning("a %s activity was not posted: its serviceUrl is not allowed here", activity.type)
                raise ServiceUrlRefusedError("serviceUrl not allowed")
            responses.extend(await self._send_one(context, activity))
        return responses

    async def _send_one(self, context: TurnContext, activity: Activity) -> list[ResourceResponse]:
        typing = activity.type == ActivityTypes.typing
        waited = 0.0
        started = self.timing.monotonic()
        for attempt in range(1, self.policy.max_attempts + 1):
            try:
                responses = await super().send_activities(context, [activity])
            except HttpOperationError as error:
                status = status_of(error)
                if typing and (status in RETRYABLE_STATUSES or status in AMBIGUOUS_STATUSES):
                    log.info("typing indicator not delivered (connector answered %s): dropped", status)
                    return [ResourceResponse(id="")]
                if status in AMBIGUOUS_STATUSES:
                    log.error("the connector answered %s to a %s activity: it may or may not have been delivered, "
                              "so it is not posted again", status, activity.type)
                    raise DeliveryUncertainError(f"connector answered {status}", status) from error
                if status not in RETRYABLE_STATUSES:
                    raise
                delay = self.policy.delay_before(attempt, retry_after_of(error), self.timing.random())
                elapsed = self.timing.monotonic() - started
                if attempt == self.policy.max_attempts or delay is None \
                        or elapsed + delay > self.policy.budget_seconds:
                    log.warning("the connector refused a %s activity (%s) %d time(s) in %.1fs: giving up",
                                activity.type, status, attempt, elapsed)
                    raise
                log.warning("the connector refused a %s activity (%s): retry %d in %.2fs",
                            activity.type, status, attempt, delay)
                waited += delay
                await self.timing.sleep(delay)
                continue
            except ClientRequestError as error:
                if not _is_read_timeout(error):
                    raise           # not connected (msrest already retried the connection): nothing was sent
                if typing:
                    log.info("typing indicator timed out: dropped")
                    return [ResourceResponse(id="")]
                log.error("the connector did not answer in time for a %s activity: not posted again", activity.type)
                raise DeliveryUncertainError("connector read timeout") from error
            if attempt > 1:
                log.info("a %s activity was delivered on attempt %d after %.2fs of waiting",
                         activity.type, attempt, waited)
            return responses
        raise AssertionError("unreachable")

    async def send_proactive(self, reference: dict[str, Any], reply: Reply, bot_app_id: str | None) -> None:
        """Post a message into a stored conversation without an incoming turn (dialogs/digest.py); raises what failed."""
        conversation = ConversationReference().deserialize(reference)
        failure: list[BaseException] = []

        async def send(turn_context: TurnContext) -> None:
            # The continuation activity has a made-up id, and a reply would be addressed to it: without an
            # id the message is posted as a new message in the chat.
            turn_context.activity.id = None
            # Failures are caught here, not by the adapter's on_turn_error: that would reset the user's
            # conversation state and try to post an apology into the chat.
            try:
                await turn_context.send_activity(to_activity(reply))
            except Exception as exc:
                failure.append(exc)

        await self.continue_conversation(conversation, send, bot_app_id)
        if failure:
            raise failure[0]
