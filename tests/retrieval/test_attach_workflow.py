"""Attach decisions and coverage gaps at the engine level: sourced reasons, dismissals honoured, durable store."""
from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.loader import load_knowledge
from retrieval.answers import AnswerKind
from retrieval.catalog import Catalog
from retrieval.decisions import DecisionStore
from retrieval.engine import KnowledgeEngine
from tests.factories import ECM, SELLER, make_knowledge


@pytest.fixture
def engine(tmp_path: Path) -> KnowledgeEngine:
    catalog = Catalog(load_knowledge(make_knowledge(tmp_path / "kb"), documents=False))
    return KnowledgeEngine(catalog, None, DecisionStore(tmp_path / "data" / "decisions.db"))


def test_every_ranking_factor_names_its_source(engine: KnowledgeEngine) -> None:
    answer = engine.answer("Suggest partners for OPP-100", engine.user_context(ECM))
    top = answer.partners[0]
    assert top.name == "Alpha Cloud"
    sources = {r.factor: r.source for r in top.reasons}
    assert sources["on_map"].path == "solution_maps/map.csv" and sources["on_map"].locator == "row 2"
    assert sources["role"].locator == "row 2"
    assert sources["specialization"].path == "partners/P-1.yaml" and sources["specialization"].locator == "specializations"
    assert sources["win"].locator == "wins: Contoso Retail"
    assert sources["capacity"].locator == "capacity"
    for reason in top.reasons:
        assert reason.factor == "load" or reason.source is not None, reason


def test_a_dismissed_partner_is_not_suggested_again_for_that_opportunity(engine: KnowledgeEngine) -> None:
    ecm = engine.user_context(ECM)
    before = [p.name for p in engine.answer("Suggest partners for OPP-100", ecm).partners]
    assert before[0] == "Alpha Cloud"
    decided = engine.decide(ecm, "OPP-100", "P-1", "dismiss", "customer prefers a local Lead partner")
    assert decided.kind is AnswerKind.DECISION and "Dismissed Alpha Cloud" in decided.summary
    after = engine.answer("Suggest partners for OPP-100", ecm)
    assert "Alpha Cloud" not in [p.name for p in after.partners + after.other_partners]
    assert any("(dismissed for this opportunity): Alpha Cloud" in n for n in after.notes)
    # only for that opportunity
    assert engine.answer("Suggest partners for OPP-101", ecm).partners[0].name == "Alpha Cloud"
    sweep = engine.answer("Which AKS opportunities in Germany have no partner attached?", ecm)
    line = next(o for o in sweep.opportunities if o.opportunity_id == "OPP-100")
    assert line.top_suggestion.name != "Alpha Cloud"
    assert line.decisions[0].reason == "customer prefers a local Lead partner"


def test_dismissal_needs_a_reason_and_only_ecm_in_private_may_decide(engine: KnowledgeEngine) -> None:
    assert engine.decide(engine.user_context(ECM), "OPP-100", "P-1", "dismiss", " ").kind is AnswerKind.CLARIFY
    assert engine.decide(engine.user_context(SELLER), "OPP-100", "P-1", "propose").kind is AnswerKind.DENIED
    in_channel = engine.user_context(ECM, conversation_type="channel")
    assert engine.decide(in_channel, "OPP-100", "P-1", "propose").kind is AnswerKind.DENIED
    assert engine.decide(engine.user_context(ECM), "OPP-999", "P-1", "propose").kind is AnswerKind.NO_MATCH
    assert engine.decisions is not None and engine.decisions.all() == []


def test_marked_attached_leaves_the_sweep_and_is_named(engine: KnowledgeEngine) -> None:
    ecm = engine.user_context(ECM)
    engine.decide(ecm, "OPP-101", "P-2", "attach")
    sweep = engine.answer("Which AKS opportunities in Germany have no partner attached?", ecm)
    assert [o.opportunity_id for o in sweep.opportunities] == ["OPP-100"]
    assert any("Marked attached here since the pipeline export: OPP-101" in n for n in sweep.notes)


