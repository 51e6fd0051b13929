"""Partner Atlas: settings, the activity handler wiring, the aiohttp app and the CLI.

  python bot.py index --knowledge DIR --index DIR [--embedder minilm|hashing]
  python bot.py serve --knowledge DIR --index DIR --port N [--host H] [--allow-public]
  python bot.py ask "question" [--as-group ecm] [--as-user AAD_ID] [--json]
  python bot.py gaps [--since DAYS] [--limit N] [--format table|csv|md|json] [--output FILE]

`serve` listens first and loads the engine in a background thread (GET /healthz says 503 "loading",
then 200). Without an app id it runs in local mode: unauthenticated, bound to loopback only. It also
serves channel managers' exports (GET /exports/{token}.csv|xlsx, 15 minutes) and runs the daily-sweep
scheduler (a task that checks once a minute and sends proactively at DIGEST_HOUR_UTC).

POST /api/messages is handled here rather than by `CloudAdapter.process`, because botbuilder 4.17.1
gets two things wrong there (see ../shared/stack-notes.md):
- deliveryMode "expectReplies": the adapter serialises ExpectedReplies to a dict and `process`
  serialises it again → 500 (microsoft/botbuilder-python#2156). `invoke_response_to_http` passes an
  already-serialised body through.
- authentication failures other than PermissionError (a malformed token, any Authorization header
  while auth is disabled) → 500. Requests are authenticated before the turn and every failure is 401.
  In local mode an Authorization header is ignored: it cannot grant anything there.
It also rejects what is not an activity (400/413/415) and answers a redelivered activity once.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import logging
import signal
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import asdict, replace
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:  # the heavy imports wait for the command that needs them, so --help stays fast
    from aiohttp import web
    from botbuilder.core import InvokeResponse, TurnContext
    from botbuilder.integration.aiohttp import CloudAdapter

    from channel.delivery import Timing
    from channel.handler import PartnerBot
    from dialogs.digest import DigestSender
    from dialogs.exports import ExportStore
    from dialogs.feedback import KnowledgeGap
    from retrieval.chat_models import LLMConfig
    from retrieval.engine import AnswerEngine
    from retrieval.generation import AnswerWriter
    from storage.replay import ReplayLog

log = logging.getLogger("bot")  # not __name__: the same logger name whether run as a script or imported

PROJECT_DIR = Path(__file__).resolve().parent
ENV_FILE: Path | None = PROJECT_DIR / ".env"
MAX_BODY_BYTES = 1024 * 1024
REPLAY_TTL_SECONDS = 600
REPLAY_MAX_ENTRIES = 10_000
APP_TYPES = {"multitenant": "MultiTenant", "singletenant": "SingleTenant", "userassignedmsi": "UserAssignedMSI"}


# =========================================================================== settings
class Settings(BaseSettings):
    """Read once at start from the environment (and .env); command-line options override."""

    model_config = SettingsConfigDict(env_file_encoding="utf-8", extra="ignore", populate_by_name=True)

    app_id: str = Field("", validation_alias=AliasChoices("MicrosoftAppId", "APP_ID", "app_id"))
    app_password: SecretStr = Field(SecretStr(""), validation_alias=AliasChoices(
        "MicrosoftAppPassword", "APP_PASSWORD", "app_password"))
    app_tenant_id: str = Field("", validation_alias=AliasChoices(
        "MicrosoftAppTenantId", "APP_TENANTID", "APP_TENANT_ID", "app_tenant_id"))
    app_type: str = Field("MultiTenant", validation_alias=AliasChoices("MicrosoftAppType", "APP_TYPE", "app_type"))
    knowledge_dir: Path = Field(PROJECT_DIR / "knowledge" / "sample",
                                validation_alias=AliasChoices("KNOWLEDGE_DIR", "knowledge_dir"))
    index_dir: Path = Field(PROJECT_DIR / ".index", validation_alias=AliasChoices("INDEX_DIR", "index_dir"))
    embedder: str = Field("minilm", validation_alias=AliasChoices("EMBEDDER", "embedder"))
    port: int = Field(3978, ge=1, le=65535, validation_alias=AliasChoices("PORT", "BOT_PORT", "port"))
    # not "HOST": shells set that to the machine's name
    host: str = Field("127.0.0.1", validation_alias=AliasChoices("BOT_HOST", "host"))
    allow_public_bind: bool = Field(False, validation_alias=AliasChoices("ALLOW_PUBLIC_BIND", "allow_public_bind"))
    allowed_tenants: str = Field("", validation_alias=AliasChoices("ALLOWED_TENANTS", "allowed_tenants"),
                                 description="comma-separated tenant ids; empty allows every tenant")
    log_level: str = Field("INFO", validation_alias=AliasChoices("LOG_LEVEL", "log_level"))
    data_dir: Path = Field(PROJECT_DIR / "var", validation_alias=AliasChoices("DATA_DIR", "data_dir"),
                           description="the bot's SQLite database (partner-atlas.db: decisions, feedback, "
                                       "subscriptions, sessions, exports, state) unless DATABASE_URL is set")
    public_base_url: str = Field("", validation_alias=AliasChoices("PUBLIC_BASE_URL", "public_base_url"),
                                 description="where users reach GET /exports/…; default http://127.0.0.1:{port}")
    digest_hour_utc: int = Field(7, ge=0, le=23, validation_alias=AliasChoices("DIGEST_HOUR_UTC", "digest_hour_utc"))
    digest_check_seconds: float = Field(60.0, ge=0.05, le=3600, validation_alias=AliasChoices(
        "DIGEST_CHECK_SECONDS", "digest_check_seconds"), description="how often serve checks for due digests")
    # everything the bot writes (decisions, feedback, subscriptions, sessions, exports, replay guard): empty is the
    # SQLite file in data_dir; postgresql://… is a PostgreSQL database shared by every instance (scale-out)
    database_url: SecretStr = Field(SecretStr(""), validation_alias=AliasChoices("DATABASE_URL", "database_url"))
    # conversation state (dialog stack, follow-up context): sqlite (in data_dir) | postgres (DATABASE_URL) |
    # blob (Azure) | memory
    state_store: Literal["sqlite", "postgres", "blob", "memory"] = Field(
        "sqlite", validation_alias=AliasChoices("STATE_STORE", "state_store"))
    azure_storage_connection_string: SecretStr = Field(SecretStr(""), validation_alias=AliasChoices(
        "AZURE_STORAGE_CONNECTION_STRING", "azure_storage_connection_string"))
    azure_storage_container: str = Field("partner-atlas-state", min_length=3, max_length=63, pattern=r"^[a-z0-9-]+$",
                                         validation_alias=AliasChoices("AZURE_STORAGE_CONTAINER",
                                                                       "azure_storage_container"))
    # replies the connector refuses (429, 412, 502, 503, 504) are retried: at most this many posts, this long waiting
    outgoing_max_attempts: int = Field(4, ge=1, le=10, validation_alias=AliasChoices(
        "OUTGOING_MAX_ATTEMPTS", "outgoing_max_attempts"))
    outgoing_retry_budget_seconds: float = Field(10.0, ge=0, le=60, validation_alias=AliasChoices(
        "OUTGOING_RETRY_BUDGET_SECONDS", "outgoing_retry_budget_seconds"))
    # slow clients (dialogs/http_guard.py): a request head and a body must arrive in time; open connections are capped
    header_timeout_seconds: float = Field(10.0, gt=0, le=300, validation_alias=AliasChoices(
        "HEADER_TIMEOUT_SECONDS", "header_timeout_seconds"))
    body_timeout_seconds: float = Field(20.0, gt=0, le=300, validation_alias=AliasChoices(
        "BODY_TIMEOUT_SECONDS", "body_timeout_seconds"))
    max_connections: int = Field(256, ge=1, le=100_000, validation_alias=AliasChoices(
        "MAX_CONNECTIONS", "max_connections"))

    # optional LLM answers (retrieval/generation/): none keeps the extractive answers
    llm_provider: str = Field("none", validation_alias=AliasChoices("LLM_PROVIDER", "llm_provider"))
    llm_model: str = Field("", validation_alias=AliasChoices("LLM_MODEL", "llm_model"))
    llm_base_url: str = Field("", validation_alias=AliasChoices("LLM_BASE_URL", "llm_base_url"))
    llm_api_key: SecretStr = Field(SecretStr(""), validation_alias=AliasChoices(
        "LLM_API_KEY", "AZURE_OPENAI_API_KEY", "llm_api_key"))
    azure_openai_endpoint: str = Field("", validation_alias=AliasChoices("AZURE_OPENAI_ENDPOINT", "azure_openai_endpoint"))
    azure_openai_deployment: str = Field("", validation_alias=AliasChoices(
        "AZURE_OPENAI_DEPLOYMENT", "azure_openai_deployment"))
    azure_openai_api_version: str = Field("2024-10-21", validation_alias=AliasChoices(
        "AZURE_OPENAI_API_VERSION", "azure_openai_api_version"))
    llm_timeout_seconds: float = Field(8.0, gt=0, le=60, validation_alias=AliasChoices(
        "LLM_TIMEOUT_SECONDS", "llm_timeout_seconds"))
    llm_max_input_tokens: int = Field(3000, ge=500, le=200_000, validation_alias=AliasChoices(
        "LLM_MAX_INPUT_TOKENS", "llm_max_input_tokens"))
    llm_rate_per_minute: int = Field(10, ge=0, le=10_000, validation_alias=AliasChoices(
        "LLM_RATE_PER_MINUTE", "llm_rate_per_minute"))

    @field_validator("llm_provider")
    @classmethod
    def _known_llm_provider(cls, value: str) -> str:
        from retrieval.chat_models import PROVIDERS  # light: no langchain-openai until a model is built

        provider = value.strip().lower().replace("-", "_") or "none"
        if provider not in PROVIDERS:
            raise ValueError(f"must be one of {', '.join(PROVIDERS)}")
        return provider

    @model_validator(mode="after")
    def _llm_complete(self) -> Settings:
        problems = self.llm_config().problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def llm_config(self) -> LLMConfig:
        from retrieval.chat_models import LLMConfig
        from retrieval.generation import GenerationLimits

        return LLMConfig(provider=self.llm_provider, model=self.llm_model.strip(), base_url=self.llm_base_url.strip(),
                         api_key=self.llm_api_key.get_secret_value().strip(),
                         azure_endpoint=self.azure_openai_endpoint.strip(),
                         azure_deployment=self.azure_openai_deployment.strip(),
                         azure_api_version=self.azure_openai_api_version.strip(),
                         limits=GenerationLimits(timeout_seconds=self.llm_timeout_seconds,
                                                 max_input_tokens=self.llm_max_input_tokens,
                                                 rate_per_minute=self.llm_rate_per_minute))

    # confidential answers in group chats and channels: off (only in 1:1) | roster (when every member may see them)
    confidential_in_groups: Literal["off", "roster"] = Field("off", validation_alias=AliasChoices(
        "CONFIDENTIAL_IN_GROUPS", "confidential_in_groups"))
    environment: str = Field("development", validation_alias=AliasChoices("ENVIRONMENT", "environment"),
                             description="development | production; production never runs unauthenticated")
    parse_timeout_seconds: float = Field(60.0, ge=0, validation_alias=AliasChoices(
        "PARSE_TIMEOUT_SECONDS", "parse_timeout_seconds"), description="per-document parse limit for index; 0 = none")

    @field_validator("environment")
    @classmethod
    def _known_environment(cls, value: str) -> str:
        env = value.strip().lower() or "development"
        if env not in ("development", "production"):
            raise ValueError("must be development or production")
        return env

    # scale-out retrieval: a Chroma server (`chroma run`) instead of the embedded store in index_dir
    chroma_host: str = Field("", validation_alias=AliasChoices("CHROMA_HOST", "chroma_host"),
                             description="Chroma server host; empty: embedded chromadb in INDEX_DIR")
    chroma_port: int = Field(8000, ge=1, le=65535, validation_alias=AliasChoices("CHROMA_PORT", "chroma_port"))
    chroma_ssl: bool = Field(False, validation_alias=AliasChoices("CHROMA_SSL", "chroma_ssl"))
    chroma_tenant: str = Field("default_tenant", validation_alias=AliasChoices("CHROMA_TENANT", "chroma_tenant"))
    chroma_database: str = Field("default_database",
                                 validation_alias=AliasChoices("CHROMA_DATABASE", "chroma_database"))
    index_reload_seconds: float = Field(5.0, ge=0, validation_alias=AliasChoices(
        "INDEX_RELOAD_SECONDS", "index_reload_seconds"), description="how often serve checks for a new index "
                                                                     "generation; 0: only at start")

    @field_validator("app_type")
    @classmethod
    def _known_app_type(cls, value: str) -> str:
        try:
            return APP_TYPES[value.strip().lower() or "multitenant"]
        except KeyError:
            raise ValueError(f"must be one of {', '.join(APP_TYPES.values())}") from None

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @field_validator("app_id", "app_tenant_id", "host", "allowed_tenants")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @field_validator("public_base_url")
    @classmethod
    def _https_unless_loopback(cls, value: str) -> str:
        """Export links are bearer links: over plain HTTP anyone on the path could read and reuse them."""
        from urllib.parse import urlsplit

        value = value.strip().rstrip("/")
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError("must be an http(s) URL such as https://partner-atlas.contoso.com")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise ValueError("must be https unless it is a loopback address: export links are bearer links")
        return value

    @model_validator(mode="after")
    def _credentials_complete(self) -> Settings:
        password = self.app_password.get_secret_value()
        if password and not self.app_id:
            raise ValueError("MicrosoftAppPassword is set but MicrosoftAppId is not")
        if self.app_type != "MultiTenant" and not self.app_id:
            raise ValueError(f"MicrosoftAppType {self.app_type} needs MicrosoftAppId")
        if self.app_id and self.app_type != "UserAssignedMSI" and not password:
            raise ValueError("MicrosoftAppId is set but MicrosoftAppPassword is not")
        if self.app_type in ("SingleTenant", "UserAssignedMSI") and not self.app_tenant_id:
            raise ValueError(f"MicrosoftAppType {self.app_type} needs MicrosoftAppTenantId")
        if self.state_store == "blob" and not self.azure_storage_connection_string.get_secret_value():
            raise ValueError("STATE_STORE=blob needs AZURE_STORAGE_CONNECTION_STRING")
        url = self.database_url.get_secret_value().strip()
        if url and not url.startswith(("postgresql://", "postgres://")):
            raise ValueError("DATABASE_URL must be a postgresql:// URL (or empty: the SQLite file in DATA_DIR)")
        if self.state_store == "postgres" and not url:
            raise ValueError("STATE_STORE=postgres needs DATABASE_URL")
        return self

    @property
    def local_mode(self) -> bool:
        """No app id: the Bot Framework SDK accepts unauthenticated requests."""
        return not self.app_id

    @property
    def export_base_url(self) -> str:
        return self.public_base_url or f"http://127.0.0.1:{self.port}"

    @property
    def database_target(self) -> Path | str:
        """The bot's database: DATABASE_URL (PostgreSQL), else the SQLite file in the data folder."""
        return self.database_url.get_secret_value().strip() or self.data_dir / "partner-atlas.db"

    @property
    def decisions_path(self) -> Path | str:
        """Attach decisions live in the bot's database, with the feedback and subscriptions."""
        return self.database_target

    def chroma_config(self) -> Any:
        from retrieval.generations import ChromaConfig

        return ChromaConfig(host=self.chroma_host.strip(), port=self.chroma_port, ssl=self.chroma_ssl,
                            tenant=self.chroma_tenant.strip() or "default_tenant",
                            database=self.chroma_database.strip() or "default_database")

    @property
    def tenant_allowlist(self) -> frozenset[str]:
        return frozenset(t.strip().lower() for t in self.allowed_tenants.split(",") if t.strip())

    def server_limits(self) -> Any:
        from dialogs.http_guard import ServerLimits

        return ServerLimits(header_timeout=self.header_timeout_seconds, body_timeout=self.body_timeout_seconds,
                            max_connections=self.max_connections)

    def botbuilder_configuration(self) -> SimpleNamespace:
        """The attribute names ConfigurationBotFrameworkAuthentication reads."""
        return SimpleNamespace(APP_ID=self.app_id or None, APP_PASSWORD=self.app_password.get_secret_value() or None,
                               APP_TYPE=self.app_type, APP_TENANTID=self.app_tenant_id or None)


