"""Share decisions, append-only: one row per opportunity an ECM confirmed sharing with a partner."""
from __future__ import annotations

from typing import Any

from storage.table import Table


class ShareTable(Table):
    def insert(self, *, opportunity_id: str, partner_id: str, partner_name: str, decided_by: str, decided_by_id: str,
               decided_at: str, import_row: str) -> None:
        self.db.write(lambda tx: tx.execute(
            "insert into share_decisions (opportunity_id, partner_id, partner_name, decided_by, decided_by_id, "
            "decided_at, import_row) values (?, ?, ?, ?, ?, ?, ?)",
            (opportunity_id, partner_id, partner_name, decided_by, decided_by_id, decided_at, import_row)))

    def all(self) -> list[tuple[Any, ...]]:
        """(opportunity_id, partner_id, partner_name, decided_by, decided_at, import_row), oldest first."""
        return self.db.read(lambda tx: tx.rows(
            "select opportunity_id, partner_id, partner_name, decided_by, decided_at, import_row "
            "from share_decisions order by id"))

    def for_opportunity(self, opportunity_id: str) -> list[tuple[Any, ...]]:
        return self.db.read(lambda tx: tx.rows(
            "select opportunity_id, partner_id, partner_name, decided_by, decided_at, import_row "
            "from share_decisions where opportunity_id = ? order by id", (opportunity_id,)))
