"""Each structured answer type, through the engine's router, with access trimming on every path."""
from __future__ import annotations

import pytest

from knowledge.loader import load_knowledge
from retrieval.answers import Answer, AnswerKind
from retrieval.catalog import Catalog
from retrieval.engine import KnowledgeEngine
from tests.factories import (
    ECM,
    MAP_HEADER,
    MARKER,
    SELLER,
    default_map,
    default_partners,
    make_knowledge,
    partner,
    write_table,
)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeEngine:
    return KnowledgeEngine(Catalog(load_knowledge(make_knowledge(tmp_path_factory.mktemp("kb")), documents=False)), None)


def ask(engine: KnowledgeEngine, text: str, user: str = SELLER, conversation: str = "personal") -> Answer:
    return engine.answer(text, engine.user_context(user, conversation_type=conversation))


def all_text(answer: Answer) -> str:
    return repr(answer)


def test_coverage_ranks_map_partners_with_sourced_reasons(engine: KnowledgeEngine) -> None:
    answer = ask(engine, "Who can do AKS for a retail customer in Germany?")
    assert answer.kind is AnswerKind.COVERAGE
    # Alpha is on the map for DE with Retail on its row; Beta is on the map for DE but Manufacturing: a stated
    # industry is a filter, so Beta is left out and the answer says one partner was
    assert [p.name for p in answer.partners] == ["Alpha Cloud"]
    assert any("left out" in note for note in answer.notes)
    alpha = answer.partners[0]
    assert alpha.on_map and alpha.role == "Support"
    factors = {r.factor: r for r in alpha.reasons}
    assert factors["on_map"].source.path == "solution_maps/map.csv" and factors["on_map"].source.locator == "row 2"
    assert factors["industry"].source.locator == "row 2"
    assert factors["specialization"].source.path == "partners/P-1.yaml"
    assert factors["win"].detail.startswith("Win: Contoso Retail")
    assert all(r.source is not None for r in alpha.reasons if r.factor != "load")
    # profile-only evidence is separate and marked as off the map
    assert [p.name for p in answer.other_partners] == ["Delta Profile Only"]
    assert not answer.other_partners[0].on_map
    # Gamma (France only) is never offered for Germany
    assert "Gamma Digital" not in all_text(answer)


def test_no_capacity_is_a_stated_gap(engine: KnowledgeEngine) -> None:
    beta = next(p for p in ask(engine, "Which partners cover AKS in Germany?").partners if p.name == "Beta Systems")
    assert "fully booked for the next 90 days" in beta.gaps
    assert any(r.factor == "capacity" and r.points < 0 for r in beta.reasons)


def test_country_missing_is_said(engine: KnowledgeEngine) -> None:
    answer = ask(engine, "Who can do AKS?")
    assert "country" in answer.missing
    assert {p.name for p in answer.partners} == {"Alpha Cloud", "Beta Systems", "Gamma Digital"}


def test_region_covers_its_countries(engine: KnowledgeEngine) -> None:
    answer = ask(engine, "AKS partners in DACH")
    assert {p.name for p in answer.partners} == {"Alpha Cloud", "Beta Systems"}


def test_nothing_on_the_map_says_so_and_names_no_one_for_unknown_products(engine: KnowledgeEngine) -> None:
    answer = ask(engine, "Which partner covers Holographic Payroll Engine in Germany?")
    assert answer.kind is AnswerKind.NO_MATCH
    assert not answer.partners and not answer.other_partners
    assert "Holographic Payroll Engine" in answer.summary
    none_in_place = ask(engine, "Which partners cover Sentinel in Brazil?")
    assert none_in_place.kind is AnswerKind.NO_MATCH and not none_in_place.partners
    assert "No partner is on the solution map for Microsoft Sentinel in Brazil" in none_in_place.summary


def test_specialization_holders_in_a_place(engine: KnowledgeEngine) -> None:
    answer = ask(engine, "Which partners in Germany hold the Threat Protection specialization?")
    assert answer.kind is AnswerKind.SPECIALIZATION
    assert [p.name for p in answer.partners] == ["Epsilon Security"]   # Gamma holds it but delivers in France only
    assert answer.partners[0].reasons[0].detail == "Holds Threat Protection"


