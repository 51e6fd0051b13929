"""The storage tests run against both engines: the SQLite file (embedded default) and a real PostgreSQL server."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.services import Postgres


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Where a fresh database lives: an SQLite file path, or the URL of a new database on the test server."""
    if request.param == "sqlite":
        return tmp_path / "partner-atlas.db"
    server: Postgres = request.getfixturevalue("postgres")
    return server.new_database()
