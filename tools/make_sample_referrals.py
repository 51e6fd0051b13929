"""Regenerate the sample co-sell referrals export, knowledge/sample/referrals/partner_center_referrals.csv.

The rows are consistent with the sample's partners, solution map and pipeline: a shared referral names a
partner on the map for the opportunity's workload and country and carries the opportunity's account,
country and workload (CRM ID = opportunity id); partner-led deals bring customers of their own. Dates are
relative to a fixed day, AS_OF (2026-12-01), so questions asked "as of 1 Dec 2026" keep their answers.
The file is committed; run this only to change it:

    .venv/bin/python tools/make_sample_referrals.py
"""
from __future__ import annotations

import csv
import datetime as dt
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge.loader import load_knowledge  # noqa: E402
from knowledge.records import Opportunity, Partner  # noqa: E402
from knowledge.referrals import EXPORT_COLUMNS  # noqa: E402

SAMPLE = ROOT / "knowledge" / "sample"
OUT = SAMPLE / "referrals" / "partner_center_referrals.csv"
AS_OF = dt.date(2026, 12, 1)
CUSTOMERS = ["Fourth Coffee Clinics", "Lucerne Freight", "Wingtip Outfitters", "Tailspin Dairy", "Proseware Labs"]
CITIES = {"DE": "Munich", "FR": "Paris", "GB": "London", "US": "Seattle", "NL": "Amsterdam", "ES": "Madrid",
          "SE": "Stockholm", "IT": "Milan", "AT": "Vienna", "CH": "Zurich", "JP": "Tokyo", "AU": "Sydney"}


def main() -> None:
    rng = random.Random(20261201)
    kb = load_knowledge(SAMPLE, documents=False)
    partners = {p.id: p for p in kb.partners}
    on_map: dict[tuple[str, str], list[str]] = {}
    for row in kb.map_rows:
        for country in row.countries:
            on_map.setdefault((row.workload, country), []).append(row.partner_id)
    live = [o for o in kb.opportunities if o.close_date > (AS_OF + dt.timedelta(days=14)).isoformat()]
    mapped = [o for o in live if on_map.get((o.workload, o.country))]
    rng.shuffle(mapped)
    rows: list[dict[str, str]] = []

    def add(o: Opportunity | None, p: Partner, direction: str, status: str, sub: str, ms: str, created: dt.date, *,
            customer: str = "", country: str = "", workload: str = "", play: str = "", reason: str = "",
            expires: dt.date | None = None, updated: dt.date | None = None, linked: bool = True) -> None:
        n = len(rows) + 1
        country = o.country if o else country
        value = o.estimated_value_usd if o and o.estimated_value_usd else rng.choice([60000, 150000, 400000])
        rows.append({
            "engagement_id": f"ENG-{700100 + n}", "referral_id": f"REF-{500100 + n * 7}",
            "deal_name": f"{o.account if o else customer} - {o.workload if o else workload}",
            "customer_name": o.account if o else customer, "customer_country": country,
            "customer_city": CITIES.get(country, ""), "customer_duns": f"{rng.randint(100000000, 999999999)}",
            "industry": o.industry if o else rng.choice(["Retail", "Healthcare", "Manufacturing"]),
            "partner_referral_status": status, "partner_referral_substatus": sub, "microsoft_referral_status": ms,
            "decline_lost_reason": reason, "sales_stage": "Qualify" if status != "Closed" else "Close",
            "estimated_deal_value": f"{round(value * rng.uniform(0.95, 1.05), -2):.0f}", "currency": "USD",
            "estimated_close_date": o.close_date if o else (AS_OF + dt.timedelta(days=90)).isoformat(),
            "crm_id": o.id if o and linked else "", "created_date": created.isoformat(),
            "updated_date": (updated or created).isoformat(), "expiration_date": expires.isoformat() if expires else "",
            "direction": direction, "deal_type": "Partner-led" if direction == "Outgoing" else "Co-sell",
            "help_requested": rng.choice(["Architecture", "PoC/demo", "Value proposition;Quotes and licensing", ""]),
            "solution_id": f"SOL-{rng.randint(10000, 99999)}", "solution_name": f"{p.name.split()[0]} "
                                                                             f"{o.workload if o else workload} Accelerator",
            "partner_id": p.id, "partner_name": p.name, "microsoft_seller_email": o.owner if o and linked else "",
            "solution_play": o.solution_play if o else play, "workload": o.workload if o else workload,
        })

    def partner_for(o: Opportunity) -> Partner:
        return partners[rng.choice(on_map[(o.workload, o.country)])]

    for o in mapped[:5]:                      # shared, waiting for the partner (some expire within a week)
        created = AS_OF - dt.timedelta(days=rng.choice([2, 4, 9, 11, 12]))
        add(o, partner_for(o), "Incoming", "New", "Pending", "Accepted", created,
            expires=created + dt.timedelta(days=14))
    for o in mapped[5:9]:                     # accepted by the partner
        add(o, partner_for(o), "Incoming", "Active", "Accepted", "Accepted", AS_OF - dt.timedelta(days=40))
    for o, reason in zip(mapped[9:11], ("4 - Requirements not met", "6 - Timeline too short"), strict=True):
        created = AS_OF - dt.timedelta(days=60)
        add(o, partner_for(o), "Incoming", "Closed", "Declined", "Accepted", created, reason=reason,
            updated=created + dt.timedelta(days=5))
    expired_created = AS_OF - dt.timedelta(days=45)
    add(mapped[11], partner_for(mapped[11]), "Incoming", "Closed", "Expired", "Accepted", expired_created,
        expires=expired_created + dt.timedelta(days=14), updated=expired_created + dt.timedelta(days=14))
    for o in mapped[12:15]:                   # won together: sell-with evidence
        add(o, partner_for(o), "Incoming", "Closed", "Won", "Won", AS_OF - dt.timedelta(days=200),
            updated=AS_OF - dt.timedelta(days=30))
    ages = (8, 12, 20, 2, 30)
    for i, customer in enumerate(CUSTOMERS):  # partner-led deals with customers of their own; the last one lost
        o = mapped[15 + i]
        created = AS_OF - dt.timedelta(days=ages[i])
        lost = i == len(CUSTOMERS) - 1
        status, sub, ms = ("Closed", "Lost", "Lost") if lost else ("Active", "Accepted", "Pending")
        add(None, partner_for(o), "Outgoing", status, sub, ms, created, customer=customer, country=o.country,
            workload=o.workload, play=o.solution_play, reason="1" if lost else "",
            updated=created + dt.timedelta(days=20) if lost else None)
    o = mapped[20]                            # a partner-led deal a seller has picked up (linked to MSX)
    add(o, partner_for(o), "Outgoing", "Active", "Accepted", "Pending", AS_OF - dt.timedelta(days=7))

    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=[field for field, _ in EXPORT_COLUMNS])
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} referrals -> {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
