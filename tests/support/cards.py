"""Reading the bot's replies as a Teams user sees them: message text, Adaptive Cards and their buttons,
and every card checked against the Adaptive Card 1.5 schema."""
from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema

from dialogs import render
from tests.dialogs import fakes

ADAPTIVE = render.ADAPTIVE_CARD_CONTENT_TYPE


@cache
def card_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(fakes.ADAPTIVE_CARD_SCHEMA.read_text(encoding="utf-8"))
    assert schema["$schema"].startswith("http://json-schema.org/draft-06")
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def assert_valid_card(card: dict[str, Any]) -> None:
    errors = sorted(card_validator().iter_errors(card), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])
    assert card["version"] == "1.5"


def card_of(activities: list[dict[str, Any]]) -> dict[str, Any]:
    [activity] = [a for a in activities if a.get("attachments")]
    [attachment] = activity["attachments"]
    assert attachment["contentType"] == ADAPTIVE
    return dict(attachment["content"])


def every(node: Any, kind: str) -> list[dict[str, Any]]:
    """Every element (or action) of a type anywhere in a card."""
    if isinstance(node, dict):
        own = [node] if node.get("type") == kind else []
        return own + [x for value in node.values() for x in every(value, kind)]
    if isinstance(node, list):
        return [x for item in node for x in every(item, kind)]
    return []


def submits(card: dict[str, Any], what: str) -> list[dict[str, Any]]:
    """The data of the card's buttons for `what`: Universal Actions now, and what older cards posted as a
    submit is the same data (the tests post it as a message value: cards already in chats keep working)."""
    return [a["data"] for kind in ("Action.Execute", "Action.Submit") for a in every(card, kind)
            if a.get("data", {}).get("partnerAtlas") == what]


def text_of(activities: list[dict[str, Any]]) -> str:
    return "\n".join([a.get("text") or "" for a in activities] +
                     [b["text"] for a in activities for b in every(a.get("attachments") or [], "TextBlock")])


def suggested_partner_ids(card: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(d["partnerId"] for d in submits(card, "attach")))


def texts(activities: list[dict[str, Any]]) -> str:
    """What a Teams user reads: the message text and the text blocks of its card."""
    def blocks(node: Any) -> list[str]:
        if isinstance(node, dict):
            own = [node["text"]] if node.get("type") == "TextBlock" and isinstance(node.get("text"), str) else []
            return own + [t for key, value in node.items() if key != "fallbackText" for t in blocks(value)]
        if isinstance(node, list):
            return [t for item in node for t in blocks(item)]
        return []
    out = []
    for activity in activities:
        if activity.get("type") == "message":
            out.append(activity.get("text") or "")
            out += [t for attachment in activity.get("attachments") or [] for t in blocks(attachment.get("content"))]
    return "\n".join(out)
