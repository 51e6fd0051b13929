"""Sharing an opportunity with a partner (a Microsoft-led co-sell referral): the pre-flight, the
confirmation, and the row to import into Partner Center.

The pre-flight checks that the partner is on the solution map (or has profile evidence) for the deal's
workload and country, is co-sell ready, has consultants available, and has no open or declined referral
on the same customer; it names the incentives the deal and the partner fit. Only a share that passes may
be confirmed, and the confirmation runs every check again (a card button is user input).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from knowledge.geography import country_name
from knowledge.records import Incentive, Opportunity, Partner
from knowledge.referrals import EXPORT_COLUMNS
from retrieval import referrals, structured
from retrieval.answers import Answer, AnswerKind, Citation, Fact, ShareRequest, Understood
from retrieval.catalog import Catalog, normalize
from retrieval.ranking import Need, profile_citation, row_citation, row_fits
from retrieval.structured import funding

if TYPE_CHECKING:
    from retrieval.share_store import ShareDecision, ShareStore

EXPIRY_DAYS = 14          # Partner Center: a shared referral the partner does not answer expires after 14 days
Table = tuple[list[str], list[list[object]]]


@dataclass(frozen=True)
class Check:
    label: str
    ok: bool
    detail: str
    blocking: bool = True
    source: Citation | None = None

    def fact(self) -> Fact:
        mark = "✓" if self.ok else ("✗" if self.blocking else "!")
        return Fact(f"{mark} {self.label}", self.detail, source=self.source)


def checks(catalog: Catalog, opportunity: Opportunity, partner: Partner, shares: ShareStore | None) -> list[Check]:
    where = country_name(opportunity.country) if opportunity.country else "the customer's country"
    need = Need(workloads=(opportunity.workload,), countries=(opportunity.country,) if opportunity.country else ())
    out: list[Check] = []
    rows = [r for r in catalog.rows_by_partner.get(partner.id, []) if row_fits(r, need, catalog)]
    wins = [w for w in partner.wins if w.workload == opportunity.workload]
    delivers = not opportunity.country or opportunity.country in partner.countries
    if rows:
        out.append(Check("On the solution map", True, f"{rows[0].role or 'Aligned'} for {opportunity.workload} in "
                                                      f"{where}", source=row_citation(rows[0])))
    elif (opportunity.workload in partner.workloads or wins) and delivers:
        out.append(Check("Evidence for the workload", True, f"not on the map for {opportunity.workload} in {where}, "
                         "but the profile lists it" + (f" and {len(wins)} win(s)" if wins else ""),
                         source=profile_citation(partner, "workloads")))
    else:
        out.append(Check("On the solution map", False, f"neither on the map nor any profile evidence for "
                                                       f"{opportunity.workload} in {where}",
                         source=profile_citation(partner)))
    out.append(Check("Co-sell ready", partner.co_sell_ready, "yes" if partner.co_sell_ready else
                     "no: Partner Center only accepts co-sell referrals to co-sell ready solutions",
                     source=profile_citation(partner, "co_sell_ready")))
    available = partner.available_consultants_90d
    out.append(Check("Capacity", bool(available), f"{available} consultants available in the next 90 days"
                     if available else ("no consultants available in the next 90 days" if available is not None
                                        else "not stated in the profile"),
                     blocking=available is not None, source=profile_citation(partner, "capacity")))
    book = referrals.book(catalog)
    account = normalize(opportunity.account)
    same_customer = [r for r in book.by_partner.get(partner.id, [])
                     if (r.crm_id == opportunity.id or (account and normalize(r.customer_name) == account))
                     and (not r.closed or r.substatus == "Declined")]
    if same_customer:
        r = same_customer[0]
        out.append(Check("No open or declined referral on this customer", False,
                         f"{r.referral_id} with {partner.name} on {r.customer_name} is {r.state}",
                         source=referrals.citation(r)))
    else:
        out.append(Check("No open or declined referral on this customer", True,
                         f"none with {partner.name} on {opportunity.account}"))
    others = [r for r in book.by_opportunity.get(opportunity.id, []) if not r.closed and r.partner_id != partner.id]
    if others:
        out.append(Check("Shared with another partner", False, "; ".join(
            f"{r.referral_id} with {book.partner_name(r)} is {r.state}" for r in others), blocking=False,
            source=referrals.citation(others[0])))
    earlier = [d for d in (shares.for_opportunity(opportunity.id) if shares else []) if d.partner_id == partner.id]
    if earlier:
        out.append(Check("Already confirmed here", False, earlier[-1].describe(), blocking=False))
    return out


def fitting_incentives(catalog: Catalog, opportunity: Opportunity, partner: Partner) -> list[Incentive]:
    """Incentive rules the deal fits and the partner meets the requirements of."""
    out = []
    for rule in catalog.incentives:
        fits, _, unknown = funding._rule_check(rule, opportunity.workload or None, opportunity.segment or None,
                                               opportunity.country or None, opportunity.estimated_value_usd)
        if fits and not unknown and structured.meets_partner_requirements(rule, partner):
            out.append(rule)
    return out


def preflight(catalog: Catalog, opportunity: Opportunity, partner_id: str, understood: Understood, *,
              shares: ShareStore | None, as_of: dt.date) -> Answer:
    partner = catalog.partners.get(partner_id)
    title = f"Share {opportunity.id} with {catalog.partner_name(partner_id)}?"
    cite = structured.opportunity_citation(opportunity)
    if partner is None:
        return Answer(AnswerKind.SHARE, title, f"I have no profile for {partner_id}, so I can't check the share.",
                      understood, citations=(cite,))
    found = checks(catalog, opportunity, partner, shares)
    rules = fitting_incentives(catalog, opportunity, partner)
    facts = [c.fact() for c in found]
    if rules:
        facts.append(Fact("Incentives the deal fits", "; ".join(f"{r.name} ({r.program})" if r.program else r.name
                                                                for r in rules), True, Citation(
            rules[0].name, rules[0].source.path, rules[0].source.locator)))
    failed = [c for c in found if not c.ok and c.blocking]
    if failed:
        summary = (f"Not ready to share {opportunity.id} ({opportunity.account}, {opportunity.workload}) with "
                   f"{partner.name}: " + "; ".join(f"{c.label.lower()}: {c.detail}" for c in failed) + ".")
        return Answer(AnswerKind.SHARE, title, summary, understood, facts=tuple(facts), citations=(cite,),
                      suggestions=(f"Suggest partners for {opportunity.id}",))
    summary = (f"{partner.name} passes the pre-flight for {opportunity.id} ({opportunity.account}, "
               f"{opportunity.workload} in {country_name(opportunity.country)}). Confirm to record the share and get "
               "the row to import into Partner Center; I don't share it in Partner Center myself.")
    return Answer(AnswerKind.SHARE, title, summary, understood, facts=tuple(facts), citations=(cite,),
                  share=ShareRequest(opportunity.id, partner.id))


def import_row(opportunity: Opportunity, partner: Partner, seller_email: str, as_of: dt.date) -> dict[str, str]:
    """The referral as a Partner Center bulk-import row, by the export's column names."""
    values = {
        "deal_name": f"{opportunity.account} - {opportunity.workload}", "customer_name": opportunity.account,
        "customer_country": opportunity.country, "industry": opportunity.industry,
        "partner_referral_status": "New", "partner_referral_substatus": "Pending",
        "microsoft_referral_status": "Accepted", "sales_stage": opportunity.stage,
        "estimated_deal_value": f"{opportunity.estimated_value_usd:.0f}" if opportunity.estimated_value_usd else "",
        "currency": "USD", "estimated_close_date": opportunity.close_date, "crm_id": opportunity.id,
        "created_date": as_of.isoformat(), "updated_date": as_of.isoformat(),
        "expiration_date": (as_of + dt.timedelta(days=EXPIRY_DAYS)).isoformat(), "direction": "Incoming",
        "deal_type": "Co-sell", "partner_id": partner.id, "partner_name": partner.name,
        "microsoft_seller_email": seller_email or opportunity.owner, "solution_play": opportunity.solution_play,
        "workload": opportunity.workload,
    }
    return {title: values.get(field, "") for field, title in EXPORT_COLUMNS}