def load_settings(**overrides: Any) -> Settings:
    """Environment and .env, with command-line values (those not None) taking precedence."""
    values = {k: v for k, v in overrides.items() if v is not None}
    return Settings(_env_file=ENV_FILE, **values)  # type: ignore[call-arg]  # pydantic-settings' init option


def is_loopback(host: str) -> bool:
    from dialogs.http_guard import is_loopback as loopback

    return loopback(host)


# =========================================================================== engine loading
class EngineSlot:
    """The engine, loaded in a background thread and swapped when a new index generation goes live.

    Its state is what GET /healthz reports: loading, ok, or degraded (loading failed, or the index
    failed at runtime: the engine's `problem`). A degraded engine still answers what it can (the
    records are in memory); a failed reload keeps the engine that works.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._engine: AnswerEngine | None = None
        self.state = "loading"            # loading | ok | degraded
        self.reason = ""
        self.counts: dict[str, int] = {}
        self.seconds = 0.0
        self.generation: str | None = None

    def current(self) -> AnswerEngine | None:
        with self._lock:
            return self._engine if self.state == "ok" else None

    def set_ready(self, engine: AnswerEngine, seconds: float = 0.0) -> None:
        counts = engine_counts(engine)
        with self._lock:
            old = self._engine
            self._engine, self.state, self.counts, self.seconds = engine, "ok", counts, seconds
            self.reason, self.generation = "", getattr(engine, "generation", None)
        close = getattr(old, "close", None)
        if old is not None and old is not engine and callable(close):
            # turns already running on the old engine finish first
            timer = threading.Timer(30.0, close)
            timer.daemon = True
            timer.start()

    def set_failed(self, reason: str) -> None:
        with self._lock:
            self._engine, self.state, self.reason = None, "degraded", reason

    def _load(self, loader: Callable[[], AnswerEngine], *, reload: bool = False) -> None:
        started = time.perf_counter()
        try:
            engine = loader()
        except Exception as exc:  # any failure leaves the server up and says why on /healthz
            if reload and self.current() is not None:
                log.exception("loading the new index generation failed; still serving %s", self.generation)
                return
            log.exception("loading the knowledge failed")
            self.set_failed(_one_line(exc))
            return
        self.set_ready(engine, time.perf_counter() - started)
        log.info("knowledge loaded in %.1fs (index generation %s): %s", self.seconds, self.generation, self.counts)

    def load_in_background(self, loader: Callable[[], AnswerEngine]) -> threading.Thread:
        thread = threading.Thread(target=self._load, args=(loader,), name="engine-loader", daemon=True)
        thread.start()
        return thread

    def watch(self, version: Callable[[], str | None], loader: Callable[[], AnswerEngine], interval: float,
              stop: threading.Event) -> threading.Thread:
        """Every `interval` s, reload when the live index generation is no longer the one served."""
        def run() -> None:
            attempted: str | None = None
            while not stop.wait(interval):
                try:
                    live = version()
                except Exception as exc:  # noqa: BLE001 - a damaged pointer: keep serving, say it once
                    if attempted != f"error:{exc}":
                        log.warning("cannot read the live index generation: %s", _one_line(exc))
                        attempted = f"error:{exc}"
                    continue
                with self._lock:
                    loading, served = self.state == "loading", self.generation
                if loading or live is None or live in (served, attempted):
                    continue
                attempted = live
                log.info("index generation %s is live (serving %s): reloading", live, served)
                self._load(loader, reload=True)

        thread = threading.Thread(target=run, name="index-watcher", daemon=True)
        thread.start()
        return thread

    def health(self) -> tuple[int, dict[str, Any]]:
        with self._lock:
            problem = str(getattr(self._engine, "problem", "") or "") if self._engine is not None else ""
            if self.state == "ok" and problem:
                return 503, {"status": "degraded", "reason": problem, **self.counts}
            if self.state == "ok":
                return 200, {"status": "ok", **self.counts, "load_seconds": round(self.seconds, 2),
                             **({"generation": self.generation} if self.generation else {})}
            if self.state == "degraded":
                return 503, {"status": "degraded", "reason": self.reason}
            return 503, {"status": "loading"}


def engine_counts(engine: Any) -> dict[str, int]:
    """Record counts for /healthz: the engine's own `counts()` if it has one, else what its catalog holds."""
    counts = getattr(engine, "counts", None)
    if callable(counts):
        return {str(k): int(v) for k, v in counts().items()}
    out: dict[str, int] = {}
    catalog = getattr(engine, "catalog", None)
    for name in ("partners", "map_rows", "incentives", "opportunities"):
        with contextlib.suppress(TypeError):
            if catalog is not None and hasattr(catalog, name):
                out[name] = len(getattr(catalog, name))
    search = getattr(engine, "search", None)
    with contextlib.suppress(TypeError):
        if search is not None and hasattr(search, "chunks"):
            out["chunks"] = len(search.chunks)
    return out


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:300]


