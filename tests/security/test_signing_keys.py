"""Forged tokens never become a flood of signing-key fetches (channel/auth.py), over the real app.

A loopback OpenID metadata + JWKS server counts every fetch; botbuilder's key cache is pointed at it, so
its real fetch code (requests, in a thread, with a timeout) runs. Tokens carry the Bot Framework issuer,
so the SDK's own issuer check lets them through to the key lookup. Before: a token with a made-up key id
refetched the keys whenever the last fetch had failed (or was an hour old), and an expired token fetched
on a cold cache. Now the cheap claims are checked first, the key set is cached, and a failed fetch is
backed off: a flood costs at most one fetch and every forged token is 401.
"""
from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from botframework.connector.auth import jwt_token_extractor

from channel import auth as openid_keys
from tests.support.server import APP_ID, Bot, Connector, message, start_bot
from tests.support.tokens import METADATA_URLS, IdentityProvider, hs256_with_public_key, unsigned_token

FLOOD = 40
SKEW = 5 * 60


@dataclass
class KeyServer:
    """The identity provider's OpenID metadata and JWKS on loopback, counting what is fetched."""

    idp: IdentityProvider
    base: str = ""
    failing: bool = False
    metadata_fetches: int = 0
    key_fetches: int = 0
    seen: list[str] = field(default_factory=list)

    @property
    def metadata_url(self) -> str:
        return f"{self.base}/v1/.well-known/openidconfiguration"

    def metadata(self) -> Any:
        return jwt_token_extractor.JwtTokenExtractor.metadataCache[METADATA_URLS[0]]


@pytest.fixture
async def keys(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[KeyServer]:
    server = KeyServer(IdentityProvider())

    async def openid(_: web.Request) -> web.Response:
        server.metadata_fetches += 1
        if server.failing:
            return web.json_response({"error": "unavailable"}, status=500)
        return web.json_response({"issuer": "https://api.botframework.com",
                                  "jwks_uri": f"{server.base}/v1/.well-known/keys"})

    async def jwks(_: web.Request) -> web.Response:
        server.key_fetches += 1
        return web.json_response({"keys": server.idp.jwks()})

    app = web.Application()
    app.router.add_get("/v1/.well-known/openidconfiguration", openid)
    app.router.add_get("/v1/.well-known/keys", jwks)
    async with TestServer(app) as running:
        server.base = str(running.make_url("")).rstrip("/")
        for url in METADATA_URLS:           # a cold cache whose fetches go to the loopback server
            monkeypatch.setitem(jwt_token_extractor.JwtTokenExtractor.metadataCache, url,
                                jwt_token_extractor._OpenIdMetadata(server.metadata_url))
        yield server


@pytest.fixture
async def secured(connector: Connector, keys: KeyServer) -> AsyncIterator[Bot]:
    client, running = await start_bot(connector, app_id=APP_ID, app_password="not-a-real-secret")
    try:
        yield running
    finally:
        await client.close()


def claims(keys: KeyServer, connector: Connector, **changes: Any) -> dict[str, Any]:
    return keys.idp.claims(app_id=APP_ID, service_url=connector.url, **changes)


async def statuses(running: Bot, tokens: list[str]) -> list[int]:
    async def one(token: str) -> int:
        response = await running.post(message(running.connector, "Who can do AKS?"),
                                      headers={"Authorization": f"Bearer {token}"})
        return response.status

    return list(await asyncio.gather(*(one(t) for t in tokens)))


def cheap_forgeries(keys: KeyServer, connector: Connector) -> list[str]:
    """Tokens that fail a claim needing no key: each kind several times, made-up key ids."""
    now = int(time.time())
    idp = keys.idp
    kinds = [
        lambda: idp.token(claims(keys, connector, iat=now - 7200, nbf=now - 7200, exp=now - SKEW - 60),
                          kid=uuid.uuid4().hex),                                           # expired
        lambda: idp.token(claims(keys, connector, nbf=now + SKEW + 600, exp=now + 7200), kid=uuid.uuid4().hex),
        lambda: idp.token(claims(keys, connector, exp=None), kid=uuid.uuid4().hex),        # no expiry
        lambda: unsigned_token(claims(keys, connector), uuid.uuid4().hex),                 # alg none
        lambda: hs256_with_public_key(idp, claims(keys, connector)),                       # HS256
        lambda: idp.token(claims(keys, connector), algorithm="RS512", kid=uuid.uuid4().hex),
        lambda: idp.token(claims(keys, connector), kid=None),                              # no key id
        lambda: idp.token(claims(keys, connector, iss="https://api.botframework.com.evil.example"),
                          kid=uuid.uuid4().hex),                                           # another issuer
    ]
    return [kinds[i % len(kinds)]() for i in range(FLOOD)]


async def test_tokens_failing_cheap_claims_are_401_without_a_single_fetch(secured: Bot, keys: KeyServer) -> None:
    assert await statuses(secured, cheap_forgeries(keys, secured.connector)) == [401] * FLOOD
    assert (keys.metadata_fetches, keys.key_fetches) == (0, 0)
    assert secured.engine.questions == []


async def test_a_flood_of_unknown_key_ids_after_a_failed_refresh_fetches_once_and_is_401(
        secured: Bot, keys: KeyServer) -> None:
    genuine = keys.idp.token(claims(keys, secured.connector))
    assert await statuses(secured, [genuine]) == [200]
    assert (keys.metadata_fetches, keys.key_fetches) == (1, 1)            # the cold cache, filled once
    keys.failing = True
    keys.metadata().last_updated = datetime.now() - timedelta(hours=2)     # an unknown key id may refresh now
    forged = [keys.idp.token(claims(keys, secured.connector), key=keys.idp.add_key(f"forged-{i}", ("msteams",)),
                             kid=f"made-up-{uuid.uuid4().hex}") for i in range(FLOOD)]
    assert await statuses(secured, forged) == [401] * FLOOD
    assert keys.metadata_fetches == 2                                      # one failed attempt, then backoff
    assert await statuses(secured, [genuine]) == [200]                     # the keys held still serve
    assert keys.metadata_fetches == 2
    assert len(secured.engine.questions) == 2


async def test_with_no_keys_and_a_failing_endpoint_requests_wait_for_the_backoff_not_refetch(
        secured: Bot, keys: KeyServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(openid_keys, "FIRST_BACKOFF_SECONDS", 0.5, raising=False)
    keys.failing = True
    genuine = keys.idp.token(claims(keys, secured.connector))
    flood = [keys.idp.token(claims(keys, secured.connector), kid=uuid.uuid4().hex) for _ in range(FLOOD)]
    # nothing can be verified without keys: 503 (try again), but one fetch for the lot, not one each
    assert set(await statuses(secured, [genuine, *flood])) == {503}
    assert keys.metadata_fetches <= 2
    keys.failing = False                     # the endpoint recovers: after the backoff, the next request fetches
    deadline = time.monotonic() + 15
    while (status := (await statuses(secured, [genuine]))[0]) != 200 and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert status == 200
    assert keys.metadata_fetches <= 4 and keys.key_fetches == 1
