"""What a recorded asking is restricted to (dialogs/audience.py), on the real engine over the sample folder's
records: the pipeline, a partner's confidential notes, and what anyone may see."""
from __future__ import annotations

from pathlib import Path

import pytest

from dialogs import audience
from knowledge.loader import load_knowledge
from retrieval.catalog import Catalog
from retrieval.engine import KnowledgeEngine, UserContext

SAMPLE = Path(__file__).resolve().parents[2] / "knowledge" / "sample"
ECM = "00000000-0000-0000-0000-00000000e001"
ADMIN = "00000000-0000-0000-0000-00000000a001"


@pytest.fixture(scope="module")
def engine() -> KnowledgeEngine:
    return KnowledgeEngine(Catalog(load_knowledge(SAMPLE, documents=False)), None)


@pytest.mark.parametrize(("question", "expected"), [
    ("What is the status of OPP-20001?", (("ecm",),)),                     # one opportunity
    ("What is the status of OPP-99999?", (("ecm",),)),                     # not found, but it names a deal
    ("Which opportunities have no partner attached?", (("ecm",),)),        # the sweep
    ("Any internal notes on Xenoline Consulting?", (("ecm",),)),           # the partner's confidential notes
    ("Who can do AKS for a retail customer in Poland?", ()),               # the map: anyone
])
def test_what_a_channel_managers_answer_is_restricted_to(engine: KnowledgeEngine, question: str,
                                                         expected: tuple[tuple[str, ...], ...]) -> None:
    ecm = engine.user_context(ECM)                                         # 1:1: everything they may see is shown
    answer = engine.answer(question, ecm)
    assert audience.restrictions(engine, question, answer) == expected
    assert audience.may_read(ecm, expected)
    assert audience.may_read(engine.user_context(ADMIN), expected) == (expected == ())


def test_a_refusal_is_restricted_like_what_it_refused(engine: KnowledgeEngine) -> None:
    seller = engine.user_context("5e11e500-0000-4000-8000-000000000001")
    question = "What is the status of OPP-20001 for WoodFoods?"
    answer = engine.answer(question, seller)
    assert answer.kind.value == "denied"
    assert audience.restrictions(engine, question, answer) == (("ecm",),)


def test_in_a_channel_everyone_must_be_allowed() -> None:
    restricted = (("ecm",),)
    room = UserContext(ECM, frozenset({"ecm"}), conversation_type="channel", shared_groups=frozenset({"ecm"}))
    assert audience.may_read(room, restricted)
    assert not audience.may_read(UserContext(ECM, frozenset({"ecm"}), conversation_type="channel"), restricted)
    assert not audience.may_read(None, restricted) and audience.may_read(None, ())
    assert audience.load("not json") == (("ecm",),)                        # unreadable: restricted
