"""Cell and field values: booleans, integers and money as exports and people write them."""
from __future__ import annotations

import re

_TRUE = {"true", "yes", "y", "1", "x", "✓", "ready"}
_FALSE = {"false", "no", "n", "0", "", "none", "-"}
_MONEY = re.compile(
    r"(?P<cur>[$€£])?\s*(?P<num>\d{1,3}(?:[,\s]\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s*"
    r"(?P<mult>k|thousand|m|mm|mn|million|b|bn|billion)?\b\s*(?P<cur2>usd|dollars|eur|gbp)?",
    re.IGNORECASE,
)
_MULTIPLIERS = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mm": 1e6, "mn": 1e6, "million": 1e6,
                "b": 1e9, "bn": 1e9, "billion": 1e9}


def parse_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return False


def parse_int(value: object) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return int(value)
    digits = re.sub(r"[,\s]", "", str(value))
    try:
        return int(float(digits))
    except ValueError:
        return None


def parse_money(value: object) -> float | None:
    """`1200000`, `$1,200,000`, `1.2M`, `150k`, `USD 60,000` -> float; None when there is no amount."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    match = _MONEY.search(str(value))
    if not match:
        return None
    number = float(re.sub(r"[,\s]", "", match.group("num")))
    mult = (match.group("mult") or "").lower()
    return number * _MULTIPLIERS.get(mult, 1.0)
