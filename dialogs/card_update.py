"""Pressed cards, rewritten in place: the press's result replaces its buttons, the rest stays as it was.

Pure functions over Adaptive Card JSON (a copy is changed, never the remembered original).
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from dialogs.card_actions import decision_element_id
from dialogs.render_card import styled

Element = dict[str, Any]


def replace_elements(node: Any, match: Callable[[Element], bool], make: Callable[[Element], Element | None]) -> Any:
    """The tree with every element that matches replaced by make(element) (None drops it)."""
    if isinstance(node, list):
        out = []
        for item in node:
            if isinstance(item, dict) and match(item):
                new = make(item)
                if new is not None:
                    out.append(new)
            else:
                out.append(replace_elements(item, match, make))
        return out
    if isinstance(node, dict):
        return {k: replace_elements(v, match, make) for k, v in node.items()}
    return node


def actions_in(node: Any) -> list[Element]:
    """Every action anywhere in a card (button rows, show-cards' cards, the refresh), in order."""
    if isinstance(node, dict):
        own = [node] if str(node.get("type", "")).startswith("Action.") else []
        return own + [a for value in node.values() for a in actions_in(value)]
    if isinstance(node, list):
        return [a for item in node for a in actions_in(item)]
    return []


def drop_actions(card: Element, match: Callable[[Element], bool]) -> Element:
    """The card without the actions that match (an ActionSet left empty goes too)."""
    card = replace_elements(card, lambda e: str(e.get("type", "")).startswith("Action.") and match(e), lambda _: None)
    card = replace_elements(card, lambda e: e.get("type") == "ActionSet" and not e.get("actions"), lambda _: None)
    if "actions" in card and not card["actions"]:
        del card["actions"]
    return card


def _executes_of(verbs: set[str]) -> Callable[[Element], bool]:
    return lambda action: action.get("type") == "Action.Execute" and action.get("verb") in verbs


def thanked(card: Element, thanks: str) -> Element:
    """👍 / 👎 replaced by the thank-you, on the same card."""
    card = drop_actions(copy.deepcopy(card), _executes_of({"feedback"}))
    card["body"] = [*card.get("body", []), styled("thanks", thanks)]
    return card


def decided(card: Element, partner_id: str, line: str) -> Element:
    """A partner's Propose / Mark attached / Dismiss replaced by who decided what, when."""
    target = decision_element_id(partner_id)
    return replace_elements(copy.deepcopy(card), lambda e: e.get("id") == target,
                    lambda _: styled("decided", line, id=target))


def confirmed(card: Element, line: str) -> Element:
    """Confirm share replaced by what was shared (and where the import row is)."""
    card = drop_actions(copy.deepcopy(card), _executes_of({"share"}))
    card["body"] = [*card.get("body", []), styled("decided", line)]
    return card


def noted(card: Element, line: str, note_id: str = "export-note") -> Element:
    """A note under the card (an export's download link): the buttons stay, a later press replaces the note."""
    card = copy.deepcopy(card)
    note = styled("decided", line, id=note_id)
    body = card.get("body", [])
    if any(isinstance(e, dict) and e.get("id") == note_id for e in body):
        card["body"] = [note if isinstance(e, dict) and e.get("id") == note_id else e for e in body]
    else:
        card["body"] = [*body, note]
    return card


def answered(card: Element, verb: str, line: str) -> Element:
    """The buttons of this verb replaced by the answer given (a quiz question: one answer each)."""
    card = drop_actions(copy.deepcopy(card), _executes_of({verb}))
    card["body"] = [*card.get("body", []), styled("decided", line)]
    return card
