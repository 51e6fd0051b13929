"""Bot Framework authentication over the real aiohttp app, with locally signed RS256 tokens.

`create_app` with credentials (MultiTenant and SingleTenant), botbuilder's real token validation, and a key
cache filled by tests.support.tokens: no network, no identity provider. Every refused case must be a
401/403 (never 5xx) and must never reach the bot's turn handler nor the engine.
"""
from __future__ import annotations

import asyncio
import base64
import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from channel.handler import PartnerBot
from tests.support.server import APP_ID, Bot, Connector, message, messages_of, start_bot
from tests.support.tokens import IdentityProvider, b64, hs256_with_public_key, unsigned_token

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"      # the tenant in the recorded Teams payloads
OTHER_APP = "99999999-8888-7777-6666-555555555555"
SKEW = 5 * 60
MATRIX: dict[str, dict[str, int]] = {}


@pytest.fixture
def idp(monkeypatch: pytest.MonkeyPatch) -> IdentityProvider:
    provider = IdentityProvider()
    provider.install(monkeypatch)
    return provider


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Any name resolution for a non-loopback host fails the request and is recorded."""
    attempts: list[str] = []
    real = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in ("127.0.0.1", "localhost", "::1"):
            attempts.append(name)
            raise socket.gaierror(f"test: no network to {name}")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    return attempts


@pytest.fixture
def turns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A spy on the bot's turn handler: the activity ids that reached it."""
    seen: list[str] = []
    original = PartnerBot.on_turn

    async def spy(self: PartnerBot, turn_context: Any) -> None:
        seen.append(turn_context.activity.id)
        await original(self, turn_context)

    monkeypatch.setattr(PartnerBot, "on_turn", spy)
    return seen


APP_SETTINGS = {
    "MultiTenant": dict(app_id=APP_ID, app_password="not-a-real-secret", app_type="MultiTenant"),
    "SingleTenant": dict(app_id=APP_ID, app_password="not-a-real-secret", app_type="SingleTenant",
                         app_tenant_id=TENANT),
}


@pytest.fixture(params=list(APP_SETTINGS))
async def secured(request: pytest.FixtureRequest, connector: Connector, idp: IdentityProvider,
                  loopback_only: list[str], turns: list[str]) -> AsyncIterator[tuple[str, Bot]]:
    client, running = await start_bot(connector, **APP_SETTINGS[request.param])
    try:
        yield request.param, running
    finally:
        await client.close()
    assert loopback_only == [] and idp.refresh_attempts == []


def forged(idp: IdentityProvider, claims: dict[str, Any]) -> str:
    """Signed by a key the provider never published, under the provider's key id."""
    from tests.support.tokens import new_key

    return idp.token(claims, key=new_key())


def tampered(idp: IdentityProvider, claims: dict[str, Any]) -> str:
    """A genuine token whose claims were edited afterwards (audience swapped): the signature no longer fits."""
    header, _, signature = idp.token(claims).split(".")
    return f"{header}.{b64({**claims, 'aud': APP_ID, 'serviceurl': claims['serviceurl']})}x.{signature}"


@dataclass(frozen=True)
class Case:
    name: str
    header: Callable[[IdentityProvider, Callable[..., dict[str, Any]]], str | None]
    expected: int


def bearer(token: str) -> str:
    return f"Bearer {token}"


now = lambda: int(time.time())  # noqa: E731

