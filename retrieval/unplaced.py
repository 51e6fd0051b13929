"""Never answer a wider question silently: a stated place or name that could not be placed is asked about.

"AKS partners in Bavariaa" does not become a worldwide list: "I couldn't place “Bavariaa” — which
country is the customer in?", with "did you mean …?" buttons when the catalog has a name that looks
like what was typed (a CLARIFY answer: its suggestions render as buttons).
"""
from __future__ import annotations

from retrieval.answers import Answer, AnswerKind, Understood
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
