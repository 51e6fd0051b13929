"""The answer engine: one entry point from a question (and who asks it) to a grounded Answer.

Routing is by what the question links to, not by embedding similarity: an opportunity id goes to the
pipeline approaches, a workload with a partner-seeking question to coverage, a specialization to its
holders, funding words with deal facts to incentive eligibility, a partner name to its profile, and
everything else to hybrid document search. Access is decided here, once, for every path:
opportunities and confidential notes only for their groups, and only in a 1:1 chat.
"""
from __future__ import annotations

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
from retrieval import structured
from retrieval.answers import Answer, AnswerKind, Understood
from retrieval.catalog import Catalog
from retrieval.decisions import DecisionStore
from retrieval.document_search import DocumentSearch, stored_chunk_visible
from retrieval.filters import coverage as filtered_coverage
from retrieval.gaps import coverage_gaps
from retrieval.index import IndexUnavailableError
from retrieval.linking import Linked
from retrieval.understanding.followups import is_follow_up, merge, relink
from retrieval.understanding.lexicon import lexicon
from retrieval.understanding.need import constraints_of, need_of
from retrieval.understanding.read import read
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


_ATTACH_WORDS = ("suggest", "suggestion", "suggestions", "attach", "recommend", "recommendation", "who should",
                 "best partner", "best fit", "fit", "candidates", "candidate", "partner for", "partners for",
                 "which partner", "which partners", "who can")
_UNATTACHED_WORDS = ("unattached", "no partner", "without a partner", "without partner", "without partners",
                     "not attached", "missing a partner", "missing partner", "no partners", "have no partner",
                     "need a partner attached", "lack a partner")
_PIPELINE_WORDS = ("pipeline", "opportunities", "opportunity", "opps", "my deals", "deals")
_INCENTIVE_WORDS = ("incentive", "incentives", "funding", "fund", "funds", "funded", "eligible", "eligibility",
                    "investment", "investments", "ecif", "pay for", "subsidy", "rebate")
_HOLDER_WORDS = ("who", "which", "partners", "partner", "list", "hold", "holds", "has", "have", "show")
_HOW_WORDS = ("require", "requires", "requirement", "requirements", "criteria", "how", "what is", "what are",
              "what does", "earn", "get", "audit", "mean", "explain", "renew", "when")
_SEEK_PATTERNS = re.compile(
    r"\b(which|any)\s+(\w+\s+){0,2}partners?\b|\bwhat\s+partners?\b|\bwho\s+(can|could|covers?|does|do|is|are|has|delivers?|handles?|"
    r"should)\b|\bpartners?\s+(for|that|who|covering|in|with|to)\b|\b(need|find|recommend|suggest)\s+(me\s+)?(a|an|some)?"
    r"\s*partners?\b|\bcovers?\b|\bcoverage\b", re.IGNORECASE)
_SORT_BY_DATE = re.compile(r"\b(close date|closing|soonest|by date)\b", re.IGNORECASE)
_STAGE = re.compile(r"\bstage\s*(\d)\b", re.IGNORECASE)
_GAP_WORDS = ("coverage gap", "coverage gaps", "gaps", "gap analysis", "white space", "whitespace",
              "where are we missing partners", "missing coverage", "heatmap", "heat map")
_NOTES_WORDS = ("notes", "note", "concerns", "concern", "review", "internal", "escalation", "escalations", "risk")


