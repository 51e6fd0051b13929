"""The buttons on answer cards and what a press carries back, checked as the user input it is.

Buttons that do something (rate, Propose / Mark attached / Dismiss, export, confirm a share) are
Universal Actions: `Action.Execute` with a verb, answered through an `adaptiveCard/action` invoke so the
card can update in place (dialogs/card_verbs.py). Their `data` keeps the key and fields the older
`Action.Submit` buttons posted, so the parsers here read both: a card posted before this change still
works. Buttons that ask a question (suggestions, sort) stay imBack submits: they post the question.
Every parser returns None for anything malformed; every handler checks the caller's rights again.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from retrieval.answers import Answer, AnswerKind, Understood

FEEDBACK_KEY = "partnerAtlas"          # the key every button of this bot carries in its data
DECISION_ACTIONS = ("propose", "attach", "dismiss")
EXPORT_FORMATS = ("csv", "xlsx")
EXPORT_SUBJECTS = ("sweep", "gaps", "decisions")
_SORTED_BY_DATE = re.compile(r"\s*\b(?:sorted\s+)?(?:by\s+)?(?:close date|closing|soonest|by date)\b", re.IGNORECASE)


def execute(title: str, verb: str, data: dict[str, Any], **props: Any) -> dict[str, Any]:
    """A Universal Action: the bot gets an `adaptiveCard/action` invoke with this verb and data."""
    return {"type": "Action.Execute", "title": title, "verb": verb, "data": data, **props}


def imback_action(question: str, title: str | None = None) -> dict[str, Any]:
    """A card button that posts the question as if the user typed it (Teams imBack via Action.Submit)."""
    return {"type": "Action.Submit", "title": title or question,
            "data": {"msteams": {"type": "imBack", "value": question}}}


# --------------------------------------------------------------------------- feedback
def feedback_actions(answer_id: str) -> list[dict[str, Any]]:
    """Thumbs up/down; the press replaces them with a thank-you on the same card."""
    return [execute(f"{icon} {label}", "feedback", {FEEDBACK_KEY: "feedback", "rating": rating, "answerId": answer_id})
            for icon, label, rating in (("👍", "Helpful", "up"), ("👎", "Not helpful", "down"))]


def feedback_of(value: object) -> tuple[str, str] | None:
    """(answer id, rating) when a card press is one of our feedback buttons."""
    if isinstance(value, dict) and value.get(FEEDBACK_KEY) == "feedback":
        answer_id, rating = value.get("answerId"), value.get("rating")
        if isinstance(answer_id, str) and rating in ("up", "down"):
            return answer_id, str(rating)
    return None


# --------------------------------------------------------------------------- attach decisions
@dataclass(frozen=True)
class DecisionRequest:
    """A Propose / Mark attached / Dismiss press, as posted back by the card."""

    action: str
    opportunity_id: str
    partner_id: str
    reason: str


def _decision_data(action: str, opportunity_id: str, partner_id: str) -> dict[str, Any]:
    return {FEEDBACK_KEY: "attach", "action": action, "opportunityId": opportunity_id, "partnerId": partner_id}


def decision_element_id(partner_id: str) -> str:
    """The id of a partner's decision buttons on the card: the press replaces that element in place."""
    return f"decide-{re.sub(r'[^A-Za-z0-9_-]', '_', partner_id)}"


def attach_action_set(opportunity_id: str, pid: str) -> dict[str, Any]:
    """Propose (with an optional why), Mark attached, Dismiss (with a reason) for one suggested partner.

    The inputs are not `isRequired`: an action validates the inputs of the whole card, so one partner's
    empty reason box would block another partner's buttons. The bot refuses a dismissal without a reason
    instead. Input ids carry the partner id because a press posts every input of the card.
    """
    def reason_card(input_id: str, label: str, placeholder: str, action: str, title: str) -> dict[str, Any]:
        return {"type": "AdaptiveCard",
                "body": [{"type": "Input.Text", "id": input_id, "label": label, "placeholder": placeholder,
                          "maxLength": 500, "isMultiline": True}],
                "actions": [execute(title, action, _decision_data(action, opportunity_id, pid))]}

    return {"type": "ActionSet", "id": decision_element_id(pid), "spacing": "Small", "actions": [
        {"type": "Action.ShowCard", "title": "Propose",
         "card": reason_card(f"note_{pid}", "Why this partner? (optional)",
                             "e.g. Lead on the map here, a retail win last year", "propose", "Propose")},
        execute("Mark attached", "attach", _decision_data("attach", opportunity_id, pid)),
        {"type": "Action.ShowCard", "title": "Dismiss",
         "card": reason_card(f"reason_{pid}", "Reason (required)", "e.g. no capacity before the close date",
                             "dismiss", "Dismiss")},
    ]}


