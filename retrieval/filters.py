"""Coverage with the filters a user states: industry, segment, co-sell ready, capacity, map role,
specializations held, partners left out, and how many to show.

A stated filter is a filter: a partner that fails it is not listed. When the filters empty the list,
the answer says which filter did it and shows the closest partners (those failing only that filter),
each marked with what it lacks: "No co-sell-ready partner for AKS in Austria; 3 without co-sell
readiness: …". Without stated filters this is plain coverage (structured.coverage).
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace

from knowledge.records import MapRow, Partner
from retrieval import structured
from retrieval.answers import Answer, AnswerKind, PartnerMatch, Understood
from retrieval.catalog import Catalog
from retrieval.ranking import Need, row_fits

Check = tuple[str, str, Callable[[PartnerMatch], bool]]   # (what it asks, what a failing partner lacks, test)


def stated(need: Need) -> bool:
    return bool(need.industries or need.segments or need.co_sell_ready or need.min_capacity is not None
                or need.role or need.holds or need.top_n or need.order or need.excluded_partners)


def _checks(catalog: Catalog, need: Need) -> list[Check]:
    # the partner's map rows for the workload and place: a partner on the map there is judged by those rows,
    # never by its profile (a row for another industry does not pass because the profile names it)
    where = replace(need, industries=(), segments=())

    def rows(match: PartnerMatch) -> list[MapRow]:
        return [r for r in catalog.rows_by_partner.get(match.partner_id, []) if row_fits(r, where, catalog)]

    def partner(match: PartnerMatch) -> Partner | None:
        return catalog.partners.get(match.partner_id)

    def has_industry(match: PartnerMatch, industry: str) -> bool:
        fitting = rows(match)
        if fitting:
            return any(industry in r.industries for r in fitting)
        p = partner(match)
        return bool(p and industry in p.industries)

    def has_segment(match: PartnerMatch, segment: str) -> bool:
        fitting = rows(match)
        p = partner(match)
        if fitting:
            return any(segment in (r.segments or (p.segments if p else ())) for r in fitting)
        return bool(p and segment in p.segments)

    def holds(match: PartnerMatch, held: str) -> bool:
        p = partner(match)
        return bool(p and (held in p.specializations or held in p.designations))

    checks: list[Check] = []
    for industry in need.industries:
        checks.append((industry, f"no {industry} on the map", functools.partial(_flip, has_industry, industry)))
    for segment in need.segments:
        checks.append((segment, f"not {segment}", functools.partial(_flip, has_segment, segment)))
    if need.co_sell_ready:
        checks.append(("co-sell ready", "not co-sell ready", lambda m: bool((p := partner(m)) and p.co_sell_ready)))
    if need.min_capacity is not None:
        n = need.min_capacity
        checks.append((f"{n}+ consultants available", f"fewer than {n} consultants available",
                       lambda m: bool((p := partner(m)) and (p.available_consultants_90d or 0) >= n)))
    if need.role:
        checks.append((f"{need.role} role", f"not {need.role} on the map",
                       lambda m: any(r.role == need.role for r in rows(m))))
    for held in need.holds:
        checks.append((f"holds {held}", f"does not hold {held}", functools.partial(_flip, holds, held)))
    return checks


def _available(catalog: Catalog, match: PartnerMatch) -> int:
    partner = catalog.partners.get(match.partner_id)
    return partner.available_consultants_90d or 0 if partner else 0


def _flip(test: Callable[[PartnerMatch, str], bool], value: str, match: PartnerMatch) -> bool:
    return test(match, value)


def coverage(catalog: Catalog, need: Need, understood: Understood) -> Answer:
    if not stated(need):
        return structured.coverage(catalog, need, understood)
    base = replace(need, industries=(), segments=(), co_sell_ready=False, min_capacity=None, role="", holds=(),
                   top_n=None, order="")
    ranked_need = replace(base, industries=need.industries, segments=need.segments)
    exact, partial, profile_only = structured.rank_for_need(catalog, ranked_need)
    on_map = sorted(exact + partial, key=lambda m: (-m.score, m.name))
    checks = _checks(catalog, need)
    passing = [m for m in on_map if all(test(m) for _, _, test in checks)]
    if need.order == "capacity":
        passing.sort(key=lambda m: (-_available(catalog, m), -m.score, m.name))
    off_map = [m for m in profile_only if all(test(m) for _, _, test in checks)]
    subject = " / ".join(need.workloads or need.solution_plays or need.solution_areas)
    place = understood.country_label or need.describe_place()
    where = f" in {place}" if place else ""
    wanted = ", ".join(label for label, _, _ in checks)
    meeting = f" and meet{'s' if len(passing) == 1 else ''}: {wanted}" if wanted else ""
    order = "most consultants available first" if need.order == "capacity" else "best first"
    if not passing and not off_map:
        return _emptied(catalog, need, understood, on_map or profile_only, checks, subject, where) if checks \
            else structured.coverage(catalog, base, understood)
    limit = need.top_n or structured.MAX_PARTNERS
    shown = passing[:limit]
    plural = "s are" if len(passing) != 1 else " is"
    title = (f"Top {len(shown)} for {subject}{where}" if need.top_n and shown else f"Partners for {subject}{where}")
    summary = f"{len(passing)} partner{plural} on the solution map for {subject}{where}{meeting}"
    summary += f"; the {len(shown)} strongest, {order}." if need.top_n else (f", {order}." if need.order else ".")
    if need.top_n and len(passing) < need.top_n:
        summary += f" Only {len(passing)}, not {need.top_n}."
    other = "other " if need.excluded_partners else ""
    if not passing:
        summary = (f"No {other}partner on the solution map for {subject}{where}" + (f" meets: {wanted}" if wanted else "")
                   + f". {len(off_map)} partner profile{'s list' if len(off_map) != 1 else ' lists'} it"
                   + (" and meet the filters" if wanted else "") + ": profile evidence only.")
    left_out = len(on_map) - len(passing)
    notes = [f"{left_out} other partner{'s' if left_out != 1 else ''} on the map for {subject}{where} "
             f"do{'es' if left_out == 1 else ''} not meet it and {'are' if left_out != 1 else 'is'} left out."] \
        if left_out and wanted else []
    if need.excluded_partners:
        n = len(need.excluded_partners)
        notes.append(f"Left out as you asked: {n} partner{'s' if n != 1 else ''} you named.")
    if not need.countries:
        notes.append("The solution map is country-specific: tell me the customer's country for a precise answer.")
    others = off_map[: need.top_n or structured.MAX_PROFILE_ONLY] if not (need.top_n and shown) else []
    return Answer(AnswerKind.COVERAGE, title, summary, understood, partners=tuple(shown), other_partners=tuple(others),
                  notes=tuple(notes), missing=() if need.countries else ("country",),
                  total=len(passing) if len(passing) > len(shown) and not need.top_n else None,
                  citations=tuple(dict.fromkeys(r.source for m in shown for r in m.reasons[:1] if r.source)),
                  low_confidence=not passing)


def _emptied(catalog: Catalog, need: Need, understood: Understood, on_map: list[PartnerMatch], checks: list[Check],
             subject: str, where: str) -> Answer:
    """Nobody meets every filter: say which filter empties the list, and show who is closest (on the map,
    or else with profile evidence)."""
    if not on_map:
        base = replace(need, industries=(), segments=(), co_sell_ready=False, min_capacity=None, role="", holds=())
        return structured.coverage(catalog, base, understood)
    failing: dict[str, list[str]] = {m.partner_id: [lacks for _, lacks, test in checks if not test(m)] for m in on_map}
    fewest = min(len(v) for v in failing.values())
    closest = [replace(m, gaps=tuple(failing[m.partner_id]) + m.gaps) for m in on_map if len(failing[m.partner_id]) == fewest]
    blockers = [label for label, lacks, _ in checks if all(lacks in failing[m.partner_id] for m in on_map)]
    blocker = ", ".join(blockers) or ", ".join(label for label, _, _ in checks)
    summary = (f"No partner {'on the solution map' if on_map[0].on_map else 'with profile evidence'} for "
               f"{subject}{where} meets {blocker}. "
               f"{len(closest)} come{'s' if len(closest) == 1 else ''} closest, each marked with what it lacks:")
    return Answer(AnswerKind.NO_MATCH, f"No {blocker} partner for {subject}{where}", summary, understood,
                  other_partners=tuple(closest[: structured.MAX_PARTNERS]),
                  notes=(f"Ask again without “{blocker}” to see every partner for {subject}{where}.",))
