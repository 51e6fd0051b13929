"""One transaction (`Tx`) and the base of the two database engines: what storage/migrate.py and every table
module work with, apart from the engines themselves (storage/database.py)."""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
Params = Sequence[Any]


class Tx:
    """One transaction on one connection: `execute` returns the rows (if any) and the affected row count."""

    def __init__(self, dialect: str, execute: Callable[[str, Params], tuple[list[tuple[Any, ...]], int]]) -> None:
        self.dialect = dialect
        self._execute = execute

    def execute(self, sql: str, params: Params = ()) -> tuple[list[tuple[Any, ...]], int]:
        return self._execute(sql, params)

    def rows(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        return self._execute(sql, params)[0]

    def one(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
        rows = self._execute(sql, params)[0]
        return rows[0] if rows else None

    def count(self, sql: str, params: Params = ()) -> int:
        """Run a write; the number of rows it changed."""
        return self._execute(sql, params)[1]


class Database:
    """Base of the two engines; `open_database` picks one. Shared by reference count: `share` and `close`."""

    dialect = ""
    target = ""

    def __init__(self) -> None:
        self._users = 1
        self._users_lock = threading.Lock()

    def write(self, work: Callable[[Tx], T]) -> T:
        raise NotImplementedError

    def read(self, work: Callable[[Tx], T]) -> T:
        return self.write(work)

    def share(self) -> Database:
        with self._users_lock:
            self._users += 1
        return self

    def close(self) -> None:
        with self._users_lock:
            self._users -= 1
            last = self._users == 0
        if last:
            self._close()

    def _close(self) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.dialect}>"