# =========================================================================== the HTTP app
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


def invoke_response_to_http(invoke_response: InvokeResponse | None) -> web.Response:
    """The HTTP response for a turn's InvokeResponse — the shim for botbuilder-python#2156.

    4.17.1 puts an already-serialised dict in the body for expectReplies (and the bot may put a dict
    there for invokes); only msrest models still need serialising.
    """
    from aiohttp import web
    from botbuilder.core import serializer_helper
    from msrest.serialization import Model

    if invoke_response is None:
        return web.Response(status=200)
    body = invoke_response.body
    if isinstance(body, Model):
        body = serializer_helper(body)
    status = int(invoke_response.status or 200)
    if body is None:
        return web.Response(status=status)
    return web.json_response(body, status=status)


def _error(status: int, message: str) -> web.Response:
    from aiohttp import web

    return web.json_response({"error": message}, status=status)


def _is_upstream_failure(exc: BaseException) -> bool:
    """The connector (serviceUrl) or the identity provider could not be reached or refused the call."""
    import aiohttp
    from msrest.exceptions import ClientRequestError, HttpOperationError

    if isinstance(exc, PermissionError):     # an OSError, but botbuilder's "unauthorized"
        return False
    return isinstance(exc, (aiohttp.ClientError, ClientRequestError, HttpOperationError, OSError,
                            asyncio.TimeoutError))


