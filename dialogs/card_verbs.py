"""Universal Actions: one table maps each card verb to its handler, for invokes and older submits alike.

A button press arrives as an `adaptiveCard/action` invoke (`Action.Execute`: verb + data) or, from a
card posted before Universal Actions, as a message whose `value` is the same data (`Action.Submit`).
Both go through `VERBS`. Every handler checks the caller's rights itself (a card payload is user input):
feedback only from someone who was shown the answer (FeedbackStore), decisions, exports and shares only
from a channel manager where everyone may see the pipeline (ChannelManagerActions, and the engine again).
A refused or malformed press changes nothing and says why. `refresh` (Teams asks for a room's card for
the users in its `userIds`) answers the card with the managers' buttons only to a caller who may use them.

An invoke answers with the pressed card rewritten in place (dialogs/card_update.py): the rendered cards
are remembered by id (`CardMemory`, stamped into every Execute's data when the reply is sent), in the bot's
database, so a press works on any instance and after a restart. A card no longer remembered (older than
storage/cards.py's TTL) gets the result as a message instead.
"""
from __future__ import annotations

import asyncio
import copy
import logging
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from dialogs import card_update, manager_buttons, render, render_referrals
from dialogs.card_actions import FEEDBACK_KEY, Outcome
from dialogs.turn import Turn
from storage.cards import SentCards

log = logging.getLogger(__name__)

CARD_ID = "cardId"
MAX_CARDS = 2_000
CARD_TYPE = "application/vnd.microsoft.card.adaptive"
MESSAGE_TYPE = "application/vnd.microsoft.activity.message"

Handler = Callable[[Turn, dict[str, Any]], Awaitable[Outcome | None]]


class CardMemory:
    """The cards the bot sent with Execute buttons, by id, so a press can rewrite its own card.

    With the bot's database (`SentCards`) every instance sees every card, and a restart forgets none;
    without one (tests, `bot.py ask`) the last MAX_CARDS cards of this process are kept in memory.
    """

    def __init__(self, size: int = MAX_CARDS, *, store: SentCards | None = None) -> None:
        self._cards: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._size = size
        self._store = store

    async def remember(self, cards: list[dict[str, Any]]) -> None:
        """Give each card being sent an id (in its Execute buttons' data, changed in place) and keep it."""
        stamped: dict[str, dict[str, Any]] = {}
        for card in cards:
            if not isinstance(card, dict) or not _executes(card):
                continue
            card_id = uuid.uuid4().hex
            for action in _executes(card):
                action["data"] = {**action.get("data", {}), CARD_ID: card_id}
            stamped[card_id] = copy.deepcopy(card)
            if manager_buttons.is_for_managers(card):
                # a room's message is the read-only view; the managers' clients refresh it into the whole card
                view = manager_buttons.read_only(card)
                card.clear()
                card.update(view)
        await self._save(stamped)

    async def put(self, card_id: str, card: dict[str, Any]) -> None:
        await self._save({card_id: copy.deepcopy(card)})

    async def get(self, card_id: object) -> dict[str, Any] | None:
        if not isinstance(card_id, str):
            return None
        if self._store is not None:
            return await asyncio.to_thread(self._store.load, card_id)
        return copy.deepcopy(self._cards[card_id]) if card_id in self._cards else None

    async def _save(self, cards: dict[str, dict[str, Any]]) -> None:
        if not cards:
            return
        if self._store is not None:
            await asyncio.to_thread(self._store.save, cards)
            return
        for card_id, card in cards.items():
            self._cards[card_id] = card
            self._cards.move_to_end(card_id)
        while len(self._cards) > self._size:
            self._cards.popitem(last=False)


def _executes(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in card_update.actions_in(card) if a.get("type") == "Action.Execute"]


@dataclass
class Press:
    verb: str
    data: dict[str, Any]


def press_of(value: object, submit_keys: dict[str, str] | None = None) -> Press | None:
    """The verb and data of an invoke's `value` ({"action": {"type": "Action.Execute", "verb", "data"}})
    or of an older submit's `value` (the data alone: its FEEDBACK_KEY names the verb, or one of
    `submit_keys` — a key another flow's buttons carry → its verb)."""
    if not isinstance(value, dict):
        return None
    action = value.get("action")
    if isinstance(action, dict):
        verb, data = action.get("verb"), action.get("data")
        if not isinstance(verb, str) or not isinstance(data, dict):
            return None
        return Press(verb, data)
    kind = value.get(FEEDBACK_KEY)
    if kind == "attach":
        verb = value.get("action")
        return Press(verb, value) if isinstance(verb, str) else None
    if isinstance(kind, str):
        return Press(kind, value)
    for key, verb in (submit_keys or {}).items():
        if key in value:
            return Press(verb, value)
    return None


