"""A readiness Q&A session played end to end over the real HTTP endpoint, on the real engine.

The embedded sample folder is indexed with the real MiniLM model (near-duplicates are found by
embedding similarity, so no stand-in would do), the aiohttp app runs with botbuilder's CloudAdapter,
and every message is a recorded Teams channel payload (channel_message_mention_2025.json) with
another sender, text, message id and thread. Twenty questions from six people, with repeats and one
question the knowledge cannot answer, a thumbs down, then `end session`: the test reads the thread
replies, the pointers to earlier answers, the digest card and both exports.
"""
from __future__ import annotations

import csv
import io
import itertools
import json
import re
import sqlite3
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from app.engine_slot import EngineSlot
from app.server import create_app
from dialogs import render
from retrieval.engine import KnowledgeEngine
from retrieval.indexer import build_index
from retrieval.loading import load_engine
from tests.dialogs.fakes import teams_activity
from tests.support.server import make_settings

SAMPLE = Path(__file__).resolve().parents[1] / "knowledge" / "sample"
CHANNEL = "19:5d3bd4e3c6b24c1bb1a1e0e0b58d2a10@thread.tacv2"
TENANT = "50612dbb-0237-4969-b378-8d42590f9c00"
ADAPTIVE = render.ADAPTIVE_CARD_CONTENT_TYPE


@dataclass(frozen=True)
class Person:
    name: str
    aad: str


HOST = Person("Sample Channel Manager", "00000000-0000-0000-0000-00000000e001")     # in "ecm" (access.yaml)
SELLERS = [Person(f"Seller {n}", f"5e11e500-0000-4000-8000-00000000000{n}") for n in range(1, 6)]
ANNA, BEN, CHLOE, DEV, EMMA = SELLERS

# (who, question, the number of the earlier question it repeats, or None)
SCRIPT: list[tuple[Person, str, int | None]] = [
    (HOST, "Who can do AKS for a retail customer in Poland?", None),                          # 1
    (ANNA, "Which partners cover Azure Kubernetes Service for retail in Poland?", 1),          # 2 paraphrase
    (BEN, "Who can do AKS for a retail customer in Germany?", None),                           # 3 another country
    (CHLOE, "What does the Kubernetes specialization require?", None),                         # 4
    (DEV, "What are the requirements for the Kubernetes specialization?", 4),                  # 5 paraphrase
    (EMMA, "Which incentive can fund a SQL migration for an Enterprise deal of $150k?", None),  # 6
    (HOST, "What is ECIF?", None),                                                             # 7
    (ANNA, "Can you explain ECIF?", 7),                                                        # 8 paraphrase
    (BEN, "How do I register a co-sell opportunity?", None),                                   # 9
    (CHLOE, "What is the refund policy for the quantum teleportation add-on?", None),          # 10 unanswerable
    (DEV, "Who can do AKS for a retail customer in Poland?", 1),                               # 11 verbatim
    (EMMA, "Who covers Teams Phone in Australia?", None),                                      # 12
    (HOST, "Which partners have the Kubernetes specialization in Germany?", None),             # 13
    (ANNA, "What does Azure Migrate and Modernize fund?", None),                               # 14
    (BEN, "What does Azure Innovate offer?", None),                                            # 15
    (CHLOE, "Who can deliver Dynamics 365 Finance in Poland?", None),                          # 16
    (DEV, "Partners for Dynamics 365 Finance in Poland?", 16),                                 # 17 paraphrase
    (EMMA, "who covers teams phone in australia", 12),                                         # 18 same words
    (HOST, "Any internal notes on Xenoline Consulting?", None),                                # 19 confidential
    (BEN, "Which incentives fit an Azure Kubernetes Service deal of $80k for an Enterprise customer?", None),  # 20
]
UNANSWERABLE = 10
DISLIKED = 14
REPEATS = {n: earlier for n, (_, _, earlier) in enumerate(SCRIPT, 1) if earlier}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeEngine:
    index = tmp_path_factory.mktemp("sample-index")
    build_index(SAMPLE, index, embedder="minilm", progress=False)
    return load_engine(SAMPLE, index)


CONFIDENTIAL = "CONF0011"        # the sample's confidential partner notes all start with it


@pytest.fixture
async def client(engine: KnowledgeEngine, tmp_path: Path) -> AsyncIterator[TestClient]:
    slot = EngineSlot()
    slot.set_ready(engine)
    app = create_app(make_settings(data_dir=tmp_path), slot)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


