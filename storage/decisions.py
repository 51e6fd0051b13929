"""Attach decisions, append-only: one row per propose / attach / dismiss."""
from __future__ import annotations

from typing import Any

from storage.table import Table

DecisionRow = tuple[str, str, str, str, str, str, str]  # opportunity, partner id, name, action, reason, by, at


class DecisionTable(Table):
    def insert(self, *, opportunity_id: str, partner_id: str, partner_name: str, action: str, reason: str,
               decided_by: str, decided_by_id: str, decided_at: str) -> None:
        self.db.write(lambda tx: tx.execute(
            "insert into decisions (opportunity_id, partner_id, partner_name, action, reason, decided_by, "
            "decided_by_id, decided_at) values (?, ?, ?, ?, ?, ?, ?, ?)",
            (opportunity_id, partner_id, partner_name, action, reason, decided_by, decided_by_id, decided_at)))

    def all(self) -> list[tuple[Any, ...]]:
        """Every decision, oldest first, as DecisionRow tuples."""
        return self.db.read(lambda tx: tx.rows(
            "select opportunity_id, partner_id, partner_name, action, reason, decided_by, decided_at "
            "from decisions order by id"))
