"""Incentives: the rules a workload, segment, country and deal size fit, and the partners who can deliver them."""
from __future__ import annotations

from knowledge.display import format_usd
from knowledge.geography import country_name
from knowledge.records import Incentive, MapRow, Partner
from retrieval.answers import (
    Answer,
    AnswerKind,
    Citation,
    IncentiveMatch,
    PartnerMatch,
    Understood,
)
from retrieval.catalog import Catalog
from retrieval.ranking import Need, score_partner


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
