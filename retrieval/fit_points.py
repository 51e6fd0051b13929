"""A partner's fit score alone, for the pipeline sweep: the points `score_partner` would give, without its text.

A sweep of 100,000 opportunities ranks a few thousand needs and re-scores a handful of partners for
each customer industry; building every reason's sentence and citation (as `score_partner` does for
what is shown) was most of its time. `fit_points` adds the same points in the same order (so the float
sum is the same), and `top_partner` ranks with it and builds the full `PartnerMatch` only for the
partner it names. tests/retrieval/test_attach_workflow.py checks both against the full ranking.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import replace

from knowledge.records import MapRow, Partner
from retrieval.answers import PartnerMatch
from retrieval.catalog import Catalog
from retrieval.ranking import Need, _best_row, _evidences, candidate_rows, row_fits, score_partner, weights

Ranked = list[tuple[float, str, str]]   # (score, name, partner id) in ranking order


def fit_points(partner: Partner | None, rows: list[MapRow], need: Need, catalog: Catalog,
               *, today: dt.date | None = None) -> float:
    """score_partner(partner, …, rows, need, catalog).score, computed without building reasons."""
    w = weights()
    today = today or dt.date.today()
    points: list[float] = []

    def add(value: float) -> None:
        if value:
            points.append(round(value, 1))

    best = _best_row(rows, need)
    asked = set(need.workloads)
    industry_found = False
    if best is not None:
        add(w["on_map"])
        add(w["role"].get(best.role, 0))
        if any(i in best.industries for i in need.industries):
            add(w["industry_on_map"])
            industry_found = bool(w["industry_on_map"])
        asked.add(best.workload)
    if partner is None:
        return round(sum(points), 1)
    if best is None:
        listed = [wl for wl in need.workloads if wl in partner.workloads]
        if listed:
            add(w["workload_in_profile"])
            asked.update(listed)
    if need.industries and not industry_found and any(i in partner.industries for i in need.industries):
        add(w["industry_in_profile"])
    if need.segments:
        segments = set(best.segments if best and best.segments else partner.segments)
        if any(s in segments for s in need.segments):
            add(w["segment"])
    if any(_evidences(s, asked, catalog) for s in partner.specializations):
        add(w["specialization"])
    areas = {catalog.area_of.get(wl, "") for wl in asked} - {""}
    if any(any(a.lower() in d.lower() for a in areas) for d in partner.designations):
        add(w["designation"])
    for value in _win_points(partner, asked, need, today)[: w["max_wins"]]:
        add(value)
    available = partner.available_consultants_90d
    if available is not None:
        add(w["no_capacity"] if available <= 0 else min(w["capacity_max"], available * w["capacity_per_consultant"]))
    if partner.co_sell_ready:
        add(w["co_sell_ready"])
    if partner.azure_expert_msp and any("azure" in a.lower() for a in areas):
        add(w["azure_expert_msp"])
    if need.countries and partner.hq_country in need.countries:
        add(w["hq_in_country"])
    load = catalog.attached_count.get(partner.id, 0)
    if load:
        add(max(w["load_max"], load * w["load_per_attached"]))
    return round(sum(points), 1)


def _win_points(partner: Partner, workloads: set[str], need: Need, today: dt.date) -> list[float]:
    """ranking._relevant_wins' points, best first."""
    w = weights()
    out = []
    for win in partner.wins:
        if win.workload not in workloads:
            continue
        value = float(w["win_same_workload"])
        if win.industry and win.industry in need.industries:
            value += w["win_same_industry"]
        if win.country and win.country in need.countries:
            value += w["win_same_country"]
        if win.year:
            value *= max(0.0, 1 - w["win_age_decay"] * max(0, today.year - win.year))
        out.append(value)
    out.sort(key=lambda v: -v)
    return out


def _fitting_rows(catalog: Catalog, need: Need) -> dict[str, list[MapRow]]:
    """Map rows that fit the need, per partner, in structured.by_need._rank_for_need's order."""
    by_partner: dict[str, list[MapRow]] = defaultdict(list)
    for row in candidate_rows(catalog, need):
        if row_fits(row, need, catalog):
            by_partner[catalog.partner_id_of(row)].append(row)
    return by_partner


