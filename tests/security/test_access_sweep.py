"""Access trimming over every answer path, measured with marker strings from the parsed records.

The dev catalog (with two confidential documents planted: one for `ecm`, one for `admins` only) behind
the real HTTP app. Every dev question (and referral question) plus probes for the pipeline, co-sell
referrals, confidential notes and documents, exports, sweeps, quizzes and sessions is asked by
- a seller (in no group) in a 1:1 chat,
- a channel manager (`ecm`) in a group chat, and in a channel:
none of them may see a confidential marker they did not type. Confidential content is shown only in a
1:1 chat by default (CONFIDENTIAL_IN_GROUPS=off: a group conversation is denied even if all its members
happen to be allowed; the opt-in roster check is tested in tests/dialogs/test_roster.py). The same channel manager in a 1:1 chat is the control: markers do show there.
"""
from __future__ import annotations

import copy
import itertools
import json
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from knowledge.loader import load_knowledge
from retrieval.engine import KnowledgeEngine
from retrieval.indexer import build_index
from retrieval.loading import load_engine
from tests.dialogs.fakes import SHARED, personal_message, teams_activity
from tests.security.markers import REGISTERED, confidential_markers, leaks
from tests.support.server import Bot, Connector, messages_of, start_bot

DEV = SHARED / "catalog-dev"
SELLER = "00000000-0000-0000-0000-00000000c999"     # in no group of the dev access.yaml
PLANTED = {
    "programs/ecm/pricing-playbook.md": """---
title: ECM pricing playbook FY27
visibility: confidential
---
# Discount guardrails
Channel managers may approve partner-led discounts of up to eighteen percent on migration deals before escalation.

# Escalation contacts
Escalate partner disputes to the channel council chaired by the Northwind regional leadership team.
""",
    "programs/admins/rebate-audit.md": """---
title: Rebate audit findings
allowed_groups: [admins]
---
# Findings
The rebate audit found duplicated claims from three partners in the Nordics during the second quarter.
""",
}
PROBES = [
    "What are the discount guardrails for channel managers?",
    "Show me the ECM pricing playbook",
    "Who chairs the channel council for partner disputes?",
    "What did the rebate audit find?",
    "Show my pipeline",
    "Which opportunities have no partner attached?",
    "Which of my opportunities have no partner attached in Germany?",
    "List all opportunities over $1M",
    "Who owns OPP-20001 and what is it worth?",
    "Suggest partners for OPP-20001",
    "sweep now",
    "subscribe",
    "Any internal notes on Dunemark Consulting?",
    "Show the confidential notes for every partner under review",
    "what can you quiz me on",
    "start a quiz on Azure Migrate and Modernize",
    "summary",
    "start",
    "knowledge gaps",
    "coverage gaps in Germany",
    "help",
    "REF-843334",
    "referrals with Umbrahub Systems",
    "share OPP-20058 with Umbrahub Systems",
    "Why were referrals declined or lost?",
    "customer wins for Power Apps in healthcare",
    "open co-sell referrals in the Netherlands",
]


@dataclass
class Tally:
    asked: int = 0
    replies: int = 0
    shown_markers: int = 0
    leaked: dict[str, list[str]] = field(default_factory=dict)


RESULTS: dict[str, Tally] = {}


