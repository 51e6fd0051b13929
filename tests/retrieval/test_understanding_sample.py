"""The issue's own examples, on the embedded sample folder: how sellers actually type."""
from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.loader import load_knowledge
from retrieval.answers import Answer, AnswerKind
from retrieval.catalog import Catalog
from retrieval.engine import KnowledgeEngine
from tests.factories import SELLER

SAMPLE = Path(__file__).resolve().parents[2] / "knowledge" / "sample"


@pytest.fixture(scope="module")
def engine() -> KnowledgeEngine:
    return KnowledgeEngine(Catalog(load_knowledge(SAMPLE, documents=False)), None)


def ask(engine: KnowledgeEngine, text: str) -> Answer:
    return engine.answer(text, engine.user_context(SELLER))


def listed(answer: Answer) -> list[str]:
    return [p.name for p in (*answer.partners, *answer.other_partners)]


@pytest.mark.parametrize("text", ["partner for azure kubernetis servce in germany",
                                  "Wer kann AKS in Deutschland liefern?"])
def test_misspelt_and_german_questions_get_the_english_answer(engine: KnowledgeEngine, text: str) -> None:
    english = ask(engine, "Which partners cover Azure Kubernetes Service in Germany?")
    answer = ask(engine, text)
    assert answer.understood.workloads == ("Azure Kubernetes Service",) and answer.understood.countries == ("DE",)
    assert listed(answer) == listed(english) and listed(english)


def test_a_lower_case_code_is_the_country(engine: KnowledgeEngine) -> None:
    answer = ask(engine, "anyone doing intune in nl")
    assert answer.understood.workloads == ("Microsoft Intune",) and answer.understood.countries == ("NL",)


def test_a_rollout_is_not_an_unknown_product(engine: KnowledgeEngine) -> None:
    answer = ask(engine, "is there budget from Microsoft to cover the cost of an intune rollout? enterprise, germany, 200k")
    understood = answer.understood
    assert understood.unknown_terms == () and "rollout" not in answer.summary.lower()
    assert understood.workloads == ("Microsoft Intune",) and understood.countries == ("DE",)
    assert understood.segments == ("Enterprise",) and understood.deal_usd == 200_000


def test_an_excluded_partner_on_the_row_is_not_listed(engine: KnowledgeEngine) -> None:
    everyone = ask(engine, "AKS partners in Germany")
    left_out = everyone.partners[0].name
    answer = ask(engine, f"AKS partners in Germany except {left_out}")
    assert answer.kind in (AnswerKind.COVERAGE, AnswerKind.NO_MATCH)
    assert left_out not in listed(answer) and left_out not in answer.summary


@pytest.mark.parametrize(("text", "country"), [("partners for AKS in ES?", "ES"), ("who does Sentinel in AT", "AT"),
                                               ("need AKS help, customer in IT", "IT")])
def test_a_capital_code_that_is_also_a_word_is_a_country_after_a_place_word(engine: KnowledgeEngine, text: str,
                                                                            country: str) -> None:
    assert ask(engine, text).understood.countries == (country,)


@pytest.mark.parametrize("text", ["IT partners for AKS in Germany", "is it AKS in Germany"])
def test_the_same_letters_elsewhere_stay_words(engine: KnowledgeEngine, text: str) -> None:
    assert ask(engine, text).understood.countries == ("DE",)
