"""Answers as Teams messages: Markdown text and an Adaptive Card 1.5, built by pure functions.

One `Answer` becomes one message activity whose `text` is Markdown (readable wherever cards are not)
and whose single attachment is an Adaptive Card with the same content. Nothing is added that the
Answer does not hold, and the order is fixed: title and summary first, then partners in the given
rank order, other partners, incentives, opportunities, passages, facts, notes, and the sources last.
Readers (and the evaluation harness) take the first mention of a partner as its rank, so partner
names must not appear anywhere before the ranked list (card buttons carry ids, never names).

Channel managers (group "ecm", in a 1:1 chat: `manage=True`) also get the workflow buttons: Propose,
Mark attached and Dismiss (with a reason) under each suggested partner of an ATTACH answer, and Export
CSV / XLSX and a sort toggle on sweeps (PIPELINE) and coverage gaps (GAPS). A GAPS answer is a table
plus a heatmap image inline (a data URI); under the size budget the image goes before the table does.

Document passages are quoted verbatim, with markup made inert (dialogs/markup.py). Every activity stays under MAX_ACTIVITY_BYTES: long answers
are shortened step by step (fewer list entries with "… and N more", shorter later passages, then a
brief card) and the first passage is never cut below FIRST_PASSAGE_MIN_CHARS.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from botbuilder.schema import ActionTypes, Activity, ActivityTypes, Attachment, CardAction, SuggestedActions

from dialogs import heatmap, render_referrals
from dialogs.markup import inert_value
from retrieval.answers import (
    Answer,
    AnswerKind,
    Citation,
    Decision,
    Fact,
    GapCell,
    IncentiveMatch,
    OpportunityLine,
    PartnerMatch,
    Passage,
    Understood,
    cited_sources,
)

ADAPTIVE_CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
ADAPTIVE_CARD_VERSION = "1.5"
MAX_ACTIVITY_BYTES = 76_000          # UTF-16 bytes: under Teams' 80 KB advice, with room for the addressing added later
FIRST_PASSAGE_MIN_CHARS = 1_500
MAX_SUGGESTIONS = 5

TEMPLATES = Path(__file__).with_name("templates")

OTHER_PARTNERS_OFF_MAP = "Not on the solution map — profile evidence only"
OTHER_PARTNERS_NEAR = "Near misses — partly matching"


@cache
def messages() -> dict[str, Any]:
    """User-facing phrases (welcome, help, prompts, apology) kept as data in templates/messages.json."""
    data: dict[str, Any] = json.loads((TEMPLATES / "messages.json").read_text(encoding="utf-8"))
    return data


@dataclass(frozen=True)
class Limits:
    """How much of each list to show; None shows everything."""

    partners: int | None = None
    other_partners: int | None = None
    reasons: int | None = None
    incentives: int | None = None
    incentive_partners: int | None = None
    opportunities: int | None = None
    later_passages: int | None = None
    later_passage_chars: int | None = None
    first_passage_chars: int | None = None
    facts: int | None = None
    sources: int | None = None
    decisions: int | None = None         # decision history entries (the newest are kept)
    gap_rows: int | None = None
    gap_image: bool = True
    card: str = "full"                   # full | brief | none


FULL = Limits()
# Tried in order until the activity fits. The first passage is only cut on the last step, and never
# below FIRST_PASSAGE_MIN_CHARS.
LADDER: tuple[Limits, ...] = (
    FULL,
    Limits(partners=25, other_partners=10, reasons=6, incentives=10, incentive_partners=10, opportunities=25,
           later_passages=5, later_passage_chars=1_500, facts=40, sources=25, decisions=25),
    Limits(partners=10, other_partners=5, reasons=3, incentives=5, incentive_partners=5, opportunities=10,
           later_passages=3, later_passage_chars=500, facts=20, sources=10, decisions=10),
    Limits(partners=5, other_partners=3, reasons=2, incentives=3, incentive_partners=3, opportunities=5,
           later_passages=1, later_passage_chars=300, facts=10, sources=5, decisions=5),
    Limits(partners=5, other_partners=3, reasons=2, incentives=3, incentive_partners=3, opportunities=5,
           later_passages=1, later_passage_chars=300, facts=10, sources=5, decisions=5, card="brief"),
    Limits(partners=5, other_partners=3, reasons=2, incentives=3, incentive_partners=3, opportunities=5,
           later_passages=0, facts=10, sources=5, decisions=5, card="none"),
    Limits(partners=5, other_partners=3, reasons=2, incentives=3, incentive_partners=3, opportunities=5,
           later_passages=0, first_passage_chars=FIRST_PASSAGE_MIN_CHARS, facts=10, sources=5, decisions=5,
           card="none"),
)
# Coverage gaps: the table is the answer, the heatmap a picture of it. The table first gives up rows
# down to MIN_GAP_ROWS (the export has them all), then the image goes, and only then more rows.
MIN_GAP_ROWS = 15
GAPS_LADDER: tuple[Limits, ...] = (
    FULL,
    replace(FULL, gap_rows=25),
    replace(FULL, gap_rows=MIN_GAP_ROWS),
    replace(LADDER[1], gap_rows=MIN_GAP_ROWS, gap_image=False),
    replace(LADDER[2], gap_rows=10, gap_image=False),
    replace(LADDER[3], gap_rows=10, gap_image=False),
    replace(LADDER[4], gap_rows=10, gap_image=False),
    replace(LADDER[5], gap_rows=10, gap_image=False),
    replace(LADDER[6], gap_rows=10, gap_image=False),
)


# --------------------------------------------------------------------------- small formatters
def money(value: float | None) -> str:
    """$1,200,000 — whole dollars, as sellers write them."""
    return "" if value is None else f"${value:,.0f}"


def _take(items: Sequence[Any], limit: int | None) -> tuple[Sequence[Any], int]:
    if limit is None or len(items) <= limit:
        return items, 0
    return items[:limit], len(items) - limit


def _more(count: int, noun: str = "more") -> str:
    return f"… and {count} {noun}"


def _shorten(text: str, limit: int | None) -> str:
    if limit is None or len(text) <= limit:
        return text
    return text[:limit].rstrip() + " …"


def _partner_meta(partner: PartnerMatch) -> str:
    bits = [partner.role, ", ".join(partner.countries), "on the solution map" if partner.on_map else "",
            f"score {partner.score:.1f}"]
    return " · ".join(b for b in bits if b)


def _reason_line(detail: str, source: Citation | None) -> str:
    return f"{detail} — source: {source.label()}" if source else detail


def _wins_not_in_reasons(partner: PartnerMatch) -> list[str]:
    details = " ".join(r.detail for r in partner.reasons)
    return [w for w in partner.wins if w not in details]


def _other_partners_heading(others: Sequence[PartnerMatch]) -> str:
    return OTHER_PARTNERS_OFF_MAP if not any(p.on_map for p in others) else OTHER_PARTNERS_NEAR


def _opportunity_line(line: OpportunityLine) -> str:
    bits = [line.account, line.workload, line.country, money(line.estimated_value_usd), line.stage,
            f"closes {line.close_date}" if line.close_date else "", line.segment, line.industry,
            f"owner {line.owner}" if line.owner else "",
            f"partner attached: {line.partner_name}" if line.partner_name else ""]
    text = f"**{line.opportunity_id}** · " + " · ".join(b for b in bits if b)
    if line.top_suggestion is not None:
        text += f" · top suggestion: {line.top_suggestion.name} (score {line.top_suggestion.score:.1f})"
    return text


def decision_history_line(decision: Decision) -> str:
    """'2026-11-21 09:30 UTC — Dismissed Alpha Cloud (ECM): no capacity' — who decided what, when and why."""
    when = decision.decided_at.replace("T", " ").rstrip("Z")[:16]
    return f"{when} UTC — {decision.describe()}" if when else decision.describe()


def _newest(decisions: Sequence[Decision], limit: int | None) -> tuple[Sequence[Decision], int]:
    """The last `limit` decisions (history is oldest first, and the latest matter most)."""
    if limit is None or len(decisions) <= limit:
        return decisions, 0
    return decisions[len(decisions) - limit:], len(decisions) - limit


def _compact_money(value: float) -> str:
    if value >= 1_000_000:
        return f"${value / 1_000_000:,.1f}M"
    if value >= 1_000:
        return f"${value / 1_000:,.0f}k"
    return money(value)


def _gap_line(cell: GapCell) -> str:
    return (f"**{cell.workload} in {cell.country}** — {cell.partners_on_map} partners on the map, "
            f"{cell.spare_capacity} spare consultants (90 days), {cell.unattached_opportunities} unattached of "
            f"{cell.open_opportunities} open opportunities, {money(cell.pipeline_value_usd)} unattached pipeline, "
            f"gap score {cell.gap_score:,.0f}")


GAP_COLUMNS = ("Workload", "Country", "Partners on map", "Spare capacity", "Unattached opps", "Pipeline value",
               "Gap score")


def gap_row(cell: GapCell) -> tuple[str, ...]:
    return (cell.workload, cell.country, str(cell.partners_on_map), str(cell.spare_capacity),
            str(cell.unattached_opportunities), _compact_money(cell.pipeline_value_usd), f"{cell.gap_score:,.0f}")


def _history_shown_in_lines(answer: Answer) -> bool:
    """Attach suggestions carry the history on their opportunity line too: show it once."""
    return bool(answer.decisions) and any(line.decisions == answer.decisions for line in answer.opportunities)


def _incentive_facts(incentive: IncentiveMatch, limits: Limits) -> list[tuple[str, str]]:
    facts = [("Program", incentive.program), ("Funding", incentive.funding),
             ("Max funding", money(incentive.max_funding_usd)),
             ("Why it fits", "; ".join(incentive.reasons)),
             ("Partner requirements", incentive.partner_requirements)]
    names, hidden = _take([p.name for p in incentive.partners], limits.incentive_partners)
    if names:
        facts.append(("Partners who can deliver", ", ".join(names) + (f", {_more(hidden)}" if hidden else "")))
    if incentive.citation:
        facts.append(("Source", incentive.citation.label()))
    return [(k, v) for k, v in facts if v]


def _passage_plan(passages: Sequence[Passage], limits: Limits) -> tuple[list[tuple[Passage, str]], int]:
    """The passages to show with their (possibly shortened) text; the first one is never reworded."""
    if not passages:
        return [], 0
    first = passages[0]
    first_limit = limits.first_passage_chars
    shown = [(first, _shorten(first.text, max(first_limit, FIRST_PASSAGE_MIN_CHARS) if first_limit else None))]
    later, hidden = _take(passages[1:], limits.later_passages)
    shown += [(p, _shorten(p.text, limits.later_passage_chars)) for p in later]
    return shown, hidden


def _passage_heading(passage: Passage) -> str:
    return f"From {passage.citation.label()}" + (f" — {passage.heading}" if passage.heading else "")


def _fact_value(fact: Fact) -> str:
    return f"{fact.value} (confidential)" if fact.confidential else fact.value


def source_labels(answer: Answer) -> list[str]:
    """The answer's citations, or else every citation its parts carry, in order of appearance."""
    return list(dict.fromkeys(c.label() for c in source_citations(answer)))


