"""What every table module shares: the database it was opened on, and closing it."""
from __future__ import annotations

from storage.database import Database, DatabaseTarget, open_database


class Table:
    def __init__(self, target: DatabaseTarget) -> None:
        self.db: Database = open_database(target)

    @property
    def path(self) -> str:
        """The SQLite file, or the PostgreSQL URL."""
        return self.db.target

    @property
    def dialect(self) -> str:
        return self.db.dialect

    def close(self) -> None:
        self.db.close()
