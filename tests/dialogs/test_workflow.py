"""Channel managers' workflow over the real HTTP endpoint with the real engine: attach decisions from the
card, exports behind short-lived links, coverage gaps with a heatmap, and the proactive daily sweep."""
from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import openpyxl
import pytest
import yaml

from app.server import digest_sender_key
from dialogs import render
from dialogs.digest import MAX_FAILURES_PER_DAY
from dialogs.exports import EXPORT_TTL_SECONDS, ExportStore
from retrieval.decisions import DecisionStore
from storage.database import opened
from tests.factories import ECM, OPP_HEADER, SELLER, default_opportunities, make_knowledge, write_table
from tests.support.cards import assert_valid_card, card_of, every, submits, suggested_partner_ids, text_of
from tests.support.served import DAY, Served, download, make_engine, serve
from tests.support.server import Connector

ADAPTIVE = render.ADAPTIVE_CARD_CONTENT_TYPE


# --------------------------------------------------------------------------- the connector and the bot


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    running = await serve(make_knowledge(tmp_path / "kb"), tmp_path / "data")
    try:
        yield running
    finally:
        await running.close()


# --------------------------------------------------------------------------- attach decisions
async def test_propose_attach_and_dismiss_from_the_card_reply_with_the_decision_and_its_history(served: Served) -> None:
    card = card_of(await served.say("Suggest partners for OPP-100"))
    assert_valid_card(card)
    assert suggested_partner_ids(card)[:2] == ["P-1", "P-2"]
    buttons = [a["title"] for a in every(card, "ActionSet")[0]["actions"]]
    assert buttons == ["Propose", "Mark attached", "Dismiss"]
    propose = next(d for d in submits(card, "attach") if d["action"] == "propose" and d["partnerId"] == "P-1")

    # Teams posts the card's inputs with the button's data: the note typed under Alpha Cloud
    reply = await served.say(value={**propose, "note_P-1": "Retail win at Contoso, Lead next year", "reason_P-2": ""})
    decision = card_of(reply)
    assert_valid_card(decision)
    text = text_of(reply)
    assert "Proposed Alpha Cloud (Megan Bowen, " in text and "Retail win at Contoso, Lead next year" in text
    assert "Decision history" in text and " UTC — Proposed Alpha Cloud" in text

    attach = next(d for d in submits(card, "attach") if d["action"] == "attach" and d["partnerId"] == "P-1")
    await served.say(value=attach)
    dismiss = next(d for d in submits(card, "attach") if d["action"] == "dismiss" and d["partnerId"] == "P-2")
    reply = await served.say(value={**dismiss, "reason_P-2": "No capacity before the close date"})
    history = [b["text"] for b in every(card_of(reply), "TextBlock") if " UTC — " in b["text"]]
    assert len(history) == 3
    assert "Proposed Alpha Cloud" in history[0] and "Attached Alpha Cloud" in history[1]
    assert "Dismissed Beta Systems (Megan Bowen, " in history[2] and history[2].endswith("No capacity before the close date")
    # a dismissal suggests asking again
    assert any(a.get("data", {}).get("msteams", {}).get("value") == "Suggest partners for OPP-100"
               for a in every(card_of(reply), "Action.Submit"))


async def test_a_dismissed_partner_is_not_suggested_again_for_that_opportunity(served: Served) -> None:
    card = card_of(await served.say("Suggest partners for OPP-100"))
    assert "P-2" in suggested_partner_ids(card)
    dismiss = next(d for d in submits(card, "attach") if d["action"] == "dismiss" and d["partnerId"] == "P-2")
    await served.say(value={**dismiss, "reason_P-2": "Under performance review"})

    again = await served.say("Suggest partners for OPP-100")
    card = card_of(again)
    assert "P-2" not in suggested_partner_ids(card)
    ranked = [c["items"][0]["text"] for c in every(card, "Container") if re.match(r"\d+\. \*\*", c["items"][0].get("text", ""))]
    assert "1. **Alpha Cloud**" in ranked and not any("Beta Systems" in r for r in ranked)
    assert "Dismissed Beta Systems" in text_of(again)      # the history says why it is gone
    # another opportunity is not affected
    assert "P-2" in suggested_partner_ids(card_of(await served.say("Suggest partners for OPP-101")))


