"""Outgoing replies against a scripted Bot Connector on loopback: what is retried, and what is delivered.

The connector stub answers each message post from a script (status and headers) and records every
receipt; a typing indicator is answered 201 unless the script for typing says otherwise. The retry
loop's clock and sleep are fake (waits are recorded, not slept), except in the one test that shows a
real Retry-After wait end to end.
"""
from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from app.engine_slot import EngineSlot
from app.server import create_app, digest_sender_key
from channel.delivery import RetryPolicy, Timing, retry_after_of
from dialogs import render
from tests.dialogs.fakes import FakeEngine, personal_message, teams_activity
from tests.support.server import make_settings

Reply = tuple[int, dict[str, str]]


@dataclass
class ScriptedConnector:
    url: str = ""
    script: list[Reply] = field(default_factory=list)          # for message activities, in order
    typing_script: list[Reply] = field(default_factory=list)
    receipts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)   # (answer status, activity)

    def delivered(self, kind: str = "message") -> list[dict[str, Any]]:
        return [a for status, a in self.receipts if status == "201" and a["type"] == kind]

    def attempts(self, kind: str = "message") -> int:
        return sum(1 for _, a in self.receipts if a["type"] == kind)


@dataclass
class FakeTiming(Timing):
    now: float = 1000.0
    waits: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.monotonic = lambda: self.now
        self.sleep = self._sleep
        self.random = lambda: 0.5

    async def _sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


@pytest.fixture
async def connector() -> AsyncIterator[ScriptedConnector]:
    stub = ScriptedConnector()

    async def receive(request: web.Request) -> web.Response:
        activity = await request.json()
        script = stub.typing_script if activity.get("type") == "typing" else stub.script
        status, headers = script.pop(0) if script else (201, {})
        stub.receipts.append((str(status), activity))
        if status == 201:
            return web.json_response({"id": str(uuid.uuid4())}, status=201)
        return web.json_response({"error": {"code": "Scripted", "message": f"scripted {status}"}}, status=status,
                                 headers=headers)

    app = web.Application()
    app.router.add_post("/v3/conversations/{conversation}/activities", receive)
    app.router.add_post("/v3/conversations/{conversation}/activities/{reply_to}", receive)
    async with TestServer(app, host="127.0.0.1") as server:
        stub.url = str(server.make_url("")).rstrip("/")
        yield stub


@dataclass
class Served:
    client: TestClient
    engine: FakeEngine
    connector: ScriptedConnector
    timing: FakeTiming

    async def ask_in_channel(self, text: str = "who covers AKS in Germany?") -> int:
        """A channel @mention without expectReplies: typing and the answer go to the connector."""
        payload = teams_activity("channel_message_mention.json", id=str(uuid.uuid4().int)[:13],
                                 serviceUrl=self.connector.url, text=f"<at>My Combined</at> {text}")
        response = await self.client.post("/api/messages", json=payload)
        return response.status


@pytest.fixture
async def served(connector: ScriptedConnector) -> AsyncIterator[Served]:
    engine, timing = FakeEngine(), FakeTiming()
    slot = EngineSlot()
    slot.set_ready(engine)
    client = TestClient(TestServer(create_app(make_settings(), slot, delivery_timing=timing)))
    await client.start_server()
    try:
        yield Served(client, engine, connector, timing)
    finally:
        await client.close()


def refused(status: int, retry_after: str | None = None) -> Reply:
    return status, ({"Retry-After": retry_after} if retry_after is not None else {})


ANSWER = "3 partners are on the FY27 solution map for Azure Kubernetes Service in Germany."
APOLOGY = render.messages()["apology"]

# status sequence for the answer → (posts of the answer, answer delivered, an apology delivered, seconds waited)
MATRIX: list[tuple[str, list[Reply], int, bool, bool, float]] = [
    ("201", [], 1, True, False, 0.0),
    ("429 Retry-After:1, 201", [refused(429, "1")], 2, True, False, 1.125),
    ("429 Retry-After:1 ×2, 201", [refused(429, "1"), refused(429, "1")], 3, True, False, 2.25),
    ("429 (no Retry-After), 201", [refused(429)], 2, True, False, 0.375),
    ("412, 201", [refused(412)], 2, True, False, 0.375),
    ("502, 201", [refused(502)], 2, True, False, 0.375),
    ("503 Retry-After:2, 201", [refused(503, "2")], 2, True, False, 2.125),
    ("504, 201", [refused(504)], 2, True, False, 0.375),
    ("504, 502, 429, 201", [refused(504), refused(502), refused(429)], 4, True, False, 0.375 + 0.75 + 1.5),
    ("429 ×4 (attempts exhausted)", [refused(429)] * 4, 4, False, True, 0.375 + 0.75 + 1.5),
    ("429 Retry-After:120 (beyond the cap)", [refused(429, "120")], 1, False, True, 0.0),
    ("429 Retry-After:6 ×2 (beyond the budget)", [refused(429, "6"), refused(429, "6")], 2, False, True, 6.125),
    ("500 (ambiguous)", [refused(500)], 1, False, False, 0.0),
    ("403 (refused for good)", [refused(403)], 1, False, True, 0.0),
]


@pytest.mark.parametrize(("label", "script", "posts", "answered", "apologised", "waited"), MATRIX,
                         ids=[row[0] for row in MATRIX])
