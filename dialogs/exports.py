"""Exports people download: CSV, XLSX and Markdown files behind short-lived bearer links.

A file is stored as `<token>.<ext>` in one folder, where the token is `secrets.token_urlsafe(24)`
(192 random bits): the link itself is the credential, so it must be unguessable, and it lives
EXPORT_TTL_SECONDS only. `path_for` is the single gate the download route uses: it accepts nothing but
a well-formed token name of an existing, unexpired file in that folder (no path is ever joined from
user input beyond a name that matched the pattern).

Cells that a spreadsheet would run as a formula (=, +, -, @ first) are prefixed with an apostrophe:
the pipeline and partner names come from exports people edit, and a downloaded sheet must not execute.
"""
from __future__ import annotations

import csv
import io
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

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


class ExportStore:
    """Export files in one folder, each reachable for EXPORT_TTL_SECONDS by its random name."""

    def __init__(self, folder: Path, *, ttl_seconds: float = EXPORT_TTL_SECONDS,
                 clock: Callable[[], float] = time.time) -> None:
        self.folder = Path(folder)
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()

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
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            os.chmod(self.folder, 0o700)
            target = self.folder / name
            partial = self.folder / f".{name}.part"
            partial.write_bytes(data)
            os.chmod(partial, 0o600)
            now = self._clock()
            os.utime(partial, (now, now))     # the expiry counts from here, on the store's clock
            partial.replace(target)
        self.purge_expired()
        return name

    def path_for(self, name: str) -> Path | None:
        """The file for a download name, or None: malformed, unknown or expired (an expired one is removed)."""
        if not _NAME.fullmatch(name or ""):
            return None
        path = self.folder / name
        try:
            stat = path.stat()
        except OSError:
            return None
        if not path.is_file() or path.is_symlink():
            return None
        if stat.st_mtime + self.ttl_seconds <= self._clock():
            self._remove(path)
            return None
        return path

    def purge_expired(self) -> int:
        """Delete expired exports (and abandoned partial writes); returns how many went."""
        if not self.folder.is_dir():
            return 0
        removed = 0
        limit = self._clock() - self.ttl_seconds
        for path in self.folder.iterdir():
            try:
                if path.is_file() and path.stat().st_mtime <= limit:
                    self._remove(path)
                    removed += 1
            except OSError:
                continue
        return removed

    @staticmethod
    def content_type(name: str) -> str:
        return CONTENT_TYPES[name.rsplit(".", 1)[-1]]

    @staticmethod
    def _remove(path: Path) -> None:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