async def test_a_dismissal_without_a_reason_is_refused_and_not_recorded(served: Served) -> None:
    card = card_of(await served.say("Suggest partners for OPP-100"))
    dismiss = next(d for d in submits(card, "attach") if d["action"] == "dismiss" and d["partnerId"] == "P-1")
    for typed in ({}, {"reason_P-1": "   "}, {"reason_P-2": "the reason typed under another partner"}):
        [reply] = await served.say(value={**dismiss, **typed})
        assert reply["text"] == render.messages()["dismiss_needs_reason"]
        assert not reply.get("attachments")
    assert DecisionStore(served.data / "partner-atlas.db").all() == []
    assert "P-1" in suggested_partner_ids(card_of(await served.say("Suggest partners for OPP-100")))


async def test_decisions_survive_a_restart(tmp_path: Path) -> None:
    knowledge, data = make_knowledge(tmp_path / "kb"), tmp_path / "data"
    first = await serve(knowledge, data)
    try:
        card = card_of(await first.say("Suggest partners for OPP-100"))
        dismiss = next(d for d in submits(card, "attach") if d["action"] == "dismiss" and d["partnerId"] == "P-2")
        await first.say(value={**dismiss, "reason_P-2": "No delivery team in Q1"})
    finally:
        await first.close()
    second = await serve(knowledge, data)                 # a new process: new engine, new app, same data folder
    try:
        again = await second.say("Suggest partners for OPP-100")
        assert "P-2" not in suggested_partner_ids(card_of(again))
        assert "Dismissed Beta Systems" in text_of(again) and "No delivery team in Q1" in text_of(again)
        sweep = text_of(await second.say("Which of my opportunities have no partner attached?"))
        assert "Dismissed Beta Systems" in sweep             # visible in the next sweep too
    finally:
        await second.close()


async def test_only_attach_answers_to_channel_managers_carry_decision_buttons(served: Served) -> None:
    assert submits(card_of(await served.say("Suggest partners for OPP-100", user=SELLER)), "attach") == []
    assert submits(card_of(await served.say("Which partners cover AKS in Germany?")), "attach") == []
    # an opportunity with a partner attached: its facts, no suggestions (one without gets them, and the buttons)
    assert submits(card_of(await served.say("Show OPP-102")), "attach") == []
    assert submits(card_of(await served.say("Suggest partners for OPP-100", group=True,
                                            conversation="19:group")), "attach") == []


# --------------------------------------------------------------------------- refusals
async def test_a_seller_cannot_decide_export_or_subscribe(served: Served) -> None:
    card = card_of(await served.say("Suggest partners for OPP-100"))
    propose = next(d for d in submits(card, "attach") if d["action"] == "propose")
    denied = text_of(await served.say(value=propose, user=SELLER))
    assert "not available to you" in denied.lower()
    assert DecisionStore(served.data / "partner-atlas.db").all() == []

    refusal = render.messages()["workflow_denied"]
    export = {"partnerAtlas": "export", "subject": "sweep", "format": "csv",
              "query": "Which of my opportunities have no partner attached?"}
    for attempt in ({"value": export}, {"value": {**export, "subject": "gaps", "query": "coverage gaps"}},
                    {"text": "export decisions"}, {"text": "send me a daily sweep"}, {"text": "subscribe"},
                    {"text": "sweep now"}):
        [reply] = await served.say(**attempt, user=SELLER)    # type: ignore[arg-type]
        assert reply["text"] == refusal, attempt
    assert "not available to you" in text_of(await served.say("coverage gaps", user=SELLER)).lower()
    assert ExportStore(served.data / "partner-atlas.db").names() == []
    assert served.app[digest_sender_key()].subscriptions.all() == []


async def test_a_channel_manager_in_a_group_chat_is_sent_to_the_1_1_chat(served: Served) -> None:
    [reply] = await served.say("sweep now", group=True, conversation="19:group")
    assert reply["text"] == render.messages()["workflow_private_only"]
    [reply] = await served.say("subscribe", group=True, conversation="19:group")
    assert reply["text"] == render.messages()["workflow_private_only"]
    assert served.app[digest_sender_key()].subscriptions.all() == []


