"""Partners for a need, from the solution map and the profiles: coverage for a workload, play or area (+ place,
industry, segment), ranked with reasons, and the partners holding a specialization or designation."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace

from knowledge.geography import country_name
from knowledge.records import MapRow, Partner
from retrieval.answers import (
    Answer,
    AnswerKind,
    PartnerMatch,
    Reason,
    Understood,
)
from retrieval.catalog import Catalog
from retrieval.fit_points import map_groups
from retrieval.ranking import Need, candidate_rows, profile_citation, row_fits, score_partner

MAX_PARTNERS = 5
MAX_PROFILE_ONLY = 3


def _place(countries: tuple[str, ...], label: str = "") -> str:
    return label or ", ".join(country_name(c) for c in countries)


# ----------------------------------------------------------------------------------- coverage
def rank_for_need(catalog: Catalog, need: Need, *, profile_only: bool = True
                  ) -> tuple[list[PartnerMatch], list[PartnerMatch], list[PartnerMatch]]:
    """(on the map and fitting every filter, on the map for workload+place only, profile evidence only).

    Cached per need: a sweep of 100,000 opportunities asks for a few thousand distinct needs at most.
    `profile_only=False` skips the off-map partners (a sweep shows only the top map suggestion).
    """
    key = (need, profile_only)
    cached = catalog.ranking_cache.get(key)
    if cached is None:
        cached = _rank_for_need(catalog, need, profile_only)
        catalog.ranking_cache[key] = cached      # bounded by the partners it holds (Catalog.ranking_cache)
    exact, partial, off_map = cached
    return list(exact), list(partial), list(off_map)


def _rank_for_need(catalog: Catalog, need: Need, with_profile_only: bool
                   ) -> tuple[list[PartnerMatch], list[PartnerMatch], list[PartnerMatch]]:
    rows_by_partner: dict[str, list[MapRow]] = defaultdict(list)
    for row in candidate_rows(catalog, need):
        if row_fits(row, need, catalog):
            rows_by_partner[catalog.partner_id_of(row)].append(row)
    exact: list[PartnerMatch] = []
    partial: list[PartnerMatch] = []
    for partner_id, rows in rows_by_partner.items():
        if partner_id in need.excluded_partners:
            continue
        match = score_partner(catalog.partners.get(partner_id), partner_id, rows, need, catalog)
        fits_all = all(any(i in r.industries for r in rows) for i in need.industries) and \
            all(any(s in (r.segments or catalog.partners.get(partner_id, _NO_PARTNER).segments) for r in rows)
                for s in need.segments)
        (exact if fits_all else partial).append(match)
    profile_only: list[PartnerMatch] = []
    wanted = set(need.workloads)
    for play in need.solution_plays:
        wanted.update(catalog.workloads_of_play(play))
    for area in need.solution_areas:
        wanted.update(catalog.workloads_of_area(area))
    if wanted and with_profile_only:
        if need.countries:
            pool = list({p.id: p for c in need.countries for p in catalog.partners_in(c)}.values())
        else:
            pool = list(catalog.partners.values())
        for partner in pool:
            if partner.id in rows_by_partner or partner.id in need.excluded_partners:
                continue
            if not wanted & set(partner.workloads):
                continue
            if need.countries and not set(need.countries) & set(partner.countries):
                continue
            profile_need = replace(need, workloads=tuple(sorted(wanted & set(partner.workloads))))
            profile_only.append(score_partner(partner, partner.id, [], profile_need, catalog))
    for group in (exact, partial, profile_only):
        group.sort(key=lambda m: (-m.score, m.name))
    return exact, partial, profile_only


_NO_PARTNER = Partner(id="", name="", source=None)  # type: ignore[arg-type]


def coverage(catalog: Catalog, need: Need, understood: Understood) -> Answer:
    subject = " / ".join(need.workloads or need.solution_plays or need.solution_areas)
    place = _place(need.countries, understood.country_label)
    where = f" in {place}" if place else ""
    filters = [*need.industries, *need.segments]
    exact, partial, profile_only = rank_for_need(catalog, need)
    on_map = exact + partial
    notes: list[str] = []
    missing: list[str] = []
    if not need.countries:
        missing.append("country")
        notes.append("The solution map is country-specific: tell me the customer's country for a precise answer.")
    citations = tuple(dict.fromkeys(r.source for m in on_map[:MAX_PARTNERS] for r in m.reasons[:1] if r.source))
    if on_map:
        shown = on_map[:MAX_PARTNERS]
        if filters and exact and partial:
            notes.append(f"{len(exact)} of them match {', '.join(filters)} on the map; the others cover {subject}{where} "
                         "but the map does not name that industry or segment for them.")
        elif filters and not exact:
            notes.append(f"No map row names {', '.join(filters)}; these partners cover {subject}{where} for other customers.")
        summary = (f"{len(on_map)} partner{'s are' if len(on_map) != 1 else ' is'} on the solution map for "
                   f"{subject}{where}" + (f" ({', '.join(filters)} first)" if filters else "") + ".")
        return Answer(AnswerKind.COVERAGE, f"Partners for {subject}{where}", summary, understood,
                      partners=tuple(shown), other_partners=tuple(profile_only[:MAX_PROFILE_ONLY]),
                      notes=tuple(notes), missing=tuple(missing), citations=citations,
                      total=len(on_map) if len(on_map) > len(shown) else None,
                      suggestions=_coverage_suggestions(understood, need))
    if profile_only:
        summary = (f"No partner is on the solution map for {subject}{where}. "
                   f"{len(profile_only)} partner profile{'s list' if len(profile_only) != 1 else ' lists'} "
                   f"{subject}{where}: profile evidence only, not a map alignment.")
        return Answer(AnswerKind.COVERAGE, f"No map coverage for {subject}{where}", summary, understood,
                      other_partners=tuple(profile_only[:MAX_PARTNERS]), notes=tuple(notes), missing=tuple(missing),
                      low_confidence=True)
    count, near = _near_misses(catalog, need, MAX_PROFILE_ONLY)
    summary = f"No partner is on the solution map for {subject}{where}, and no partner profile lists it there."
    suggestions: tuple[str, ...] = ()
    if near:
        # Nothing fits here: say where the workload is covered and offer to ask there, rather than put forward
        # partners who do not deliver in the customer's country.
        top = [c for c, _ in _countries_elsewhere(catalog, need).most_common(3)]
        summary += (f" {count} partner{'s cover' if count != 1 else ' covers'} {subject} elsewhere"
                    + (f", most in {', '.join(country_name(c) for c in top)}." if top else "."))
        suggestions = tuple(f"Which partners cover {subject} in {country_name(c)}?" for c in top[:2])
    return Answer(AnswerKind.NO_MATCH, f"No partner for {subject}{where}", summary, understood,
                  notes=tuple(notes), missing=tuple(missing), suggestions=suggestions)


def _near_misses(catalog: Catalog, need: Need, limit: int, skip: frozenset[str] = frozenset()
                 ) -> tuple[int, list[PartnerMatch]]:
    """How many map partners cover the need in other countries, and the first `limit` of them (rank_for_need's
    order, `skip` left out), each saying why it lost. Ranked by fit score alone (retrieval/fit_points.py):
    only those shown are scored with their reasons, not every map partner of the workload worldwide."""
    if not need.countries:
        return 0, []
    anywhere = replace(need, countries=())
    exact, partial, rows = map_groups(catalog, anywhere)
    place = need.describe_place()
    out: list[PartnerMatch] = []
    for _, _, partner_id in exact + partial:
        if len(out) >= limit:
            break
        if partner_id in skip:
            continue
        match = score_partner(catalog.partners.get(partner_id), partner_id, rows[partner_id], anywhere, catalog)
        out.append(replace(match, gaps=(f"no delivery in {place} (covers {', '.join(match.countries)})",)
                           + match.gaps))
    return len(exact) + len(partial), out


def _countries_elsewhere(catalog: Catalog, need: Need) -> Counter[str]:
    """Per other country, how many map partners cover the need there (all of them, not only those shown)."""
    exact, partial, rows = map_groups(catalog, replace(need, countries=()))
    asked = set(need.countries)
    return Counter(country for _, _, partner_id in exact + partial
                   for country in dict.fromkeys(c for row in rows[partner_id] for c in row.countries)
                   if country not in asked)


def _coverage_suggestions(understood: Understood, need: Need) -> tuple[str, ...]:
    subject = (need.workloads or need.solution_plays or ("",))[0]
    out = []
    if subject:
        out.append(f"Which incentives fund {subject}?")
        out.append(f"Who holds a specialization for {subject}?")
    return tuple(out)


# ----------------------------------------------------------------------------------- specializations
def specialization_holders(catalog: Catalog, specializations: list[str], designations: list[str],
                           countries: tuple[str, ...], understood: Understood) -> Answer:
    wanted = specializations + designations
    place = _place(countries, understood.country_label)
    where = f" in {place}" if place else ""
    holders = []
    for partner in catalog.partners.values():
        held = [s for s in specializations if s in partner.specializations] + \
               [d for d in designations if d in partner.designations]
        if len(held) < len(wanted):
            continue
        if countries and not set(countries) & set(partner.countries):
            continue
        reasons_need = Need(countries=countries, workloads=tuple(
            w for s in specializations for w in sorted(catalog.specialization_workloads.get(s, ()))))
        match = score_partner(partner, partner.id, [], reasons_need, catalog)
        holders.append(replace(match, reasons=(
            *(_held_reason(partner, h) for h in held), *(r for r in match.reasons if r.factor not in ("workload",))),
            gaps=()))
    holders.sort(key=lambda m: (-(m.partner_id in {p.id for p in catalog.partners.values()
                                                    if p.hq_country in countries}), -m.score, m.name))
    label = " and ".join(wanted)
    kind_word = "specialization" if specializations else "designation"
    if not holders:
        return Answer(AnswerKind.NO_MATCH, f"No partner holds {label}{where}",
                      f"No partner profile shows the {label} {kind_word} with delivery{where}.", understood,
                      missing=() if countries else ("country",))
    shown = holders[:10]
    summary = f"{len(holders)} partner{'s hold' if len(holders) != 1 else ' holds'} the {label} {kind_word}{where}."
    return Answer(AnswerKind.SPECIALIZATION, f"{label}{where}", summary, understood, partners=tuple(shown),
                  total=len(holders) if len(holders) > len(shown) else None,
                  citations=tuple(m.profile for m in shown if m.profile))


def _held_reason(partner: Partner, held: str) -> Reason:
    field_name = "specializations" if held in partner.specializations else "designations"
    return Reason(field_name[:-1], f"Holds {held}", 0.0, profile_citation(partner, field_name))
