"""The pipeline as a table of columns: half a million opportunities without half a million record objects.

A worldwide pipeline export has hundreds of thousands of rows, and an answer reads a handful of them (the
opportunity asked about, the unattached ones of a workload). Held as one list per field, a row costs a
pointer per cell, the cycle collector has nothing to walk, and the record snapshot stores and loads the
table as fifteen lists. An `Opportunity` record is built when a row is asked for; what the whole pipeline
adds up to (names, counts, countries) is read from the columns.

`OpportunityTable` is the pipeline in file order (a sequence of records, duplicates and all, as the
loader read it); `OpportunitiesById` is the catalog's lookup by id, where the last row with an id wins,
as in a dict built in file order.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, overload

from knowledge.records import Opportunity, SourceRef

FIELDS = ("id", "source_path", "source_locator", "account", "industry", "country", "segment", "solution_play",
          "workload", "estimated_value_usd", "stage", "close_date", "partner_id", "partner_name", "owner")
_FIELD = {name: n for n, name in enumerate(FIELDS)}


class OpportunityTable(Sequence[Opportunity]):
    """The rows of the pipeline, column by column; indexing or iterating builds `Opportunity` records."""

    __slots__ = ("_columns",)

    def __init__(self, columns: Mapping[str, list[Any]]) -> None:
        missing = [name for name in FIELDS if name not in columns]
        if missing:
            raise ValueError(f"opportunity table without the columns {', '.join(missing)}")
        self._columns = tuple(columns[name] for name in FIELDS)
        if len({len(column) for column in self._columns}) > 1:
            raise ValueError("opportunity table columns of different lengths")

    @classmethod
    def from_records(cls, records: Iterable[Opportunity]) -> OpportunityTable:
        if isinstance(records, OpportunityTable):
            return records
        rows = [(o.id, o.source.path, o.source.locator, o.account, o.industry, o.country, o.segment,
                 o.solution_play, o.workload, o.estimated_value_usd, o.stage, o.close_date, o.partner_id,
                 o.partner_name, o.owner) for o in records]
        columns = [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in FIELDS]
        return cls(dict(zip(FIELDS, columns, strict=True)))

    def columns(self) -> dict[str, list[Any]]:
        """Every column by field name (the record snapshot's form)."""
        return dict(zip(FIELDS, self._columns, strict=True))

    def column(self, name: str) -> list[Any]:
        """One field of every row, in file order (the table's own list: do not change it)."""
        return self._columns[_FIELD[name]]

    def record(self, position: int) -> Opportunity:
        c = self._columns
        return Opportunity(c[0][position], SourceRef(c[1][position], c[2][position]), c[3][position], c[4][position],
                           c[5][position], c[6][position], c[7][position], c[8][position], c[9][position],
                           c[10][position], c[11][position], c[12][position], c[13][position], c[14][position])

    def __len__(self) -> int:
        return len(self._columns[0])

    @overload
    def __getitem__(self, index: int) -> Opportunity: ...

    @overload
    def __getitem__(self, index: slice) -> list[Opportunity]: ...

    def __getitem__(self, index: int | slice) -> Opportunity | list[Opportunity]:
        if isinstance(index, slice):
            return [self.record(n) for n in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("opportunity table index out of range")
        return self.record(index)

    def __iter__(self) -> Iterator[Opportunity]:
        return map(self.record, range(len(self)))

    def __eq__(self, other: object) -> bool:
        """The same records in the same order as another sequence (a list of records, say)."""
        if isinstance(other, OpportunityTable):
            return self._columns == other._columns
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # a table is a value that compares by content

    def __repr__(self) -> str:
        return f"OpportunityTable({len(self)} rows)"


class OpportunitiesById(Mapping[str, Opportunity]):
    """Opportunity id -> record over a table. Ids in order of first appearance, each with its last row."""

    __slots__ = ("table", "_at", "_every_row")

    def __init__(self, table: OpportunityTable) -> None:
        self.table = table
        self._at: dict[str, int] = dict(zip(table.column("id"), range(len(table)), strict=True))
        self._every_row = len(self._at) == len(table)     # no repeated id: opportunity n is row n

    def __getitem__(self, opportunity_id: str) -> Opportunity:
        return self.table.record(self._at[opportunity_id])

    def __contains__(self, opportunity_id: object) -> bool:
        return opportunity_id in self._at

    def __iter__(self) -> Iterator[str]:
        return iter(self._at)

    def __len__(self) -> int:
        return len(self._at)

    def positions(self) -> Iterable[int]:
        """The table row of each opportunity, in id order."""
        return self._at.values()

    def column(self, name: str) -> list[Any]:
        """One field of each opportunity (not of every row: a repeated id counts once), in id order.
        Without repeated ids, the table's own column (do not change it)."""
        values = self.table.column(name)
        return values if self._every_row else [values[n] for n in self._at.values()]

    def fields(self, *names: str) -> Iterator[tuple[Any, ...]]:
        """The named fields of each opportunity as a tuple, in id order: a whole-pipeline scan that builds no records."""
        return zip(*(self.column(name) for name in names), strict=True)
