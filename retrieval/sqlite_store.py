"""The one way this project opens its SQLite files (decisions, feedback, subscriptions).

WAL with synchronous=NORMAL: a commit is an append, not an fsync per write (that cost ~50 ms a
turn); a power cut can lose the last few rows, never corrupt the file. One connection per store,
shared by threads behind the store's lock.
"""
from __future__ import annotations

import sqlite3
import threading
from pathlib import Path


class SqliteStore:
    def __init__(self, path: Path | str, schema: str) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._db.execute("pragma journal_mode=wal")
        self._db.execute("pragma synchronous=normal")
        self._db.executescript(schema)
        self._db.commit()

    def close(self) -> None:
        with self._lock:
            self._db.close()
