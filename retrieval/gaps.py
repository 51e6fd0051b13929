"""Coverage gaps for GTM feedback: where the pipeline needs partners the solution map does not have.

For each workload x country cell that has pipeline or map coverage: the partners on the map there,
their spare capacity (consultants available in the next 90 days), the open opportunities and the
value of those without a partner. Gap score = unattached pipeline value in $k / (1 + partners on the
map): the same money with fewer partners to take it is a bigger gap. Largest first.
"""
from __future__ import annotations

from collections import defaultdict

from knowledge.records import attached
from retrieval.answers import GapCell
from retrieval.catalog import Catalog
from retrieval.ranking import Need


def coverage_gaps(catalog: Catalog, need: Need, *, attached_here: frozenset[str] = frozenset()) -> list[GapCell]:
    """Cells for the workloads/plays/areas and countries of `need` (all when it names none), largest gap first.

    `attached_here`: opportunities marked attached in the attach workflow but not yet in the export.
    """
    workloads = set(need.workloads)
    for play in need.solution_plays:
        workloads.update(catalog.workloads_of_play(play))
    for area in need.solution_areas:
        workloads.update(catalog.workloads_of_area(area))
    countries = set(need.countries)

    def wanted(workload: str, country: str) -> bool:
        return (not workloads or workload in workloads) and (not countries or country in countries)

    partners: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in catalog.map_rows:
        for country in row.countries:
            if wanted(row.workload, country):
                partners[(row.workload, country)].add(catalog.partner_id_of(row))
    open_count: dict[tuple[str, str], int] = defaultdict(int)
    unattached: dict[tuple[str, str], int] = defaultdict(int)
    value: dict[tuple[str, str], float] = defaultdict(float)
    # the fields of every opportunity without building its record: this scans the whole pipeline
    for opp_id, workload, opp_country, industry, segment, usd, partner_id, partner_name in catalog.opportunities.fields(
            "id", "workload", "country", "industry", "segment", "estimated_value_usd", "partner_id", "partner_name"):
        if not workload or not opp_country or not wanted(workload, opp_country):
            continue
        if need.industries and industry not in need.industries:
            continue
        if need.segments and segment not in need.segments:
            continue
        key = (workload, opp_country)
        open_count[key] += 1
        if not attached(partner_id, partner_name) and opp_id not in attached_here:
            unattached[key] += 1
            value[key] += usd or 0.0
    cells = []
    for key in set(partners) | set(open_count):
        workload, country = key
        on_map = partners.get(key, set())
        spare = sum(max(0, catalog.partners[p].available_consultants_90d or 0) for p in on_map if p in catalog.partners)
        score = (value.get(key, 0.0) / 1000.0) / (1 + len(on_map))
        cells.append(GapCell(workload=workload, country=country, partners_on_map=len(on_map), spare_capacity=spare,
                             open_opportunities=open_count.get(key, 0), unattached_opportunities=unattached.get(key, 0),
                             pipeline_value_usd=value.get(key, 0.0), gap_score=round(score, 1)))
    cells.sort(key=lambda c: (-c.gap_score, -c.pipeline_value_usd, c.workload, c.country))
    return cells
