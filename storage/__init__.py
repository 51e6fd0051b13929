"""Everything the bot writes, in one database: the lowest layer, imported by dialogs/ and retrieval/.

`open_database` gives an SQLite file (the embedded default) or a PostgreSQL server (DATABASE_URL), with
the schema migrated (storage/migrations/). The tables' modules (decisions, feedback, subscriptions,
sessions, state, exports, replay, cards) hold every SQL statement; nothing outside this package opens a
connection.
"""
from storage.database import (
    Conflict,
    Database,
    DatabaseTarget,
    DatabaseUnavailable,
    Tx,
    describe,
    is_postgres_url,
    open_database,
)

__all__ = ["Conflict", "Database", "DatabaseTarget", "DatabaseUnavailable", "Tx", "describe", "is_postgres_url", "open_database"]
