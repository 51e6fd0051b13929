"""The answer engine: one entry point from a question (and who asks it) to a grounded Answer.

The answer is composed from what the question links to (opportunity ids, workloads, partners,
specializations, places, deal facts) and what it asks, read from its meaning by the intent classifier
(retrieval/understanding): an opportunity id goes to the pipeline approaches (suggestions when no partner is
attached), a workload to coverage (with the incentives that fit when deal facts are given), a specialization
to its holders, a deal to incentive eligibility, one named partner to its profile or a fit check, two to a
comparison, and everything else to hybrid document search. Access is decided here, once, for every path:
opportunities and confidential notes only for their groups, and only in a 1:1 chat.
"""
from __future__ import annotations

import datetime as dt
import difflib
import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from knowledge.geography import country_name
from knowledge.loader import load_knowledge
from retrieval import partner_checks, referral_route, structured
from retrieval import share as sharing
from retrieval.acronyms import asks_what_it_is
from retrieval.answers import Answer, AnswerKind, Understood
from retrieval.catalog import Catalog
from retrieval.decisions import DecisionStore
from retrieval.document_search import DocumentSearch, stored_chunk_visible
from retrieval.filters import coverage as filtered_coverage
from retrieval.gaps import coverage_gaps
from retrieval.index import IndexUnavailableError
from retrieval.linking import Linked
from retrieval.share_store import ShareStore
from retrieval.understanding.followups import is_follow_up, merge, relink
from retrieval.understanding.intent import shared_classifier
from retrieval.understanding.lexicon import lexicon
from retrieval.understanding.need import constraints_of, need_of
from retrieval.understanding.read import read
from retrieval.understanding.routing import SEEKING, choose, facts_of, facts_only_kind, settle
from retrieval.unplaced import unplaced_fact

if TYPE_CHECKING:
    from retrieval.generations import ChromaConfig
    from retrieval.quiz import Quiz

log = logging.getLogger(__name__)

PIPELINE_GROUP = "ecm"
UNAVAILABLE = ("The program documents are temporarily unavailable (the document index cannot be read right now), "
               "so I can't search them. Questions about partners, coverage and incentives still work; please ask "
               "again later.")
MAX_QUESTION_CHARS = 2000


@dataclass(frozen=True)
class UserContext:
    """Who is asking, as established by the channel (never by what the user typed)."""

    aad_object_id: str | None = None
    groups: frozenset[str] = frozenset()
    name: str = ""
    email: str = ""
    conversation_type: str = "personal"  # personal | groupChat | channel
    # In a group chat or channel: the groups *every* member of the conversation belongs to, from its roster
    # (CONFIDENTIAL_IN_GROUPS=roster); empty when the roster was not checked, so nothing confidential shows there.
    shared_groups: frozenset[str] = frozenset()

    @property
    def private_chat(self) -> bool:
        return self.conversation_type in ("", "personal")

    def may_see(self, allowed: Iterable[str]) -> bool:
        """May this conversation see a record restricted to `allowed`: the asker is in one of those groups, and
        the chat is 1:1 or everyone in it is in one of them too (a reply in a channel is read by all its members)."""
        wanted = frozenset(allowed)
        return bool(wanted & self.groups) and (self.private_chat or bool(wanted & self.shared_groups))

    @property
    def sees_pipeline(self) -> bool:
        return self.may_see((PIPELINE_GROUP,))


class AnswerEngine(Protocol):
    @property
    def ready(self) -> bool: ...

    def user_context(self, aad_object_id: str | None, *, name: str = "", conversation_type: str = "personal",
                     shared_groups: frozenset[str] = frozenset()) -> UserContext: ...

    def answer(self, question: str, user: UserContext, previous: Understood | None = None) -> Answer: ...

    def decide(self, user: UserContext, opportunity_id: str, partner_id: str, action: str,
               reason: str = "") -> Answer: ...

    def export_sweep(self, question: str, user: UserContext, scope: Understood | None = None,
                     ) -> tuple[list[str], list[list[object]]] | None: ...

    def export_gaps(self, question: str, user: UserContext, scope: Understood | None = None,
                    ) -> tuple[list[str], list[list[object]]] | None: ...

    def export_decisions(self, user: UserContext) -> tuple[list[str], list[list[object]]] | None: ...


