"""Questions in German, French, Spanish, Portuguese, Italian and Japanese, read in English words.

The language is told apart by its common words (Japanese by its script); then its question and filter
words (data/languages.yaml) and its country names (pycountry's own translations, loaded from the
installed package, nothing downloaded) are replaced by the English words the rest of the engine reads.
Product names are left as typed: sellers write them in Latin letters in every language. A country
name in another language is read even inside an English sentence ("AKS in Deutschland").
"""
from __future__ import annotations

import functools
import gettext
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pycountry

from knowledge.structured_files import read_data_file

_DATA = Path(__file__).resolve().parent.parent / "data" / "languages.yaml"
LANGUAGES = ("de", "fr", "es", "pt", "it", "ja")
NAMES = {"en": "English", "de": "German", "fr": "French", "es": "Spanish", "pt": "Portuguese", "it": "Italian",
         "ja": "Japanese"}
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]")
_WORD = re.compile(r"[\w'’-]+")
_WORDS = re.compile(r"\w+")
# English words that show a question is English even when it holds a foreign word or two
_ENGLISH_MARKERS = frozenset("the is are who which what for with and any can partner partners customer in on of "
                             "to a an me my we our there does do please need looking".split())


@dataclass(frozen=True)
class Translation:
    text: str
    language: str          # "en" when no other language was recognised

    @property
    def language_name(self) -> str:
        return NAMES.get(self.language, self.language)


@functools.lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    data: dict[str, Any] = read_data_file(_DATA)
    return data


def _label(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    return str(getattr(country, "common_name", None) or country.name) if country else code


@functools.cache
def country_names(language: str) -> dict[str, str]:
    """Country name in `language` (lower case) -> English name, from pycountry's gettext catalogs."""
    try:
        tr = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language])
    except OSError:
        return {}
    out: dict[str, str] = {}
    for country in pycountry.countries:
        english = _label(country.alpha_2)
        for attr in ("name", "common_name", "official_name"):
            name = getattr(country, attr, None)
            if not name:
                continue
            local = tr.gettext(name)
            variants = {local, local.split(",")[0], re.sub(r"\s*\(.*?\)\s*", "", local), *re.findall(r"\((.+?)\)", local)}
            if language == "de":   # dative after "in den": "Niederlanden", "Vereinigten Staaten"
                variants |= {re.sub(r"e\b", "en", v) for v in variants if re.search(r"e\b", v)}
            for variant in variants:
                variant = variant.strip().lower()
                if len(variant) >= 2 and variant != english.lower():
                    out.setdefault(variant, english)
    for code, words in (_data().get(language, {}).get("demonyms") or {}).items():
        for word in words:
            out.setdefault(word.lower(), _label(code))
    return out


@functools.lru_cache(maxsize=1)
def _everywhere() -> dict[str, str]:
    """Foreign country names read in any sentence: long enough not to be an English word."""
    out: dict[str, str] = {}
    for language in LANGUAGES:
        if language == "ja":
            continue
        for name, english in country_names(language).items():
            if len(name) >= 5 and " " not in name.strip() or len(name) >= 8:
                out.setdefault(_key(name), english)
    return out


@functools.cache
def _table(language: str) -> dict[str, str]:
    """Every phrase of a language (its words joined by single spaces, lower case) -> its English reading."""
    entry = _data().get(language, {}) or {}
    table = {_key(k): str(v) for k, v in (entry.get("phrases") or {}).items()}
    for name, english in country_names(language).items():
        table.setdefault(_key(name) if language != "ja" else name, english)
    return table


@functools.cache
def _japanese_pattern() -> re.Pattern[str]:
    table = _table("ja")
    return re.compile("|".join(re.escape(k) for k in sorted(table, key=len, reverse=True)))


def _key(phrase: str) -> str:
    return " ".join(_WORDS.findall(phrase.lower()))


def _replace(text: str, table: dict[str, str]) -> str:
    """Each longest run of words that is a key of `table` replaced by its value (word n-grams looked up
    in a dict: hyphens and apostrophes separate words, so "Microsoft-Zuschüsse" and "Pays-Bas" match)."""
    if not table:
        return text
    longest = _longest(id(table), table)
    spans = [(m.start(), m.end(), m.group(0).lower()) for m in _WORDS.finditer(text)]
    out: list[str] = []
    last = k = 0
    while k < len(spans):
        for n in range(min(longest, len(spans) - k), 0, -1):
            english = table.get(" ".join(w for _, _, w in spans[k:k + n]))
            if english is not None:
                out += [text[last:spans[k][0]], english]
                last, k = spans[k + n - 1][1], k + n
                break
        else:
            k += 1
    return "".join(out) + text[last:]


_LONGEST: dict[int, int] = {}


def _longest(key: int, table: dict[str, str]) -> int:
    if key not in _LONGEST:
        _LONGEST[key] = max((len(k.split()) for k in table), default=1)
    return _LONGEST[key]


def function_words() -> frozenset[str]:
    """Words of the other languages that are never a misspelt catalog name."""
    words: set[str] = set()
    for language in LANGUAGES:
        entry = _data().get(language, {}) or {}
        words.update(w.lower() for w in entry.get("function_words") or [])
        words.update(w.lower() for w in entry.get("markers") or [])
        for phrase in entry.get("phrases") or {}:
            words.update(str(phrase).lower().split())
    return frozenset(words)


@functools.cache
def _markers(language: str) -> tuple[frozenset[str], frozenset[str]]:
    """The language's common words, and its own words spelt with its letters (außer, quién, não):
    one of those is strong evidence."""
    entry = _data().get(language, {}) or {}
    markers = frozenset(m.lower() for m in entry.get("markers") or [])
    accented = frozenset(p.lower() for p in entry.get("phrases") or {} if not p.isascii() and " " not in p)
    return markers, accented


def detect(text: str) -> str:
    if _JAPANESE.search(text):
        return "ja"
    words = {w.lower().strip("'’-") for w in _WORD.findall(text)}
    english = len(words & _ENGLISH_MARKERS)
    best, hits = "en", 1
    for language in LANGUAGES[:-1]:
        markers, accented = _markers(language)
        count = len(words & markers) + 2 * len(words & accented)
        if count > hits and count > english:
            best, hits = language, count
    return best


def to_english(text: str) -> Translation:
    """The question with the recognised language's words replaced by English ones."""
    text = unicodedata.normalize("NFC", text)
    language = detect(text)
    if language == "ja":
        return Translation(_japanese(text), language)
    if language != "en":
        text = _replace(text, _table(language))
    return Translation(_replace(text, _everywhere()), language)


def _japanese(text: str) -> str:
    """Japanese has no spaces: lexicon entries and country names are found as substrings, the Latin
    product names between them are kept, and what is left of the Japanese is dropped."""
    table = _table("ja")
    text = _japanese_pattern().sub(lambda m: f" {table[m.group(0)]} ", text)
    text = unicodedata.normalize("NFKC", text)                 # full-width Latin and digits to ASCII
    text = _JAPANESE.sub(" ", text)
    text = re.sub(r"[、。？！「」（）・]", " ", text)
    return re.sub(r"\s+", " ", text).strip()
