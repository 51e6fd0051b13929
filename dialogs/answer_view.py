"""One view of an answer, built once and read by both renderers (dialogs/render_card.py, render_text.py).

An `AnswerView` is the answer arranged for reading: the sentence first, then sections of entries in
rank order (partners, other partners, incentives, opportunities, referrals, wins, decisions, passages),
facts, notes, what is missing, and the sources last. Each entry has a headline, a one-line "why" in
words (never a raw score), the contact, and the details a reader asks for (every reason with its
source, gaps, wins, the profile). Which sections the first view shows is decided here, per answer kind
(`FIRST_VIEW_EXTRA`), so a new kind adds a section builder (`SECTION_BUILDERS`) and, if needed, a line
in that table; the renderers do not change.

Readers (and the evaluation harness) take the first mention of a partner as its rank, so nothing
before the ranked list names a partner, and each section lists its entries in the order given.
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from dialogs import render_referrals
from knowledge.dates import minute_text
from knowledge.display import format_usd
from retrieval.answers import (
    Answer,
    AnswerKind,
    Citation,
    Decision,
    GapCell,
    IncentiveMatch,
    OpportunityLine,
    PartnerMatch,
    Passage,
    Reason,
    cited_sources,
)

FIRST_VIEW = 3                       # entries of the main list shown before "Show all N"
FIRST_VIEW_FACTS = 6
FIRST_VIEW_SOURCES = 3
FIRST_PASSAGE_MIN_CHARS = 1_500
TEASER_CHARS = 280                   # what the first view quotes of a passage (the whole text is in the details)
OTHER_PARTNERS_OFF_MAP = "Not on the solution map — profile evidence only"
OTHER_PARTNERS_NEAR = "Near misses — partly matching"
KNOWLEDGE_BASE_URL = "KNOWLEDGE_BASE_URL"   # setting: the knowledge folder's SharePoint / web address
_TEMPLATES = Path(__file__).with_name("templates")


@dataclass(frozen=True)
class Limits:
    """How much of each list to render at all (the size ladder in dialogs/render.py); None renders everything."""

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


@dataclass
class Line:
    """One detail line of an entry: a reason (with its source), a gap, a win, the profile, a decision."""

    text: str
    kind: str = "detail"                 # reason | gap | contact | win | profile | fact | decision | more
    source: str = ""                     # citation label


@dataclass
class Entry:
    headline: str                        # Markdown: "**Alpha Cloud**", "**OPP-1000** · Account · …"
    why: str = ""                        # one line in words from the strongest reasons
    contact: str = ""
    meta: str = ""                       # role · countries · on the map (details)
    details: list[Line] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)
    quote: str = ""                      # a passage, verbatim (possibly shortened by the size ladder)
    short: str = ""                      # the headline in the card's first view, when shorter than `headline`
    decide: tuple[str, str] | None = None   # (opportunity id, partner id): channel-manager buttons


@dataclass
class Section:
    key: str                             # partners | other_partners | incentives | opportunities | …
    heading: str
    entries: list[Entry]
    numbered: bool = True
    hidden: int = 0                      # entries not rendered at all (size budget): "… and N more"
    hidden_noun: str = "more"
    note: str = ""                       # "Showing 10 of 37."
    style: str = ""                      # "emphasis" for the off-map partners
    first_view: bool = False             # shown before "Show details" (its first FIRST_VIEW entries)


@dataclass(frozen=True)
class Source:
    label: str
    url: str = ""
    file: str = ""                       # the label without the row / section: one per file in the first view


@dataclass
class AnswerView:
    kind: AnswerKind
    title: str
    sentence: str
    understood: str
    sections: list[Section]
    gaps: Sequence[GapCell] = ()
    gap_hidden: int = 0
    gap_note: str = ""
    gap_image: bool = False
    facts: list[tuple[str, str]] = field(default_factory=list)
    facts_hidden: int = 0
    notes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    sources_hidden: int = 0

    @property
    def main(self) -> Section | None:
        return next((s for s in self.sections if s.first_view), None)


# --------------------------------------------------------------------------- small formatters
def money(value: float | None) -> str:
    """$1,200,000 — whole dollars, as sellers write them ("" without an amount)."""
    return format_usd(value, unknown="")


def take(items: Sequence[Any], limit: int | None) -> tuple[Sequence[Any], int]:
    if limit is None or len(items) <= limit:
        return items, 0
    return items[:limit], len(items) - limit


def more(count: int, noun: str = "more") -> str:
    return f"… and {count} {noun}"


def shorten(text: str, limit: int | None) -> str:
    if limit is None or len(text) <= limit:
        return text
    return text[:limit].rstrip() + " …"


def teaser(text: str, limit: int = TEASER_CHARS) -> str:
    """The start of a passage, cut at a word."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + " …"


