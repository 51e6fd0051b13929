"""Follow-ups: a message that changes the previous question instead of asking a new one.

"and in Spain?", "same for the US", "narrow that to retail", "only the co-sell ready ones please",
"do any of those have 15+ consultants?", "drop X", "which two would you pick there?", "deal size just
went up to 250k", "ok and for Azure AI Foundry there?". The previous question's facts are kept and
what the follow-up states replaces the same kind of fact. Customer facts (place, industry, segment,
deal) carry over a change of subject; filters on the previous list of partners (co-sell, capacity,
role, how many, who was left out) carry only while the subject stays the same.
"""
from __future__ import annotations

import re

from knowledge.geography import Place
from retrieval.answers import Understood
from retrieval.catalog import Entity, normalize
from retrieval.linking import Linked
from retrieval.understanding.constraints import Constraints
from retrieval.understanding.need import constraints_of

_CUES = re.compile(r"^\s*(and|also|what about|how about|same for|same in|same deal|same but|now|ok(ay)?|then|only|just|"
                   r"hmm+|but|narrow|filter|drop|remove|exclude|except|without|which of (those|them|these)|"
                   r"any of (those|them|these)|do any|of those|instead|what if)\b", re.IGNORECASE)
_BACK = re.compile(r"\b(those|these|them|that one|that list|there|same|instead|the list|that|now|still|after all|"
                   r"any ?more|either|too|as well)\b", re.IGNORECASE)
_ASKS_ANEW = re.compile(r"^\s*(how (long|much|many|do|does|can|is|are|to)|what (is|are|does|do)|why|when)\b",
                        re.IGNORECASE)
SUBJECT_KINDS = frozenset({"workload", "solution_play", "solution_area", "specialization", "designation", "partner",
                           "incentive", "program"})
_CUSTOMER_KINDS = frozenset({"industry", "segment"})


def _states_filter(linked: Linked) -> bool:
    constraints = constraints_of(linked)
    return bool(linked.places or linked.deal_usd is not None or linked.value_min is not None
                or linked.value_max is not None or any(e.kind in _CUSTOMER_KINDS for e in linked.entities)
                or constraints.partner_filters() or constraints.top_n or constraints.excluded)


def is_follow_up(question: str, linked: Linked) -> bool:
    """Changes only a filter ("and in France?", "only co-sell ready"), or swaps the subject while pointing
    back at the previous place ("ok and for Azure AI Foundry there?")."""
    if linked.opportunity_ids:
        return False
    words = len(question.split())
    subject = any(e.kind in SUBJECT_KINDS for e in linked.entities)
    if subject:
        return not linked.places and bool(_CUES.match(question)) and (bool(_BACK.search(question)) or words <= 4) \
            and words <= 10
    if not _states_filter(linked):
        return False
    if _CUES.match(question) or _BACK.search(question):
        return True
    # short and filter-like, unless it asks about something of its own ("how long does co-sell validation take?",
    # "what is co-sell ready?"): those are new questions that happen to name a filter
    return words <= 6 and not _ASKS_ANEW.match(question)


def merge(previous: Linked, new: Linked) -> Linked:
    """The previous question's facts, with whatever the follow-up states replacing the same kind."""
    subject_changed = any(e.kind in SUBJECT_KINDS for e in new.entities)
    merged = Linked(text=previous.text, words=previous.words)   # the first wording decides the kind of answer
    new_kinds = {e.kind for e in new.entities}
    if subject_changed:
        new_kinds |= SUBJECT_KINDS
    merged.entities = [e for e in previous.entities if e.kind not in new_kinds] + list(new.entities)
    merged.places = list(new.places) or list(previous.places)
    merged.deal_usd = new.deal_usd if new.deal_usd is not None else previous.deal_usd
    merged.value_min = new.value_min if new.value_min is not None else previous.value_min
    merged.value_max = new.value_max if new.value_max is not None else previous.value_max
    merged.opportunity_ids = previous.opportunity_ids
    merged.specialization_context = previous.specialization_context
    before = constraints_of(previous)
    merged.constraints = (before.customer_only() if subject_changed else before).merged(constraints_of(new))
    merged.language, merged.readings = new.language, list(new.readings)
    merged.unresolved = list(new.unresolved)
    return merged


def relink(understood: Understood) -> Linked:
    """The facts of a previous answer, as if the user had typed them again."""
    linked = Linked(text=understood.question)
    kinds = (("workload", understood.workloads), ("solution_play", understood.solution_plays),
             ("solution_area", understood.solution_areas), ("specialization", understood.specializations),
             ("designation", understood.designations), ("industry", understood.industries),
             ("segment", understood.segments), ("program", understood.programs),
             ("partner", understood.partner_ids))
    linked.entities = [Entity(kind, name, name) for kind, names in kinds for name in names]
    if understood.countries:
        linked.places = [Place(understood.country_label or ", ".join(understood.countries), understood.countries,
                               len(understood.countries) > 1)]
    linked.deal_usd, linked.value_min, linked.value_max = understood.deal_usd, understood.value_min, understood.value_max
    linked.opportunity_ids = list(understood.opportunities)
    linked.words = set(normalize(understood.question).split())
    linked.constraints = Constraints(co_sell_ready=understood.co_sell_ready, min_capacity=understood.min_capacity,
                                     top_n=understood.top_n, excluded=tuple(understood.excluded_partner_ids),
                                     role=understood.role, order=understood.order)
    return linked