def confirm(catalog: Catalog, shares: ShareStore | None, opportunity_id: str, partner_id: str, *, decided_by: str,
            decided_by_id: str, seller_email: str, as_of: dt.date) -> tuple[Answer, Table | None]:
    """Record a confirmed share (after the pre-flight passes again) and return the import row as a table."""
    understood = Understood(opportunities=(opportunity_id,))
    opportunity = catalog.opportunities.get(opportunity_id.strip().upper())
    partner = catalog.partners.get(partner_id.strip())
    if opportunity is None or partner is None:
        what = f"opportunity {opportunity_id}" if opportunity is None else f"partner {partner_id}"
        return Answer(AnswerKind.NO_MATCH, "Not shared", f"I found no {what}.", understood), None
    check = preflight(catalog, opportunity, partner.id, understood, shares=shares, as_of=as_of)
    if check.share is None:
        return check, None
    if shares is None:
        return Answer(AnswerKind.NO_MATCH, "Share not recorded",
                      "Share decisions are not being stored on this deployment (no data folder).", understood), None
    row = import_row(opportunity, partner, seller_email, as_of)
    decision: ShareDecision = shares.record(opportunity_id=opportunity.id, partner_id=partner.id,
                                            partner_name=partner.name, decided_by=decided_by,
                                            decided_by_id=decided_by_id, import_row=row)
    summary = (f"{decision.describe()} for {opportunity.id} ({opportunity.account}). Import the row into Partner "
               "Center (Referrals → Import) to share it there; it appears in the referrals export after that.")
    answer = Answer(AnswerKind.SHARED, f"{opportunity.id}: share recorded", summary, understood,
                    facts=tuple(Fact(k, v, True) for k, v in row.items() if v),
                    citations=(structured.opportunity_citation(opportunity),))
    return answer, (list(row), [list(row.values())])
