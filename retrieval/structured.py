"""Structured approaches: answers computed from the parsed records by filters and joins.

coverage        workload / play / area (+ place, industry, segment) -> map partners, ranked with reasons
specialization  specialization or designation (+ place) -> partners holding it
incentive       workload, segment, country, deal size -> eligible rules and the partners who can deliver them
attach          opportunity -> ranked partner suggestions (map first, then profile evidence)
pipeline        filters -> unattached opportunities with the top suggestion for each
opportunity     one opportunity's facts
profile         one partner's profile; confidential notes only for their groups
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace

from knowledge.dates import date_sort_key
from knowledge.display import format_usd
from knowledge.geography import country_name
from knowledge.records import Incentive, MapRow, Opportunity, Partner
from retrieval.answers import (
    Answer,
    AnswerKind,
    Citation,
    Decision,
    Fact,
    IncentiveMatch,
    OpportunityLine,
    PartnerMatch,
    Reason,
    Understood,
)
from retrieval.catalog import Catalog
from retrieval.fit_points import map_groups, top_partner
from retrieval.ranking import Need, profile_citation, row_citation, row_fits, score_partner, weights

MAX_PARTNERS = 5
MAX_PROFILE_ONLY = 3
MAX_OPPORTUNITIES = 25


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
        if len(catalog.ranking_cache) >= 20_000:
            catalog.ranking_cache.clear()
        catalog.ranking_cache[key] = cached
    exact, partial, off_map = cached
    return list(exact), list(partial), list(off_map)


def _candidate_rows(catalog: Catalog, need: Need) -> list[MapRow]:
    if need.solution_areas or (need.solution_plays and not need.workloads):
        return catalog.map_rows
    workloads = set(need.workloads)
    for play in need.solution_plays:
        workloads.update(catalog.workloads_of_play(play))
    return [row for workload in sorted(workloads) for row in catalog.rows_by_workload.get(workload, [])]


def _rank_for_need(catalog: Catalog, need: Need, with_profile_only: bool
                   ) -> tuple[list[PartnerMatch], list[PartnerMatch], list[PartnerMatch]]:
    rows_by_partner: dict[str, list[MapRow]] = defaultdict(list)
    for row in _candidate_rows(catalog, need):
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
        elsewhere = Counter(c for m in near for c in m.countries if c not in need.countries)
        top = [c for c, _ in elsewhere.most_common(3)]
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


# ----------------------------------------------------------------------------------- incentives
def meets_partner_requirements(rule: Incentive, partner: Partner) -> bool:
    """The rule's partner requirements: one of its designations, one of its specializations, co-sell ready."""
    return not ((rule.designations_any and not set(rule.designations_any) & set(partner.designations))
                or (rule.specializations_any and not set(rule.specializations_any) & set(partner.specializations))
                or (rule.co_sell_ready_required and not partner.co_sell_ready))


def _rule_check(rule: Incentive, workload: str | None, segment: str | None, country: str | None,
                deal: float | None) -> tuple[bool, list[str], list[str]]:
    """(fits, reasons it fits, facts it could not check)."""
    fits, unknown = [], []
    if rule.workloads is not None:
        if workload is None:
            unknown.append("workload")
        elif workload not in rule.workloads:
            return False, [], []
        else:
            fits.append(f"covers {workload}")
    if rule.segments:
        if segment is None:
            unknown.append("segment")
        elif segment not in rule.segments:
            return False, [], []
        else:
            fits.append(f"{segment} segment")
    if rule.countries is not None:
        if country is None:
            unknown.append("country")
        elif country not in rule.countries:
            return False, [], []
        else:
            fits.append(f"available in {country_name(country)}")
    else:
        fits.append("all countries")
    if rule.min_deal_usd:
        if deal is None:
            unknown.append("deal size")
        elif deal < rule.min_deal_usd:
            return False, [], []
        else:
            fits.append(f"deal ≥ {format_usd(rule.min_deal_usd)}")
    return True, fits, unknown


def _requirements(rule: Incentive) -> str:
    parts = []
    if rule.designations_any:
        parts.append("one of: " + "; ".join(rule.designations_any))
    if rule.specializations_any:
        parts.append("a specialization: " + "; ".join(rule.specializations_any))
    if rule.co_sell_ready_required:
        parts.append("co-sell ready")
    return " — ".join(parts) or "none stated"