def decision_history_line(decision: Decision) -> str:
    """'2026-11-21 09:30 UTC — Dismissed Alpha Cloud (ECM): no capacity' — who decided what, when and why."""
    when = minute_text(decision.decided_at)
    return f"{when} UTC — {decision.describe()}" if when else decision.describe()


def newest(decisions: Sequence[Decision], limit: int | None) -> tuple[Sequence[Decision], int]:
    """The last `limit` decisions (history is oldest first, and the latest matter most)."""
    if limit is None or len(decisions) <= limit:
        return decisions, 0
    return decisions[len(decisions) - limit:], len(decisions) - limit


def total_note(answer: Answer, shown: int, listed: int) -> str:
    """'Showing 10 of 37' when the retrieval layer (or the size budget) truncated the main list."""
    total = max(answer.total or 0, listed)
    return f"Showing {shown} of {total}." if total > shown else ""


def source_link(citation: Citation) -> str:
    """The citation's address when a setting maps the knowledge folder to a web / SharePoint address."""
    base = os.environ.get(KNOWLEDGE_BASE_URL, "").strip()
    if not base.lower().startswith(("https://", "http://")):
        return ""
    return base.rstrip("/") + "/" + quote(citation.path.lstrip("/"))


# --------------------------------------------------------------------------- why, in words
@cache
def _why_rules() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((_TEMPLATES / "why.json").read_text(encoding="utf-8"))
    return data


def why_line(partner: PartnerMatch, industries: Sequence[str] = ()) -> str:
    """'Lead on the solution map · Retail experience · 2 matching customer wins': the strongest reasons."""
    rules = _why_rules()
    phrases: dict[str, str] = rules["phrases"]
    by_factor: dict[str, list[Reason]] = {}
    for reason in partner.reasons:
        if reason.points > 0 and reason.factor not in rules["skip"]:
            by_factor.setdefault(reason.factor, []).append(reason)
    implied = {v for k, v in rules["role_implies"].items() if k in by_factor and partner.role}
    strength = sorted((f for f in by_factor if f not in implied),
                      key=lambda f: -sum(r.points for r in by_factor[f]))[: rules["max_phrases"]]
    order: list[str] = rules["order"]
    chosen = sorted(strength, key=lambda f: order.index(f) if f in order else len(order))
    words = []
    for factor in chosen:
        reasons = by_factor[factor]
        detail = reasons[0].detail
        number = re.search(r"\d+", detail)
        fields = {"detail": detail, "value": detail.split(": ", 1)[-1], "role": partner.role,
                  "industries": ", ".join(industries) or "Industry", "number": number.group() if number else "",
                  "count": str(len(reasons)), "s": "" if len(reasons) == 1 else "s"}
        words.append(phrases.get(factor, "{detail}").format(**fields))
    return " · ".join(w for w in words if w)


# --------------------------------------------------------------------------- entries
def partner_entry(partner: PartnerMatch, limits: Limits, industries: Sequence[str],
                  decide_for: str | None = None) -> Entry:
    meta = " · ".join(b for b in (partner.role, ", ".join(partner.countries),
                                  "on the solution map" if partner.on_map else "") if b)
    # what speaks for the partner first, what counts against it ("no consultants available") after
    ordered = sorted(partner.reasons, key=lambda r: r.points < 0)
    reasons, hidden = take(ordered, limits.reasons)
    details = [Line(r.detail, "reason", r.source.label() if r.source else "") for r in reasons]
    if hidden:
        details.append(Line(more(hidden, "more reasons"), "more"))
    details += [Line(f"Gap: {gap}", "gap") for gap in partner.gaps]
    if partner.contact:
        details.append(Line(f"Contact: {partner.contact}", "contact"))
    said = " ".join(r.detail for r in partner.reasons)
    details += [Line(f"Win: {w}", "win") for w in partner.wins if w not in said]
    if partner.profile:
        details.append(Line(f"Profile: {partner.profile.label()}", "profile"))
    return Entry(f"**{partner.name}**", why_line(partner, industries), partner.contact, meta, details,
                 decide=(decide_for, partner.partner_id) if decide_for else None)