class MessagesEndpoint:
    """POST /api/messages: validate, authenticate, de-duplicate, run the turn, write the replies."""

    def __init__(self, settings: Settings, adapter: CloudAdapter, bot: PartnerBot,
                 replay_guard: ReplayGuard | ReplayLog | None = None) -> None:
        self.settings, self.adapter, self.bot = settings, adapter, bot
        # not `or`: an empty guard has len() 0, so a test's guard (with its own clock) was silently replaced
        self.replay_guard: ReplayGuard | ReplayLog = replay_guard if replay_guard is not None else ReplayGuard()
        self._warned_local_auth = False

    async def __call__(self, request: web.Request) -> web.Response:
        from aiohttp import web
        from botbuilder.schema import Activity, DeliveryModes

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
            activity = Activity().deserialize(body)
        except Exception:
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
            authenticated = await self.adapter.bot_framework_authentication.authenticate_request(activity, auth_header)
        except Exception as exc:
            if _is_upstream_failure(exc):
                log.warning("authentication service unreachable: %s", _one_line(exc))
                return _error(503, "authentication service unreachable")
            log.info("request refused: %s", _one_line(exc))
            return _error(401, "unauthorized")

        allowlist = self.settings.tenant_allowlist
        tenants = tenant_ids(activity)
        if allowlist and not (tenants and tenants <= allowlist):
            log.info("request refused: tenant not allowed")
            return _error(403, "tenant not allowed")

        expect_replies = activity.delivery_mode == DeliveryModes.expect_replies
        key = (activity.channel_id, activity.conversation.id, activity.id) if activity.id else None
        # off the event loop: the shared guard is a database write
        if key is not None and not await asyncio.to_thread(self.replay_guard.first_delivery, key):
            log.info("duplicate delivery of a %s activity: answered once already", activity.type)
            return web.json_response({"activities": []}) if expect_replies else web.Response(status=200)

        try:
            invoke_response = await self.adapter.process_activity(authenticated, activity, self.bot.on_turn)
        except Exception as exc:
            if key is not None:
                await asyncio.to_thread(self.replay_guard.forget, key)
            upstream = _is_upstream_failure(exc)
            log.exception("turn failed (%s)", "connector unreachable" if upstream else "internal error")
            return _error(502 if upstream else 500, "could not deliver the reply" if upstream else "internal error")
        return invoke_response_to_http(invoke_response)


