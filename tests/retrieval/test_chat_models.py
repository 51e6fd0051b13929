"""The configured providers: settings checks, and the real LangChain/OpenAI client against a loopback
OpenAI-compatible stub (what an Ollama or vLLM server speaks), for success, 429, 5xx, content filter, timeout."""
from __future__ import annotations

import json
import re
from typing import Any

import pytest

from retrieval.chat_models import LLMConfig, make_answer_writer, make_chat_model
from retrieval.generation import GenerationLimits, GroundedWriter, Outcome
from tests.dialogs.fakes import document_answer
from tests.support.chat_models import Stub

# tiktoken downloads its tables at run time: no test here may let it ask for an encoding
pytestmark = pytest.mark.usefixtures("no_tiktoken")


def writer_for(stub: Stub, timeout: float = 5.0) -> GroundedWriter:
    config = LLMConfig(provider="openai_compatible", model="llama3", base_url=stub.url,
                       limits=GenerationLimits(timeout_seconds=timeout))
    writer = make_answer_writer(config)
    assert writer is not None
    return writer


async def test_an_openai_compatible_endpoint_answers_through_langchain(stub: Stub) -> None:
    written = await writer_for(stub).write("How do I earn the Kubernetes specialization?", document_answer(),
                                           user_key="u")
    assert written.outcome is Outcome.GENERATED
    assert written.answer.summary == "A partner must pass a third-party audit [1]. The audit is valid for one year [2]."
    sent = stub.requests[0]
    assert sent["model"] == "llama3" and sent["temperature"] == 0
    assert (sent.get("max_tokens") or sent.get("max_completion_tokens") or 0) > 0
    assert "tools" not in sent and "functions" not in sent           # nothing that acts is ever offered
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]
    assert '<source id="S1"' in sent["messages"][1]["content"]


@pytest.mark.parametrize(("status", "body", "outcome"), [
    (429, {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}},
     Outcome.PROVIDER_ERROR),
    (500, None, Outcome.PROVIDER_ERROR),
    (503, None, Outcome.PROVIDER_ERROR),
    (401, {"error": {"message": "Incorrect API key", "code": "invalid_api_key"}}, Outcome.PROVIDER_ERROR),
    (400, {"error": {"message": "The response was filtered due to the prompt triggering Azure OpenAI's content "
                                "management policy.", "code": "content_filter", "status": 400}}, Outcome.CONTENT_FILTER),
])
async def test_provider_failures_are_classified_and_retried_never(stub: Stub, status: int, body: dict[str, Any] | None,
                                                                 outcome: Outcome) -> None:
    stub.status, stub.body = status, body
    answer = document_answer()
    written = await writer_for(stub).write("question", answer, user_key="u")
    assert written.outcome is outcome and written.answer is answer
    assert len(stub.requests) == 1          # retries would outlast the time budget


async def test_a_filtered_completion_is_a_content_filter_outcome(stub: Stub) -> None:
    stub.reply, stub.finish_reason = "", "content_filter"
    written = await writer_for(stub).write("question", document_answer(), user_key="u")
    assert written.outcome is Outcome.CONTENT_FILTER


async def test_a_slow_endpoint_is_given_up_after_the_budget(stub: Stub) -> None:
    stub.delay = 3.0
    written = await writer_for(stub, timeout=0.3).write("question", document_answer(), user_key="u")
    # waited out, the reply would have come (and been used): TIMEOUT says the call was abandoned at the budget
    assert written.outcome is Outcome.TIMEOUT and written.answer.summary
    assert len(stub.requests) == 1


def test_no_provider_means_no_writer_and_no_langchain_openai() -> None:
    import sys

    sys.modules.pop("langchain_openai", None)
    assert make_answer_writer(LLMConfig()) is None
    assert "langchain_openai" not in sys.modules


@pytest.mark.parametrize(("config", "message"), [
    (LLMConfig(provider="azure_openai", api_key="k"), "needs AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_DEPLOYMENT"),
    (LLMConfig(provider="azure_openai", azure_endpoint="https://x.openai.azure.com", azure_deployment="gpt",
               azure_api_version="2024-10-21"), "needs LLM_API_KEY"),
    (LLMConfig(provider="openai", model="gpt-4o-mini"), "needs LLM_API_KEY"),
    (LLMConfig(provider="openai_compatible", model="llama3"), "needs LLM_BASE_URL"),
    (LLMConfig(provider="openai_compatible", model="llama3", base_url="localhost:11434"), "must be an http(s) URL"),
    (LLMConfig(model="gpt-4o-mini"), "LLM_MODEL set but LLM_PROVIDER is none"),
    (LLMConfig(provider="bard"), "LLM_PROVIDER must be one of"),
])
def test_half_filled_configurations_are_refused_with_what_is_missing(config: LLMConfig, message: str) -> None:
    assert any(message in p for p in config.problems()), config.problems()
    if config.provider != "none":
        with pytest.raises(ValueError, match=re.escape(message.split(",", maxsplit=1)[0])):
            make_answer_writer(config)


@pytest.mark.parametrize("provider", ["azure_openai", "openai", "openai_compatible"])
def test_every_provider_builds_a_langchain_chat_model_with_one_attempt_and_no_tools(provider: str) -> None:
    config = LLMConfig(provider=provider, model="gpt-4o-mini", base_url="http://127.0.0.1:9/v1", api_key="sk-test-secret",
                       azure_endpoint="https://contoso.openai.azure.com", azure_deployment="gpt-4o-mini",
                       azure_api_version="2024-10-21", limits=GenerationLimits(timeout_seconds=4))
    chat = make_chat_model(config)
    assert chat.max_retries == 0 and chat.request_timeout == 4 and chat.temperature == 0
    assert not json.dumps(chat.model_kwargs).count("tools")
    assert "sk-test-secret" not in repr(config)           # the key never shows in a repr (logs, tracebacks)
