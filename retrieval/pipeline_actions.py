"""What a channel manager does with the pipeline beyond asking: record attach decisions, confirm co-sell
shares, the referral part of the daily sweep, and the full rows behind a sweep, gap or decisions export.
Every method checks the caller again (a card press or a command is user input).

A part of KnowledgeEngine (retrieval/engine.py), which supplies the catalog, the stores and the approaches
these reuse.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from retrieval import referral_route, structured
from retrieval import share as sharing
from retrieval.answers import Answer, AnswerKind, Understood
from retrieval.users import UserContext, denied_pipeline

if TYPE_CHECKING:
    from retrieval.catalog import Catalog
    from retrieval.decisions import DecisionStore
    from retrieval.linking import Linked
    from retrieval.share_store import ShareStore

log = logging.getLogger("retrieval.engine")


class PipelineActions:
    catalog: Catalog
    decisions: DecisionStore | None
    shares: ShareStore | None

    if TYPE_CHECKING:   # the approaches KnowledgeEngine supplies
        def _scope_linked(self, question: str, scope: Understood | None) -> Linked: ...
        def _understood(self, linked: Linked) -> Understood: ...
        def intent_of(self, question: str, linked: Linked) -> tuple[str, float]: ...
        def _pipeline(self, question: str, linked: Linked, user: UserContext, understood: Understood,
                      limit: int | None = ...) -> Answer: ...
        def _gaps(self, linked: Linked, user: UserContext, understood: Understood, limit: int | None = 40) -> Answer: ...

    def decide(self, user: UserContext, opportunity_id: str, partner_id: str, action: str, reason: str = "") -> Answer:
        """Record a channel manager's decision (propose | attach | dismiss) on a partner for an opportunity."""
        understood = Understood(opportunities=(opportunity_id,))
        if not user.sees_pipeline:
            return denied_pipeline(user, understood)
        opportunity = self.catalog.opportunities.get(opportunity_id.strip().upper())
        if opportunity is None:
            return Answer(AnswerKind.NO_MATCH, f"{opportunity_id} not found",
                          f"I found no opportunity {opportunity_id} in the pipeline export.", understood)
        partner_name = self.catalog.partner_name(partner_id)
        if partner_id not in self.catalog.partners and partner_name == partner_id:
            return Answer(AnswerKind.NO_MATCH, "Unknown partner", f"I know no partner {partner_id}.", understood)
        if self.decisions is None:
            return Answer(AnswerKind.NO_MATCH, "Decisions unavailable",
                          "Attach decisions are not being stored on this deployment (no data folder).", understood)
        try:
            decision = self.decisions.record(opportunity_id=opportunity.id, partner_id=partner_id,
                                             partner_name=partner_name, action=action, reason=reason,
                                             decided_by=user.name or user.aad_object_id or "unknown",
                                             decided_by_id=user.aad_object_id or "")
        except ValueError as exc:
            return Answer(AnswerKind.CLARIFY, "Decision not recorded", str(exc).capitalize() + ".", understood,
                          missing=("reason",) if "reason" in str(exc) else ())
        log.info("attach decision recorded: %s", action)   # no names: the pipeline is confidential
        summary = f"{decision.describe()} for {opportunity.id} ({opportunity.account})."
        follow = (f"Suggest partners for {opportunity.id}",) if action == "dismiss" else ()
        return Answer(AnswerKind.DECISION, f"{opportunity.id}: decision recorded", summary, understood,
                      decisions=tuple(self.decisions.for_opportunity(opportunity.id)), suggestions=follow,
                      citations=(structured.opportunity_citation(opportunity),))

    def share(self, user: UserContext, opportunity_id: str, partner_id: str,
              ) -> tuple[Answer, tuple[list[str], list[list[object]]] | None]:
        """Confirm sharing an opportunity with a partner (a card button: the caller is checked again here)."""
        if not user.sees_pipeline:
            return referral_route.denied(user, Understood()), None
        return sharing.confirm(self.catalog, self.shares, opportunity_id, partner_id,
                               decided_by=user.name or user.aad_object_id or "unknown",
                               decided_by_id=user.aad_object_id or "", seller_email=user.email,
                               as_of=referral_route.today())

    def referral_sweep(self, user: UserContext, day: dt.date) -> Answer | None:
        """The referral part of the daily sweep: stale partner-led referrals and shares about to expire."""
        if not user.sees_pipeline:
            return None
        return referral_route.sweep(self.catalog, day)

    def export_sweep(self, question: str, user: UserContext, scope: Understood | None = None,
                     ) -> tuple[list[str], list[list[object]]] | None:
        """Every opportunity a sweep question selects (not only the first page), with the top suggestion
        and the decisions taken, as rows for a CSV/XLSX export. None when the user may not see the pipeline.

        `scope` is what the answer understood after a follow-up ("… and in France?"): its merged filters
        decide the rows, since the question alone is the first of the chain."""
        if not user.sees_pipeline:
            return None
        linked = self._scope_linked(question, scope)
        answer = self._pipeline(question, linked, user, self._understood(linked), limit=None)
        header = ["opportunity_id", "account", "workload", "country", "segment", "industry", "estimated_value_usd",
                  "stage", "close_date", "owner", "top_suggestion", "top_suggestion_score", "top_suggestion_reasons",
                  "decisions", "source"]
        rows: list[list[object]] = []
        for line in answer.opportunities:
            top = line.top_suggestion
            rows.append([line.opportunity_id, line.account, line.workload, line.country, line.segment, line.industry,
                         line.estimated_value_usd, line.stage, line.close_date, line.owner,
                         top.name if top else "", top.score if top else "",
                         "; ".join(r.detail for r in top.reasons) if top else "",
                         " | ".join(d.describe() for d in line.decisions),
                         line.citation.label() if line.citation else ""])
        return header, rows

    def export_gaps(self, question: str, user: UserContext, scope: Understood | None = None,
                    ) -> tuple[list[str], list[list[object]]] | None:
        """Every coverage-gap cell a gaps question selects (the card shows the largest 40); None when the
        user may not see the pipeline or the question is not about coverage gaps. `scope` as for export_sweep."""
        linked = self._scope_linked(question, scope)
        if not user.sees_pipeline or self.intent_of(linked.text, linked)[0] != "gaps":
            return None
        answer = self._gaps(linked, user, self._understood(linked), limit=None)
        header = ["workload", "country", "partners_on_map", "spare_capacity", "open_opportunities",
                  "unattached_opportunities", "pipeline_value_usd", "gap_score"]
        return header, [[c.workload, c.country, c.partners_on_map, c.spare_capacity, c.open_opportunities,
                         c.unattached_opportunities, c.pipeline_value_usd, c.gap_score] for c in answer.gaps]

    def export_decisions(self, user: UserContext) -> tuple[list[str], list[list[object]]] | None:
        if not user.sees_pipeline:
            return None
        header = ["opportunity_id", "partner_id", "partner_name", "action", "reason", "decided_by", "decided_at"]
        decisions = self.decisions.all() if self.decisions else []
        rows: list[list[object]] = [[d.opportunity_id, d.partner_id, d.partner_name, d.action, d.reason, d.decided_by,
                                     d.decided_at] for d in decisions]
        rows += [[s.opportunity_id, s.partner_id, s.partner_name, "share", "", s.decided_by, s.decided_at]
                 for s in (self.shares.all() if self.shares else [])]   # confirmed co-sell shares
        return header, sorted(rows, key=lambda row: str(row[6]))