_ids: Iterator[int] = itertools.count(1763000000000)


def channel_payload(person: Person, text: str | None, *, thread: str | None = None,
                    value: dict[str, Any] | None = None) -> dict[str, Any]:
    """The recorded channel mention, from `person`, as a new thread (or a reply in `thread`)."""
    message_id = str(next(_ids))
    payload = teams_activity("channel_message_mention_2025.json", id=message_id, deliveryMode="expectReplies")
    mention = payload["entities"][0]["text"]
    payload["from"] = {"id": f"29:{person.aad}", "name": person.name, "aadObjectId": person.aad}
    payload["conversation"] = {**payload["conversation"], "id": f"{CHANNEL};messageid={thread or message_id}",
                               "tenantId": TENANT}
    payload["channelData"] = {**payload["channelData"], "teamsChannelId": CHANNEL, "channel": {"id": CHANNEL}}
    if text is None:            # a card button: no text, no mention, the button's data as value
        payload["text"] = ""
        payload["entities"] = [e for e in payload["entities"] if e["type"] != "mention"]
        payload.pop("attachments", None)
        payload["value"] = value
    else:
        payload["text"] = f"{mention} {text}"
    return payload


async def say(client: TestClient, payload: dict[str, Any]) -> list[dict[str, Any]]:
    response = await client.post("/api/messages", json=payload)
    assert response.status == 200, await response.text()
    body = await response.json()
    return [a for a in body["activities"] if a["type"] == "message"]


def card_of(reply: dict[str, Any]) -> dict[str, Any]:
    cards = [a["content"] for a in reply.get("attachments") or [] if a["contentType"] == ADAPTIVE]
    assert len(cards) == 1
    return cards[0]


def submit_data(card: dict[str, Any], title_part: str) -> dict[str, Any]:
    found = [a["data"] for a in card.get("actions", []) if title_part in a.get("title", "")]
    assert found, f"no button with {title_part!r}: {[a.get('title') for a in card.get('actions', [])]}"
    return found[0]


