"""The suite-wide log check (tests/conftest.py) sees every logger, and finds a marker when there is one."""
from __future__ import annotations

import logging
from pathlib import Path

from tests.security.markers import log_leaks


def test_project_debug_records_reach_the_checked_log(test_log: Path) -> None:
    probe = "log-check-probe-7f3a"
    logging.getLogger("retrieval.engine").debug("%s from a project logger", probe)
    logging.getLogger("somelib").info("%s from a library", probe)
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = test_log.read_text(encoding="utf-8")
    assert f"DEBUG retrieval.engine: {probe} from a project logger" in text
    assert f"INFO somelib: {probe} from a library" in text


def test_log_leaks_names_the_logger_and_the_source_not_the_content(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_text("INFO retrieval.engine: answered in 3 ms\n"
                   "WARNING dialogs.render: could not render OPP-20001 for Fabrikam\n"
                   "ERROR bot: unhandled error in a turn\n\tTraceback: notes CONF0007-1: under review\n",
                   encoding="utf-8")
    markers = {"OPP-20001": "opportunity OPP-20001", "CONF0007-1: under": "notes of P-1000", "absent": "x"}
    assert log_leaks(log, markers) == {("dialogs.render", "opportunity OPP-20001"), ("bot", "notes of P-1000")}
