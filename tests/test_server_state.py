"""Conversation state across a restart: a clarifying question asked before it is answered after it.

The real engine over a small knowledge folder, the real HTTP endpoint; "restart" is a new app from
`create_app` with the same settings (the same data directory, or the same blob container) after the
first one was shut down.
"""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from app.engine_slot import EngineSlot
from app.server import create_app
from app.settings import Settings
from knowledge.loader import load_knowledge
from retrieval.catalog import Catalog
from retrieval.engine import KnowledgeEngine
from tests.factories import make_knowledge
from tests.services import Azurite
from tests.support.cards import texts
from tests.support.served import Conversation

Serve = Callable[[], Any]


@pytest.fixture
def engine(tmp_path: Path) -> KnowledgeEngine:
    return KnowledgeEngine(Catalog(load_knowledge(make_knowledge(tmp_path / "kb"), documents=False)), None)


def settings_for(store: str, data_dir: Path, request: pytest.FixtureRequest) -> Settings:
    values: dict[str, Any] = dict(app_id="", app_password="", data_dir=data_dir, state_store=store)
    if store == "blob":
        azurite: Azurite = request.getfixturevalue("azurite")
        values.update(azure_storage_connection_string=azurite.connection_string,
                      azure_storage_container=f"state-{uuid.uuid4().hex[:12]}")
    return Settings(_env_file=None, **values)


@asynccontextmanager
async def serving(settings: Settings, engine: KnowledgeEngine) -> AsyncIterator[TestClient]:
    slot = EngineSlot()
    slot.set_ready(engine)
    client = TestClient(TestServer(create_app(settings, slot)))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()               # runs the app's cleanup: the state store is closed


@pytest.mark.parametrize("store", ["sqlite", "blob"])
async def test_a_pending_clarifying_question_survives_a_restart(store: str, tmp_path: Path, engine: KnowledgeEngine,
                                                                request: pytest.FixtureRequest) -> None:
    settings = settings_for(store, tmp_path / "data", request)
    conversation_id = f"a:{uuid.uuid4().hex}"
    async with serving(settings, engine) as client:
        asked = texts(await Conversation(client, conversation_id).say("Who can do AKS?"))
    assert "Which country is the customer in?" in asked
    async with serving(settings, engine) as restarted:
        reply = texts(await Conversation(restarted, conversation_id).say("Germany"))
    assert "Partners for Azure Kubernetes Service in Germany" in reply
    assert "Alpha Cloud" in reply and "Gamma Digital" not in reply


async def test_in_memory_state_is_lost_on_restart(tmp_path: Path, engine: KnowledgeEngine,
                                                  request: pytest.FixtureRequest) -> None:
    """The control: the same conversation with STATE_STORE=memory does not continue."""
    settings = settings_for("memory", tmp_path / "data", request)
    conversation_id = f"a:{uuid.uuid4().hex}"
    async with serving(settings, engine) as client:
        assert "Which country is the customer in?" in texts(await Conversation(client, conversation_id).say("Who can do AKS?"))
    async with serving(settings, engine) as restarted:
        reply = texts(await Conversation(restarted, conversation_id).say("Germany"))
    assert "Partners for Azure Kubernetes Service in Germany" not in reply


async def test_follow_up_context_survives_a_restart(tmp_path: Path, engine: KnowledgeEngine,
                                                    request: pytest.FixtureRequest) -> None:
    settings = settings_for("sqlite", tmp_path / "data", request)
    conversation_id = f"a:{uuid.uuid4().hex}"
    async with serving(settings, engine) as client:
        await Conversation(client, conversation_id).say("Which partners cover AKS in Germany?")
    async with serving(settings, engine) as restarted:
        reply = texts(await Conversation(restarted, conversation_id).say("and in France?"))
    assert "Gamma Digital" in reply and "Alpha Cloud" not in reply


def test_blob_state_needs_a_connection_string() -> None:
    with pytest.raises(ValueError, match="AZURE_STORAGE_CONNECTION_STRING"):
        Settings(_env_file=None, app_id="", app_password="", state_store="blob")
    with pytest.raises(ValueError):
        Settings(_env_file=None, app_id="", app_password="", state_store="redis")
    assert Settings(_env_file=None, app_id="", app_password="").state_store == "sqlite"


async def test_two_turns_racing_in_one_conversation_both_answer_and_the_state_stays_readable(
        tmp_path: Path, engine: KnowledgeEngine, request: pytest.FixtureRequest) -> None:
    """Both turns read the same state version; the second save loses the ETag race. That is not an error
    the user should see: both got their answers, and the winner's state is kept (not overwritten)."""
    settings = settings_for("sqlite", tmp_path / "data", request)
    conversation_id = f"a:{uuid.uuid4().hex}"
    async with serving(settings, engine) as client:
        chat = Conversation(client, conversation_id)
        await chat.say("Which partners cover AKS in Germany?")        # state exists, with an e_tag
        replies = await asyncio.gather(*(chat.say(text) for text in ("and in France?", "and in Austria?")))
        assert all("Sorry" not in texts(reply) and texts(reply) for reply in replies)
        follow_up = texts(await chat.say("and in Germany?"))
    assert "Alpha Cloud" in follow_up
