"""Intent from meaning and the answers composed from it, on the sample knowledge plus the bank's invented partners.

The classifier is held to the check half of the paraphrase bank (never used to tune it); each composed answer
(fit yes / no, comparison, suggestions for an opportunity, incentives beside coverage) is asked through the
engine, and the same facts in many phrasings must give the same answer.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from bench.understanding import check_engine, evaluate
from knowledge.loader import load_knowledge
from retrieval import structured
from retrieval.answers import Answer, AnswerKind
from retrieval.catalog import Catalog
from retrieval.engine import KnowledgeEngine
from retrieval.understanding.intent import INTENTS, load_examples, shared_classifier
from retrieval.understanding.masking import mask
from tests.factories import ECM, SELLER

# Measured with bench/understanding.py when the bank was written: intent 0.87, route 0.85 on 279 check questions.
# The floors sit a few points under, so a real regression fails and a one-question wobble does not.
INTENT_FLOOR = 0.80
ROUTE_FLOOR = 0.78
KIND_FLOOR = 0.50

pytestmark = pytest.mark.skipif(shared_classifier() is None, reason="the MiniLM model package is not installed")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeEngine:
    return check_engine(tmp_path_factory.mktemp("bank") / "knowledge")


def ask(engine: KnowledgeEngine, text: str, user: str = SELLER) -> Answer:
    return engine.answer(text, engine.user_context(user))


def test_check_half_is_understood_above_the_floor(engine: KnowledgeEngine) -> None:
    check = [e for e in load_examples() if not e.tuning]
    assert {e.kind for e in check} == set(INTENTS) and all(sum(e.kind == k for e in check) >= 20 for k in INTENTS)
    scores, _ = evaluate(engine, check)
    n = sum(s.n for s in scores.values())
    intent = sum(s.intent for s in scores.values()) / n
    route = sum(s.route for s in scores.values()) / n
    print(f"check half: {n} questions, intent accuracy {intent:.3f}, route accuracy {route:.3f}; per kind "
          + ", ".join(f"{k} {s.intent / s.n:.2f}" for k, s in sorted(scores.items())))
    assert intent >= INTENT_FLOOR and route >= ROUTE_FLOOR
    assert all(s.intent / s.n >= KIND_FLOOR for s in scores.values()), {k: s.misses for k, s in scores.items()}


def test_the_bank_is_split_and_every_kind_has_forty_phrasings_in_six_languages() -> None:
    examples = load_examples()
    for kind in INTENTS:
        mine = [e for e in examples if e.kind == kind]
        assert len(mine) >= 40, kind
        assert sum(e.tuning for e in mine) == (len(mine) + 1) // 2
        texts = " ".join(e.text for e in mine)
        assert any("\u3040" <= ch <= "\u30ff" for ch in texts), f"{kind}: no Japanese phrasing"
    assert len({e.text for e in examples}) == len(examples)


def test_the_shape_hides_the_catalog_names(engine: KnowledgeEngine) -> None:
    shape = mask("is Deltawave Consulting on the map for AKS in France? 200k, OPP-20001", engine.catalog.vocabulary)
    assert shape == "is <partner> on the map for <workload> in <country> ? <amount> , <opportunity>"
    german = mask("Welche Partner decken Microsoft Sentinel in Österreich ab?", engine.catalog.vocabulary)
    assert german.startswith("which partner cover <workload> in <country>")


def test_fit_yes_names_the_map_row(engine: KnowledgeEngine) -> None:
    answer = ask(engine, "is Fjordcloud Labs on the map for Sentinel in Spain?")
    assert answer.kind is AnswerKind.FIT
    assert answer.summary.startswith("Yes — Fjordcloud Labs is on the FY27 solution map for Microsoft Sentinel in Spain (Lead)")
    check = answer.facts[0]
    assert check.label == "Checked" and check.source is not None and check.source.path.startswith("solution_maps/")
    assert [p.name for p in answer.partners] == ["Fjordcloud Labs"]


def test_fit_no_says_where_the_partner_does_cover_it(engine: KnowledgeEngine) -> None:
    answer = ask(engine, "is Deltawave Consulting on the map for AKS in France?")
    assert answer.kind is AnswerKind.FIT
    assert answer.summary == ("No — Deltawave Consulting is not on the solution map for Azure Kubernetes Service in "
                              "France; it covers Azure Kubernetes Service in Germany, Poland.")
    assert answer.facts[0].label == "Does not fit" and answer.facts[0].source is not None
    assert answer.suggestions == ("Which partners cover Azure Kubernetes Service in France?",)


def test_fit_on_a_credential_the_partner_lacks(engine: KnowledgeEngine) -> None:
    answer = ask(engine, "has Fjordcloud Labs earned Identity and Access Management?")
    assert answer.kind is AnswerKind.FIT and answer.summary.startswith("No — Fjordcloud Labs does not hold Identity "
                                                                        "and Access Management")


def test_two_named_partners_are_compared_side_by_side(engine: KnowledgeEngine) -> None:
    answer = ask(engine, "Fjordcloud Labs or Umbraridge Advisory for Defender XDR?")
    assert answer.kind is AnswerKind.COMPARISON
    assert {p.name for p in answer.partners} == {"Fjordcloud Labs", "Umbraridge Advisory"}
    labels = {f.label for f in answer.facts}
    for name in ("Fjordcloud Labs", "Umbraridge Advisory"):
        for aspect in ("fit", "on the map", "countries", "specializations", "co-sell ready", "capacity", "wins"):
            assert f"{name} — {aspect}" in labels
    assert all(f.source is not None for f in answer.facts)


def test_an_ecm_asking_anything_about_an_unattached_opportunity_gets_suggestions(engine: KnowledgeEngine) -> None:
    staffed = ask(engine, "OPP-20031 - who would you staff on this one?", ECM)
    assert staffed.kind is AnswerKind.ATTACH
    assert {p.name for p in staffed.partners} == {"Summitforge Group", "Junipergate IT"}
    detail = ask(engine, "what stage is OPP-20031 at?", ECM)
    assert detail.kind is AnswerKind.ATTACH and detail.partners == staffed.partners
    assert "stage" in detail.summary and detail.summary.startswith("OPP-20031:")


def test_a_seller_gets_no_pipeline_however_the_opportunity_question_is_put(engine: KnowledgeEngine) -> None:
    for text in ("OPP-20031 - who would you staff on this one?", "what stage is OPP-20031 at?",
                 "show my unattached deals", "where are our coverage gaps?"):
        answer = ask(engine, text, SELLER)
        assert answer.kind is AnswerKind.DENIED, text
        assert "OPP-" not in repr(answer)


def test_coverage_for_a_deal_carries_the_incentives_that_fit(engine: KnowledgeEngine) -> None:
    # the segment is a filter: a deal where an Enterprise partner is on the map (in Spain none is)
    answer = ask(engine, "which partners cover Defender XDR in Sweden? enterprise customer, $300k deal")
    assert answer.kind is AnswerKind.COVERAGE and answer.partners
    funding = structured.incentives(engine.catalog, "Microsoft Defender XDR", "Enterprise", "SE", 300_000.0,
                                    answer.understood)
    assert funding.incentives and answer.incentives == funding.incentives
    plain = ask(engine, "which partners cover Defender XDR in Sweden?")
    assert not plain.incentives


def test_funding_asked_without_funding_words_is_an_incentive_question(engine: KnowledgeEngine) -> None:
    answer = ask(engine, "could Microsoft chip in on the cost of a Sentinel deployment? enterprise, Spain, 200k")
    assert answer.understood.intent == "incentive"
    assert answer.kind in (AnswerKind.INCENTIVE, AnswerKind.NO_MATCH) and "incentive" in answer.summary.lower()


METAMORPHIC = {
    "coverage": ["Which partners cover AKS in Poland?", "aks poland - who?", "need a partner for Azure Kubernetes "
                 "Service, customer is in Poland", "Poland, AKS: which partners?", "who's on the map for AKS in PL",
                 "got an AKS deal in Poland - who is on the map?"],
    "fit": ["is Deltawave Consulting on the map for AKS in Poland?", "can Deltawave Consulting do AKS in Poland",
            "Deltawave Consulting for AKS in PL - fit?", "would Deltawave Consulting work for an AKS deal in Poland?",
            "does Deltawave Consulting cover Azure Kubernetes Service in Poland"],
    "comparison": ["compare Deltawave Consulting and Pioneerstack Systems for AKS in Poland",
                   "Deltawave Consulting vs Pioneerstack Systems on AKS in Poland",
                   "Pioneerstack Systems or Deltawave Consulting for an AKS project in Poland?",
                   "which is better for AKS in Poland: Deltawave Consulting or Pioneerstack Systems"],
}


@pytest.mark.parametrize("kind", sorted(METAMORPHIC))
def test_the_same_facts_in_many_phrasings_give_the_same_answer(engine: KnowledgeEngine, kind: str) -> None:
    answers = [ask(engine, text) for text in METAMORPHIC[kind]]
    assert {a.kind.value for a in answers} == {kind}, [(t, a.kind.value) for t, a in zip(METAMORPHIC[kind], answers, strict=True)]
    assert len({tuple(p.name for p in a.partners) for a in answers}) == 1
    assert answers[0].partners
    if kind == "fit":
        assert all(a.summary.startswith("Yes — Deltawave Consulting") for a in answers)


def test_without_the_model_the_facts_alone_still_route(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import retrieval.engine as engine_module

    monkeypatch.setattr(engine_module, "shared_classifier", lambda embedder="minilm": None)
    engine = KnowledgeEngine(Catalog(load_knowledge(Path(__file__).resolve().parents[2] / "knowledge" / "sample",
                                                    documents=False)), None)
    assert ask(engine, "Deltawave Consulting vs Pioneerstack Systems").kind is AnswerKind.COMPARISON
    assert ask(engine, "is Deltawave Consulting on the map for AKS in France?").kind is AnswerKind.FIT
    assert ask(engine, "AKS in Poland").kind is AnswerKind.COVERAGE


def test_a_bank_naming_an_unknown_kind_is_refused(tmp_path: Path) -> None:
    bank = tmp_path / "paraphrases.yaml"
    bank.write_text('coverage:\n  - ["who does AKS in Germany", {}]\nweather:\n  - ["is it raining", {}]\n',
                    encoding="utf-8")
    with pytest.raises(ValueError, match="unknown answer kind 'weather'"):
        load_examples(bank)
