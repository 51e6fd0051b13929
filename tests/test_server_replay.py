"""One activity delivered twice gets one answer: while the first delivery is still being answered, and later.

The channel redelivers when it did not get our HTTP answer in time (Teams waits about 15 s), so the
duplicate usually arrives while the first turn is still running; a late one arrives after it finished.
The engine is held in the middle of the first turn by an event, and the replay guard's clock is fake,
so "20 s later" takes no time.
"""
from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from app.endpoint import REPLAY_TTL_SECONDS, ReplayGuard
from app.engine_slot import EngineSlot
from app.server import create_app
from retrieval.engine import UserContext
from tests.dialogs.fakes import FakeEngine, coverage_answer
from tests.support.server import Connector, make_settings, message, messages_of


@dataclass
class Held:
    client: TestClient
    engine: FakeEngine
    connector: Connector
    release: threading.Event
    now: list[float]

    async def post(self, payload: dict[str, Any]) -> tuple[int, Any]:
        response = await self.client.post("/api/messages", json=payload)
        body = await response.json() if response.content_type == "application/json" else await response.text()
        return response.status, body

    async def until_asked(self, count: int) -> None:
        for _ in range(500):
            if len(self.engine.questions) >= count:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the engine was never asked")


@pytest.fixture
async def held(connector: Connector) -> AsyncIterator[Held]:  # noqa: F811
    release = threading.Event()

    def answer_when_released(question: str, user: UserContext) -> Any:
        if not release.wait(timeout=30):
            raise TimeoutError("the test never released the engine")
        return coverage_answer()

    engine, now = FakeEngine(answer_when_released), [0.0]
    slot = EngineSlot()
    slot.set_ready(engine)
    guard = ReplayGuard(clock=lambda: now[0])
    client = TestClient(TestServer(create_app(make_settings(), slot, replay_guard=guard)))
    await client.start_server()
    try:
        yield Held(client, engine, connector, release, now)
    finally:
        release.set()
        await client.close()


async def test_an_expect_replies_duplicate_in_flight_gets_an_empty_answer_and_the_first_one_answer(held: Held) -> None:
    payload = message(held.connector, "Who can do AKS in Germany?")
    first = asyncio.create_task(held.post(payload))
    await held.until_asked(1)                       # the first delivery is inside the engine now
    duplicate = await held.post(payload)
    assert not first.done()                         # answered while the first was still in flight
    assert duplicate == (200, {"activities": []})
    held.release.set()
    status, body = await first
    assert status == 200 and len(messages_of(body["activities"])) == 1
    assert len(held.engine.questions) == 1 and held.connector.posts == []


async def test_a_normal_duplicate_in_flight_posts_nothing_to_the_connector(held: Held) -> None:
    payload = message(held.connector, "Who can do AKS in Germany?")
    del payload["deliveryMode"]
    first = asyncio.create_task(held.post(payload))
    await held.until_asked(1)
    posts_before = list(held.connector.posts)       # the first turn's typing indicator
    assert (await held.post(payload)) == (200, "")
    assert held.connector.posts == posts_before
    held.release.set()
    assert (await first)[0] == 200
    assert [activity["type"] for _, activity in held.connector.posts] == ["typing", "message"]
    assert len(held.engine.questions) == 1


@pytest.mark.parametrize("expect_replies", [True, False], ids=["expectReplies", "normal"])
async def test_a_duplicate_20_seconds_later_gets_no_second_answer(held: Held, expect_replies: bool) -> None:
    held.release.set()
    payload = message(held.connector, "Who can do AKS in Germany?")
    if not expect_replies:
        del payload["deliveryMode"]
    status, body = await held.post(payload)
    assert status == 200
    posts = list(held.connector.posts)
    held.now[0] += 20
    again = await held.post(payload)
    assert again == ((200, {"activities": []}) if expect_replies else (200, ""))
    assert held.connector.posts == posts
    assert len(held.engine.questions) == 1


async def test_the_same_activity_after_the_guard_s_ttl_is_a_new_delivery(held: Held) -> None:
    """The guard's memory is bounded: past REPLAY_TTL_SECONDS an id is answered again (no channel redelivers that late)."""
    held.release.set()
    payload = message(held.connector, "Who can do AKS in Germany?")
    await held.post(payload)
    held.now[0] += REPLAY_TTL_SECONDS + 1
    status, body = await held.post(payload)
    assert status == 200 and len(messages_of(body["activities"])) == 1
    assert len(held.engine.questions) == 2