_SORT_BY_DATE = re.compile(r"\b(close date|closing|soonest|by date)\b", re.IGNORECASE)
_STAGE = re.compile(r"\bstage\s*(\d)\b", re.IGNORECASE)
_NOTES_WORDS = ("notes", "note", "concerns", "concern", "review", "internal", "escalation", "escalations", "risk")


class KnowledgeEngine:
    def __init__(self, catalog: Catalog, search: DocumentSearch | None, decisions: DecisionStore | None = None) -> None:
        self.catalog = catalog
        self.search = search
        self.decisions = decisions
        # share decisions live beside the attach decisions, in the same database
        self.shares = ShareStore(decisions.database) if decisions is not None else None
        self.generation: str | None = None   # the index generation it was loaded from
        self.embedder = "minilm"              # the embedder the intent classifier shares (load_engine sets it)
        self.problem = ""                     # set when the index failed at runtime: /healthz reports it

    def close(self) -> None:
        """Release the index (after a newer generation replaced this engine)."""
        client = getattr(getattr(self.search, "index", None), "client", None)
        for resource in (client, self.decisions, self.shares):
            if resource is not None and hasattr(resource, "close"):
                try:
                    resource.close()
                except Exception:  # noqa: BLE001 - best effort on the way out
                    log.debug("closing %s failed", type(resource).__name__, exc_info=True)

    @property
    def ready(self) -> bool:
        return True

    def user_context(self, aad_object_id: str | None, *, name: str = "", conversation_type: str = "personal",
                     shared_groups: frozenset[str] = frozenset()) -> UserContext:
        member = self.catalog.access.member(aad_object_id)
        return UserContext(aad_object_id=aad_object_id, groups=self.catalog.access.groups_for(aad_object_id),
                           name=name or (member.name if member else ""), email=member.email if member else "",
                           conversation_type=conversation_type or "personal", shared_groups=shared_groups)

    # ------------------------------------------------------------------ routing
    def answer(self, question: str, user: UserContext, previous: Understood | None = None) -> Answer:
        """Answer a question; `previous` is what the last answer understood, for follow-ups ("and in France?")."""
        started = time.perf_counter()
        question = (question or "").replace("\x00", " ").strip()[:MAX_QUESTION_CHARS]
        if not re.search(r"\w", question):
            return Answer(AnswerKind.CLARIFY, "Ask me about partners",
                          "Ask me which partner covers a workload, which incentive fits a deal, or about a program.",
                          suggestions=("Who can do AKS for a retail customer in Germany?",
                                       "Which incentive can fund a SQL migration for an Enterprise deal of $150k?"))
        linked = read(question, self.catalog)
        intent_text, follow_up = linked.text, False
        if previous is not None and previous.question and is_follow_up(linked.text, linked):
            linked = merge(relink(previous), linked)
            intent_text, follow_up = previous.question, True
        answer = self._route(intent_text, linked, user)
        answer = referral_route.with_referrals(self.catalog, answer, user)   # an opportunity shows its referrals
        if follow_up:
            answer = replace(answer, understood=replace(answer.understood, follow_up=True))
        log.info("answered kind=%s in %.1f ms", answer.kind.value, (time.perf_counter() - started) * 1000)
        return answer

    # ------------------------------------------------------------------ readiness sessions
    def embed(self, text: str) -> list[float] | None:
        """The question's MiniLM vector (unit length), for near-duplicate detection; None without a model."""
        if self.search is None:
            return None
        return [float(x) for x in self.search.embed_query((text or "")[:MAX_QUESTION_CHARS])]

    def understand(self, question: str) -> Understood:
        """What the question links to (workloads, places, ids…), without answering it."""
        return self._understood(read((question or "")[:MAX_QUESTION_CHARS], self.catalog))

    def quiz(self, subject: str, *, seed: int) -> Quiz | None:
        """Three multiple-choice questions on a program or solution play, from the records (see retrieval/quiz.py)."""
        from retrieval.quiz import make_quiz  # noqa: PLC0415

        return make_quiz(self.catalog, subject, seed=seed)

    # ------------------------------------------------------------------ attach workflow and exports
    def decide(self, user: UserContext, opportunity_id: str, partner_id: str, action: str, reason: str = "") -> Answer:
        """Record a channel manager's decision (propose | attach | dismiss) on a partner for an opportunity."""
        understood = Understood(opportunities=(opportunity_id,))
        if not user.sees_pipeline:
            return _denied_pipeline(user, understood)
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

    def _gaps(self, linked: Linked, user: UserContext, understood: Understood, limit: int | None = 40) -> Answer:
        if not user.sees_pipeline:
            return _denied_pipeline(user, understood)
        need = need_of(linked)
        attached_here = frozenset(self.decisions.attached()) if self.decisions else frozenset()
        cells = [c for c in coverage_gaps(self.catalog, need, attached_here=attached_here) if c.gap_score > 0]
        scope = understood.describe() or "the whole map and pipeline"
        if not cells:
            return Answer(AnswerKind.GAPS, f"Coverage gaps: {scope}",
                          f"No coverage gap in {scope}: every unattached opportunity there has partners on the map.",
                          understood)
        top = cells[0]
        summary = (f"{len(cells)} workload × country cells have unattached pipeline ({scope}). Largest gap: "
                   f"{top.workload} in {country_name(top.country)}: {top.unattached_opportunities} unattached "
                   f"opportunities worth ${top.pipeline_value_usd:,.0f} and {top.partners_on_map} partners on the map.")
        shown = cells if limit is None else cells[:limit]
        answer = Answer(AnswerKind.GAPS, f"Coverage gaps: {scope}", summary, understood, gaps=tuple(shown),
                        total=len(cells) if len(shown) < len(cells) else None, export_query=linked.text,
                        notes=("Gap score = unattached pipeline value in $k ÷ (1 + partners on the map).",))
        if len(cells) == 1:
            # one workload in one country: the gap is those opportunities, so name them too
            pipeline = self._pipeline(linked.text, linked, user, understood)
            answer = replace(answer, opportunities=pipeline.opportunities,
                             citations=tuple(dict.fromkeys(answer.citations + pipeline.citations)))
        return answer

    def _route(self, question: str, linked: Linked, user: UserContext) -> Answer:
        """Compose the answer from what the question links to and what it asks (retrieval/understanding)."""
        names = linked.names
        kind, confidence = self.intent_of(question, linked)
        route = choose(kind, facts_of(linked), confidence)
        understood = replace(self._understood(linked), intent=kind)
        unplaced = unplaced_fact(linked, understood, seeking=kind in SEEKING)
        if unplaced is not None:
            return unplaced   # never answer a wider question than the one asked
        # --- co-sell referrals, customer wins, team-up, share pre-flight (retrieval/referral_route.py) ---
        # the English reading with its dates kept ("as of 1 Dec 2026" is blanked in linked.text)
        if (referral_answer := referral_route.route(self.catalog, linked.search_text or question, linked, user,
                                                    understood, shares=self.shares)) is not None:
            return referral_answer
        # --- end referrals ---
        workloads, plays, areas = names("workload"), names("solution_play"), names("solution_area")
        specs, designations = names("specialization"), names("designation")
        partners = [self.catalog.partners[p] for p in names("partner") if p in self.catalog.partners]
        need = need_of(linked)
        if route == "opportunity":
            return self._opportunity(linked, user, understood, wants_suggestions=kind == "attach")
        if route == "gaps":
            return self._gaps(linked, user, understood)
        if route == "pipeline":
            return self._pipeline(question, linked, user, understood)
        if route == "comparison" and len(partners) >= 2:
            return partner_checks.compare_partners(self.catalog, partners, need, understood)
        if route == "fit" and partners:
            return partner_checks.fit_check(self.catalog, partners[0], need, specs, designations, understood)
        if kind in ("fit", "specialization") and len(partners) == 1 and linked.unknown_terms \
                and not (workloads or plays or areas):
            # "has X earned <a name the catalog does not know>?": checked against what its profile holds
            named = partner_checks.named_credentials(question, partners[0], linked.unknown_terms)
            return partner_checks.fit_check(self.catalog, partners[0], need, [*specs, *named], designations, understood)
        if route in ("profile", "fit", "comparison") and partners:
            partner = partners[0]
            show = user.may_see(partner.allowed_groups)
            answer = structured.partner_profile(self.catalog, partner, understood, show_confidential=show)
            if linked.has(*_NOTES_WORDS) and not show:
                answer = _with_note(answer, "I can share the partner's profile; internal notes are not part of what "
                                            "I can show you here.")
            return answer
        if route == "incentive":
            return self._incentives(linked, understood, workloads or self._workloads_of(plays, areas))
        if route == "specialization" and (workloads or plays or areas) and linked.countries:
            return filtered_coverage(self.catalog, need, understood)   # holding it is a filter
        if route == "specialization":
            return structured.specialization_holders(self.catalog, specs, designations, linked.countries, understood)
        if route == "coverage":
            return self._with_incentives(filtered_coverage(self.catalog, need, understood), linked, understood)
        if route == "unknown":
            # A product-like name the catalog does not know: say so rather than answer for a neighbour,
            # unless the documents use that very name (an acronym the catalog lacks, say).
            answer = self._documents(question, linked, user, understood)
            long_forms = self.search.terms.expansions(linked.unknown_terms[0]) if self.search else ()
            if answer.kind is AnswerKind.DOCUMENT and _passage_mentions(answer, linked.unknown_terms[0], long_forms):
                return answer
            return self._unknown_subject(linked, understood)
        if route == "leftover":
            # ordinary words: the documents may answer it; if not, say what we did not recognise
            answer = self._documents(question, linked, user, understood)
            return answer if answer.kind is AnswerKind.DOCUMENT else self._unknown_subject(linked, understood)
        if route == "ask_workload":
            return self._ask_for_workload(linked, understood)
        return self._documents(question, linked, user, understood)

    def intent_of(self, question: str, linked: Linked) -> tuple[str, float]:
        """The answer kind the question asks for and how sure that is: the classifier's reading of its shape,
        or the facts alone (no model installed)."""
        classifier = shared_classifier(self.embedder)
        facts = facts_of(linked)
        if classifier is None:
            return facts_only_kind(facts), 1.0
        intent = classifier.classify(question, self.catalog.vocabulary)
        return settle(tuple(k for k, _ in intent.scores), facts), intent.confidence

    def _with_incentives(self, answer: Answer, linked: Linked, understood: Understood) -> Answer:
        """Coverage for a deal (segment or size given) also carries the incentives that fit it."""
        names = linked.names
        deal = linked.deal_usd if linked.deal_usd is not None else linked.value_min
        if answer.kind is not AnswerKind.COVERAGE or not (names("segment") or deal is not None) or len(understood.workloads) != 1:
            return answer
        segments, countries = names("segment"), linked.countries
        funding = structured.incentives(self.catalog, understood.workloads[0], segments[0] if segments else None,
                                        countries[0] if countries else None, deal, understood)
        # the partners who can deliver each incentive, among those the stated filters kept (never one left out)
        kept = {p.partner_id for p in answer.partners}
        incentives = tuple(replace(i, partners=tuple(p for p in i.partners if p.partner_id in kept))
                           for i in funding.incentives)
        if not incentives:
            return answer
        return replace(answer, incentives=incentives,
                       notes=answer.notes + (f"Incentives that fit this deal: {len(funding.incentives)} "
                                             "(see below; rules are per country and segment).",))

    # ------------------------------------------------------------------ approaches
    def _opportunity(self, linked: Linked, user: UserContext, understood: Understood, *,
                     wants_suggestions: bool = False) -> Answer:
        if not user.sees_pipeline:
            return _denied_pipeline(user, understood)
        if not linked.opportunity_ids:
            ids = ", ".join(linked.unknown_opportunity_ids)
            return Answer(AnswerKind.NO_MATCH, f"{ids} not found",
                          f"I found no opportunity {ids} in the pipeline export.", understood)
        opportunity = self.catalog.opportunities[linked.opportunity_ids[0]]
        # a channel manager asking anything about an opportunity without a partner gets suggestions with its facts
        detail = structured.opportunity_detail(self.catalog, opportunity, understood)
        if wants_suggestions or not opportunity.is_attached:
            history = tuple(self.decisions.for_opportunity(opportunity.id)) if self.decisions else ()
            answer = structured.suggest_partners(self.catalog, opportunity, understood, history)
            if not wants_suggestions:   # asked about the deal itself: its facts first, then who could take it
                answer = replace(answer, summary=f"{detail.summary} {answer.summary.split(': ', 1)[-1]}")
            return answer
        return detail

    def _pipeline(self, question: str, linked: Linked, user: UserContext, understood: Understood,
                  limit: int | None = structured.MAX_OPPORTUNITIES) -> Answer:
        if not user.sees_pipeline:
            return _denied_pipeline(user, understood)
        need = need_of(linked)
        owner = None
        answer_notes: list[str] = []
        if linked.has("my", "mine"):
            if user.email:
                owner = user.email
            else:
                answer_notes.append("I don't know which opportunities are yours (no e-mail for you in access.yaml): "
                                    "showing every unattached opportunity in scope.")
        stages = tuple(m.group(1) for m in _STAGE.finditer(question))
        value_min = linked.value_min
        if value_min is None and linked.deal_usd is not None and linked.has("over", "above", "more than", "at least"):
            value_min = linked.deal_usd
        answer = structured.unattached(self.catalog, need, understood, value_min=value_min, value_max=linked.value_max,
                                       stages=stages, owner=owner,
                                       sort="close_date" if _SORT_BY_DATE.search(question) else "value",
                                       decisions=self.decisions.by_opportunity() if self.decisions else None,
                                       limit=limit)
        for note in answer_notes:
            answer = _with_note(answer, note)
        return replace(answer, export_query=question)

    def _incentives(self, linked: Linked, understood: Understood, workloads: list[str]) -> Answer:
        segments = linked.names("segment")
        countries = linked.countries
        if len(countries) > 1:
            # a region: answer for its first country and say so; rules are per country
            note = f"Rules are per country: answered for {country_name(countries[0])}."
        else:
            note = ""
        answer = structured.incentives(self.catalog, workloads[0] if workloads else None,
                                       segments[0] if segments else None, countries[0] if countries else None,
                                       linked.deal_usd, understood)
        return _with_note(answer, note) if note else answer

    def _workloads_of(self, plays: list[str], areas: list[str]) -> list[str]:
        out: list[str] = []
        for play in plays:
            out += self.catalog.workloads_of_play(play)
        for area in areas:
            out += self.catalog.workloads_of_area(area)
        return out

    def _unknown_subject(self, linked: Linked, understood: Understood, term: str = "",
                         documents_searched: bool = False) -> Answer:
        term = term or (linked.unknown_terms[0] if linked.unknown_terms else " ".join(linked.leftover_words))
        known = self.catalog.workloads + self.catalog.solution_plays
        close = difflib.get_close_matches(term, known, n=3, cutoff=0.6)
        summary = (f"I don't know “{term}”: it is not a workload, solution play or specialization in the solution map "
                   "or partner profiles, so I can't name a partner for it.")
        if documents_searched:
            summary = (f"I don't know “{term}”: it is not a workload, solution play, program or specialization in the "
                       "catalog, and no program document I can show you mentions it.")
        suggestions = tuple(f"Which partners cover {c}" + (f" in {understood.country_label}?" if understood.country_label else "?")
                            for c in close)
        notes = (f"Did you mean: {', '.join(close)}?",) if close else ()
        return Answer(AnswerKind.NO_MATCH, f"Nothing matches “{term}”", summary, understood,
                      notes=notes, suggestions=suggestions)

    def _ask_for_workload(self, linked: Linked, understood: Understood) -> Answer:
        counts: dict[str, set[str]] = {}
        for row in self.catalog.map_rows:
            if set(row.countries) & set(linked.countries):
                counts.setdefault(row.workload, set()).add(self.catalog.partner_id_of(row))
        top = sorted(counts.items(), key=lambda kv: -len(kv[1]))[:8]
        place = linked.place_label
        summary = (f"Which workload or solution play? The map has partners in {place} for "
                   + "; ".join(f"{w} ({len(p)})" for w, p in top) + "." if top else
                   f"No partner is on the solution map in {place}.")
        return Answer(AnswerKind.CLARIFY, f"Partners in {place}", summary, understood, missing=("workload",),
                      suggestions=tuple(f"Which partners cover {w} in {place}?" for w, _ in top[:3]))

    def _documents(self, question: str, linked: Linked, user: UserContext, understood: Understood) -> Answer:
        if self.search is None and self.problem:
            return Answer(AnswerKind.NO_MATCH, "Knowledge temporarily unavailable", UNAVAILABLE, understood)
        if self.search is None:
            return Answer(AnswerKind.NO_MATCH, "Documents unavailable",
                          "The program documents are not indexed yet, so I can't search them. "
                          "Run `python bot.py index` and ask again.", understood)
        subjects = [e.name for e in linked.entities if e.kind in ("program", "specialization", "designation", "incentive")]
        try:
            result = self.search.search(linked.search_text or question, stored_chunk_visible(user.may_see),
                                        subjects=subjects, unknown_terms=linked.unknown_terms)
        except IndexUnavailableError as exc:
            self.problem = str(exc)
            return Answer(AnswerKind.NO_MATCH, "Knowledge temporarily unavailable", UNAVAILABLE, understood)
        # a name the catalog does not know and no document uses either: say so, not a neighbour's passage
        for term in result.missing_terms:
            # an acronym or a product-like name ("PEM", "Quantum Teleport Fabric"), not a capitalised word ("Sept")
            if asks_what_it_is(question, term) or (not result.confident and sum(c.isupper() for c in term) >= 2):
                return self._unknown_subject(linked, understood, term, documents_searched=True)
        if not result.confident:
            return Answer(AnswerKind.NO_MATCH, "Nothing found",
                          "I found nothing in the knowledge folder that answers this. Try naming the workload, "
                          "program or specialization, or ask which partner covers a workload in a country.",
                          understood, suggestions=("help",))
        best = result.passages[0]
        summary = f"From {best.citation.title}" + (f" — {best.heading}" if best.heading else "") + ":"
        citations = tuple(dict.fromkeys(p.citation for p in result.passages))
        return Answer(AnswerKind.DOCUMENT, best.heading or best.citation.title, summary, understood,
                      passages=result.passages, citations=citations, low_confidence=not result.sure)

    def _scope_linked(self, question: str, scope: Understood | None) -> Linked:
        """The question's entities, or those of a merged follow-up chain when its scope is given."""
        if scope is not None and scope.question:
            return relink(scope)
        return read(question, self.catalog)

    def _understood(self, linked: Linked) -> Understood:
        names = linked.names
        constraints = constraints_of(linked)
        return Understood(
            question=linked.text, solution_areas=tuple(names("solution_area")),
            value_min=linked.value_min, value_max=linked.value_max, partner_ids=tuple(names("partner")),
            workloads=tuple(names("workload")), solution_plays=tuple(names("solution_play")),
            specializations=tuple(names("specialization")), designations=tuple(names("designation")),
            countries=linked.countries, country_label=linked.place_label, industries=tuple(names("industry")),
            segments=tuple(names("segment")), deal_usd=linked.deal_usd,
            partners=tuple(self.catalog.partner_name(p) for p in names("partner")),
            opportunities=tuple(linked.opportunity_ids), programs=tuple(names("program")),
            unknown_terms=tuple(linked.unknown_terms), co_sell_ready=constraints.co_sell_ready,
            min_capacity=constraints.min_capacity, top_n=constraints.top_n, role=constraints.role,
            excluded_partner_ids=constraints.excluded, order=constraints.order,
            language="" if linked.language == "en" else linked.language,
            readings=tuple(linked.readings))


