"""Dates: read from what files and people write, shown as YYYY-MM-DD, compared as `datetime.date`.

The one place a date is parsed, so a close date, a decision's time stamp or an export's cell is read the
same way everywhere instead of being cut to its first ten characters and compared as text:

* `parse_date`: the ISO forms a knowledge file holds (2026-05-01, 2026-05-01T10:00:00Z, 2026/5/1, a YAML
  date); None for anything else;
* `parse_written_date`: what exports and people write as well (01/12/2026, 1 Dec 2026, an Excel serial day
  number), with python-dateutil; ValueError for text that is not a date;
* `written_date`: one such text, with the day-first rule and a default for the parts it leaves out;
* `date_text` / `minute_text`: how a stored date or time stamp is shown;
* `date_sort_key`: the date to order records by, undated ones last;
* `utc_timestamp`: the time stamp a decision is stored with.
"""
from __future__ import annotations

import datetime as dt
import re

from dateutil import parser as date_parser

_ISO_DATE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?!\d)")   # a time may follow: 2026-05-01T10:00:00Z
_EXCEL_SERIAL = re.compile(r"\d{5}(?:\.\d+)?")
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_NUMERALS = re.compile(r"(\d{1,2})[./-](\d{1,2})[./-](\d{2,4})")
_WRITTEN_DEFAULT = dt.date(2000, 1, 1)


def parse_date(value: object) -> dt.date | None:
    """`2026-05-01`, `2026-05-01T10:00:00Z`, `2026/05/01` or a YAML date -> date; None when there is none."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    match = _ISO_DATE.match(str(value if value is not None else "").strip())
    if not match:
        return None
    try:
        return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def written_date(text: str, default: dt.date = _WRITTEN_DEFAULT) -> dt.date:
    """A date as people write it ("1 Dec 2026", "01.12.2026", "12/31/2026"); what it leaves out (the year of
    "1 Dec") comes from `default`. 13/01/2026 can only be day-first, 01/13/2026 only month-first; otherwise
    month-first, except dotted dates (01.12.2026), which are written day-first wherever they are used.
    Raises ValueError for text that is not a date."""
    numerals = _NUMERALS.fullmatch(text)
    dayfirst = numerals is not None and (int(numerals.group(1)) > 12 or "." in text)
    try:
        return date_parser.parse(text, dayfirst=dayfirst,
                                 default=dt.datetime(default.year, default.month, default.day)).date()
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"not a date: {text[:40]!r}") from exc


def parse_written_date(value: object) -> dt.date | None:
    """A date cell as exports write it: ISO, day-first or month-first numerals, month names, an Excel serial.

    Raises ValueError for text that is not a date; an empty cell is None.
    """
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if not text:
        return None
    if _ISO_DATE.match(text) and (iso := parse_date(text)):
        return iso
    if _EXCEL_SERIAL.fullmatch(text):          # an Excel serial day number (1954 .. 2119)
        return _EXCEL_EPOCH + dt.timedelta(days=int(float(text)))
    return written_date(text)


def _readable(value: object) -> dt.date | None:
    try:
        return parse_written_date(value)
    except ValueError:
        return None


def date_text(value: object) -> str:
    """A stored date or time stamp as shown: `2026-05-01T10:00:00Z` -> `2026-05-01`; text that is not a date
    is shown as written rather than cut short."""
    when = _readable(value)
    return when.isoformat() if when else str(value if value is not None else "").strip()


def minute_text(value: str) -> str:
    """A stored UTC time stamp to the minute: `2026-05-01T10:00:00Z` -> `2026-05-01 10:00`."""
    try:
        when = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return date_text(value)
    return when.strftime("%Y-%m-%d %H:%M")


def date_sort_key(value: object) -> dt.date:
    """The date to sort by: a record without a readable date sorts after every dated one."""
    return _readable(value) or dt.date.max


def utc_timestamp(now: dt.datetime | None = None) -> str:
    """The stored form of a decision's time: ISO 8601 in UTC to the second, `2026-05-01T10:00:00Z`."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
