"""Bot Framework tokens: signing keys fetched without stalling the server, cached, never fetched for a forgery;
and `channel_authenticated`, a request's token checked as for POST /api/messages (GET /healthz details).

botbuilder 4.17.1's `_OpenIdMetadata` (botframework/connector/auth/jwt_token_extractor.py) has faults
that matter in production:
- `_refresh` calls `requests.get` with no timeout on the event loop: once a day (and on the first
  request) every conversation waits for the identity endpoint, forever if it hangs;
- `_find` raises IndexError for a key id it does not hold, so its "unknown key: refresh, at most once
  an hour" branch never runs: after Microsoft rolls its signing keys every request is 401 until the
  daily refresh;
- a failed fetch is not remembered: while the endpoint fails (or is unreachable), every request whose
  key id is unknown fetches again, so a flood of forged tokens (any Bot Framework issuer, a made-up key
  id) is a flood of outbound fetches and of 503s;
- a token's algorithm and expiry are checked only after its key was looked up (and fetched).
`install()` fixes them:
- the fetch runs in a thread with a timeout, and concurrent refreshes share one fetch;
- the key set is cached (a day, as before; an unknown key id refreshes it at most once an hour);
- after a failed fetch nothing is fetched again for a backoff (FIRST_BACKOFF_SECONDS, doubling up to
  MAX_BACKOFF_SECONDS); meanwhile the keys held are used (a key id they lack is 401), and only with no
  keys at all is a request refused as "authentication service unreachable" (503, see app/endpoint.py);
- the cheap claims are checked before any key is looked up: the algorithm (RS256, the only one the SDK
  verifies with), a key id, the expiry and not-before (with the SDK's clock tolerance); the issuer was
  checked by the SDK already. A token failing them is 401 without a fetch.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger(__name__)

FETCH_TIMEOUT_SECONDS = 10.0
FIRST_BACKOFF_SECONDS = 5.0
MAX_BACKOFF_SECONDS = 300.0
KEYS_MAX_AGE = timedelta(days=1)
UNKNOWN_KEY_REFRESH = timedelta(hours=1)
SIGNING_ALGORITHM = "RS256"


class SigningKeysUnavailableError(ConnectionError):
    """No signing keys are held and the identity endpoint cannot be reached now (or failed a moment ago)."""


class TokenRejectedError(PermissionError):
    """The token fails a claim that needs no key: algorithm, key id, expiry, not-before."""


def _fetch_keys(url: str, timeout: float) -> list[dict[str, Any]]:
    import requests

    response = requests.get(url, timeout=timeout)
    response.raise_for_status()
    keys_url = response.json()["jwks_uri"]
    keys = requests.get(keys_url, timeout=timeout)
    keys.raise_for_status()
    found = keys.json()["keys"]
    if not isinstance(found, list):
        raise ValueError("the JWKS has no list of keys")
    return [k for k in found if isinstance(k, dict)]


def check_cheap_claims(token: str, options: Any) -> None:
    """Raise TokenRejectedError when the token cannot be valid whatever its signature (no key needed)."""
    import jwt

    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise TokenRejectedError(f"malformed token: {exc}") from None
    if header.get("alg") != SIGNING_ALGORITHM or SIGNING_ALGORITHM not in (options.algorithms or []):
        raise TokenRejectedError("token signing algorithm not accepted")
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise TokenRejectedError("token has no key id")
    tolerance = options.clock_tolerance
    leeway = tolerance.total_seconds() if isinstance(tolerance, timedelta) else float(tolerance or 0)
    now = time.time()
    expiry, not_before = claims.get("exp"), claims.get("nbf")
    if not options.ignore_expiration:
        if not isinstance(expiry, (int, float)) or isinstance(expiry, bool) or expiry + leeway < now:
            raise TokenRejectedError("token expired or without expiry")
    if not_before is not None and (not isinstance(not_before, (int, float)) or not_before - leeway > now):
        raise TokenRejectedError("token not yet valid")


class _Backoff:
    """The state of one metadata URL's fetches: one at a time, and a pause after a failure."""

    def __init__(self) -> None:
        self.lock: asyncio.Lock | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.failures = 0
        self.paused_until = 0.0          # time.monotonic()

    def lock_for_this_loop(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self.lock is None or self.loop is not loop:
            self.lock, self.loop = asyncio.Lock(), loop
        return self.lock

    def failed(self) -> float:
        self.failures += 1
        pause = min(MAX_BACKOFF_SECONDS, FIRST_BACKOFF_SECONDS * 2 ** (self.failures - 1))
        self.paused_until = time.monotonic() + pause
        return pause

    def succeeded(self) -> None:
        self.failures, self.paused_until = 0, 0.0


def _backoff(metadata: Any) -> _Backoff:
    state = metadata.__dict__.get("_partner_atlas_backoff")
    if state is None:
        state = metadata._partner_atlas_backoff = _Backoff()
    return state


def install() -> None:
    """Patch botbuilder's OpenID key cache and token extractor (idempotent)."""
    from botframework.connector.auth import jwt_token_extractor
    from jwt.algorithms import RSAAlgorithm

    metadata_class: Any = jwt_token_extractor._OpenIdMetadata
    extractor_class: Any = jwt_token_extractor.JwtTokenExtractor
    if getattr(metadata_class, "_partner_atlas_patched", False):
        return

    async def _refresh(self: Any) -> None:
        """Fetch the key set unless another request just did or a failure is being backed off from."""
        state = _backoff(self)
        started = self.last_updated
        async with state.lock_for_this_loop():
            if self.last_updated != started:      # another request refreshed while we waited
                return
            if time.monotonic() < state.paused_until:
                if self.keys:
                    return                        # keep using the keys held
                raise SigningKeysUnavailableError("signing keys unavailable (backing off after a failed fetch)")
            try:
                keys = await asyncio.to_thread(_fetch_keys, self.url, FETCH_TIMEOUT_SECONDS)
            except Exception as exc:
                pause = state.failed()
                log.warning("fetching the Bot Framework signing keys failed (%s: %s); next attempt in %.0f s%s",
                            type(exc).__name__, str(exc)[:200], pause,
                            "; the keys held are used meanwhile" if self.keys else "")
                if self.keys:
                    return
                raise SigningKeysUnavailableError("signing keys unavailable") from exc
            state.succeeded()
            self.keys, self.last_updated = keys, datetime.now()
            log.info("Bot Framework signing keys refreshed: %d keys", len(keys))

    async def get(self: Any, key_id: str) -> Any:
        if self.last_updated < datetime.now() - KEYS_MAX_AGE:
            await self._refresh()
        key = self._find(key_id)
        if key is None and self.last_updated < datetime.now() - UNKNOWN_KEY_REFRESH:
            await self._refresh()                 # a rolled key: at most once an hour, never while backing off
            key = self._find(key_id)
        if key is None:
            raise TokenRejectedError("unknown signing key id")
        return key

    def _find(self: Any, key_id: str) -> Any:
        key = next((k for k in self.keys or [] if k.get("kid") == key_id), None)
        if key is None:
            return None
        public_key = RSAAlgorithm.from_jwk(json.dumps(key))
        return jwt_token_extractor._OpenIdConfig(public_key, key.get("endorsements", []))

    original_validate = extractor_class._validate_token

    async def _validate_token(self: Any, jwt_token: str, channel_id: str,
                              required_endorsements: list[str] | None = None) -> Any:
        check_cheap_claims(jwt_token, self.validation_parameters)
        return await original_validate(self, jwt_token, channel_id, required_endorsements)

    metadata_class._refresh = _refresh
    metadata_class.get = get
    metadata_class._find = _find
    extractor_class._validate_token = _validate_token
    metadata_class._partner_atlas_patched = True


async def channel_authenticated(request: web.Request, authentication: Any, local_mode: bool) -> bool:
    """Whether the request carries a valid Bot Framework token for this bot (never in local mode).
    `authentication`: the adapter's BotFrameworkAuthentication, which checks it as for POST /api/messages."""
    import jwt
    from botbuilder.schema import Activity

    header = request.headers.get("Authorization", "")
    if local_mode or not header.startswith("Bearer "):
        return False
    try:
        claims = jwt.decode(header.removeprefix("Bearer ").strip(), options={"verify_signature": False})
        probe = Activity(channel_id="msteams", service_url=claims.get("serviceurl"))
        await authentication.authenticate_request(probe, header)
    except Exception as exc:        # noqa: BLE001 - any failure is "not authenticated"
        log.info("token refused (%s)", type(exc).__name__)
        return False
    return True
