"""The bot over its real HTTP app with a FakeEngine: the aiohttp app, botbuilder's CloudAdapter and
authentication, the activity handler and the renderer are real; a stub stands in for the Bot Connector."""
from __future__ import annotations

import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from app.engine_slot import EngineSlot
from app.server import create_app
from app.settings import Settings
from tests.dialogs.fakes import FakeEngine, personal_message, teams_activity

SELLER_ID = "00000000-0000-0000-0000-00000000c999"
APP_ID = "11111111-2222-3333-4444-555555555555"


def make_settings(**overrides: Any) -> Settings:
    """Settings from arguments only: the developer's environment and .env must not change the tests."""
    values: dict[str, Any] = dict(app_id="", app_password="", app_type="MultiTenant", app_tenant_id="",
                                  allowed_tenants="", host="127.0.0.1", port=3978, allow_public_bind=False,
                                  log_level="INFO", data_dir=Path(tempfile.mkdtemp(prefix="partner-atlas-test-")))
    values.update(overrides)
    return Settings(_env_file=None, **values)


@dataclass
class Connector:
    """A stand-in for the Bot Connector service at the activity's serviceUrl."""

    url: str = ""
    posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    refuse_with: int | None = None


@dataclass
class Bot:
    client: TestClient
    engine: FakeEngine
    slot: EngineSlot
    connector: Connector

    async def post(self, payload: Any, **kwargs: Any) -> aiohttp.ClientResponse:
        return await self.client.post("/api/messages", json=payload, **kwargs)

    async def ask(self, payload: dict[str, Any], **kwargs: Any) -> tuple[int, list[dict[str, Any]]]:
        response = await self.post(payload, **kwargs)
        body = await response.json() if response.content_type == "application/json" else {}
        return response.status, body.get("activities", []) if isinstance(body, dict) else []


@pytest.fixture
async def connector() -> AsyncIterator[Connector]:
    stub = Connector()

    async def receive(request: web.Request) -> web.Response:
        if stub.refuse_with:
            return web.json_response({"error": {"code": "Forbidden", "message": "no"}}, status=stub.refuse_with)
        stub.posts.append((request.path, await request.json()))
        return web.json_response({"id": str(uuid.uuid4())})

    app = web.Application()
    app.router.add_post("/v3/conversations/{conversation}/activities", receive)
    app.router.add_post("/v3/conversations/{conversation}/activities/{reply_to}", receive)
    async with TestServer(app) as server:
        stub.url = str(server.make_url("")).rstrip("/")
        yield stub


async def start_bot(connector: Connector, engine: FakeEngine | None = None, *, ready: bool = True,
                    **settings: Any) -> tuple[TestClient, Bot]:
    engine = engine or FakeEngine()
    slot = EngineSlot()
    if ready:
        slot.set_ready(engine)
    client = TestClient(TestServer(create_app(make_settings(**settings), slot)))
    await client.start_server()
    return client, Bot(client, engine, slot, connector)


@pytest.fixture
async def local_bot(connector: Connector) -> AsyncIterator[Bot]:
    client, running = await start_bot(connector)
    try:
        yield running
    finally:
        await client.close()


def message(connector: Connector, text: str, **overrides: Any) -> dict[str, Any]:
    """A personal message with expectReplies, whose serviceUrl is the stub (which must then stay unused)."""
    return personal_message(text, **{"serviceUrl": connector.url, **overrides})


def channel_message(connector: Connector, text: str, *, mention: bool = True,
                    expect_replies: bool = True) -> dict[str, Any]:
    payload = teams_activity("channel_message_mention.json", id=str(uuid.uuid4().int)[:13], serviceUrl=connector.url)
    if mention:
        payload["text"] = f"<at>My Combined</at> {text}"
    else:
        payload["text"] = text
        payload["entities"] = [e for e in payload["entities"] if e["type"] != "mention"]
    if expect_replies:
        payload["deliveryMode"] = "expectReplies"
    return payload


def messages_of(activities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [a for a in activities if a.get("type") == "message"]