async def test_a_readiness_session_in_a_channel(client: TestClient, tmp_path: Path) -> None:
    # a seller may not start one; the channel manager can
    refused = await say(client, channel_payload(ANNA, 'start readiness session "Try"'))
    assert "Only channel managers and admins" in refused[0]["text"]
    started = await say(client, channel_payload(HOST, 'start readiness session "FY27 Azure partner incentives"'))
    assert "Readiness session started: FY27 Azure partner incentives" in started[0]["text"]
    again = await say(client, channel_payload(HOST, "start session on something else"))
    assert "already running" in again[0]["text"]

    replies: dict[int, dict[str, Any]] = {}
    asked: dict[int, dict[str, Any]] = {}
    for n, (person, question, _) in enumerate(SCRIPT, 1):
        payload = channel_payload(person, question)
        asked[n] = payload
        messages = await say(client, payload)
        assert len(messages) == 1, (n, [m.get("text") for m in messages])
        reply = messages[0]
        # every answer goes into the question's own thread
        assert reply["replyToId"] == payload["id"]
        assert reply["conversation"]["id"] == payload["conversation"]["id"]
        replies[n] = reply

    for n, earlier in REPEATS.items():
        text = replies[n]["text"]
        assert text.startswith("🔁 Asked before in this session"), (n, text)
        assert SCRIPT[earlier - 1][1] in text and SCRIPT[earlier - 1][0].name in text
        # a pointer, not a second copy of the answer: no feedback buttons, an "answer anyway" button,
        # and a deep link to the earlier question's message in its thread
        card = card_of(replies[n])
        assert submit_data(card, "Answer here anyway") == {"question": SCRIPT[n - 1][1], "answerAnyway": True}
        link = re.search(r"\((https://teams\.microsoft\.com/l/message/[^)]+)\)", text)
        assert link and f"/{asked[earlier]['id']}?" in link.group(1) and f"parentMessageId={asked[earlier]['id']}" in link.group(1)
    for n in set(range(1, len(SCRIPT) + 1)) - set(REPEATS):
        text = replies[n]["text"]
        assert "Asked before" not in text, (n, text)
        card = card_of(replies[n])
        assert submit_data(card, "Not helpful")["rating"] == "down"   # a real answer, with feedback buttons
    assert "Nothing found" in replies[UNANSWERABLE]["text"] or "found nothing" in replies[UNANSWERABLE]["text"]
    assert "Germany" in replies[3]["text"] and "Poland" in replies[1]["text"]

    # "answer anyway" on a pointer gets the full answer in that thread
    anyway = await say(client, channel_payload(ANNA, None, thread=asked[2]["id"],
                                               value=submit_data(card_of(replies[2]), "Answer here anyway")))
    assert len(anyway) == 1 and "Asked before" not in anyway[0]["text"]
    assert "Azure Kubernetes Service" in anyway[0]["text"]

    # a thumbs down on one answer, from the thread it was given in
    thumbs = await say(client, channel_payload(CHLOE, None, thread=asked[DISLIKED]["id"],
                                               value=submit_data(card_of(replies[DISLIKED]), "Not helpful")))
    assert "Thanks" in thumbs[0]["text"] or "thank" in thumbs[0]["text"].lower()

    # a seller cannot end it; the summary is open to everyone, mid-session
    refused = await say(client, channel_payload(EMMA, "end session"))
    assert "Only channel managers and admins" in refused[0]["text"]
    so_far = await say(client, channel_payload(EMMA, "session summary"))
    assert "Readiness session so far: FY27 Azure partner incentives" in so_far[0]["text"]

    ended = await say(client, channel_payload(HOST, "end session"))
    assert len(ended) == 1
    digest = ended[0]
    text = digest["text"]
    card = card_of(digest)
    card_text = "\n".join(b.get("text", "") for b in _walk(card["body"]))
    assert "Readiness session digest: FY27 Azure partner incentives" in card_text
    questions_asked = len(SCRIPT) + 1                     # the "answer anyway" is a question too
    facts = {f["title"]: f["value"] for b in _walk(card["body"]) if b.get("type") == "FactSet" for f in b["facts"]}
    assert facts["Questions"] == str(questions_asked)
    assert facts["Askers"] == "6"
    assert facts["Repeats pointed"] == str(len(REPEATS))
    distinct = len(SCRIPT) - len(REPEATS)
    assert facts["Distinct"] == str(distinct)
    # the top clusters are the repeated questions, largest first: "AKS retail Poland" was asked 4 times
    top = text.split("## Top question clusters", 1)[1].split("##", 1)[0]
    assert top.strip().startswith(f"1. ×4 “{SCRIPT[0][1]}”")
    for earlier in set(REPEATS.values()) - {1}:
        assert f"×2 “{SCRIPT[earlier - 1][1]}”" in top
    # to follow up: the unanswerable question (no match) and the disliked one (thumbs down), nothing else
    follow = text.split("## To follow up", 1)[1].split("##", 1)[0]
    assert f"“{SCRIPT[UNANSWERABLE - 1][1]}” — no match" in follow
    assert f"“{SCRIPT[DISLIKED - 1][1]}” — 1 👎" in follow
    assert follow.count("“") == 2
    # answered, with their sources: the solution map rows and the program documents
    answered = text.split("## Answered", 1)[1]
    answered = answered.replace("\\", "")          # the posted digest is Markdown: paths have escaped underscores
    assert "solution_maps/solution_map_fy27.csv (row " in answered
    assert "programs/kubernetes-specialization.md" in answered
    assert "programs/ecif.md" in answered or "programs/ecif-guide.pdf" in answered

    # both exports, through the links the buttons return
    rows = await _download(client, card, "Export CSV")
    table = list(csv.DictReader(io.StringIO(rows.decode("utf-8-sig"))))
    assert len(table) == questions_asked
    assert sum(r["outcome"] == "repeat" for r in table) == len(REPEATS)
    assert {r["asker"] for r in table} == {p.name for p in [HOST, *SELLERS]}
    assert [r["thumbs_down"] for r in table if r["question"] == SCRIPT[DISLIKED - 1][1]] == ["1"]
    markdown = (await _download(client, card, "Export Markdown")).decode()
    assert markdown.startswith("# Readiness session digest: FY27 Azure partner incentives")
    assert SCRIPT[UNANSWERABLE - 1][1] in markdown

    # confidential notes were asked for in the channel (by a channel manager, even): none were shown,
    # and none are stored with the session, the feedback or the knowledge-gaps log
    assert all(CONFIDENTIAL not in r["text"] for r in replies.values())
    dump = "\n".join(sqlite3.connect(tmp_path / "partner-atlas.db").iterdump())
    assert CONFIDENTIAL not in dump and "Any internal notes on Xenoline Consulting?" in dump

    # the session is over: a repeat is answered in full again, and the summary shows the ended session
    after = await say(client, channel_payload(DEV, SCRIPT[0][1]))
    assert "Asked before" not in after[0]["text"]
    last = await say(client, channel_payload(DEV, "session summary"))
    assert "Readiness session digest: FY27 Azure partner incentives" in last[0]["text"]