@pytest.fixture(scope="module")
def dev_knowledge(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dev") / "knowledge"
    shutil.copytree(DEV / "knowledge", root)
    for rel, text in PLANTED.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def markers(dev_knowledge: Path) -> dict[str, str]:
    kb = load_knowledge(dev_knowledge)
    found = confidential_markers(kb)
    kinds = {why.split(" ")[0] for why in found.values()}
    assert {"notes", "opportunity", "confidential", "referral"} <= kinds, kinds
    assert sum(why.startswith("confidential document") for why in found.values()) >= 3
    REGISTERED.update({m: f"{why} (planted by the access sweep)" for m, why in found.items()
                       if why.startswith("confidential document")})
    return found


@pytest.fixture(scope="module")
def engine(dev_knowledge: Path, tmp_path_factory: pytest.TempPathFactory) -> KnowledgeEngine:
    index = tmp_path_factory.mktemp("dev-index")
    build_index(dev_knowledge, index, embedder="hashing", progress=False)
    return load_engine(dev_knowledge, index, embedder="hashing")


def questions() -> list[str]:
    lines = [line for name in ("questions.jsonl", "questions_referrals.jsonl")
             for line in (DEV / name).read_text(encoding="utf-8").splitlines()]
    return [json.loads(line)["question"] for line in lines if line.strip()] + PROBES


_ids = itertools.count(1_764_000_000_000)


def group_message(connector: Connector, text: str, aad_object_id: str, kind: str,
                  conversation: str) -> dict[str, Any]:
    payload = teams_activity("channel_message_mention.json", id=str(next(_ids)), serviceUrl=connector.url,
                             deliveryMode="expectReplies", text=f"<at>My Combined</at> {text}")
    payload["from"] = {**payload["from"], "aadObjectId": aad_object_id}
    payload["conversation"] = {**payload["conversation"], "conversationType": kind, "id": conversation}
    if kind == "groupChat":
        payload["channelData"] = {"tenant": copy.deepcopy(payload["channelData"]["tenant"])}
    return payload


def shown(reply: dict[str, Any]) -> str:
    return json.dumps({k: reply.get(k) for k in ("text", "attachments", "suggestedActions", "summary")},
                      ensure_ascii=False)


async def sweep(bot: Bot, persona: str, make: Any, markers: dict[str, str]) -> Tally:
    tally = RESULTS.setdefault(persona, Tally())
    for question in questions():
        response = await bot.post(make(question))
        assert response.status == 200, (persona, question, response.status)
        replies = messages_of((await response.json())["activities"])
        tally.asked += 1
        tally.replies += len(replies)
        text = "\n".join(shown(r) for r in replies)
        found = leaks(text, markers, typed=question)
        if found:
            tally.shown_markers += 1
            tally.leaked[question] = sorted(set(found.values()))[:5]
    return tally


@pytest.fixture
async def dev_bot(connector: Connector, engine: KnowledgeEngine, tmp_path: Path) -> AsyncIterator[Bot]:
    client, running = await start_bot(connector, engine, data_dir=tmp_path)   # type: ignore[arg-type]
    try:
        yield running
    finally:
        await client.close()


async def test_a_seller_in_a_1to1_chat_sees_no_confidential_marker(dev_bot: Bot, markers: dict[str, str]) -> None:
    conversation = f"a:{uuid.uuid4()}"

    def make(question: str) -> dict[str, Any]:
        payload = personal_message(question, aad_object_id=SELLER, serviceUrl=dev_bot.connector.url)
        payload["conversation"] = {**payload["conversation"], "id": conversation}
        return payload

    tally = await sweep(dev_bot, "seller, 1:1 chat", make, markers)
    assert tally.replies >= tally.asked
    assert tally.leaked == {}


@pytest.mark.parametrize("kind", ["groupChat", "channel"])
async def test_a_channel_manager_in_a_group_conversation_sees_no_confidential_marker(
        dev_bot: Bot, markers: dict[str, str], kind: str, engine: KnowledgeEngine) -> None:
    ecm = next(m.aad_object_id for m in engine.catalog.access.groups["ecm"])
    conversation = f"19:{uuid.uuid4().hex}@thread.v2" if kind == "groupChat" else \
        "19:097e6717fd7245bdbeba6baa13840db8@thread.skype;messageid=1571537152320"
    tally = await sweep(dev_bot, f"ECM, {kind}", lambda q: group_message(dev_bot.connector, q, ecm, kind, conversation),
                        markers)
    assert tally.replies >= tally.asked
    assert tally.leaked == {}


async def test_control_the_same_channel_manager_in_a_1to1_chat_does_see_them(
        dev_bot: Bot, markers: dict[str, str], engine: KnowledgeEngine) -> None:
    ecm = next(m.aad_object_id for m in engine.catalog.access.groups["ecm"])
    conversation = f"a:{uuid.uuid4()}"

    def make(question: str) -> dict[str, Any]:
        payload = personal_message(question, aad_object_id=ecm, serviceUrl=dev_bot.connector.url)
        payload["conversation"] = {**payload["conversation"], "id": conversation}
        return payload

    tally = await sweep(dev_bot, "control: ECM, 1:1 chat", make, markers)
    kinds = {why.split(" ")[0] for shown_kinds in tally.leaked.values() for why in shown_kinds}
    assert {"notes", "opportunity", "confidential", "referral"} <= kinds, kinds      # the markers are detectable
    seen_docs = {why for shown_kinds in tally.leaked.values() for why in shown_kinds if why.startswith("confidential")}
    assert seen_docs == {"confidential document programs/ecm/pricing-playbook.md"}   # never the admins-only one


def test_print_the_access_matrix(markers: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    if not RESULTS:
        pytest.skip("run with the sweeps above")
    kinds: dict[str, int] = {}
    for why in markers.values():
        key = why.split(" ")[0]
        kinds[key] = kinds.get(key, 0) + 1
    with capsys.disabled():
        print(f"\nmarkers from the parsed records: {len(markers)} ({', '.join(f'{k} {v}' for k, v in kinds.items())})")
        print(f"{'persona':<26} {'asked':>5} {'replies':>7} {'replies showing a marker':>25}")
        for persona, tally in RESULTS.items():
            print(f"{persona:<26} {tally.asked:>5} {tally.replies:>7} {tally.shown_markers:>25}")
    assert all(t.shown_markers == 0 for p, t in RESULTS.items() if not p.startswith("control"))
