"""Referrals over the real HTTP endpoint: the share pre-flight card and its Confirm button (checked again in
the handler: a submit is user input), the Partner Center import row behind an export link, the recorded
share surviving a restart, and the referral section of the daily sweep."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path

from app.server import digest_sender_key
from retrieval.share_store import ShareStore
from tests.factories import ECM, SELLER
from tests.support.cards import assert_valid_card, card_of, submits, text_of
from tests.support.served import Served, download, serve
from tests.support.server import Connector

DAY = dt.datetime(2026, 12, 1, 7, 0, tzinfo=dt.UTC)


async def test_share_preflight_confirm_records_and_offers_the_import_row(tmp_path: Path, served: Served) -> None:
    activities = await served.say("share OPP-103 with Gamma Digital")
    card = card_of(activities)
    assert_valid_card(card)
    text = text_of(activities)
    assert "Gamma Digital passes the pre-flight for OPP-103" in text
    assert "✓ Co-sell ready" in json.dumps(card, ensure_ascii=False)
    [confirm] = submits(card, "share")
    # ids only (and the id of the card itself, so a press can update it in place)
    assert {k: v for k, v in confirm.items() if k != "cardId"} == {
        "partnerAtlas": "share", "opportunityId": "OPP-103", "partnerId": "P-3"}
    assert set(confirm) == {"partnerAtlas", "opportunityId", "partnerId", "cardId"}

    replies = await served.say(value=confirm)
    assert "Shared with Gamma Digital (Megan Bowen, " in text_of(replies)
    link = next(r["text"] for r in replies if "/exports/" in (r.get("text") or ""))
    assert "Partner Center import" in link
    status, body, _ = await download(served, link)
    [row] = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert status == 200 and (row["CRM ID"], row["Partner name"], row["Direction"]) == ("OPP-103", "Gamma Digital",
                                                                                          "Incoming")
    # the decision is in the data folder's database: it survives a restart
    await served.close()
    [decision] = ShareStore(tmp_path / "data" / "partner-atlas.db").all()
    assert (decision.opportunity_id, decision.partner_id) == ("OPP-103", "P-3")
    again = await serve(served.knowledge, served.data)
    try:
        replay = json.dumps(await again.say("share OPP-103 with Gamma Digital"), ensure_ascii=False)
        assert "! Already confirmed here" in replay and "Shared with Gamma Digital" in replay
    finally:
        await again.close()


async def test_a_failing_preflight_has_no_confirm_button(served: Served) -> None:
    activities = await served.say("share OPP-100 with Alpha Cloud")
    assert not submits(card_of(activities), "share")
    assert "REF-9004 with Alpha Cloud on Account OPP-100 is Declined" in text_of(activities)


async def test_a_forged_confirm_is_refused_for_sellers_group_chats_and_failing_shares(tmp_path: Path,
                                                                                    served: Served) -> None:
    forged = {"partnerAtlas": "share", "opportunityId": "OPP-103", "partnerId": "P-3"}
    [seller] = await served.say(value=forged, user=SELLER)
    assert seller["text"].startswith("Not available to you")
    group = await served.say(value=forged, group=True, conversation="19:group-chat")
    assert "only in a 1:1 chat" in text_of(group)
    refused = await served.say(value={**forged, "opportunityId": "OPP-100", "partnerId": "P-5"})
    assert "Not ready to share OPP-100" in text_of(refused) and "/exports/" not in text_of(refused)
    for junk in ({"partnerAtlas": "share", "opportunityId": 7, "partnerId": "P-3"},
                 {"partnerAtlas": "share", "opportunityId": "OPP-999", "partnerId": "P-3"},
                 {"partnerAtlas": "share", "opportunityId": "OPP-103", "partnerId": "../../P-3"}):
        response = await served.client.post("/api/messages", json={**_message(served), "value": junk})
        assert response.status == 200
    assert ShareStore(tmp_path / "data" / "partner-atlas.db").all() == []


def _message(served: Served) -> dict[str, object]:
    from tests.dialogs.fakes import personal_message

    payload = personal_message("", aad_object_id=ECM)
    payload["conversation"] = {**payload["conversation"], "id": "a:ecm-1:1"}
    return payload


async def test_the_daily_sweep_has_a_referral_section(served: Served, connector: Connector) -> None:  # noqa: F811
    sender = served.app[digest_sender_key()]
    await served.say("Send me a daily sweep", service_url=connector.url, conversation="a:ecm-chat")
    assert await sender.send_due_digests(DAY) == [ECM]
    [(_, activity)] = connector.posts
    card = activity["attachments"][0]["content"]
    assert_valid_card(card)
    content = json.dumps(card, ensure_ascii=False)
    assert "Co-sell referrals" in content
    assert set(re.findall(r"REF-\d+", content)) == {"REF-9001", "REF-9003"}   # stale 11 days; expires in 3 days
    assert "waiting 11 days for a Microsoft response" in content and "expires in 3 days" in content
    assert "1 partner-led waiting more than 5 days for Microsoft, 1 shared with partners expiring" in content


async def test_referral_answers_in_a_group_chat_show_nothing_confidential(served: Served) -> None:
    activities = await served.say("Has OPP-100 been shared with a partner?", group=True, conversation="19:group")
    text = text_of(activities)
    assert "1:1 chat" in text and not re.search(r"REF-\d+|Account OPP-100|Beta Systems", text)
    seller = text_of(await served.say("Which partner-led referrals are waiting for Microsoft?", user=SELLER))
    assert "Not available to you" in seller and not re.search(r"REF-\d+|Fabrikam", seller)
