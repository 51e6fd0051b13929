"""Partner records that disagree, settled once the whole folder is read, each case in the index summary.

- Two profiles with the same partner id (in one file or in two): the profile with the most recent
  `updated` date is kept; a dated profile beats an undated one; on a tie the first by path (the order
  files are read in, then the order inside the file) is kept. The summary line names both places and
  the one kept.
- Solution-map rows that name a partner no profile has (by id, or by name when the row has no id) are
  dropped, so a seller is never recommended a partner that does not exist in the catalog. A folder
  with no partner profiles at all has nothing to check against: its map rows are kept as they are.
"""
from __future__ import annotations

import re
from collections import defaultdict
from datetime import date

from knowledge.dates import parse_date
from knowledge.records import FileIssue, Knowledge, MapRow, Partner

_TOKEN = re.compile(r"[\w&+#]+")
_EXAMPLES = 3


def settle_partners(kb: Knowledge) -> None:
    kb.partners = _without_duplicate_ids(kb)
    if kb.partners:
        kb.map_rows = _without_unknown_partners(kb)


def _without_duplicate_ids(kb: Knowledge) -> list[Partner]:
    by_id: dict[str, list[Partner]] = defaultdict(list)
    for partner in kb.partners:
        by_id[partner.id].append(partner)
    kept: set[int] = set()
    for pid, profiles in by_id.items():
        winner = max(profiles, key=lambda p: (_updated(p) or date.min, -profiles.index(p)))
        kept.add(id(winner))
        for loser in profiles:
            if loser is not winner:
                kb.issues.append(FileIssue(loser.source.path, f"duplicate partner id {pid}: {_where(loser)} and "
                                           f"{_where(winner)}; kept {_where(winner)} ({_why(winner, loser)})",
                                           skipped=False))
    return [p for p in kb.partners if id(p) in kept]


def _updated(partner: Partner) -> date | None:
    return parse_date(partner.updated)


def _where(partner: Partner) -> str:
    return str(partner.source)


def _why(winner: Partner, loser: Partner) -> str:
    won, lost = _updated(winner), _updated(loser)
    if won and (lost is None or won > lost):
        return f"updated {won.isoformat()}, newer than " + (lost.isoformat() if lost else "undated")
    return "first by path; neither is more recently updated"


def _name_key(name: str) -> str:
    return " ".join(t.lower() for t in _TOKEN.findall(name))


def _without_unknown_partners(kb: Knowledge) -> list[MapRow]:
    ids = {p.id for p in kb.partners}
    names = {_name_key(p.name) for p in kb.partners}
    kept: list[MapRow] = []
    unknown: dict[str, list[MapRow]] = defaultdict(list)
    for row in kb.map_rows:
        if (row.partner_id in ids) if row.partner_id else (_name_key(row.partner_name) in names):
            kept.append(row)
        else:
            unknown[row.source.path].append(row)
    for path, rows in unknown.items():
        named = ", ".join(f"{_label(r)} ({r.source.locator})" if r.source.locator else _label(r)
                          for r in rows[:_EXAMPLES])
        kb.issues.append(FileIssue(path, f"{len(rows)} rows name a partner no profile in partners/ has, ignored: "
                                         f"{named}{', ...' if len(rows) > _EXAMPLES else ''}", skipped=False))
    return kept


def _label(row: MapRow) -> str:
    if row.partner_id:
        return row.partner_id + (f" '{row.partner_name}'" if row.partner_name else "")
    return f"'{row.partner_name}'"
