"""Test doubles for the server and dialog layers: a FakeEngine, hand-built Answers, Teams payloads.

The FakeEngine implements the AnswerEngine protocol with canned answers; the real engine has its own
tests under tests/retrieval. Payloads start from the recorded Teams activities in
../shared/fixtures/teams-activities so the tests speak what Teams really sends.
"""
from __future__ import annotations

import copy
import json
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from retrieval.answers import (
    Answer,
    AnswerKind,
    Citation,
    Decision,
    Fact,
    GapCell,
    IncentiveMatch,
    OpportunityLine,
    PartnerMatch,
    Passage,
    Reason,
    ReferralLine,
    ShareRequest,
    Understood,
    WinLine,
)
from retrieval.engine import UserContext

SHARED = Path(__file__).resolve().parents[3] / "shared"
TEAMS_FIXTURES = SHARED / "fixtures" / "teams-activities"
ADAPTIVE_CARD_SCHEMA = SHARED / "fixtures" / "schemas" / "adaptive-cards" / "1.5.0" / "adaptive-card.json"

ECM_ID = "00000000-0000-0000-0000-00000000e001"
MAP = Citation("FY27 solution map", "solution_maps/fy27_map.csv", "row 12")


# Local mode accepts only loopback service URLs, so the recorded Teams ones (smba.trafficmanager.net) are
# replaced by this one: the discard port, where a stray connector call is refused at once.
LOCAL_SERVICE_URL = "http://127.0.0.1:9/"


