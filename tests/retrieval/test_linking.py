"""Entity linking: aliases, places by name/adjective/code/region, amounts, ids, unknown product names."""
from __future__ import annotations

import pytest

from knowledge.loader import load_knowledge
from retrieval.catalog import Catalog
from retrieval.linking import link
from tests.factories import make_knowledge


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    return Catalog(load_knowledge(make_knowledge(tmp_path_factory.mktemp("kb")), documents=False))


@pytest.mark.parametrize(("text", "workload"), [
    ("Who can do AKS in Germany?", "Azure Kubernetes Service"),
    ("partners for azure kubernetes service", "Azure Kubernetes Service"),
    ("Kubernetes Service partners", "Azure Kubernetes Service"),   # derived: brand prefix dropped
    ("who does sentinel", "Microsoft Sentinel"),
])
def test_workload_aliases(catalog: Catalog, text: str, workload: str) -> None:
    assert link(text, catalog).names("workload") == [workload]


@pytest.mark.parametrize(("text", "codes"), [
    ("in Germany", ("DE",)), ("a German customer", ("DE",)), ("in DE", ("DE",)), ("in the Netherlands", ("NL",)),
    ("anywhere in DACH", ("DE", "AT", "CH")), ("Nordics", ("SE", "NO", "DK", "FI", "IS")), ("Brazil", ("BR",)),
    ("in the UK", ("GB",)), ("ANZ accounts", ("AU", "NZ")), ("Benelux", ("BE", "NL", "LU")),
])
def test_places(catalog: Catalog, text: str, codes: tuple[str, ...]) -> None:
    assert link(f"AKS partners {text}", catalog).countries == codes


def test_ambiguous_two_letter_words_are_not_countries(catalog: Catalog) -> None:
    linked = link("Which IT partner does AI for AKS? It is for us", catalog)
    assert linked.countries == ()


@pytest.mark.parametrize(("text", "deal", "minimum"), [
    ("an enterprise deal of $150k", 150_000, None), ("deal size $60,000", 60_000, None), ("worth 1.2M", 1_200_000, None),
    ("deals over $100k", None, 100_000), ("Windows 365 in FY27 for 2026", None, None),
])
def test_amounts(catalog: Catalog, text: str, deal: float | None, minimum: float | None) -> None:
    linked = link(text, catalog)
    assert (linked.deal_usd, linked.value_min) == (deal, minimum)


def test_opportunity_ids_known_and_unknown(catalog: Catalog) -> None:
    linked = link("suggest partners for opp-100 and OPP-999", catalog)
    assert linked.opportunity_ids == ["OPP-100"]
    assert linked.unknown_opportunity_ids == ["OPP-999"]


def test_industry_segment_and_partner(catalog: Catalog) -> None:
    linked = link("Does Alpha Cloud do AKS for a retail enterprise?", catalog)
    assert linked.names("partner") == ["P-1"]
    assert linked.names("industry") == ["Retail"] and linked.names("segment") == ["Enterprise"]


def test_unknown_product_name_is_not_read_as_the_known_word_inside_it(catalog: Catalog) -> None:
    linked = link("Which partner covers Quantum Kubernetes Teleporter in Austria?", catalog)
    assert linked.names("workload") == []
    assert linked.unknown_terms == ["Quantum Kubernetes Teleporter"]
    assert linked.countries == ("AT",)


def test_specialization_aliases_need_specialization_context(catalog: Catalog) -> None:
    assert link("Who has the Kubernetes specialization?", catalog).names("specialization") == ["Kubernetes on Microsoft Azure"]
    assert link("Who does Kubernetes in Germany?", catalog).names("specialization") == []


def test_lowercase_unknown_words_against_a_product_name_make_an_unknown_product(catalog: Catalog) -> None:
    linked = link("which partner does quantum teleport sentinel in austria", catalog)
    assert linked.names("workload") == [] and linked.unknown_terms == ["quantum teleport sentinel"]
    assert link("need someone for sentinel in austria, retail", catalog).names("workload") == ["Microsoft Sentinel"]