# --------------------------------------------------------------------------- exports
def big_pipeline(knowledge: Path, count: int = 40) -> list[str]:
    """Replace the pipeline with `count` unattached AKS opportunities in Germany owned by the ECM."""
    rows = default_opportunities()
    template = rows[0]
    rows = [{**template, "opportunity_id": f"OPP-{500 + i}", "account": f"Account {i}",
             "estimated_value_usd": str(100_000 + i * 1000), "close_date": f"2027-{1 + i % 12:02d}-{1 + i % 27:02d}"}
            for i in range(count)]
    write_table(knowledge / "opportunities" / "pipeline.csv", OPP_HEADER, rows)
    return [r["opportunity_id"] for r in rows]


async def test_the_sweep_export_has_every_opportunity_not_only_the_first_page(tmp_path: Path) -> None:
    knowledge = make_knowledge(tmp_path / "kb")
    ids = big_pipeline(knowledge)
    served = await serve(knowledge, tmp_path / "data")
    try:
        activities = await served.say("Which of my opportunities have no partner attached?")
        card = card_of(activities)
        assert_valid_card(card)
        shown = set(re.findall(r"OPP-\d+", text_of(activities)))
        assert len(shown) == 25 < len(ids)                    # the card shows a page
        exports = submits(card, "export")
        assert [(e["subject"], e["format"]) for e in exports] == [("sweep", "csv"), ("sweep", "xlsx")]
        sort = next(a for a in every(card, "Action.Submit") if a["title"] == "Sort by close date")
        assert sort["data"]["msteams"]["value"] == "Which of my opportunities have no partner attached? by close date"

        [reply] = await served.say(value=exports[0])
        assert "40 rows, CSV" in reply["text"] and "15 minutes" in reply["text"]
        status, body, headers = await download(served, reply["text"])
        assert status == 200 and headers["Content-Type"] == "text/csv; charset=utf-8"
        assert headers["Content-Disposition"].startswith('attachment; filename="partner-atlas-export-')
        assert headers["Cache-Control"] == "no-store"
        rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
        assert sorted(r["opportunity_id"] for r in rows) == sorted(ids)
        assert rows[0]["top_suggestion"] and rows[0]["top_suggestion_reasons"]

        [reply] = await served.say(value=exports[1])
        status, body, headers = await download(served, reply["text"])
        assert status == 200 and headers["Content-Type"].startswith(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        sheet = openpyxl.load_workbook(io.BytesIO(body), read_only=True).active
        assert sheet is not None
        values = list(sheet.iter_rows(values_only=True))
        assert values[0][0] == "opportunity_id" and sorted(str(v[0]) for v in values[1:]) == sorted(ids)

        by_date = await served.say(str(sort["data"]["msteams"]["value"]))
        toggle = next(a for a in every(card_of(by_date), "Action.Submit") if a["title"].startswith("Sort by"))
        assert toggle["title"] == "Sort by value"
        assert toggle["data"]["msteams"]["value"] == "Which of my opportunities have no partner attached?"
    finally:
        await served.close()


async def test_the_export_of_a_follow_up_keeps_the_follow_ups_filter(tmp_path: Path) -> None:
    knowledge = make_knowledge(tmp_path / "kb")
    ids = big_pipeline(knowledge, count=30)
    rows = list(csv.DictReader(io.StringIO((knowledge / "opportunities" / "pipeline.csv").read_text())))
    for row in rows[::3]:
        row["country"] = "FR"
    write_table(knowledge / "opportunities" / "pipeline.csv", OPP_HEADER, rows)
    in_france = sorted(r["opportunity_id"] for r in rows if r["country"] == "FR")
    assert 0 < len(in_france) < len(ids)
    served = await serve(knowledge, tmp_path / "data")
    try:
        await served.say("Which opportunities have no partner attached?")
        follow_up = await served.say("and in France?")
        card = card_of(follow_up)
        assert sorted(set(re.findall(r"OPP-\d+", text_of(follow_up)))) == in_france
        exports = submits(card, "export")
        assert exports and all(e["scope"]["countries"] == ["FR"] for e in exports)

        [reply] = await served.say(value=exports[0])
        status, body, _ = await download(served, reply["text"])
        assert status == 200
        exported = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
        assert sorted(r["opportunity_id"] for r in exported) == in_france
        assert {r["country"] for r in exported} == {"FR"}

        # a scope that is not what the bot wrote (client input) is ignored, not trusted: the question decides
        [reply] = await served.say(value={**exports[0], "scope": {"question": ["not", "text"], "countries": "FR"}})
        status, body, _ = await download(served, reply["text"])
        assert sorted(r["opportunity_id"] for r in csv.DictReader(io.StringIO(body.decode("utf-8-sig")))) == sorted(ids)
    finally:
        await served.close()


async def test_exported_decisions_and_gaps(served: Served) -> None:
    card = card_of(await served.say("Suggest partners for OPP-100"))
    propose = next(d for d in submits(card, "attach") if d["action"] == "propose" and d["partnerId"] == "P-1")
    await served.say(value={**propose, "note_P-1": "=HYPERLINK(\"http://evil\")"})
    [reply] = await served.say("export decisions as xlsx")
    status, body, _ = await download(served, reply["text"])
    rows = list(openpyxl.load_workbook(io.BytesIO(body)).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert rows[0][:4] == ("opportunity_id", "partner_id", "partner_name", "action")
    assert rows[1][:4] == ("OPP-100", "P-1", "Alpha Cloud", "propose")
    assert rows[1][4] == "'=HYPERLINK(\"http://evil\")"         # text in a spreadsheet, never a formula

    gaps = card_of(await served.say("coverage gaps"))
    [csv_button, _] = submits(gaps, "export")
    [reply] = await served.say(value=csv_button)
    status, body, _ = await download(served, reply["text"])
    rows2 = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert status == 200 and [(r["workload"], r["country"]) for r in rows2][0] == ("Azure Kubernetes Service", "DE")


async def test_the_export_route_serves_only_unexpired_files_by_their_exact_name(served: Served) -> None:
    [reply] = await served.say("export decisions")
    [url] = re.findall(r"\((http://\S+/exports/(\S+?))\)", reply["text"])
    name = url[1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}\.csv", name)
    assert (await served.client.get(f"/exports/{name}")).status == 200
    (served.data / "partner-atlas-copy.csv").write_text("secret")
    for wrong in ("unknown.csv", name.replace(".csv", ".xlsx"), name[:-5] + "x.csv", name + ".bak",
                  "..%2Fpartner-atlas.db", "..%2F..%2Fpartner-atlas.db", "%2e%2e%2fpartner-atlas-copy.csv",
                  "..%5Cpartner-atlas.db", "partner-atlas.db", "%2Fetc%2Fpasswd", "." + name):
        response = await served.client.get(f"/exports/{wrong}")
        assert response.status == 404, wrong
    for path in ("/exports/../partner-atlas.db", "/exports/../../etc/passwd", "/exports/", "/exports"):
        response = await served.client.get(path)
        assert response.status == 404, path
    # expired: the database says it was written 15 minutes ago
    with opened(served.data / "partner-atlas.db") as database:
        database.write(lambda tx: tx.execute("update exports set created_at = created_at - ? where name = ?",
                                             (EXPORT_TTL_SECONDS + 1, name)))
    assert (await served.client.get(f"/exports/{name}")).status == 404
    assert name not in ExportStore(served.data / "partner-atlas.db").names()     # and it is gone


# --------------------------------------------------------------------------- coverage gaps
async def test_the_gaps_card_has_a_table_and_a_png_heatmap_under_the_budget(served: Served) -> None:
    activities = await served.say("Where are our coverage gaps? show the heatmap")
    [activity] = activities
    card = card_of(activities)
    assert_valid_card(card)
    [image] = every(card, "Image")
    assert image["url"].startswith("data:image/png;base64,")
    png = base64.b64decode(image["url"].split(",", 1)[1])
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) < 40_000
    [table] = every(card, "Table")
    header = [c["items"][0]["text"] for c in table["rows"][0]["cells"]]
    assert header == list(render.GAP_COLUMNS)
    first = [c["items"][0]["text"] for c in table["rows"][1]["cells"]]
    assert first[:3] == ["Azure Kubernetes Service", "DE", "2"]
    assert len(json.dumps(activity, ensure_ascii=False).encode("utf-16-le")) < 80_000


# --------------------------------------------------------------------------- the daily sweep
async def test_the_daily_sweep_goes_to_subscribers_once_a_day_and_stops(served: Served, connector: Connector) -> None:
    sender = served.app[digest_sender_key()]
    [reply] = await served.say("Send me a daily sweep", service_url=connector.url, conversation="a:ecm-chat")
    assert reply["text"].startswith("Subscribed") and "07:00 UTC" in reply["text"]
    [again] = await served.say("subscribe", service_url=connector.url, conversation="a:ecm-chat")
    assert again["text"].startswith("You're already subscribed")
    assert connector.posts == []                               # expectReplies: the replies came back inline

    assert await sender.send_due_digests(DAY - dt.timedelta(minutes=1)) == []     # before the hour
    assert connector.posts == []
    assert await sender.send_due_digests(DAY) == [ECM]
    [(path, activity)] = connector.posts
    assert path == "/v3/conversations/a:ecm-chat/activities"   # a new message in the 1:1 chat, not a reply
    assert activity["type"] == "message" and activity["conversation"]["id"] == "a:ecm-chat"
    assert activity["recipient"]["aadObjectId"] == ECM
    card = activity["attachments"][0]["content"]
    assert_valid_card(card)
    assert card["body"][0]["text"].startswith("Daily sweep, 2026-11-23: Unattached opportunities")
    assert {"OPP-100", "OPP-103", "OPP-104"} <= set(re.findall(r"OPP-\d+", json.dumps(card)))
    assert submits(card, "export")                            # the channel manager's export buttons

    assert await sender.send_due_digests(DAY + dt.timedelta(hours=5)) == []       # once a day
    assert await sender.send_due_digests(DAY + dt.timedelta(days=1, minutes=3)) == [ECM]
    assert len(connector.posts) == 2

    [bye] = await served.say("unsubscribe", service_url=connector.url, conversation="a:ecm-chat")
    assert bye["text"].startswith("Unsubscribed")
    assert await sender.send_due_digests(DAY + dt.timedelta(days=2)) == []
    assert len(connector.posts) == 2
    [none] = await served.say("unsubscribe", service_url=connector.url, conversation="a:ecm-chat")
    assert none["text"].startswith("You weren't subscribed")


async def test_the_daily_sweep_skips_someone_no_longer_in_ecm(served: Served, connector: Connector) -> None:
    sender = served.app[digest_sender_key()]
    await served.say("send me a daily sweep", service_url=connector.url, conversation="a:ecm-chat")
    # access.yaml changes: the channel manager leaves "ecm"; the reloaded engine knows
    access = served.knowledge / "access.yaml"
    groups = yaml.safe_load(access.read_text())
    groups["groups"]["ecm"] = [{"aad_object_id": "00000000-0000-0000-0000-00000000e002", "name": "Other ECM"}]
    access.write_text(yaml.safe_dump(groups))
    served.slot.set_ready(make_engine(served.knowledge, served.data))
    assert await sender.send_due_digests(DAY) == []
    assert connector.posts == []
    assert "not available to you" in text_of(await served.say("sweep now")).lower()


async def test_a_failed_delivery_is_retried_a_few_times_that_day(served: Served, connector: Connector) -> None:
    sender = served.app[digest_sender_key()]
    await served.say("send me a daily sweep", service_url=connector.url, conversation="a:ecm-chat")
    # subscribing after the real clock's digest hour marks the real today as sent: whatever it is, failures keep it
    [subscribed] = sender.subscriptions.all()
    connector.refuse_with = 403                               # e.g. the user removed the app
    for minute in range(MAX_FAILURES_PER_DAY + 2):
        assert await sender.send_due_digests(DAY + dt.timedelta(minutes=minute)) == []
    [subscription] = sender.subscriptions.all()
    assert subscription.failures == MAX_FAILURES_PER_DAY and subscription.last_sent_date == subscribed.last_sent_date
    assert subscription.failed_date == DAY.date().isoformat()
    connector.refuse_with = None
    assert await sender.send_due_digests(DAY + dt.timedelta(hours=1)) == []      # not again today
    assert await sender.send_due_digests(DAY + dt.timedelta(days=1)) == [ECM]


async def test_a_delivery_that_may_have_gone_through_is_not_sent_again_that_day(served: Served,
                                                                                connector: Connector) -> None:
    sender = served.app[digest_sender_key()]
    await served.say("send me a daily sweep", service_url=connector.url, conversation="a:ecm-chat")
    connector.refuse_with = 500            # the connector failed without saying whether it took the message
    assert await sender.send_due_digests(DAY) == [ECM]
    [subscription] = sender.subscriptions.all()
    assert subscription.last_sent_date == DAY.date().isoformat() and subscription.failures == 0
    connector.refuse_with = None
    assert await sender.send_due_digests(DAY + dt.timedelta(minutes=5)) == []     # at most once a day
    assert connector.posts == []
    assert await sender.send_due_digests(DAY + dt.timedelta(days=1)) == [ECM]


async def test_sweep_now_answers_at_once_and_subscribing_late_starts_tomorrow(tmp_path: Path,
                                                                              connector: Connector) -> None:
    served = await serve(make_knowledge(tmp_path / "kb"), tmp_path / "data", digest_hour_utc=0)
    try:
        activities = await served.say("sweep now")
        card = card_of(activities)
        assert_valid_card(card)
        assert card["body"][0]["text"].startswith("Daily sweep, ")
        assert "OPP-100" in text_of(activities)
        # subscribing after today's digest hour (00:00 here): nothing until tomorrow
        await served.say("subscribe", service_url=connector.url, conversation="a:ecm-chat")
        sender = served.app[digest_sender_key()]
        today = dt.datetime.now(dt.UTC)
        assert await sender.send_due_digests(today) == []
        assert await sender.send_due_digests(today + dt.timedelta(days=1)) == [ECM]
    finally:
        await served.close()


async def test_the_scheduler_loop_sends_and_stops(served: Served, connector: Connector) -> None:
    import asyncio

    sender = served.app[digest_sender_key()]
    await served.say("send me a daily sweep", service_url=connector.url, conversation="a:ecm-chat")
    stop = asyncio.Event()
    times = [DAY, DAY + dt.timedelta(minutes=1), DAY + dt.timedelta(minutes=2)]
    passes = 0

    def clock() -> dt.datetime:          # a fake clock that counts the scheduler's passes and ends after three
        nonlocal passes
        passes += 1
        if passes >= len(times):
            stop.set()
        return times[min(passes, len(times)) - 1]

    task = asyncio.create_task(sender.run(stop, interval=0.01, clock=clock))
    await asyncio.wait_for(task, 5)
    assert len(connector.posts) == 1


def test_workflow_commands_are_whole_messages() -> None:
    from dialogs.workflow import Command, command_of

    assert command_of("Send me a daily sweep!") == command_of("subscribe") == Command("subscribe")
    assert command_of("please unsubscribe") == command_of("Stop the daily sweep") == Command("unsubscribe")
    assert command_of("Sweep now") == Command("sweep_now")
    assert command_of("export decisions as Excel") == Command("export_decisions", "xlsx")
    assert command_of("export decisions") == Command("export_decisions", "csv")
    for question in ("Which partners subscribe to the AKS play?", "how do I sweep now and then?",
                     "Which of my opportunities have no partner attached?", "export"):
        assert command_of(question) is None


async def test_a_gaps_export_of_a_question_that_is_not_about_gaps_says_so(served: Served) -> None:
    [reply] = await served.say(value={"partnerAtlas": "export", "subject": "gaps", "format": "csv",
                                      "query": "Which partners cover AKS in Germany?"})
    assert reply["text"] == render.messages()["export_nothing"]
