"""Answers as Teams messages: Markdown text and an Adaptive Card 1.5, built by pure functions.

One `Answer` becomes one message activity whose `text` is Markdown (readable wherever cards are not)
and whose single attachment is an Adaptive Card with the same content. Nothing is added that the
Answer does not hold, and the order is fixed: title and summary first, then partners in the given
rank order, other partners, incentives, opportunities, passages, facts, notes, and the sources last.
Readers (and the evaluation harness) take the first mention of a partner as its rank, so partner
names must not appear anywhere before the ranked list.

Document passages are quoted verbatim. Every activity stays under MAX_ACTIVITY_BYTES: long answers
are shortened step by step (fewer list entries with "… and N more", shorter later passages, then a
brief card) and the first passage is never cut below FIRST_PASSAGE_MIN_CHARS.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from botbuilder.schema import ActionTypes, Activity, ActivityTypes, Attachment, CardAction, SuggestedActions

from retrieval.answers import (
    Answer,
    Citation,
    Fact,
    IncentiveMatch,
    OpportunityLine,
    PartnerMatch,
    Passage,
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
    card: str = "full"                   # full | brief | none


FULL = Limits()
# Tried in order until the activity fits. The first passage is only cut on the last step, and never
# below FIRST_PASSAGE_MIN_CHARS.
LADDER: tuple[Limits, ...] = (
    FULL,
    Limits(partners=25, other_partners=10, reasons=6, incentives=10, incentive_partners=10, opportunities=25,
           later_passages=5, later_passage_chars=1_500, facts=40, sources=25),
    Limits(partners=10, other_partners=5, reasons=3, incentives=5, incentive_partners=5, opportunities=10,
           later_passages=3, later_passage_chars=500, facts=20, sources=10),
    Limits(partners=5, other_partners=3, reasons=2, incentives=3, incentive_partners=3, opportunities=5,
           later_passages=1, later_passage_chars=300, facts=10, sources=5),
    Limits(partners=5, other_partners=3, reasons=2, incentives=3, incentive_partners=3, opportunities=5,
           later_passages=1, later_passage_chars=300, facts=10, sources=5, card="brief"),
    Limits(partners=5, other_partners=3, reasons=2, incentives=3, incentive_partners=3, opportunities=5,
           later_passages=0, facts=10, sources=5, card="none"),
    Limits(partners=5, other_partners=3, reasons=2, incentives=3, incentive_partners=3, opportunities=5,
           later_passages=0, first_passage_chars=FIRST_PASSAGE_MIN_CHARS, facts=10, sources=5, card="none"),
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
    citations: Iterable[Citation | None]
    if answer.citations:
        citations = answer.citations
    else:
        found: list[Citation | None] = []
        for partner in (*answer.partners, *answer.other_partners):
            found += [r.source for r in partner.reasons] + [partner.profile]
        for incentive in answer.incentives:
            found.append(incentive.citation)
            for partner in incentive.partners:
                found.append(partner.profile)
        found += [o.citation for o in answer.opportunities]
        found += [p.citation for p in answer.passages]
        found += [f.source for f in answer.facts]
        citations = found
    return list(dict.fromkeys(c.label() for c in citations if c is not None))


def _primary_total_note(answer: Answer, shown: int, listed: int) -> str:
    """'Showing 10 of 37' when the retrieval layer (or this renderer) truncated the main list."""
    total = max(answer.total or 0, listed)
    return f"Showing {shown} of {total}." if total > shown else ""


def _primary_list(answer: Answer) -> str:
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
    blocks: list[str] = [f"**{answer.title}**" if answer.title else "", answer.summary]
    understood = answer.understood.describe()
    if understood:
        blocks.append(f"Understood: {understood}")
    primary = _primary_list(answer)

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
        lines = ["**Opportunities**"] + [f"- {_opportunity_line(o)}" for o in shown]
        if hidden:
            lines.append(_more(hidden))
        if primary == "opportunities" and (note := _primary_total_note(answer, len(shown), len(answer.opportunities))):
            lines.append(note)
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


def imback_action(question: str) -> dict[str, Any]:
    """A card button that posts the question as if the user typed it (Teams imBack via Action.Submit)."""
    return {"type": "Action.Submit", "title": question, "data": {"msteams": {"type": "imBack", "value": question}}}


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


def adaptive_card(body: list[dict[str, Any]], actions: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    # no Teams "msteams": {"width": "Full"}: the 1.5 schema forbids extra properties on the card
    card: dict[str, Any] = {"type": "AdaptiveCard", "version": ADAPTIVE_CARD_VERSION,
                            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                            "body": body}
    if actions:
        card["actions"] = list(actions)
    return card


def _partner_card_item(rank: int, partner: PartnerMatch, limits: Limits) -> dict[str, Any]:
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
    return container(items)


def _partner_section(title: str, partners: Sequence[PartnerMatch], limit: int | None, limits: Limits, *,
                     total_note: str = "", style: str | None = None) -> list[dict[str, Any]]:
    shown, hidden = _take(partners, limit)
    items = [heading(title)] + [_partner_card_item(rank, p, limits) for rank, p in enumerate(shown, 1)]
    if hidden:
        items.append(text_block(_more(hidden), isSubtle=True))
    if total_note:
        items.append(text_block(total_note, isSubtle=True, size="Small"))
    return [container(items, style=style)] if style else items


def answer_to_card(answer: Answer, limits: Limits = FULL) -> dict[str, Any]:
    """The answer as an Adaptive Card 1.5 with the same order as the text."""
    body: list[dict[str, Any]] = []
    if answer.title:
        body.append(text_block(answer.title, size="Large", weight="Bolder"))
    if answer.summary:
        body.append(text_block(answer.summary))
    understood = answer.understood.describe()
    if understood:
        body.append(text_block(f"Understood: {understood}", isSubtle=True, size="Small", spacing="None"))
    actions = [imback_action(s) for s in answer.suggestions[:MAX_SUGGESTIONS]]
    if limits.card == "brief":
        body.append(text_block("The full answer is in the message text.", isSubtle=True))
        return adaptive_card(body, actions)
    primary = _primary_list(answer)

    if answer.partners:
        note = _primary_total_note(answer, len(_take(answer.partners, limits.partners)[0]), len(answer.partners)) \
            if primary == "partners" else ""
        body += _partner_section("Partners", answer.partners, limits.partners, limits, total_note=note)
    if answer.other_partners:
        body += _partner_section(_other_partners_heading(answer.other_partners), answer.other_partners,
                                 limits.other_partners, limits, style="emphasis")
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
        body += [text_block(f"• {_opportunity_line(o)}", spacing="Small") for o in shown_opps]
        if hidden:
            body.append(text_block(_more(hidden), isSubtle=True))
        if primary == "opportunities" and (
                note := _primary_total_note(answer, len(shown_opps), len(answer.opportunities))):
            body.append(text_block(note, isSubtle=True, size="Small"))

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


def _build_activity(answer: Answer, limits: Limits, answer_id: str | None = None, *, brief: bool = False) -> Activity:
    attachments = []
    text = answer_to_text(answer, limits)
    if limits.card != "none":
        card = answer_to_card(answer, limits)
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
                       brief: bool = False) -> Activity:
    """The answer as one message activity (Markdown text + Adaptive Card) that fits in max_bytes.

    With an answer_id the card carries thumbs up/down buttons that report back against that id.
    `brief` (for Teams, which renders both): the text is the answer in a sentence, the full Markdown
    moves into the card's fallbackText, and the card carries the details.
    """
    activity = _build_activity(answer, LADDER[0], answer_id, brief=brief)
    for limits in LADDER[1:]:
        if activity_size(activity) <= max_bytes:
            return activity
        activity = _build_activity(answer, limits, answer_id, brief=brief)
    if activity_size(activity) > max_bytes:
        # Only a pathological answer gets here (enormous titles, notes or facts): keep the front.
        activity.text = _shorten(activity.text or "", max_bytes // 2)
        activity.suggested_actions = None
    return activity


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