def teams_activity(name: str, **overrides: Any) -> dict[str, Any]:
    """A recorded Teams payload (a fresh copy) with top-level fields replaced (serviceUrl: LOCAL_SERVICE_URL)."""
    data: dict[str, Any] = json.loads((TEAMS_FIXTURES / name).read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    if "serviceUrl" in data:
        data["serviceUrl"] = LOCAL_SERVICE_URL
    data.update(overrides)
    return data


def personal_message(text: str, *, expect_replies: bool = True, aad_object_id: str | None = None,
                     **overrides: Any) -> dict[str, Any]:
    data = teams_activity("personal_message.json", text=text, id=str(uuid.uuid4()), **overrides)
    if expect_replies:
        data["deliveryMode"] = "expectReplies"
    if aad_object_id is not None:
        data["from"] = {**data["from"], "aadObjectId": aad_object_id}
    return data


# --------------------------------------------------------------------------- answers
def partner(name: str, rank: int, *, on_map: bool = True, reasons: int = 2) -> PartnerMatch:
    pid = f"P-{rank:04d}"
    profile = Citation(f"{name} profile", f"partners/{pid}.yaml")
    return PartnerMatch(
        partner_id=pid, name=name, score=round(10.0 - rank * 0.1, 2), on_map=on_map,
        reasons=tuple(Reason("on_map" if i == 0 else "specialization",
                             "Lead on the FY27 map for AKS in DE" if i == 0 else f"Holds specialization number {i}",
                             3.0 - i, MAP if i == 0 else profile) for i in range(reasons)),
        gaps=("no delivery in AT",) if rank % 2 else (), role="Lead" if rank == 1 else "Support",
        countries=("DE", "AT"), contact="Ana Ito <pdm@example.com>",
        wins=("Contoso Retail: AKS platform (2026)",), profile=profile)


def coverage_answer(names: list[str] | None = None, others: list[str] | None = None, **changes: Any) -> Answer:
    names = names if names is not None else ["Alpha Cloud", "Beta Systems", "Gamma Digital"]
    others = others if others is not None else ["Delta Profile Only"]
    values: dict[str, Any] = dict(
        kind=AnswerKind.COVERAGE, title="AKS partners in Germany",
        summary="3 partners are on the FY27 solution map for Azure Kubernetes Service in Germany.",
        understood=Understood(workloads=("Azure Kubernetes Service",), countries=("DE",), country_label="Germany",
                              industries=("Retail",)),
        partners=tuple(partner(n, i) for i, n in enumerate(names, 1)),
        other_partners=tuple(partner(n, 100 + i, on_map=False, reasons=1) for i, n in enumerate(others, 1)),
        notes=("Capacity figures are self-reported by partners.",),
        suggestions=("Which incentive can fund AKS for an Enterprise deal of $150k?", "help"),
        citations=(MAP,))
    values.update(changes)
    return Answer(**values)


def incentive_answer() -> Answer:
    doc = Citation("Azure Accelerate", "programs/azure-accelerate.md", "section 'Funding'")
    return Answer(
        AnswerKind.INCENTIVE, "Incentives for SQL migration", "1 incentive fits an Enterprise deal of $150,000 in DE.",
        Understood(workloads=("Azure SQL Managed Instance",), segments=("Enterprise",), deal_usd=150_000.0),
        incentives=(IncentiveMatch("INC-7", "Azure Migrate and Modernize", "Azure Accelerate",
                                   "Partner-delivered assessment and migration", 50_000.0,
                                   reasons=("Enterprise", "deal ≥ $25,000"),
                                   partner_requirements="Solutions Partner for Data & AI (Azure)",
                                   partners=(partner("Alpha Cloud", 1), partner("Beta Systems", 2)),
                                   citation=doc),),
        citations=(doc,))


def pipeline_answer(count: int = 3) -> Answer:
    export = Citation("Pipeline export", "opportunities/pipeline_export.csv")
    lines = tuple(OpportunityLine(f"OPP-{1000 + i}", f"Account {i}", "Azure Kubernetes Service", "DE", "Enterprise",
                                  "Retail", 1_200_000.0 + i, "2-Inspire & Design", "2027-02-01",
                                  owner="seller1@example.com",
                                  top_suggestion=partner("Alpha Cloud", 1),
                                  citation=Citation("Pipeline export", "opportunities/pipeline_export.csv", f"row {i + 2}"))
                  for i in range(count))
    return Answer(AnswerKind.PIPELINE, "Unattached opportunities", f"{count} opportunities have no partner attached.",
                  opportunities=lines, total=count + 7, citations=(export,))


def document_answer(first_text: str | None = None) -> Answer:
    first_text = first_text if first_text is not None else (
        "To earn the Kubernetes on Microsoft Azure specialization, a partner must hold the Solutions Partner "
        "designation for Digital & App Innovation (Azure) and pass a third-party audit.\n\n"
        "* Two customer references\n* **Twelve** certified individuals\n") * 8
    spec = Citation("Kubernetes specialization", "programs/partner-center/kubernetes.md", "section 'Requirements'")
    faq = Citation("Specializations FAQ", "programs/partner-center/faq.yml")
    return Answer(AnswerKind.DOCUMENT, "Requirements", "From Kubernetes specialization — Requirements:",
                  passages=(Passage(first_text, spec, 0.92, "Requirements"),
                            Passage("The audit is valid for one year. " * 80, faq, 0.71)),
                  citations=(spec, faq))


def opportunity_answer() -> Answer:
    line = OpportunityLine("OPP-1042", "Fabrikam Retail", "Azure Kubernetes Service", "DE", "Enterprise", "Retail",
                           250_000.0, "3-Empower & Achieve", "2027-03-15", owner="seller1@example.com",
                           partner_name="Alpha Cloud")
    return Answer(AnswerKind.OPPORTUNITY, "OPP-1042", "Fabrikam Retail, AKS in Germany, $250,000.",
                  opportunities=(line,),
                  facts=(Fact("Stage", "3-Empower & Achieve"), Fact("Internal note", "Escalated to the ATU.",
                                                                    confidential=True)))


def decision(action: str = "propose", partner_name: str = "Alpha Cloud", reason: str = "Lead on the map in DE",
             at: str = "2026-11-21T09:30:00Z", opportunity_id: str = "OPP-1042") -> Decision:
    return Decision(opportunity_id, "P-0001", partner_name, action, reason, "ECM", at)


def decision_answer() -> Answer:
    history = (decision("propose"), decision("dismiss", "Beta Systems", "no capacity before the close date",
                                               "2026-11-21T10:05:00Z"))
    return Answer(AnswerKind.DECISION, "OPP-1042: decision recorded",
                  "Dismissed Beta Systems (ECM, 2026-11-21): no capacity before the close date for OPP-1042 "
                  "(Fabrikam Retail).", Understood(opportunities=("OPP-1042",)), decisions=history,
                  suggestions=("Suggest partners for OPP-1042",),
                  citations=(Citation("Pipeline export", "opportunities/pipeline_export.csv", "row 7"),))


def gap_cells(count: int = 12) -> tuple[GapCell, ...]:
    workloads = ["Azure Kubernetes Service", "Microsoft Sentinel", "Copilot Studio", "Azure Virtual Desktop",
                 "Dynamics 365 Supply Chain Management", "Microsoft Intune", "Azure OpenAI Service"]
    countries = ["DE", "FR", "NL", "AT", "CH", "ES", "IT", "PL", "SE", "DK", "GB", "JP", "BR", "CA", "US"]
    cells = [GapCell(workloads[i % len(workloads)], countries[(i * 5) % len(countries)], i % 3, (i % 4) * 2,
                     2 + i % 5, 1 + i % 4, 2_500_000.0 - i * 37_000, (2_500_000.0 - i * 37_000) / 1000 / (1 + i % 3))
             for i in range(count)]
    return tuple(sorted(cells, key=lambda c: -c.gap_score))


def gaps_answer(count: int = 12, **changes: Any) -> Answer:
    values: dict[str, Any] = dict(
        kind=AnswerKind.GAPS, title="Coverage gaps: the whole map and pipeline",
        summary=f"{count} workload × country cells have unattached pipeline.", gaps=gap_cells(count),
        export_query="coverage gaps", notes=("Gap score = unattached pipeline value in $k ÷ (1 + partners on the map).",))
    values.update(changes)
    return Answer(**values)


def every_kind() -> dict[str, Answer]:
    """One hand-built Answer per AnswerKind."""
    coverage = coverage_answer()
    return {
        AnswerKind.COVERAGE.value: coverage,
        AnswerKind.SPECIALIZATION.value: coverage_answer(kind=AnswerKind.SPECIALIZATION,
                                                         title="Kubernetes on Microsoft Azure holders", others=[]),
        AnswerKind.INCENTIVE.value: incentive_answer(),
        AnswerKind.DOCUMENT.value: document_answer(),
        AnswerKind.PIPELINE.value: pipeline_answer(),
        AnswerKind.ATTACH.value: coverage_answer(kind=AnswerKind.ATTACH, title="Suggestions for OPP-1042",
                                                 opportunities=opportunity_answer().opportunities),
        AnswerKind.OPPORTUNITY.value: opportunity_answer(),
        AnswerKind.PROFILE.value: Answer(AnswerKind.PROFILE, "Alpha Cloud", "Services partner in DE and AT.",
                                         partners=(partner("Alpha Cloud", 1),),
                                         facts=(Fact("Co-sell ready", "yes", source=MAP),)),
        AnswerKind.NO_MATCH.value: Answer(AnswerKind.NO_MATCH, "Nothing matches “quantum”",
                                          "I don't know “quantum”.", notes=("Did you mean: Azure Quantum?",),
                                          suggestions=("Which partners cover Azure Quantum?",)),
        AnswerKind.GAPS.value: gaps_answer(),
        AnswerKind.DECISION.value: decision_answer(),
        AnswerKind.DENIED.value: Answer(AnswerKind.DENIED, "Not available to you",
                                        "Opportunity details are confidential."),
        AnswerKind.CLARIFY.value: Answer(AnswerKind.CLARIFY, "Partners in Germany", "Which workload?",
                                         missing=("workload",), suggestions=("Which partners cover AKS in Germany?",)),
        AnswerKind.FIT.value: Answer(AnswerKind.FIT, "Alpha Cloud: not a fit for AKS · France",
                                     "No — Alpha Cloud is not on the solution map for AKS in France; it covers AKS in "
                                     "Germany, Austria.", partners=(),
                                     facts=(Fact("Does not fit", "is not on the solution map for AKS in France", source=MAP),
                                            Fact("Co-sell ready", "yes", source=MAP)),
                                     suggestions=("Which partners cover AKS in France?",)),
        AnswerKind.COMPARISON.value: Answer(AnswerKind.COMPARISON, "Alpha Cloud and Beta Systems for AKS",
                                            "Alpha Cloud and Beta Systems for AKS: both are on the map in Germany.",
                                            partners=(partner("Alpha Cloud", 1), partner("Beta Systems", 2)),
                                            facts=tuple(Fact(f"{name} — {aspect}", value, source=MAP)
                                                        for name in ("Alpha Cloud", "Beta Systems")
                                                        for aspect, value in (("on the map", "AKS (Lead, DE)"),
                                                                              ("co-sell ready", "yes")))),
        **referral_kinds(),
    }


def referral_kinds() -> dict[str, Answer]:
    """One hand-built Answer for each co-sell referral kind."""
    line = ReferralLine("REF-123456", "Partner-led", "Alpha Cloud", "Contoso Retail", "DE", "Azure Kubernetes Service",
                        "Pending", "EUR 90,000", "2026-11-20", waiting="waiting 11 days for a Microsoft response",
                        citation=Citation("Co-sell referral REF-123456", "referrals/export.csv", "row 2"))
    win = WinLine("Contoso Retail", "Alpha Cloud", "Azure Kubernetes Service", "Retail", "DE", 2026, "profile", MAP)
    return {
        AnswerKind.REFERRALS.value: Answer(AnswerKind.REFERRALS, "Partner-led referrals waiting for Microsoft",
                                           "1 partner-led referral has waited more than 5 days.", referrals=(line,)),
        AnswerKind.WINS.value: Answer(AnswerKind.WINS, "Customer wins: AKS", "1 customer win.", wins=(win,)),
        AnswerKind.TEAM_UP.value: coverage_answer(kind=AnswerKind.TEAM_UP, title="Team up with Beta Systems: AKS"),
        AnswerKind.SHARE.value: Answer(AnswerKind.SHARE, "Share OPP-1042 with Alpha Cloud?", "Passes the pre-flight.",
                                       facts=(Fact("✓ Co-sell ready", "yes", source=MAP),),
                                       share=ShareRequest("OPP-1042", "P-1")),
        AnswerKind.SHARED.value: Answer(AnswerKind.SHARED, "OPP-1042: share recorded", "Shared with Alpha Cloud.",
                                        facts=(Fact("CRM ID", "OPP-1042", True),)),
    }


# --------------------------------------------------------------------------- the engine double
class FakeEngine:
    """Implements AnswerEngine: returns a canned Answer and records what it was asked, and by whom."""

    def __init__(self, answer: Answer | Callable[[str, UserContext], Answer] | None = None, *,
                 ready: bool = True, error: Exception | None = None, groups: dict[str, frozenset[str]] | None = None):
        self._answer = answer if answer is not None else coverage_answer()
        self._ready = ready
        self.error = error
        self.groups = groups or {ECM_ID: frozenset({"ecm"})}
        self.questions: list[str] = []
        self.users: list[UserContext] = []
        self.threads: list[str] = []
        self.previous: list[Understood | None] = []
        self._lock = threading.Lock()

    @property
    def ready(self) -> bool:
        return self._ready

    def user_context(self, aad_object_id: str | None, *, name: str = "", conversation_type: str = "personal",
                     shared_groups: frozenset[str] = frozenset()) -> UserContext:
        return UserContext(aad_object_id=aad_object_id, groups=self.groups.get(aad_object_id or "", frozenset()),
                           name=name, conversation_type=conversation_type, shared_groups=shared_groups)

    def answer(self, question: str, user: UserContext, previous: Understood | None = None) -> Answer:
        with self._lock:
            self.previous.append(previous)
            self.questions.append(question)
            self.users.append(user)
            self.threads.append(threading.current_thread().name)
        if self.error is not None:
            raise self.error
        return self._answer(question, user) if callable(self._answer) else self._answer