def incentive_entry(incentive: IncentiveMatch, limits: Limits) -> Entry:
    facts = [("Program", incentive.program), ("Funding", incentive.funding),
             ("Max funding", money(incentive.max_funding_usd)), ("Why it fits", "; ".join(incentive.reasons)),
             ("Partner requirements", incentive.partner_requirements)]
    names, hidden = take([p.name for p in incentive.partners], limits.incentive_partners)
    if names:
        facts.append(("Partners who can deliver", ", ".join(names) + (f", {more(hidden)}" if hidden else "")))
    if incentive.citation:
        facts.append(("Source", incentive.citation.label()))
    why = " · ".join(b for b in (incentive.program, f"up to {money(incentive.max_funding_usd)}"
                                 if incentive.max_funding_usd else "", "; ".join(incentive.reasons)) if b)
    return Entry(f"**{incentive.name}**", why, facts=[(k, v) for k, v in facts if v])


def opportunity_headline(line: OpportunityLine) -> str:
    bits = [line.account, line.workload, line.country, money(line.estimated_value_usd), line.stage,
            f"closes {line.close_date}" if line.close_date else "", line.segment, line.industry,
            f"owner {line.owner}" if line.owner else "",
            f"partner attached: {line.partner_name}" if line.partner_name else ""]
    text = f"**{line.opportunity_id}** · " + " · ".join(b for b in bits if b)
    if line.top_suggestion is not None:
        text += f" · top suggestion: {line.top_suggestion.name}"
    return text


def opportunity_entry(line: OpportunityLine, limits: Limits) -> Entry:
    decided, earlier = newest(line.decisions, limits.decisions)
    details = [Line(more(earlier, "earlier decisions"), "more")] if earlier else []
    details += [Line(d.describe(), "decision") for d in decided]
    return Entry(opportunity_headline(line), details=details)


# --------------------------------------------------------------------------- sections
def _section(key: str, heading: str, entries: Sequence[Entry], hidden: int = 0, **props: Any) -> list[Section]:
    return [Section(key, heading, list(entries), hidden=hidden, **props)] if entries else []


def _partner_sections(answer: Answer, limits: Limits, decide_for: str | None) -> list[Section]:
    industries = answer.understood.industries
    shown, hidden = take(answer.partners, limits.partners)
    out = _section("partners", "Partners", [partner_entry(p, limits, industries, decide_for) for p in shown], hidden)
    others, hidden_others = take(answer.other_partners, limits.other_partners)
    heading = OTHER_PARTNERS_OFF_MAP if not any(p.on_map for p in answer.other_partners) else OTHER_PARTNERS_NEAR
    out += _section("other_partners", heading, [partner_entry(p, limits, industries, decide_for) for p in others],
                    hidden_others, style="emphasis")
    return out


def _incentive_sections(answer: Answer, limits: Limits, decide_for: str | None) -> list[Section]:
    shown, hidden = take(answer.incentives, limits.incentives)
    return _section("incentives", "Incentives", [incentive_entry(i, limits) for i in shown], hidden)


def _opportunity_sections(answer: Answer, limits: Limits, decide_for: str | None) -> list[Section]:
    shown, hidden = take(answer.opportunities, limits.opportunities)
    return _section("opportunities", "Opportunities", [opportunity_entry(o, limits) for o in shown], hidden,
                    numbered=False)


def _referral_sections(answer: Answer, limits: Limits, decide_for: str | None) -> list[Section]:
    out = []
    for key, heading, lines, hidden, note in render_referrals.sections(answer, limits.opportunities):
        out += _section(key, heading, [Entry(line) for line in lines], hidden, numbered=False, note=note)
    return out


