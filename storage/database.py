"""The bot's database: an SQLite file in the data folder (the embedded default) or a PostgreSQL server
(DATABASE_URL, for several instances behind a load balancer). The only place that opens a connection.

Work is a function of a transaction (`Tx`) run by `Database.write` or `Database.read`: it commits when the
function returns and rolls back when it raises. SQL is written once with `?` placeholders and the
subset both engines share (upserts with `on conflict`, `returning`, partial indexes); `Tx.dialect` says
which engine runs it for the few statements that differ.

- SQLite: one connection per `Database`, shared by threads behind a lock; WAL with synchronous=NORMAL
  (a commit is an append, not an fsync); writes start with `begin immediate`, so two processes on one
  file queue instead of failing to upgrade a read lock; `busy_timeout` waits for the other process.
- PostgreSQL: a psycopg-pool connection pool per URL and process, shared by every store that opens
  that URL; read committed; a transaction that loses a serialization or deadlock race is run again.

A unique-key clash raises `Conflict` on both engines, so callers handle one error. PostgreSQL text
cannot hold a NUL character: one in a string parameter is stored as U+FFFD.
"""
from __future__ import annotations

import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from storage.migrate import migrate
from storage.transaction import Database, Params, T, Tx

log = logging.getLogger(__name__)

POSTGRES_SCHEMES = ("postgresql://", "postgres://")
RETRY_ATTEMPTS = 5
POOL_MAX_SIZE = 10
SQLITE_BUSY_SECONDS = 10.0
CONNECT_TIMEOUT_SECONDS = 20.0


class Conflict(Exception):
    """A row with that key exists already (a unique or primary-key constraint said no)."""


class DatabaseUnavailable(RuntimeError):
    """The PostgreSQL server of DATABASE_URL could not be reached (or refused the login) at start."""


# --------------------------------------------------------------------------- SQLite
def _set_wal(db: sqlite3.Connection) -> None:
    """Write-ahead logging. Switching a new file to it needs a moment of exclusive access, and SQLite does not
    always wait for that with the busy timeout: processes opening a new file together retry briefly."""
    deadline = time.monotonic() + SQLITE_BUSY_SECONDS
    while True:
        try:
            db.execute("pragma journal_mode=wal")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class SqliteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, path: Path | str) -> None:
        super().__init__()
        self.target = self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        # autocommit mode: transactions are begun and ended here, explicitly
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                                   timeout=SQLITE_BUSY_SECONDS)
        _set_wal(self._db)
        self._db.execute("pragma synchronous=normal")
        self._db.execute("pragma foreign_keys=off")

    def _run(self, sql: str, params: Params) -> tuple[list[tuple[Any, ...]], int]:
        try:
            cursor = self._db.execute(sql, tuple(params))
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc) or "PRIMARY KEY" in str(exc):
                raise Conflict(str(exc)) from exc
            raise
        rows = cursor.fetchall() if cursor.description is not None else []
        return rows, cursor.rowcount

    def _transaction(self, work: Callable[[Tx], T], begin: str) -> T:
        with self._lock:
            self._db.execute(begin)
            try:
                result = work(Tx(self.dialect, self._run))
            except BaseException:
                self._db.execute("rollback")
                raise
            self._db.execute("commit")
            return result

    def write(self, work: Callable[[Tx], T]) -> T:
        return self._transaction(work, "begin immediate")

    def read(self, work: Callable[[Tx], T]) -> T:
        return self._transaction(work, "begin")

    def _close(self) -> None:
        with self._lock:
            self._db.close()


# --------------------------------------------------------------------------- PostgreSQL
_pools: dict[str, PostgresDatabase] = {}
_pools_lock = threading.Lock()