def source_citations(answer: Answer) -> list[Citation]:
    """The citations behind `source_labels`, distinct, in order of appearance (retrieval.answers.cited_sources)."""
    return cited_sources(answer)


def _primary_total_note(answer: Answer, shown: int, listed: int) -> str:
    """'Showing 10 of 37' when the retrieval layer (or this renderer) truncated the main list."""
    total = max(answer.total or 0, listed)
    return f"Showing {shown} of {total}." if total > shown else ""


def _primary_list(answer: Answer) -> str:
    if answer.gaps:
        return "gaps"
    if answer.partners:
        return "partners"
    if answer.opportunities:
        return "opportunities"
    if answer.incentives:
        return "incentives"
    return ""


# --------------------------------------------------------------------------- Markdown text
def answer_to_text(answer: Answer, limits: Limits = FULL) -> str:
    """The whole answer as Teams Markdown, in the fixed order (see the module docstring)."""
    answer = inert_value(answer)     # knowledge text is shown, never interpreted (dialogs/markup.py)
    blocks: list[str] = [f"**{answer.title}**" if answer.title else "", answer.summary]
    understood = answer.understood.describe()
    if understood:
        blocks.append(f"Understood: {understood}")
    primary = _primary_list(answer)

    if answer.gaps:
        shown_cells, hidden = _take(answer.gaps, limits.gap_rows)
        lines = ["**Largest coverage gaps**"] + [f"{rank}. {_gap_line(c)}" for rank, c in enumerate(shown_cells, 1)]
        note = _primary_total_note(answer, len(shown_cells), len(answer.gaps))
        if hidden and not note:
            lines.append(_more(hidden))
        if note:
            lines.append(note)
        blocks.append("\n".join(lines))

    if answer.partners:
        shown, hidden = _take(answer.partners, limits.partners)
        lines = ["**Partners**"]
        for rank, partner in enumerate(shown, 1):
            lines += _partner_text(rank, partner, limits)
        if hidden:
            lines.append(_more(hidden))
        if primary == "partners" and (note := _primary_total_note(answer, len(shown), len(answer.partners))):
            lines.append(note)
        blocks.append("\n".join(lines))

    if answer.other_partners:
        shown, hidden = _take(answer.other_partners, limits.other_partners)
        lines = [f"**{_other_partners_heading(answer.other_partners)}**"]
        for rank, partner in enumerate(shown, 1):
            lines += _partner_text(rank, partner, limits)
        if hidden:
            lines.append(_more(hidden))
        blocks.append("\n".join(lines))

    if answer.incentives:
        shown, hidden = _take(answer.incentives, limits.incentives)
        lines = ["**Incentives**"]
        for rank, incentive in enumerate(shown, 1):
            lines.append(f"{rank}. **{incentive.name}**")
            lines += [f"   - {label}: {value}" for label, value in _incentive_facts(incentive, limits)]
        if hidden:
            lines.append(_more(hidden))
        if primary == "incentives" and (note := _primary_total_note(answer, len(shown), len(answer.incentives))):
            lines.append(note)
        blocks.append("\n".join(lines))

    if answer.opportunities:
        shown, hidden = _take(answer.opportunities, limits.opportunities)
        lines = ["**Opportunities**"]
        for line in shown:
            lines.append(f"- {_opportunity_line(line)}")
            decided, earlier = _newest(line.decisions, limits.decisions)
            if earlier:
                lines.append(f"   - {_more(earlier, 'earlier decisions')}")
            lines += [f"   - {d.describe()}" for d in decided]
        if hidden:
            lines.append(_more(hidden))
        if primary == "opportunities" and (note := _primary_total_note(answer, len(shown), len(answer.opportunities))):
            lines.append(note)
        blocks.append("\n".join(lines))
    blocks += render_referrals.text_blocks(answer, limits.opportunities)   # co-sell referrals, customer wins

    if answer.decisions and not _history_shown_in_lines(answer):
        decided, earlier = _newest(answer.decisions, limits.decisions)
        lines = ["**Decision history**"] + ([f"- {_more(earlier, 'earlier decisions')}"] if earlier else [])
        lines += [f"- {decision_history_line(d)}" for d in decided]
        blocks.append("\n".join(lines))

    passages, hidden_passages = _passage_plan(answer.passages, limits)
    for passage, text in passages:
        blocks.append(f"**{_passage_heading(passage)}**\n\n{text}")
    if hidden_passages:
        blocks.append(_more(hidden_passages, "more passages"))

    if answer.facts:
        shown_facts, hidden = _take(answer.facts, limits.facts)
        lines = [f"- **{f.label}:** {_fact_value(f)}" for f in shown_facts]
        if hidden:
            lines.append(_more(hidden))
        blocks.append("\n".join(lines))

    if answer.notes:
        blocks.append("\n".join(["**Notes**"] + [f"- {n}" for n in answer.notes]))
    if answer.missing:
        blocks.append(f"**To answer this I need:** {', '.join(answer.missing)}")

    labels, hidden = _take(source_labels(answer), limits.sources)
    if labels:
        blocks.append("\n".join(["**Sources**"] + [f"- {label}" for label in labels] + ([_more(hidden)] if hidden else [])))
    return "\n\n".join(b for b in blocks if b)


