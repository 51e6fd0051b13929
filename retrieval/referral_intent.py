"""Recognising questions about co-sell referrals, customer wins and teaming partners up.

From what the linker found (opportunity ids, partners, workloads, places) plus the meaning words in
`data/referral_words.yaml`. Words alone never decide: a referral listing needs a state ("waiting",
"expiring", "no CRM ID") or a filter, a status question an opportunity, a referral id or a partner, a
wins question a subject, a team-up question a partner. Anything else is left to the other answers, so
"tips for getting more co-sell referrals?" still goes to the documents.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from knowledge.dates import written_date
from knowledge.structured_files import read_data_file
from retrieval.catalog import normalize
from retrieval.linking import Linked

_WORDS = Path(__file__).with_name("data") / "referral_words.yaml"
_REFERRAL_ID = re.compile(r"\b([A-Za-z]{2,6}-\d{3,})\b")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DAYS = re.compile(r"(\d{1,3})\s*(?:-\s*)?(?:days?|d|tage[n]?|jours?|d[ií]as|giorni|dagen)\b", re.IGNORECASE)
_WEEKS = re.compile(r"(\d{1,2}|a|one|two|three|four)\s*(?:-\s*)?(?:weeks?|wochen?|semaines?|semanas?|settimane?)\b",
                    re.IGNORECASE)
_NUMBER_WORDS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4}
_MONTHS = (r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
           r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?")
_DATE = re.compile(
    rf"\b(\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}[./]\d{{1,2}}[./]\d{{2,4}}|\d{{1,2}}(?:st|nd|rd|th)?\.?\s+(?:{_MONTHS})\.?,?\s+\d{{4}}|"
    rf"(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})\b", re.IGNORECASE)


@functools.lru_cache(maxsize=1)
def words() -> dict[str, Any]:
    data: dict[str, Any] = read_data_file(_WORDS)
    return data


@functools.lru_cache(maxsize=1)
def _phrases() -> dict[str, tuple[str, ...]]:
    return {meaning: tuple(normalize(str(p)) for p in phrases)
            for meaning, phrases in words().items() if isinstance(phrases, list)}


def says(text: str, meaning: str) -> bool:
    """Does the text use a phrase of this meaning (whole words, any case)?"""
    padded = " " + normalize(text) + " "
    return any(p and " " + p + " " in padded for p in _phrases()[meaning])


@dataclass(frozen=True)
class ReferralQuestion:
    kind: str                        # referral | unknown_referral | share | wins_clarify | team_up | status | unlinked | expiring | stale | reasons
                                     # | wins | list
    as_of: dt.date
    days: int | None = None          # "more than N days", "within N days"
    referral_ids: tuple[str, ...] = ()
    seller: str = ""                 # a seller's e-mail the question filters on
    partner_led: bool = False
    microsoft_led: bool = False


def as_of_date(text: str, today: dt.date) -> dt.date:
    """The date a question is asked "as of" ("as of 1 Dec 2026", "on 2026-12-01"); today without one."""
    match = _DATE.search(text)
    if not match:
        return today
    try:
        return written_date(match.group(1), default=today)
    except ValueError:
        return today


def day_count(text: str) -> int | None:
    if match := _DAYS.search(text):
        return int(match.group(1))
    if match := _WEEKS.search(text):
        n = match.group(1).lower()
        return 7 * (_NUMBER_WORDS[n] if n in _NUMBER_WORDS else int(n))
    return None


def referral_ids(text: str, known: Collection[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(m.upper() for m in _REFERRAL_ID.findall(text) if m.upper() in known))


def unknown_referral_ids(text: str, known: Collection[str]) -> tuple[str, ...]:
    """Ids written like the export's referral ids (same prefix) that it does not hold."""
    prefixes = {i.split("-", 1)[0] for i in list(known)[:50] if "-" in i}
    return tuple(dict.fromkeys(m.upper() for m in _REFERRAL_ID.findall(text)
                               if m.upper() not in known and m.split("-", 1)[0].upper() in prefixes))


def recognise(question: str, linked: Linked, known_ids: Collection[str], today: dt.date) -> ReferralQuestion | None:
    """What kind of referral / wins / team-up question this is, or None when it is none of them."""
    text = question
    ids = referral_ids(text, known_ids)
    partners = linked.names("partner")
    subject = bool(linked.names("workload") or linked.names("solution_play") or linked.names("solution_area")
                   or linked.names("industry") or linked.countries or partners)
    about_referrals = says(text, "referral")
    partner_led, microsoft_led = says(text, "partner_led"), says(text, "microsoft_led")
    context = about_referrals or partner_led or microsoft_led
    emails = _EMAIL.findall(text)

    def make(kind: str) -> ReferralQuestion:
        return ReferralQuestion(kind, as_of_date(text, today), day_count(text), ids,
                                emails[0].lower() if emails else "", partner_led, microsoft_led)

    # "how do I accept a pending referral?" is for the documents, unless it names what to list
    how_to = says(text, "how_to") and not says(text, "counting") and not (subject or ids or linked.opportunity_ids or emails or _DATE.search(text)
                                           or day_count(text) is not None)
    if ids:
        return make("referral")
    if missing := unknown_referral_ids(text, known_ids):
        return replace(make("unknown_referral"), referral_ids=missing)
    if how_to:
        return None
    if linked.opportunity_ids and partners and says(text, "share") and not says(text, "status"):
        return make("share")
    if partners and says(text, "team_up"):
        return make("team_up")
    if linked.opportunity_ids:
        # "what is the status of OPP-100?" asks about the opportunity; its referrals only when the question
        # is about sharing it ("has OPP-100 been shared?", "referral status of OPP-100")
        return make("status") if context else None
    if says(text, "unlinked") and (context or linked.countries):
        return make("unlinked")
    if says(text, "expiring") and context:
        return make("expiring")
    if says(text, "stale") and (partner_led or about_referrals):
        return make("stale")
    if says(text, "reasons") and (context or says(text, "reason_words")) and (subject or context):
        return make("reasons")
    if says(text, "wins") and subject and not context:
        return make("wins")
    if says(text, "wins_list") and not context:
        return make("wins_clarify")
    if partners and about_referrals:
        return make("status")
    if context and (subject or emails or linked.has("my")) and not linked.has("how", "what is", "what are", "why"):
        return make("list")
    return None