class PostgresDatabase(Database):
    dialect = "postgres"

    def __init__(self, url: str, *, max_size: int = POOL_MAX_SIZE) -> None:
        from psycopg_pool import ConnectionPool, PoolTimeout

        super().__init__()
        self.target = url
        self._pool = ConnectionPool(url, min_size=1, max_size=max_size, open=False, timeout=30.0,
                                    check=ConnectionPool.check_connection, name="partner-atlas",
                                    kwargs={"connect_timeout": max(2, int(CONNECT_TIMEOUT_SECONDS / 2))})
        try:
            self._pool.open(wait=True, timeout=CONNECT_TIMEOUT_SECONDS)
        except PoolTimeout:
            self._pool.close()
            raise DatabaseUnavailable(f"cannot connect to {describe(url)} within {CONNECT_TIMEOUT_SECONDS:g} s "
                                      "(is the server up, and DATABASE_URL's user, password and database right?)"
                                      ) from None

    def write(self, work: Callable[[Tx], T]) -> T:
        from psycopg import errors

        for attempt in range(1, RETRY_ATTEMPTS + 1):
            try:
                with self._pool.connection() as connection, connection.cursor() as cursor:

                    def run(sql: str, params: Params) -> tuple[list[tuple[Any, ...]], int]:
                        try:
                            cursor.execute(_pg_sql(sql), _pg_params(params))
                        except errors.UniqueViolation as exc:
                            raise Conflict(str(exc).splitlines()[0]) from exc
                        rows = cursor.fetchall() if cursor.description is not None else []
                        return rows, cursor.rowcount

                    return work(Tx(self.dialect, run))
            except errors.UniqueViolation as exc:
                raise Conflict(str(exc).splitlines()[0]) from exc
            except (errors.SerializationFailure, errors.DeadlockDetected) as exc:
                if attempt == RETRY_ATTEMPTS:
                    raise
                log.info("database transaction lost a race (%s), attempt %d: running it again",
                         type(exc).__name__, attempt)
                time.sleep(random.uniform(0.01, 0.05) * attempt)  # noqa: S311 - jitter, not security
        raise AssertionError("unreachable")

    def _close(self) -> None:
        with _pools_lock:
            if _pools.get(self.target) is self:
                del _pools[self.target]
        self._pool.close()


def _pg_sql(sql: str) -> str:
    """`?` placeholders as psycopg's `%s` (and a literal % doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


def _pg_params(params: Params) -> tuple[Any, ...]:
    """PostgreSQL text cannot hold NUL: what users typed keeps its other characters (SQLite keeps NUL as is)."""
    return tuple(p.replace("\x00", "\ufffd") if isinstance(p, str) and "\x00" in p else p for p in params)


def is_postgres_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(POSTGRES_SCHEMES)


# --------------------------------------------------------------------------- opening
DatabaseTarget = Database | Path | str


def open_database(target: DatabaseTarget) -> Database:
    """A database with the current schema: an open `Database` is shared, a postgresql:// URL opens (or
    shares) that server's pool, anything else is an SQLite file path. Close it when done."""

    if isinstance(target, Database):
        return target.share()
    if is_postgres_url(target):
        url = str(target)
        with _pools_lock:
            known = _pools.get(url)
            if known is not None:
                return known.share()
            pool = PostgresDatabase(url)
            try:
                migrate(pool)            # under the lock: no store of this process uses the pool before
            except BaseException:
                pool._pool.close()
                raise
            _pools[url] = pool
            return pool
    database = SqliteDatabase(target)
    try:
        migrate(database)
    except BaseException:
        database.close()
        raise
    return database


@contextmanager
def opened(target: DatabaseTarget) -> Iterator[Database]:
    database = open_database(target)
    try:
        yield database
    finally:
        database.close()


def describe(target: DatabaseTarget) -> str:
    """Where the data is, for logs: never the URL's password."""
    if isinstance(target, Database):
        target = target.target
    if is_postgres_url(target):
        from urllib.parse import urlsplit

        parts = urlsplit(str(target))
        return f"PostgreSQL {parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path}"
    return f"SQLite {target}"