def _partner_text(rank: int, partner: PartnerMatch, limits: Limits) -> list[str]:
    lines = [f"{rank}. **{partner.name}** — {_partner_meta(partner)}"]
    reasons, hidden = _take(partner.reasons, limits.reasons)
    lines += [f"   - {_reason_line(r.detail, r.source)}" for r in reasons]
    if hidden:
        lines.append(f"   - {_more(hidden, 'more reasons')}")
    lines += [f"   - Gap: {gap}" for gap in partner.gaps]
    if partner.contact:
        lines.append(f"   - Contact: {partner.contact}")
    lines += [f"   - Win: {win}" for win in _wins_not_in_reasons(partner)]
    if partner.profile:
        lines.append(f"   - Profile: {partner.profile.label()}")
    return lines


# --------------------------------------------------------------------------- Adaptive Card
def text_block(text: str, **props: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **props}


def heading(text: str) -> dict[str, Any]:
    return text_block(text, weight="Bolder", size="Medium", spacing="Medium", separator=True)


def fact_set(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    return {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in pairs]}


def container(items: list[dict[str, Any]], **props: Any) -> dict[str, Any]:
    return {"type": "Container", "items": items, **props}


def imback_action(question: str, title: str | None = None) -> dict[str, Any]:
    """A card button that posts the question as if the user typed it (Teams imBack via Action.Submit)."""
    return {"type": "Action.Submit", "title": title or question,
            "data": {"msteams": {"type": "imBack", "value": question}}}