def make_turn_error_handler(bot: PartnerBot | None = None) -> Callable[[TurnContext, Exception], Any]:
    """Log the trace, reset the conversation's state, tell the user briefly; the trace never reaches the conversation."""
    from channel.delivery import DeliveryUncertainError
    from channel.turn import to_activity
    from dialogs import render

    async def on_turn_error(context: TurnContext, error: Exception) -> None:
        if isinstance(error, DeliveryUncertainError):
            # the reply may have arrived: no apology (a second message), no redelivery (the turn ends normally)
            log.error("a reply's delivery is uncertain (%s): the turn ends without retrying it", error)
            return
        log.error("unhandled error in a turn", exc_info=error)
        if bot is not None:
            try:
                await bot.reset(context)
            except Exception:
                log.exception("could not reset the conversation state after the error")
        try:
            await context.send_activity(to_activity(render.text_activity(render.messages()["apology"])))
        except Exception:
            log.exception("could not send the apology either")
            raise error from None

    return on_turn_error


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


def speed_up_msrest_retry_policy() -> bool:
    """Make msrest's `ClientRetryPolicy()` cost 0.1 ms instead of ~9 ms of event-loop CPU; same retry codes.

    CloudAdapter builds a ConnectorClient and a UserTokenClient for every turn, each with a fresh
    `ClientRetryPolicy`, whose __init__ tests `i not in safe_codes` for i < 999 against a 501-item *list*:
    ~500k comparisons, measured at 27 % of the server's CPU under the soak load (bench/SOAK.md). The same
    codes as a frozenset give the same `status_forcelist`. Returns whether it changed anything (idempotent;
    a later msrest without the list is left alone).
    """
    from msrest.universal_http.requests import ClientRetryPolicy

    if isinstance(ClientRetryPolicy.safe_codes, list):
        ClientRetryPolicy.safe_codes = frozenset(ClientRetryPolicy.safe_codes)  # type: ignore[assignment]
        return True
    return False


