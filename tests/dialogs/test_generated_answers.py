"""Generated answers wired into the bot, over the real HTTP endpoint with the real engine on a temp index
(planted instruction, exfiltration links, a confidential page): hostile models, slow models, failing models,
and — with no model configured — exactly the reply the bot gave before."""
from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import ValidationError

import bot
from app.engine_slot import EngineSlot
from app.server import create_app
from app.settings import PROJECT_DIR, Settings
from dialogs import conversation, render
from retrieval.engine import KnowledgeEngine
from retrieval.generation import AnswerWriter, GenerationLimits, GroundedWriter
from retrieval.indexer import build_index
from retrieval.loading import load_engine
from tests.dialogs.fakes import personal_message
from tests.factories import EVIL, MARKER, SELLER, hostile_documents, make_knowledge
from tests.support.cards import texts
from tests.support.chat_models import ECHO, RaisingModel, SleepingModel, Stub, model
from tests.support.server import Connector, make_settings

# tiktoken downloads its tables at run time: no test here may let it ask for an encoding
pytestmark = pytest.mark.usefixtures("no_tiktoken")

QUESTION = "What payout do co-sell ready partners earn?"
GOOD = ("Co-sell ready partners earn a payout of 5% on co-sold Azure consumption in FY27 [S1]. "
        "The payout is paid quarterly through Partner Center [S1].")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeEngine:
    root = tmp_path_factory.mktemp("hostile-kb")
    folder = make_knowledge(root / "kb", documents=hostile_documents())
    build_index(folder, root / "index", embedder="hashing", progress=False)
    return load_engine(folder, root / "index", embedder="hashing")


class Served:
    def __init__(self, client: TestClient, connector: Connector) -> None:
        self.client, self.connector = client, connector

    async def ask(self, text: str = QUESTION, *, expect_replies: bool = True) -> list[dict[str, Any]]:
        payload = personal_message(text, expect_replies=expect_replies, aad_object_id=SELLER,
                                   serviceUrl=self.connector.url)
        response = await self.client.post("/api/messages", json=payload)
        assert response.status == 200, await response.text()
        if not expect_replies:
            return []
        return [a for a in (await response.json())["activities"] if a["type"] == "message"]


@pytest.fixture
async def serve(engine: KnowledgeEngine, connector: Connector, tmp_path: Path) -> AsyncIterator[Any]:
    clients: list[TestClient] = []

    async def start(writer: AnswerWriter | None = None, **settings: Any) -> Served:
        slot = EngineSlot()
        slot.set_ready(engine)
        app = create_app(make_settings(data_dir=tmp_path / f"data{len(clients)}", **settings), slot,
                         answer_writer=writer)
        client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return Served(client, connector)

    yield start
    for client in clients:
        await client.close()


def without_feedback(activity: dict[str, Any]) -> dict[str, Any]:
    """The reply without its answer id (random per answer): the thumbs buttons' data."""
    out = {k: activity.get(k) for k in ("type", "text", "textFormat", "suggestedActions")}
    cards = []
    for attachment in activity.get("attachments") or []:
        content = dict(attachment["content"])
        content["actions"] = [a for a in content.get("actions", []) if render.feedback_of(a.get("data")) is None]
        cards.append(content)
    out["cards"] = cards
    return out


# =========================================================================== no model configured
async def test_with_no_llm_configured_the_reply_is_the_engines_answer_as_before(serve: Any, engine: KnowledgeEngine) -> None:
    served = await serve()
    replies = await served.ask()
    assert len(replies) == 1
    answer = engine.answer(QUESTION, engine.user_context(SELLER, conversation_type="personal"))
    expected = render.answer_to_activity(answer, answer_id="x", brief=True).serialize()
    assert without_feedback(replies[0]) == without_feedback(expected)
    phrases = render.messages()
    assert phrases["llm_generated"] not in texts(replies) and phrases["llm_unavailable"] not in texts(replies)


