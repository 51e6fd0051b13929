"""Amounts, currencies and dates in a question, read as such (never as unknown names).

"200k", "$250k", "80万ドル", "250.000 USD", "45 000 $", "12 mil dólares", "1.2m EUR" are deal amounts
(converted to US dollars at the fixed rates in data/currencies.yaml, and the answer says so);
"over 500k" / "under $1m" bound a pipeline sweep. "as of 1 Dec 2026", "Q3", "FY27", "next month" are
dates. Every span read here is blanked out of the text the entity linker sees.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knowledge.display import format_usd
from knowledge.structured_files import read_data_file

_DATA = Path(__file__).resolve().parent.parent / "data" / "currencies.yaml"

_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATES = re.compile(
    r"\b(?:as of|as at|by|before|after|until|from|on|since)?\s*(?:"
    r"\d{4}-\d{2}-\d{2}"
    r"|\d{1,2}(?:st|nd|rd|th)?\s+" + _MONTHS + r"(?:\s+\d{4})?"
    r"|" + _MONTHS + r"\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}"
    r"|" + _MONTHS + r"\s+\d{4}"
    r"|[qh][1-4](?:\s*(?:fy|cy)?\s*'?\d{2,4})?"
    r"|fy\s?'?\d{2,4}"
    r"|(?:next|this|last|coming)\s+(?:week|month|quarter|year|fiscal year)"
    r"|end of (?:the )?(?:week|month|quarter|year|fiscal year)"
    r")(?![\w])",
    re.IGNORECASE)
_LOWER = ("over", "above", "more than", "greater than", "at least", "min", "minimum", ">", "from")
_UPPER = ("under", "below", "less than", "up to", "at most", "max", "maximum", "<")
_DEAL_CONTEXT = re.compile(r"(deal|worth|value|valued|volume|budget|size|sized|est\.?|around|about|roughly|approx\.?|"
                           r"~|/|amount|tcv|acv)\W*$", re.IGNORECASE)
_NOT_MONEY_AFTER = re.compile(r"^\s*\+?\s*(people|persons|consultants|staff|engineers|seats|users|licen[cs]es|"
                              r"employees|days|weeks|months|years|%|percent)", re.IGNORECASE)


@dataclass
class Amounts:
    deal_usd: float | None = None
    value_min: float | None = None
    value_max: float | None = None
    dates: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)       # "€1,200,000 read as about $1,296,000"
    spans: list[tuple[int, int]] = field(default_factory=list)


@functools.lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    data: dict[str, Any] = read_data_file(_DATA)
    return data


@functools.lru_cache(maxsize=1)
def _money_pattern() -> re.Pattern[str]:
    data = _data()
    names = sorted({n for ns in data["names"].values() for n in ns}, key=len, reverse=True)
    currency = "|".join(re.escape(n) + (r"(?![a-z])" if n[-1].isalpha() and n.isascii() else "") for n in names)
    mults = sorted(data["multipliers"], key=len, reverse=True)
    mult = "|".join(re.escape(m) + (r"(?![a-z0-9])" if m.isascii() else "") for m in mults)
    number = r"\d{1,3}(?:(?:[.,]|\s(?=\d{3}\b))\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?"
    return re.compile(
        rf"(?P<cur1>{currency})?\s*(?<![\w\-.,])(?P<num>{number})\s*(?P<mult>{mult})?\.?\s*(?:de\s+)?(?P<cur2>{currency})?",
        re.IGNORECASE)


def _currency_code(word: str | None) -> str | None:
    if not word:
        return None
    word = word.lower()
    for code, names in _data()["names"].items():
        if word in (n.lower() for n in names):
            return str(code)
    return None


def _number(text: str) -> float | None:
    text = text.replace(" ", ".")
    if re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", text):
        return float(re.sub(r"[.,]", "", text))          # 250.000 / 250,000 / 45 000 / 1.200.000
    if re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+[.,]\d{1,2}", text):
        return float(re.sub(r"[.,]", "", text[:-3]) + "." + text[-2:].lstrip(".,"))
    try:
        return float(text.replace(",", "."))
    except ValueError:
        return None


def read_amounts(text: str) -> Amounts:
    """Every amount and date in `text`, with the spans they occupy."""
    out = Amounts()
    taken: list[tuple[int, int]] = []
    for match in _DATES.finditer(text) if re.search(r"\d|next|this|last|coming|end of", text, re.IGNORECASE) else ():
        label = match.group(0).strip()
        if not re.search(r"[a-z]", label, re.IGNORECASE) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", label):
            continue
        if re.fullmatch(r"\d{1,2}\s+(?:mar|may)\w*", label, re.IGNORECASE):
            continue
        out.dates.append(label)
        taken.append(match.span())
    for match in _money_pattern().finditer(text) if re.search(r"\d", text) else ():
        start, end = match.span()
        if any(s < end and start < e for s, e in taken) or not match.group("num"):
            continue
        mult_word = (match.group("mult") or "").lower()
        cur = _currency_code(match.group("cur1")) or _currency_code(match.group("cur2"))
        if _NOT_MONEY_AFTER.match(text[end:]) or _NOT_MONEY_AFTER.match(text[match.end("num"):]):
            continue
        value = _number(match.group("num"))
        if value is None:
            continue
        multiplier = _data()["multipliers"].get(mult_word, 1) if mult_word else 1
        grouped = bool(re.search(r"\d[.,\s]\d{3}\b", match.group("num")))
        if not cur and not mult_word:
            before = text[max(0, start - 24):start]
            plausible_year = 1900 <= value <= 2100 and not grouped
            if re.search(r"(opp|opps|opportunity|id|#|no\.?|number|row)\s*$", before, re.IGNORECASE):
                continue
            if plausible_year or value < 1000 or not (grouped or _DEAL_CONTEXT.search(before) or value >= 10_000):
                continue
        if mult_word in ("m", "b") and not cur and not re.match(r"\d", match.group("num")):
            continue
        usd = value * multiplier * float(_data()["rates"].get(cur or "USD", 1.0))
        if cur and cur != "USD":
            out.notes.append(f"{match.group(0).strip()} read as about {format_usd(usd)} (fixed rate)")
        before = text[max(0, start - 24):start].lower().rstrip()
        if re.search(r"\b(went|gone|goes|grew|grown|increased|rose|raised|jumped|moved|climbed|is now)\s+(up\s+)?to$", before):
            out.deal_usd = usd               # "the deal went up to 250k" is its size, not a bound
        elif before.endswith(_LOWER):
            out.value_min = usd
        elif before.endswith(_UPPER):
            out.value_max = usd
        else:
            out.deal_usd = usd
        end = match.end("cur2") if match.group("cur2") else (match.end("mult") if mult_word else match.end("num"))
        taken.append((start, end))
    out.spans = sorted(taken)
    return out


def blank(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with each span replaced by spaces (positions are kept)."""
    chars = list(text)
    for start, end in spans:
        for k in range(start, min(end, len(chars))):
            chars[k] = " "
    return "".join(chars)