FEEDBACK_KEY = "partnerAtlas"


def feedback_actions(answer_id: str) -> list[dict[str, Any]]:
    """Thumbs up/down: Action.Submit posts its data back to the bot as a message with `value`."""
    return [{"type": "Action.Submit", "title": f"{icon} {label}",
             "data": {FEEDBACK_KEY: "feedback", "rating": rating, "answerId": answer_id}}
            for icon, label, rating in (("👍", "Helpful", "up"), ("👎", "Not helpful", "down"))]


def feedback_of(value: object) -> tuple[str, str] | None:
    """(answer id, rating) when a card submit is one of our feedback buttons."""
    if isinstance(value, dict) and value.get(FEEDBACK_KEY) == "feedback":
        answer_id, rating = value.get("answerId"), value.get("rating")
        if isinstance(answer_id, str) and rating in ("up", "down"):
            return answer_id, str(rating)
    return None


# --------------------------------------------------------------------------- channel manager buttons
DECISION_ACTIONS = ("propose", "attach", "dismiss")
EXPORT_FORMATS = ("csv", "xlsx")
EXPORT_SUBJECTS = ("sweep", "gaps", "decisions")
_SORTED_BY_DATE = re.compile(r"\s*\b(?:sorted\s+)?(?:by\s+)?(?:close date|closing|soonest|by date)\b", re.IGNORECASE)


