"""Records as plain tuples of their field values (nested records as nested tuples), and back.

The form the record snapshot stores (retrieval/snapshot.py) and parallel readers send back to the
loader: strings, numbers, booleans, None and tuples only, so `marshal` can carry it with no code and
no classes, and rebuilding a record is one constructor call.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from knowledge.records import (
    Contacts,
    Incentive,
    MapRow,
    MarketplaceOffer,
    Partner,
    Referral,
    SourceRef,
    Win,
)

_source = SourceRef._make


def partner_tuple(p: Partner) -> tuple[Any, ...]:
    return (p.id, p.name, p.source.path, p.source.locator, p.type, p.hq_country, p.countries, p.description,
            p.designations, p.specializations, p.azure_expert_msp, p.industries, p.segments, p.workloads,
            p.co_sell_ready, tuple((o.name, o.workloads) for o in p.marketplace_offers), p.certified_staff,
            p.available_consultants_90d, (p.contacts.pdm, p.contacts.pdm_email, p.contacts.partner_email),
            tuple((w.customer, w.industry, w.country, w.workload, w.year, w.summary) for w in p.wins),
            p.notes_confidential, p.allowed_groups, p.updated)


def partner_from(p: tuple[Any, ...]) -> Partner:
    return Partner(p[0], p[1], _source((p[2], p[3])), p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12],
                   p[13], p[14], tuple(MarketplaceOffer(*o) for o in p[15]), p[16], p[17], Contacts(*p[18]),
                   tuple(Win(*w) for w in p[19]), p[20], p[21], p[22])


def map_row_tuple(r: MapRow) -> tuple[Any, ...]:
    return (r.workload, r.partner_id, r.partner_name, r.source.path, r.source.locator, r.solution_area,
            r.solution_play, r.role, r.countries, r.industries, r.segments, r.fiscal_year, r.notes)


def map_row_from(m: tuple[Any, ...]) -> MapRow:
    return MapRow(m[0], m[1], m[2], _source((m[3], m[4])), m[5], m[6], m[7], m[8], m[9], m[10], m[11], m[12])


def incentive_tuple(i: Incentive) -> tuple[Any, ...]:
    return (i.id, i.name, i.source.path, i.source.locator, i.program, i.funding, i.max_funding_usd, i.workloads,
            i.segments, i.countries, i.min_deal_usd, i.designations_any, i.specializations_any,
            i.co_sell_ready_required, i.fiscal_year, i.doc)


def incentive_from(i: tuple[Any, ...]) -> Incentive:
    return Incentive(i[0], i[1], _source((i[2], i[3])), *i[4:])


_REFERRAL_DATES = ("estimated_close_date", "created", "updated", "expiration")


def referral_tuple(r: Referral) -> tuple[Any, ...]:
    """Dates as ISO strings (marshal carries no date objects)."""
    values = []
    for name in Referral.__dataclass_fields__:
        value = getattr(r, name)
        if name == "source":
            value = (value.path, value.locator)
        elif name in _REFERRAL_DATES:
            value = value.isoformat() if value is not None else None
        values.append(value)
    return tuple(values)


def referral_from(t: tuple[Any, ...]) -> Referral:
    fields: dict[str, Any] = {}
    for name, value in zip(Referral.__dataclass_fields__, t, strict=True):
        if name == "source":
            value = _source(tuple(value))
        elif name in _REFERRAL_DATES:
            value = dt.date.fromisoformat(value) if value is not None else None
        fields[name] = value
    return Referral(**fields)