class CardVerbs:
    """The verb table and the two ways a press arrives."""

    def __init__(self, *, feedback: Callable[[Turn, str, str], Awaitable[Outcome]] | None,
                 actions: Any = None, memory: CardMemory | None = None) -> None:
        self.memory = memory or CardMemory()
        self._feedback = feedback
        self._actions = actions
        self.verbs: dict[str, Handler] = {"feedback": self._rate}
        self.submit_keys: dict[str, str] = {}
        if actions is not None:
            self.verbs.update({"propose": self._decide, "attach": self._decide, "dismiss": self._decide,
                               "export": self._export, "share": self._share})

    def add(self, verb: str, handler: Handler, *, submit_key: str) -> None:
        """Another flow's buttons (quiz answers, the gaps and session exports): its handler checks the caller.
        `submit_key`: the key of their data, by which an older card's submit is known."""
        self.verbs[verb] = handler
        self.submit_keys[submit_key] = verb

    def press_of(self, value: object) -> Press | None:
        return press_of(value, self.submit_keys)

    # ------------------------------------------------------------------ handlers (each checks the caller)
    async def _rate(self, turn: Turn, data: dict[str, Any]) -> Outcome | None:
        rated = render.feedback_of(data)
        if rated is None or self._feedback is None:
            return None
        return await self._feedback(turn, *rated)

    async def _decide(self, turn: Turn, data: dict[str, Any]) -> Outcome | None:
        request = render.decision_of(data)
        return None if request is None else await self._actions.decision(turn, request)

    async def _export(self, turn: Turn, data: dict[str, Any]) -> Outcome | None:
        request = render.export_of(data)
        return None if request is None else await self._actions.export(turn, request)

    async def _share(self, turn: Turn, data: dict[str, Any]) -> Outcome | None:
        request = render_referrals.share_of(data)
        return None if request is None else await self._actions.share(turn, request)

    # ------------------------------------------------------------------ entry points
    async def run(self, turn: Turn, press: Press) -> Outcome | None:
        handler = self.verbs.get(press.verb)
        if handler is None:
            return None
        if press.verb in ("propose", "attach", "dismiss") and press.data.get("action") != press.verb:
            return None                         # a verb that disagrees with its data: forged or broken
        return await handler(turn, press.data)

    async def on_invoke(self, turn: Turn) -> dict[str, Any]:
        """An `adaptiveCard/action` invoke: the body Teams expects (the updated card, or a message)."""
        press = self.press_of(turn.value)
        if press is not None and press.verb == manager_buttons.REFRESH_VERB:
            return await self._refresh(turn, press)
        outcome = await self.run(turn, press) if press is not None else None
        if press is None or outcome is None:
            log.info("card action not understood (verb %r)", press.verb if press else None)
            return _message(str(render.messages()["card_action_unknown"]))
        card = await self.memory.get(press.data.get(CARD_ID))
        log.info("card action %s %s", press.verb, "refused" if outcome.refused else "done")
        if outcome.update is None or card is None:
            return _message(outcome.text or str(render.messages()["card_action_done"]))
        updated = outcome.update(card)
        await self.memory.put(str(press.data[CARD_ID]), updated)
        return {"statusCode": 200, "type": CARD_TYPE, "value": updated}

    async def _refresh(self, turn: Turn, press: Press) -> dict[str, Any]:
        """A Teams client asks for a room's card: the whole card for a channel manager whom everyone in the
        room lets see the pipeline (checked here, whatever the card's userIds said), else the read-only view."""
        card = await self.memory.get(press.data.get(CARD_ID))
        if card is None:
            return _message(str(render.messages()["card_action_unknown"]))
        allowed = self._actions is not None and await self._actions.may_manage(turn)
        log.info("card refresh: %s", "the managers' view" if allowed else "read-only")
        return {"statusCode": 200, "type": CARD_TYPE, "value": card if allowed else manager_buttons.read_only(card)}


def _message(text: str) -> dict[str, Any]:
    return {"statusCode": 200, "type": MESSAGE_TYPE, "value": text}


def thank_update(text: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda card: card_update.thanked(card, text)