def qualifying_partners(catalog: Catalog, rule: Incentive, workload: str | None, country: str | None,
                        limit: int = 3) -> list[PartnerMatch]:
    """Partners that meet the rule's requirements, preferring those on the map for this workload and country.

    Only the strongest candidates are scored in full (on the map first, then by available capacity):
    on a catalog of tens of thousands of partners, thousands may qualify for a broad rule.
    """
    pool = catalog.partners_in(country) if country else list(catalog.partners.values())
    on_map: list[tuple[Partner, list[MapRow]]] = []
    others: list[Partner] = []
    for partner in pool:
        if not meets_partner_requirements(rule, partner):
            continue
        rows = [r for r in catalog.rows_by_partner.get(partner.id, [])
                if (workload is None or r.workload == workload) and (country is None or country in r.countries)]
        if rows:
            on_map.append((partner, rows))
        else:
            others.append(partner)
    others.sort(key=lambda p: (-(p.available_consultants_90d or 0), p.name))
    candidates = on_map + [(p, []) for p in others[: max(0, 10 * limit - len(on_map))]]
    need = Need(workloads=(workload,) if workload else (), countries=(country,) if country else ())
    out = [score_partner(partner, partner.id, rows, need, catalog) for partner, rows in candidates]
    out.sort(key=lambda m: (-m.on_map, -m.score, m.name))
    return out[:limit]


def incentives(catalog: Catalog, workload: str | None, segment: str | None, country: str | None,
               deal: float | None, understood: Understood) -> Answer:
    if not catalog.incentives:
        return Answer(AnswerKind.NO_MATCH, "No incentive rules", "The knowledge folder has no incentive rules "
                      "(programs/incentives.yaml).", understood)
    matches: list[IncentiveMatch] = []
    unknown_facts: set[str] = set()
    for rule in catalog.incentives:
        fits, why, unknown = _rule_check(rule, workload, segment, country, deal)
        if not fits:
            continue
        unknown_facts.update(unknown)
        if unknown:
            why = why + [f"if {', '.join(unknown)} fit{'s' if len(unknown) == 1 else ''}: " + _condition(rule, unknown)]
        citation = Citation(rule.program or rule.name, rule.doc or rule.source.path,
                            "" if rule.doc else rule.source.locator)
        matches.append(IncentiveMatch(
            incentive_id=rule.id, name=rule.name, program=rule.program, funding=rule.funding,
            max_funding_usd=rule.max_funding_usd, reasons=tuple(why), partner_requirements=_requirements(rule),
            partners=tuple(qualifying_partners(catalog, rule, workload, country)), citation=citation))
    deal_text = f" for a {format_usd(deal)} deal" if deal is not None else ""
    context = " · ".join(x for x in (workload, segment, country_name(country) if country else "") if x)
    missing = tuple(f for f in ("workload", "segment", "country", "deal size") if f in unknown_facts)
    notes = []
    if missing:
        notes.append(f"I could not check {', '.join(missing)}: tell me {'it' if len(missing) == 1 else 'them'} "
                     "to narrow the list.")
    if not matches:
        return Answer(AnswerKind.NO_MATCH, f"No incentive fits {context}{deal_text}",
                      f"No incentive rule fits {context}{deal_text}: each rule's workload, segment, country or "
                      "minimum deal size rules it out.", understood, missing=missing, notes=tuple(notes))
    summary = (f"{len(matches)} incentive{'s fit' if len(matches) != 1 else ' fits'} {context}{deal_text}"
               + (" (some depend on facts I could not check)." if missing else "."))
    return Answer(AnswerKind.INCENTIVE, f"Incentives for {context}{deal_text}", summary, understood,
                  incentives=tuple(matches), missing=missing, notes=tuple(notes),
                  citations=tuple(dict.fromkeys(m.citation for m in matches if m.citation)))


def _condition(rule: Incentive, unknown: list[str]) -> str:
    parts = []
    if "workload" in unknown and rule.workloads:
        parts.append("workloads " + ", ".join(rule.workloads))
    if "segment" in unknown:
        parts.append("segments " + ", ".join(rule.segments))
    if "country" in unknown and rule.countries:
        parts.append("countries " + ", ".join(rule.countries))
    if "deal size" in unknown:
        parts.append(f"deal ≥ {format_usd(rule.min_deal_usd)}")
    return "; ".join(parts)


# ----------------------------------------------------------------------------------- opportunities
def top_suggestion(catalog: Catalog, need: Need) -> PartnerMatch | None:
    """The best map partner for a need, as the full ranking would name it, at a fraction of its cost.

    Partners are ranked once per workload, place and segment; the customer's industry can then add at
    most `industry_bound()` points to a partner's score (and never more). Re-scoring in order of the
    industry-free score and stopping when no remaining partner could overtake the best found is
    exact, and scores a handful of partners per industry instead of every partner on the map.
    """
    if need in catalog.top_cache:
        return catalog.top_cache[need]
    best = top_partner(catalog, need, industry_bound())   # scores only; the full match for the one it names
    if len(catalog.top_cache) >= 50_000:
        catalog.top_cache.clear()
    catalog.top_cache[need] = best
    return best


