"""Confidential answers in group chats and channels only when every member may see them (CONFIDENTIAL_IN_GROUPS).

Unit tests of the roster check with a scripted member list, and the real app in a group chat and a
channel whose rosters come from a Bot Connector stub (GET /v3/conversations/{id}/members), on the
embedded sample folder's pipeline.
"""
from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from botbuilder.schema import Activity

from channel.turn import read_activity
from dialogs.roster import MAX_MEMBERS, RosterCheck
from dialogs.turn import Member, Turn
from knowledge.loader import load_knowledge
from retrieval.catalog import Catalog
from retrieval.engine import KnowledgeEngine, UserContext
from tests.dialogs.fakes import teams_activity
from tests.support.server import start_bot

SAMPLE = Path(__file__).resolve().parents[2] / "knowledge" / "sample"
ECM_1, ECM_2 = "00000000-0000-0000-0000-00000000e001", "00000000-0000-0000-0000-00000000e002"
SELLER = "5e11e500-0000-4000-8000-000000000009"
GROUPS = {ECM_1: frozenset({"ecm"}), ECM_2: frozenset({"ecm", "admins"}), SELLER: frozenset()}
SWEEP = "Which opportunities have no partner attached?"


def activity(kind: str, conversation: str = "19:abc@thread.v2") -> Turn:
    payload = teams_activity("channel_message_mention.json", id=str(uuid.uuid4()), text="hi")
    payload["conversation"] = {**payload["conversation"], "conversationType": kind, "id": conversation}
    return read_activity(Activity().deserialize(payload))


@dataclass
class Members:
    ids: list[str]
    calls: int = 0
    error: Exception | None = None

    async def __call__(self, _: Turn) -> list[Member]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return [Member(f"29:{aad}" if aad else "", aad) for aad in self.ids]


def groups_of(member: str) -> frozenset[str]:
    return GROUPS.get(member, frozenset())


async def test_off_by_default_the_roster_is_never_asked() -> None:
    members = Members([ECM_1, ECM_2])
    check = RosterCheck(members=members)
    assert not check.enabled
    assert await check.shared_groups(activity("channel"), groups_of) == frozenset()
    assert members.calls == 0


async def test_the_groups_every_member_shares() -> None:
    members = Members([ECM_1, ECM_2])
    check = RosterCheck("roster", members=members)
    assert await check.shared_groups(activity("groupChat"), groups_of) == frozenset({"ecm"})
    members.ids.append(SELLER)
    assert await RosterCheck("roster", members=members).shared_groups(activity("groupChat"), groups_of) == frozenset()


@pytest.mark.parametrize("ids, error", [
    ([ECM_1, ""], None),                                   # a member without an Entra id (a guest, a bot)
    ([ECM_1] * (MAX_MEMBERS + 1), None),                   # too large to trust a cached answer with
    ([], None),
    ([ECM_1], RuntimeError("connector down")),             # a roster we cannot read
])
async def test_any_doubt_denies(ids: list[str], error: Exception | None) -> None:
    check = RosterCheck("roster", members=Members(ids, error=error))
    assert await check.shared_groups(activity("channel"), groups_of) == frozenset()


async def test_a_1to1_chat_never_asks_for_a_roster() -> None:
    members = Members([ECM_1])
    assert await RosterCheck("roster", members=members).shared_groups(activity("personal"), groups_of) == frozenset()
    assert members.calls == 0


async def test_rosters_are_cached_per_conversation_not_per_thread() -> None:
    now = [0.0]
    members = Members([ECM_1, ECM_2])
    check = RosterCheck("roster", members=members, clock=lambda: now[0], cache_seconds=300)
    await check.shared_groups(activity("channel", "19:team@thread.tacv2;messageid=1"), groups_of)
    await check.shared_groups(activity("channel", "19:team@thread.tacv2;messageid=2"), groups_of)
    assert members.calls == 1
    members.ids.append(SELLER)                      # someone joins: seen once the cached roster expires
    now[0] = 301.0
    assert await check.shared_groups(activity("channel", "19:team@thread.tacv2;messageid=3"), groups_of) == frozenset()
    assert members.calls == 2


