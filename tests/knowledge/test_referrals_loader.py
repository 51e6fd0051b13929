"""The co-sell referrals export: CSV and every sheet of a workbook, Title Case headers, dates in any common
format, reason codes as labels, and bad rows reported without losing the rest."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from knowledge.dates import parse_written_date as parse_date
from knowledge.loader import load_knowledge
from knowledge.referrals import EXPORT_COLUMNS, reason_label
from tests.factories import REFERRAL_HEADER, default_referrals, make_knowledge, write_table

PROJECT = Path(__file__).resolve().parents[2]


def test_a_csv_export_loads_with_dates_labels_and_links(tmp_path: Path) -> None:
    kb = load_knowledge(make_knowledge(tmp_path, referrals=default_referrals()), documents=False)
    by_id = {r.referral_id: r for r in kb.referrals}
    assert sorted(by_id) == ["REF-9001", "REF-9002", "REF-9003", "REF-9004", "REF-9005", "REF-9006"]
    stale = by_id["REF-9001"]
    assert stale.created == dt.date(2026, 11, 20) and stale.partner_led and stale.waits_for_microsoft
    assert stale.state == "Pending" and stale.crm_id == "" and stale.source.locator == "row 2"
    shared = by_id["REF-9003"]
    assert shared.waits_for_partner and shared.expiration == dt.date(2026, 12, 4) and shared.crm_id == "OPP-100"
    assert shared.crm_id in {o.id for o in kb.opportunities}
    assert by_id["REF-9004"].decline_lost_reason == "Requirements not met"     # "4 - Requirements not met"
    assert by_id["REF-9006"].decline_lost_reason == "Budget"                   # the bare code "1"
    assert by_id["REF-9005"].won and by_id["REF-9005"].estimated_value == 90000
    assert not [i for i in kb.issues if i.path.startswith("referrals/")]


def test_every_sheet_of_a_workbook_with_title_case_headers_and_date_cells(tmp_path: Path) -> None:
    rows = default_referrals()
    titles = dict(EXPORT_COLUMNS)
    wb = openpyxl.Workbook()
    first = wb.active
    first.title = "Incoming"
    second = wb.create_sheet("Outgoing")
    for sheet in (first, second):
        sheet.append(["Partner Center co-sell referrals export"])       # a banner above the header
        sheet.append([titles[c] for c in REFERRAL_HEADER])
    for row in rows:
        sheet = first if row["direction"] == "Incoming" else second
        values: list[object] = [row[c] for c in REFERRAL_HEADER]
        for column in ("created_date", "updated_date", "expiration_date", "estimated_close_date"):
            i = REFERRAL_HEADER.index(column)
            values[i] = dt.datetime.fromisoformat(row[column]) if row[column] else None   # real date cells
        sheet.append(values)
    (tmp_path / "referrals").mkdir()
    wb.save(tmp_path / "referrals" / "Co-sell referrals export.xlsx")
    kb = load_knowledge(tmp_path, documents=False)
    assert len(kb.referrals) == len(rows)
    by_id = {r.referral_id: r for r in kb.referrals}
    assert by_id["REF-9003"].expiration == dt.date(2026, 12, 4)
    assert by_id["REF-9003"].source.locator == "sheet 'Incoming' row 3"
    assert by_id["REF-9001"].source.locator.startswith("sheet 'Outgoing'")
    assert by_id["REF-9001"].created == dt.date(2026, 11, 20)


@pytest.mark.parametrize(("cell", "expected"), [
    ("2026-12-01", dt.date(2026, 12, 1)),
    ("2026-12-01T09:30:00Z", dt.date(2026, 12, 1)),
    ("01.12.2026", dt.date(2026, 12, 1)),          # dotted: day first
    ("13/01/2026", dt.date(2026, 1, 13)),          # can only be day first
    ("12/31/2026", dt.date(2026, 12, 31)),         # can only be month first
    ("1 Dec 2026", dt.date(2026, 12, 1)),
    ("December 1, 2026", dt.date(2026, 12, 1)),
    ("46357", dt.date(2026, 12, 1)),               # an Excel serial day number
    ("", None),
])
def test_dates_in_the_formats_exports_use(cell: str, expected: dt.date | None) -> None:
    assert parse_date(cell) == expected


def test_reason_codes_become_labels() -> None:
    assert [reason_label(v) for v in ("3", "3 - Chose another vendor", "chose another vendor", "7.0", "", "Odd one")] \
        == ["Chose another vendor", "Chose another vendor", "Chose another vendor", "Spam", "", "Odd one"]


def test_bad_rows_and_odd_dates_are_reported_and_the_rest_loads(tmp_path: Path) -> None:
    rows = default_referrals()
    rows[0] = {**rows[0], "created_date": "sometime soon"}
    rows[1] = {**rows[1], "referral_id": ""}
    rows.append({**rows[2]})                     # a duplicate id
    kb = load_knowledge(make_knowledge(tmp_path, referrals=rows), documents=False)
    assert len(kb.referrals) == 5
    assert next(r for r in kb.referrals if r.referral_id == "REF-9001").created is None
    reasons = " | ".join(i.reason for i in kb.issues if i.path == "referrals/partner_center_referrals.csv")
    assert "1 rows without a referral id ignored (first: row 3)" in reasons
    assert "1 rows with a duplicate referral id ignored" in reasons
    assert "1 unreadable dates left empty (first: row 2 created_date)" in reasons


def test_a_file_without_the_referral_id_column_is_skipped_with_a_reason(tmp_path: Path) -> None:
    header = [c for c in REFERRAL_HEADER if c != "referral_id"]
    write_table(tmp_path / "referrals" / "broken.csv", header,
                [{k: v for k, v in r.items() if k != "referral_id"} for r in default_referrals()])
    write_table(tmp_path / "referrals" / "good.csv", REFERRAL_HEADER, default_referrals()[:1])
    (tmp_path / "referrals" / "notes.txt").write_text("not an export")
    kb = load_knowledge(tmp_path, documents=False)
    assert [r.referral_id for r in kb.referrals] == ["REF-9001"]
    issues = {i.path: i for i in kb.issues}
    assert issues["referrals/broken.csv"].skipped and "no rows with a referral id" in issues["referrals/broken.csv"].reason
    assert "unsupported file type .txt in referrals/" in issues["referrals/notes.txt"].reason


@pytest.mark.slow
def test_bot_index_reads_the_referrals_into_the_record_snapshot(tmp_path: Path) -> None:
    knowledge = make_knowledge(tmp_path / "kb", referrals=default_referrals())
    result = subprocess.run([sys.executable, "bot.py", "index", "--knowledge", str(knowledge), "--index",
                             str(tmp_path / "index"), "--embedder", "hashing"], check=False, cwd=PROJECT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    from retrieval.indexer import load_snapshot

    snapshot = load_snapshot(tmp_path / "index", knowledge)
    assert snapshot is not None and len(snapshot.referrals) == 6
