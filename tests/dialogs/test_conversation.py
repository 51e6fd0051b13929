"""Multi-turn conversations over the real HTTP endpoint with the real engine: clarification, follow-ups,
feedback, reset, help mid-dialog, per-user context in channel threads, and recovery after an error."""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from app.engine_slot import EngineSlot
from app.server import create_app
from app.settings import Settings
from dialogs.feedback import FeedbackStore
from knowledge.loader import load_knowledge
from retrieval.catalog import Catalog
from retrieval.engine import KnowledgeEngine
from tests.factories import make_knowledge
from tests.support.cards import texts
from tests.support.served import Conversation


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[TestClient, FeedbackStore, KnowledgeEngine]]:
    engine = KnowledgeEngine(Catalog(load_knowledge(make_knowledge(tmp_path / "kb"), documents=False)), None)
    slot = EngineSlot()
    slot.set_ready(engine)
    settings = Settings(_env_file=None, app_id="", app_password="", data_dir=tmp_path / "data")
    client = TestClient(TestServer(create_app(settings, slot)))
    await client.start_server()
    try:
        yield client, FeedbackStore(tmp_path / "data" / "partner-atlas.db"), engine
    finally:
        await client.close()


def conversation(served: tuple[TestClient, FeedbackStore, KnowledgeEngine]) -> Conversation:
    return Conversation(served[0], f"a:{uuid.uuid4().hex}")


async def test_missing_country_is_asked_and_the_reply_completes_the_question(served: Any) -> None:
    chat = conversation(served)
    first = await chat.say("Who can do AKS?")
    assert "Which country is the customer in?" in texts(first)
    second = await chat.say("Germany")
    reply = texts(second)
    assert "Partners for Azure Kubernetes Service in Germany" in reply
    assert "Alpha Cloud" in reply and "Gamma Digital" not in reply     # Gamma delivers in France only


async def test_follow_up_changes_one_filter(served: Any) -> None:
    chat = conversation(served)
    await chat.say("Which partners cover AKS in Germany?")
    reply = texts(await chat.say("and in France?"))
    assert "Gamma Digital" in reply and "Alpha Cloud" not in reply


async def test_deal_size_is_asked_for_incentives(served: Any) -> None:
    chat = conversation(served)
    first = texts(await chat.say("Which incentives fund AKS for an Enterprise customer in Germany?"))
    assert "What is the estimated deal size?" in first
    second = texts(await chat.say("$600k"))
    assert "ECIF - Strategic Deal Funding" in second and "$600,000" in second


async def test_help_in_the_middle_of_a_clarification_keeps_the_question_open(served: Any) -> None:
    chat = conversation(served)
    await chat.say("Who can do AKS?")
    assert "What you can ask" in texts(await chat.say("help"))
    assert "Alpha Cloud" in texts(await chat.say("Germany"))


async def test_reset_forgets_the_context(served: Any) -> None:
    chat = conversation(served)
    await chat.say("Which partners cover AKS in Germany?")
    assert "cleared this conversation's context" in texts(await chat.say("reset"))
    reply = texts(await chat.say("and in France?"))
    assert "Gamma Digital" not in reply                              # no previous question to follow up


async def test_feedback_buttons_store_the_rating_against_the_answer(served: Any) -> None:
    chat = conversation(served)
    activities = await chat.say("Which partners cover AKS in Germany?")
    card = next(a for a in activities if a.get("attachments"))["attachments"][0]["content"]
    feedback = [a for a in card["actions"] if a.get("data", {}).get("partnerAtlas") == "feedback"]
    assert [a["data"]["rating"] for a in feedback] == ["up", "down"]
    thanks = texts(await chat.say(value=feedback[1]["data"]))
    assert "Thanks for telling me" in thanks
    rows = served[1].feedback()
    assert len(rows) == 1 and rows[0].rating == "down"
    assert rows[0].question == "Which partners cover AKS in Germany?" and rows[0].kind == "coverage"
    unknown = texts(await chat.say(value={"partnerAtlas": "feedback", "rating": "up", "answerId": "nope"}))
    assert "couldn't match" in unknown


async def test_in_a_channel_thread_each_user_has_their_own_context(served: Any) -> None:
    thread = conversation(served)
    first_user, second_user = "00000000-0000-0000-0000-0000000000a1", "00000000-0000-0000-0000-0000000000b2"
    asked = texts(await thread.say("Who can do AKS?", user=first_user, channel=True))
    assert "Which country" in asked
    # another seller's message in the same thread is not an answer to the first seller's prompt
    other = texts(await thread.say("France", user=second_user, channel=True))
    assert "Gamma Digital" not in other and "Azure Kubernetes Service in France" not in other
    answered = texts(await thread.say("Germany", user=first_user, channel=True))
    assert "Alpha Cloud" in answered


async def test_an_engine_failure_apologises_and_resets_the_conversation(served: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    chat = conversation(served)
    await chat.say("Which partners cover AKS in Germany?")
    engine = served[2]

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("index exploded")

    monkeypatch.setattr(engine, "answer", broken)
    reply = texts(await chat.say("and in France?"))
    assert "Sorry, something went wrong" in reply and "index exploded" not in reply
    monkeypatch.undo()
    assert "Gamma Digital" not in texts(await chat.say("and in France?"))   # the context was reset


@pytest.mark.parametrize(("command", "expected"), [("find partner", "Which workload"), ("incentives", "Tell me the deal"),
                                                    ("Suggest partners", "Which opportunity?")])
async def test_bare_commands_from_the_teams_menu_say_what_to_ask(served: Any, command: str, expected: str) -> None:
    assert expected in texts(await conversation(served).say(command))
