"""Structured approaches: answers computed from the parsed records by filters and joins.

coverage        workload / play / area (+ place, industry, segment) -> map partners, ranked with reasons   (by_need)
specialization  specialization or designation (+ place) -> partners holding it                            (by_need)
incentive       workload, segment, country, deal size -> eligible rules and the partners who can deliver them (funding)
attach          opportunity -> ranked partner suggestions (map first, then profile evidence)             (pipeline)
pipeline        filters -> unattached opportunities with the top suggestion for each                     (pipeline)
opportunity     one opportunity's facts                                                                   (details)
profile         one partner's profile; confidential notes only for their groups                          (details)

Each approach lives in its module; the names below are kept here so `structured.coverage(...)` and
`from retrieval.structured import ...` read as before.
"""
from __future__ import annotations

from retrieval.structured.by_need import (
    MAX_PARTNERS,
    MAX_PROFILE_ONLY,
    coverage,
    rank_for_need,
    specialization_holders,
)
from retrieval.structured.details import opportunity_detail, partner_profile
from retrieval.structured.funding import incentives, meets_partner_requirements, qualifying_partners
from retrieval.structured.pipeline import (
    MAX_OPPORTUNITIES,
    industry_bound,
    need_for,
    opportunity_citation,
    suggest_partners,
    top_suggestion,
    unattached,
)

__all__ = ["MAX_OPPORTUNITIES", "MAX_PARTNERS", "MAX_PROFILE_ONLY", "coverage",
           "incentives", "industry_bound", "meets_partner_requirements", "need_for", "opportunity_citation",
           "opportunity_detail", "partner_profile", "qualifying_partners", "rank_for_need", "specialization_holders",
           "suggest_partners", "top_suggestion", "unattached"]
