"""The pipeline: partner suggestions for one opportunity (attach), and the unattached opportunities with the top
suggestion for each."""
from __future__ import annotations

from dataclasses import replace

from knowledge.dates import date_sort_key
from knowledge.display import format_usd
from knowledge.geography import country_name
from knowledge.records import Opportunity
from retrieval.answers import (
    Answer,
    AnswerKind,
    Citation,
    Decision,
    Fact,
    OpportunityLine,
    PartnerMatch,
    Understood,
)
from retrieval.catalog import Catalog
from retrieval.fit_points import top_partner
from retrieval.ranking import Need, weights
from retrieval.structured.by_need import MAX_PARTNERS, MAX_PROFILE_ONLY, _near_misses, _place, rank_for_need

MAX_OPPORTUNITIES = 25


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
    # selected on the pipeline's columns: only the opportunities shown (or exported) become records
    table = catalog.opportunities.table
    ids, workloads, plays, countries, segments, industries, usd, opp_stages, owners, close = (table.column(name) for name in (
        "id", "workload", "solution_play", "country", "segment", "industry", "estimated_value_usd", "stage", "owner",
        "close_date"))
    selected: list[int] = []
    marked_attached = []
    for n in catalog.unattached_rows(wanted, need.solution_plays, need.countries):
        if (wanted or need.solution_plays) and workloads[n] not in wanted and plays[n] not in need.solution_plays:
            continue
        if need.countries and countries[n] not in need.countries:
            continue
        if need.segments and segments[n] not in need.segments:
            continue
        if need.industries and industries[n] not in need.industries:
            continue
        if value_min is not None and (usd[n] or 0) < value_min:
            continue
        if value_max is not None and (usd[n] or 0) > value_max:
            continue
        if stages and not any(opp_stages[n].lower().startswith(s.lower()) or s.lower() in opp_stages[n].lower() for s in stages):
            continue
        if owner and owners[n].lower() != owner.lower():
            continue
        if any(d.action == "attach" for d in decisions.get(ids[n], ())):
            marked_attached.append(ids[n])
            continue
        selected.append(n)
    if sort == "close_date":
        selected.sort(key=lambda n: (date_sort_key(close[n]), ids[n]))
    else:
        selected.sort(key=lambda n: (-(usd[n] or 0), ids[n]))
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
    for opp in catalog.unattached_records(selected[:limit]):
        history = tuple(decisions.get(opp.id, ()))
        dismissed = frozenset(d.partner_id for d in history if d.action == "dismiss")
        lines.append(replace(_line(opp, top_suggestion(catalog, need_for(opp, dismissed))), decisions=history))
    total_value = sum(usd[n] or 0 for n in selected)
    summary = (f"{len(selected)} opportunit{'ies have' if len(selected) != 1 else 'y has'} no partner attached "
               f"({scope}), worth {format_usd(total_value)} in total.")
    if limit is not None and len(selected) > limit:
        notes.append(f"Showing the first {limit} by {'close date' if sort == 'close_date' else 'value'}; "
                     "narrow by workload, country or deal size, or export the full list.")
    return Answer(AnswerKind.PIPELINE, f"Unattached opportunities: {scope}", summary, understood,
                  opportunities=tuple(lines), notes=tuple(notes),
                  total=len(selected) if limit is not None and len(selected) > limit else None,
                  citations=(Citation("Pipeline export", table.column("source_path")[selected[0]]),))