def decision_of(value: object) -> DecisionRequest | None:
    """The decision a card press asks for, with the reason typed for that partner (if any)."""
    if not isinstance(value, dict) or value.get(FEEDBACK_KEY) != "attach":
        return None
    action, opportunity_id, partner_id = value.get("action"), value.get("opportunityId"), value.get("partnerId")
    if action not in DECISION_ACTIONS or not isinstance(opportunity_id, str) or not isinstance(partner_id, str):
        return None
    typed = value.get(f"reason_{partner_id}" if action == "dismiss" else f"note_{partner_id}", value.get("reason"))
    return DecisionRequest(str(action), opportunity_id.strip()[:64], partner_id.strip()[:64],
                           typed.strip()[:500] if isinstance(typed, str) else "")


# --------------------------------------------------------------------------- exports and sorting
@dataclass(frozen=True)
class ExportRequest:
    subject: str          # sweep | gaps | decisions
    fmt: str              # csv | xlsx
    query: str            # the question that reproduces the full list
    scope: Understood | None = None   # after a follow-up: the merged filters the list was made with


def export_actions(subject: str, query: str, scope: Understood | None = None) -> list[dict[str, Any]]:
    data: dict[str, Any] = {FEEDBACK_KEY: "export", "subject": subject, "query": query}
    if scope is not None:
        data["scope"] = scope.to_dict()
    return [execute(f"Export {fmt.upper()}", "export", {**data, "format": fmt}) for fmt in EXPORT_FORMATS]


def export_of(value: object) -> ExportRequest | None:
    if not isinstance(value, dict) or value.get(FEEDBACK_KEY) != "export":
        return None
    subject, fmt, query = value.get("subject"), value.get("format"), value.get("query", "")
    if subject not in EXPORT_SUBJECTS or fmt not in EXPORT_FORMATS or not isinstance(query, str):
        return None
    return ExportRequest(str(subject), str(fmt), query.strip()[:2000], _scope_of(value.get("scope")))


_SCOPE_NUMBERS = ("deal_usd", "value_min", "value_max", "min_capacity", "top_n")
_SCOPE_TEXTS = ("intent", "question", "country_label", "role", "language", "order")


def _scope_of(value: object) -> Understood | None:
    """The merged filters a card carried back, checked field by field: a press's data is client input."""
    if not isinstance(value, dict):
        return None
    fields: dict[str, Any] = {}
    for name, default in Understood().__dict__.items():
        item = value.get(name, default)
        if name in _SCOPE_NUMBERS:
            ok = item is None or (isinstance(item, int | float) and not isinstance(item, bool))
        elif name in _SCOPE_TEXTS:
            ok = isinstance(item, str) and len(item) <= 2000
        elif isinstance(default, bool):
            ok = isinstance(item, bool)
        else:
            ok = isinstance(item, list | tuple) and len(item) <= 50 and all(isinstance(v, str) and len(v) <= 200
                                                                              for v in item)
            item = tuple(item) if ok else item
        if not ok:
            return None
        fields[name] = item
    scope = Understood(**fields)
    return scope if scope.question else None


def sort_action(query: str) -> dict[str, Any]:
    """The sweep again, sorted the other way: the engine sorts by close date when the question says so."""
    if _SORTED_BY_DATE.search(query):
        return imback_action(_SORTED_BY_DATE.sub("", query).strip(), "Sort by value")
    return imback_action(f"{query.rstrip()} by close date", "Sort by close date")


def share_actions(answer: Answer) -> list[dict[str, Any]]:
    """Confirm share, for a pre-flight that passed (channel managers only; the handler checks again)."""
    if answer.kind is not AnswerKind.SHARE or answer.share is None:
        return []
    return [execute("Confirm share", "share", {FEEDBACK_KEY: "share", "opportunityId": answer.share.opportunity_id,
                                               "partnerId": answer.share.partner_id})]


def workflow_actions(answer: Answer) -> list[dict[str, Any]]:
    """Export (and sort) buttons for a sweep or a coverage-gap answer that has rows to export; Confirm share."""
    if answer.kind is AnswerKind.SHARE:
        return share_actions(answer)
    if not answer.export_query:
        return []
    # a follow-up's list was made with the merged filters, which its first question alone does not say
    scope = answer.understood if answer.understood.follow_up else None
    if answer.kind is AnswerKind.PIPELINE and answer.opportunities:
        return export_actions("sweep", answer.export_query, scope) + [sort_action(answer.export_query)]
    if answer.kind is AnswerKind.GAPS and answer.gaps:
        return export_actions("gaps", answer.export_query, scope)
    return []


# --------------------------------------------------------------------------- what a press did
@dataclass
class Outcome:
    """What a button press did: a message to show, an answer to post, and how the pressed card changes.

    `update` rewrites the pressed card in place (an `adaptiveCard/action` invoke returns it); a press
    that changed nothing (refused, malformed, nothing to do) has no update and says why in `text`.
    """

    text: str = ""
    reply: Any = None                                        # a Reply to post (an older Submit button)
    then: str = ""                                           # a message posted after `reply` (a download link)
    update: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    refused: bool = False
