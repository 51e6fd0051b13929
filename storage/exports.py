"""Export files behind download links, as rows: every instance serves a link any instance made."""
from __future__ import annotations

from storage.table import Table


class ExportTable(Table):
    def insert(self, name: str, data: bytes, created_at: float) -> None:
        self.db.write(lambda tx: tx.execute("insert into exports (name, data, created_at) values (?, ?, ?)",
                                            (name, data, created_at)))

    def get(self, name: str) -> tuple[bytes, float] | None:
        row = self.db.read(lambda tx: tx.one("select data, created_at from exports where name = ?", (name,)))
        return (bytes(row[0]), float(row[1])) if row else None

    def delete(self, name: str) -> None:
        self.db.write(lambda tx: tx.execute("delete from exports where name = ?", (name,)))

    def names(self) -> list[str]:
        return [str(row[0]) for row in self.db.read(lambda tx: tx.rows("select name from exports order by created_at"))]

    def purge(self, created_before: float) -> int:
        return self.db.write(lambda tx: tx.count("delete from exports where created_at <= ?", (created_before,)))