def create_app(settings: Settings, slot: EngineSlot, *, replay_guard: ReplayGuard | ReplayLog | None = None,
               delivery_timing: Timing | None = None, answer_writer: AnswerWriter | None = None) -> web.Application:
    """The aiohttp application: POST /api/messages, GET /healthz and GET /exports/{name}.

    Answers go through `answer_writer` when one is given, else through the LLM_PROVIDER's (none: extractive).

    The daily-sweep sender is built here (`app[DIGEST_SENDER]`) and started by `run_server`, so a
    test drives it with its own clock; `delivery_timing` is the outgoing retries' clock and sleep.
    Conversation state goes to the configured store (STATE_STORE), closed when the app is cleaned up.
    Everything else the bot writes goes to its database (DATABASE_URL, else the SQLite file in DATA_DIR),
    the replay guard too unless the caller gives one.
    """
    from aiohttp import web
    from botbuilder.integration.aiohttp import ConfigurationBotFrameworkAuthentication

    from channel import auth
    from channel.delivery import AnswerAudience, ReliableCloudAdapter, RetryPolicy
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

    speed_up_msrest_retry_policy()
    auth.install()      # signing keys cached, fetched off the event loop, never for a forged token
    adapter = ReliableCloudAdapter(
        ConfigurationBotFrameworkAuthentication(settings.botbuilder_configuration()), timing=delivery_timing,
        policy=RetryPolicy(max_attempts=settings.outgoing_max_attempts,
                           budget_seconds=settings.outgoing_retry_budget_seconds),
        # unauthenticated: post only to this machine, whatever a request or an old subscription names
        service_url_allowed=http_guard.is_loopback_url if settings.local_mode else None)
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

    async def healthz(request: web.Request) -> web.Response:
        status, body = slot.health()
        if not (http_guard.trusted_peer(request) or await auth.channel_authenticated(
                request, adapter.bot_framework_authentication, settings.local_mode)):
            body = {"status": body["status"]}    # counts, generation and reasons only for this machine or the channel
        return web.json_response(body, status=status)

    # a little above 1 MB so that our own check (and its message) decides, not aiohttp's
    middlewares = []
    if settings.local_mode:     # unauthenticated: refuse a browser page's DNS-rebinding requests
        from urllib.parse import urlsplit

        middlewares.append(http_guard.host_check_middleware(
            public=settings.allow_public_bind,
            extra_hosts=[h for h in (settings.host, urlsplit(settings.public_base_url).hostname or "") if h]))
    app = web.Application(client_max_size=MAX_BODY_BYTES + 1, middlewares=middlewares)
    app.router.add_post("/api/messages", endpoint)
    app.router.add_get("/healthz", healthz)
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


