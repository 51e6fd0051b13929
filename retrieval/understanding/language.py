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
import yaml

_DATA = Path(__file__).resolve().parent.parent / "data" / "languages.yaml"
LANGUAGES = ("de", "fr", "es", "pt", "it", "ja")
NAMES = {"en": "English", "de": "German", "fr": "French", "es": "Spanish", "pt": "Portuguese", "it": "Italian",
         "ja": "Japanese"}
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]")
_WORD = re.compile(r"[\w'’-]+")
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
    with _DATA.open(encoding="utf-8") as f:
        data: dict[str, Any] = yaml.safe_load(f)
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
            for variant in {local, local.split(",")[0], re.sub(r"\s*\(.*?\)\s*", "", local),
                            *re.findall(r"\((.+?)\)", local)}:
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
                out.setdefault(name, english)
    return out


@functools.cache
def _table(language: str) -> tuple[re.Pattern[str] | None, dict[str, str]]:
    """One alternation of every phrase of a language (longest first) and the English for each."""
    entry = _data().get(language, {}) or {}
    table = {k.lower(): str(v) for k, v in (entry.get("phrases") or {}).items()}
    for name, english in country_names(language).items():
        table.setdefault(name, english)
    if not table:
        return None, {}
    alternation = "|".join(re.escape(k) for k in sorted(table, key=len, reverse=True))
    if language == "ja":
        return re.compile(f"(?:{alternation})"), table
    return re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE), table


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
        pattern, table = _table(language)
        if pattern is not None:
            text = pattern.sub(lambda m: table.get(m.group(0).lower(), m.group(0)), text)
    everywhere = _everywhere()
    if everywhere:
        text = _everywhere_pattern().sub(lambda m: everywhere.get(m.group(0).lower(), m.group(0)), text)
    return Translation(text, language)


@functools.lru_cache(maxsize=1)
def _everywhere_pattern() -> re.Pattern[str]:
    names = sorted(_everywhere(), key=len, reverse=True)
    return re.compile(rf"(?<!\w)(?:{'|'.join(re.escape(n) for n in names)})(?!\w)", re.IGNORECASE)


def _japanese(text: str) -> str:
    """Japanese has no spaces: lexicon entries and country names are found as substrings, the Latin
    product names between them are kept, and what is left of the Japanese is dropped."""
    pattern, table = _table("ja")
    if pattern is not None:
        text = pattern.sub(lambda m: f" {table[m.group(0)]} ", text)
    text = unicodedata.normalize("NFKC", text)                 # full-width Latin and digits to ASCII
    text = _JAPANESE.sub(" ", text)
    text = re.sub(r"[、。？！「」（）・]", " ", text)
    return re.sub(r"\s+", " ", text).strip()