def map_groups(catalog: Catalog, need: Need) -> tuple[Ranked, Ranked, dict[str, list[MapRow]]]:
    """rank_for_need's map partners by fit score alone: (exact fits, partial fits, each sorted by score and
    name as it sorts them), with each partner's fitting rows. Cached per need on the catalog."""
    key = ("groups", need)
    cached: tuple[Ranked, Ranked, dict[str, list[MapRow]]] | None = catalog.points_cache.get(key)
    if cached is not None:
        return cached
    by_partner = _fitting_rows(catalog, need)
    exact: Ranked = []
    partial: Ranked = []
    for partner_id, rows in by_partner.items():
        if partner_id in need.excluded_partners:
            continue
        partner = catalog.partners.get(partner_id)
        name = partner.name if partner else catalog.partner_name(partner_id)
        fits_all = all(any(i in r.industries for r in rows) for i in need.industries) and \
            all(any(s in (r.segments or (partner.segments if partner else ())) for r in rows) for s in need.segments)
        (exact if fits_all else partial).append((fit_points(partner, rows, need, catalog), name, partner_id))
    for group in (exact, partial):
        group.sort(key=lambda m: (-m[0], m[1]))
    if len(catalog.points_cache) >= 20_000:
        catalog.points_cache.clear()
    catalog.points_cache[key] = (exact, partial, by_partner)
    return exact, partial, by_partner


def map_ranking(catalog: Catalog, need: Need) -> tuple[Ranked, dict[str, list[MapRow]]]:
    """The map partners for a need as top_suggestion orders them (exact and partial fits together, by score
    and name), with their fitting rows."""
    exact, partial, by_partner = map_groups(catalog, need)
    return sorted(exact + partial, key=lambda m: (-m[0], m[1])), by_partner


def top_partner(catalog: Catalog, need: Need, bound: float) -> PartnerMatch | None:
    """The best map partner for a need (see structured.top_suggestion): ranked once per need without its
    industry, re-scored for the industry in rank order until no remaining partner can overtake.

    Within that walk a partner is skipped when even its own bound cannot reach the best found: a partner
    with the industry on none of its fitting rows keeps its best row, so the industry can only add the
    profile's industry points and the industry bonus of its matching wins.
    """
    base = replace(need, industries=())
    ranked, rows_by_partner = map_ranking(catalog, base)
    if not ranked:
        return None
    if not need.industries:
        _, _, partner_id = ranked[0]
        return score_partner(catalog.partners.get(partner_id), partner_id, rows_by_partner[partner_id], base, catalog)
    in_partner_order = _rows_in_partner_order(catalog, base)
    best: tuple[float, str, str, list[MapRow]] | None = None
    for score, _, partner_id in ranked:
        if best is not None and score + bound < best[0]:
            break
        partner = catalog.partners.get(partner_id)
        rows = in_partner_order[partner_id]     # row_fits ignores industries: the base need's rows
        if best is not None and score + _own_bound(partner, rows, need, bound) < best[0] - 1e-6:
            continue
        points = fit_points(partner, rows, need, catalog)
        name = partner.name if partner else catalog.partner_name(partner_id)
        if best is None or (-points, name) < (-best[0], best[1]):
            best = (points, name, partner_id, rows)
    assert best is not None
    _, _, partner_id, rows = best
    return score_partner(catalog.partners.get(partner_id), partner_id, rows, need, catalog)


def _rows_in_partner_order(catalog: Catalog, base: Need) -> dict[str, list[MapRow]]:
    """Each ranked partner's rows that fit the need, in the partner's own row order (best-row ties)."""
    key = ("rows in partner order", base)
    cached: dict[str, list[MapRow]] | None = catalog.points_cache.get(key)
    if cached is None:
        ranked, _ = map_ranking(catalog, base)
        cached = {pid: [r for r in catalog.rows_by_partner.get(pid, []) if row_fits(r, base, catalog)]
                  for _, _, pid in ranked}
        catalog.points_cache[key] = cached
    return cached


def _own_bound(partner: Partner | None, rows: list[MapRow], need: Need, bound: float) -> float:
    """The most the need's industries can add to this partner's score."""
    if partner is None or any(i in r.industries for r in rows for i in need.industries):
        return bound            # its best row may change: the general bound
    w = weights()
    gain = max(0.0, float(w["industry_in_profile"])) if any(i in partner.industries for i in need.industries) else 0.0
    wins = sum(1 for win in partner.wins if win.industry and win.industry in need.industries)
    return gain + max(0.0, float(w["win_same_industry"])) * min(wins, int(w["max_wins"]))
