"""Constraints a question states about the partners it wants: read as filters, not as hints.

co-sell ready, spare capacity ("15+ consultants", "a bench of 20 people free", "has capacity"),
a map role ("lead partners"), how many ("top 3", "just the 2 strongest", "which two would you pick"),
and partners left out ("except X", "apart from X", "not X", "other than X", "we already tried X",
"drop X"). Industry, segment, specialization and designation come from the linker; `need.py` turns
all of them into one Need.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from retrieval.catalog import Catalog, normalize

_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
            "ten": 10, "a couple of": 2, "a couple": 2, "couple of": 2, "a pair of": 2, "a few": 3, "single": 1}
_NUM = r"(\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten|a couple(?: of)?|couple of|a pair of|a few)"
_CO_SELL = re.compile(r"\bco[-\s]?sell(?:[-\s]?(?:ready|able|capable|eligible))?\b|\bcan co[-\s]?sell\b", re.IGNORECASE)
_NOT_CO_SELL = re.compile(r"\b(?:not|isn't|aren't|without|no)\s+co[-\s]?sell", re.IGNORECASE)
_CAPACITY_UNITS = r"(?:consultants?|people|persons|engineers|staff|resources|heads|fte|ftes|bodies)"
_CAPACITY = [
    re.compile(rf"\b(\d{{1,3}})\s*\+?\s*(?:or more\s+|plus\s+)?(?:free\s+|available\s+|spare\s+)?{_CAPACITY_UNITS}\b", re.IGNORECASE),
    re.compile(rf"\b(?:at least|min(?:imum)?(?: of)?|more than|over)\s+(\d{{1,3}})\s+(?:free\s+|available\s+)?{_CAPACITY_UNITS}\b",
               re.IGNORECASE),
    re.compile(r"\bbench of\s+(\d{1,3})\s*\+?", re.IGNORECASE),
    re.compile(rf"\b(\d{{1,3}})\s*(?:free\s+|available\s+)?{_CAPACITY_UNITS}\s*(?:or more|at least|minimum|\+)", re.IGNORECASE),
    re.compile(rf"\b(?:availability|capacity)\s+(?:is|of|at)?\s*(\d{{1,3}})\s*\+?\s*(?:{_CAPACITY_UNITS})?", re.IGNORECASE),
]
_ANY_CAPACITY = re.compile(r"\b(?:ha(?:s|ve) (?:spare |free |available )?capacity|with (?:spare |free )?capacity|"
                           r"capacity available|available capacity|spare capacity|free capacity|people available|"
                           r"consultants available)\b", re.IGNORECASE)
_TOP = [
    re.compile(rf"\b(?:top|best|shortlist(?: of)?|just the|only the|give me|pick|name)\s+{_NUM}\b(?!\s*(?:\+|{_CAPACITY_UNITS}|%))",
               re.IGNORECASE),
    re.compile(rf"\b{_NUM}\s+(?:names|partners|options|picks|candidates|suggestions|recommendations|best|strongest|"
               r"top|would you pick|you would pick|to pick|should i pick|finalists|choices)\b", re.IGNORECASE),
    re.compile(rf"\bwhich\s+{_NUM}\b(?!\s*(?:\+|{_CAPACITY_UNITS}))", re.IGNORECASE),
]
_ORDER_BY_CAPACITY = re.compile(r"\b(?:(?:sort|order|rank)(?:ed)? by (?:capacity|availability|available consultants|bench)|"
                                r"most (?:available )?(?:consultants|capacity|people)|biggest bench|largest bench|"
                                r"most available)\b", re.IGNORECASE)
_ROLE = re.compile(r"\b(lead|support)\s+(?:partners?|role|ones?)\b|\bas (?:the )?(lead|support)\b|\bonly (leads|lead)\b",
                   re.IGNORECASE)
_EXCLUDE_CUES = ("except", "excluding", "exclude", "apart from", "other than", "besides", "but not", "not", "without",
                 "drop", "remove", "minus", "ignore", "skip", "leave out", "leaving out", "instead of", "already tried",
                 "tried", "no", "rather than", "aside from", "beyond", "not including", "anyone but", "anybody but")


@dataclass(frozen=True)
class Constraints:
    co_sell_ready: bool = False
    min_capacity: int | None = None       # consultants available in the next 90 days, at least
    top_n: int | None = None
    excluded: tuple[str, ...] = ()        # partner ids left out
    role: str = ""                        # "Lead" | "Support"
    order: str = ""                       # "" (best fit first) | "capacity" (most consultants available first)

    def partner_filters(self) -> bool:
        return self.co_sell_ready or self.min_capacity is not None or bool(self.role)

    def merged(self, newer: Constraints) -> Constraints:
        """A follow-up's constraints on top of these: stated values replace, exclusions add up."""
        return Constraints(co_sell_ready=self.co_sell_ready or newer.co_sell_ready,
                           min_capacity=newer.min_capacity if newer.min_capacity is not None else self.min_capacity,
                           top_n=newer.top_n if newer.top_n is not None else self.top_n,
                           excluded=tuple(dict.fromkeys(self.excluded + newer.excluded)),
                           role=newer.role or self.role, order=newer.order or self.order)

    def customer_only(self) -> Constraints:
        """What still holds when the subject changes: nothing about the previous list of partners."""
        return replace(self, co_sell_ready=False, min_capacity=None, top_n=None, excluded=(), role="", order="")


