"""The Bot Framework adapter the server runs its turns on, and what a turn does when it fails.

`create_adapter` is botbuilder's CloudAdapter as this bot needs it: authentication from the app's
credentials (ConfigurationBotFrameworkAuthentication), signing keys fetched off the event loop
(channel/auth.py), outgoing replies retried (channel/delivery.py), and in local mode replies posted only
to this machine. `make_turn_error_handler` logs a failed turn's trace and tells the user briefly.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import ConfigurationBotFrameworkAuthentication
from msrest.universal_http.requests import ClientRetryPolicy

from channel import auth
from channel.delivery import DeliveryUncertainError, ReliableCloudAdapter, RetryPolicy, Timing
from channel.turn import to_activity
from dialogs import http_guard, render

if TYPE_CHECKING:
    from channel.handler import PartnerBot

log = logging.getLogger(__name__)


def create_adapter(configuration: SimpleNamespace, *, policy: RetryPolicy, timing: Timing | None = None,
                   loopback_only: bool = False) -> ReliableCloudAdapter:
    """The adapter for `configuration` (APP_ID, APP_PASSWORD, APP_TYPE, APP_TENANTID: what the SDK reads).

    `loopback_only` (local mode, unauthenticated): post only to this machine, whatever a request or an old
    subscription names. The adapter's `on_turn_error` is the caller's to set, once the bot exists.
    """
    speed_up_msrest_retry_policy()
    auth.install()      # signing keys cached, fetched off the event loop, never for a forged token
    return ReliableCloudAdapter(ConfigurationBotFrameworkAuthentication(configuration), timing=timing, policy=policy,
                                service_url_allowed=http_guard.is_loopback_url if loopback_only else None)


def make_turn_error_handler(bot: PartnerBot | None = None) -> Callable[[TurnContext, Exception], Any]:
    """Log the trace, reset the conversation's state, tell the user briefly; the trace never reaches the conversation."""
    async def on_turn_error(context: TurnContext, error: Exception) -> None:
        if isinstance(error, DeliveryUncertainError):
            # the reply may have arrived: no apology (a second message), no redelivery (the turn ends normally)
            log.error("a reply's delivery is uncertain (%s): the turn ends without retrying it", error)
            return
        log.error("unhandled error in a turn", exc_info=error)
        if bot is not None:
            try:
                await bot.reset(context)
            except Exception:
                log.exception("could not reset the conversation state after the error")
        try:
            await context.send_activity(to_activity(render.text_activity(render.messages()["apology"])))
        except Exception:
            log.exception("could not send the apology either")
            raise error from None

    return on_turn_error


def speed_up_msrest_retry_policy() -> bool:
    """Make msrest's `ClientRetryPolicy()` cost 0.1 ms instead of ~9 ms of event-loop CPU; same retry codes.

    CloudAdapter builds a ConnectorClient and a UserTokenClient for every turn, each with a fresh
    `ClientRetryPolicy`, whose __init__ tests `i not in safe_codes` for i < 999 against a 501-item *list*:
    ~500k comparisons, measured at 27 % of the server's CPU under the soak load (bench/SOAK.md). The same
    codes as a frozenset give the same `status_forcelist`. Returns whether it changed anything (idempotent;
    a later msrest without the list is left alone).
    """
    if isinstance(ClientRetryPolicy.safe_codes, list):
        ClientRetryPolicy.safe_codes = frozenset(ClientRetryPolicy.safe_codes)  # type: ignore[assignment]
        return True
    return False