async def test_retry_matrix(served: Served, label: str, script: list[Reply], posts: int, answered: bool,
                            apologised: bool, waited: float) -> None:
    served.connector.script = list(script)
    status = await served.ask_in_channel()
    answers = [a for a in served.connector.delivered() if a.get("text") == ANSWER]
    apologies = [a for a in served.connector.delivered() if a.get("text") == APOLOGY]
    answer_posts = sum(1 for _, a in served.connector.receipts if a["type"] == "message" and a.get("text") == ANSWER)
    print(f"\nMATRIX | {label} | answer posts {answer_posts} | answers delivered {len(answers)} | "
          f"apology {len(apologies)} | waited {sum(served.timing.waits):.3f}s (simulated) | HTTP {status}")
    assert answer_posts == posts
    assert len(answers) == (1 if answered else 0)           # never twice
    assert len(apologies) == (1 if apologised else 0)
    assert sum(served.timing.waits) == pytest.approx(waited)
    assert status == 200                                     # the turn ends cleanly: no 500 to the channel
    assert len(served.engine.questions) == 1


async def test_an_ambiguous_500_is_logged_and_not_posted_again(served: Served,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    served.connector.script = [refused(500)]
    with caplog.at_level(logging.INFO):
        assert await served.ask_in_channel() == 200
    assert served.connector.attempts() == 1                  # no retry, and no apology either
    assert any(r.levelno == logging.ERROR and "may or may not have been delivered" in r.getMessage()
               for r in caplog.records)
    assert not any("unhandled error in a turn" in r.getMessage() for r in caplog.records)
    # the channel redelivering the same activity is not answered a second time (the reply may be there)
    served.connector.script = []
    payload_ids = {a["replyToId"] for _, a in served.connector.receipts}
    [reply_to] = payload_ids
    redelivery = teams_activity("channel_message_mention.json", id=reply_to, serviceUrl=served.connector.url,
                                text="<at>My Combined</at> who covers AKS in Germany?")
    assert (await served.client.post("/api/messages", json=redelivery)).status == 200
    assert served.connector.attempts() == 1 and len(served.engine.questions) == 1


async def test_a_throttled_typing_indicator_is_dropped_and_the_answer_still_goes_out(served: Served) -> None:
    served.connector.typing_script = [refused(429, "1")]
    assert await served.ask_in_channel() == 200
    assert served.connector.attempts("typing") == 1           # not retried: a late "typing…" means nothing
    assert [a.get("text") for a in served.connector.delivered()] == [ANSWER]
    assert served.timing.waits == []


async def test_a_retry_after_is_really_waited(connector: ScriptedConnector) -> None:
    """End to end with the real clock: Retry-After: 1 holds the retry back at least a second."""
    engine = FakeEngine()
    slot = EngineSlot()
    slot.set_ready(engine)
    client = TestClient(TestServer(create_app(make_settings(), slot)))
    await client.start_server()
    try:
        connector.script = [refused(429, "1")]
        payload = personal_message("who covers AKS in Germany?", expect_replies=False, serviceUrl=connector.url)
        started = time.monotonic()
        response = await client.post("/api/messages", json=payload)
        elapsed = time.monotonic() - started
    finally:
        await client.close()
    print(f"\nreal run: 429 Retry-After:1 then 201 → HTTP {response.status} in {elapsed:.2f}s, "
          f"{connector.attempts()} posts, {len(connector.delivered())} delivered")
    assert response.status == 200
    assert connector.attempts() == 2 and len(connector.delivered()) == 1
    assert elapsed >= 1.0


async def test_retries_are_spread_by_jitter() -> None:
    policy = RetryPolicy()
    assert policy.delay_before(1, None, 0.0) == 0.25 and policy.delay_before(1, None, 0.999) < 0.5
    assert policy.delay_before(3, None, 0.0) == 1.0
    assert policy.delay_before(10, None, 1.0) == policy.max_delay      # capped
    assert policy.delay_before(1, 2.0, 0.0) == 2.0 and policy.delay_before(1, 2.0, 0.999) < 2.25
    assert policy.delay_before(1, policy.max_delay + 1, 0.0) is None   # too long to hold the user's turn


def test_retry_after_reads_seconds_and_http_dates() -> None:
    class Response:
        def __init__(self, value: str) -> None:
            self.headers = {"Retry-After": value}

    class Error(Exception):
        def __init__(self, value: str) -> None:
            self.response = Response(value)

    now = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
    assert retry_after_of(Error("3")) == 3.0
    assert retry_after_of(Error(format_datetime(now + timedelta(seconds=5), usegmt=True)), now) == 5.0
    assert retry_after_of(Error("soon")) is None
    assert retry_after_of(Error("-4")) == 0.0
    assert retry_after_of(Exception()) is None


async def test_the_daily_sweep_goes_through_the_same_retries(served: Served) -> None:
    """Proactive messages (continue_conversation) use the adapter's send path too."""
    from botbuilder.core import TurnContext
    from botbuilder.schema import Activity

    served.connector.script = [refused(429, "1")]
    sender = served.client.server.app[digest_sender_key()]
    reference = TurnContext.get_conversation_reference(Activity().deserialize(
        personal_message("hi", expect_replies=False, serviceUrl=served.connector.url)))

    async def send(context: TurnContext) -> None:
        await context.send_activity("your daily sweep")

    await sender.adapter.continue_conversation(reference, send, None)
    assert served.connector.attempts() == 2 and len(served.connector.delivered()) == 1
    assert served.timing.waits == [1.125]
