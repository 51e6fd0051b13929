"""Answers about named partners: a yes/no fit check with its reasons, and a side-by-side comparison.

fit         one partner + a workload / play, place, specialization or designation -> "Yes — … (Lead)" or
            "No — … not on the map for AKS in France; it covers AKS in Germany, Spain", every check sourced
comparison  two or more partners -> workloads on the map, countries, roles, specializations, co-sell
            readiness, capacity and wins, side by side with sources; ranked for the need when one is named
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from knowledge.geography import country_name
from knowledge.records import MapRow, Partner
from retrieval.answers import Answer, AnswerKind, Citation, Fact, PartnerMatch, Reason, Understood
from retrieval.catalog import Catalog
from retrieval.ranking import Need, profile_citation, row_citation, row_fits, score_partner


@dataclass(frozen=True)
class Check:
    ok: bool
    text: str                 # the finding, after the partner name: "is on the FY27 solution map for AKS in France (Lead)"
    source: Citation | None


def _countries(codes: tuple[str, ...] | list[str]) -> str:
    return ", ".join(country_name(c) for c in dict.fromkeys(codes))


def _wanted_workloads(catalog: Catalog, need: Need) -> list[str]:
    wanted = list(need.workloads)
    for play in need.solution_plays:
        wanted += catalog.workloads_of_play(play)
    for area in need.solution_areas:
        wanted += catalog.workloads_of_area(area)
    return list(dict.fromkeys(wanted))


def _subject(need: Need) -> str:
    return " / ".join(need.workloads or need.solution_plays or need.solution_areas)


def _map_check(catalog: Catalog, partner: Partner, need: Need, place: str) -> Check:
    wanted = _wanted_workloads(catalog, need)
    subject = _subject(need)
    rows = [r for r in catalog.rows_by_partner.get(partner.id, []) if r.workload in wanted]
    here = [r for r in rows if not need.countries or set(r.countries) & set(need.countries)]
    where = f" in {place}" if place else ""
    if here:
        roles = ", ".join(dict.fromkeys(r.role or "aligned" for r in here))
        year = here[0].fiscal_year
        covered = "" if need.countries else f" in {_countries([c for r in here for c in r.countries])}"
        return Check(True, f"is on the {year + ' ' if year else ''}solution map for {subject}{where}{covered} ({roles})",
                     row_citation(here[0]))
    if rows:
        return Check(False, f"is not on the solution map for {subject}{where}; it covers {subject} in "
                            f"{_countries([c for r in rows for c in r.countries])}", row_citation(rows[0]))
    listed = set(wanted) & set(partner.workloads)
    delivers = not need.countries or bool(set(need.countries) & set(partner.countries))
    if listed and delivers:
        return Check(False, f"is not on the solution map for {subject}{where}; its profile lists {subject}"
                            f"{' and delivery' + where if where else ''} (profile evidence only)",
                     profile_citation(partner, "workloads"))
    return Check(False, f"is not on the solution map for {subject} anywhere, and its profile does not list it",
                 profile_citation(partner, "workloads"))


def _place_check(partner: Partner, need: Need, place: str) -> Check:
    if set(need.countries) & set(partner.countries):
        return Check(True, f"delivers in {place}", profile_citation(partner, "countries"))
    return Check(False, f"does not deliver in {place}; it delivers in {_countries(partner.countries) or 'no country listed'}",
                 profile_citation(partner, "countries"))


def _held_check(partner: Partner, name: str, field_name: str) -> Check:
    held = partner.specializations if field_name == "specializations" else partner.designations
    if name in held:
        return Check(True, f"holds {name}", profile_citation(partner, field_name))
    others = "; ".join(held) or "none"
    return Check(False, f"does not hold {name} (its {field_name}: {others})", profile_citation(partner, field_name))


_CAPITALISED_RUN = re.compile(r"[A-Z][\w&+-]*(?:\s+(?:(?:and|&|of|on|for|with|to)\s+)?[A-Z0-9][\w&+-]*)*")
_CREDENTIAL_WORDS = re.compile(r"\s+(spec|specs|specialization|specialisation|designation|badge)$", re.IGNORECASE)


def named_credentials(question: str, partner: Partner, unknown_terms: list[str]) -> list[str]:
    """The credential names a question asks a partner about, as its profile spells them when it holds them.

    "got the Analytics on Microsoft Azure spec?" -> "Analytics on Microsoft Azure"; a name the catalog does not
    know ("Identity and Access Management") is kept whole (the capitalised run around it) so the check can say
    the partner does not hold it."""
    held = {h.lower(): h for h in (*partner.specializations, *partner.designations)}
    out: list[str] = []
    for term in unknown_terms:
        run = next((m.group(0) for m in _CAPITALISED_RUN.finditer(question) if term in m.group(0)), term)
        name = _CREDENTIAL_WORDS.sub("", run.strip())
        match = next((h for key, h in held.items() if key == name.lower() or key in name.lower()), None)
        out.append(match or name)
    return list(dict.fromkeys(out))


def fit_check(catalog: Catalog, partner: Partner, need: Need, specializations: list[str], designations: list[str],
              understood: Understood) -> Answer:
    """Is this partner right for what the question names? Yes only when every named fact checks out."""
    place = understood.country_label or _countries(need.countries)
    checks: list[Check] = []
    if need.workloads or need.solution_plays or need.solution_areas:
        checks.append(_map_check(catalog, partner, need, place))
    elif need.countries:
        checks.append(_place_check(partner, need, place))
    checks += [_held_check(partner, s, "specializations") for s in specializations]
    checks += [_held_check(partner, d, "designations") for d in designations]
    if not checks:
        checks.append(Check(True, f"delivers in {_countries(partner.countries)}", profile_citation(partner, "countries")))
    fits = all(c.ok for c in checks)
    asked = " · ".join(x for x in (_subject(need), *specializations, *designations, place) if x)
    if fits:
        summary = f"Yes — {partner.name} " + "; ".join(c.text for c in checks) + "."
    else:
        failed = [c for c in checks if not c.ok]
        summary = f"No — {partner.name} " + "; ".join(c.text for c in failed) + "."
        held = [c for c in checks if c.ok]
        if held:
            summary += " It " + "; ".join(c.text for c in held) + "."
    # the partner's sourced reasons for what was asked (its map rows for a workload; its credentials, capacity
    # and readiness otherwise)
    rows = [r for r in catalog.rows_by_partner.get(partner.id, []) if row_fits(r, need, catalog)]
    match = score_partner(partner, partner.id, rows, need, catalog)
    facts = [Fact("Checked" if c.ok else "Does not fit", c.text, source=c.source) for c in checks]
    facts += _context_facts(partner, positive_first=fits)
    notes: tuple[str, ...] = ()
    if fits and match.gaps:
        # the verdict leads; what would make the partner a weaker choice is said after it
        notes = (f"Worth knowing: {'; '.join(match.gaps)}.",)
        match = replace(match, gaps=())
    if fits:
        # the partner's first reasons are the findings the yes rests on, each with its source
        evidence = tuple(Reason("fit", c.text[:1].upper() + c.text[1:], 0.0, c.source) for c in checks)
        match = replace(match, reasons=evidence + match.reasons)
    return Answer(AnswerKind.FIT, f"{partner.name}: {'a fit' if fits else 'not a fit'} for {asked or 'this'}",
                  summary, understood, partners=(match,) if fits else (), notes=notes,
                  facts=tuple(facts), citations=tuple(dict.fromkeys(c.source for c in checks if c.source)),
                  suggestions=() if fits or not _subject(need) else
                  (f"Which partners cover {_subject(need)}" + (f" in {place}?" if place else "?"),))


def _context_facts(partner: Partner, *, positive_first: bool) -> list[Fact]:
    source = profile_citation(partner)
    capacity = (f"{partner.available_consultants_90d} consultants available in the next 90 days, "
                f"{partner.certified_staff or 0} certified staff") if partner.available_consultants_90d else ""
    facts = [Fact("Capacity", capacity, source=profile_citation(partner, "capacity")),
             Fact("Contact", ", ".join(x for x in (partner.contacts.pdm, partner.contacts.pdm_email) if x), source=source)]
    readiness = Fact("Co-sell ready", "yes" if partner.co_sell_ready else "no", source=profile_citation(partner, "co_sell_ready"))
    # A "yes" answers what was asked and stays a plain yes: readiness is added when it holds (the profile, cited,
    # has the rest). A "no" gives the whole picture.
    if positive_first:
        facts = facts + ([readiness] if partner.co_sell_ready else [])
    else:
        facts = [readiness, *facts]
    return [f for f in facts if f.value]


# ----------------------------------------------------------------------------------- comparison
def _rows_summary(rows: list[MapRow], limit: int = 6) -> str:
    parts = [f"{r.workload} ({r.role or 'aligned'}, {', '.join(r.countries)})" for r in rows[:limit]]
    if len(rows) > limit:
        parts.append(f"+{len(rows) - limit} more")
    return "; ".join(parts) or "none"


def compare_partners(catalog: Catalog, partners: list[Partner], need: Need, understood: Understood) -> Answer:
    """Side by side; with a workload or place, ranked by fit for it and each one's fit said first."""
    subject = _subject(need)
    place = understood.country_label or _countries(need.countries)
    scoped = bool(subject or need.countries)
    matches: list[PartnerMatch] = []
    for partner in partners:
        rows = [r for r in catalog.rows_by_partner.get(partner.id, []) if row_fits(r, need, catalog)] if scoped else []
        matches.append(score_partner(partner, partner.id, rows, need, catalog))
    if scoped:
        order = sorted(range(len(partners)), key=lambda i: (-matches[i].on_map, -matches[i].score, partners[i].name))
        partners, matches = [partners[i] for i in order], [matches[i] for i in order]
    facts: list[Fact] = []
    verdicts: list[str] = []
    for partner in partners:
        source = profile_citation(partner)
        rows = catalog.rows_by_partner.get(partner.id, [])
        if subject:
            check = _map_check(catalog, partner, need, place)
            verdicts.append(f"{partner.name} {check.text}")
            facts.append(Fact(f"{partner.name} — fit", check.text, source=check.source))
        facts += [
            Fact(f"{partner.name} — on the map", _rows_summary(rows), source=row_citation(rows[0]) if rows else source),
            Fact(f"{partner.name} — countries", _countries(partner.countries), source=profile_citation(partner, "countries")),
            Fact(f"{partner.name} — specializations", "; ".join(partner.specializations) or "none",
                 source=profile_citation(partner, "specializations")),
            Fact(f"{partner.name} — co-sell ready", "yes" if partner.co_sell_ready else "no",
                 source=profile_citation(partner, "co_sell_ready")),
            Fact(f"{partner.name} — capacity", f"{partner.available_consultants_90d or 0} consultants free in 90 days, "
                                               f"{partner.certified_staff or 0} certified staff",
                 source=profile_citation(partner, "capacity")),
            Fact(f"{partner.name} — wins", "; ".join(f"{w.customer} ({w.workload}, {country_name(w.country)})"
                                                      for w in partner.wins[:3]) or "none listed", source=source),
        ]
    names = [p.name for p in partners]
    listed = ", ".join(names[:-1]) + f" and {names[-1]}"
    if subject and verdicts:
        summary = f"{listed} for {subject}{' in ' + place if place else ''}: " + "; ".join(verdicts) + "."
    else:
        summary = f"{listed} side by side: " + "; ".join(
            f"{p.name} is on the map for {len({r.workload for r in catalog.rows_by_partner.get(p.id, [])})} workloads "
            f"in {len(p.countries)} countr{'y' if len(p.countries) == 1 else 'ies'}" for p in partners) + "."
    citations = tuple(dict.fromkeys(f.source for f in facts if f.source))
    return Answer(AnswerKind.COMPARISON, f"{listed}" + (f" for {subject}" if subject else "") + (f" in {place}" if place else ""),
                  summary, understood, partners=tuple(matches), facts=tuple(facts), citations=citations)
