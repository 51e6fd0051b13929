"""One record's own facts: an opportunity's, and a partner's profile (confidential notes only for their groups)."""
from __future__ import annotations

from knowledge.display import format_usd
from knowledge.geography import country_name
from knowledge.records import Opportunity, Partner
from retrieval.answers import (
    Answer,
    AnswerKind,
    Fact,
    Understood,
)
from retrieval.catalog import Catalog
from retrieval.ranking import profile_citation, row_citation
from retrieval.structured.pipeline import _line, _opportunity_facts, opportunity_citation


def opportunity_detail(catalog: Catalog, opportunity: Opportunity, understood: Understood) -> Answer:
    partner = opportunity.partner_name or (catalog.partner_name(opportunity.partner_id) if opportunity.partner_id else "")
    summary = (f"{opportunity.id}: {opportunity.account}, {opportunity.workload} in {country_name(opportunity.country)}, "
               f"{format_usd(opportunity.estimated_value_usd)}, stage {opportunity.stage}, owner {opportunity.owner or 'unknown'}; "
               + (f"attached partner {partner}." if partner else "no partner attached."))
    return Answer(AnswerKind.OPPORTUNITY, opportunity.id, summary, understood,
                  opportunities=(_line(opportunity),), facts=_opportunity_facts(opportunity, include_owner=True),
                  citations=(opportunity_citation(opportunity),),
                  suggestions=() if partner else (f"Suggest partners for {opportunity.id}",))



# ----------------------------------------------------------------------------------- profiles
def partner_profile(catalog: Catalog, partner: Partner, understood: Understood, *, show_confidential: bool) -> Answer:
    source = profile_citation(partner)
    facts = [
        Fact("Type", partner.type, source=source),
        Fact("Headquarters", country_name(partner.hq_country) if partner.hq_country else "", source=source),
        Fact("Delivers in", ", ".join(country_name(c) for c in partner.countries), source=source),
        Fact("Designations", "; ".join(partner.designations), source=source),
        Fact("Specializations", "; ".join(partner.specializations) or "none", source=source),
        Fact("Azure Expert MSP", "yes" if partner.azure_expert_msp else "no", source=source),
        Fact("Industries", ", ".join(partner.industries), source=source),
        Fact("Segments", ", ".join(partner.segments), source=source),
        Fact("Workloads", ", ".join(partner.workloads), source=source),
        Fact("Co-sell ready", "yes" if partner.co_sell_ready else "no", source=source),
    ]
    if partner.certified_staff is not None or partner.available_consultants_90d is not None:
        facts.append(Fact("Capacity", f"{partner.certified_staff or 0} certified staff, "
                                      f"{partner.available_consultants_90d or 0} consultants available in the next 90 days",
                          source=source))
    if partner.marketplace_offers:
        facts.append(Fact("Marketplace offers", "; ".join(o.name for o in partner.marketplace_offers), source=source))
    contact = ", ".join(x for x in (partner.contacts.pdm, partner.contacts.pdm_email, partner.contacts.partner_email) if x)
    if contact:
        facts.append(Fact("Contacts", contact, source=source))
    rows = catalog.rows_by_partner.get(partner.id, [])
    if rows:
        facts.append(Fact("On the solution map", "; ".join(
            f"{r.workload} ({r.role or 'aligned'}, {', '.join(r.countries)})" for r in rows[:12]),
            source=row_citation(rows[0])))
    for win in partner.wins[:5]:
        facts.append(Fact(f"Win: {win.customer}", f"{win.workload}, {win.industry}, {country_name(win.country)}, "
                                                   f"{win.year or ''} — {win.summary}".strip(), source=source))
    if partner.updated:
        facts.append(Fact("Profile updated", partner.updated, source=source))
    if show_confidential and partner.notes_confidential:
        facts.append(Fact("Internal notes (confidential)", partner.notes_confidential, confidential=True,
                          source=profile_citation(partner, "notes_confidential")))
    summary = partner.description or f"{partner.name}: partner profile."
    return Answer(AnswerKind.PROFILE, partner.name, summary, understood,
                  facts=tuple(f for f in facts if f.value), citations=(source,),
                  suggestions=(f"Which incentives can {partner.name} deliver?",) if partner.designations else ())
