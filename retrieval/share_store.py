"""Share decisions: which channel manager confirmed sharing which opportunity with which partner, when,
and the row they took to Partner Center. SQLite (stdlib), in the same file as the attach decisions,
durable across restarts. The bot never calls Partner Center: the referrals export stays the record of
what was shared there; these are the channel manager's decisions on top of it.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from retrieval.sqlite_store import SqliteStore

_SCHEMA = """
create table if not exists share_decisions (
    id integer primary key autoincrement,
    opportunity_id text not null,
    partner_id text not null,
    partner_name text not null,
    decided_by text not null,
    decided_by_id text not null default '',
    decided_at text not null,
    import_row text not null default '{}'
);
create index if not exists share_decisions_by_opportunity on share_decisions (opportunity_id);
"""


@dataclass(frozen=True)
class ShareDecision:
    opportunity_id: str
    partner_id: str
    partner_name: str
    decided_by: str
    decided_at: str                      # ISO 8601, UTC
    import_row: dict[str, str]           # the Partner Center import row, by export column

    def describe(self) -> str:
        return f"Shared with {self.partner_name} ({self.decided_by}, {self.decided_at[:10]})"


class ShareStore(SqliteStore):
    def __init__(self, path: Path | str) -> None:
        super().__init__(path, _SCHEMA)

    def record(self, *, opportunity_id: str, partner_id: str, partner_name: str, decided_by: str,
               decided_by_id: str, import_row: dict[str, str]) -> ShareDecision:
        decided_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self._lock, self._db:
            self._db.execute(
                "insert into share_decisions (opportunity_id, partner_id, partner_name, decided_by, decided_by_id, "
                "decided_at, import_row) values (?, ?, ?, ?, ?, ?, ?)",
                (opportunity_id, partner_id, partner_name, decided_by, decided_by_id, decided_at,
                 json.dumps(import_row)))
        return ShareDecision(opportunity_id, partner_id, partner_name, decided_by, decided_at, import_row)

    def all(self) -> list[ShareDecision]:
        with self._lock:
            rows = self._db.execute(
                "select opportunity_id, partner_id, partner_name, decided_by, decided_at, import_row "
                "from share_decisions order by id").fetchall()
        return [ShareDecision(row[0], row[1], row[2], row[3], row[4], json.loads(row[5] or "{}")) for row in rows]

    def for_opportunity(self, opportunity_id: str) -> list[ShareDecision]:
        return [d for d in self.all() if d.opportunity_id == opportunity_id]
