"""Attach decisions: who proposed, attached or dismissed which partner for which opportunity, when and why.

SQLite (stdlib), durable across restarts. The pipeline export stays the system of record for what is
attached in the CRM; these decisions are the channel manager's work on top of it, shown in sweeps and
used by the ranking (a dismissed partner is not suggested again for that opportunity).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

from retrieval.answers import Decision
from retrieval.sqlite_store import SqliteStore

ACTIONS = ("propose", "attach", "dismiss")

_SCHEMA = """
create table if not exists decisions (
    id integer primary key autoincrement,
    opportunity_id text not null,
    partner_id text not null,
    partner_name text not null,
    action text not null check (action in ('propose', 'attach', 'dismiss')),
    reason text not null default '',
    decided_by text not null,
    decided_by_id text not null default '',
    decided_at text not null
);
create index if not exists decisions_by_opportunity on decisions (opportunity_id);
"""


class DecisionStore(SqliteStore):
    def __init__(self, path: Path | str) -> None:
        super().__init__(path, _SCHEMA)

    def record(self, *, opportunity_id: str, partner_id: str, partner_name: str, action: str, reason: str,
               decided_by: str, decided_by_id: str = "") -> Decision:
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
        if action == "dismiss" and not reason.strip():
            raise ValueError("a dismissal needs a reason")
        decided_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self._lock, self._db:
            self._db.execute(
                "insert into decisions (opportunity_id, partner_id, partner_name, action, reason, decided_by, "
                "decided_by_id, decided_at) values (?, ?, ?, ?, ?, ?, ?, ?)",
                (opportunity_id, partner_id, partner_name, action, reason.strip()[:500], decided_by, decided_by_id,
                 decided_at))
        return Decision(opportunity_id, partner_id, partner_name, action, reason.strip()[:500], decided_by, decided_at)

    def for_opportunity(self, opportunity_id: str) -> list[Decision]:
        return self.by_opportunity().get(opportunity_id, [])

    def by_opportunity(self) -> dict[str, list[Decision]]:
        out: dict[str, list[Decision]] = defaultdict(list)
        for decision in self.all():
            out[decision.opportunity_id].append(decision)
        return dict(out)

    def all(self) -> list[Decision]:
        with self._lock:
            rows = self._db.execute(
                "select opportunity_id, partner_id, partner_name, action, reason, decided_by, decided_at "
                "from decisions order by id").fetchall()
        return [Decision(*row) for row in rows]

    def dismissed(self, opportunity_id: str) -> frozenset[str]:
        return frozenset(d.partner_id for d in self.for_opportunity(opportunity_id) if d.action == "dismiss")

    def attached(self) -> dict[str, Decision]:
        """The latest 'attach' decision per opportunity."""
        out: dict[str, Decision] = {}
        for decision in self.all():
            if decision.action == "attach":
                out[decision.opportunity_id] = decision
        return out