# =========================================================================== CLI
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bot.py", description="Partner Atlas: which partner covers this?")
    commands = parser.add_subparsers(dest="command", required=True)

    def knowledge_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--knowledge", type=Path, help="knowledge folder (default: knowledge/sample)")
        sub.add_argument("--index", type=Path, help="index folder (default: .index)")
        sub.add_argument("--embedder", choices=("minilm", "hashing"), help="embedding model (default: minilm)")

    index = commands.add_parser("index", help="read the knowledge folder and build or update the index")
    knowledge_options(index)
    index.add_argument("--no-progress", action="store_true", help="no progress bar")
    index.add_argument("--rebuild", action="store_true",
                       help="embed everything into a fresh generation, ignoring the live one (a damaged index)")

    serve = commands.add_parser("serve", help="run the bot: POST /api/messages, GET /healthz, GET /exports/…")
    knowledge_options(serve)
    serve.add_argument("--port", type=int)
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--allow-public", action="store_true", default=None,
                       help="allow a non-loopback --host in local (unauthenticated) mode")

    ask = commands.add_parser("ask", help="answer one question in the terminal")
    knowledge_options(ask)
    ask.add_argument("question")
    ask.add_argument("--as-group", action="append", default=[], metavar="GROUP",
                     help="ask as a member of this access group (repeatable), e.g. ecm")
    ask.add_argument("--as-user", metavar="AAD_ID", help="ask as this Teams user (aadObjectId in access.yaml)")
    ask.add_argument("--json", action="store_true", help="print the Answer object as JSON")

    gaps = commands.add_parser("gaps", help="list the knowledge gaps: questions unanswered, answered with low "
                                            "confidence or rated not helpful")
    gaps.add_argument("--since", type=float, metavar="DAYS", help="only questions asked in the last DAYS days")
    gaps.add_argument("--limit", type=int, metavar="N", help="at most N gaps (most asked first)")
    gaps.add_argument("--format", choices=("table", "csv", "md", "json"), default="table",
                      help="table (default, aligned plain text), csv, md (Markdown) or json")
    gaps.add_argument("--output", type=Path, metavar="FILE", help="write to FILE instead of standard output")
    gaps.set_defaults(knowledge=None, index=None, embedder=None)   # it reads the database only

    from appmanifest.build import configure_parser  # light: standard library only

    package = commands.add_parser("package", help="build the Teams app package (zip) a Teams admin uploads")
    configure_parser(package)
    return parser


def _command_index(settings: Settings, args: argparse.Namespace) -> int:
    import os

    from retrieval.indexer import IndexLockedError, IndexValidationError, IndexWriteError, KnowledgeFolderError, build_index

    os.environ["PARSE_TIMEOUT_SECONDS"] = str(settings.parse_timeout_seconds)   # read by knowledge/parse_worker.py
    try:
        report = build_index(settings.knowledge_dir, settings.index_dir, embedder=settings.embedder,
                             progress=False if args.no_progress else None, chroma=settings.chroma_config(),
                             rebuild=args.rebuild)
    except KnowledgeFolderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except IndexLockedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except (IndexValidationError, IndexWriteError) as exc:
        print(f"error: {exc}; the live index is unchanged", file=sys.stderr)
        return 4
    except OSError as exc:      # a disk that fills up half-way, say: the live generation is untouched
        print(f"error: cannot write the index in {settings.index_dir}: {exc.strerror or exc}; "
              "the live index is unchanged", file=sys.stderr)
        return 4
    print(report.summary())
    return 0 if report.ok else 1


def serve_refusal(settings: Settings) -> str | None:
    """Why `serve` must not start with these settings, or None. Production is ENVIRONMENT=production, or a
    non-loopback host without --allow-public: neither may run in local (unauthenticated) mode."""
    if settings.environment == "production" and settings.local_mode:
        return ("refusing to start: ENVIRONMENT=production needs MicrosoftAppId (and MicrosoftAppPassword): "
                "without an app id every request would be unauthenticated.")
    if settings.local_mode and not is_loopback(settings.host) and not settings.allow_public_bind:
        return (f"refusing to bind {settings.host} without MicrosoftAppId: local mode is unauthenticated. "
                "Bind 127.0.0.1, configure the app id, or pass --allow-public (ALLOW_PUBLIC_BIND=true).")
    return None


