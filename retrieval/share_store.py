"""Share decisions: which channel manager confirmed sharing which opportunity with which partner, when,
and the row they took to Partner Center. In the bot's database beside the attach decisions (storage/:
the SQLite file, or PostgreSQL shared by every instance), durable across restarts. The bot never calls Partner Center: the referrals export stays the record of
what was shared there; these are the channel manager's decisions on top of it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from knowledge.dates import date_text, utc_timestamp
from storage import DatabaseTarget
from storage.shares import ShareTable


@dataclass(frozen=True)
class ShareDecision:
    opportunity_id: str
    partner_id: str
    partner_name: str
    decided_by: str
    decided_at: str                      # ISO 8601, UTC
    import_row: dict[str, str]           # the Partner Center import row, by export column

    def describe(self) -> str:
        return f"Shared with {self.partner_name} ({self.decided_by}, {date_text(self.decided_at)})"


class ShareStore:
    def __init__(self, target: DatabaseTarget) -> None:
        self._table = ShareTable(target)

    def close(self) -> None:
        self._table.close()

    def record(self, *, opportunity_id: str, partner_id: str, partner_name: str, decided_by: str,
               decided_by_id: str, import_row: dict[str, str]) -> ShareDecision:
        decided_at = utc_timestamp()
        self._table.insert(opportunity_id=opportunity_id, partner_id=partner_id, partner_name=partner_name,
                           decided_by=decided_by, decided_by_id=decided_by_id, decided_at=decided_at,
                           import_row=json.dumps(import_row))
        return ShareDecision(opportunity_id, partner_id, partner_name, decided_by, decided_at, import_row)

    def all(self) -> list[ShareDecision]:
        return [_decision(row) for row in self._table.all()]

    def for_opportunity(self, opportunity_id: str) -> list[ShareDecision]:
        return [_decision(row) for row in self._table.for_opportunity(opportunity_id)]


def _decision(row: tuple[object, ...]) -> ShareDecision:
    return ShareDecision(str(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]), json.loads(str(row[5] or "{}")))