def _passage_mentions(answer: Answer, term: str, long_forms: Iterable[str] = ()) -> bool:
    """A passage shown names the term, or its long form as the documents spell it out."""
    text = " ".join(f"{p.heading}\n{p.text}".lower() for p in answer.passages)
    return any(all(re.search(rf"\b{re.escape(word.lower())}\b", text) for word in form.split())
               for form in (term, *long_forms))


def _with_note(answer: Answer, note: str) -> Answer:
    return replace(answer, notes=answer.notes + (note,))


def _denied_pipeline(user: UserContext, understood: Understood) -> Answer:
    if PIPELINE_GROUP in user.groups:
        summary = ("Opportunity details are confidential: ask me in a 1:1 chat and I'll show them there, "
                   "not in a group chat or channel.")
    else:
        summary = ("Opportunity and pipeline details are confidential and not available to you: only channel "
                   "managers (group “ecm”) can see them. I can still tell you which partners cover a workload.")
    return Answer(AnswerKind.DENIED, "Not available to you", summary,
                  Understood(workloads=understood.workloads, countries=understood.countries))


def load_engine(knowledge_dir: Path, index_dir: Path, *, embedder: str = "minilm",
                decisions_path: Path | str | None = None, chroma: ChromaConfig | None = None) -> KnowledgeEngine:
    """Load the live index generation: records from its snapshot (when fresh), passages from its collection.

    Raises on an unusable knowledge folder. An index that cannot be opened (a damaged file or pointer,
    a read-only folder) does not raise: the engine answers from the records, says the documents are
    temporarily unavailable, and carries the reason in `problem` (GET /healthz: degraded).
    """
    from retrieval.generations import Generations  # noqa: PLC0415
    from retrieval.indexer import load_snapshot  # noqa: PLC0415

    started = time.perf_counter()
    knowledge_dir, index_dir = Path(knowledge_dir), Path(index_dir)
    store = Generations(index_dir, chroma)
    problem = ""
    try:
        live = store.live()
    except Exception as exc:  # noqa: BLE001 - a damaged pointer: the records still answer
        log.exception("the index pointer in %s cannot be read", index_dir)
        live, problem = None, f"document index unreadable: {_one_line(exc)}"
    knowledge = (load_snapshot(live.path, knowledge_dir) if live else None) \
        or load_knowledge(knowledge_dir, documents=False)
    catalog = Catalog(knowledge)
    lexicon(catalog)   # the vocabulary index for tolerant reading, built now rather than on the first question
    search = None
    if live is not None:
        from retrieval.embeddings import make_embedder  # noqa: PLC0415
        from retrieval.index import DocumentIndex  # noqa: PLC0415

        model = make_embedder(embedder)
        try:
            index = DocumentIndex(store.client(live), getattr(model, "model_id", embedder), live.collection,
                                  create=False)
            search = DocumentSearch(index, model.embed_query)
        except Exception as exc:  # noqa: BLE001 - damaged, unreadable or read-only: the records still answer
            log.exception("the document index generation %s cannot be opened", live.name)
            problem = f"document index unreadable: {_one_line(exc)}"
    elif not problem:
        log.warning("no document index at %s: document questions will say so; run `bot.py index`", index_dir)
    log.info("engine loaded in %.1fs (index generation %s): %d partners, %d map rows, %d opportunities, %d chunks",
             time.perf_counter() - started, live.name if live else "none", len(catalog.partners),
             len(catalog.map_rows), len(catalog.opportunities), len(search.chunks) if search else 0)
    shared_classifier(embedder)   # the intent bank's vectors, now rather than on the first question
    engine = KnowledgeEngine(catalog, search, DecisionStore(decisions_path) if decisions_path else None)
    engine.embedder = embedder
    engine.generation = live.name if live else None
    engine.problem = problem
    return engine


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:240]
