"""Never answer a wider question silently: a stated place or name that could not be placed is asked about.

"AKS partners in Bavariaa" does not become a worldwide list: "I couldn't place “Bavariaa” — which
country is the customer in?", with "did you mean …?" buttons when the catalog has a name that looks
like what was typed (a CLARIFY answer: its suggestions render as buttons).
"""
from __future__ import annotations

import difflib

from retrieval.answers import Answer, AnswerKind, Understood
from retrieval.catalog import Catalog
from retrieval.linking import Linked

_SUBJECTS = ("workload", "solution_play", "solution_area", "specialization", "designation", "partner", "program",
             "incentive")


_COVERAGE_SUBJECTS = ("workload", "solution_play", "solution_area", "specialization", "designation")


def unplaced_fact(linked: Linked, understood: Understood, *, seeking: bool) -> Answer | None:
    """A CLARIFY answer when a stated fact could not be placed: a place in a question about who covers
    something, or the subject of a question seeking a partner. None otherwise (documents questions
    mention acronyms and odd words that are nobody's place)."""
    places = [u for u in linked.unresolved if u.kind == "place"]
    subject = any(e.kind in _COVERAGE_SUBJECTS for e in linked.entities)
    if places and not linked.countries and subject:
        typed, candidates = places[0].typed, places[0].candidates[:3]
        if candidates:
            summary = f"I couldn't place “{typed}”. Did you mean {' or '.join(candidates)}?"
        else:
            summary = (f"I couldn't place “{typed}”: it is not a country or region I know. "
                       "Which country is the customer in?")
        return Answer(AnswerKind.CLARIFY, f"Where is “{typed}”?", summary, understood, missing=("country",),
                      suggestions=tuple(_replace(linked, typed, c) for c in candidates),
                      notes=("I answer per country, so I'd rather ask than list partners from everywhere.",))
    unknown = [u for u in linked.unresolved if u.kind == "partner" and not u.candidates]
    if unknown and not any(e.kind == "partner" for e in linked.entities):
        typed = unknown[0].typed
        return Answer(AnswerKind.CLARIFY, f"I don't know “{typed}”",
                      f"I don't know a partner called “{typed}”: no partner profile or map row has that name. "
                      "Check the spelling, or ask without it.", understood, missing=("partner",))
    partner_linked = any(e.kind == "partner" for e in linked.entities)
    names = [u for u in linked.unresolved if u.candidates and (
        u.kind == "partner" and not partner_linked
        or u.kind == "name" and seeking and not any(e.kind in _SUBJECTS for e in linked.entities))]
    if names and not linked.opportunity_ids and not linked.unknown_opportunity_ids:
        typed, candidates = names[0].typed, names[0].candidates[:3]
        return Answer(AnswerKind.CLARIFY, f"Did you mean {' or '.join(candidates)}?",
                      f"I don't know “{typed}” as written. Did you mean {' or '.join(candidates)}?", understood,
                      missing=("subject",), suggestions=tuple(_replace(linked, typed, c) for c in candidates))
    return None


def _replace(linked: Linked, typed: str, candidate: str) -> str:
    """The question as typed, with the word in doubt replaced (in its English reading when it was translated)."""
    for text in (linked.typed, linked.text):
        index = text.lower().find(typed.lower())
        if index >= 0:
            return text[:index] + candidate + text[index + len(typed):]
    return f"{linked.text} ({candidate})"


def unknown_subject(catalog: Catalog, linked: Linked, understood: Understood, term: str = "",
                    documents_searched: bool = False) -> Answer:
    """An honest "I don't know X": not a workload, play or specialization of the catalog, with near names offered."""
    term = term or (linked.unknown_terms[0] if linked.unknown_terms else " ".join(linked.leftover_words))
    known = catalog.workloads + catalog.solution_plays
    close = difflib.get_close_matches(term, known, n=3, cutoff=0.6)
    summary = (f"I don't know “{term}”: it is not a workload, solution play or specialization in the solution map "
               "or partner profiles, so I can't name a partner for it.")
    if documents_searched:
        summary = (f"I don't know “{term}”: it is not a workload, solution play, program or specialization in the "
                   "catalog, and no program document I can show you mentions it.")
    suggestions = tuple(f"Which partners cover {c}" + (f" in {understood.country_label}?" if understood.country_label else "?")
                        for c in close)
    notes = (f"Did you mean: {', '.join(close)}?",) if close else ()
    return Answer(AnswerKind.NO_MATCH, f"Nothing matches “{term}”", summary, understood,
                  notes=notes, suggestions=suggestions)

def ask_for_workload(catalog: Catalog, linked: Linked, understood: Understood) -> Answer:
    """A place without a subject: which workload? with the ones the map has partners for there."""
    counts: dict[str, set[str]] = {}
    for row in catalog.map_rows:
        if set(row.countries) & set(linked.countries):
            counts.setdefault(row.workload, set()).add(catalog.partner_id_of(row))
    top = sorted(counts.items(), key=lambda kv: -len(kv[1]))[:8]
    place = linked.place_label
    summary = (f"Which workload or solution play? The map has partners in {place} for "
               + "; ".join(f"{w} ({len(p)})" for w, p in top) + "." if top else
               f"No partner is on the solution map in {place}.")
    return Answer(AnswerKind.CLARIFY, f"Partners in {place}", summary, understood, missing=("workload",),
                  suggestions=tuple(f"Which partners cover {w} in {place}?" for w, _ in top[:3]))