def _command_serve(settings: Settings) -> int:
    if (refusal := serve_refusal(settings)) is not None:
        print(f"error: {refusal}", file=sys.stderr)
        return 2
    if settings.local_mode and not is_loopback(settings.host):
        log.warning("local mode bound to %s by request (--allow-public): anyone who can reach it can ask",
                    settings.host)

    def load() -> AnswerEngine:
        from retrieval import engine

        return engine.load_engine(settings.knowledge_dir, settings.index_dir, embedder=settings.embedder,
                                  decisions_path=settings.decisions_path, chroma=settings.chroma_config())

    def live_generation() -> str | None:
        from retrieval.generations import Generations

        return Generations(settings.index_dir, settings.chroma_config()).live_name()

    from storage import DatabaseUnavailable

    try:
        asyncio.run(run_server(settings, load, version=live_generation))
    except DatabaseUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0


def _command_ask(settings: Settings, args: argparse.Namespace) -> int:
    from dialogs.render import answer_to_text
    from retrieval import engine as engine_module

    try:
        engine = engine_module.load_engine(settings.knowledge_dir, settings.index_dir, embedder=settings.embedder,
                                           decisions_path=settings.decisions_path, chroma=settings.chroma_config())
    except Exception as exc:
        from retrieval.indexer import KnowledgeFolderError

        if not isinstance(exc, KnowledgeFolderError):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    user = engine.user_context(args.as_user, name="", conversation_type="personal")
    if args.as_group:
        user = replace(user, groups=frozenset(args.as_group))
    answer = engine.answer(args.question, user)
    if args.json:
        print(json.dumps(asdict(answer), indent=1, ensure_ascii=False, default=str))
    else:
        print(answer_to_text(answer))
    return 0


def _gaps_plain_table(gaps: list[KnowledgeGap]) -> str:
    """Aligned columns for a terminal; long questions and topics are cut (the other formats have them whole)."""
    from dialogs.feedback import iso_utc

    def cut(text: str, width: int) -> str:
        text = " ".join(text.split())
        return text if len(text) <= width else text[:width - 1] + "…"

    header = ["ASKED", "ASKERS", "REASONS", "LAST ASKED (UTC)", "TOPIC", "QUESTION"]
    rows = [[str(g.times_asked), str(g.askers), ",".join(g.reasons), iso_utc(g.last_asked)[:16].replace("T", " "),
             cut(g.topic, 30), cut(g.question, 80)] for g in gaps]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows])


NO_GAPS = "no knowledge gaps recorded yet"


def _command_gaps(settings: Settings, args: argparse.Namespace) -> int:
    """The knowledge-gaps log from the server's database (settings.data_dir), read without the engine."""
    from dialogs.exports import csv_bytes
    from dialogs.feedback import FeedbackStore, gaps_markdown, gaps_table, iso_utc

    if args.since is not None and args.since <= 0:
        print("error: --since must be a positive number of days", file=sys.stderr)
        return 2
    if args.limit is not None and args.limit < 1:
        print("error: --limit must be at least 1", file=sys.stderr)
        return 2
    database = settings.database_target
    gaps: list[KnowledgeGap] = []
    # never create the server's SQLite file just to report that it is empty
    if not isinstance(database, Path) or database.is_file():
        store = FeedbackStore(database)
        try:
            since = time.time() - args.since * 86400 if args.since is not None else None
            gaps = store.knowledge_gaps(since=since, limit=args.limit)
        finally:
            store.close()
    data: bytes
    if args.format == "table":
        data = ((_gaps_plain_table(gaps) if gaps else NO_GAPS) + "\n").encode("utf-8")
    elif args.format == "csv":
        data = csv_bytes(*gaps_table(gaps))
    elif args.format == "md":
        data = gaps_markdown(gaps).encode("utf-8")
    else:
        records = [{**asdict(g), "first_asked": iso_utc(g.first_asked), "last_asked": iso_utc(g.last_asked)}
                   for g in gaps]
        data = (json.dumps(records, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    if args.output is None:
        if not gaps and args.format != "table":
            print(NO_GAPS, file=sys.stderr)     # standard output stays a valid (empty) CSV, Markdown or JSON
        sys.stdout.write(data.decode("utf-8-sig"))
        sys.stdout.flush()
        return 0
    try:
        args.output.write_bytes(data)
    except OSError as exc:
        print(f"error: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"{len(gaps)} knowledge gap{'' if len(gaps) == 1 else 's'} written to {args.output}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "package":
        from appmanifest.build import run as build_package  # reads its own settings (bot id, domain, URLs)

        return build_package(args)
    try:
        settings = load_settings(knowledge_dir=args.knowledge, index_dir=args.index, embedder=args.embedder,
                                 port=getattr(args, "port", None), host=getattr(args, "host", None),
                                 allow_public_bind=getattr(args, "allow_public", None))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors())
        print(f"error: invalid settings: {problems}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "index":
        return _command_index(settings, args)
    if args.command == "serve":
        return _command_serve(settings)
    if args.command == "gaps":
        return _command_gaps(settings, args)
    return _command_ask(settings, args)


if __name__ == "__main__":
    sys.exit(main())