def industry_bound() -> float:
    """The most points knowing the customer's industry can add to a partner's score (see weights.yaml)."""
    w = weights()
    return float(w["industry_on_map"] + w["max_wins"] * w["win_same_industry"])


def need_for(opportunity: Opportunity, excluded: frozenset[str] = frozenset()) -> Need:
    return Need(workloads=(opportunity.workload,) if opportunity.workload else (),
                countries=(opportunity.country,) if opportunity.country else (),
                industries=(opportunity.industry,) if opportunity.industry else (),
                segments=(opportunity.segment,) if opportunity.segment else (),
                solution_plays=() if opportunity.workload else ((opportunity.solution_play,) if opportunity.solution_play else ()),
                excluded_partners=excluded)


def opportunity_citation(opportunity: Opportunity) -> Citation:
    return Citation(f"Pipeline {opportunity.id}", opportunity.source.path, opportunity.source.locator)


def suggest_partners(catalog: Catalog, opportunity: Opportunity, understood: Understood,
                     decisions: tuple[Decision, ...] = ()) -> Answer:
    """Ranked partners for one opportunity; partners dismissed for it are left out, and say so."""
    dismissed = frozenset(d.partner_id for d in decisions if d.action == "dismiss")
    answer = _suggest_partners(catalog, opportunity, understood, dismissed)
    line = replace(answer.opportunities[0], decisions=decisions) if answer.opportunities else None
    notes = list(answer.notes)
    if dismissed:
        names = ", ".join(sorted({d.partner_name for d in decisions if d.action == "dismiss"}))
        notes.append(f"Not suggested again (dismissed for this opportunity): {names}.")
    return replace(answer, decisions=decisions, notes=tuple(notes), opportunities=(line,) if line else ())


def _suggest_partners(catalog: Catalog, opportunity: Opportunity, understood: Understood,
                      excluded: frozenset[str] = frozenset()) -> Answer:
    need = need_for(opportunity, excluded)
    exact, partial, profile_only = rank_for_need(catalog, need)
    # Industry and segment are preferences for an opportunity, not filters: the score already counts them.
    on_map = sorted(exact + partial, key=lambda m: (-m.score, m.name))
    line = _line(opportunity)
    facts = _opportunity_facts(opportunity, include_owner=True)
    where = country_name(opportunity.country) if opportunity.country else "an unknown country"
    if on_map:
        summary = (f"{opportunity.id} ({opportunity.account}, {opportunity.workload} in {where}, "
                   f"{format_usd(opportunity.estimated_value_usd)}): {len(on_map)} partner"
                   f"{'s are' if len(on_map) != 1 else ' is'} on the solution map for it. Ranked by fit:")
    elif profile_only:
        summary = (f"{opportunity.id}: no partner is on the solution map for {opportunity.workload} in {where}. "
                   "Partners whose profiles list it (profile evidence only):")
    else:
        _, near = _near_misses(catalog, need, MAX_PROFILE_ONLY)
        summary = (f"{opportunity.id}: no partner is on the map or lists {opportunity.workload} in {where}."
                   + (" Closest: partners covering it in other countries." if near else ""))
        return Answer(AnswerKind.ATTACH, f"Suggestions for {opportunity.id}", summary, understood,
                      other_partners=tuple(near[:MAX_PROFILE_ONLY]), opportunities=(line,), facts=facts,
                      citations=(opportunity_citation(opportunity),))
    notes = []
    if opportunity.is_attached:
        notes.append(f"Already attached: {opportunity.partner_name or catalog.partner_name(opportunity.partner_id)}.")
    # near misses say why they lost: on the map for the workload, but not where the customer is
    shown = {m.partner_id for m in on_map[:MAX_PARTNERS] + profile_only[:MAX_PROFILE_ONLY]}
    _, near = _near_misses(catalog, need, 2, frozenset(shown))
    return Answer(AnswerKind.ATTACH, f"Suggestions for {opportunity.id}", summary, understood,
                  partners=tuple(on_map[:MAX_PARTNERS]),
                  other_partners=tuple(profile_only[:MAX_PROFILE_ONLY]) + tuple(near),
                  opportunities=(line,), facts=facts, notes=tuple(notes),
                  citations=(opportunity_citation(opportunity),))


