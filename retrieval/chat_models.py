"""The configured chat model, through LangChain: Azure OpenAI, OpenAI, or any OpenAI-compatible endpoint.

The only module that imports langchain-openai, and only when a provider is configured, so a deployment
without a model never loads it. The model gets no tools (nothing is bound), one attempt within the time
budget (retries would outlast it) and a bounded completion. Token counting is never asked of it:
ChatOpenAI counts with tiktoken, which downloads its tables at run time.
"""
from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from retrieval.generation import GenerationLimits, GroundedWriter

log = logging.getLogger(__name__)

PROVIDERS = ("none", "azure_openai", "openai", "openai_compatible")
MAX_OUTPUT_TOKENS = 500


@dataclass(frozen=True)
class LLMConfig:
    provider: str = "none"
    model: str = ""
    base_url: str = ""
    api_key: str = field(default="", repr=False)
    azure_endpoint: str = ""
    azure_deployment: str = ""
    azure_api_version: str = ""
    limits: GenerationLimits = field(default_factory=GenerationLimits)

    @property
    def enabled(self) -> bool:
        return self.provider != "none"

    def problems(self) -> list[str]:
        """What is missing for the provider, as the environment variables a deployer sets."""
        missing: list[str] = []
        if self.provider not in PROVIDERS:
            return [f"LLM_PROVIDER must be one of {', '.join(PROVIDERS)}"]
        if self.provider == "none":
            stray = [name for name, value in (("LLM_MODEL", self.model), ("LLM_BASE_URL", self.base_url),
                                              ("LLM_API_KEY", self.api_key), ("AZURE_OPENAI_ENDPOINT", self.azure_endpoint),
                                              ("AZURE_OPENAI_DEPLOYMENT", self.azure_deployment)) if value]
            return [f"{', '.join(stray)} set but LLM_PROVIDER is none: set LLM_PROVIDER or remove them"] if stray else []
        if self.provider == "azure_openai":
            missing += [name for name, value in (("AZURE_OPENAI_ENDPOINT", self.azure_endpoint),
                                                 ("AZURE_OPENAI_DEPLOYMENT", self.azure_deployment),
                                                 ("AZURE_OPENAI_API_VERSION", self.azure_api_version),
                                                 ("LLM_API_KEY", self.api_key)) if not value]
        elif self.provider == "openai":
            missing += [name for name, value in (("LLM_MODEL", self.model), ("LLM_API_KEY", self.api_key)) if not value]
        else:
            missing += [name for name, value in (("LLM_BASE_URL", self.base_url), ("LLM_MODEL", self.model)) if not value]
        problems = [f"LLM_PROVIDER={self.provider} needs {', '.join(missing)}"] if missing else []
        for name, url in (("LLM_BASE_URL", self.base_url), ("AZURE_OPENAI_ENDPOINT", self.azure_endpoint)):
            if url and not url.startswith(("http://", "https://")):
                problems.append(f"{name} must be an http(s) URL")
        return problems


def make_chat_model(config: LLMConfig) -> Any:
    """The LangChain chat model for the configured provider (langchain-openai is imported here only)."""
    timeout = config.limits.timeout_seconds
    common: dict[str, Any] = {"timeout": timeout, "max_retries": 0, "max_tokens": MAX_OUTPUT_TOKENS,
                              "temperature": 0}
    if config.provider == "azure_openai":
        from langchain_openai import AzureChatOpenAI

        return AzureChatOpenAI(azure_endpoint=config.azure_endpoint, azure_deployment=config.azure_deployment,
                               api_version=config.azure_api_version, api_key=config.api_key,  # type: ignore[arg-type]
                               model=config.model or None, **common)
    from langchain_openai import ChatOpenAI

    if config.provider == "openai":
        return ChatOpenAI(model=config.model, api_key=config.api_key, base_url=config.base_url or None,  # type: ignore[arg-type]
                          **common)
    if config.provider == "openai_compatible":
        # Ollama and vLLM accept any key; the client library insists on one
        return ChatOpenAI(model=config.model, api_key=config.api_key or "not-needed", base_url=config.base_url,  # type: ignore[arg-type]
                          **common)
    raise ValueError(f"no chat model for LLM_PROVIDER={config.provider}")


def make_answer_writer(config: LLMConfig) -> GroundedWriter | None:
    """The writer for the configured provider; None when no provider is configured (extractive answers)."""
    if not config.enabled:
        return None
    problems = config.problems()
    if problems:
        raise ValueError("; ".join(problems))
    if config.api_key and config.base_url.startswith("http://") and not _loopback(config.base_url):
        log.warning("LLM_BASE_URL is plain http to another machine: the API key and the questions cross the "
                    "network unencrypted")
    return GroundedWriter(make_chat_model(config), config.limits, provider=config.provider)


def _loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
