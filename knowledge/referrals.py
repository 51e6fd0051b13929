"""Reading a Partner Center co-sell referrals export (CSV, or every sheet of a workbook) into `Referral`s.

Headers match loosely, as for the pipeline (knowledge/headers.py): the snake_case columns of the contract
and the Title Case names the Partner Center export writes. Dates are read as dates whatever their format
(ISO, "01/12/2026", "1 Dec 2026", an Excel serial number); reason codes become their labels. A row without
a referral id, with a duplicate id or with more cells than the header is skipped and reported; a date that
cannot be read is left empty and reported; nothing stops the rest of the file.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from pathlib import Path
from typing import Any

from knowledge.dates import parse_written_date
from knowledge.geography import region_codes
from knowledge.headers import _aliases, split_list
from knowledge.records import FileIssue, Knowledge, Referral, SourceRef
from knowledge.structured_files import read_data_file
from knowledge.tables import TableError, read_table
from knowledge.values import parse_money

_DATA = Path(__file__).with_name("data") / "referrals.yaml"

_COLUMNS: dict[str, list[str]] = {   # canonical field -> [the Partner Center export name, other names]
    "engagement_id": ["Engagement ID", "Engagement"],
    "referral_id": ["Referral ID", "Referral", "Referral Number", "Id"],
    "deal_name": ["Deal name", "Referral name", "Name", "Opportunity name"],
    "customer_name": ["Customer name", "Customer", "Account name", "Account", "Company name"],
    "customer_country": ["Customer country", "Country", "Country/Region", "Customer country/region"],
    "customer_city": ["Customer city", "City"],
    "customer_duns": ["Customer D-U-N-S", "Customer DUNS", "DUNS", "D-U-N-S number"],
    "industry": ["Industry", "Customer industry"],
    "partner_referral_status": ["Partner referral status", "Status", "Referral status"],
    "partner_referral_substatus": ["Partner referral substatus", "Substatus", "Sub status", "Referral substatus"],
    "microsoft_referral_status": ["Microsoft referral status", "Microsoft status", "MSX status"],
    "decline_lost_reason": ["Decline/lost reason", "Decline reason", "Lost reason", "Closing reason", "Reason"],
    "sales_stage": ["Sales stage", "Stage"],
    "estimated_deal_value": ["Estimated deal value", "Deal value", "Deal size", "Value", "Amount",
                             "Estimated value"],
    "currency": ["Currency", "Deal currency"],
    "estimated_close_date": ["Estimated close date", "Close date", "Est. close date"],
    "crm_id": ["CRM ID", "CRM opportunity ID", "MSX ID", "Opportunity ID", "Microsoft opportunity ID"],
    "created_date": ["Created date", "Created", "Created on", "Date created"],
    "updated_date": ["Updated date", "Updated", "Modified", "Last modified", "Last updated"],
    "expiration_date": ["Expiration date", "Expires", "Expiry date", "Expires on"],
    "direction": ["Direction", "Referral direction", "Type"],
    "deal_type": ["Deal type", "Referral type"],
    "help_requested": ["Help requested", "Help needed", "Customer needs"],
    "solution_id": ["Solution ID"],
    "solution_name": ["Solution name", "Solution", "Co-sell solution"],
    "partner_id": ["Partner ID", "PartnerId", "MPN ID", "Partner One ID"],
    "partner_name": ["Partner name", "Partner", "Partner company"],
    "microsoft_seller_email": ["Microsoft seller email", "Seller email", "Microsoft seller", "Seller"],
    "solution_play": ["Solution play", "Sales play", "Play"],
    "workload": ["Workload", "Product"],
}
REFERRAL_COLUMNS = _aliases(_COLUMNS)
# The export's own columns, in its order: what a Partner Center import row is written with.
EXPORT_COLUMNS: tuple[tuple[str, str], ...] = tuple((field, names[0]) for field, names in _COLUMNS.items())
_DATE_FIELDS = ("estimated_close_date", "created_date", "updated_date", "expiration_date")


@functools.lru_cache(maxsize=1)
def vocabulary() -> dict[str, Any]:
    data: dict[str, Any] = read_data_file(_DATA)
    return data


@functools.lru_cache(maxsize=1)
def _canonical_values() -> dict[str, dict[str, str]]:
    """field -> lower-cased spelling -> canonical value, for the status and direction columns."""
    data = vocabulary()
    out: dict[str, dict[str, str]] = {}
    for field, key in (("direction", "directions"), ("status", "statuses"), ("substatus", "substatuses"),
                       ("microsoft_status", "microsoft_statuses")):
        table: dict[str, str] = {}
        for canonical, others in data[key].items():
            for spelling in [canonical, *(others or [])]:
                table[str(spelling).lower()] = str(canonical)
        out[field] = table
    return out


def canonical(field: str, value: str) -> str:
    text = re.sub(r"\s+", " ", (value or "").strip())
    return _canonical_values()[field].get(text.lower(), text.title() if text.islower() or text.isupper() else text)


def reason_label(value: str) -> str:
    """'3', '3 - Chose another vendor' or 'Chose another vendor' -> 'Chose another vendor'."""
    text = (value or "").strip()
    if not text:
        return ""
    codes = {int(k): str(v) for k, v in vocabulary()["reason_codes"].items()}
    match = re.match(r"^(\d+)(?:\.0)?\s*(?:[-–:.)]\s*(.*))?$", text)
    if match:
        code = int(match.group(1))
        return codes.get(code) or (match.group(2) or "").strip() or f"Reason code {code}"
    for label in codes.values():
        if label.lower() == text.lower():
            return label
    return text


def _country(value: str) -> str:
    codes = region_codes(value) if value else ()
    return codes[0] if len(codes) == 1 else value.strip().upper()


def _referral(values: dict[str, str], source: SourceRef, bad_dates: list[str]) -> Referral:
    dates: dict[str, dt.date | None] = {}
    for field in _DATE_FIELDS:
        try:
            dates[field] = parse_written_date(values.get(field))
        except ValueError:
            dates[field] = None
            bad_dates.append(f"{source.locator} {field}")
    partner_led = values.get("deal_type", "").strip().lower().replace(" ", "-") == "partner-led"
    direction = canonical("direction", values.get("direction", "")) or ("Outgoing" if partner_led else "")
    return Referral(
        referral_id=values["referral_id"].strip().upper(), source=source,
        engagement_id=values.get("engagement_id", ""), deal_name=values.get("deal_name", ""),
        customer_name=values.get("customer_name", ""), customer_country=_country(values.get("customer_country", "")),
        customer_city=values.get("customer_city", ""), customer_duns=values.get("customer_duns", ""),
        industry=values.get("industry", ""),
        status=canonical("status", values.get("partner_referral_status", "")),
        substatus=canonical("substatus", values.get("partner_referral_substatus", "")),
        microsoft_status=canonical("microsoft_status", values.get("microsoft_referral_status", "")),
        decline_lost_reason=reason_label(values.get("decline_lost_reason", "")),
        sales_stage=values.get("sales_stage", ""), estimated_value=parse_money(values.get("estimated_deal_value")),
        currency=values.get("currency", "").strip().upper(),
        estimated_close_date=dates["estimated_close_date"], crm_id=values.get("crm_id", "").strip().upper(),
        created=dates["created_date"], updated=dates["updated_date"], expiration=dates["expiration_date"],
        direction=direction, deal_type=values.get("deal_type", ""),
        help_requested=split_list(values.get("help_requested")), solution_id=values.get("solution_id", ""),
        solution_name=values.get("solution_name", ""), partner_id=values.get("partner_id", "").strip(),
        partner_name=values.get("partner_name", ""), seller_email=values.get("microsoft_seller_email", "").strip(),
        solution_play=values.get("solution_play", ""), workload=values.get("workload", ""),
    )


def load_referrals(path: Path, rel: str, kb: Knowledge) -> None:
    """Every referral row of one export file into kb.referrals; problems become FileIssues (never raised per row).

    Raises TableError when the file holds no referral at all (the loader reports it as skipped).
    """
    known = {r.referral_id for r in kb.referrals}
    missing: list[str] = []
    shifted: list[str] = []
    duplicates: list[str] = []
    bad_dates: list[str] = []
    count = 0
    for row in read_table(path, REFERRAL_COLUMNS):
        if row.extra_cells:
            shifted.append(row.locator)
            continue
        if not row.values.get("referral_id", "").strip():
            missing.append(row.locator)
            continue
        referral = _referral(dict(row.values), SourceRef(rel, row.locator), bad_dates)
        if referral.referral_id in known:
            duplicates.append(referral.referral_id)
            continue
        known.add(referral.referral_id)
        kb.referrals.append(referral)
        count += 1
    if count == 0:
        raise TableError("no rows with a referral id" + (f" ({len(missing)} rows without one)" if missing else ""))
    for found, what in ((shifted, "rows with more cells than the header ignored"),
                        (missing, "rows without a referral id ignored"),
                        (duplicates, "rows with a duplicate referral id ignored"),
                        (bad_dates, "unreadable dates left empty")):
        if found:
            kb.issues.append(FileIssue(rel, f"{len(found)} {what} (first: {found[0]})", skipped=False))
