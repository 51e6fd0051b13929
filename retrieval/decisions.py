"""Attach decisions: who proposed, attached or dismissed which partner for which opportunity, when and why.

In the bot's database (storage/: the SQLite file, or PostgreSQL shared by every instance), read afresh
for every answer, so a decision taken on one instance is seen by the next answer on any other. The
pipeline export stays the system of record for what is attached in the CRM; these decisions are the channel manager's work on top of it, shown in sweeps and
used by the ranking (a dismissed partner is not suggested again for that opportunity).
"""
from __future__ import annotations

from collections import defaultdict

from knowledge.dates import utc_timestamp
from retrieval.answers import Decision
from storage import Database, DatabaseTarget
from storage.decisions import DecisionTable

ACTIONS = ("propose", "attach", "dismiss")


class DecisionStore:
    def __init__(self, path: DatabaseTarget) -> None:
        self._table = DecisionTable(path)
        self.path = self._table.path

    @property
    def database(self) -> Database:
        """The database these decisions live in (the share decisions open it too)."""
        return self._table.db

    def close(self) -> None:
        self._table.close()

    def record(self, *, opportunity_id: str, partner_id: str, partner_name: str, action: str, reason: str,
               decided_by: str, decided_by_id: str = "") -> Decision:
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
        if action == "dismiss" and not reason.strip():
            raise ValueError("a dismissal needs a reason")
        decided_at = utc_timestamp()
        self._table.insert(opportunity_id=opportunity_id, partner_id=partner_id, partner_name=partner_name,
                           action=action, reason=reason.strip()[:500], decided_by=decided_by,
                           decided_by_id=decided_by_id, decided_at=decided_at)
        return Decision(opportunity_id, partner_id, partner_name, action, reason.strip()[:500], decided_by, decided_at)

    def for_opportunity(self, opportunity_id: str) -> list[Decision]:
        return self.by_opportunity().get(opportunity_id, [])

    def by_opportunity(self) -> dict[str, list[Decision]]:
        out: dict[str, list[Decision]] = defaultdict(list)
        for decision in self.all():
            out[decision.opportunity_id].append(decision)
        return dict(out)

    def all(self) -> list[Decision]:
        return [Decision(*row) for row in self._table.all()]

    def dismissed(self, opportunity_id: str) -> frozenset[str]:
        return frozenset(d.partner_id for d in self.for_opportunity(opportunity_id) if d.action == "dismiss")

    def attached(self) -> dict[str, Decision]:
        """The latest 'attach' decision per opportunity."""
        out: dict[str, Decision] = {}
        for decision in self.all():
            if decision.action == "attach":
                out[decision.opportunity_id] = decision
        return out

