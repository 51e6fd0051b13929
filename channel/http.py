"""The Bot Framework protocol over HTTP: an activity read from a request body, authenticated, its turn run and
its result written as the HTTP response. app/endpoint.py decides the order and the status codes.

POST /api/messages does not go through `CloudAdapter.process`, because botbuilder 4.17.1 gets two things
wrong there (see ../shared/stack-notes.md):
- deliveryMode "expectReplies": the adapter serialises ExpectedReplies to a dict and `process`
  serialises it again → 500 (microsoft/botbuilder-python#2156). `invoke_response_to_http` passes an
  already-serialised body through.
- authentication failures other than PermissionError (a malformed token, any Authorization header
  while auth is disabled) → 500. `authenticate` runs before the turn, so the endpoint answers every
  failure with 401 (or 503 when `is_upstream_failure`: the identity provider could not be reached).
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from botbuilder.core import InvokeResponse, TurnContext, serializer_helper
from botbuilder.schema import Activity, DeliveryModes
from msrest.exceptions import ClientRequestError, HttpOperationError
from msrest.serialization import Model

if TYPE_CHECKING:
    from botbuilder.integration.aiohttp import CloudAdapter


class NotAnActivityError(ValueError):
    """A JSON object with a type that the SDK cannot read as an activity."""


def read_activity(body: dict[str, Any]) -> Activity:
    """The activity in a request's JSON body (already checked to be an object with a `type`)."""
    try:
        return Activity().deserialize(body)
    except Exception as exc:
        raise NotAnActivityError("request body is not a valid activity") from exc


def expects_replies(activity: Activity) -> bool:
    """deliveryMode "expectReplies": the replies go back in the HTTP response, not to the connector."""
    return bool(activity.delivery_mode == DeliveryModes.expect_replies)


async def authenticate(adapter: CloudAdapter, activity: Activity, auth_header: str) -> Any:
    """The request's identity (the SDK's AuthenticateRequestResult); raises when the token is refused."""
    return await adapter.bot_framework_authentication.authenticate_request(activity, auth_header)


async def run_turn(adapter: CloudAdapter, authenticated: Any, activity: Activity,
                   on_turn: Callable[[TurnContext], Awaitable[Any]]) -> InvokeResponse | None:
    """Run the activity's turn on the adapter: its InvokeResponse (expectReplies, invokes) or None."""
    return await adapter.process_activity(authenticated, activity, on_turn)


def invoke_response_to_http(invoke_response: InvokeResponse | None) -> web.Response:
    """The HTTP response for a turn's InvokeResponse — the shim for botbuilder-python#2156.

    4.17.1 puts an already-serialised dict in the body for expectReplies (and the bot may put a dict
    there for invokes); only msrest models still need serialising.
    """
    if invoke_response is None:
        return web.Response(status=200)
    body = invoke_response.body
    if isinstance(body, Model):
        body = serializer_helper(body)
    status = int(invoke_response.status or 200)
    if body is None:
        return web.Response(status=status)
    return web.json_response(body, status=status)


def is_upstream_failure(exc: BaseException) -> bool:
    """The connector (serviceUrl) or the identity provider could not be reached or refused the call."""
    if isinstance(exc, PermissionError):     # an OSError, but botbuilder's "unauthorized"
        return False
    return isinstance(exc, (aiohttp.ClientError, ClientRequestError, HttpOperationError, OSError,
                            asyncio.TimeoutError))
