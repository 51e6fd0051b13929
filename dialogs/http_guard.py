"""What the HTTP server refuses before any turn runs: slow clients, too many connections, and, in local
(unauthenticated) mode, service URLs and Host names that are not this machine.

Slow clients. aiohttp's defaults keep a connection that never finishes its request head for an hour and
read a body with no deadline, so a few dozen clients sending a byte at a time hold the server's sockets
forever. Here:
- the request head must arrive within `header_timeout` of connecting (or of the previous response on a
  kept-alive connection): aiohttp's keep-alive timer, which closes a connection whose handler still waits
  for a complete head, is set to that bound;
- the body must arrive within `body_timeout` (`read_body`, used by POST /api/messages): else 408 and the
  connection is closed (what is still unread is drained for at most `LINGER_SECONDS`);
- at most `max_connections` are open at once: one more is answered 503 and closed at once.

Local mode. Without an app id nothing is authenticated, so the only protection is that nothing but this
machine can reach the bot or be reached by it:
- a `serviceUrl` is where replies, roster look-ups and (after `subscribe`) the daily digest go: only a
  loopback URL is accepted, else any page could make the bot post answers to a URL it chooses;
- the Host header must name this machine (loopback), or be an IP address or the PUBLIC_BASE_URL host
  when a public bind was allowed: a DNS-rebinding page in a browser on the same machine sends its own
  domain name, and is refused.
With credentials neither applies: the token's `serviceurl` claim must match the activity (botbuilder).
"""
from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger(__name__)

LINGER_SECONDS = 2.0
_BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: 33\r\n"
         b"Retry-After: 1\r\nConnection: close\r\n\r\n{\"error\": \"too many connections\"}")


class BodyTimeoutError(Exception):
    """The request body did not arrive within the body timeout."""


@dataclass(frozen=True)
class ServerLimits:
    header_timeout: float = 10.0      # seconds to send a complete request head
    body_timeout: float = 20.0        # seconds to send the whole body
    max_connections: int = 256        # open at once

    def runner_options(self) -> dict[str, float]:
        """Keyword arguments for aiohttp's AppRunner (its request handler's)."""
        return {"keepalive_timeout": self.header_timeout, "lingering_time": min(LINGER_SECONDS, self.body_timeout)}


async def read_body(request: web.Request, timeout: float) -> bytes:
    """The whole body, or BodyTimeoutError when it has not arrived after `timeout` seconds."""
    try:
        async with asyncio.timeout(timeout):
            return await request.read()
    except TimeoutError:
        raise BodyTimeoutError(f"request body not received within {timeout:g}s") from None


def limit_connections(server: object, limit: int) -> None:
    """Answer 503 and close a connection that would be number `limit + 1` (`server`: aiohttp's web.Server)."""
    made = server.connection_made            # type: ignore[attr-defined]

    def connection_made(handler: object, transport: asyncio.Transport) -> None:
        made(handler, transport)
        if len(server.connections) > limit:  # type: ignore[attr-defined]
            log.warning("connection refused: %d connections are open (MAX_CONNECTIONS)", limit)
            transport.write(_BUSY)
            handler.force_close()            # type: ignore[attr-defined]  # closes the transport after the write

    server.connection_made = connection_made   # type: ignore[attr-defined]


# --------------------------------------------------------------------------- loopback (local mode)
def is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1 (brackets allowed)."""
    host = host.strip().rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str | None) -> bool:
    """An http(s) URL whose host is loopback, with no user name or password in it."""
    try:
        parts = urlsplit((url or "").strip())
        hostname = parts.hostname
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(hostname) and "@" not in parts.netloc \
        and is_loopback(hostname or "")


def _host_name(header: str) -> str | None:
    """The host part of a Host header ("[::1]:3978" → "::1"), or None when it is malformed."""
    try:
        return urlsplit(f"http://{header.strip()}").hostname
    except ValueError:
        return None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def host_allowed(header: str | None, *, public: bool, extra_hosts: Iterable[str] = ()) -> bool:
    """Whether a local-mode server answers a request with this Host header (None: no header, not a browser).

    Loopback names always; with a public bind (`public`) also IP addresses and `extra_hosts`.
    """
    if header is None:
        return True
    host = _host_name(header)
    if not host:
        return False
    if is_loopback(host):
        return True
    return public and (_is_ip(host) or host in {h.lower() for h in extra_hosts if h})


Handler = Callable[["web.Request"], Awaitable["web.StreamResponse"]]


def host_check_middleware(*, public: bool, extra_hosts: Iterable[str] = ()) -> Callable[..., Awaitable[web.StreamResponse]]:
    """An aiohttp middleware refusing (403) a request whose Host is not allowed (see host_allowed)."""
    from aiohttp import web

    hosts = tuple(extra_hosts)

    @web.middleware
    async def check_host(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not host_allowed(request.headers.get("Host"), public=public, extra_hosts=hosts):
            log.info("request refused: Host header is not this machine (local mode)")
            return web.json_response({"error": "Host not allowed in local mode"}, status=403)
        return await handler(request)

    return check_host


def trusted_peer(request: web.Request) -> bool:
    """The request comes from this machine: its socket peer is loopback and it was not forwarded for someone
    else (a reverse proxy on the same machine adds Forwarded or X-Forwarded-For)."""
    forwarded = "Forwarded" in request.headers or "X-Forwarded-For" in request.headers
    return is_loopback(request.remote or "") and not forwarded