def test_incentive_eligibility_by_workload_segment_country_and_size(engine: KnowledgeEngine) -> None:
    answer = ask(engine, "Which incentive can fund AKS for an Enterprise customer in Germany with a deal of $600k?")
    assert answer.kind is AnswerKind.INCENTIVE
    assert [i.name for i in answer.incentives] == ["Azure Innovate - App Modernization", "ECIF - Strategic Deal Funding"]
    app_mod = answer.incentives[0]
    assert [p.name for p in app_mod.partners] == ["Alpha Cloud"]      # the only one with the Kubernetes specialization
    ecif = answer.incentives[1]
    assert "Beta Systems" not in [p.name for p in ecif.partners]   # not co-sell ready
    small = ask(engine, "Which incentive can fund AKS for an Enterprise customer in Germany with a deal of $20k?")
    assert small.kind is AnswerKind.NO_MATCH
    france = ask(engine, "What funding is available for AKS at an Enterprise customer in France (deal size $600,000)?")
    assert [i.name for i in france.incentives] == ["Azure Innovate - App Modernization"]   # ECIF: DE and US only


def test_incentive_missing_facts_are_named(engine: KnowledgeEngine) -> None:
    answer = ask(engine, "Which incentives fund AKS in Germany?")
    assert set(answer.missing) == {"segment", "deal size"}
    assert any("deal" in r for r in answer.incentives[0].reasons)


def test_attach_suggestions_for_an_opportunity(engine: KnowledgeEngine) -> None:
    answer = ask(engine, "Suggest partners for OPP-100", ECM)
    assert answer.kind is AnswerKind.ATTACH
    assert [p.name for p in answer.partners][:2] == ["Alpha Cloud", "Beta Systems"]
    assert answer.opportunities[0].opportunity_id == "OPP-100"


def test_pipeline_sweep_filters(engine: KnowledgeEngine) -> None:
    every = ask(engine, "Which AKS opportunities in Germany have no partner attached?", ECM)
    assert [o.opportunity_id for o in every.opportunities] == ["OPP-100", "OPP-101"]   # OPP-102 is attached
    assert every.opportunities[0].top_suggestion.name == "Alpha Cloud"
    big = ask(engine, "unattached AKS deals in Germany over $100k", ECM)
    assert [o.opportunity_id for o in big.opportunities] == ["OPP-100"]
    mine = ask(engine, "Which of my opportunities have no partner attached?", ECM)
    assert {o.opportunity_id for o in mine.opportunities} == {"OPP-100", "OPP-103", "OPP-104"}  # owner seller1


@pytest.mark.parametrize("question", ["Suggest partners for OPP-100", "Who is the owner of OPP-100 and what is it worth?",
                                      "Which of my opportunities have no partner attached?", "What is OPP-999?"])
def test_pipeline_is_denied_to_sellers(engine: KnowledgeEngine, question: str) -> None:
    answer = ask(engine, question, SELLER)
    assert answer.kind is AnswerKind.DENIED
    assert "seller1@example.com" not in all_text(answer) and "Account OPP" not in all_text(answer)


def test_pipeline_is_not_shown_in_group_chats_even_to_ecm(engine: KnowledgeEngine) -> None:
    answer = ask(engine, "Suggest partners for OPP-100", ECM, conversation="channel")
    assert answer.kind is AnswerKind.DENIED and "1:1" in answer.summary


def test_confidential_notes_only_for_their_group_in_private(engine: KnowledgeEngine) -> None:
    assert MARKER in all_text(ask(engine, "Any internal notes on Beta Systems?", ECM))
    for user, conversation in ((SELLER, "personal"), (ECM, "groupChat"), (ECM, "channel")):
        answer = ask(engine, "Tell me everything about Beta Systems", user, conversation)
        assert answer.kind is AnswerKind.PROFILE
        assert MARKER not in all_text(answer)


