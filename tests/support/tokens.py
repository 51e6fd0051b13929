"""A local Bot Framework identity provider for tests: RS256 keys, a JWKS and signed channel tokens.

`install` fills botbuilder's OpenID key cache (`JwtTokenExtractor.metadataCache`) for the channel and the
emulator metadata URLs, so token validation runs the SDK's real code path with our keys and never
fetches anything; a refresh attempt fails the test instead of reaching the network.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import jwt
import pytest
from botframework.connector.auth import jwt_token_extractor
from botframework.connector.auth.authentication_constants import AuthenticationConstants
from botframework.connector.auth.government_constants import GovernmentConstants
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

CHANNEL_ISSUER = AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER   # "https://api.botframework.com"
METADATA_URLS = (
    AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL,
    AuthenticationConstants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL,
    GovernmentConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL,
    GovernmentConstants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL,
)


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: rsa.RSAPrivateKey, kid: str, endorsements: list[str]) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "use": "sig", "alg": "RS256", "endorsements": endorsements}


@dataclass
class IdentityProvider:
    """Signing keys whose public halves are what the SDK's key cache holds."""

    key: rsa.RSAPrivateKey = field(default_factory=new_key)
    kid: str = "atlas-test-key-1"
    endorsements: tuple[str, ...] = ("msteams", "webchat", "emulator")
    other_keys: dict[str, tuple[rsa.RSAPrivateKey, tuple[str, ...]]] = field(default_factory=dict)
    refresh_attempts: list[str] = field(default_factory=list)

    def jwks(self) -> list[dict[str, Any]]:
        keys = [public_jwk(self.key, self.kid, list(self.endorsements))]
        keys += [public_jwk(k, kid, list(e)) for kid, (k, e) in self.other_keys.items()]
        return keys

    def add_key(self, kid: str, endorsements: tuple[str, ...]) -> rsa.RSAPrivateKey:
        key = new_key()
        self.other_keys[kid] = (key, endorsements)
        return key

    def claims(self, *, app_id: str, service_url: str, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {"iss": CHANNEL_ISSUER, "aud": app_id, "serviceurl": service_url,
                                  "nbf": now - 60, "iat": now - 60, "exp": now + 3600, "jti": str(uuid.uuid4())}
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, claims: dict[str, Any], *, key: rsa.RSAPrivateKey | None = None, kid: str | None = "",
              algorithm: str = "RS256") -> str:
        headers = {"kid": self.kid if kid == "" else kid} if kid is not None else {}
        return jwt.encode(claims, key or self.key, algorithm=algorithm, headers=headers)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for url in METADATA_URLS:
            metadata = jwt_token_extractor._OpenIdMetadata(url)
            metadata.keys = self.jwks()
            metadata.last_updated = datetime.now()
            monkeypatch.setitem(jwt_token_extractor.JwtTokenExtractor.metadataCache, url, metadata)

        def no_network(url: str, *_: Any, **__: Any) -> Any:
            self.refresh_attempts.append(url)
            raise AssertionError(f"the test tried to fetch {url}")

        monkeypatch.setattr(jwt_token_extractor.requests, "get", no_network)


def b64(data: dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unsigned_token(claims: dict[str, Any], kid: str) -> str:
    """alg "none": a header and claims with an empty signature."""
    return f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{b64(claims)}."


def hs256_with_public_key(idp: IdentityProvider, claims: dict[str, Any]) -> str:
    """The classic algorithm-confusion forgery: HMAC-SHA256 keyed with the RSA public key's PEM."""
    secret = idp.key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT', 'kid': idp.kid})}.{b64(claims)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"