def _line(opportunity: Opportunity, top: PartnerMatch | None = None) -> OpportunityLine:
    return OpportunityLine(
        opportunity_id=opportunity.id, account=opportunity.account, workload=opportunity.workload,
        country=opportunity.country, segment=opportunity.segment, industry=opportunity.industry,
        estimated_value_usd=opportunity.estimated_value_usd, stage=opportunity.stage,
        close_date=opportunity.close_date, owner=opportunity.owner, partner_name=opportunity.partner_name,
        top_suggestion=top, citation=opportunity_citation(opportunity))


def _opportunity_facts(opportunity: Opportunity, include_owner: bool) -> tuple[Fact, ...]:
    source = opportunity_citation(opportunity)
    facts = [Fact("Account", opportunity.account, True, source),
             Fact("Workload", f"{opportunity.workload} ({opportunity.solution_play})" if opportunity.solution_play
                  else opportunity.workload, True, source),
             Fact("Country", country_name(opportunity.country), True, source),
             Fact("Industry / segment", f"{opportunity.industry} / {opportunity.segment}", True, source),
             Fact("Estimated value", format_usd(opportunity.estimated_value_usd), True, source),
             Fact("Stage", opportunity.stage, True, source),
             Fact("Close date", opportunity.close_date, True, source),
             Fact("Partner", opportunity.partner_name or opportunity.partner_id or "none attached", True, source)]
    if include_owner and opportunity.owner:
        facts.append(Fact("Owner", opportunity.owner, True, source))
    return tuple(f for f in facts if f.value)


def opportunity_detail(catalog: Catalog, opportunity: Opportunity, understood: Understood) -> Answer:
    partner = opportunity.partner_name or (catalog.partner_name(opportunity.partner_id) if opportunity.partner_id else "")
    summary = (f"{opportunity.id}: {opportunity.account}, {opportunity.workload} in {country_name(opportunity.country)}, "
               f"{format_usd(opportunity.estimated_value_usd)}, stage {opportunity.stage}, owner {opportunity.owner or 'unknown'}; "
               + (f"attached partner {partner}." if partner else "no partner attached."))
    return Answer(AnswerKind.OPPORTUNITY, opportunity.id, summary, understood,
                  opportunities=(_line(opportunity),), facts=_opportunity_facts(opportunity, include_owner=True),
                  citations=(opportunity_citation(opportunity),),
                  suggestions=() if partner else (f"Suggest partners for {opportunity.id}",))


def unattached(catalog: Catalog, need: Need, understood: Understood, *, value_min: float | None,
               value_max: float | None, stages: tuple[str, ...], owner: str | None,
               sort: str = "value", decisions: dict[str, list[Decision]] | None = None,
               limit: int | None = MAX_OPPORTUNITIES) -> Answer:
    """Opportunities without a partner, each with its top suggestion and the decisions taken on it.

    An opportunity a channel manager marked attached here leaves the list (the export does not know
    yet) and is named in a note, so the next sweep shows the work done since the export.
    """
    decisions = decisions or {}
    wanted = set(need.workloads)
    for play in need.solution_plays:
        wanted.update(catalog.workloads_of_play(play))
    for area in need.solution_areas:
        wanted.update(catalog.workloads_of_area(area))
    selected = []
    marked_attached = []
    for opp in catalog.unattached_candidates(wanted, need.solution_plays, need.countries):
        if (wanted or need.solution_plays) and opp.workload not in wanted and opp.solution_play not in need.solution_plays:
            continue
        if need.countries and opp.country not in need.countries:
            continue
        if need.segments and opp.segment not in need.segments:
            continue
        if need.industries and opp.industry not in need.industries:
            continue
        if value_min is not None and (opp.estimated_value_usd or 0) < value_min:
            continue
        if value_max is not None and (opp.estimated_value_usd or 0) > value_max:
            continue
        if stages and not any(opp.stage.lower().startswith(s.lower()) or s.lower() in opp.stage.lower() for s in stages):
            continue
        if owner and opp.owner.lower() != owner.lower():
            continue
        if any(d.action == "attach" for d in decisions.get(opp.id, ())):
            marked_attached.append(opp.id)
            continue
        selected.append(opp)
    if sort == "close_date":
        selected.sort(key=lambda o: (date_sort_key(o.close_date), o.id))
    else:
        selected.sort(key=lambda o: (-(o.estimated_value_usd or 0), o.id))
    scope = " · ".join(x for x in (" / ".join(need.workloads or need.solution_plays or need.solution_areas),
                                    _place(need.countries, understood.country_label),
                                    ", ".join(need.segments), ", ".join(need.industries)) if x)
    if value_min is not None:
        scope += f" · over {format_usd(value_min)}"
    if value_max is not None:
        scope += f" · under {format_usd(value_max)}"
    scope = scope.strip(" ·")
    if owner:
        scope = f"yours{': ' + scope if scope else ''}"
    scope = scope or "the whole pipeline"
    notes = []
    if marked_attached:
        notes.append(f"Marked attached here since the pipeline export: {', '.join(sorted(marked_attached))}.")
    if not selected:
        return Answer(AnswerKind.PIPELINE, f"Unattached opportunities: {scope}",
                      f"No opportunity without a partner matches {scope}.", understood, notes=tuple(notes))
    lines = []
    for opp in selected[:limit]:
        history = tuple(decisions.get(opp.id, ()))
        dismissed = frozenset(d.partner_id for d in history if d.action == "dismiss")
        lines.append(replace(_line(opp, top_suggestion(catalog, need_for(opp, dismissed))), decisions=history))
    total_value = sum(o.estimated_value_usd or 0 for o in selected)
    summary = (f"{len(selected)} opportunit{'ies have' if len(selected) != 1 else 'y has'} no partner attached "
               f"({scope}), worth {format_usd(total_value)} in total.")
    if limit is not None and len(selected) > limit:
        notes.append(f"Showing the first {limit} by {'close date' if sort == 'close_date' else 'value'}; "
                     "narrow by workload, country or deal size, or export the full list.")
    return Answer(AnswerKind.PIPELINE, f"Unattached opportunities: {scope}", summary, understood,
                  opportunities=tuple(lines), notes=tuple(notes),
                  total=len(selected) if limit is not None and len(selected) > limit else None,
                  citations=(Citation("Pipeline export", selected[0].source.path),))


