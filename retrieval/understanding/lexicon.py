"""The catalog's own vocabulary, indexed for tolerant matching: built once per loaded catalog.

Targets are the phrases a misspelt word may stand for: workload, play, specialization, program,
industry and segment names and aliases, partner names, the places the catalog works in, and the
question words the engine reads ("partner", "recommend", "specialization"). `known` holds every
word that is never corrected (stop words, catalog words, place words, other languages' words).
"""
from __future__ import annotations

import functools
import re
import weakref
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pycountry
from wordfreq import top_n_list

from knowledge.geography import Place, place_phrases
from knowledge.structured_files import read_data_file
from retrieval.catalog import Catalog, normalize
from retrieval.linking import STOPWORDS
from retrieval.understanding.language import function_words

_DATA = Path(__file__).resolve().parent.parent / "data" / "shorthand.yaml"
_VOWELS = re.compile(r"(?<=\S)[aeiouy]")     # not a word's first letter
_DOUBLED = re.compile(r"(.)\1+")
# How many of the most frequent English words count as ordinary words (wordfreq's own lists, shipped
# with the package): "open", "won", "rollout" are never read as a misspelt name or glued into a product.
COMMON_ENGLISH_WORDS = 30_000

# Question words worth correcting ("partnr", "recomend", "specializaton"): the engine reads them.
QUESTION_WORDS = ("partner", "partners", "recommend", "specialization", "specializations", "designation",
                  "incentive", "incentives", "funding", "opportunity", "opportunities", "deliver", "customer",
                  "consultants", "available", "enterprise", "suggest", "suggestions", "which", "looking", "except",
                  "excluding", "pipeline", "unattached", "coverage", "capacity", "certified", "eligible")


@functools.cache
def common_english() -> frozenset[str]:
    """The most frequent English words: ordinary words, never a misspelt catalog name."""
    return frozenset(w for w in top_n_list("en", COMMON_ENGLISH_WORDS) if w.isalpha())


@functools.lru_cache(maxsize=1)
def shorthand() -> dict[str, Any]:
    data: dict[str, Any] = read_data_file(_DATA)
    return data


def skeleton(phrase: str) -> str:
    """A spelling's consonant outline: vowels after each word's first letter dropped, doubled letters merged.
    'sentinnel' and 'sentinel', 'Nethrelands' and 'netherlands', 'managment' and 'management' agree."""
    return _DOUBLED.sub(r"\1", _VOWELS.sub("", " ".join(phrase.lower().split())))


@dataclass(frozen=True)
class Target:
    phrase: str      # normalised, as matched
    text: str        # written in its place, so the exact linker reads it
    key: str         # what it names (two phrases of one thing are not ambiguous)
    kind: str        # workload, partner, place, word, ...


@dataclass
class Lexicon:
    known: set[str] = field(default_factory=set)
    buckets: dict[tuple[int, str], list[Target]] = field(default_factory=lambda: defaultdict(list))
    bucket_phrases: dict[tuple[int, str], list[str]] = field(default_factory=lambda: defaultdict(list))  # in step
    skeletons: dict[str, list[Target]] = field(default_factory=lambda: defaultdict(list))
    countries: frozenset[str] = frozenset()          # alpha-2 codes the catalog works in
    places: dict[str, str] = field(default_factory=dict)   # place phrase (one or two words) -> its name
    two_word_places: list[str] = field(default_factory=list)   # the two-word place phrases ('united states')
    partner_names: dict[str, str] = field(default_factory=dict)   # normalised partner name -> partner name
    company_suffixes: frozenset[str] = frozenset()  # last words of company names ("consulting", "gmbh")
    # a word that comes before a number in a catalog name -> those numbers ("windows" -> {"365"})
    numbered: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    max_words: int = 4

    def add(self, phrase: str, text: str, key: str, kind: str, *, normal: bool = False) -> None:
        """`normal`: the phrase is normalised already."""
        phrase = phrase if normal else normalize(phrase)
        words = phrase.split()
        if not words or len(words) > self.max_words or (len(words) == 1 and len(phrase) < 5):
            return
        target = Target(phrase, text, key, kind)
        if kind != "partner":
            for word, number in zip(words, words[1:], strict=False):
                if number.isdigit() and not word.isdigit():
                    self.numbered[word].add(number)
        self.buckets[(len(words), phrase[0])].append(target)
        self.bucket_phrases[(len(words), phrase[0])].append(phrase)
        self.skeletons[skeleton(phrase)].append(target)


_LEXICONS: weakref.WeakKeyDictionary[Catalog, Lexicon] = weakref.WeakKeyDictionary()


def lexicon(catalog: Catalog) -> Lexicon:
    found = _LEXICONS.get(catalog)
    if found is None:
        found = _build(catalog)
        _LEXICONS[catalog] = found
    return found


def catalog_countries(catalog: Catalog) -> frozenset[str]:
    codes: set[str] = set()
    for partner in catalog.partners.values():
        codes.update(partner.countries)
        if partner.hq_country:
            codes.add(partner.hq_country)
    for row in catalog.map_rows:
        codes.update(row.countries)
    codes.update(country for country in set(catalog.opportunities.column("country")) if country)
    return frozenset(codes)


def _build(catalog: Catalog) -> Lexicon:
    lex = Lexicon(countries=catalog_countries(catalog))
    vocab = catalog.vocabulary
    data = shorthand()
    lex.known = set(STOPWORDS) | set(vocab.words) | function_words() | {w.lower() for w in data.get("common_words", [])}
    lex.known |= {w.lower() for w in data.get("expand", {})}
    for phrase in place_phrases():
        lex.known.update(phrase.split())
    for phrase, entities in vocab.phrases.items():
        for entity in entities:
            if entity.kind == "partner":
                continue
            lex.add(phrase, phrase, f"{entity.kind}:{entity.name}", entity.kind)
    for partner in catalog.partners.values():
        normal = catalog.normal_names[partner.id]
        lex.add(normal, partner.name, f"partner:{partner.id}", "partner", normal=True)
        lex.partner_names[normal] = partner.name
    endings = Counter(name.split()[-1] for name in lex.partner_names if len(name.split()) > 1)
    lex.company_suffixes = frozenset({w for w, n in endings.items() if n >= 2}
                                     | {str(w).lower() for w in data.get("company_suffixes", [])})
    for phrase, place in place_phrases().items():
        if _catalog_place(place, lex.countries) and not phrase.startswith("the "):
            text = place.label if not place.is_group else phrase
            lex.add(phrase, text, "place:" + ",".join(place.codes), "place")
            if len(phrase.split()) <= 2:
                lex.places[phrase] = text
            if len(phrase.split()) == 2:
                lex.two_word_places.append(phrase)
    for word in QUESTION_WORDS:
        lex.add(word, word, "word:" + word, "word")
    return lex


def _catalog_place(place: Place, countries: frozenset[str]) -> bool:
    return bool(place.codes) and all(code in countries for code in place.codes) if place.is_group \
        else bool(place.codes) and place.codes[0] in countries


@functools.lru_cache(maxsize=4096)
def country_for_code(token: str) -> tuple[str, str] | None:
    """(alpha-2, name) for a two- or three-letter ISO code in any letter case; None otherwise."""
    token = token.upper()
    country = pycountry.countries.get(alpha_2=token) if len(token) == 2 else \
        pycountry.countries.get(alpha_3=token) if len(token) == 3 else None
    if country is None:
        return None
    return country.alpha_2, str(getattr(country, "common_name", None) or country.name)
