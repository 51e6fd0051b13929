"""Typed records for everything the knowledge folder holds.

Loaders turn files into these; retrieval only ever sees these. Records are frozen so a loaded
catalog can be shared between concurrent turns without copying, and slotted (no per-instance dict)
so a pipeline of 500,000 opportunities stays a few hundred bytes per row; the loader interns their
repeated strings (countries, workloads, stages, partner ids), so each distinct value is held once.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

DEFAULT_CONFIDENTIAL_GROUPS: tuple[str, ...] = ("ecm",)


class SourceRef(NamedTuple):
    """Where a record came from: a path relative to the knowledge folder and a locator inside it.

    A named tuple rather than a dataclass: one per pipeline row, built in one C call.
    """

    path: str
    locator: str = ""  # "row 12", "sheet 'FY27' row 4", "item 3", "section 'Eligibility'"

    def __str__(self) -> str:
        return f"{self.path} ({self.locator})" if self.locator else self.path


@dataclass(frozen=True, slots=True)
class MarketplaceOffer:
    name: str
    workloads: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Contacts:
    pdm: str = ""
    pdm_email: str = ""
    partner_email: str = ""


@dataclass(frozen=True, slots=True)
class Win:
    customer: str
    industry: str = ""
    country: str = ""
    workload: str = ""
    year: int | None = None
    summary: str = ""


@dataclass(frozen=True, slots=True)
class Partner:
    id: str
    name: str
    source: SourceRef
    type: str = ""
    hq_country: str = ""
    countries: tuple[str, ...] = ()
    description: str = ""
    designations: tuple[str, ...] = ()
    specializations: tuple[str, ...] = ()
    azure_expert_msp: bool = False
    industries: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    workloads: tuple[str, ...] = ()
    co_sell_ready: bool = False
    marketplace_offers: tuple[MarketplaceOffer, ...] = ()
    certified_staff: int | None = None
    available_consultants_90d: int | None = None
    contacts: Contacts = field(default_factory=Contacts)
    wins: tuple[Win, ...] = ()
    notes_confidential: str = ""
    allowed_groups: tuple[str, ...] = DEFAULT_CONFIDENTIAL_GROUPS
    updated: str = ""


@dataclass(frozen=True, slots=True)
class MapRow:
    """One alignment of a partner to a workload on the solution map."""

    workload: str
    partner_id: str
    partner_name: str
    source: SourceRef
    solution_area: str = ""
    solution_play: str = ""
    role: str = ""  # Lead | Support
    countries: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    fiscal_year: str = ""
    notes: str = ""


@dataclass(frozen=True, slots=True)
class Incentive:
    """A structured incentive rule. `None` for workloads/countries means "all"."""

    id: str
    name: str
    source: SourceRef
    program: str = ""
    funding: str = ""
    max_funding_usd: float | None = None
    workloads: tuple[str, ...] | None = None
    segments: tuple[str, ...] = ()
    countries: tuple[str, ...] | None = None
    min_deal_usd: float = 0.0
    designations_any: tuple[str, ...] = ()
    specializations_any: tuple[str, ...] = ()
    co_sell_ready_required: bool = False
    fiscal_year: str = ""
    doc: str = ""


def attached(partner_id: str, partner_name: str) -> bool:
    """Whether an opportunity has a partner: an id or a name in its partner columns (read from the pipeline's
    columns too, without building the record)."""
    return bool(partner_id or partner_name)


@dataclass(frozen=True, slots=True)
class Opportunity:
    id: str
    source: SourceRef
    account: str = ""
    industry: str = ""
    country: str = ""
    segment: str = ""
    solution_play: str = ""
    workload: str = ""
    estimated_value_usd: float | None = None
    stage: str = ""
    close_date: str = ""
    partner_id: str = ""
    partner_name: str = ""
    owner: str = ""

    @property
    def is_attached(self) -> bool:
        return attached(self.partner_id, self.partner_name)


@dataclass(frozen=True, slots=True)
class Referral:
    """One Partner Center co-sell referral: Microsoft shared a deal with a partner (Incoming to the partner),
    or a partner shared its own deal with Microsoft (Outgoing, partner-led). Confidential like the pipeline."""

    referral_id: str
    source: SourceRef
    engagement_id: str = ""
    deal_name: str = ""
    customer_name: str = ""
    customer_country: str = ""
    customer_city: str = ""
    customer_duns: str = ""
    industry: str = ""
    status: str = ""                     # partner referral status: New | Active | Closed
    substatus: str = ""                  # Pending | Received | Accepted | Won | Lost | Declined | Expired
    microsoft_status: str = ""           # Pending | Accepted | Won | Lost
    decline_lost_reason: str = ""        # a label ("Budget"), never a bare code
    sales_stage: str = ""
    estimated_value: float | None = None
    currency: str = ""
    estimated_close_date: dt.date | None = None
    crm_id: str = ""                     # the linked MSX opportunity id
    created: dt.date | None = None
    updated: dt.date | None = None
    expiration: dt.date | None = None
    direction: str = ""                  # Incoming | Outgoing
    deal_type: str = ""                  # Co-sell | Partner-led
    help_requested: tuple[str, ...] = ()
    solution_id: str = ""
    solution_name: str = ""
    partner_id: str = ""
    partner_name: str = ""
    seller_email: str = ""
    solution_play: str = ""
    workload: str = ""

    @property
    def partner_led(self) -> bool:
        return self.direction == "Outgoing"

    @property
    def closed(self) -> bool:
        return self.status == "Closed"

    @property
    def won(self) -> bool:
        return self.substatus == "Won"

    @property
    def waits_for_microsoft(self) -> bool:
        """A partner-led referral Microsoft has not answered yet."""
        return self.partner_led and not self.closed and self.microsoft_status == "Pending"

    @property
    def waits_for_partner(self) -> bool:
        """A referral Microsoft shared that the partner has not accepted or declined yet."""
        return self.direction == "Incoming" and self.status == "New"

    @property
    def state(self) -> str:
        """Where it stands, in one word: "Pending" while the other side has not answered, else the substatus."""
        if self.waits_for_microsoft:
            return "Pending"
        return self.substatus or self.status or "Unknown"


@dataclass(frozen=True, slots=True)
class Section:
    """A titled part of a document; FAQ entries are one section per question."""

    heading: str
    text: str


@dataclass(frozen=True, slots=True)
class Document:
    path: str  # relative to the knowledge folder, forward slashes
    title: str
    sections: tuple[Section, ...]
    kind: str = "document"  # document | faq
    metadata: Mapping[str, str] = field(default_factory=dict)
    visibility: str = "internal"  # public | internal | confidential
    allowed_groups: tuple[str, ...] = ()  # only for confidential documents

    @property
    def text(self) -> str:
        return "\n\n".join(f"{s.heading}\n{s.text}" if s.heading else s.text for s in self.sections)


@dataclass(frozen=True, slots=True)
class AccessMember:
    aad_object_id: str
    name: str = ""
    email: str = ""


@dataclass(frozen=True, slots=True)
class AccessGroups:
    groups: Mapping[str, tuple[AccessMember, ...]] = field(default_factory=dict)

    def groups_for(self, aad_object_id: str | None) -> frozenset[str]:
        if not aad_object_id:
            return frozenset()
        wanted = aad_object_id.strip().lower()
        return frozenset(
            group for group, members in self.groups.items()
            if any(m.aad_object_id.lower() == wanted for m in members)
        )

    def member(self, aad_object_id: str | None) -> AccessMember | None:
        if not aad_object_id:
            return None
        wanted = aad_object_id.strip().lower()
        for members in self.groups.values():
            for m in members:
                if m.aad_object_id.lower() == wanted:
                    return m
        return None


@dataclass(frozen=True, slots=True)
class FileIssue:
    """A file that was skipped (or partly read), and why, for the index summary."""

    path: str
    reason: str
    skipped: bool = True


@dataclass
class Knowledge:
    """Everything read from one knowledge folder."""

    root: str
    partners: list[Partner] = field(default_factory=list)
    map_rows: list[MapRow] = field(default_factory=list)
    incentives: list[Incentive] = field(default_factory=list)
    opportunities: Sequence[Opportunity] = field(default_factory=list)   # a list, or the pipeline's column table
    referrals: list[Referral] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    access: AccessGroups = field(default_factory=AccessGroups)
    issues: list[FileIssue] = field(default_factory=list)
    files_read: int = 0
