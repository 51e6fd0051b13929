"""Bot Framework signing keys fetched without stalling the server, and re-fetched when a key is new.

botbuilder 4.17.1's `_OpenIdMetadata` (botframework/connector/auth/jwt_token_extractor.py) has two
faults that matter in production:
- `_refresh` calls `requests.get` with no timeout on the event loop: once a day (and on the first
  request) every conversation waits for the identity endpoint, forever if it hangs;
- `_find` raises IndexError for a key id it does not hold, so its "unknown key: refresh, at most once
  an hour" branch never runs: after Microsoft rolls its signing keys every request is 401 until the
  daily refresh.
`install()` replaces both methods: the fetch runs in a thread with a timeout (a failure is the
endpoint's 503 "authentication service unreachable", see bot.py), concurrent refreshes share one
fetch, and an unknown key id returns None so the hourly refresh happens (then 401 if it is still unknown).
"""
from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)

FETCH_TIMEOUT_SECONDS = 10.0
_LOCKS: dict[int, asyncio.Lock] = {}


def _fetch_keys(url: str, timeout: float) -> list[dict[str, Any]]:
    import requests

    response = requests.get(url, timeout=timeout)
    response.raise_for_status()
    keys_url = response.json()["jwks_uri"]
    keys = requests.get(keys_url, timeout=timeout)
    keys.raise_for_status()
    found: list[dict[str, Any]] = keys.json()["keys"]
    return found


def install() -> None:
    """Patch botbuilder's OpenID key cache (idempotent); fetches time out after FETCH_TIMEOUT_SECONDS."""
    from botframework.connector.auth import jwt_token_extractor
    from jwt.algorithms import RSAAlgorithm

    metadata_class: Any = jwt_token_extractor._OpenIdMetadata
    if getattr(metadata_class, "_partner_atlas_patched", False):
        return

    async def _refresh(self: Any) -> None:
        lock = _LOCKS.setdefault(id(self), asyncio.Lock())
        started = self.last_updated
        async with lock:
            if self.last_updated != started:      # another request refreshed while we waited
                return
            keys = await asyncio.to_thread(_fetch_keys, self.url, FETCH_TIMEOUT_SECONDS)
            self.keys, self.last_updated = keys, datetime.now()
            log.info("Bot Framework signing keys refreshed: %d keys", len(keys))

    def _find(self: Any, key_id: str) -> Any:
        key = next((k for k in self.keys or [] if k.get("kid") == key_id), None)
        if key is None:
            return None
        public_key = RSAAlgorithm.from_jwk(json.dumps(key))
        return jwt_token_extractor._OpenIdConfig(public_key, key.get("endorsements", []))

    metadata_class._refresh = _refresh
    metadata_class._find = _find
    metadata_class._partner_atlas_patched = True
