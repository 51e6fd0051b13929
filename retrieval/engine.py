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

import logging
import re
import time
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from knowledge.display import format_usd
from knowledge.geography import country_name
from retrieval import partner_checks, referral_route, structured
from retrieval.acronyms import asks_what_it_is
from retrieval.answers import Answer, AnswerKind, Understood
from retrieval.catalog import Catalog
from retrieval.decisions import DecisionStore
from retrieval.document_search import DocumentSearch, stored_chunk_visible
from retrieval.filters import coverage as filtered_coverage
from retrieval.gaps import coverage_gaps
from retrieval.index import IndexUnavailableError
from retrieval.linking import Linked
from retrieval.pipeline_actions import PipelineActions
from retrieval.share_store import ShareStore
from retrieval.understanding.followups import is_follow_up, merge, relink
from retrieval.understanding.intent import shared_classifier
from retrieval.understanding.need import constraints_of, need_of
from retrieval.understanding.read import read
from retrieval.understanding.routing import SEEKING, choose, facts_of, facts_only_kind, settle
from retrieval.unplaced import ask_for_workload, unknown_subject, unplaced_fact
from retrieval.users import PIPELINE_GROUP, AnswerEngine, UserContext, denied_pipeline

if TYPE_CHECKING:
    from retrieval.quiz import Quiz

log = logging.getLogger(__name__)

UNAVAILABLE = ("The program documents are temporarily unavailable (the document index cannot be read right now), "
               "so I can't search them. Questions about partners, coverage and incentives still work; please ask "
               "again later.")
MAX_QUESTION_CHARS = 2000


_SORT_BY_DATE = re.compile(r"\b(close date|closing|soonest|by date)\b", re.IGNORECASE)
_STAGE = re.compile(r"\bstage\s*(\d)\b", re.IGNORECASE)
_NOTES_WORDS = ("notes", "note", "concerns", "concern", "review", "internal", "escalation", "escalations", "risk")


class KnowledgeEngine(PipelineActions):
    def __init__(self, catalog: Catalog, search: DocumentSearch | None, decisions: DecisionStore | None = None) -> None:
        self.catalog = catalog
        self.search = search
        self.decisions = decisions
        # share decisions live beside the attach decisions, in the same database
        self.shares = ShareStore(decisions.database) if decisions is not None else None
        self.generation: str | None = None   # the index generation it was loaded from
        self.embedder = "minilm"              # the embedder the intent classifier shares (retrieval.loading.load_engine sets it)
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
        """Three multiple-choice questions on a program or solution play, from the records (see retrieval/quiz/)."""
        from retrieval.quiz import make_quiz  # noqa: PLC0415

        return make_quiz(self.catalog, subject, seed=seed)

    def _gaps(self, linked: Linked, user: UserContext, understood: Understood, limit: int | None = 40) -> Answer:
        if not user.sees_pipeline:
            return denied_pipeline(user, understood)
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
                   f"opportunities worth {format_usd(top.pipeline_value_usd)} and {top.partners_on_map} partners on the map.")
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
                answer = answer.with_note("I can share the partner's profile; internal notes are not part of what "
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
            return unknown_subject(self.catalog, linked, understood)
        if route == "leftover":
            # ordinary words: the documents may answer it; if not, say what we did not recognise
            answer = self._documents(question, linked, user, understood)
            return answer if answer.kind is AnswerKind.DOCUMENT else unknown_subject(self.catalog, linked, understood)
        if route == "ask_workload":
            return ask_for_workload(self.catalog, linked, understood)
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
            return denied_pipeline(user, understood)
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
            return denied_pipeline(user, understood)
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
            answer = answer.with_note(note)
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
        return answer.with_note(note) if note else answer

    def _workloads_of(self, plays: list[str], areas: list[str]) -> list[str]:
        out: list[str] = []
        for play in plays:
            out += self.catalog.workloads_of_play(play)
        for area in areas:
            out += self.catalog.workloads_of_area(area)
        return out

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
                return unknown_subject(self.catalog, linked, understood, term, documents_searched=True)
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


__all__ = ["PIPELINE_GROUP", "AnswerEngine", "KnowledgeEngine", "UserContext", "denied_pipeline"]