async def _download(client: TestClient, card: dict[str, Any], title: str) -> bytes:
    """Press a digest's export button as Teams does (an adaptiveCard/action invoke): the link is noted under
    the same card, updated in place."""
    [action] = [a for a in card["actions"] if title in a["title"]]
    assert action["type"] == "Action.Execute" and action["verb"] == "session_export"
    payload = channel_payload(HOST, None, value={"action": {"type": "Action.Execute", "title": action["title"],
                                                           "verb": action["verb"], "data": action["data"]},
                                                "trigger": "manual"})
    payload.update(type="invoke", name="adaptiveCard/action")
    payload.pop("deliveryMode", None)
    response = await client.post("/api/messages", json=payload)
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["type"] == ADAPTIVE, body
    [note] = [b["text"] for b in body["value"]["body"] if b.get("id") == "export-note"]
    assert [a["title"] for a in body["value"]["actions"]] == [a["title"] for a in card["actions"]]
    url = re.search(r"\((http://[^)]+/exports/[^)]+)\)", note)
    assert url, note
    path = "/exports/" + url.group(1).rsplit("/exports/", 1)[1]
    response = await client.get(path)
    assert response.status == 200
    return await response.read()


def _walk(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        yield item
        for key in ("items", "columns"):
            yield from _walk(item.get(key) or [])


async def test_quiz_me_in_a_channel_thread_with_buttons(client: TestClient) -> None:
    """`quiz me on ECIF`: three questions from the records, answered by the card buttons, then the score."""
    start = channel_payload(ANNA, "quiz me on ECIF")
    replies = await say(client, start)
    assert replies[0]["replyToId"] == start["id"]
    assert "Quiz: End Customer Investment Funds (ECIF)" in replies[0]["text"] or "Quiz:" in replies[0]["text"]
    right = 0
    for number in range(1, 4):
        card = card_of(replies[-1])
        buttons = [a["data"] for a in card["actions"] if "quiz_answer" in a.get("data", {})]
        assert len(buttons) >= 2
        assert f"Question {number} of 3" in "\n".join(b.get("text", "") for b in _walk(card["body"]))
        replies = await say(client, channel_payload(ANNA, None, thread=start["id"], value=buttons[0]))
        verdict = replies[0]["text"]
        assert verdict.startswith(("✅ Right", "❌ Not quite")), verdict
        right += verdict.startswith("✅")
        assert "Source:" in verdict
    assert f"You got {right} of 3" in replies[-1]["text"]
    # a stale button (the quiz is over) is refused, not scored again
    stale = await say(client, channel_payload(ANNA, None, thread=start["id"], value=buttons[0]))
    assert "That quiz is over" in stale[0]["text"]


# --------------------------------------------------------------------------- who reads the digest later
SECOND_ECM = Person("Second Channel Manager", "00000000-0000-0000-0000-00000000e002")     # in "ecm" too
CONFIDENTIAL_DOC = "What do the FY27 partner business review notes say about partners on a delivery improvement plan?"
OPPORTUNITY = "What is the status of OPP-20001 for WoodFoods?"
PUBLIC = "What is ECIF?"
RESTRICTED_MARKS = ("fy27-partner-review-notes", "FY27 partner business review notes", "OPP-20001", "WoodFoods",
                    "Pioneerstack", "delivery improvement plan", "pipeline_export.csv")


@dataclass
class Room:
    """The Bot Connector's member list for the channel (GET /v3/conversations/{id}/members), as Teams answers."""

    url: str = ""
    members: list[Person] = field(default_factory=list)


@pytest.fixture
async def room() -> AsyncIterator[Room]:
    stub = Room()

    async def members(_: web.Request) -> web.Response:
        return web.json_response([{"id": f"29:{p.aad}", "name": p.name, "aadObjectId": p.aad} for p in stub.members])

    app = web.Application()
    app.router.add_get("/v3/conversations/{conversation}/members", members)
    app.router.add_get("/v3/conversations/{conversation}/pagedmembers", members)
    async with TestServer(app) as server:
        stub.url = str(server.make_url("")).rstrip("/")
        yield stub


@pytest.fixture
async def roster_client(engine: KnowledgeEngine, tmp_path: Path) -> AsyncIterator[TestClient]:
    slot = EngineSlot()
    slot.set_ready(engine)
    app = create_app(make_settings(data_dir=tmp_path, confidential_in_groups="roster"), slot)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


def in_room(room: Room, person: Person, text: str | None, **kwargs: Any) -> dict[str, Any]:
    return {**channel_payload(person, text, **kwargs), "serviceUrl": room.url}


async def test_a_digest_replays_confidential_answers_only_to_a_room_that_may_see_them(
        roster_client: TestClient, room: Room) -> None:
    """CONFIDENTIAL_IN_GROUPS=roster: two channel managers alone in the channel get a confidential document
    and an opportunity; a seller joins, and the summary, the repeat pointer, the exports and the final digest
    show those askings as restricted; once the seller has left, the channel managers see them again."""
    client = roster_client
    room.members = [HOST, SECOND_ECM]
    started = await say(client, in_room(room, HOST, 'start readiness session "Partner reviews"'))
    assert "Readiness session started" in started[0]["text"]
    replies = {}
    for question in (CONFIDENTIAL_DOC, OPPORTUNITY, PUBLIC):
        [replies[question]] = await say(client, in_room(room, HOST, question))
    # the room may see them: the answers were given (the control for what follows)
    assert "fy27-partner-review-notes" in json.dumps(replies[CONFIDENTIAL_DOC])
    assert "OPP-20001" in json.dumps(replies[OPPORTUNITY])
    so_far = json.dumps(await say(client, in_room(room, SECOND_ECM, "session summary")))
    assert "FY27 partner business review notes" in so_far and "OPP-20001" in so_far

    room.members.append(ANNA)                      # a seller joins the channel
    summary = await say(client, in_room(room, ANNA, "session summary"))
    shown = json.dumps(summary)
    assert not [m for m in RESTRICTED_MARKS if m in shown], [m for m in RESTRICTED_MARKS if m in shown]
    assert shown.count("(answer restricted)") >= 2 and "programs/ecif" in shown
    assert "3 questions from 1 asker" in summary[0]["text"]          # the counts stay: nothing is lost
    card = card_of(summary[0])
    for fmt in ("Export CSV", "Export Markdown"):
        exported = (await _download_in(client, room, ANNA, submit_data(card, fmt))).decode("utf-8-sig")
        assert not [m for m in RESTRICTED_MARKS if m in exported], (fmt, exported)
        assert "programs/ecif" in exported and "(question restricted)" in exported
    table = list(csv.DictReader(io.StringIO(
        (await _download_in(client, room, HOST, submit_data(card, "Export CSV"))).decode("utf-8-sig"))))
    assert [r["question"] for r in table] == ["(question restricted)", "(question restricted)", PUBLIC]

    # the seller asks the confidential question again: answered for them, never pointed to the earlier answer
    [again] = await say(client, in_room(room, ANNA, CONFIDENTIAL_DOC))
    assert "Asked before" not in again["text"] and "fy27-partner-review-notes" not in json.dumps(again)
    # a channel manager asking the public one again is still pointed to it
    [repeat] = await say(client, in_room(room, SECOND_ECM, PUBLIC))
    assert repeat["text"].startswith("🔁 Asked before in this session")

    ended = json.dumps(await say(client, in_room(room, HOST, "end session")))     # the seller is still there
    assert "Readiness session digest: Partner reviews" in ended
    assert not [m for m in RESTRICTED_MARKS if m in ended]

    room.members.remove(ANNA)                      # checked when read, not when asked: the room may see it again
    after = json.dumps(await say(client, in_room(room, HOST, "session summary")))
    assert "FY27 partner business review notes" in after and "OPP-20001" in after


async def _download_in(client: TestClient, room: Room, person: Person, data: dict[str, Any]) -> bytes:
    reply = await say(client, in_room(room, person, None, value=data))
    url = re.search(r"\((http://[^)]+/exports/[^)]+)\)", reply[0]["text"])
    assert url, reply[0]["text"]
    response = await client.get("/exports/" + url.group(1).rsplit("/exports/", 1)[1])
    assert response.status == 200
    return await response.read()