@dataclass(frozen=True)
class DecisionRequest:
    """A Propose / Mark attached / Dismiss press, as posted back by the card."""

    action: str
    opportunity_id: str
    partner_id: str
    reason: str


@dataclass(frozen=True)
class ExportRequest:
    subject: str          # sweep | gaps | decisions
    fmt: str              # csv | xlsx
    query: str            # the question that reproduces the full list
    scope: Understood | None = None   # after a follow-up: the merged filters the list was made with


def _decision_data(action: str, opportunity_id: str, partner_id: str) -> dict[str, Any]:
    return {FEEDBACK_KEY: "attach", "action": action, "opportunityId": opportunity_id, "partnerId": partner_id}


def attach_action_set(opportunity_id: str, partner: PartnerMatch) -> dict[str, Any]:
    """Propose (with an optional why), Mark attached, Dismiss (with a reason) for one suggested partner.

    The inputs are not `isRequired`: a Submit validates every input of the whole card, so one
    partner's empty reason box would block another partner's buttons. The bot refuses a dismissal
    without a reason instead. Input ids carry the partner id because a Submit posts every input.
    """
    pid = partner.partner_id

    def reason_card(input_id: str, label: str, placeholder: str, action: str, title: str) -> dict[str, Any]:
        return {"type": "AdaptiveCard",
                "body": [{"type": "Input.Text", "id": input_id, "label": label, "placeholder": placeholder,
                          "maxLength": 500, "isMultiline": True}],
                "actions": [{"type": "Action.Submit", "title": title,
                             "data": _decision_data(action, opportunity_id, pid)}]}

    return {"type": "ActionSet", "spacing": "Small", "actions": [
        {"type": "Action.ShowCard", "title": "Propose",
         "card": reason_card(f"note_{pid}", "Why this partner? (optional)",
                             "e.g. Lead on the map here, a retail win last year", "propose", "Propose")},
        {"type": "Action.Submit", "title": "Mark attached", "data": _decision_data("attach", opportunity_id, pid)},
        {"type": "Action.ShowCard", "title": "Dismiss",
         "card": reason_card(f"reason_{pid}", "Reason (required)", "e.g. no capacity before the close date",
                             "dismiss", "Dismiss")},
    ]}


def decision_of(value: object) -> DecisionRequest | None:
    """The decision a card submit asks for, with the reason typed for that partner (if any)."""
    if not isinstance(value, dict) or value.get(FEEDBACK_KEY) != "attach":
        return None
    action, opportunity_id, partner_id = value.get("action"), value.get("opportunityId"), value.get("partnerId")
    if action not in DECISION_ACTIONS or not isinstance(opportunity_id, str) or not isinstance(partner_id, str):
        return None
    typed = value.get(f"reason_{partner_id}" if action == "dismiss" else f"note_{partner_id}", value.get("reason"))
    return DecisionRequest(str(action), opportunity_id.strip(), partner_id.strip(),
                           typed.strip() if isinstance(typed, str) else "")


def export_actions(subject: str, query: str, scope: Understood | None = None) -> list[dict[str, Any]]:
    data: dict[str, Any] = {FEEDBACK_KEY: "export", "subject": subject, "query": query}
    if scope is not None:
        data["scope"] = scope.to_dict()
    return [{"type": "Action.Submit", "title": f"Export {fmt.upper()}", "data": {**data, "format": fmt}}
            for fmt in EXPORT_FORMATS]


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
    """The merged filters a card carried back, checked field by field: a submit's data is client input."""
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


def _workflow_actions(answer: Answer) -> list[dict[str, Any]]:
    """Export (and sort) buttons for a sweep or a coverage-gap answer that has rows to export; Confirm share."""
    if answer.kind is AnswerKind.SHARE:
        return render_referrals.share_actions(answer)
    if not answer.export_query:
        return []
    # a follow-up's list was made with the merged filters, which its first question alone does not say
    scope = answer.understood if answer.understood.follow_up else None
    if answer.kind is AnswerKind.PIPELINE and answer.opportunities:
        return export_actions("sweep", answer.export_query, scope) + [sort_action(answer.export_query)]
    if answer.kind is AnswerKind.GAPS and answer.gaps:
        return export_actions("gaps", answer.export_query, scope)
    return []


