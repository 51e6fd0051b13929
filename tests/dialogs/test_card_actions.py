"""Universal Actions over the real HTTP endpoint with the real engine: a press updates its card in place,
a forged press changes nothing and says so, and older Submit payloads still work."""
from __future__ import annotations

import json
from typing import Any

import pytest

from dialogs import render
from retrieval.decisions import DecisionStore
from tests.factories import ECM, SELLER
from tests.support.cards import assert_valid_card, card_of, every
from tests.support.served import Served, press, serve
from tests.support.server import Connector

CARD = "application/vnd.microsoft.card.adaptive"
MESSAGE = "application/vnd.microsoft.activity.message"


def executes(card: dict[str, Any], verb: str) -> list[dict[str, Any]]:
    return [a for a in every(card, "Action.Execute") if a["verb"] == verb]


def decisions(served: Served) -> list[Any]:
    return DecisionStore(served.data / "partner-atlas.db").all()


async def test_mark_attached_updates_the_suggestion_in_place_and_removes_its_buttons(served: Served) -> None:
    card = card_of(await served.say("Suggest partners for OPP-100"))
    [attach] = [a for a in executes(card, "attach") if a["data"]["partnerId"] == "P-1"]
    body = await press(served, attach)
    assert body["type"] == CARD
    updated = body["value"]
    assert_valid_card(updated)
    [line] = [b for b in every(updated, "TextBlock") if b.get("id") == "decide-P-1"]
    assert "Attached Alpha Cloud (Megan Bowen, " in line["text"] and " UTC — " in line["text"]   # who, when
    assert not [a for a in every(updated, "Action.Execute") if a["data"].get("partnerId") == "P-1"]
    # the other partners keep their buttons, and the rest of the card is as it was
    assert {a["data"]["partnerId"] for a in executes(updated, "propose")} == \
        {a["data"]["partnerId"] for a in executes(card, "propose")} - {"P-1"}
    assert [d.action for d in decisions(served)] == ["attach"]

    # a dismissal carries its reason (typed in the card) and also updates in place
    [dismiss] = [a for a in executes(updated, "dismiss") if a["data"]["partnerId"] == "P-2"]
    body = await press(served, dismiss, inputs={"reason_P-2": "No capacity before the close date"})
    [line] = [b for b in every(body["value"], "TextBlock") if b.get("id") == "decide-P-2"]
    assert "Dismissed Beta Systems" in line["text"] and line["text"].endswith("No capacity before the close date")
    assert [b for b in every(body["value"], "TextBlock") if b.get("id") == "decide-P-1"]    # the first stays done


async def test_a_press_updates_its_card_in_place_on_another_instance_and_after_a_restart(served: Served) -> None:
    card = card_of(await served.say("Suggest partners for OPP-100"))
    [attach] = [a for a in executes(card, "attach") if a["data"]["partnerId"] == "P-1"]
    [dismiss] = [a for a in executes(card, "dismiss") if a["data"]["partnerId"] == "P-2"]
    # a second server on the same database: another instance behind the load balancer, or this one restarted
    other = await serve(served.knowledge, served.data)
    try:
        body = await press(other, attach)
        assert body["type"] == CARD, body
        [line] = [b for b in every(body["value"], "TextBlock") if b.get("id") == "decide-P-1"]
        assert "Attached Alpha Cloud" in line["text"]
    finally:
        await other.close()
    await served.close()
    restarted = await serve(served.knowledge, served.data)
    try:
        # the card as the last press left it: the first decision stays, the second is added beside it
        body = await press(restarted, dismiss, inputs={"reason_P-2": "Out of region"})
        assert body["type"] == CARD, body
        lines = {b.get("id"): b["text"] for b in every(body["value"], "TextBlock") if b.get("id", "").startswith("decide-")}
        assert "Attached Alpha Cloud" in lines["decide-P-1"] and "Dismissed Beta Systems" in lines["decide-P-2"]
    finally:
        await restarted.close()


async def test_a_dismissal_without_a_reason_changes_nothing_and_says_why(served: Served) -> None:
    card = card_of(await served.say("Suggest partners for OPP-100"))
    [dismiss] = [a for a in executes(card, "dismiss") if a["data"]["partnerId"] == "P-1"]
    body = await press(served, dismiss, inputs={"reason_P-1": "  "})
    assert body == {"statusCode": 200, "type": MESSAGE, "value": render.messages()["dismiss_needs_reason"]}
    assert decisions(served) == []


@pytest.mark.parametrize("verb", ["propose", "attach", "dismiss"])
async def test_a_forged_decision_from_a_seller_does_nothing_and_says_so(served: Served, verb: str) -> None:
    card = card_of(await served.say("Suggest partners for OPP-100"))
    [action] = [a for a in executes(card, verb) if a["data"]["partnerId"] == "P-1"]
    body = await press(served, action, user=SELLER, inputs={"reason_P-1": "forged"})
    assert body["type"] == MESSAGE and body["value"] == render.messages()["workflow_denied"]
    assert decisions(served) == []
    # the card is unchanged: the channel manager's own press still works afterwards
    body = await press(served, action, inputs={"reason_P-1": "real reason"})
    assert body["type"] == CARD and decisions(served)