def test_decisions_survive_a_restart(tmp_path: Path, engine: KnowledgeEngine) -> None:
    engine.decide(engine.user_context(ECM, name="ECM One"), "OPP-100", "P-2", "propose", "strong Lead on the map")
    reopened = DecisionStore(tmp_path / "data" / "decisions.db")
    [decision] = reopened.all()
    assert (decision.opportunity_id, decision.partner_name, decision.action, decision.decided_by) == \
        ("OPP-100", "Beta Systems", "propose", "ECM One")


def test_sweep_export_has_every_row_not_only_the_first_page(engine: KnowledgeEngine) -> None:
    ecm = engine.user_context(ECM)
    header, rows = engine.export_sweep("Which opportunities have no partner attached?", ecm)
    assert header[0] == "opportunity_id" and "top_suggestion" in header
    assert sorted(r[0] for r in rows) == ["OPP-100", "OPP-101", "OPP-103", "OPP-104"]
    assert engine.export_sweep("Which opportunities have no partner attached?", engine.user_context(SELLER)) is None


def test_coverage_gaps_put_pipeline_without_map_partners_first(engine: KnowledgeEngine) -> None:
    gaps = engine.answer("Show coverage gaps", engine.user_context(ECM))
    assert gaps.kind is AnswerKind.GAPS
    cells = {(c.workload, c.country): c for c in gaps.gaps}
    aks_de = cells[("Azure Kubernetes Service", "DE")]
    assert (aks_de.partners_on_map, aks_de.unattached_opportunities, aks_de.pipeline_value_usd) == (2, 2, 290_000)
    assert aks_de.spare_capacity == 8                     # Alpha 8 + Beta 0
    sentinel_de = cells[("Microsoft Sentinel", "DE")]
    assert sentinel_de.partners_on_map == 1 and sentinel_de.pipeline_value_usd == 80_000
    aks_fr = cells[("Azure Kubernetes Service", "FR")]
    assert gaps.gaps[0].gap_score >= aks_fr.gap_score
    assert [c.gap_score for c in gaps.gaps] == sorted((c.gap_score for c in gaps.gaps), reverse=True)
    assert engine.answer("Show coverage gaps", engine.user_context(SELLER)).kind is AnswerKind.DENIED


def test_the_sweeps_fast_top_suggestion_equals_the_full_rankings_top() -> None:
    from retrieval import structured

    catalog = Catalog(load_knowledge(Path(__file__).resolve().parents[2] / "knowledge" / "sample", documents=False))
    compared = 0
    for opportunity in catalog.opportunities.values():
        need = structured.need_for(opportunity)
        exact, partial, _ = structured.rank_for_need(catalog, need)
        full = sorted(exact + partial, key=lambda m: (-m.score, m.name))
        fast = structured.top_suggestion(catalog, need)
        assert (fast.name, fast.score) == (full[0].name, full[0].score) if full else fast is None, opportunity.id
        compared += bool(full)
    assert compared >= 30


def test_gaps_export_has_every_cell_not_only_the_cards_forty(engine: KnowledgeEngine) -> None:
    ecm = engine.user_context(ECM)
    header, rows = engine.export_gaps("coverage gaps", ecm)
    shown = engine.answer("coverage gaps", ecm).gaps
    assert header[:2] == ["workload", "country"]
    assert [(r[0], r[1]) for r in rows if r[-1] > 0] == [(c.workload, c.country) for c in shown]
    assert engine.export_gaps("coverage gaps", engine.user_context(SELLER)) is None
    assert engine.export_gaps("Which partners cover AKS in Germany?", ecm) is None


def test_the_sweeps_points_only_score_equals_the_full_scores_points() -> None:
    from retrieval import structured
    from retrieval.fit_points import fit_points
    from retrieval.ranking import row_fits, score_partner

    catalog = Catalog(load_knowledge(Path(__file__).resolve().parents[2] / "knowledge" / "sample", documents=False))
    compared = 0
    for opportunity in catalog.opportunities.values():
        need = structured.need_for(opportunity)
        for partner_id, partner in catalog.partners.items():
            rows = [r for r in catalog.rows_by_partner.get(partner_id, []) if row_fits(r, need, catalog)]
            assert fit_points(partner, rows, need, catalog) == score_partner(partner, partner_id, rows, need,
                                                                             catalog).score, (opportunity.id, partner_id)
            compared += bool(rows)
    assert compared >= 30