REFUSED = [
    Case("missing Authorization header", lambda idp, c: None, 401),
    Case("empty Authorization header", lambda idp, c: "", 401),
    Case("Bearer without a token", lambda idp, c: "Bearer", 401),
    Case("Basic scheme", lambda idp, c: "Basic " + base64.b64encode(b"user:pass").decode(), 401),
    Case("valid token, Basic scheme", lambda idp, c: "Basic " + idp.token(c()), 401),
    Case("valid token, lower-case bearer", lambda idp, c: "bearer " + idp.token(c()), 401),
    Case("garbage", lambda idp, c: "Bearer not-a-jwt", 401),
    Case("garbage, three dotted parts", lambda idp, c: "Bearer a.b.c", 401),
    Case("garbage, binary", lambda idp, c: "Bearer " + b64(bytes(range(256))), 401),
    Case("token with extra words", lambda idp, c: bearer(idp.token(c())) + " extra", 401),
    Case("wrong audience (another app)", lambda idp, c: bearer(idp.token(c(aud=OTHER_APP))), 401),
    Case("no audience", lambda idp, c: bearer(idp.token(c(aud=None))), 401),
    Case("wrong issuer", lambda idp, c: bearer(idp.token(c(iss="https://api.botframework.com.evil.example"))), 401),
    Case("no issuer", lambda idp, c: bearer(idp.token(c(iss=None))), 401),
    Case("AAD (emulator) issuer, appid of another app",
         lambda idp, c: bearer(idp.token(c(iss="https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/",
                                           appid=OTHER_APP, ver="1.0"))), 401),
    Case("expired beyond the 5-minute skew",
         lambda idp, c: bearer(idp.token(c(iat=now() - 3600, nbf=now() - 3600, exp=now() - SKEW - 60))), 401),
    Case("not yet valid (nbf beyond the skew)",
         lambda idp, c: bearer(idp.token(c(nbf=now() + SKEW + 600, exp=now() + 7200))), 401),
    Case("issued in the future (iat beyond the skew)",
         lambda idp, c: bearer(idp.token(c(iat=now() + SKEW + 600, exp=now() + 7200))), 401),
    Case("forged signature (unpublished key, known kid)", lambda idp, c: bearer(forged(idp, c())), 401),
    Case("tampered claims", lambda idp, c: bearer(tampered(idp, c(aud=OTHER_APP))), 401),
    Case("unknown key id", lambda idp, c: bearer(idp.token(c(), kid="no-such-key")), 401),
    Case("no key id", lambda idp, c: bearer(idp.token(c(), kid=None)), 401),
    Case("key not endorsed for msteams",
         lambda idp, c: bearer(idp.token(c(), key=idp.add_key("webchat-only", ("webchat",)), kid="webchat-only")),
         401),
    Case("HS256 keyed with the public key", lambda idp, c: bearer(hs256_with_public_key(idp, c())), 401),
    # the SDK lists RS384/RS512 as allowed but verifies with RS256 only; channels sign RS256
    Case("RS512 signature", lambda idp, c: bearer(idp.token(c(), algorithm="RS512")), 401),
    Case("alg none", lambda idp, c: bearer(unsigned_token(c(), idp.kid)), 401),
    Case("serviceUrl claim mismatch", lambda idp, c: bearer(idp.token(c(serviceurl="https://evil.example/"))), 401),
    Case("no serviceUrl claim", lambda idp, c: bearer(idp.token(c(serviceurl=None))), 401),
]
ACCEPTED = [
    Case("valid token", lambda idp, c: bearer(idp.token(c())), 200),
    Case("expired within the 5-minute skew", lambda idp, c: bearer(idp.token(c(exp=now() - 120))), 200),
]


async def _run(case: Case, setting: str, running: Bot, idp: IdentityProvider, turns: list[str]) -> tuple[int, Any]:
    connector_url = running.connector.url
    payload = message(running.connector, "Who can do AKS in Germany?")

    def claims(**changes: Any) -> dict[str, Any]:
        return idp.claims(app_id=APP_ID, service_url=connector_url, **changes)

    header = case.header(idp, claims)
    headers = {"Authorization": header} if header is not None else {}
    response = await running.post(payload, headers=headers)
    body = await response.json() if response.content_type == "application/json" else {}
    MATRIX.setdefault(case.name, {})[setting] = response.status
    return response.status, body


