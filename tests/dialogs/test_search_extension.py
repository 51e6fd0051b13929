"""The Find partner message extension over the real HTTP endpoint with the real engine: a search from the
compose box returns partner cards built by the same understanding and ranking as chat, in every scope,
and never pipeline, referral or confidential content, even for a channel manager."""
from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from dialogs import render
from tests.dialogs.fakes import teams_activity
from tests.factories import ECM, MARKER, SELLER
from tests.support.cards import assert_valid_card, text_of
from tests.support.served import Served

SCOPES = {"personal": {"conversationType": "personal"},
          "groupChat": {"conversationType": "groupChat", "isGroup": True},
          "channel": {"conversationType": "channel", "isGroup": True}}


async def search(served: Served, text: str, *, user: str = SELLER, scope: str = "channel",
                 count: int = 25, value: Any = None) -> tuple[int, dict[str, Any]]:
    """Teams' composeExtension/query invoke for the Find partner command (the recorded payload, our command)."""
    payload = teams_activity("invoke_compose_extension_query.json", id=f"f:{uuid.uuid4()}")
    payload["from"] = {**payload["from"], "aadObjectId": user}
    payload["conversation"] = {"id": f"conv-{scope}", "tenantId": payload["conversation"]["tenantId"], **SCOPES[scope]}
    payload["value"] = value if value is not None else {
        "commandId": "findPartner", "parameters": [{"name": "query", "value": text}],
        "queryOptions": {"skip": 0, "count": count}}
    response = await served.client.post("/api/messages", json=payload)
    body = await response.json() if response.content_type == "application/json" else {}
    return response.status, body


def names(body: dict[str, Any]) -> list[str]:
    return [a["preview"]["content"]["title"] for a in body["composeExtension"]["attachments"]]


@pytest.mark.parametrize("scope", list(SCOPES))
async def test_a_search_returns_partner_cards_ranked_as_in_chat(served: Served, scope: str) -> None:
    status, body = await search(served, "AKS Germany retail", scope=scope)
    assert status == 200 and body["composeExtension"]["type"] == "result"
    found = names(body)
    # the same ranking as the question in a chat (a seller, in a channel, sees the same public evidence)
    chat = text_of(await served.say("Who can do AKS for a retail customer in Germany?", user=SELLER))
    in_chat = sorted(found, key=chat.find)
    assert found == in_chat and found[0] == "Alpha Cloud"
    first = body["composeExtension"]["attachments"][0]
    assert first["preview"]["contentType"] == "application/vnd.microsoft.card.thumbnail"
    assert first["preview"]["content"]["text"]                                     # the one-line why
    card = first["content"]
    assert first["contentType"] == render.ADAPTIVE_CARD_CONTENT_TYPE
    assert_valid_card(card)
    texts = [b["text"] for b in card["body"]]
    assert texts[0] == "Alpha Cloud" and texts[1] == first["preview"]["content"]["text"]
    assert "Contact: Ana Ito · pdm-P-1@example.com" in texts
    assert any(t.startswith("Sources: ") and "partners/P-1.yaml" in t for t in texts)
    assert "score" not in json.dumps(card).lower()


async def test_results_page_as_teams_asks(served: Served) -> None:
    _, everything = await search(served, "AKS Germany")
    _, one = await search(served, "AKS Germany", count=1)
    assert names(one) == names(everything)[:1] and len(names(everything)) > 1


@pytest.mark.parametrize("user", [SELLER, ECM])
@pytest.mark.parametrize("scope", list(SCOPES))
@pytest.mark.parametrize("text", ["AKS Germany retail", "Suggest partners for OPP-100",
                                  "Which of my opportunities have no partner attached?", "OPP-100",
                                  "referrals for Alpha Cloud", "stale co-sell referrals", "Beta Systems",
                                  "customer wins for Alpha Cloud", "coverage gaps"])
async def test_no_pipeline_referral_or_confidential_content_even_for_a_channel_manager(
        served: Served, user: str, scope: str, text: str) -> None:
    status, body = await search(served, text, user=user, scope=scope)
    assert status == 200
    raw = json.dumps(body)
    for secret in ("OPP-1", "REF-9", MARKER, "Account OPP", "Fabrikam Stale", "Northwind Secret", "performance review",
                   "seller1@example.com"):
        assert secret not in raw, (text, secret)


async def test_an_empty_search_asks_for_a_workload_and_a_malformed_one_is_a_400(served: Served) -> None:
    status, body = await search(served, "   ")
    assert status == 200
    assert body == {"composeExtension": {"type": "message", "text": render.messages()["search_prompt"]}}
    status, _ = await search(served, "", value={"commandId": "somethingElse", "parameters": []})
    assert status == 400
    status, _ = await search(served, "", value=["not", "an", "object"])
    assert status == 400


async def test_nothing_matching_says_so_without_naming_a_partner(served: Served) -> None:
    status, body = await search(served, "quantum teleportation in narnia")
    assert status == 200 and body["composeExtension"]["type"] == "message"
    assert not any(name in body["composeExtension"]["text"] for name in ("Alpha Cloud", "Beta Systems"))
