"""Co-sell referral answers at the engine level: stale, expiring, unlinked, status, reasons, customer wins,
team-ups and the share pre-flight, and who may see what (sellers, group chats, rosters)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from dialogs.render import answer_to_text
from knowledge.loader import load_knowledge
from retrieval import matchmaking
from retrieval.answers import Answer, AnswerKind
from retrieval.catalog import Catalog
from retrieval.decisions import DecisionStore
from retrieval.engine import KnowledgeEngine
from retrieval.share_store import ShareStore
from tests.factories import ECM, REFERRALS_AS_OF, SELLER, default_referrals, make_knowledge

AS_OF = f"(as of {REFERRALS_AS_OF})"


@pytest.fixture
def engine(tmp_path: Path) -> KnowledgeEngine:
    catalog = Catalog(load_knowledge(make_knowledge(tmp_path / "kb", referrals=default_referrals()), documents=False))
    return KnowledgeEngine(catalog, None, DecisionStore(tmp_path / "data" / "partner-atlas.db"))


def ask(engine: KnowledgeEngine, question: str, user: str = ECM, **context: object) -> Answer:
    return engine.answer(question, engine.user_context(user, **context))  # type: ignore[arg-type]


def ids(answer: Answer) -> list[str]:
    return [r.referral_id for r in answer.referrals]


def test_partner_led_referrals_waiting_for_microsoft(engine: KnowledgeEngine) -> None:
    answer = ask(engine, f"Which partner-led referrals are still waiting for a Microsoft response after more than "
                         f"5 days {AS_OF}?")
    assert answer.kind is AnswerKind.REFERRALS and ids(answer) == ["REF-9001"]      # REF-9002 waits only 2 days
    assert "waiting 11 days for a Microsoft response" in answer.referrals[0].waiting
    assert ids(ask(engine, f"partner-led referrals waiting for Microsoft more than 1 day {AS_OF}")) == \
        ["REF-9001", "REF-9002"]
    assert ids(ask(engine, f"Which partner-led referrals in France are still waiting for Microsoft {AS_OF}?")) == []
    mine = ask(engine, f"my partner-led referrals pending for more than 1 day {AS_OF}")   # the ECM's e-mail as seller
    assert ids(mine) == ["REF-9002"]


def test_shared_referrals_about_to_expire_as_of_a_date(engine: KnowledgeEngine) -> None:
    answer = ask(engine, f"Which referrals Microsoft shared with partners expire within the next 7 days {AS_OF}?")
    assert ids(answer) == ["REF-9003"] and answer.referrals[0].waiting == "expires in 3 days"
    assert ids(ask(engine, "Which referrals Microsoft shared with partners expire in the next 2 days, as of "
                           "2026-12-01?")) == []
    later = ask(engine, "shared referrals expiring within 7 days as of 10 December 2026")
    assert ids(later) == [] and "No referral shared with a partner expires" in later.summary


def test_partner_led_deals_without_a_microsoft_opportunity(engine: KnowledgeEngine) -> None:
    answer = ask(engine, "Partner-led deals in Germany that no Microsoft seller has picked up yet (no CRM ID)?")
    assert ids(answer) == ["REF-9001"]                                   # REF-9006 has no CRM ID but is closed
    assert ids(ask(engine, "Which open partner-led referrals in France have no CRM ID?")) == []


def test_status_of_the_referrals_on_an_opportunity_a_partner_and_an_id(engine: KnowledgeEngine) -> None:
    answer = ask(engine, "Has OPP-100 been shared with a partner?")
    assert ids(answer) == ["REF-9003", "REF-9004"]                       # newest first
    assert "Beta Systems: Pending" in answer.summary and "Alpha Cloud: Declined" in answer.summary
    assert "Requirements not met" in answer_to_text(answer)
    assert ids(ask(engine, "What's the status of the referral on OPP-103?")) == []
    assert "has not been shared" in ask(engine, "What's the status of the referral on OPP-103?").summary
    with_partner = ask(engine, "referrals with Beta Systems")
    assert ids(with_partner) == ["REF-9002", "REF-9003"]                 # open ones, newest first
    assert ask(engine, "where does REF-9999 stand?").summary == "I found no co-sell referral REF-9999 in the referrals export."
    assert ask(engine, "where does REF-9999 stand?", SELLER).kind is AnswerKind.DENIED    # not even "not found"
    detail = ask(engine, "where does REF-9004 stand?")
    assert ids(detail) == ["REF-9004"] and any("OPP-100 (Account OPP-100" in f.value for f in detail.facts)


def test_an_opportunity_answer_shows_its_referrals_for_channel_managers_only(engine: KnowledgeEngine) -> None:
    suggestions = ask(engine, "Suggest partners for OPP-100")
    assert suggestions.kind is AnswerKind.ATTACH and ids(suggestions) == ["REF-9003", "REF-9004"]
    assert any("Beta Systems Pending" in n for n in suggestions.notes)
    assert ids(ask(engine, "Suggest partners for OPP-100", conversation_type="groupChat")) == []


def test_declined_and_lost_reasons(engine: KnowledgeEngine) -> None:
    answer = ask(engine, "Why were referrals declined or lost?")
    facts = {f.label: f.value for f in answer.facts}
    assert "Requirements not met: 1" in facts["By reason"] and "Budget: 1" in facts["By reason"]
    assert "Alpha Cloud: 1" in facts["By partner"] and "France: 1" in facts["By country"]
    assert ids(ask(engine, "declined referral reasons in France")) == ["REF-9006"]


def test_customer_wins_from_profiles_and_won_referrals_with_strict_filters(engine: KnowledgeEngine) -> None:
    ecm = ask(engine, "Show me customer wins for Sentinel in financial services")
    assert ecm.kind is AnswerKind.WINS
    assert [(w.customer, w.source) for w in ecm.wins] == [("Northwind Secret Bank", "REF-9005")]
    aks = ask(engine, "customer wins in DACH for AKS")
    assert [w.customer for w in aks.wins] == ["Contoso Retail"]
    assert ask(engine, "customer wins for AKS in France").wins == ()        # strict: the win is in Germany
    assert ask(engine, "customer wins for AKS in manufacturing").wins == ()  # strict: the win is retail
    seller = ask(engine, "Show me customer wins for Sentinel in financial services", SELLER)
    assert seller.wins == () and "Northwind" not in answer_to_text(seller)
    group = ask(engine, "Show me customer wins for Sentinel in financial services", conversation_type="groupChat")
    assert group.wins == () and "Northwind" not in answer_to_text(group)      # a group chat: profile wins only
    roster = ask(engine, "Show me customer wins for Sentinel in financial services", conversation_type="groupChat",
                 shared_groups=frozenset({"ecm"}))
    assert [w.customer for w in roster.wins] == ["Northwind Secret Bank"]     # everyone in it is a channel manager
    assert [w.customer for w in ask(engine, "customer wins in DACH for AKS", SELLER).wins] == ["Contoso Retail"]
    assert ask(engine, "show me customer wins").kind is AnswerKind.CLARIFY


@pytest.mark.parametrize("question", [
    f"Which partner-led referrals are still waiting for a Microsoft response after more than 5 days {AS_OF}?",
    f"Which referrals Microsoft shared with partners expire within the next 7 days {AS_OF}?",
    "Partner-led deals in Germany that no Microsoft seller has picked up yet (no CRM ID)?",
    "Has OPP-100 been shared with a partner?", "where does REF-9004 stand?", "referrals with Beta Systems",
    "Why were referrals declined or lost?", "share OPP-103 with Gamma Digital",
])
def test_sellers_and_group_chats_see_no_referral(engine: KnowledgeEngine, question: str) -> None:
    secrets = {r["referral_id"] for r in default_referrals()} | {"Fabrikam Stale", "Northwind Secret", "Tailspin Lost"}
    for user, context in ((SELLER, {}), (ECM, {"conversation_type": "groupChat"}), (ECM, {"conversation_type": "channel"})):
        answer = ask(engine, question, user, **context)
        text = answer_to_text(answer)
        assert answer.kind is AnswerKind.DENIED, (question, user, context)
        assert not [s for s in secrets if s in text] and not re.search(r"REF-\d+", text)
    in_private = "1:1 chat" in ask(engine, question, ECM, conversation_type="groupChat").summary
    assert in_private
    # a group chat whose roster is all channel managers may see them
    roster = ask(engine, question, ECM, conversation_type="groupChat", shared_groups=frozenset({"ecm"}))
    assert roster.kind is not AnswerKind.DENIED


def test_team_up_suggests_partners_that_bring_what_the_first_one_lacks(engine: KnowledgeEngine) -> None:
    answer = ask(engine, "Who could team up with Beta Systems on AKS in Germany?", SELLER)   # public facts only
    assert answer.kind is AnswerKind.TEAM_UP
    lacks = " ".join(f.value for f in answer.facts)
    assert "not co-sell ready" in lacks and "only 0 consultants" in lacks
    assert answer.partners[0].name == "Alpha Cloud"
    top = answer.partners[0].reasons[0]
    assert top.factor == "complements" and "co-sell ready" in top.detail and "8 consultants" in top.detail
    assert "Beta Systems" not in [p.name for p in answer.partners]
    assert ask(engine, "Who could team up with Beta Systems?").kind is AnswerKind.CLARIFY


def test_an_attach_suggestion_proposes_a_pair_when_the_best_partner_leaves_a_gap(engine: KnowledgeEngine) -> None:
    catalog = engine.catalog
    beta = next(p for p in ask(engine, "Suggest partners for OPP-101").partners if p.name == "Beta Systems")
    note = matchmaking.pair_note(catalog, beta, catalog.opportunities["OPP-101"])   # Beta: not co-sell ready, no capacity
    assert note.startswith("No single partner covers everything: Beta Systems is the best fit but")
    assert "Pair it with Alpha Cloud (specialization Kubernetes on Microsoft Azure; 8 consultants available in the "\
           "next 90 days; co-sell ready)" in note
    alpha = ask(engine, "Suggest partners for OPP-101").partners[0]
    assert alpha.name == "Alpha Cloud" and matchmaking.pair_note(catalog, alpha, catalog.opportunities["OPP-101"]) == ""


def test_share_preflight_refuses_with_the_reason(engine: KnowledgeEngine) -> None:
    not_on_map = ask(engine, "share OPP-100 with Epsilon Security")
    assert not_on_map.kind is AnswerKind.SHARE and not_on_map.share is None
    assert "neither on the map nor any profile evidence" in not_on_map.summary
    not_ready = ask(engine, "share OPP-101 with Beta Systems")
    assert not_ready.share is None and "co-sell ready" in not_ready.summary and "capacity" in not_ready.summary
    declined = ask(engine, "share OPP-100 with Alpha Cloud")
    assert declined.share is None and "REF-9004 with Alpha Cloud on Account OPP-100 is Declined" in declined.summary
    ready = ask(engine, "Should I share OPP-103 with Gamma Digital?")
    assert ready.share is not None and (ready.share.opportunity_id, ready.share.partner_id) == ("OPP-103", "P-3")
    assert all(f.label.startswith(("✓", "!")) or f.label == "Incentives the deal fits" for f in ready.facts)


def test_a_confirmed_share_is_recorded_survives_a_restart_and_gives_the_import_row(
        tmp_path: Path, engine: KnowledgeEngine) -> None:
    ecm = engine.user_context(ECM, name="ECM One")
    assert engine.share(engine.user_context(SELLER), "OPP-103", "P-3")[0].kind is AnswerKind.DENIED
    refused, table = engine.share(ecm, "OPP-100", "P-5")
    assert refused.kind is AnswerKind.SHARE and table is None
    answer, table = engine.share(ecm, "OPP-103", "P-3")
    assert answer.kind is AnswerKind.SHARED and "Shared with Gamma Digital (ECM One" in answer.summary
    assert table is not None
    header, rows = table
    row = dict(zip(header, rows[0], strict=True))
    assert header[:3] == ["Engagement ID", "Referral ID", "Deal name"] and len(header) == 30
    assert (row["CRM ID"], row["Partner ID"], row["Direction"], row["Deal type"], row["Customer country"]) == \
        ("OPP-103", "P-3", "Incoming", "Co-sell", "FR")
    engine.close()
    [decision] = ShareStore(tmp_path / "data" / "partner-atlas.db").all()
    assert (decision.opportunity_id, decision.partner_name, decision.decided_by) == ("OPP-103", "Gamma Digital",
                                                                                     "ECM One")
    assert decision.import_row["CRM ID"] == "OPP-103"


def test_questions_about_referrals_in_general_go_to_the_documents(engine: KnowledgeEngine) -> None:
    for question in ("tips for getting more co-sell referrals from MSFT?",
                     "once a deal's marked won/lost can we still edit it?", "how do I accept a pending referral?",
                     "what happens when a co-sell referral expires?"):
        assert ask(engine, question).kind not in (AnswerKind.REFERRALS, AnswerKind.WINS, AnswerKind.DENIED)


def test_counting_and_other_phrasings_still_list(engine: KnowledgeEngine) -> None:
    assert ids(ask(engine, f"how many partner-led referrals are overdue {AS_OF}?")) == ["REF-9001"]
    assert ids(ask(engine, f"Which referrals has Microsoft not replied to, partner-led, in Germany {AS_OF}?")) == \
        ["REF-9001"]
    assert ids(ask(engine, "open co-sell referrals in France")) == []          # REF-9006 is closed
    assert ids(ask(engine, "open co-sell referrals in Germany")) == ["REF-9002", "REF-9003", "REF-9001"]   # newest first


def test_coverage_gaps_name_the_declined_and_lost_referrals_in_their_cells(engine: KnowledgeEngine) -> None:
    gaps = ask(engine, "coverage gaps")
    assert gaps.kind is AnswerKind.GAPS
    assert any("Azure Kubernetes Service in DE: 1 (Requirements not met)" in n for n in gaps.notes)
    assert not any("co-sell referrals" in n for n in ask(engine, "coverage gaps", conversation_type="channel").notes)


def test_coverage_questions_with_deal_words_stay_coverage(engine: KnowledgeEngine) -> None:
    for question in ("Which partners can help us win an AKS deal in Germany?",
                     "Which partners can help with a co-sell deal for AKS in Germany?",
                     "Who can do AKS for a retail customer in Germany?"):
        assert ask(engine, question).kind is AnswerKind.COVERAGE, question


def test_confirmed_shares_are_in_the_decisions_export(engine: KnowledgeEngine) -> None:
    ecm = engine.user_context(ECM, name="ECM One")
    engine.decide(ecm, "OPP-100", "P-1", "propose", "Lead here")
    engine.share(ecm, "OPP-103", "P-3")
    export = engine.export_decisions(ecm)
    assert export is not None
    _, rows = export
    assert [(r[0], r[2], r[3]) for r in rows] == [("OPP-100", "Alpha Cloud", "propose"),
                                                 ("OPP-103", "Gamma Digital", "share")]
