"""Versioned schema migrations: `migrations/<engine>/NNNN_name.sql`, applied in order, each once.

`schema_version` holds one row per applied migration. Every `open_database` brings the database up to
date in one transaction that first takes the engine's lock (SQLite `begin immediate`, a PostgreSQL
advisory lock), so instances starting together migrate once and the others then find nothing to do.
A database newer than this release (a version we have no file for) is refused rather than misread.

SQLite files from before versioned migrations hold the same tables, made by `create table if not
exists`; 0001 adopts them as they are, after `_adopt_legacy_sqlite` adds the feedback columns later
releases appended.
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

from storage.transaction import Database, Tx

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_ADVISORY_LOCK = 0x5041_7431          # "PAt1": serialises migrations across instances
_LEGACY_FEEDBACK_COLUMNS = {
    "outcome": "text not null default ''",
    "topic": "text not null default ''",
    "unknown_terms": "text not null default '[]'",
}


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer release than this one."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def migrations(dialect: str) -> list[Migration]:
    out = []
    for path in sorted((MIGRATIONS_DIR / dialect).glob("*.sql")):
        match = _FILE.match(path.name)
        if not match:
            raise ValueError(f"migration file {path.name} is not named NNNN_name.sql")
        out.append(Migration(int(match.group(1)), match.group(2), tuple(_statements(path.read_text("utf-8")))))
    versions = [m.version for m in out]
    if versions != list(range(1, len(out) + 1)):
        raise ValueError(f"{dialect} migrations must be numbered 1..n without gaps: {versions}")
    return out


def _statements(script: str) -> list[str]:
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def latest_version(dialect: str) -> int:
    return len(migrations(dialect))


def current_version(database: Database) -> int:
    return database.read(_version)


def _version(tx: Tx) -> int:
    if tx.dialect == "sqlite":
        exists = tx.one("select 1 from sqlite_master where type = 'table' and name = 'schema_version'")
    else:
        exists = tx.one("select 1 from pg_tables where schemaname = current_schema() and tablename = 'schema_version'")
    if not exists:
        return 0
    row = tx.one("select max(version) from schema_version")
    return int(row[0]) if row and row[0] is not None else 0


def migrate(database: Database) -> int:
    """Apply the migrations this database lacks; returns its version afterwards."""
    wanted = migrations(database.dialect)
    if current_version(database) == len(wanted):     # the usual case: no write lock taken
        return len(wanted)

    def apply(tx: Tx) -> list[str]:
        if tx.dialect == "postgres":
            tx.execute("select pg_advisory_xact_lock(?)", (_ADVISORY_LOCK,))
        tx.execute("create table if not exists schema_version (version integer primary key, name text not null, "
                   "applied_at double precision not null)")
        have = _version(tx)
        if have > len(wanted):
            raise SchemaTooNew(f"the database is at schema version {have}; this release knows {len(wanted)}")
        applied = []
        for migration in wanted[have:]:
            if tx.dialect == "sqlite" and migration.version == 1:
                _adopt_legacy_sqlite(tx)
            for statement in migration.statements:
                tx.execute(statement)
            tx.execute("insert into schema_version (version, name, applied_at) values (?, ?, ?)",
                       (migration.version, migration.name, time.time()))
            applied.append(f"{migration.version:04d}_{migration.name}")
        return applied

    applied = database.write(apply)
    if applied:
        log.info("database schema migrated (%s): %s", database.dialect, ", ".join(applied))
    return len(wanted)


def _adopt_legacy_sqlite(tx: Tx) -> None:
    """An older file's answers table lacks the columns added since: add them; old answers get an outcome."""
    present = {row[1] for row in tx.rows("pragma table_info(answers)")}
    if not present:
        return
    missing = [name for name in _LEGACY_FEEDBACK_COLUMNS if name not in present]
    for name in missing:
        tx.execute(f"alter table answers add column {name} {_LEGACY_FEEDBACK_COLUMNS[name]}")
    if "outcome" in missing:
        # low confidence was never recorded before: those answers count as answered
        tx.execute("update answers set outcome = case kind when 'no_match' then 'no_match' when 'denied' then 'denied' "
                   "when 'clarify' then 'clarify' else 'answered' end where outcome = ''")
    if missing:
        log.info("feedback table of an older release: added %s", ", ".join(missing))
