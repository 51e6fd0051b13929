"""Partner fit: a score from the evidence in the knowledge folder, with a sourced reason per factor.

Weights live in `weights.yaml` beside this module. Each `Reason` names the map row, profile field
or win it came from, so a channel manager can check every point of a suggestion.
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knowledge.geography import country_name
from knowledge.records import MapRow, Partner
from knowledge.structured_files import read_data_file
from retrieval.answers import Citation, PartnerMatch, Reason
from retrieval.catalog import Catalog

_WEIGHTS = Path(__file__).with_name("weights.yaml")


@functools.lru_cache(maxsize=1)
def weights() -> dict[str, Any]:
    return read_data_file(_WEIGHTS)   # the project's one bounded YAML loader


@dataclass(frozen=True)
class Need:
    """What a customer needs: from a question or from an opportunity."""

    workloads: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    solution_plays: tuple[str, ...] = ()
    solution_areas: tuple[str, ...] = ()
    excluded_partners: frozenset[str] = field(default_factory=frozenset)
    # stated partner filters (retrieval/understanding/need.py); industries and segments above are filters too
    co_sell_ready: bool = False
    min_capacity: int | None = None
    role: str = ""
    holds: tuple[str, ...] = ()          # specializations / designations the partner must hold
    top_n: int | None = None
    order: str = ""                      # "" (best fit first) | "capacity"

    def describe_place(self) -> str:
        return ", ".join(country_name(c) for c in self.countries)


def profile_citation(partner: Partner, field_name: str = "") -> Citation:
    return Citation(f"{partner.name} profile", partner.source.path,
                    field_name or partner.source.locator)


def row_citation(row: MapRow) -> Citation:
    title = f"Solution map {row.fiscal_year}".strip()
    return Citation(title, row.source.path, row.source.locator)


def candidate_rows(catalog: Catalog, need: Need) -> list[MapRow]:
    """The map rows a need can be met by: its workloads' (a play's workloads with it), or every row for a
    solution area or a play without workloads; `row_fits` then decides each."""
    if need.solution_areas or (need.solution_plays and not need.workloads):
        return catalog.map_rows
    workloads = set(need.workloads)
    for play in need.solution_plays:
        workloads.update(catalog.workloads_of_play(play))
    return [row for workload in sorted(workloads) for row in catalog.rows_by_workload.get(workload, [])]


def row_fits(row: MapRow, need: Need, catalog: Catalog) -> bool:
    """The row aligns the partner to what is needed, where it is needed."""
    wanted = set(need.workloads)
    for play in need.solution_plays:
        wanted.update(catalog.workloads_of_play(play) or [])
    if need.solution_plays and row.solution_play in need.solution_plays:
        pass
    elif need.solution_areas and row.solution_area in need.solution_areas:
        pass
    elif row.workload not in wanted:
        return False
    return not need.countries or bool(set(row.countries) & set(need.countries))


def score_partner(partner: Partner | None, partner_id: str, rows: list[MapRow], need: Need, catalog: Catalog,
                  *, today: dt.date | None = None) -> PartnerMatch:
    """Score one partner for a need. `rows` are the map rows that fit the need (empty: off the map)."""
    w = weights()
    today = today or dt.date.today()
    reasons: list[Reason] = []
    gaps: list[str] = []
    name = partner.name if partner else catalog.partner_name(partner_id)

    def add(factor: str, detail: str, points: float, source: Citation | None) -> None:
        if points:
            reasons.append(Reason(factor, detail, round(points, 1), source))

    best = _best_row(rows, need)
    asked_workloads = set(need.workloads)
    if best is not None:
        place = ", ".join(c for c in best.countries if not need.countries or c in need.countries)
        add("on_map", f"On the {best.fiscal_year or 'solution'} map for {best.workload} in {place}".replace("  ", " "),
            w["on_map"], row_citation(best))
        role_points = w["role"].get(best.role, 0)
        if role_points:
            add("role", f"{best.role} partner on the map", role_points, row_citation(best))
        industry_hit = [i for i in need.industries if i in best.industries]
        if industry_hit:
            add("industry", f"Map row names {', '.join(industry_hit)}", w["industry_on_map"], row_citation(best))
        asked_workloads.add(best.workload)
    if partner is None:
        return PartnerMatch(partner_id, name, round(sum(r.points for r in reasons), 1), best is not None,
                            tuple(reasons), tuple(gaps), best.role if best else "")

    profile = profile_citation(partner)
    if best is None:
        listed = [wl for wl in need.workloads if wl in partner.workloads]
        if listed:
            add("workload", f"Profile lists {', '.join(listed)} (not on the solution map)", w["workload_in_profile"],
                profile_citation(partner, "workloads"))
            asked_workloads.update(listed)
        if need.countries and not set(partner.countries) & set(need.countries):
            gaps.append(f"no delivery in {need.describe_place()}")
    if need.industries and not any(r.factor == "industry" for r in reasons):
        hit = [i for i in need.industries if i in partner.industries]
        if hit:
            add("industry", f"Profile lists {', '.join(hit)}", w["industry_in_profile"], profile_citation(partner, "industries"))
        else:
            gaps.append(f"no {', '.join(need.industries)} experience listed")
    if need.segments:
        segments = set(best.segments if best and best.segments else partner.segments)
        hit = [s for s in need.segments if s in segments]
        if hit:
            add("segment", f"Serves {', '.join(hit)}", w["segment"], row_citation(best) if best and best.segments else profile)
        elif segments:
            gaps.append(f"serves {', '.join(sorted(segments))}, not {', '.join(need.segments)}")

    specs = [s for s in partner.specializations if _evidences(s, asked_workloads, catalog)]
    if specs:
        add("specialization", f"Specialization: {', '.join(specs)}", w["specialization"],
            profile_citation(partner, "specializations"))
    areas = {catalog.area_of.get(wl, "") for wl in asked_workloads} - {""}
    designations = [d for d in partner.designations if any(a.lower() in d.lower() for a in areas)]
    if designations:
        add("designation", f"Designation: {', '.join(designations)}", w["designation"], profile_citation(partner, "designations"))

    wins = _relevant_wins(partner, asked_workloads, need, today)
    for points, win, detail in wins[: w["max_wins"]]:
        add("win", detail, points, profile_citation(partner, f"wins: {win.customer}"))

    available = partner.available_consultants_90d
    if available is not None:
        if available <= 0:
            add("capacity", "Fully booked for the next 90 days (0 consultants available)", w["no_capacity"], profile_citation(partner, "capacity"))
            gaps.append("fully booked for the next 90 days")
        else:
            add("capacity", f"{available} consultants available in the next 90 days",
                min(w["capacity_max"], available * w["capacity_per_consultant"]), profile_citation(partner, "capacity"))
    if partner.co_sell_ready:
        add("co_sell", "Co-sell ready", w["co_sell_ready"], profile_citation(partner, "co_sell_ready"))
    elif need.workloads:
        gaps.append("not co-sell ready")
    if partner.azure_expert_msp and any("azure" in a.lower() for a in areas):
        add("azure_expert_msp", "Azure Expert MSP", w["azure_expert_msp"], profile_citation(partner, "azure_expert_msp"))
    if need.countries and partner.hq_country in need.countries:
        add("hq", f"Headquartered in {country_name(partner.hq_country)}", w["hq_in_country"], profile_citation(partner, "hq_country"))
    load = catalog.attached_count.get(partner.id, 0)
    if load:
        add("load", f"Already attached to {load} opportunities in the pipeline",
            max(w["load_max"], load * w["load_per_attached"]), None)

    contact = " · ".join(x for x in (partner.contacts.pdm, partner.contacts.pdm_email) if x)
    return PartnerMatch(
        partner_id=partner.id, name=partner.name, score=round(sum(r.points for r in reasons), 1),
        on_map=best is not None, reasons=tuple(reasons), gaps=tuple(gaps), role=best.role if best else "",
        countries=best.countries if best else partner.countries, contact=contact,
        wins=tuple(detail for _, _, detail in wins[:3]), profile=profile,
    )


def _best_row(rows: list[MapRow], need: Need) -> MapRow | None:
    if not rows:
        return None

    def key(row: MapRow) -> tuple[int, int, int]:
        return (sum(i in row.industries for i in need.industries), row.role == "Lead",
                sum(s in row.segments for s in need.segments))
    return max(rows, key=key)


def _evidences(specialization: str, workloads: set[str], catalog: Catalog) -> bool:
    """A specialization evidences a workload when the catalog says so (see Catalog.specialization_workloads)."""
    return bool(catalog.specialization_workloads.get(specialization, set()) & workloads)


def _relevant_wins(partner: Partner, workloads: set[str], need: Need, today: dt.date) -> list[tuple[float, Any, str]]:
    w = weights()
    out = []
    for win in partner.wins:
        if win.workload not in workloads:
            continue
        points = float(w["win_same_workload"])
        extras = []
        if win.industry and win.industry in need.industries:
            points += w["win_same_industry"]
            extras.append(win.industry)
        if win.country and win.country in need.countries:
            points += w["win_same_country"]
            extras.append(country_name(win.country))
        if win.year:
            points *= max(0.0, 1 - w["win_age_decay"] * max(0, today.year - win.year))
        where = f" ({', '.join(extras)})" if extras else ""
        detail = f"Win: {win.customer}, {win.workload}{where}, {win.year or 'year unknown'}"
        out.append((points, win, detail))
    out.sort(key=lambda t: -t[0])
    return out
