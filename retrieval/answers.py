"""The one contract between retrieval and dialogs: frozen answer objects with their citations.

Dialogs render these and never re-query. Every fact shown to a user is carried here together
with the source it came from, so a renderer can always say where a statement comes from.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from knowledge.dates import date_text
from knowledge.display import format_usd


class AnswerKind(StrEnum):
    COVERAGE = "coverage"              # partners on the map for a workload / play (+ place, industry, segment)
    SPECIALIZATION = "specialization"  # partners holding a specialization / designation in a place
    INCENTIVE = "incentive"            # incentive rules a deal is eligible for
    DOCUMENT = "document"              # passages from program / FAQ documents
    PIPELINE = "pipeline"              # opportunities (unattached sweep)
    ATTACH = "attach"                  # partner suggestions for one opportunity
    OPPORTUNITY = "opportunity"        # the facts of one opportunity
    PROFILE = "profile"                # one partner's profile
    NO_MATCH = "no_match"              # an honest "nothing matches"
    GAPS = "gaps"                      # coverage gaps: workload x country, largest first
    DECISION = "decision"              # an attach decision was recorded
    DENIED = "denied"                  # the user may not see this
    CLARIFY = "clarify"                # a needed fact is missing: ask for it
    REFERRALS = "referrals"            # co-sell referrals: stale, expiring, unlinked, on an opportunity / partner
    WINS = "wins"                      # customer wins as sell-with evidence (profile wins; won referrals for ECMs)
    TEAM_UP = "team_up"                # partners that complement a partner for a workload / country
    SHARE = "share"                    # pre-flight checks before sharing an opportunity with a partner
    SHARED = "shared"                  # a share decision was recorded (with the Partner Center import row)
    FIT = "fit"                        # yes / no: is a named partner right for a workload, place, specialization
    COMPARISON = "comparison"          # two or more named partners side by side


@dataclass(frozen=True)
class Citation:
    title: str
    path: str            # relative to the knowledge folder
    locator: str = ""    # "row 12", "section 'Eligibility'"

    def label(self) -> str:
        where = f"{self.path}, {self.locator}" if self.locator else self.path
        return f"{self.title} ({where})" if self.title and self.title != self.path else where


@dataclass(frozen=True)
class Reason:
    """One factor behind a ranking, with its contribution and the evidence it came from."""

    factor: str          # "on_map", "role", "industry", "specialization", "win", "capacity", ...
    detail: str          # human sentence: "Lead on the FY27 map for AKS in DE"
    points: float
    source: Citation | None = None


@dataclass(frozen=True)
class PartnerMatch:
    partner_id: str
    name: str
    score: float
    on_map: bool
    reasons: tuple[Reason, ...] = ()
    gaps: tuple[str, ...] = ()           # why it is not a better fit: "no delivery in AT"
    role: str = ""
    countries: tuple[str, ...] = ()
    contact: str = ""                    # PDM name and e-mail, when known
    wins: tuple[str, ...] = ()           # short win lines relevant to the question
    profile: Citation | None = None


@dataclass(frozen=True)
class IncentiveMatch:
    incentive_id: str
    name: str
    program: str
    funding: str
    max_funding_usd: float | None
    reasons: tuple[str, ...] = ()        # why it fits: "SMC and Enterprise", "deal ≥ $25,000"
    partner_requirements: str = ""
    partners: tuple[PartnerMatch, ...] = ()
    citation: Citation | None = None


@dataclass(frozen=True)
class Decision:
    """What a channel manager decided about a partner for an opportunity."""

    opportunity_id: str
    partner_id: str
    partner_name: str
    action: str          # propose | attach | dismiss
    reason: str
    decided_by: str      # name (or AAD object id) of the channel manager
    decided_at: str      # ISO 8601, UTC

    def describe(self) -> str:
        verb = {"propose": "Proposed", "attach": "Attached", "dismiss": "Dismissed"}.get(self.action, self.action)
        why = f": {self.reason}" if self.reason else ""
        return f"{verb} {self.partner_name} ({self.decided_by}, {date_text(self.decided_at)}){why}"


@dataclass(frozen=True)
class GapCell:
    """One workload (or solution play) in one country: supply on the map against demand in the pipeline."""

    workload: str
    country: str
    partners_on_map: int
    spare_capacity: int                  # consultants available in the next 90 days, summed over those partners
    open_opportunities: int
    unattached_opportunities: int
    pipeline_value_usd: float            # value of the open (unattached) opportunities there
    gap_score: float                     # larger = bigger gap; see retrieval/gaps.py


@dataclass(frozen=True)
class OpportunityLine:
    opportunity_id: str
    account: str
    workload: str
    country: str
    segment: str
    industry: str
    estimated_value_usd: float | None
    stage: str
    close_date: str
    owner: str = ""
    partner_name: str = ""
    top_suggestion: PartnerMatch | None = None
    citation: Citation | None = None
    decisions: tuple[Decision, ...] = ()  # attach workflow history, newest last


@dataclass(frozen=True)
class ReferralLine:
    """One co-sell referral as an answer shows it (confidential: only ever built for channel managers)."""

    referral_id: str
    direction: str                       # "Microsoft-led" | "Partner-led"
    partner_name: str
    customer: str
    country: str
    workload: str
    state: str                           # Pending | Received | Accepted | Won | Lost | Declined | Expired
    value: str = ""                      # "EUR 675,000"
    created: str = ""
    expiration: str = ""
    crm_id: str = ""
    seller: str = ""
    reason: str = ""                     # decline / lost reason label
    waiting: str = ""                    # "waiting 12 days for Microsoft", "expires in 3 days"
    citation: Citation | None = None


@dataclass(frozen=True)
class WinLine:
    """A customer win: from a partner profile (public) or a won referral (channel managers only)."""

    customer: str
    partner_name: str
    workload: str
    industry: str = ""
    country: str = ""
    year: int | None = None
    source: str = "profile"              # "profile" or the referral id
    citation: Citation | None = None


@dataclass(frozen=True)
class ShareRequest:
    """What a Confirm-share button carries: an opportunity and the partner it would be shared with."""

    opportunity_id: str
    partner_id: str


@dataclass(frozen=True)
class Passage:
    text: str
    citation: Citation
    score: float
    heading: str = ""


@dataclass(frozen=True)
class Fact:
    label: str
    value: str
    confidential: bool = False
    source: Citation | None = None


@dataclass(frozen=True)
class Understood:
    """What the question was understood to ask, echoed to the user and kept for follow-ups."""

    intent: str = ""                     # what the question was taken to ask (retrieval/understanding/intent.py)
    question: str = ""                   # the wording that decides the intent (first question of a follow-up chain)
    workloads: tuple[str, ...] = ()
    solution_plays: tuple[str, ...] = ()
    solution_areas: tuple[str, ...] = ()
    specializations: tuple[str, ...] = ()
    designations: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    country_label: str = ""              # what the user said: "DACH", "Germany"
    industries: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    deal_usd: float | None = None
    value_min: float | None = None
    value_max: float | None = None
    partners: tuple[str, ...] = ()       # names, for display
    partner_ids: tuple[str, ...] = ()
    opportunities: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()
    unknown_terms: tuple[str, ...] = ()
    follow_up: bool = False              # this answer merged a follow-up into the previous question
    # stated partner filters (kept for follow-ups: "only the co-sell ready ones", "drop X")
    co_sell_ready: bool = False
    min_capacity: int | None = None
    top_n: int | None = None
    role: str = ""
    excluded_partner_ids: tuple[str, ...] = ()
    order: str = ""                      # "capacity": most consultants available first
    language: str = ""                   # the language the question was asked in, when not English
    readings: tuple[str, ...] = ()       # what was read differently from how it was typed

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-able form, for conversation state."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Understood:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known})  # type: ignore[arg-type]

    def describe(self) -> str:
        bits: list[str] = []
        bits += list(self.workloads) + list(self.solution_plays) + list(self.specializations) + list(self.designations)
        if self.country_label or self.countries:
            bits.append(self.country_label or ", ".join(self.countries))
        bits += list(self.industries) + list(self.segments)
        if self.co_sell_ready:
            bits.append("co-sell ready")
        if self.min_capacity is not None:
            bits.append(f"{self.min_capacity}+ consultants available" if self.min_capacity > 1 else "has capacity")
        if self.role:
            bits.append(f"{self.role} role")
        if self.top_n:
            bits.append(f"top {self.top_n}")
        if self.order == "capacity":
            bits.append("most consultants available first")
        if self.excluded_partner_ids:
            n = len(self.excluded_partner_ids)
            bits.append(f"leaving out {n} partner{'s' if n != 1 else ''} you named")
        if self.deal_usd is not None:
            bits.append(format_usd(self.deal_usd))
        if self.value_min is not None:
            bits.append(f"over {format_usd(self.value_min)}")
        if self.value_max is not None:
            bits.append(f"under {format_usd(self.value_max)}")
        text = " · ".join(bits)
        if self.readings:
            text += (" (" if text else "(") + "; ".join(self.readings) + ")"
        return text


@dataclass(frozen=True)
class Answer:
    kind: AnswerKind
    title: str
    summary: str                         # one or two plain sentences: the answer in words
    understood: Understood = field(default_factory=Understood)
    partners: tuple[PartnerMatch, ...] = ()
    other_partners: tuple[PartnerMatch, ...] = ()   # profile-only / near misses, clearly marked
    incentives: tuple[IncentiveMatch, ...] = ()
    opportunities: tuple[OpportunityLine, ...] = ()
    passages: tuple[Passage, ...] = ()
    facts: tuple[Fact, ...] = ()
    notes: tuple[str, ...] = ()          # caveats, assumptions, what was missing
    missing: tuple[str, ...] = ()        # facts the answer needs: "country", "deal size", "segment"
    suggestions: tuple[str, ...] = ()    # follow-up questions the user may ask next
    citations: tuple[Citation, ...] = ()
    total: int | None = None             # number of matches before truncation, when truncated
    gaps: tuple[GapCell, ...] = ()       # coverage gaps, largest first
    decisions: tuple[Decision, ...] = ()  # for DECISION answers and attach suggestions: what was decided
    export_query: str = ""               # the question that reproduces the full list, for exports
    low_confidence: bool = False         # answered, but weakly: a passage that only just passed, profile-only partners
    referrals: tuple[ReferralLine, ...] = ()  # co-sell referrals (channel managers only)
    wins: tuple[WinLine, ...] = ()       # customer wins
    share: ShareRequest | None = None    # a share that passed its pre-flight checks and may be confirmed

    def with_note(self, note: str) -> Answer:
        """The same answer with one more note."""
        return replace(self, notes=(*self.notes, note))


def cited_sources(answer: Answer) -> list[Citation]:
    """The answer's citations, or else every citation its parts carry: distinct, in order of appearance.

    The Sources list a renderer shows, and the order in which a generated answer numbers its sources.
    """
    citations: tuple[Citation | None, ...] | list[Citation | None]
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
        found += [r.citation for r in answer.referrals] + [w.citation for w in answer.wins]
        found += [p.citation for p in answer.passages]
        found += [f.source for f in answer.facts]
        citations = found
    return list(dict.fromkeys(c for c in citations if c is not None))
