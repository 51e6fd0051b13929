"""Local mode (no app id: nothing is authenticated) reaches and is reached by this machine only.

Over the real HTTP app: an activity whose serviceUrl is not loopback is refused before its turn (else the
bot POSTs its answer to any URL a request names, and `subscribe` stores it for the daily digest), and a
request whose Host header is not this machine is refused (a DNS-rebinding page in a local browser). The
"outside" URL is a stub listening on this machine's own non-loopback address, so a call that slipped
through would really arrive there. With credentials the token's serviceurl claim decides instead.
"""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from app.server import digest_sender_key
from tests.dialogs.fakes import ECM_ID, FakeEngine
from tests.support.network import outward_address
from tests.support.server import APP_ID, Bot, Connector, message, messages_of, start_bot
from tests.support.tokens import IdentityProvider


@pytest.fixture
async def outside() -> AsyncIterator[Connector]:
    """A connector stub on a non-loopback address of this machine: what a remote serviceUrl would be."""
    address = outward_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    stub = Connector()

    async def receive(request: web.Request) -> web.Response:
        stub.posts.append((request.path, await request.json()))
        return web.json_response({"id": str(uuid.uuid4())})

    app = web.Application()
    app.router.add_post("/v3/conversations/{conversation}/activities", receive)
    app.router.add_post("/v3/conversations/{conversation}/activities/{reply_to}", receive)
    async with TestServer(app, host="0.0.0.0") as server:
        assert server.port is not None
        stub.url = f"http://{address}:{server.port}"
        yield stub


@pytest.fixture
async def local_bot(connector: Connector) -> AsyncIterator[Bot]:
    client, running = await start_bot(connector, FakeEngine())
    try:
        yield running
    finally:
        await client.close()


async def test_an_activity_naming_a_remote_service_url_is_refused_and_nothing_is_posted(
        local_bot: Bot, outside: Connector) -> None:
    payload = message(outside, "Who can do AKS in Germany?", expect_replies=False)
    payload.pop("deliveryMode", None)
    response = await local_bot.post(payload)
    assert response.status == 403
    assert await response.json() == {"error": "serviceUrl must be a loopback address in local mode"}
    assert outside.posts == [] and local_bot.engine.questions == []


async def test_subscribe_from_a_remote_service_url_stores_nothing(local_bot: Bot, outside: Connector) -> None:
    response = await local_bot.post(message(outside, "subscribe", aad_object_id=ECM_ID))
    assert response.status == 403
    app = local_bot.client.server.app
    assert app is not None and app[digest_sender_key()].subscriptions.all() == []


@pytest.mark.parametrize("service_url", ["http://localhost:9/", "https://127.0.0.2/amer/", "http://[::1]:3978"])
async def test_loopback_service_urls_are_accepted(local_bot: Bot, service_url: str) -> None:
    status, activities = await local_bot.ask(message(local_bot.connector, "Who can do AKS?", serviceUrl=service_url))
    assert status == 200 and messages_of(activities)


@pytest.mark.parametrize("service_url", ["http://127.0.0.1.evil.example/", "http://user@127.0.0.1/",
                                         "file:///etc/passwd", "http://0x7f.example/", "ftp://127.0.0.1/"])
async def test_look_alike_service_urls_are_refused(local_bot: Bot, service_url: str) -> None:
    response = await local_bot.post(message(local_bot.connector, "Who can do AKS?", serviceUrl=service_url))
    assert response.status == 403
    assert local_bot.engine.questions == []


async def _status(running: Bot, method: str, path: str, host: str, **kwargs: Any) -> int:
    response = await running.client.request(method, path, headers={"Host": host}, **kwargs)
    return response.status


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:3978", "127.0.0.1.nip.io:3978",
                                  "192.0.2.7:3978", "[", "localhost.attacker.example"])
async def test_a_host_header_that_is_not_this_machine_is_refused(local_bot: Bot, host: str) -> None:
    payload = message(local_bot.connector, "Who can do AKS in Germany?")
    assert await _status(local_bot, "POST", "/api/messages", host, json=payload) == 403
    assert await _status(local_bot, "GET", "/healthz", host) == 403
    assert local_bot.engine.questions == []


@pytest.mark.parametrize("host", ["127.0.0.1:3978", "localhost:3978", "localhost", "[::1]:3978", "127.0.0.1"])
async def test_loopback_host_headers_are_served(local_bot: Bot, host: str) -> None:
    payload = message(local_bot.connector, "Who can do AKS in Germany?")
    assert await _status(local_bot, "POST", "/api/messages", host, json=payload) == 200
    assert await _status(local_bot, "GET", "/healthz", host) == 200


async def test_with_credentials_the_token_decides_not_the_address(connector: Connector, outside: Connector,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    idp = IdentityProvider()
    idp.install(monkeypatch)
    client, running = await start_bot(connector, FakeEngine(), app_id=APP_ID, app_password="not-a-real-secret")
    try:
        payload = message(outside, "Who can do AKS in Germany?")
        signed_for = {url: f"Bearer {idp.token(idp.claims(app_id=APP_ID, service_url=url))}"
                      for url in (outside.url, connector.url)}
        # any Host, any serviceUrl the channel's token names: the request is authenticated by its token
        status, activities = await running.ask(payload, headers={"Authorization": signed_for[outside.url],
                                                                 "Host": "partner-atlas.contoso.example"})
        assert status == 200 and messages_of(activities)
        # a token for another serviceUrl does not cover this one (botbuilder's serviceurl claim check)
        response = await running.post(payload, headers={"Authorization": signed_for[connector.url]})
        assert response.status == 401
    finally:
        await client.close()
    assert outside.posts == [] and idp.refresh_attempts == []


async def test_a_subscription_stored_with_a_remote_service_url_gets_no_digest(outside: Connector, tmp_path: Path) -> None:
    """A subscription from before this check (or written by hand) names a remote serviceUrl: the daily digest is
    not posted there; the same subscription on a loopback serviceUrl is delivered."""
    from tests.factories import ECM, make_knowledge
    from tests.support.served import DAY, serve

    served = await serve(make_knowledge(tmp_path / "kb"), tmp_path / "data")
    try:
        sender = served.app[digest_sender_key()]
        [reply] = await served.say("subscribe", service_url="http://127.0.0.1:9/", conversation="a:ecm-chat")
        assert reply["text"].startswith("Subscribed")
        [stored] = sender.subscriptions.all()
        sender.subscriptions.subscribe(ECM, stored.user_name, {**stored.reference, "serviceUrl": outside.url})
        assert await sender.send_due_digests(DAY) == []
        assert outside.posts == []
        # the refusal is the address, not the subscription: the same stub reached over loopback gets the digest
        home = f"http://127.0.0.1:{outside.url.rsplit(':', 1)[1]}"
        sender.subscriptions.subscribe(ECM, stored.user_name, {**stored.reference, "serviceUrl": home})
        assert await sender.send_due_digests(DAY + timedelta(days=1)) == [ECM]
        assert [activity["type"] for _, activity in outside.posts] == ["message"]
    finally:
        await served.close()
