"""Sockets and plain HTTP for tests that run the server in this process or as `bot.py serve`."""
from __future__ import annotations

import asyncio
import json
import socket
import time
from typing import Any

import aiohttp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def poll_health(session: aiohttp.ClientSession, port: int, done: Any, timeout: float = 10) -> int:
    deadline = time.monotonic() + timeout
    status = -1
    while time.monotonic() < deadline:
        try:
            async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                status = response.status
                if done(status):
                    return status
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.05)
    return status


def wait_for_health(port: int, done: Any, timeout: float = 30) -> dict[str, Any]:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as error:
            body = json.loads(error.read())
        except (urllib.error.URLError, ConnectionError):
            pass
        if body and done(body):
            return body
        time.sleep(0.1)
    raise AssertionError(f"health never matched; last {body}")


def http_post(port: int, payload: bytes) -> tuple[int, dict[str, Any]]:
    import urllib.request

    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/messages", data=payload,
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def outward_address() -> str | None:
    """This machine's address on its default route (no packet is sent), or None without one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.254", 9))
            address = str(probe.getsockname()[0])
        except OSError:
            return None
    return None if address.startswith("127.") else address
