"""Loose column-header matching: one canonical field name per column, whatever the export called it.

Case, spaces, underscores, hyphens, dots and slashes are ignored, and so is a trailing unit in
brackets, so `partner_name`, `Partner Name` and `PARTNER-NAME` are one column and
`Est. Value (USD)` is `estimated_value_usd`.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_UNIT = re.compile(r"\s*[\(\[][^\)\]]*[\)\]]\s*$")
_SEPARATORS = re.compile(r"[\s_\-./\\]+")


def header_key(header: object) -> str:
    text = str(header or "").strip()
    text = _UNIT.sub("", text)
    return _SEPARATORS.sub("", text).lower()


def _aliases(table: Mapping[str, Iterable[str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for canonical, names in table.items():
        out[header_key(canonical)] = canonical
        for name in names:
            out[header_key(name)] = canonical
    return out


MAP_COLUMNS = _aliases({
    "solution_area": ["Solution Area", "Area"],
    "solution_play": ["Solution Play", "Play", "Sales Play"],
    "workload": ["Workload", "Workloads", "Product", "Solution"],
    "partner_id": ["Partner ID", "PartnerId", "MPN ID", "Partner One ID", "PartnerOne ID"],
    "partner_name": ["Partner Name", "Partner", "Company", "Company Name"],
    "role": ["Role", "Partner Role", "Alignment"],
    "countries": ["Countries", "Country", "Country/Region", "Countries/Regions", "Markets", "Geography"],
    "industries": ["Industries", "Industry", "Verticals"],
    "segments": ["Segments", "Segment"],
    "fiscal_year": ["Fiscal Year", "FY"],
    "notes": ["Notes", "Comments", "Remarks"],
})

OPPORTUNITY_COLUMNS = _aliases({
    "opportunity_id": ["Opportunity ID", "Opportunity", "Opp ID", "Opportunity Number", "MSX ID"],
    "account": ["Account Name", "Account", "Customer", "Customer Name"],
    "industry": ["Industry", "Vertical"],
    "country": ["Country", "Country/Region", "Subsidiary"],
    "segment": ["Segment"],
    "solution_play": ["Solution Play", "Play", "Sales Play"],
    "workload": ["Workload", "Product"],
    "estimated_value_usd": ["Est. Value (USD)", "Estimated Value", "Est Value", "Value", "Amount", "Deal Size",
                            "Estimated Value USD"],
    "stage": ["Sales Stage", "Stage"],
    "close_date": ["Est. Close Date", "Close Date", "Estimated Close Date"],
    "partner_id": ["Partner ID", "PartnerId", "Attached Partner ID", "MPN ID"],
    "partner_name": ["Partner Name", "Partner", "Attached Partner"],
    "owner": ["Opportunity Owner", "Owner", "Seller"],
})

PARTNER_FIELDS = _aliases({
    "id": ["Partner ID", "partner_id", "PartnerId", "MPN ID"],
    "name": ["Partner Name", "partner_name", "Company", "Company Name"],
    "type": ["Partner Type", "partner_type"],
    "hq_country": ["HQ Country", "Headquarters", "HQ"],
    "countries": ["Countries", "Country/Region", "Delivery Countries", "Markets"],
    "description": ["Description", "Summary", "About"],
    "designations": ["Designations", "Solutions Partner Designations"],
    "specializations": ["Specializations", "Specialisations"],
    "azure_expert_msp": ["Azure Expert MSP", "AEMSP"],
    "industries": ["Industries", "Verticals"],
    "segments": ["Segments"],
    "workloads": ["Workloads", "Products"],
    "co_sell_ready": ["Co-sell Ready", "Cosell Ready"],
    "marketplace_offers": ["Marketplace Offers", "Offers"],
    "capacity": ["Capacity"],
    "contacts": ["Contacts"],
    "wins": ["Wins", "Customer Wins", "References"],
    "notes_confidential": ["Confidential Notes", "Internal Notes"],
    "allowed_groups": ["Allowed Groups"],
    "updated": ["Updated", "Last Updated", "Modified"],
})


def map_headers(headers: Iterable[object], aliases: Mapping[str, str]) -> dict[int, str]:
    """Column index -> canonical field, for the headers that are known. First occurrence wins."""
    out: dict[int, str] = {}
    taken: set[str] = set()
    for i, header in enumerate(headers):
        canonical = aliases.get(header_key(header))
        if canonical and canonical not in taken:
            out[i] = canonical
            taken.add(canonical)
    return out


def canonical_keys(record: Mapping[str, object], aliases: Mapping[str, str]) -> dict[str, object]:
    """A mapping with its keys renamed to canonical fields; unknown keys are kept as header_key()."""
    out: dict[str, object] = {}
    for key, value in record.items():
        canonical = aliases.get(header_key(key), header_key(key))
        out.setdefault(canonical, value)
    return out


def split_list(value: object) -> tuple[str, ...]:
    """List cells are `;`-separated (`|` accepted too); YAML lists pass through."""
    if value is None:
        return ()
    if isinstance(value, (list, tuple, set)):
        items = [str(v).strip() for v in value if v is not None]
    else:
        items = [part.strip() for part in re.split(r"[;|]", str(value))]
    return tuple(dict.fromkeys(i for i in items if i))