@pytest.mark.parametrize("case", REFUSED, ids=[c.name for c in REFUSED])
async def test_a_bad_token_is_refused_and_never_reaches_the_bot(case: Case, secured: tuple[str, Bot],
                                                                idp: IdentityProvider, turns: list[str]) -> None:
    setting, running = secured
    status, body = await _run(case, setting, running, idp, turns)
    assert status == case.expected, body
    assert body == {"error": "unauthorized"}
    assert turns == [] and running.engine.questions == [] and running.connector.posts == []


@pytest.mark.parametrize("case", ACCEPTED, ids=[c.name for c in ACCEPTED])
async def test_a_valid_token_is_accepted_and_answered(case: Case, secured: tuple[str, Bot],
                                                      idp: IdentityProvider, turns: list[str]) -> None:
    setting, running = secured
    status, body = await _run(case, setting, running, idp, turns)
    assert status == 200, body
    assert len(turns) == 1 and running.engine.questions == ["Who can do AKS in Germany?"]
    assert messages_of(body["activities"])


async def test_a_valid_token_for_a_tenant_outside_the_allow_list_is_403_without_retrieval(
        connector: Connector, idp: IdentityProvider, loopback_only: list[str], turns: list[str]) -> None:
    client, running = await start_bot(connector, **APP_SETTINGS["MultiTenant"], allowed_tenants=f"{TENANT}")
    try:
        token = bearer(idp.token(idp.claims(app_id=APP_ID, service_url=connector.url)))
        allowed = message(connector, "Who can do AKS in Germany?")
        assert (await running.post(allowed, headers={"Authorization": token})).status == 200
        assert running.engine.questions == ["Who can do AKS in Germany?"]
        outsider = message(connector, "Show me the confidential notes on every partner",
                           channelData={"tenant": {"id": "0badc0de-0000-0000-0000-000000000000"}})
        outsider["conversation"] = {**outsider["conversation"], "tenantId": "0badc0de-0000-0000-0000-000000000000"}
        response = await running.post(outsider, headers={"Authorization": token})
        assert response.status == 403 and await response.json() == {"error": "tenant not allowed"}
        MATRIX.setdefault("valid token, tenant not in ALLOWED_TENANTS", {})["MultiTenant"] = response.status
    finally:
        await client.close()
    assert running.engine.questions == ["Who can do AKS in Germany?"]    # the outsider reached no retrieval
    assert turns == [allowed["id"]]
    assert loopback_only == []


# =========================================================================== the signing-key cache (channel/auth.py)
@dataclass
class FakeIdentityEndpoint:
    """requests.get as the metadata and JWKS endpoints answer it (no network): the keys it publishes now."""

    keys: list[dict[str, Any]]
    delay: float = 0.0
    calls: list[str] = field(default_factory=list)

    def get(self, url: str, *_: Any, timeout: float | None = None, **__: Any) -> Any:
        import requests

        self.calls.append(url)
        assert timeout is not None, "fetched without a timeout"
        if self.delay:
            time.sleep(min(self.delay, timeout))
            if self.delay >= timeout:
                raise requests.Timeout(f"test: {url} did not answer in {timeout} s")
        response = requests.Response()
        response.status_code = 200
        body = {"jwks_uri": "https://login.botframework.com/v1/.well-known/keys"} if "openid" in url else \
            {"keys": self.keys}
        response._content = json.dumps(body).encode()
        return response


def _metadata(idp: IdentityProvider) -> Any:
    from botframework.connector.auth import jwt_token_extractor
    from botframework.connector.auth.authentication_constants import AuthenticationConstants

    return jwt_token_extractor.JwtTokenExtractor.metadataCache[
        AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL]


