"""The bot's settings: read once at start from the environment (and .env), command-line values on top.

`Settings` refuses what is unsafe or half configured (credentials without their pair, an http export
link to a public host, a DATABASE_URL that is not PostgreSQL), so `serve` fails at once with a one-line
reason instead of at the first request. Importing this module stays light (pydantic only): `--help`
must not wait for aiohttp or the SDK.
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from retrieval.chat_models import LLMConfig

PROJECT_DIR = Path(__file__).resolve().parents[1]
ENV_FILE: Path | None = PROJECT_DIR / ".env"
APP_TYPES = {"multitenant": "MultiTenant", "singletenant": "SingleTenant", "userassignedmsi": "UserAssignedMSI"}


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
