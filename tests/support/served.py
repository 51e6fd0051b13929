"""The bot over its real HTTP app with the real engine on a small knowledge folder (tests/factories.py),
and conversations with it as a Teams user would have them."""
from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from app.engine_slot import EngineSlot
from app.server import create_app
from app.settings import Settings
from knowledge.loader import load_knowledge
from retrieval.catalog import Catalog
from retrieval.decisions import DecisionStore
from retrieval.engine import KnowledgeEngine
from tests.dialogs.fakes import personal_message, teams_activity
from tests.factories import ECM, SELLER

DAY = dt.datetime(2026, 11, 23, 7, 0, tzinfo=dt.UTC)     # the default digest hour (DIGEST_HOUR_UTC 7)


def make_engine(knowledge: Path, data: Path) -> KnowledgeEngine:
    return KnowledgeEngine(Catalog(load_knowledge(knowledge, documents=False)), None,
                           DecisionStore(data / "partner-atlas.db"))


async def post_message(client: TestClient, text: str, *, user: str, conversation: str, value: Any = None,
                       service_url: str | None = None, group: bool = False) -> list[dict[str, Any]]:
    """A Teams message (in a group chat: with the bot @mentioned; a card press: `value`, no text) posted with
    expectReplies; the bot's messages in reply."""
    payload = personal_message(text, aad_object_id=user)
    payload["conversation"] = {**payload["conversation"], "id": conversation}
    if group:
        payload["conversation"] = {**payload["conversation"], "conversationType": "groupChat", "isGroup": True}
        payload["text"] = f"<at>Teams TestBot</at> {text}"
        payload["entities"] = [{"type": "mention", "text": "<at>Teams TestBot</at>",
                                "mentioned": {"id": payload["recipient"]["id"], "name": "Teams TestBot"}}]
    if service_url:
        payload["serviceUrl"] = service_url
    if value is not None:
        payload["value"] = value
        payload["text"] = ""
        payload.pop("attachments", None)
    response = await client.post("/api/messages", json=payload)
    assert response.status == 200, await response.text()
    return [a for a in (await response.json())["activities"] if a["type"] == "message"]


@dataclass
class Served:
    client: TestClient
    slot: EngineSlot
    knowledge: Path
    data: Path

    @property
    def app(self) -> web.Application:
        return self.client.server.app

    async def say(self, text: str = "", *, user: str = ECM, value: Any = None, conversation: str = "a:ecm-1:1",
                  service_url: str | None = None, group: bool = False) -> list[dict[str, Any]]:
        return await post_message(self.client, text, user=user, value=value, conversation=conversation,
                                  service_url=service_url, group=group)

    async def close(self) -> None:
        await self.client.close()


async def serve(knowledge: Path, data: Path, **settings: Any) -> Served:
    slot = EngineSlot()
    slot.set_ready(make_engine(knowledge, data))
    config = Settings(_env_file=None, app_id="", app_password="", data_dir=data, **settings)
    client = TestClient(TestServer(create_app(config, slot)))
    await client.start_server()
    return Served(client, slot, knowledge, data)


class Conversation:
    def __init__(self, client: TestClient, conversation_id: str) -> None:
        self.client = client
        self.conversation_id = conversation_id

    async def say(self, text: str = "", *, user: str = SELLER, value: Any = None, channel: bool = False) -> list[dict[str, Any]]:
        if channel:
            payload = teams_activity("channel_message_mention.json", id=str(uuid.uuid4().int)[:13],
                                     text=f"<at>My Combined</at> {text}", deliveryMode="expectReplies")
            payload["conversation"] = {**payload["conversation"], "id": self.conversation_id}
            payload["from"] = {**payload["from"], "id": f"29:{user}", "aadObjectId": user}
        else:
            payload = personal_message(text, aad_object_id=user)
            payload["conversation"] = {**payload["conversation"], "id": self.conversation_id}
        if value is not None:
            payload["value"] = value
        response = await self.client.post("/api/messages", json=payload)
        assert response.status == 200, await response.text()
        return (await response.json())["activities"]


async def download(served: Served, text: str) -> tuple[int, bytes, dict[str, str]]:
    [url] = re.findall(r"\((http://127\.0\.0\.1:\d+/exports/[A-Za-z0-9_-]+\.(?:csv|xlsx))\)", text)
    path = "/exports/" + url.rsplit("/", 1)[1]
    response = await served.client.get(path)
    return response.status, await response.read(), dict(response.headers)


async def press(served: Served, action: dict[str, Any], *, user: str = ECM, conversation: str = "a:ecm-1:1",
                inputs: dict[str, str] | None = None, group: bool = False, service_url: str = "") -> dict[str, Any]:
    """Teams' adaptiveCard/action invoke for a pressed Action.Execute (inputs are merged into its data)."""
    payload = teams_activity("invoke_adaptive_card_action.json", id=f"f:{uuid.uuid4()}")
    if service_url:
        payload["serviceUrl"] = service_url
    # the same Teams account as the messages `Served.say` posts: the bot keeps a user's state under it
    payload["from"] = {**teams_activity("personal_message.json")["from"], "aadObjectId": user, "name": "Megan Bowen"}
    payload["conversation"] = {**payload["conversation"], "id": conversation}
    if group:
        payload["conversation"] = {**payload["conversation"], "conversationType": "groupChat", "isGroup": True}
    payload["value"] = {"action": {"type": "Action.Execute", "title": action["title"], "verb": action["verb"],
                                   "data": {**action["data"], **(inputs or {})}}, "trigger": "manual"}
    response = await served.client.post("/api/messages", json=payload)
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    assert body["statusCode"] == 200
    return body