def test_opportunity_details_for_ecm(engine: KnowledgeEngine) -> None:
    # OPP-100 has no partner: a channel manager asking about it also gets who could take it
    answer = ask(engine, "Who is the owner of OPP-100 and what is it worth?", ECM)
    assert answer.kind is AnswerKind.ATTACH and answer.partners
    assert "seller1@example.com" in answer.summary and "$250,000" in answer.summary
    attached = ask(engine, "Who is the owner of OPP-102 and what is it worth?", ECM)
    assert attached.kind is AnswerKind.OPPORTUNITY and not attached.partners


def test_follow_ups_change_one_filter_of_the_previous_question(engine: KnowledgeEngine) -> None:
    user = engine.user_context(SELLER)
    first = engine.answer("Which partners cover AKS in Germany?", user)
    france = engine.answer("and in France?", user, previous=first.understood)
    assert france.kind is AnswerKind.COVERAGE and france.understood.follow_up
    assert [p.name for p in france.partners] == ["Gamma Digital"] and france.understood.countries == ("FR",)
    retail = engine.answer("what about retail?", user, previous=france.understood)
    assert retail.understood.countries == ("FR",) and retail.understood.industries == ("Retail",)
    # a message with its own subject is a new question, not a follow-up
    new = engine.answer("Which partners cover Sentinel in Germany?", user, previous=retail.understood)
    assert not new.understood.follow_up and [p.name for p in new.partners] == ["Epsilon Security"]


def test_a_clarifying_reply_completes_an_incentive_question(engine: KnowledgeEngine) -> None:
    user = engine.user_context(SELLER)
    first = engine.answer("Which incentives fund AKS for an Enterprise customer in Germany?", user)
    assert first.missing == ("deal size",)
    sized = engine.answer("$600k", user, previous=first.understood)
    assert sized.kind is AnswerKind.INCENTIVE and sized.missing == ()
    assert [i.name for i in sized.incentives] == ["Azure Innovate - App Modernization", "ECIF - Strategic Deal Funding"]


def test_understood_survives_conversation_state_round_trip(engine: KnowledgeEngine) -> None:
    from retrieval.answers import Understood
    understood = ask(engine, "Which partners cover AKS in DACH for retail?").understood
    assert Understood.from_dict(understood.to_dict()) == understood


def test_where_else_a_workload_is_covered_counts_every_map_partner_not_only_those_shown(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """Nobody in Spain: "most in …" names the countries with the most map partners for the workload, all of
    them counted, not just the few near misses ranked first (here four Leads in France outrank six Supports
    in the Netherlands)."""
    aks = ("Azure Kubernetes Service", "Build and Modernize AI Apps", "Digital & App Innovation (Azure)")
    leads = [(f"P-F{n}", f"France Lead {n}", "Lead", "FR") for n in range(4)]
    supports = [(f"P-N{n}", f"Dutch Support {n}", "Support", "NL") for n in range(6)]
    rows = default_map() + [
        {"solution_area": aks[2], "solution_play": aks[1], "workload": aks[0], "partner_id": pid, "partner_name": name,
         "role": role, "countries": country, "industries": "", "segments": "Enterprise", "fiscal_year": "FY27",
         "notes": ""} for pid, name, role, country in leads + supports]
    partners = default_partners() + [partner(pid, name, countries=[country], hq_country=country)
                                     for pid, name, _, country in leads + supports]
    root = make_knowledge(tmp_path_factory.mktemp("kb"), partners=partners)
    write_table(root / "solution_maps" / "map.csv", MAP_HEADER, rows)
    spain = KnowledgeEngine(Catalog(load_knowledge(root, documents=False)), None)
    answer = ask(spain, "Who covers AKS in Spain?")
    assert answer.kind is AnswerKind.NO_MATCH
    assert "most in Netherlands, France" in answer.summary, answer.summary
    assert answer.suggestions[0] == "Which partners cover Azure Kubernetes Service in Netherlands?"
