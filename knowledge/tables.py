"""Reading tabular exports (CSV and every sheet of an XLSX) into header-matched rows.

A table is a sequence of `TableRow`s whose keys are canonical field names. The header row is the
first of the first ten rows in which at least two headers are recognised, so exports with a
title line or merged banner cells above the header still read.
"""
from __future__ import annotations

import csv
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from knowledge.folder import open_regular
from knowledge.headers import map_headers
from knowledge.text import NotTextError, decode_text

log = logging.getLogger(__name__)

MAX_TABLE_BYTES = 200 * 1024 * 1024
MAX_XLSX_UNCOMPRESSED_BYTES = 1024 * 1024 * 1024   # sum of a workbook's declared member sizes (zip-bomb guard)
_HEADER_SEARCH_ROWS = 10


class TableError(Exception):
    """The file cannot be read as a table; the message is the reason shown in the index summary."""


@dataclass(frozen=True)
class TableRow:
    values: Mapping[str, str]
    locator: str          # "row 12" or "sheet 'FY27' row 4" (1-based, as a spreadsheet shows it)
    extra_cells: int = 0  # CSV: filled cells beyond the header's width, i.e. the columns are shifted


def read_table(path: Path, aliases: Mapping[str, str]) -> Iterator[TableRow]:
    size = path.stat().st_size
    if size == 0:
        raise TableError("empty file")
    if size > MAX_TABLE_BYTES:
        raise TableError(f"file larger than {MAX_TABLE_BYTES // (1024 * 1024)} MB")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        yield from _rows(_csv_rows(path), aliases, sheet="")
    elif suffix in (".xlsx", ".xlsm"):
        yield from _xlsx(path, aliases)
    else:
        raise TableError(f"unsupported table type {suffix or '(none)'}")


def _csv_rows(path: Path) -> Iterator[list[str]]:
    with open_regular(path) as handle:
        raw = handle.read(MAX_TABLE_BYTES + 1)
    try:
        text = decode_text(raw)  # the encoding rule documents and structured files follow too
    except NotTextError as exc:
        raise TableError("binary content, not a CSV") from exc
    sample = text[:8192]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    yield from csv.reader(_lines(text), dialect)


def _lines(text: str) -> Iterator[str]:
    """The text's lines with their endings, one at a time (csv joins a quoted cell across them).

    io.StringIO(text) would copy a large export into a buffer of four bytes per character first.
    """
    start, size = 0, len(text)
    while start < size:
        end = text.find("\n", start)
        if end < 0:
            end = size - 1
        yield text[start:end + 1]
        start = end + 1


def _xlsx(path: Path, aliases: Mapping[str, str]) -> Iterator[TableRow]:
    with open_regular(path) as handle:
        yield from _workbook(handle, aliases)


def _workbook(handle: BinaryIO, aliases: Mapping[str, str]) -> Iterator[TableRow]:
    import zipfile  # noqa: PLC0415

    import openpyxl  # noqa: PLC0415 - only needed for workbooks

    try:
        with zipfile.ZipFile(handle) as archive:   # declared sizes bound what zipfile inflates (see DOCX)
            expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise TableError(f"not a readable XLSX workbook ({type(exc).__name__})") from exc
    if expanded > MAX_XLSX_UNCOMPRESSED_BYTES:
        raise TableError(f"XLSX expands beyond {MAX_XLSX_UNCOMPRESSED_BYTES // (1024 * 1024)} MB (zip bomb?)")
    try:
        handle.seek(0)
        workbook = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise TableError(f"not a readable XLSX workbook ({type(exc).__name__})") from exc
    try:
        found = False
        for sheet in workbook.worksheets:
            rows = ([_cell(v) for v in row] for row in sheet.iter_rows(values_only=True))
            for row in _rows(rows, aliases, sheet=sheet.title):
                found = True
                yield row
        if not found:
            raise TableError("no sheet has a recognised header row")
    finally:
        workbook.close()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10]
    return str(value).strip()


def _rows(rows: Iterator[list[str]], aliases: Mapping[str, str], sheet: str) -> Iterator[TableRow]:
    columns: dict[int, str] | None = None
    width = 0
    for number, row in enumerate(rows, start=1):
        if columns is None:
            candidate = map_headers(row, aliases)
            if len(candidate) >= 2:
                columns, width = candidate, len(row)
            elif number >= _HEADER_SEARCH_ROWS:
                if sheet:
                    log.info("sheet %r: no header row in the first %d rows; skipped", sheet, _HEADER_SEARCH_ROWS)
                    return
                raise TableError("no recognised header row in the first 10 rows")
            continue
        if not any(str(v).strip() for v in row):
            continue
        values = {field: str(row[i]).strip() for i, field in columns.items() if i < len(row) and row[i] is not None}
        locator = f"sheet '{sheet}' row {number}" if sheet else f"row {number}"
        extra = 0 if sheet else sum(1 for v in row[width:] if v is not None and str(v).strip())
        yield TableRow(values, locator, extra)
    if columns is None and not sheet:
        raise TableError("no recognised header row")
