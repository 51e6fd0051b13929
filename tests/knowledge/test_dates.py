"""Dates read once, by knowledge/dates.py: parsed into dates, shown as YYYY-MM-DD, sorted as dates, not as text."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from knowledge.dates import (
    date_sort_key,
    date_text,
    minute_text,
    parse_date,
    parse_written_date,
    utc_timestamp,
    written_date,
)
from knowledge.loader import load_knowledge
from retrieval.catalog import Catalog
from retrieval.engine import KnowledgeEngine
from tests.factories import ECM, OPP_HEADER, default_opportunities, make_knowledge, write_table


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-05-01", dt.date(2026, 5, 1)), ("2026-05-01T10:00:00Z", dt.date(2026, 5, 1)), ("2026/5/1", dt.date(2026, 5, 1)),
    (dt.datetime(2026, 5, 1, 23, 59), dt.date(2026, 5, 1)), ("May 2026", None), ("2026-13-01", None), (None, None),
])
def test_iso_dates_only_for_knowledge_fields(value: object, expected: dt.date | None) -> None:
    assert parse_date(value) == expected


def test_a_written_date_takes_what_it_leaves_out_from_the_default() -> None:
    assert written_date("1 Dec", default=dt.date(2027, 6, 30)) == dt.date(2027, 12, 1)
    assert written_date("01.02.2027") == dt.date(2027, 2, 1)      # dotted: day first
    with pytest.raises(ValueError, match="not a date"):
        parse_written_date("next quarter")


@pytest.mark.parametrize(("stored", "shown"), [
    ("2026-11-21T10:05:00Z", "2026-11-21"), ("2026-11-21", "2026-11-21"), ("12/31/2026", "2026-12-31"),
    ("May 1, 2026", "2026-05-01"),      # cut at ten characters this was "May 1, 202"
    ("TBD (Q3)", "TBD (Q3)"), ("", ""),
])
def test_stored_dates_are_shown_as_dates_and_other_text_as_written(stored: str, shown: str) -> None:
    assert date_text(stored) == shown


def test_time_stamps_are_stored_in_utc_to_the_second_and_shown_to_the_minute() -> None:
    stamp = utc_timestamp(dt.datetime(2026, 11, 21, 11, 5, 9, tzinfo=dt.timezone(dt.timedelta(hours=1))))
    assert stamp == "2026-11-21T10:05:09Z"
    assert minute_text(stamp) == "2026-11-21 10:05"


def test_undated_records_sort_after_dated_ones() -> None:
    written = ["", "2027-01-15", "12/31/2026", "TBD", "2026-12-01T00:00:00Z"]
    assert sorted(written, key=date_sort_key) == ["2026-12-01T00:00:00Z", "12/31/2026", "2027-01-15", "", "TBD"]


def test_the_pipeline_sweep_sorts_by_close_date_as_dates(tmp_path: Path) -> None:
    """A pipeline export with month-first close dates beside ISO ones: sorted as text, 01/05/2027 came first."""
    root = make_knowledge(tmp_path / "kb")
    rows = default_opportunities()
    for row, close in zip(rows, ["01/05/2027", "12/31/2026", "2026-11-30", "2026-12-15", ""], strict=True):
        row["close_date"] = close
    write_table(root / "opportunities" / "pipeline.csv", OPP_HEADER, rows)
    engine = KnowledgeEngine(Catalog(load_knowledge(root, documents=False)), None)
    answer = engine.answer("Which of my opportunities have no partner attached? by close date",
                           engine.user_context(ECM, conversation_type="personal"))
    # seller1's unattached deals: OPP-100 (5 January 2027), OPP-103 (15 December 2026), OPP-104 (no close date)
    assert [o.opportunity_id for o in answer.opportunities] == ["OPP-103", "OPP-100", "OPP-104"]
