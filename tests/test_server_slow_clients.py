"""Slow clients over real sockets against `run_server` (the app as `bot.py serve` runs it).

Fifty connections dribble a byte at a time: half never finish their request head, half never finish
their body. While they hang, a normal question and /healthz are answered; each slow one gets 408 or is
closed well within its configured bound. One connection over MAX_CONNECTIONS is answered 503 at once.
The timeouts are settings, so the tests use one second; no upper timing bound is asserted beyond
"closed before DEADLINE seconds".
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from app.server import run_server
from app.settings import Settings
from tests.dialogs.fakes import FakeEngine, personal_message
from tests.support.network import free_port, poll_health
from tests.support.server import make_settings, messages_of

DEADLINE = 15.0          # generous: the bounds under test are 1 s (+ at most 2 s of draining)


@dataclass
class Running:
    port: int
    engine: FakeEngine

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextlib.asynccontextmanager
async def serving(**settings: Any) -> AsyncIterator[Running]:
    engine = FakeEngine()
    port = free_port()
    stop = asyncio.Event()
    server = asyncio.create_task(run_server(make_settings(port=port, **settings), lambda: engine, stop=stop))
    try:
        async with aiohttp.ClientSession() as session:
            assert await poll_health(session, port, lambda s: s == 200) == 200
        yield Running(port, engine)
    finally:
        stop.set()
        await server


async def ask(running: Running, text: str) -> tuple[int, list[dict[str, Any]]]:
    async with aiohttp.ClientSession() as session, \
            session.post(f"{running.url}/api/messages", json=personal_message(text)) as response:
        body = await response.json()
        return response.status, body.get("activities", [])


HEAD = "POST /api/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"


def dribbled_head() -> Callable[[int], bytes]:
    """A request head that never ends: header bytes, one at a time."""
    start = (HEAD + "X-Padding: ").encode()
    return lambda i: start[i:i + 1] if i < len(start) else b"a"


def dribbled_body() -> Callable[[int], bytes]:
    """A complete head announcing a body, then the body one byte at a time."""
    body = json.dumps(personal_message("Who can do AKS in Germany?")).encode()
    head = (HEAD + f"Content-Length: {len(body)}\r\n\r\n").encode()
    return lambda i: head if i == 0 else body[i - 1:i]


async def slow_client(port: int, next_bytes: Callable[[int], bytes], interval: float = 0.1) -> tuple[bytes, float]:
    """Send `next_bytes(0), next_bytes(1), …` every `interval` s until the server closes; what it answered, and when."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()

    async def dribble() -> None:
        i = 0
        with contextlib.suppress(ConnectionError, OSError):
            while True:
                writer.write(next_bytes(i))
                await writer.drain()
                i += 1
                await asyncio.sleep(interval)

    sender = asyncio.create_task(dribble())
    try:
        answered = await asyncio.wait_for(reader.read(), DEADLINE)      # everything until the server closes
    except ConnectionError:
        answered = b""
    except TimeoutError:
        answered = b"<still open>"
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
        writer.close()
    return answered, time.monotonic() - started


async def test_fifty_dribbling_clients_are_cut_and_everyone_else_is_served() -> None:
    async with serving(header_timeout_seconds=1, body_timeout_seconds=1, max_connections=200) as running:
        heads = [asyncio.create_task(slow_client(running.port, dribbled_head())) for _ in range(25)]
        bodies = [asyncio.create_task(slow_client(running.port, dribbled_body())) for _ in range(25)]
        await asyncio.sleep(0.3)                       # they are connected and dribbling
        assert not any(task.done() for task in heads + bodies)
        status, activities = await ask(running, "Who can do AKS in Germany?")
        assert status == 200 and messages_of(activities)
        async with aiohttp.ClientSession() as session, session.get(f"{running.url}/healthz") as response:
            assert response.status == 200
        head_results = await asyncio.gather(*heads)
        body_results = await asyncio.gather(*bodies)
    for answered, _ in head_results:
        assert answered == b"", answered[:80]          # closed (before DEADLINE): no request was ever complete
    for answered, _ in body_results:
        assert answered.startswith(b"HTTP/1.1 408 "), answered[:80]
        assert b'{"error": "request body not received in time"}' in answered
    assert running.engine.questions == ["Who can do AKS in Germany?"]     # no dribbled body reached the bot


async def test_a_kept_alive_connection_may_idle_then_is_closed_after_the_header_timeout() -> None:
    async with serving(header_timeout_seconds=1) as running:
        reader, writer = await asyncio.open_connection("127.0.0.1", running.port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        await writer.drain()
        first = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), DEADLINE)
        assert first.startswith(b"HTTP/1.1 200 ")
        rest = await asyncio.wait_for(reader.read(), DEADLINE)    # the body, then the close: no second request came
        assert b'"status"' in rest
        writer.close()


async def test_one_connection_over_the_limit_gets_503_and_the_server_recovers() -> None:
    async with serving(header_timeout_seconds=1, max_connections=5) as running:
        idle = [await asyncio.open_connection("127.0.0.1", running.port) for _ in range(5)]
        reader, writer = await asyncio.open_connection("127.0.0.1", running.port)
        refused = await asyncio.wait_for(reader.read(), DEADLINE)
        writer.close()
        assert refused.startswith(b"HTTP/1.1 503 ") and b"Retry-After: 1" in refused
        assert refused.endswith(b'{"error": "too many connections"}')
        # the idle ones are closed by the header timeout; then requests are served again
        for idle_reader, _ in idle:
            assert await asyncio.wait_for(idle_reader.read(), DEADLINE) == b""
        for _, idle_writer in idle:
            idle_writer.close()
        status, activities = await ask(running, "Who can do AKS in Germany?")
        assert status == 200 and messages_of(activities)


@pytest.mark.parametrize("name", ["HEADER_TIMEOUT_SECONDS", "BODY_TIMEOUT_SECONDS", "MAX_CONNECTIONS"])
def test_the_limits_are_settings_and_refuse_nonsense(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(name, "3")
    settings = Settings(_env_file=None)
    limits = settings.server_limits()
    assert 3 in (limits.header_timeout, limits.body_timeout, limits.max_connections)
    monkeypatch.setenv(name, "0")
    with pytest.raises(ValueError):
        Settings(_env_file=None)
