"""Exports people download: CSV, XLSX and Markdown files behind short-lived bearer links.

A file is stored as a row named `<token>.<ext>` in the bot's database (storage/: the SQLite file, or
PostgreSQL, so a link made on one instance downloads from any other), where the token is
`secrets.token_urlsafe(24)` (192 random bits): the link itself is the credential, so it must be
unguessable, and it lives EXPORT_TTL_SECONDS only. `fetch` is the single gate the download route uses:
it accepts nothing but a well-formed token name of an existing, unexpired export.

Cells that a spreadsheet would run as a formula (=, +, -, @ first) are prefixed with an apostrophe:
the pipeline and partner names come from exports people edit, and a downloaded sheet must not execute.
"""
from __future__ import annotations

import csv
import io
import logging
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from storage import DatabaseTarget
from storage.exports import ExportTable

log = logging.getLogger(__name__)

EXPORT_TTL_SECONDS = 15 * 60
FORMATS = ("csv", "xlsx")            # tables; `save_text` writes "md"
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "md": "text/markdown; charset=utf-8",
}
_NAME = re.compile(r"^[A-Za-z0-9_-]{32}\.(csv|xlsx|md)$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Header = Sequence[str]
Rows = Sequence[Sequence[object]]


def _safe_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def csv_bytes(header: Header, rows: Rows) -> bytes:
    """UTF-8 with a byte-order mark, so Excel opens accented names correctly."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow([_safe_cell(h) for h in header])
    writer.writerows([_safe_cell(v) for v in row] for row in rows)
    return out.getvalue().encode("utf-8-sig")


def xlsx_bytes(header: Header, rows: Rows, *, sheet: str = "Export") -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook(write_only=False)
    worksheet = workbook.active
    assert worksheet is not None
    worksheet.title = sheet[:31]
    worksheet.append(list(header))
    for cell in worksheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        worksheet.append([_safe_cell(v) for v in row])
    worksheet.freeze_panes = "A2"
    for column, name in enumerate(header, 1):
        widest = max([len(str(name))] + [len(str(r[column - 1])) for r in rows[:200] if len(r) >= column])
        worksheet.column_dimensions[worksheet.cell(1, column).column_letter].width = min(60, max(10, widest + 2))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@dataclass(frozen=True)
class Export:
    name: str
    data: bytes
    created_at: float             # epoch seconds

    @property
    def suffix(self) -> str:
        return "." + self.name.rsplit(".", 1)[-1]


class ExportStore:
    """Export files in the bot's database, each reachable for EXPORT_TTL_SECONDS by its random name."""

    def __init__(self, path: DatabaseTarget, *, ttl_seconds: float = EXPORT_TTL_SECONDS,
                 clock: Callable[[], float] = time.time) -> None:
        self._table = ExportTable(path)
        self.ttl_seconds = ttl_seconds
        self._clock = clock

    def close(self) -> None:
        self._table.close()

    def save(self, header: Header, rows: Rows, fmt: str, *, sheet: str = "Export") -> str:
        """Write the rows as `fmt` and return the file's name (`<token>.<ext>`)."""
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
        data = csv_bytes(header, rows) if fmt == "csv" else xlsx_bytes(header, rows, sheet=sheet)
        name = self._write(data, fmt)
        log.info("export written: %s, %d rows, %d bytes", fmt, len(rows), len(data))
        return name

    def save_text(self, text: str, fmt: str = "md") -> str:
        """Write a text document (Markdown) and return the file's name (`<token>.md`)."""
        if fmt != "md":
            raise ValueError(f"text exports are Markdown ('md'), not {fmt!r}")
        data = text.encode("utf-8")
        name = self._write(data, fmt)
        log.info("export written: %s, %d bytes", fmt, len(data))
        return name

    def _write(self, data: bytes, fmt: str) -> str:
        name = f"{secrets.token_urlsafe(24)}.{fmt}"
        self._table.insert(name, data, self._clock())     # the expiry counts from here, on the store's clock
        self.purge_expired()
        return name

    def fetch(self, name: str) -> Export | None:
        """The export for a download name, or None: malformed, unknown or expired (an expired one is removed)."""
        if not _NAME.fullmatch(name or ""):
            return None
        found = self._table.get(name)
        if found is None:
            return None
        if found[1] + self.ttl_seconds <= self._clock():
            self._table.delete(name)
            return None
        return Export(name, found[0], found[1])

    def names(self) -> list[str]:
        """Every stored export's name (expired ones not yet purged too), oldest first."""
        return self._table.names()

    def purge_expired(self) -> int:
        """Delete expired exports; returns how many went."""
        return self._table.purge(self._clock() - self.ttl_seconds)

    @staticmethod
    def content_type(name: str) -> str:
        return CONTENT_TYPES[name.rsplit(".", 1)[-1]]