def test_unknown_modes_are_refused() -> None:
    with pytest.raises(ValueError, match="CONFIDENTIAL_IN_GROUPS"):
        RosterCheck("everyone")


def test_may_see_needs_the_asker_and_in_a_group_everyone() -> None:
    ecm = UserContext(ECM_1, frozenset({"ecm"}), conversation_type="channel")
    assert not ecm.sees_pipeline and not ecm.may_see(["ecm"])
    assert UserContext(ECM_1, frozenset({"ecm"}), conversation_type="channel", shared_groups=frozenset({"ecm"})).sees_pipeline
    # the room may see it, but the asker may not: still nothing
    assert not UserContext(SELLER, frozenset(), conversation_type="channel", shared_groups=frozenset({"ecm"})).sees_pipeline
    assert UserContext(ECM_1, frozenset({"ecm"})).sees_pipeline           # 1:1, as before


# --------------------------------------------------------------------------- over HTTP
@dataclass
class Roster:
    url: str = ""
    members: dict[str, list[str]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)


@pytest.fixture
async def roster() -> AsyncIterator[Roster]:
    stub = Roster()

    async def members(request: web.Request) -> web.Response:
        conversation = request.match_info["conversation"]
        stub.asked.append(conversation)
        return web.json_response([{"id": f"29:{n}", "name": f"Member {n}", "aadObjectId": aad}
                                  for n, aad in enumerate(stub.members.get(conversation, []))])

    app = web.Application()
    app.router.add_get("/v3/conversations/{conversation}/members", members)
    app.router.add_get("/v3/conversations/{conversation}/pagedmembers", members)
    async with TestServer(app) as server:
        stub.url = str(server.make_url("")).rstrip("/")
        yield stub


def group_question(stub: Roster, kind: str, conversation: str, sender: str, text: str) -> dict[str, Any]:
    payload = teams_activity("channel_message_mention.json", id=str(uuid.uuid4()), serviceUrl=stub.url,
                             deliveryMode="expectReplies", text=f"<at>My Combined</at> {text}")
    payload["from"] = {**payload["from"], "aadObjectId": sender}
    payload["conversation"] = {**payload["conversation"], "conversationType": kind, "id": conversation}
    if kind == "groupChat":
        payload["channelData"] = {"tenant": payload["channelData"]["tenant"]}
    return payload


@pytest.mark.parametrize("kind", ["groupChat", "channel"])
async def test_a_room_of_channel_managers_sees_the_sweep_and_a_seller_joining_hides_it(
        roster: Roster, kind: str, tmp_path: Path) -> None:
    engine = KnowledgeEngine(Catalog(load_knowledge(SAMPLE, documents=False)), None)
    conversation = "19:ecm-room@thread.v2" if kind == "groupChat" else "19:ecm-room@thread.tacv2;messageid=17"
    payload = group_question(roster, kind, conversation, ECM_1, SWEEP)
    key = conversation     # botbuilder asks for the activity's conversation: Teams answers with the team's roster
    roster.members[key] = [ECM_1, ECM_2]
    client, running = await start_bot(roster, engine, data_dir=tmp_path, confidential_in_groups="roster")  # type: ignore[arg-type]
    try:
        status, replies = await running.ask(payload)
        assert status == 200 and roster.asked
        assert re.search(r"OPP-\d+", json.dumps(replies)), "a room of channel managers sees the pipeline"
        # the message everyone sees carries no channel-manager buttons (their clients refresh it: below)
        posted = [{k: v for k, v in a["content"].items() if k != "refresh"}
                  for r in replies for a in r.get("attachments", [])]
        assert '"verb": "export"' not in json.dumps(posted)
        roster.members[key].append(SELLER)
        client2, running2 = await start_bot(roster, engine, data_dir=tmp_path / "2",  # type: ignore[arg-type]
                                            confidential_in_groups="roster")
        try:
            status, replies = await running2.ask(group_question(roster, kind, conversation, ECM_1, SWEEP))
            assert status == 200 and replies
            assert not re.search(r"OPP-\d+", json.dumps(replies)), "a seller in the room: nothing of the pipeline"
        finally:
            await client2.close()
    finally:
        await client.close()