def _number(word: str) -> int | None:
    word = word.lower()
    if word.isdigit():
        return int(word)
    return _NUMBERS.get(word)


def read_constraints(text: str, partner_ids: list[str], catalog: Catalog) -> Constraints:
    """The constraints stated in `text` (English words); `partner_ids` are the partners it names."""
    co_sell = bool(_CO_SELL.search(text)) and not _NOT_CO_SELL.search(text)
    capacity = None
    for pattern in _CAPACITY:
        match = pattern.search(text)
        if match:
            capacity = int(match.group(1))
            break
    order = "capacity" if _ORDER_BY_CAPACITY.search(text) else ""
    if capacity is None and not order and _ANY_CAPACITY.search(text):
        capacity = 1
    top = None
    for pattern in _TOP:
        match = pattern.search(text)
        if match:
            value = _number(match.group(1))
            if value and 0 < value <= 25:
                top = value
                break
    role_match = _ROLE.search(text)
    role = next((g for g in role_match.groups() if g), "").rstrip("s").capitalize() if role_match else ""
    excluded = tuple(pid for pid in partner_ids if _excluded(text, pid, catalog))
    return Constraints(co_sell_ready=co_sell, min_capacity=capacity, top_n=top, excluded=excluded, role=role,
                       order=order)


def _excluded(text: str, partner_id: str, catalog: Catalog) -> bool:
    """The partner is named right after an exclusion cue ("apart from X", "we already tried X", "drop X")."""
    lowered = " " + normalize(text) + " "
    partner = catalog.partners.get(partner_id)
    names = [normalize(partner.name)] if partner else []
    names += [p for p, ents in catalog.vocabulary.phrases.items()
              if any(e.kind == "partner" and e.name == partner_id for e in ents)]
    for name in dict.fromkeys(n for n in names if n):
        for match in re.finditer(rf" {re.escape(name)} ", lowered):
            before = " ".join(lowered[:match.start()].split()[-5:])
            cues = "|".join(re.escape(c) for c in _EXCLUDE_CUES)
            if re.search(rf"(?:^| )(?:{cues})(?: (?:for|the|with|from|out|partner|using))?$", before):
                return True
            after = lowered[match.end():].split()[:4]
            if after[:2] in (["not", "please"], ["excluded"]) or " ".join(after[:3]).startswith(("is out", "is excluded")):
                return True
    return False
