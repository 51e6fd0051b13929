"""The aiohttp application and `serve`: the composition root that opens the stores and wires the bot together.

`create_app` opens the bot's database (DATABASE_URL, else the SQLite file in DATA_DIR) and the conversation
state store, builds the adapter (channel/adapter.py) and the activity handler with everything they use,
and routes POST /api/messages and GET /healthz (app/endpoint.py) and GET /exports/{name} (channel managers'
exports, 15 minutes). Everything it opened is closed when the app is cleaned up. `run_server` listens
first, loads the engine in the background (app/engine_slot.py), watches for a new index generation and
runs the daily-sweep scheduler (a task that checks once a minute and sends proactively at DIGEST_HOUR_UTC).
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from app.endpoint import MAX_BODY_BYTES, REPLAY_TTL_SECONDS, MessagesEndpoint, ReplayGuard, make_health_route
from app.engine_slot import EngineSlot

if TYPE_CHECKING:  # the heavy imports wait for `serve`, so --help stays fast
    from aiohttp import web

    from app.settings import Settings
    from channel.delivery import Timing
    from dialogs.digest import DigestSender
    from dialogs.exports import ExportStore
    from retrieval.engine import AnswerEngine
    from retrieval.generation import AnswerWriter
    from storage.replay import ReplayLog

log = logging.getLogger(__name__)

EXPORT_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def make_export_route(store: ExportStore) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """GET /exports/{name}: an existing, unexpired export by its exact random name; 404 for anything else."""
    from aiohttp import web

    async def download(request: web.Request) -> web.StreamResponse:
        export = await asyncio.to_thread(store.fetch, request.match_info.get("name", ""))
        if export is None:
            return web.Response(status=404, text="Not found (export links expire after 15 minutes).",
                                headers=EXPORT_HEADERS)
        stamp = time.strftime("%Y-%m-%d", time.gmtime(export.created_at))
        headers = {**EXPORT_HEADERS, "Content-Type": store.content_type(export.name),
                   "Content-Disposition": f'attachment; filename="partner-atlas-export-{stamp}{export.suffix}"'}
        log.info("export downloaded (%s)", export.suffix)
        return web.Response(body=export.data, headers=headers)

    return download


def create_app(settings: Settings, slot: EngineSlot, *, replay_guard: ReplayGuard | ReplayLog | None = None,
               delivery_timing: Timing | None = None, answer_writer: AnswerWriter | None = None) -> web.Application:
    """The aiohttp application: POST /api/messages, GET /healthz and GET /exports/{name}.

    Answers go through `answer_writer` when one is given, else through the LLM_PROVIDER's (none: extractive).

    The daily-sweep sender is built here (`app[digest_sender_key()]`) and started by `run_server`, so a
    test drives it with its own clock; `delivery_timing` is the outgoing retries' clock and sleep.
    Conversation state goes to the configured store (STATE_STORE), closed when the app is cleaned up.
    Everything else the bot writes goes to its database (DATABASE_URL, else the SQLite file in DATA_DIR),
    the replay guard too unless the caller gives one.
    """
    from aiohttp import web

    from channel.adapter import create_adapter, make_turn_error_handler
    from channel.delivery import AnswerAudience, RetryPolicy
    from channel.handler import PartnerBot
    from channel.storage import close_state_storage, open_state_storage
    from dialogs import http_guard
    from dialogs.card_verbs import CardMemory
    from dialogs.digest import DigestSender
    from dialogs.exports import ExportStore
    from dialogs.feedback import FeedbackStore
    from dialogs.knowledge_gaps import KnowledgeGapActions
    from dialogs.roster import RosterCheck
    from dialogs.session_store import SessionStore
    from dialogs.sessions import ReadinessSessions
    from dialogs.subscriptions import SubscriptionStore
    from dialogs.workflow import ChannelManagerActions
    from storage import describe, open_database
    from storage.cards import SentCards
    from storage.replay import ReplayLog

    adapter = create_adapter(settings.botbuilder_configuration(), timing=delivery_timing,
                             policy=RetryPolicy(max_attempts=settings.outgoing_max_attempts,
                                                budget_seconds=settings.outgoing_retry_budget_seconds),
                             loopback_only=settings.local_mode)
    database = open_database(settings.database_target)
    log.info("bot database: %s", describe(database))
    feedback = FeedbackStore(database)
    adapter.use(AnswerAudience(feedback))     # who may rate an answer: where its card was delivered
    state_storage = open_state_storage(
        settings.state_store, sqlite_path=settings.data_dir / "partner-atlas.db",
        blob_connection_string=settings.azure_storage_connection_string.get_secret_value(),
        blob_container=settings.azure_storage_container, database=database)
    exports = ExportStore(database)
    sent_cards = SentCards(database)       # pressed cards update in place on any instance, after a restart too
    subscriptions = SubscriptionStore(database)
    actions = ChannelManagerActions(slot.current, exports=exports, public_base_url=settings.export_base_url,
                                    subscriptions=subscriptions, digest_hour_utc=settings.digest_hour_utc)
    session_store = SessionStore(database)
    sessions = ReadinessSessions(slot.current, session_store, feedback=feedback,
                                 exports=exports, public_base_url=settings.export_base_url)
    knowledge_gaps = KnowledgeGapActions(slot.current, feedback, exports, settings.export_base_url)
    if answer_writer is None and settings.llm_provider != "none":
        from retrieval.chat_models import make_answer_writer

        answer_writer = make_answer_writer(settings.llm_config())
        log.info("LLM answers on: %s, %.1f s budget, %d input tokens, %d calls a minute per user",
                 settings.llm_provider, settings.llm_timeout_seconds, settings.llm_max_input_tokens,
                 settings.llm_rate_per_minute)
    bot = PartnerBot(slot.current, storage=state_storage, feedback=feedback, actions=actions, sessions=sessions,
                     knowledge_gaps=knowledge_gaps, writer=answer_writer,
                     roster=RosterCheck(settings.confidential_in_groups), cards=CardMemory(store=sent_cards))
    adapter.on_turn_error = make_turn_error_handler(bot)
    if replay_guard is None:
        replay_guard = ReplayLog(database, ttl_seconds=REPLAY_TTL_SECONDS)
    endpoint = MessagesEndpoint(settings, adapter, bot, replay_guard)

    # a little above 1 MB so that our own check (and its message) decides, not aiohttp's
    middlewares = []
    if settings.local_mode:     # unauthenticated: refuse a browser page's DNS-rebinding requests
        from urllib.parse import urlsplit

        middlewares.append(http_guard.host_check_middleware(
            public=settings.allow_public_bind,
            extra_hosts=[h for h in (settings.host, urlsplit(settings.public_base_url).hostname or "") if h]))
    app = web.Application(client_max_size=MAX_BODY_BYTES + 1, middlewares=middlewares)
    app.router.add_post("/api/messages", endpoint)
    app.router.add_get("/healthz", make_health_route(settings, slot, adapter))
    app.router.add_get("/exports/{name}", make_export_route(exports))
    app[digest_sender_key()] = DigestSender(adapter, settings.app_id, slot.current, subscriptions,
                                            hour_utc=settings.digest_hour_utc, exports=exports)

    async def close_state(_: web.Application) -> None:
        await close_state_storage(state_storage)
        for store in (exports, sent_cards, subscriptions, feedback, session_store, replay_guard):
            close = getattr(store, "close", None)
            if close is not None:
                close()
        database.close()

    app.on_cleanup.append(close_state)
    return app


@functools.cache
def digest_sender_key() -> web.AppKey[DigestSender]:
    """The app key under which create_app keeps the daily-sweep sender (aiohttp wants typed keys)."""
    from aiohttp import web

    from dialogs.digest import DigestSender

    return web.AppKey("digest_sender", DigestSender)


async def run_server(settings: Settings, loader: Callable[[], AnswerEngine], *,
                     stop: asyncio.Event | None = None, slot: EngineSlot | None = None,
                     version: Callable[[], str | None] | None = None) -> None:
    """Listen first, then load the engine in a thread, so a supervisor sees the port at once.

    With `version` (the live index generation), a new generation is loaded and swapped in while
    serving (checked every INDEX_RELOAD_SECONDS). Runs until SIGINT/SIGTERM, or until `stop` is set.
    """
    from aiohttp import web

    from dialogs.http_guard import limit_connections

    slot = slot or EngineSlot()
    limits = settings.server_limits()
    runner = web.AppRunner(create_app(settings, slot), **limits.runner_options())
    await runner.setup()
    limit_connections(runner.server, limits.max_connections)
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    if settings.local_mode:
        log.warning("local mode: no MicrosoftAppId, requests are NOT authenticated; listening on http://%s:%d",
                    settings.host, settings.port)
    else:
        log.info("listening on http://%s:%d (Bot Framework authentication on, app type %s)",
                 settings.host, settings.port, settings.app_type)
    slot.load_in_background(loader)
    watching = threading.Event()
    if version is not None and settings.index_reload_seconds > 0:
        slot.watch(version, loader, settings.index_reload_seconds, watching)
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
    digest = asyncio.create_task(runner.app[digest_sender_key()].run(stop, interval=settings.digest_check_seconds),
                                 name="daily-sweep")
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        watching.set()
        digest.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await digest
        await runner.cleanup()


def serve(settings: Settings) -> None:
    """`bot.py serve`: the server on the knowledge and index of `settings`, until SIGINT/SIGTERM.

    Raises storage.DatabaseUnavailable when the bot's database cannot be opened, OSError when the port
    cannot be bound."""
    def load() -> AnswerEngine:
        from retrieval import loading

        return loading.load_engine(settings.knowledge_dir, settings.index_dir, embedder=settings.embedder,
                                  decisions_path=settings.decisions_path, chroma=settings.chroma_config())

    def live_generation() -> str | None:
        from retrieval.generations import Generations

        return Generations(settings.index_dir, settings.chroma_config()).live_name()

    asyncio.run(run_server(settings, load, version=live_generation))