async def test_without_the_setting_a_room_of_channel_managers_sees_nothing(roster: Roster, tmp_path: Path) -> None:
    engine = KnowledgeEngine(Catalog(load_knowledge(SAMPLE, documents=False)), None)
    roster.members["19:ecm-room@thread.v2"] = [ECM_1, ECM_2]
    client, running = await start_bot(roster, engine, data_dir=tmp_path)  # type: ignore[arg-type]
    try:
        status, replies = await running.ask(group_question(roster, "groupChat", "19:ecm-room@thread.v2", ECM_1, SWEEP))
        assert status == 200 and replies and not re.search(r"OPP-\d+", json.dumps(replies))
        assert roster.asked == []
    finally:
        await client.close()


def room_press(stub: Roster, conversation: str, sender: str, action: dict[str, Any]) -> dict[str, Any]:
    """Teams' adaptiveCard/action invoke for a button (or the card's refresh) pressed in a group chat."""
    payload = teams_activity("invoke_adaptive_card_action.json", id=f"f:{uuid.uuid4()}", serviceUrl=stub.url)
    payload["from"] = {**payload["from"], "aadObjectId": sender}
    payload["conversation"] = {**payload["conversation"], "id": conversation, "conversationType": "groupChat",
                               "isGroup": True}
    payload["value"] = {"action": {"type": "Action.Execute", "title": action.get("title", ""),
                                   "verb": action["verb"], "data": action["data"]},
                        "trigger": "automatic" if action["verb"] == "refresh" else "manual"}
    return payload


def verbs(card: object) -> set[str]:
    found: set[str] = set()
    if isinstance(card, dict):
        if card.get("type") == "Action.Execute":
            found.add(str(card.get("verb")))
        for value in card.values():
            found |= verbs(value)
    elif isinstance(card, list):
        for item in card:
            found |= verbs(item)
    return found


async def test_in_a_room_of_channel_managers_only_their_clients_refresh_the_card_into_the_one_with_buttons(
        roster: Roster, tmp_path: Path) -> None:
    engine = KnowledgeEngine(Catalog(load_knowledge(SAMPLE, documents=False)), None)
    conversation = "19:ecm-room@thread.v2"
    roster.members[conversation] = [ECM_1, ECM_2]
    client, running = await start_bot(roster, engine, data_dir=tmp_path, confidential_in_groups="roster")  # type: ignore[arg-type]
    try:
        status, replies = await running.ask(group_question(roster, "groupChat", conversation, ECM_1, SWEEP))
        assert status == 200
        [card] = [a["content"] for r in replies for a in r.get("attachments", []) if "refresh" in a["content"]]
        # what everyone sees: the read-only card, which the managers' clients (and only theirs) refresh
        assert "export" not in verbs({k: v for k, v in card.items() if k != "refresh"})
        assert card["refresh"]["userIds"] == ["29:0", "29:1"]
        refresh = card["refresh"]["action"]

        async def invoke(sender: str, action: dict[str, Any]) -> dict[str, Any]:
            response = await running.post(room_press(roster, conversation, sender, action))
            assert response.status == 200, await response.text()
            body: dict[str, Any] = await response.json()
            return body

        whole = (await invoke(ECM_2, refresh))["value"]
        assert {"export"} <= verbs(whole), "a channel manager's client gets the card with the managers' buttons"
        export = next(a for a in _actions(whole) if a.get("verb") == "export")
        done = await invoke(ECM_1, export)
        assert "/exports/" in json.dumps(done), "and a press on it works in the room"
        # a forged refresh or press from someone else in that conversation: the read-only card, a refusal
        forged = await invoke(SELLER, refresh)
        assert forged["type"] == "application/vnd.microsoft.card.adaptive" and "export" not in verbs(
            {k: v for k, v in forged["value"].items() if k != "refresh"})
        refused = await invoke(SELLER, export)
        assert "/exports/" not in json.dumps(refused) and "not available" in json.dumps(refused).lower()
    finally:
        await client.close()


def _actions(card: object) -> list[dict[str, Any]]:
    if isinstance(card, dict):
        own = [card] if str(card.get("type", "")).startswith("Action.") else []
        return own + [a for value in card.values() for a in _actions(value)]
    if isinstance(card, list):
        return [a for item in card for a in _actions(item)]
    return []
