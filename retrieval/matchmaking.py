"""Partner match-making: who could team up with a partner on a workload in a country.

What the first partner lacks for the need (a map alignment there, delivery in the country, a
specialization that evidences the workload, capacity, co-sell readiness, the customer's industry) is
read from its map rows and profile; complementary partners are those that bring the most of it, then
the best fit. Every reason names its source. Only public partner facts are used, so anyone may ask.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from knowledge.geography import country_name
from knowledge.records import Opportunity, Partner
from retrieval import structured
from retrieval.answers import Answer, AnswerKind, Fact, PartnerMatch, Reason, Understood
from retrieval.catalog import Catalog
from retrieval.linking import Linked
from retrieval.ranking import Need, profile_citation, row_fits
from retrieval.referral_intent import words

MAX_PARTNERS = 5


@dataclass(frozen=True)
class Lack:
    key: str           # on_map | delivery | specialization | capacity | co_sell | industry
    text: str          # "no delivery in Austria"


def _low_capacity() -> int:
    return int(words()["defaults"].get("team_up_low_capacity", 3))


def _evidencing_specs(catalog: Catalog, workloads: tuple[str, ...]) -> set[str]:
    return {s for s, wl in catalog.specialization_workloads.items() if wl & set(workloads)}


def lacks(catalog: Catalog, partner: Partner, need: Need) -> list[Lack]:
    """What the partner does not bring for the need, according to the map and its profile."""
    place = need.describe_place()
    out: list[Lack] = []
    if not any(row_fits(r, need, catalog) for r in catalog.rows_by_partner.get(partner.id, [])):
        out.append(Lack("on_map", f"not on the solution map for {', '.join(need.workloads)}"
                                  + (f" in {place}" if place else "")))
    if need.countries and not set(partner.countries) & set(need.countries):
        out.append(Lack("delivery", f"no delivery in {place}"))
    specs = _evidencing_specs(catalog, need.workloads)
    if specs and not specs & set(partner.specializations):
        out.append(Lack("specialization", f"no specialization for {', '.join(need.workloads)}"))
    available = partner.available_consultants_90d
    if available is not None and available < _low_capacity():
        out.append(Lack("capacity", f"only {available} consultants available in the next 90 days"))
    if not partner.co_sell_ready:
        out.append(Lack("co_sell", "not co-sell ready"))
    if need.industries and not set(need.industries) & set(partner.industries):
        out.append(Lack("industry", f"no {', '.join(need.industries)} experience listed"))
    return out


def brings(catalog: Catalog, candidate: Partner | None, match: PartnerMatch, need: Need, missing: list[Lack]) -> list[str]:
    """Which of the missing things the candidate brings, in words."""
    if candidate is None:
        return []
    out = []
    for lack in missing:
        if lack.key == "on_map" and match.on_map:
            out.append(f"{match.role or 'aligned'} on the map for {', '.join(need.workloads)}")
        elif lack.key == "delivery" and set(candidate.countries) & set(need.countries):
            out.append(f"delivers in {need.describe_place()}")
        elif lack.key == "specialization" and (held := _evidencing_specs(catalog, need.workloads)
                                                & set(candidate.specializations)):
            out.append(f"specialization {', '.join(sorted(held))}")
        elif lack.key == "capacity" and (candidate.available_consultants_90d or 0) >= _low_capacity():
            out.append(f"{candidate.available_consultants_90d} consultants available in the next 90 days")
        elif lack.key == "co_sell" and candidate.co_sell_ready:
            out.append("co-sell ready")
        elif lack.key == "industry" and set(need.industries) & set(candidate.industries):
            out.append(f"{', '.join(set(need.industries) & set(candidate.industries))} experience")
    return out


def team_up(catalog: Catalog, linked: Linked, understood: Understood) -> Answer:
    partner = catalog.partners.get(linked.names("partner")[0])
    if partner is None:
        return Answer(AnswerKind.NO_MATCH, "Unknown partner", "I have no profile for that partner.", understood)
    workloads = tuple(linked.names("workload"))
    for play in linked.names("solution_play"):
        workloads += tuple(catalog.workloads_of_play(play))
    if not workloads:
        mine = sorted({r.workload for r in catalog.rows_by_partner.get(partner.id, [])})[:3]
        return Answer(AnswerKind.CLARIFY, f"Team up with {partner.name} on what?",
                      f"On which workload should a partner complement {partner.name}?", understood,
                      missing=("workload",),
                      suggestions=tuple(f"Who could team up with {partner.name} on {w}?" for w in mine))
    need = Need(workloads=workloads, countries=linked.countries, industries=tuple(linked.names("industry")),
                excluded_partners=frozenset({partner.id}))
    missing = lacks(catalog, partner, need)
    exact, partial, profile_only = structured.rank_for_need(catalog, need)
    scored: list[tuple[int, float, PartnerMatch]] = []
    for match in exact + partial + profile_only:
        candidate = catalog.partners.get(match.partner_id)
        adds = brings(catalog, candidate, match, need, missing)
        if missing and not adds:
            continue
        detail = (f"Complements {partner.name}: " + "; ".join(adds)) if adds else \
            f"Another partner for {', '.join(workloads)}: more hands for {partner.name}"
        reason = Reason("complements", detail, float(len(adds)), profile_citation(candidate) if candidate else None)
        scored.append((len(adds), match.score, replace(match, reasons=(reason, *match.reasons))))
    # most of what is missing first, then the fewest gaps of its own, then the best fit
    scored.sort(key=lambda t: (-t[0], len(t[2].gaps), -t[1], t[2].name))
    place = understood.country_label or ", ".join(country_name(c) for c in linked.countries)
    subject = ", ".join(workloads) + (f" in {place}" if place else "")
    facts = tuple(Fact(f"{partner.name} lacks", lack.text, source=profile_citation(partner)) for lack in missing) or (
        Fact(partner.name, f"on the map, delivering, specialised and with capacity for {subject}",
             source=profile_citation(partner)),)
    if not scored:
        return Answer(AnswerKind.TEAM_UP, f"Team up with {partner.name}: {subject}",
                      f"No partner brings what {partner.name} lacks for {subject}.", understood, facts=facts)
    shown = tuple(m for _, _, m in scored[:MAX_PARTNERS])
    full = [m for n, _, m in scored if n == len(missing) and missing]
    summary = (f"For {subject}, {partner.name} " + ("lacks: "
                                                    + "; ".join(lack.text for lack in missing) if missing else
                                                    "has everything on record (map, delivery, specialization, "
                                                    "capacity)")
               + f". {len(scored)} partner{'s' if len(scored) != 1 else ''} could team up with it"
               + (f"; {len(full)} cover{'s' if len(full) == 1 else ''} every gap." if full else "."))
    return Answer(AnswerKind.TEAM_UP, f"Team up with {partner.name}: {subject}", summary, understood,
                  partners=shown, facts=facts, total=len(scored) if len(scored) > len(shown) else None)


def pair_note(catalog: Catalog, top: PartnerMatch, opportunity: Opportunity | None) -> str:
    """When the best partner for an opportunity leaves a gap, the partner that best fills it, as a note."""
    partner = catalog.partners.get(top.partner_id)
    if partner is None or opportunity is None or not opportunity.workload:
        return ""
    need = Need(workloads=(opportunity.workload,), countries=(opportunity.country,) if opportunity.country else (),
                industries=(opportunity.industry,) if opportunity.industry else (),
                excluded_partners=frozenset({partner.id}))
    missing = [lack for lack in lacks(catalog, partner, need) if lack.key in ("capacity", "specialization", "co_sell")]
    if not missing:
        return ""
    exact, partial, _ = structured.rank_for_need(catalog, need, profile_only=False)
    for match in sorted(exact + partial, key=lambda m: (-m.score, m.name)):
        adds = brings(catalog, catalog.partners.get(match.partner_id), match, need, missing)
        if len(adds) == len(missing):
            return (f"No single partner covers everything: {top.name} is the best fit but "
                    + "; ".join(lack.text for lack in missing)
                    + f". Pair it with {match.name} ({'; '.join(adds)}).")
    return ""
