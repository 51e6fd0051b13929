"""Fixtures shared across test folders, and suite-wide: every log record of the run goes to one file, and at the end no confidential marker may be in it.

Root at INFO (what production runs at) and the project's own loggers at DEBUG, so even debug statements
are checked. Markers come from the parsed sample and dev catalogs (tests/security/markers.py) plus what
tests register for the knowledge they plant (`REGISTERED`). A marker in the log fails the run: the
summary names the logger and where the marker comes from, never the content.
"""
from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import Azurite, Postgres, run_azurite, run_postgres

# the fixtures of tests/support, for every test module (a module's own fixture of the same name wins)
pytest_plugins = ["tests.support.server", "tests.support.chat_models", "tests.support.playground"]

PROJECT_LOGGERS = ("app", "channel", "dialogs", "retrieval", "knowledge", "appmanifest")
_LOG = Path(tempfile.gettempdir()) / f"partner-atlas-test-log-{os.getpid()}.txt"
_state: dict[str, logging.Handler] = {}
_saved_levels: dict[str, int] = {}


class _Everything(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text.replace("\n", "\n\t")


def pytest_configure(config: pytest.Config) -> None:
    _LOG.unlink(missing_ok=True)
    handler = _state["handler"] = logging.FileHandler(_LOG, encoding="utf-8", delay=True)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(_Everything("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    _saved_levels[""] = root.level
    root.setLevel(min(root.level, logging.INFO) if root.level != logging.NOTSET else logging.INFO)
    for name in PROJECT_LOGGERS:
        logger = logging.getLogger(name)
        _saved_levels[name] = logger.level
        logger.setLevel(logging.DEBUG)


@pytest.fixture(scope="session")
def test_log() -> Iterator[Path]:
    """The file every log record of this run is written to."""
    yield _LOG


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    handler = _state.pop("handler", None)
    if handler is None:
        return
    logging.getLogger().removeHandler(handler)
    handler.close()
    for name, level in _saved_levels.items():
        logging.getLogger(name or None).setLevel(level)
    if not _LOG.exists() or session.config.option.collectonly:
        return
    from tests.factories import MARKER
    from tests.security.markers import REGISTERED, knowledge_markers, log_leaks

    shared = Path(__file__).resolve().parents[2] / "shared" / "catalog-dev" / "knowledge"
    markers = {**knowledge_markers(Path(__file__).resolve().parents[1] / "knowledge" / "sample"),
               **knowledge_markers(shared, documents=False), **REGISTERED, MARKER: "tests/factories.py notes"}
    found = log_leaks(_LOG, markers)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    size = _LOG.stat().st_size
    if found:
        if reporter is not None:
            reporter.write_sep("=", "confidential markers in the test log", red=True)
            for logger, why in sorted(found)[:50]:
                reporter.write_line(f"logger {logger}: a marker from {why}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif reporter is not None:
        reporter.write_line(f"log check: {size / 1e6:.1f} MB of log records, {len(markers)} confidential markers, "
                            "none found")
    _LOG.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """One Azurite (Azure Blob Storage emulator) on a random loopback port for the whole run."""
    with run_azurite() as running:
        yield running


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One PostgreSQL server (initdb in a temp folder) on a random loopback port for the whole run."""
    with run_postgres() as running:
        yield running