async def test_a_forged_export_or_share_from_a_seller_does_nothing(served: Served) -> None:
    forged = [{"title": "Export CSV", "verb": "export",
               "data": {"partnerAtlas": "export", "subject": "sweep", "format": "csv",
                        "query": "Which of my opportunities have no partner attached?"}},
              {"title": "Confirm share", "verb": "share",
               "data": {"partnerAtlas": "share", "opportunityId": "OPP-100", "partnerId": "P-1"}}]
    for action in forged:
        body = await press(served, action, user=SELLER)
        assert body["type"] == MESSAGE and body["value"] == render.messages()["workflow_denied"], action["verb"]
    # a channel manager outside a 1:1 chat is sent there
    for action in forged:
        body = await press(served, action, conversation="19:group-chat", group=True)
        assert body["type"] == MESSAGE and body["value"] == render.messages()["workflow_private_only"]
    assert not (served.data / "exports").exists() or not any((served.data / "exports").iterdir())


async def test_a_verb_that_disagrees_with_its_data_is_refused(served: Served) -> None:
    card = card_of(await served.say("Suggest partners for OPP-100"))
    [propose] = [a for a in executes(card, "propose") if a["data"]["partnerId"] == "P-1"]
    body = await press(served, {**propose, "verb": "attach"})
    assert body["type"] == MESSAGE and decisions(served) == []
    body = await press(served, {"title": "x", "verb": "delete_everything", "data": {"partnerAtlas": "x"}})
    assert body["type"] == MESSAGE and body["value"] == render.messages()["card_action_unknown"]


async def test_thumbs_up_is_replaced_by_thanks_on_the_same_card(served: Served) -> None:
    card = card_of(await served.say("Which partners cover AKS in Germany?"))
    [up] = [a for a in executes(card, "feedback") if a["data"]["rating"] == "up"]
    # someone who was not shown the answer cannot rate it
    stranger = await press(served, up, user=SELLER, conversation="a:someone-else")
    assert stranger["type"] == MESSAGE and stranger["value"] == render.messages()["feedback_unknown"]
    body = await press(served, up)
    assert body["type"] == CARD
    assert executes(body["value"], "feedback") == []
    texts = [b["text"] for b in every(body["value"], "TextBlock")]
    assert texts[-1] == render.messages()["feedback_thanks_up"]
    assert texts[:-1] == [b["text"] for b in every(card, "TextBlock")]       # the answer itself is unchanged


async def test_older_submit_buttons_still_work_through_the_same_verbs(served: Served) -> None:
    card = card_of(await served.say("Suggest partners for OPP-100"))
    [attach] = [a for a in executes(card, "attach") if a["data"]["partnerId"] == "P-1"]
    replies = await served.say(value=attach["data"])          # what an Action.Submit of an older card posts
    assert "Attached Alpha Cloud" in " ".join(b["text"] for b in every(card_of(replies), "TextBlock"))
    denied = await served.say(value=attach["data"], user=SELLER)
    assert "not available to you" in (denied[0].get("text") or "").lower()
    assert len(decisions(served)) == 1


async def test_confirm_share_is_replaced_by_what_was_shared_and_the_import_link(served: Served) -> None:
    card = card_of(await served.say("share OPP-103 with Gamma Digital"))
    [confirm] = executes(card, "share")
    forged = await press(served, confirm, user=SELLER)
    assert forged["type"] == MESSAGE and forged["value"] == render.messages()["workflow_denied"]
    body = await press(served, confirm)
    assert body["type"] == CARD and executes(body["value"], "share") == []
    last = every(body["value"], "TextBlock")[-1]["text"]
    assert "Shared with Gamma Digital (Megan Bowen, " in last and "/exports/" in last and "Partner Center import" in last


async def test_a_quiz_answer_replaces_the_buttons_with_the_answer_and_the_next_question_follows(
        served: Served, connector: Connector) -> None:
    card = card_of(await served.say("quiz me on Modernize SecOps", user=SELLER, service_url=connector.url))
    buttons = executes(card, "quiz")
    assert len(buttons) == len(card["actions"]) >= 2
    body = await press(served, buttons[1], user=SELLER, service_url=connector.url)
    assert body["type"] == CARD
    updated = body["value"]
    assert not executes(updated, "quiz"), "the question's buttons are gone: one answer each"
    assert updated["body"][-1]["text"] == f"Your answer: {buttons[1]['title']}"
    posted = [activity for _, activity in connector.posts if activity.get("type") == "message"]
    assert any("Question 2 of" in json.dumps(activity) for activity in posted), "the next question follows"
    # the same button again: nothing is recorded twice, and it says why
    again = await press(served, buttons[1], user=SELLER, service_url=connector.url)
    assert again["type"] == MESSAGE and "already answered question 1" in again["value"]
    # the card pressed from another chat (a forwarded card, forged data): no quiz there, nothing changes
    other = await press(served, buttons[0], user=ECM, conversation="a:ecm-2:1", service_url=connector.url)
    assert other["type"] == MESSAGE and "quiz is over" in other["value"]
