"""Channel managers' buttons in a shared chat: everyone sees the read-only card, managers see their buttons.

A card with attach decisions, exports or a share confirmation that goes to a group chat or channel is kept
whole (with the buttons), while the message everyone sees is its read-only view. The card carries a
Universal Actions `refresh` whose `userIds` are the channel managers in the conversation (Teams allows
MAX_USER_IDS): their Teams clients ask for the card (an `adaptiveCard/action` invoke with REFRESH_VERB) and
get the whole card after the handler has checked the caller's groups; anyone else gets the read-only view
(a forged refresh from someone not on the list included). Pure functions over Adaptive Card JSON.
"""
from __future__ import annotations

import copy
from typing import Any

from dialogs.card_update import actions_in, drop_actions

Element = dict[str, Any]

REFRESH_VERB = "refresh"
MANAGER_VERBS = frozenset({"propose", "attach", "dismiss", "export", "share"})
MAX_USER_IDS = 60


def for_managers(card: Element, user_ids: list[str]) -> Element:
    """The whole card, refreshed for these users (their Teams ids, 29:…) into the view with their buttons."""
    card = copy.deepcopy(card)
    card["refresh"] = {"action": {"type": "Action.Execute", "title": "Refresh", "verb": REFRESH_VERB, "data": {}},
                       "userIds": list(dict.fromkeys(user_ids))[:MAX_USER_IDS]}
    return card


def _is_manager_button(e: Element) -> bool:
    return e.get("type") == "Action.Execute" and e.get("verb") in MANAGER_VERBS


def has_manager_buttons(card: Element) -> bool:
    return any(_is_manager_button(a) for a in actions_in(card))


def is_for_managers(card: object) -> bool:
    refresh = card.get("refresh") if isinstance(card, dict) else None
    action = refresh.get("action") if isinstance(refresh, dict) else None
    return isinstance(action, dict) and action.get("verb") == REFRESH_VERB


def read_only(card: Element) -> Element:
    """The card without the managers' buttons (and the reason boxes that only served them)."""
    def emptied(e: Element) -> bool:         # a Propose / Dismiss box whose button went
        return e.get("type") == "Action.ShowCard" and \
            not any(a.get("type") != "Action.ShowCard" for a in actions_in(e.get("card")))

    view = copy.deepcopy(card)
    refresh = view.pop("refresh", None)
    view = drop_actions(drop_actions(view, _is_manager_button), emptied)
    if refresh is not None:
        view["refresh"] = refresh
    return view