def adaptive_card(body: list[dict[str, Any]], actions: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    # no Teams "msteams": {"width": "Full"}: the 1.5 schema forbids extra properties on the card
    card: dict[str, Any] = {"type": "AdaptiveCard", "version": ADAPTIVE_CARD_VERSION,
                            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                            "body": body}
    if actions:
        card["actions"] = list(actions)
    return card


def _partner_card_item(rank: int, partner: PartnerMatch, limits: Limits,
                       decide_for: str | None = None) -> dict[str, Any]:
    items = [text_block(f"{rank}. **{partner.name}**", spacing="Small"),
             text_block(_partner_meta(partner), isSubtle=True, size="Small", spacing="None")]
    reasons, hidden = _take(partner.reasons, limits.reasons)
    items += [text_block(f"• {_reason_line(r.detail, r.source)}", spacing="None") for r in reasons]
    if hidden:
        items.append(text_block(f"• {_more(hidden, 'more reasons')}", spacing="None", isSubtle=True))
    items += [text_block(f"• Gap: {gap}", spacing="None", color="Attention") for gap in partner.gaps]
    extra = [("Contact", partner.contact)] + [("Win", w) for w in _wins_not_in_reasons(partner)]
    if partner.profile:
        extra.append(("Profile", partner.profile.label()))
    if any(v for _, v in extra):
        items.append(fact_set((k, v) for k, v in extra if v))
    if decide_for:
        items.append(attach_action_set(decide_for, partner))
    return container(items)


def _partner_section(title: str, partners: Sequence[PartnerMatch], limit: int | None, limits: Limits, *,
                     total_note: str = "", style: str | None = None,
                     decide_for: str | None = None) -> list[dict[str, Any]]:
    shown, hidden = _take(partners, limit)
    items = [heading(title)] + [_partner_card_item(rank, p, limits, decide_for) for rank, p in enumerate(shown, 1)]
    if hidden:
        items.append(text_block(_more(hidden), isSubtle=True))
    if total_note:
        items.append(text_block(total_note, isSubtle=True, size="Small"))
    return [container(items, style=style)] if style else items


def _gaps_section(answer: Answer, limits: Limits) -> list[dict[str, Any]]:
    """The heatmap (when it fits) and the table of the largest gaps, as Adaptive Card 1.5 elements."""
    body: list[dict[str, Any]] = []
    if limits.gap_image and (png := heatmap.gap_heatmap_png(answer.gaps)):
        body.append({"type": "Image", "url": heatmap.png_data_uri(png), "size": "Stretch", "spacing": "Medium",
                     "altText": "Heatmap of coverage gaps: workloads by country, darker is a larger gap; "
                                "each cell shows its unattached pipeline in thousands of dollars."})
    shown, hidden = _take(answer.gaps, limits.gap_rows)

    def cell(text: str, **props: Any) -> dict[str, Any]:
        return {"type": "TableCell", "items": [{"type": "TextBlock", "text": text, "size": "Small", **props}]}

    header = {"type": "TableRow", "cells": [cell(title, weight="Bolder", wrap=True) for title in GAP_COLUMNS]}
    rows = [{"type": "TableRow", "cells": [cell(values[0], wrap=True)] + [cell(v) for v in values[1:]]}
            for values in (gap_row(c) for c in shown)]
    body += [heading("Largest coverage gaps"),
             {"type": "Table", "firstRowAsHeader": True, "showGridLines": True, "gridStyle": "accent",
              "columns": [{"width": w} for w in (3, 1, 1, 1, 1, 1, 1)], "rows": [header, *rows]}]
    note = _primary_total_note(answer, len(shown), len(answer.gaps))
    if hidden and not note:
        body.append(text_block(_more(hidden), isSubtle=True))
    if note:
        body.append(text_block(note, isSubtle=True, size="Small"))
    return body


def _opportunity_card_items(line: OpportunityLine, limits: Limits) -> list[dict[str, Any]]:
    items = [text_block(f"• {_opportunity_line(line)}", spacing="Small")]
    decided, earlier = _newest(line.decisions, limits.decisions)
    if earlier:
        items.append(text_block(f"↳ {_more(earlier, 'earlier decisions')}", size="Small", isSubtle=True,
                                spacing="None"))
    items += [text_block(f"↳ {d.describe()}", size="Small", isSubtle=True, spacing="None") for d in decided]
    return items


def answer_to_card(answer: Answer, limits: Limits = FULL, *, manage: bool = False) -> dict[str, Any]:
    """The answer as an Adaptive Card 1.5 with the same order as the text.

    `manage` (a channel manager in a 1:1 chat) adds the attach and export buttons.
    """
    answer = inert_value(answer)
    body: list[dict[str, Any]] = []
    if answer.title:
        body.append(text_block(answer.title, size="Large", weight="Bolder"))
    if answer.summary:
        body.append(text_block(answer.summary))
    understood = answer.understood.describe()
    if understood:
        body.append(text_block(f"Understood: {understood}", isSubtle=True, size="Small", spacing="None"))
    actions = [imback_action(s) for s in answer.suggestions[:MAX_SUGGESTIONS]]
    workflow = _workflow_actions(answer) if manage else []
    if workflow:
        body.append({"type": "ActionSet", "actions": workflow})
    if limits.card == "brief":
        body.append(text_block("The full answer is in the message text.", isSubtle=True))
        return adaptive_card(body, actions)
    primary = _primary_list(answer)
    decide_for = None
    if manage and answer.kind is AnswerKind.ATTACH and answer.opportunities:
        decide_for = answer.opportunities[0].opportunity_id

    if answer.gaps:
        body += _gaps_section(answer, limits)
    if answer.partners:
        note = _primary_total_note(answer, len(_take(answer.partners, limits.partners)[0]), len(answer.partners)) \
            if primary == "partners" else ""
        body += _partner_section("Partners", answer.partners, limits.partners, limits, total_note=note,
                                 decide_for=decide_for)
    if answer.other_partners:
        body += _partner_section(_other_partners_heading(answer.other_partners), answer.other_partners,
                                 limits.other_partners, limits, style="emphasis", decide_for=decide_for)
    if answer.incentives:
        shown, hidden = _take(answer.incentives, limits.incentives)
        body.append(heading("Incentives"))
        for rank, incentive in enumerate(shown, 1):
            body.append(container([text_block(f"{rank}. **{incentive.name}**"),
                                   fact_set(_incentive_facts(incentive, limits))]))
        if hidden:
            body.append(text_block(_more(hidden), isSubtle=True))
        if primary == "incentives" and (note := _primary_total_note(answer, len(shown), len(answer.incentives))):
            body.append(text_block(note, isSubtle=True, size="Small"))
    if answer.opportunities:
        shown_opps, hidden = _take(answer.opportunities, limits.opportunities)
        body.append(heading("Opportunities"))
        for line in shown_opps:
            body += _opportunity_card_items(line, limits)
        if hidden:
            body.append(text_block(_more(hidden), isSubtle=True))
        if primary == "opportunities" and (
                note := _primary_total_note(answer, len(shown_opps), len(answer.opportunities))):
            body.append(text_block(note, isSubtle=True, size="Small"))
    body += render_referrals.card_items(answer, limits.opportunities)   # co-sell referrals, customer wins

    if answer.decisions and not _history_shown_in_lines(answer):
        decided, earlier = _newest(answer.decisions, limits.decisions)
        body.append(heading("Decision history"))
        if earlier:
            body.append(text_block(_more(earlier, "earlier decisions"), isSubtle=True, spacing="None"))
        body += [text_block(f"• {decision_history_line(d)}", spacing="None") for d in decided]

    passages, hidden_passages = _passage_plan(answer.passages, limits)
    for passage, text in passages:
        body.append(container([text_block(_passage_heading(passage), weight="Bolder", size="Small"),
                               text_block(text)], style="emphasis", spacing="Medium"))
    if hidden_passages:
        body.append(text_block(_more(hidden_passages, "more passages"), isSubtle=True))

    if answer.facts:
        shown_facts, hidden = _take(answer.facts, limits.facts)
        body.append(fact_set((f.label, _fact_value(f)) for f in shown_facts))
        if hidden:
            body.append(text_block(_more(hidden), isSubtle=True))
    if answer.notes:
        body.append(heading("Notes"))
        body += [text_block(f"• {n}", spacing="None") for n in answer.notes]
    if answer.missing:
        body.append(text_block(f"To answer this I need: {', '.join(answer.missing)}", color="Attention",
                               weight="Bolder", spacing="Medium"))
    labels, hidden = _take(source_labels(answer), limits.sources)
    if labels:
        body.append(heading("Sources"))
        body += [text_block(f"• {label}", size="Small", isSubtle=True, spacing="None") for label in labels]
        if hidden:
            body.append(text_block(_more(hidden), size="Small", isSubtle=True, spacing="None"))
    return adaptive_card(body, actions)


# --------------------------------------------------------------------------- activities
def card_attachment(card: dict[str, Any]) -> Attachment:
    return Attachment(content_type=ADAPTIVE_CARD_CONTENT_TYPE, content=card)


def suggested_actions(questions: Sequence[str]) -> SuggestedActions | None:
    if not questions:
        return None
    return SuggestedActions(actions=[CardAction(type=ActionTypes.im_back, title=q, value=q)
                                     for q in questions[:MAX_SUGGESTIONS]])


def activity_size(activity: Activity) -> int:
    """The size Teams holds against its message limit: the JSON payload encoded as UTF-16.

    Teams refuses bot messages over ~100 KB (413 MessageSizeTooBig) and advises staying within 80 KB,
    counted in UTF-16, so ASCII text costs two bytes a character; UTF-8 on the wire is always smaller.
    """
    return len(json.dumps(activity.serialize(), ensure_ascii=False).encode("utf-16-le"))


def brief_text(answer: Answer) -> str:
    """What Teams shows above the card: the answer in a sentence, plain (no Markdown, since some
    clients show it raw beside suggested actions). The card carries the details."""
    return answer.summary or answer.title


def _build_activity(answer: Answer, limits: Limits, answer_id: str | None = None, *, brief: bool = False,
                    manage: bool = False) -> Activity:
    attachments = []
    text = answer_to_text(answer, limits)
    if limits.card != "none":
        card = answer_to_card(answer, limits, manage=manage)
        if answer_id:
            card["actions"] = card.get("actions", []) + feedback_actions(answer_id)
        if brief and limits.card == "full":
            # Teams shows `text` above the card: repeating the whole answer there doubles every reply.
            # Clients that cannot render the card show its fallbackText: the full answer as Markdown.
            card["fallbackText"] = text
            text = brief_text(answer)
        attachments = [card_attachment(card)]
    return Activity(type=ActivityTypes.message, text=text, text_format="markdown",
                    attachments=attachments, suggested_actions=suggested_actions(answer.suggestions))


def answer_to_activity(answer: Answer, max_bytes: int = MAX_ACTIVITY_BYTES, *, answer_id: str | None = None,
                       brief: bool = False, manage: bool = False) -> Activity:
    """The answer as one message activity (Markdown text + Adaptive Card) that fits in max_bytes.

    With an answer_id the card carries thumbs up/down buttons that report back against that id.
    `brief` (for Teams, which renders both): the text is the answer in a sentence, the full Markdown
    moves into the card's fallbackText, and the card carries the details. `manage` (a channel manager
    in a 1:1 chat) adds the attach and export buttons.
    """
    return sized_answer_activity(answer, max_bytes, answer_id=answer_id, brief=brief, manage=manage)[0]


def sized_answer_activity(answer: Answer, max_bytes: int = MAX_ACTIVITY_BYTES, *, answer_id: str | None = None,
                          brief: bool = False, manage: bool = False) -> tuple[Activity, int]:
    """`answer_to_activity` and the `activity_size` it measured: serialising a card is a real part of a turn's
    CPU (bench/SOAK.md), so a caller that logs the size should not do it again."""
    ladder = GAPS_LADDER if answer.gaps else LADDER
    activity = _build_activity(answer, ladder[0], answer_id, brief=brief, manage=manage)
    for limits in ladder[1:]:
        if (size := activity_size(activity)) <= max_bytes:
            return activity, size
        activity = _build_activity(answer, limits, answer_id, brief=brief, manage=manage)
    if (size := activity_size(activity)) > max_bytes:
        # Only a pathological answer gets here (enormous titles, notes or facts): keep the front.
        activity.text = _shorten(activity.text or "", max_bytes // 2)
        activity.suggested_actions = None
        size = activity_size(activity)
    return activity, size


def text_activity(text: str) -> Activity:
    return Activity(type=ActivityTypes.message, text=text, text_format="markdown")


def _guide_activity(title: str, paragraphs: Sequence[str]) -> Activity:
    """A title, some paragraphs, the example questions as a list and as card buttons, the access footer."""
    phrases = messages()
    examples: list[str] = list(phrases["help_examples"])
    full = "\n\n".join([f"**{title}**", *paragraphs, "\n".join(f"- {q}" for q in examples), phrases["help_footer"]])
    card = adaptive_card([text_block(title, size="Large", weight="Bolder"), *[text_block(p) for p in paragraphs],
                          text_block(phrases["help_footer"], isSubtle=True, size="Small")],
                         [imback_action(q) for q in examples])
    # Teams shows text above the card: one sentence there, everything in the card (fallbackText for old clients)
    card["fallbackText"] = full
    return Activity(type=ActivityTypes.message, text=paragraphs[0] if paragraphs else title, text_format="markdown",
                    attachments=[card_attachment(card)])


def help_activity() -> Activity:
    phrases = messages()
    return _guide_activity(phrases["help_title"], [phrases["help_intro"]])


def welcome_activity() -> Activity:
    phrases = messages()
    return _guide_activity(phrases["welcome_title"], [phrases["welcome"], phrases["help_intro"]])