# ----------------------------------------------------------------------------------- profiles
def partner_profile(catalog: Catalog, partner: Partner, understood: Understood, *, show_confidential: bool) -> Answer:
    source = profile_citation(partner)
    facts = [
        Fact("Type", partner.type, source=source),
        Fact("Headquarters", country_name(partner.hq_country) if partner.hq_country else "", source=source),
        Fact("Delivers in", ", ".join(country_name(c) for c in partner.countries), source=source),
        Fact("Designations", "; ".join(partner.designations), source=source),
        Fact("Specializations", "; ".join(partner.specializations) or "none", source=source),
        Fact("Azure Expert MSP", "yes" if partner.azure_expert_msp else "no", source=source),
        Fact("Industries", ", ".join(partner.industries), source=source),
        Fact("Segments", ", ".join(partner.segments), source=source),
        Fact("Workloads", ", ".join(partner.workloads), source=source),
        Fact("Co-sell ready", "yes" if partner.co_sell_ready else "no", source=source),
    ]
    if partner.certified_staff is not None or partner.available_consultants_90d is not None:
        facts.append(Fact("Capacity", f"{partner.certified_staff or 0} certified staff, "
                                      f"{partner.available_consultants_90d or 0} consultants available in the next 90 days",
                          source=source))
    if partner.marketplace_offers:
        facts.append(Fact("Marketplace offers", "; ".join(o.name for o in partner.marketplace_offers), source=source))
    contact = ", ".join(x for x in (partner.contacts.pdm, partner.contacts.pdm_email, partner.contacts.partner_email) if x)
    if contact:
        facts.append(Fact("Contacts", contact, source=source))
    rows = catalog.rows_by_partner.get(partner.id, [])
    if rows:
        facts.append(Fact("On the solution map", "; ".join(
            f"{r.workload} ({r.role or 'aligned'}, {', '.join(r.countries)})" for r in rows[:12]),
            source=row_citation(rows[0])))
    for win in partner.wins[:5]:
        facts.append(Fact(f"Win: {win.customer}", f"{win.workload}, {win.industry}, {country_name(win.country)}, "
                                                   f"{win.year or ''} — {win.summary}".strip(), source=source))
    if partner.updated:
        facts.append(Fact("Profile updated", partner.updated, source=source))
    if show_confidential and partner.notes_confidential:
        facts.append(Fact("Internal notes (confidential)", partner.notes_confidential, confidential=True,
                          source=profile_citation(partner, "notes_confidential")))
    summary = partner.description or f"{partner.name}: partner profile."
    return Answer(AnswerKind.PROFILE, partner.name, summary, understood,
                  facts=tuple(f for f in facts if f.value), citations=(source,),
                  suggestions=(f"Which incentives can {partner.name} deliver?",) if partner.designations else ())