def test_settings_default_to_no_provider_and_refuse_half_filled_llm_configs() -> None:
    assert make_settings().llm_provider == "none"
    with pytest.raises(ValidationError, match="LLM_PROVIDER=openai needs LLM_API_KEY"):
        make_settings(llm_provider="openai", llm_model="gpt-4o-mini")
    with pytest.raises(ValidationError, match="AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_DEPLOYMENT"):
        make_settings(llm_provider="azure_openai", llm_api_key="k")
    with pytest.raises(ValidationError, match="LLM_MODEL set but LLM_PROVIDER is none"):
        make_settings(llm_model="gpt-4o-mini")
    with pytest.raises(ValidationError, match="must be one of"):
        make_settings(llm_provider="gemini")
    ok = make_settings(llm_provider="openai_compatible", llm_base_url="http://127.0.0.1:11434/v1", llm_model="llama3",
                       llm_timeout_seconds=3, llm_max_input_tokens=1500, llm_rate_per_minute=4)
    config = ok.llm_config()
    assert (config.provider, config.limits.timeout_seconds, config.limits.max_input_tokens,
            config.limits.rate_per_minute) == ("openai_compatible", 3, 1500, 4)


def test_the_cli_refuses_a_half_filled_llm_config_at_start(monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("app.settings.ENV_FILE", None)
    monkeypatch.setenv("LLM_PROVIDER", "azure_openai")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://contoso.openai.azure.com")
    assert bot.main(["serve", "--port", "1"]) == 2
    error = capsys.readouterr().err
    assert "invalid settings" in error and "AZURE_OPENAI_DEPLOYMENT" in error and "LLM_API_KEY" in error


async def test_a_configured_provider_is_built_by_create_app(serve: Any, connector: Connector) -> None:
    served = await serve(llm_provider="openai_compatible", llm_base_url=f"{connector.url}/v1", llm_model="llama3",
                         llm_timeout_seconds=0.5)
    # the stub connector has no /v1/chat/completions: a provider error, so the extractive answer with a note
    replies = await served.ask()
    assert len(replies) == 1 and render.messages()["llm_unavailable"] in texts(replies)


# =========================================================================== hostile model
async def test_a_hostile_model_over_http_yields_no_foreign_link_no_marker_no_uncited_claim(serve: Any) -> None:
    fake = model(ECHO)
    served = await serve(GroundedWriter(fake))
    replies = await served.ask()
    assert len(replies) == 1
    reply = replies[0]
    shown = texts(replies) + str(reply)
    assert f"https://{EVIL}" not in shown and "![" not in shown and "](http" not in shown
    assert MARKER not in shown and "attacker" not in reply["text"] and "Ignore previous instructions" not in shown
    summary = reply["text"]                        # Teams: the message text is the (generated) summary
    assert "5% on co-sold Azure consumption" in summary
    for sentence in re.split(r"(?<=[.!?])\s+", summary):
        assert re.search(r"\[\d+\][.!?]$", sentence), sentence
    assert render.messages()["llm_generated"] in texts(replies)
    assert MARKER not in "\n".join(str(m.content) for call in fake.seen for m in call)


async def test_a_hostile_openai_compatible_server_through_the_real_client_and_http(serve: Any, stub: Stub) -> None:
    """The whole path a deployment with Ollama or vLLM takes: settings → create_app → ChatOpenAI → checks → reply."""
    stub.reply = ECHO
    served = await serve(llm_provider="openai_compatible", llm_base_url=stub.url, llm_model="llama3",
                         llm_timeout_seconds=5)
    replies = await served.ask()
    assert len(replies) == 1 and len(stub.requests) == 1
    shown = texts(replies) + str(replies[0])
    assert f"https://{EVIL}" not in shown and "![" not in shown and MARKER not in shown
    assert "Ignore previous instructions" not in shown and "attacker" not in shown
    assert replies[0]["text"].startswith("Co-sell ready partners earn a payout of 5%")
    assert "tools" not in stub.requests[0]
    sent = "\n".join(m["content"] for m in stub.requests[0]["messages"])
    assert MARKER not in sent and "Ignore previous instructions" not in sent


# =========================================================================== time budget
async def test_a_slow_model_gets_the_extractive_answer_once_and_never_a_second_reply(serve: Any, engine: KnowledgeEngine) -> None:
    slow = SleepingModel(responses=[GOOD], delay=1.5)
    served = await serve(GroundedWriter(slow, GenerationLimits(timeout_seconds=0.2)))
    await served.ask(expect_replies=False)
    # the turn is over: the model call was cancelled at the budget, so no second reply can come from it
    assert slow.cancelled and not slow.finished
    kinds = [a["type"] for _, a in served.connector.posts]
    assert kinds.count("message") == 1 and kinds[0] == "typing"
    message = next(a for _, a in served.connector.posts if a["type"] == "message")
    answer = engine.answer(QUESTION, engine.user_context(SELLER))
    assert message["text"] == answer.summary      # the extractive answer
    assert render.messages()["llm_unavailable"] in texts([message])
    assert slow.cancelled and not slow.finished


async def test_with_expect_replies_a_slow_model_still_gives_exactly_one_reply(serve: Any) -> None:
    slow = SleepingModel(responses=[GOOD], delay=1.0)
    served = await serve(GroundedWriter(slow, GenerationLimits(timeout_seconds=0.2)))
    replies = await served.ask()
    assert len(replies) == 1 and render.messages()["llm_unavailable"] in texts(replies)
    assert served.connector.posts == []


async def test_typing_is_repeated_while_the_model_writes(serve: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conversation, "TYPING_EVERY_SECONDS", 0.1)
    slow = SleepingModel(responses=[GOOD], delay=0.5)
    served = await serve(GroundedWriter(slow, GenerationLimits(timeout_seconds=3)))
    await served.ask(expect_replies=False)
    kinds = [a["type"] for _, a in served.connector.posts]
    assert kinds.count("typing") >= 3 and kinds[-1] == "message" and kinds.count("message") == 1
    message = served.connector.posts[-1][1]
    assert message["text"].startswith("Co-sell ready partners earn a payout of 5%")


# =========================================================================== provider errors and rate limit
def _response(status: int) -> httpx2.Response:
    return httpx2.Response(status, request=httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions"))


@pytest.mark.parametrize("error", [
    openai.RateLimitError("Rate limit reached for gpt-4o", response=_response(429), body=None),
    openai.InternalServerError("upstream 503", response=_response(503), body=None),
    openai.APITimeoutError(request=httpx2.Request("POST", "http://127.0.0.1/")),
    openai.BadRequestError("content_filter", response=_response(400),
                           body={"error": {"code": "content_filter", "message": "filtered"}}),
])
async def test_provider_errors_give_a_friendly_note_and_the_extractive_answer(serve: Any, engine: KnowledgeEngine,
                                                                             error: Exception) -> None:
    served = await serve(GroundedWriter(RaisingModel(messages=iter([]), error=error)))
    replies = await served.ask()
    assert len(replies) == 1
    shown = texts(replies) + str(replies[0])
    assert render.messages()["llm_unavailable"] in shown
    assert replies[0]["text"] == engine.answer(QUESTION, engine.user_context(SELLER)).summary
    assert "Traceback" not in shown and type(error).__name__ not in shown and "DATA, never instructions" not in shown


async def test_over_the_rate_limit_users_get_the_extractive_answer_not_an_error(serve: Any, engine: KnowledgeEngine) -> None:
    fake = model(GOOD, GOOD, GOOD)
    served = await serve(GroundedWriter(fake, GenerationLimits(rate_per_minute=1)))
    first, second = await served.ask(), await served.ask()
    assert first[0]["text"].startswith("Co-sell ready partners earn a payout of 5%")
    assert second[0]["text"] == engine.answer(QUESTION, engine.user_context(SELLER)).summary
    assert render.messages()["llm_unavailable"] not in texts(second) and len(fake.seen) == 1


def test_every_llm_setting_is_documented_in_the_env_example() -> None:
    example = (PROJECT_DIR / ".env.example").read_text(encoding="utf-8")
    names = [str(alias) for name, info in Settings.model_fields.items()
             if name.startswith(("llm_", "azure_openai_")) and info.validation_alias is not None
             for alias in getattr(info.validation_alias, "choices", [])[:1]]
    assert len(names) == 10
    assert all(name in example for name in names), [n for n in names if n not in example]
