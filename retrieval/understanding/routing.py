"""Which answer to compose: from the facts a question links to and the kind the intent classifier reads in it.

The facts decide what is possible (an opportunity id means the pipeline, two named partners can be compared, a
specialization can have holders); the classifier decides what is asked among those. Without the classifier
(no model installed) the facts alone decide, in the order a channel manager would expect.
"""
from __future__ import annotations

from dataclasses import dataclass

from retrieval.linking import Linked

# kinds that ask for partners (as opposed to documents, pipeline lists or one record)
SEEKING = frozenset({"coverage", "specialization", "fit", "attach", "comparison"})
# Below this similarity to its nearest example, a question that links to nothing is not sent to the pipeline
# views (which a seller is refused): a program question the bank has no neighbour for goes to the documents.
PIPELINE_MIN_CONFIDENCE = 0.5


@dataclass(frozen=True)
class Facts:
    """What a question links to, as counts and flags: all the router needs."""

    opportunity: bool = False        # an opportunity id, known or not
    partners: int = 0                # named partners
    subject: bool = False            # a workload, solution play or area
    held: bool = False               # a specialization or designation
    place: bool = False
    deal: bool = False               # a segment, an amount or a value range
    money: bool = False              # an incentive or program named
    unknown_terms: bool = False      # a product-like name the catalog does not know
    leftover: bool = False           # other content words


def facts_of(linked: Linked) -> Facts:
    kinds = {e.kind for e in linked.entities}
    return Facts(opportunity=bool(linked.opportunity_ids or linked.unknown_opportunity_ids),
                 partners=len(linked.names("partner")), subject=bool(kinds & {"workload", "solution_play", "solution_area"}),
                 held=bool(kinds & {"specialization", "designation"}), place=bool(linked.places),
                 deal=bool("segment" in kinds or linked.deal_usd is not None or linked.value_min is not None
                           or linked.value_max is not None),
                 money=bool(kinds & {"incentive", "program"}), unknown_terms=bool(linked.unknown_terms),
                 leftover=bool(linked.leftover_words))


def facts_only_kind(facts: Facts) -> str:
    """The kind when no classifier is available."""
    if facts.opportunity:
        return "attach"
    if facts.partners >= 2:
        return "comparison"
    if facts.partners:
        return "fit" if facts.subject or facts.held else "profile"
    if facts.held and not facts.subject:
        return "specialization"
    if facts.subject or facts.place:
        return "coverage"
    return "document"


def feasible(kind: str, facts: Facts) -> bool:
    """Can the question be this kind, given what it names? A fit check or a profile needs a named partner."""
    if kind in ("fit", "profile", "comparison"):
        return facts.partners > 0
    return True


def settle(ranked: tuple[str, ...], facts: Facts) -> str:
    """The classifier's best kind among those the facts allow (its neighbours' votes, best first)."""
    return next((k for k in ranked if feasible(k, facts)), facts_only_kind(facts))


def choose(kind: str, facts: Facts, confidence: float = 1.0) -> str:
    """The route: opportunity | gaps | pipeline | comparison | fit | profile | incentive | specialization |
    coverage | document | unknown | leftover | ask_workload."""
    if facts.opportunity:
        return "opportunity"
    linked_nothing = not (facts.partners or facts.subject or facts.held or facts.place or facts.deal or facts.money)
    if kind in ("gaps", "pipeline", "opportunity", "attach") and linked_nothing and confidence < PIPELINE_MIN_CONFIDENCE:
        return "document"
    if kind == "gaps":
        return "gaps"
    if kind == "pipeline" or (kind == "opportunity" and (facts.subject or facts.place or facts.deal)):
        return "pipeline"
    named = facts.partners
    if named >= 2 and kind in ("comparison", "fit", "profile", "attach"):
        return "comparison"
    if named and kind in ("fit", "comparison", "specialization", "attach"):
        return "fit" if facts.subject or facts.held or facts.place else "profile"
    if named and kind in ("profile", "document", "opportunity"):
        return "profile"
    if kind == "incentive":
        if facts.deal or facts.subject or facts.place or facts.money:
            return "incentive"
        if named:
            return "profile"
    if facts.held and not facts.subject and (kind in SEEKING or kind == "incentive"):
        return "specialization"
    if facts.subject and (kind in SEEKING or kind in ("incentive", "profile", "opportunity")):
        return "coverage"
    if facts.subject and kind == "document" and facts.place:
        return "coverage"
    if named and not facts.subject:
        return "profile"
    if kind in SEEKING and facts.unknown_terms and not facts.held:
        return "unknown"
    if kind in SEEKING and facts.leftover and not (facts.held or facts.place):
        return "leftover"
    if kind in SEEKING and facts.place and not facts.held:
        return "ask_workload"
    return "document"