def _decision_sections(answer: Answer, limits: Limits, decide_for: str | None) -> list[Section]:
    in_lines = bool(answer.decisions) and any(o.decisions == answer.decisions for o in answer.opportunities)
    if not answer.decisions or in_lines:     # attach suggestions carry the history on their opportunity line
        return []
    decided, earlier = newest(answer.decisions, limits.decisions)
    entries = ([Entry(more(earlier, "earlier decisions"))] if earlier else []) + \
        [Entry(decision_history_line(d)) for d in decided]
    return _section("decisions", "Decision history", entries, numbered=False)


def _passage_sections(answer: Answer, limits: Limits, decide_for: str | None) -> list[Section]:
    if not answer.passages:
        return []
    first, *rest = answer.passages
    first_limit = limits.first_passage_chars
    plan = [(first, shorten(first.text, max(first_limit, FIRST_PASSAGE_MIN_CHARS) if first_limit else None))]
    later, hidden = take(rest, limits.later_passages)
    plan += [(p, shorten(p.text, limits.later_passage_chars)) for p in later]
    def short(p: Passage) -> str:
        title = p.citation.title or p.citation.path
        return f"**{title}" + (f" — {p.heading}" if p.heading and p.heading != title else "") + "**"

    entries = [Entry(f"**From {p.citation.label()}" + (f" — {p.heading}" if p.heading else "") + "**", quote=text,
                     short=short(p), meta=f"From {p.citation.label()}") for p, text in plan]
    return _section("passages", "", entries, hidden, hidden_noun="more passages", numbered=False)


SectionBuilder = Callable[[Answer, Limits, "str | None"], list[Section]]
# In reading order. A new answer kind with its own list adds a builder here.
SECTION_BUILDERS: list[SectionBuilder] = [_partner_sections, _incentive_sections, _opportunity_sections,
                                          _referral_sections, _decision_sections, _passage_sections]
# Sections the first view shows besides the main list, per kind (the rest wait behind "Show details").
FIRST_VIEW_EXTRA: dict[AnswerKind, tuple[str, ...]] = {
    AnswerKind.ATTACH: ("opportunities",),
    AnswerKind.DECISION: ("decisions",),
    AnswerKind.SHARED: ("decisions", "referrals"),
    AnswerKind.TEAM_UP: ("partners",),
}
# The main list, in order of preference: the first of these the answer has.
MAIN_LIST = ("partners", "opportunities", "incentives", "referrals", "wins", "decisions", "passages")


# --------------------------------------------------------------------------- the view
def build_view(answer: Answer, limits: Limits = FULL, *, manage: bool = False) -> AnswerView:
    """The answer arranged once for both renderers (text and card). Knowledge text is made inert by the caller."""
    decide_for = None
    if manage and answer.kind is AnswerKind.ATTACH and answer.opportunities:
        decide_for = answer.opportunities[0].opportunity_id
    sections = [s for build in SECTION_BUILDERS for s in build(answer, limits, decide_for)]
    keys = [s.key for s in sections]
    main = "" if answer.gaps else next((k for k in MAIN_LIST if k in keys), "")
    for section in sections:
        section.first_view = section.key == main or section.key in FIRST_VIEW_EXTRA.get(answer.kind, ())
        if section.key == main and section.key in ("partners", "incentives", "opportunities"):
            section.note = total_note(answer, len(section.entries), len(getattr(answer, section.key)))
    view = AnswerView(answer.kind, answer.title, answer.summary, answer.understood.describe(), sections)
    if answer.gaps:
        cells, view.gap_hidden = take(answer.gaps, limits.gap_rows)
        view.gaps, view.gap_image = cells, limits.gap_image
        view.gap_note = total_note(answer, len(cells), len(answer.gaps))
        if view.gap_note:
            view.gap_hidden = 0
    shown_facts, view.facts_hidden = take(answer.facts, limits.facts)
    view.facts = [(f.label, f"{f.value} (confidential)" if f.confidential else f.value) for f in shown_facts]
    view.notes, view.missing = list(answer.notes), list(answer.missing)
    citations = list(dict.fromkeys(cited_sources(answer)))
    labelled = list({c.label(): c for c in reversed(citations)}.values())[::-1]   # distinct labels, first kept
    shown_sources, view.sources_hidden = take(labelled, limits.sources)
    view.sources = [Source(c.label(), source_link(c), Citation(c.title, c.path).label()) for c in shown_sources]
    return view
