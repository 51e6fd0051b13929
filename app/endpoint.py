"""POST /api/messages and GET /healthz: what a request must be before the bot sees it, and what it is answered.

The messages endpoint checks, in this order: the body is JSON (415), at most 1 MB (413) and arrives in
time (408), is an activity with a conversation (400); in local mode its serviceUrl is this machine (403).
Then it authenticates the request before the turn, so every refused token is 401 and an unreachable
identity provider is 503, never a 500 (channel/http.py says why the SDK's own `process` is not used).
In local mode an Authorization header is ignored: it cannot grant anything there. A tenant outside
ALLOWED_TENANTS is 403. A redelivered activity is answered once (the replay guard), and a turn that
failed is forgotten by the guard, so the channel's retry is answered.
"""
from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import TYPE_CHECKING

from knowledge.display import one_line

if TYPE_CHECKING:
    from aiohttp import web

    from app.engine_slot import EngineSlot
    from app.settings import Settings
    from channel.delivery import ReliableCloudAdapter
    from channel.handler import PartnerBot
    from storage.replay import ReplayLog

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
REPLAY_TTL_SECONDS = 600
REPLAY_MAX_ENTRIES = 10_000


class ReplayGuard:
    """Activity ids seen recently (bounded, with a TTL), so a redelivered activity is answered once.

    In this process only: the server uses `storage.replay.ReplayLog`, the same over the bot's database,
    so a redelivery that reaches another instance is not answered again either."""

    def __init__(self, ttl_seconds: float = REPLAY_TTL_SECONDS, max_entries: int = REPLAY_MAX_ENTRIES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._seen: OrderedDict[Hashable, float] = OrderedDict()
        self._ttl, self._max, self._clock = ttl_seconds, max_entries, clock
        self._lock = threading.Lock()

    def first_delivery(self, key: Hashable) -> bool:
        with self._lock:
            return self._first_delivery(key)

    def _first_delivery(self, key: Hashable) -> bool:
        now = self._clock()
        while self._seen and (next(iter(self._seen.values())) <= now - self._ttl or len(self._seen) >= self._max):
            self._seen.popitem(last=False)
        if key in self._seen:
            return False
        self._seen[key] = now
        return True

    def forget(self, key: Hashable) -> None:
        """A turn that failed may be retried by the channel: let the retry through."""
        with self._lock:
            self._seen.pop(key, None)

    def __len__(self) -> int:
        return len(self._seen)


def _error(status: int, message: str) -> web.Response:
    from aiohttp import web

    return web.json_response({"error": message}, status=status)


class MessagesEndpoint:
    """POST /api/messages: validate, authenticate, de-duplicate, run the turn, write the replies."""

    def __init__(self, settings: Settings, adapter: ReliableCloudAdapter, bot: PartnerBot,
                 replay_guard: ReplayGuard | ReplayLog | None = None) -> None:
        self.settings, self.adapter, self.bot = settings, adapter, bot
        # not `or`: an empty guard has len() 0, so a test's guard (with its own clock) was silently replaced
        self.replay_guard: ReplayGuard | ReplayLog = replay_guard if replay_guard is not None else ReplayGuard()
        self._warned_local_auth = False

    async def __call__(self, request: web.Request) -> web.Response:
        from aiohttp import web

        from channel import http
        from channel.turn import tenant_ids
        from dialogs import http_guard, teams

        if request.content_type != "application/json":
            return _error(415, "Content-Type must be application/json")
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return _error(413, "request body over 1 MB")
        try:
            raw = await http_guard.read_body(request, self.settings.body_timeout_seconds)
        except web.HTTPRequestEntityTooLarge:
            return _error(413, "request body over 1 MB")
        except http_guard.BodyTimeoutError:
            log.info("request refused: the body did not arrive within %gs", self.settings.body_timeout_seconds)
            response = _error(408, "request body not received in time")
            response.force_close()
            return response
        if len(raw) > MAX_BODY_BYTES:
            return _error(413, "request body over 1 MB")
        try:
            body = teams.clean_inbound(json.loads(raw))     # lone surrogates, NULs, control characters: gone
        except (ValueError, RecursionError):
            return _error(400, "request body is not valid JSON")
        if not isinstance(body, dict) or not isinstance(body.get("type"), str) or not body["type"].strip():
            return _error(400, "request body is not an activity (no type)")
        try:
            activity = http.read_activity(body)
        except http.NotAnActivityError:
            return _error(400, "request body is not a valid activity")
        if not activity.conversation or not activity.conversation.id:
            return _error(400, "activity has no conversation id")
        if self.settings.local_mode and activity.service_url and not http_guard.is_loopback_url(activity.service_url):
            # replies, roster look-ups and the daily digest go there: unauthenticated, only this machine
            log.info("request refused: serviceUrl is not a loopback address (local mode)")
            return _error(403, "serviceUrl must be a loopback address in local mode")

        auth_header = request.headers.get("Authorization", "")
        if self.settings.local_mode and auth_header:
            if not self._warned_local_auth:
                log.warning("local mode: ignoring Authorization headers (requests are not authenticated)")
                self._warned_local_auth = True
            auth_header = ""
        try:
            authenticated = await http.authenticate(self.adapter, activity, auth_header)
        except Exception as exc:
            if http.is_upstream_failure(exc):
                log.warning("authentication service unreachable: %s", one_line(exc))
                return _error(503, "authentication service unreachable")
            log.info("request refused: %s", one_line(exc))
            return _error(401, "unauthorized")

        allowlist = self.settings.tenant_allowlist
        tenants = tenant_ids(activity)
        if allowlist and not (tenants and tenants <= allowlist):
            log.info("request refused: tenant not allowed")
            return _error(403, "tenant not allowed")

        expect_replies = http.expects_replies(activity)
        key = (activity.channel_id, activity.conversation.id, activity.id) if activity.id else None
        # off the event loop: the shared guard is a database write
        if key is not None and not await asyncio.to_thread(self.replay_guard.first_delivery, key):
            log.info("duplicate delivery of a %s activity: answered once already", activity.type)
            return web.json_response({"activities": []}) if expect_replies else web.Response(status=200)

        try:
            invoke_response = await http.run_turn(self.adapter, authenticated, activity, self.bot.on_turn)
        except Exception as exc:
            if key is not None:
                await asyncio.to_thread(self.replay_guard.forget, key)
            upstream = http.is_upstream_failure(exc)
            log.exception("turn failed (%s)", "connector unreachable" if upstream else "internal error")
            return _error(502 if upstream else 500, "could not deliver the reply" if upstream else "internal error")
        return http.invoke_response_to_http(invoke_response)


def make_health_route(settings: Settings, slot: EngineSlot,
                      adapter: ReliableCloudAdapter) -> Callable[[web.Request], Awaitable[web.Response]]:
    """GET /healthz: the slot's status for anyone; counts, generation and reasons only for this machine or
    a request with the channel's token (the same check as POST /api/messages)."""
    from aiohttp import web

    from channel import auth
    from dialogs import http_guard

    async def healthz(request: web.Request) -> web.Response:
        status, body = slot.health()
        if not (http_guard.trusted_peer(request) or await auth.channel_authenticated(
                request, adapter.bot_framework_authentication, settings.local_mode)):
            body = {"status": body["status"]}    # counts, generation and reasons only for this machine or the channel
        return web.json_response(body, status=status)

    return healthz
