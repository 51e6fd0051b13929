"""Text that is not text, over the real HTTP endpoint: lone surrogates, NULs and control characters.

A JSON body may carry "\\ud800" (a lone UTF-16 surrogate): json.loads turns it into a str that SQLite,
the JSON encoder of the reply and the connector all refuse, so every such turn ended in the apology.
The endpoint cleans every inbound string once (dialogs/teams.py `clean_inbound`): the message text, card
submit values, names. The question is answered and recorded, and its answer can be rated.
"""
from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from dialogs import render
from tests.dialogs.fakes import FakeEngine
from tests.support.server import Bot, Connector, message, messages_of, start_bot

SELLER = "00000000-0000-0000-0000-00000000c777"


@pytest.fixture
async def local_bot(connector: Connector) -> AsyncIterator[Bot]:
    client, running = await start_bot(connector, FakeEngine())
    try:
        yield running
    finally:
        await client.close()


async def _post_raw(running: Bot, payload: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
    # json.dumps escapes a lone surrogate as \ud800, exactly what a client sends on the wire
    body = json.dumps(payload).encode("ascii")
    assert b"\\u" in body
    response = await running.client.post("/api/messages", data=body, headers={"Content-Type": "application/json"})
    data = await response.json() if response.content_type == "application/json" else {}
    return response.status, data.get("activities", []) if isinstance(data, dict) else []


def _answer_id(reply: dict[str, Any]) -> str:
    for action in reply["attachments"][0]["content"].get("actions", []):
        data = action.get("data") or {}
        if data.get(render.FEEDBACK_KEY) == "feedback":
            return str(data["answerId"])
    raise AssertionError("the answer card has no feedback buttons")


@pytest.mark.parametrize(("text", "asked"), [
    ("\ud800 AKS in Germany", "AKS in Germany"),
    ("Who can do AKS\udfff in Germany?", "Who can do AKS in Germany?"),
    ("Who can do AKS\x00 in\x1b Germany?\x7f", "Who can do AKS in Germany?"),
], ids=["leading lone high surrogate", "lone low surrogate", "NUL, ESC and DEL"])
async def test_a_message_with_broken_characters_is_answered_recorded_and_rateable(local_bot: Bot, text: str,
                                                                                   asked: str) -> None:
    status, activities = await _post_raw(local_bot, message(local_bot.connector, text, aad_object_id=SELLER))
    assert status == 200
    [reply] = messages_of(activities)
    assert reply["text"] != render.messages()["apology"]
    assert reply["attachments"][0]["content"]["type"] == "AdaptiveCard"
    assert local_bot.engine.questions == [asked]
    # the answer was stored (its id is on the card) and can be rated by the person who asked
    rating = message(local_bot.connector, "", aad_object_id=SELLER,
                     value={render.FEEDBACK_KEY: "feedback", "rating": "up", "answerId": _answer_id(reply)})
    status, activities = await _post_raw(local_bot, {**rating, "text": "\x00"})
    [thanks] = messages_of(activities)
    assert status == 200 and thanks["text"] == render.messages()["feedback_thanks_up"]


async def test_card_submit_values_and_names_are_cleaned_too(local_bot: Bot) -> None:
    payload = message(local_bot.connector, "", aad_object_id=SELLER, value={"question": "\udc00Who covers AKS\x00 in Germany?"})
    payload["from"] = {**payload["from"], "name": "Megan\ud800 Bowen\x07"}
    status, activities = await _post_raw(local_bot, payload)
    assert status == 200
    [reply] = messages_of(activities)
    assert reply["text"] != render.messages()["apology"]
    assert local_bot.engine.questions == ["Who covers AKS in Germany?"]
    assert local_bot.engine.users[0].name == "Megan Bowen"


async def test_tabs_line_breaks_and_real_emoji_are_kept(local_bot: Bot) -> None:
    status, activities = await _post_raw(local_bot, message(local_bot.connector, "AKS\tin Germany\n\U0001F600 \u00fc\x00",
                                                            aad_object_id=SELLER))
    assert status == 200 and messages_of(activities)
    assert local_bot.engine.questions == ["AKS in Germany\n\U0001F600 \u00fc"]