class KnowledgeEngine:
    def __init__(self, catalog: Catalog, search: DocumentSearch | None, decisions: DecisionStore | None = None) -> None:
        self.catalog = catalog
        self.search = search
        self.decisions = decisions
        self.generation: str | None = None   # the index generation it was loaded from
        self.problem = ""                     # set when the index failed at runtime: /healthz reports it

    def close(self) -> None:
        """Release the index (after a newer generation replaced this engine)."""
        client = getattr(getattr(self.search, "index", None), "client", None)
        for resource in (client, self.decisions):
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
        if not user.sees_pipeline or not linked.has(*_GAP_WORDS):
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
        return header, [[d.opportunity_id, d.partner_id, d.partner_name, d.action, d.reason, d.decided_by, d.decided_at]
                        for d in decisions]

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
        return Answer(AnswerKind.GAPS, f"Coverage gaps: {scope}", summary, understood, gaps=tuple(shown),
                      total=len(cells) if len(shown) < len(cells) else None, export_query=linked.text,
                      notes=("Gap score = unattached pipeline value in $k ÷ (1 + partners on the map).",))

    def _route(self, question: str, linked: Linked, user: UserContext) -> Answer:
        understood = self._understood(linked)
        unplaced = unplaced_fact(linked, understood, seeking=bool(_SEEK_PATTERNS.search(question)))
        if unplaced is not None:
            return unplaced   # never answer a wider question than the one asked
        names = linked.names
        workloads, plays, areas = names("workload"), names("solution_play"), names("solution_area")
        specs, designations = names("specialization"), names("designation")
        if linked.opportunity_ids or linked.unknown_opportunity_ids:
            return self._opportunity(linked, user, understood)
        if linked.has(*_GAP_WORDS):
            return self._gaps(linked, user, understood)
        if linked.has(*_UNATTACHED_WORDS) or (linked.has(*_PIPELINE_WORDS) and (linked.has("my") or linked.has("attached"))):
            return self._pipeline(question, linked, user, understood)
        deal_facts = bool(workloads or plays or areas or names("segment") or linked.deal_usd or linked.countries)
        if linked.has(*_INCENTIVE_WORDS) and (deal_facts or names("incentive") or names("program")) \
                and not (linked.has(*_HOW_WORDS) and not deal_facts):
            return self._incentives(linked, understood, workloads or self._workloads_of(plays, areas))
        wants_holders = (specs or designations) and linked.has(*_HOLDER_WORDS) and not linked.has(*_HOW_WORDS)
        if wants_holders and (workloads or plays or areas) and linked.countries:
            return filtered_coverage(self.catalog, need_of(linked), understood)   # holding it is a filter
        if wants_holders:
            return structured.specialization_holders(self.catalog, specs, designations, linked.countries, understood)
        partners = names("partner")
        if partners and not (workloads or plays or areas):
            partner = self.catalog.partners[partners[0]]
            show = user.may_see(partner.allowed_groups)
            answer = structured.partner_profile(self.catalog, partner, understood, show_confidential=show)
            if linked.has(*_NOTES_WORDS) and not show:
                answer = _with_note(answer, "I can share the partner's profile; internal notes are not part of what "
                                            "I can show you here.")
            return answer
        seeking = bool(_SEEK_PATTERNS.search(question)) or bool(linked.countries and (workloads or plays or areas))
        if (workloads or plays or areas) and (seeking or not self._document_first(linked)):
            return filtered_coverage(self.catalog, need_of(linked), understood)
        if seeking and linked.unknown_terms and not (specs or designations):
            # A product-like name the catalog does not know: say so rather than answer for a neighbour,
            # unless the documents use that very name (an acronym the catalog lacks, say).
            answer = self._documents(question, linked, user, understood)
            if answer.kind is AnswerKind.DOCUMENT and _passage_mentions(answer, linked.unknown_terms[0]):
                return answer
            return self._unknown_subject(linked, understood)
        if seeking and linked.leftover_words and not (specs or designations or linked.countries):
            # ordinary words: the documents may answer it; if not, say what we did not recognise
            answer = self._documents(question, linked, user, understood)
            return answer if answer.kind is AnswerKind.DOCUMENT else self._unknown_subject(linked, understood)
        if seeking and linked.countries and not self._document_first(linked):
            return self._ask_for_workload(linked, understood)
        return self._documents(question, linked, user, understood)

    def _document_first(self, linked: Linked) -> bool:
        """Questions about how programs work ("how do I…", "what is…") are for the documents."""
        return linked.has(*_HOW_WORDS) and not linked.countries

    # ------------------------------------------------------------------ approaches
    def _opportunity(self, linked: Linked, user: UserContext, understood: Understood) -> Answer:
        if not user.sees_pipeline:
            return _denied_pipeline(user, understood)
        if not linked.opportunity_ids:
            ids = ", ".join(linked.unknown_opportunity_ids)
            return Answer(AnswerKind.NO_MATCH, f"{ids} not found",
                          f"I found no opportunity {ids} in the pipeline export.", understood)
        opportunity = self.catalog.opportunities[linked.opportunity_ids[0]]
        if linked.has(*_ATTACH_WORDS):
            history = tuple(self.decisions.for_opportunity(opportunity.id)) if self.decisions else ()
            return structured.suggest_partners(self.catalog, opportunity, understood, history)
        return structured.opportunity_detail(self.catalog, opportunity, understood)

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

    def _unknown_subject(self, linked: Linked, understood: Understood) -> Answer:
        term = linked.unknown_terms[0] if linked.unknown_terms else " ".join(linked.leftover_words)
        known = self.catalog.workloads + self.catalog.solution_plays
        close = difflib.get_close_matches(term, known, n=3, cutoff=0.6)
        summary = (f"I don't know “{term}”: it is not a workload, solution play or specialization in the solution map "
                   "or partner profiles, so I can't name a partner for it.")
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
                                        subjects=subjects)
        except IndexUnavailableError as exc:
            self.problem = str(exc)
            return Answer(AnswerKind.NO_MATCH, "Knowledge temporarily unavailable", UNAVAILABLE, understood)
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


def _passage_mentions(answer: Answer, term: str) -> bool:
    text = " ".join(p.text.lower() for p in answer.passages[:1])
    return all(re.search(rf"\b{re.escape(word.lower())}\b", text) for word in term.split())


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
                decisions_path: Path | None = None, chroma: ChromaConfig | None = None) -> KnowledgeEngine:
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
    engine = KnowledgeEngine(catalog, search, DecisionStore(decisions_path) if decisions_path else None)
    engine.generation = live.name if live else None
    engine.problem = problem
    return engine


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:240]