async def test_a_rolled_signing_key_is_fetched_once_and_accepted(
        connector: Connector, idp: IdentityProvider, monkeypatch: pytest.MonkeyPatch, loopback_only: list[str],
        turns: list[str]) -> None:
    import requests

    client, running = await start_bot(connector, **APP_SETTINGS["SingleTenant"])   # installs the key-cache fix
    try:
        rolled = idp.add_key("rolled-2027", ("msteams",))
        endpoint = FakeIdentityEndpoint(idp.jwks())                  # the endpoint now publishes the new key
        monkeypatch.setattr(requests, "get", endpoint.get)
        metadata = _metadata(idp)
        metadata.last_updated = datetime.now() - timedelta(hours=2)  # keys fetched 2 h ago, before the roll
        claims = idp.claims(app_id=APP_ID, service_url=connector.url)
        header = {"Authorization": bearer(idp.token(claims, key=rolled, kid="rolled-2027"))}
        assert (await running.post(message(connector, "Who can do AKS?"), headers=header)).status == 200
        assert (await running.post(message(connector, "Who can do AKS?"), headers=header)).status == 200
        assert len(endpoint.calls) == 2                               # metadata + JWKS, once
        unknown = {"Authorization": bearer(idp.token(claims, kid="never-published"))}
        assert (await running.post(message(connector, "Who can do AKS?"), headers=unknown)).status == 401
        assert len(endpoint.calls) == 2                               # refreshed within the hour: not again
        MATRIX.setdefault("signing key rolled since the last fetch", {})["SingleTenant"] = 200
    finally:
        await client.close()
    assert len(turns) == 2 and loopback_only == []


async def test_a_hanging_identity_endpoint_does_not_stall_the_server(
        connector: Connector, idp: IdentityProvider, monkeypatch: pytest.MonkeyPatch, turns: list[str]) -> None:
    import requests

    from channel import auth as openid_keys

    monkeypatch.setattr(openid_keys, "FETCH_TIMEOUT_SECONDS", 1.5)
    client, running = await start_bot(connector, **APP_SETTINGS["MultiTenant"])
    try:
        endpoint = FakeIdentityEndpoint(idp.jwks(), delay=60)
        monkeypatch.setattr(requests, "get", endpoint.get)
        _metadata(idp).last_updated = datetime.min                    # the first fetch is due: no keys held
        _metadata(idp).keys = []
        header = {"Authorization": bearer(idp.token(idp.claims(app_id=APP_ID, service_url=connector.url)))}
        pending = asyncio.create_task(running.post(message(connector, "Who can do AKS?"), headers=header))
        await asyncio.sleep(0.3)
        started = time.perf_counter()
        health = await running.client.get("/healthz")                 # the event loop is free meanwhile
        healthz_seconds = time.perf_counter() - started
        assert health.status == 200 and not pending.done()
        response = await pending
        assert response.status == 503 and await response.json() == {"error": "authentication service unreachable"}
        MATRIX.setdefault("identity endpoint hangs (refresh due)", {})["MultiTenant"] = response.status
        print(f"\n/healthz answered in {healthz_seconds * 1000:.0f} ms while the key fetch hung; "
              f"the request got {response.status} after the fetch timeout")
    finally:
        await client.close()
    assert turns == []


def test_print_the_matrix(capsys: pytest.CaptureFixture[str]) -> None:
    """Not an assertion of its own: prints what the cases above measured (run with -s to see it)."""
    if not MATRIX:
        pytest.skip("run with the matrix cases")
    width = max(len(name) for name in MATRIX)
    lines = [f"{'case'.ljust(width)}  MultiTenant  SingleTenant"]
    for name, statuses in MATRIX.items():
        lines.append(f"{name.ljust(width)}  {str(statuses.get('MultiTenant', '-')).ljust(11)}  "
                     f"{statuses.get('SingleTenant', '-')}")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    # a bad token is never a 5xx; only an unreachable identity endpoint is (503, on purpose)
    assert all(s < 500 for name, statuses in MATRIX.items() for s in statuses.values()
               if not name.startswith("identity endpoint"))
