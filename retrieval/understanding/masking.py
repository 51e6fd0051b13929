"""The shape of a question: linked names replaced by placeholders, foreign question words put in English.

"is Deltawave Consulting on the map for AKS in France?" becomes "is <partner> on the map for <workload> in
<country>?". The intent classifier compares shapes, not names, so what it learned from one catalog holds for
another whose partners and workloads it has never seen.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import pycountry

from knowledge.geography import ambiguous_codes, place_phrases
from knowledge.structured_files import read_data_file
from retrieval.catalog import Vocabulary, normalize

_FOREIGN_WORDS = Path(__file__).resolve().parents[1] / "data" / "intent" / "foreign_words.yaml"
# Latin words (with accents) and runs of Japanese script apart: "日本でAKSに対応" is three tokens.
_WORD = re.compile(r"[0-9A-Za-z\u00c0-\u024f&+#_']+|[\u3040-\u30ff\u3400-\u9fff\uff66-\uff9f]+")
# Japanese has no spaces: its question words are replaced as substrings.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]")
PLACEHOLDERS: Mapping[str, str] = {
    "workload": "<workload>", "solution_play": "<workload>", "solution_area": "<workload>",
    "specialization": "<specialization>", "designation": "<specialization>", "partner": "<partner>",
    "industry": "<industry>", "segment": "<segment>", "program": "<program>", "incentive": "<program>",
}
_OPPORTUNITY_ID = re.compile(r"\b[A-Za-z]{2,6}[- ]?\d{3,}\b")
_AMOUNT = re.compile(r"(?:[$€£]\s*\d[\d,.]*\s*(?:k|m|mm|mn|bn|thousand|million)?\b"
                     r"|\b\d[\d,.]*\s*(?:k|m|mm|mn|bn|thousand|million|mil|usd|dollars|dólares|\$)(?!\w))",
                     re.IGNORECASE)
# Place names that are ordinary words in lower case ("turkey", "chad"): a place only when capitalised.
_CASE_SENSITIVE_PLACES = frozenset({"polish", "turkey", "chad", "jordan", "georgia", "guinea", "china", "the us",
                                    "us", "man", "niger", "french", "english", "american"})


@functools.lru_cache(maxsize=1)
def foreign_words() -> dict[str, str]:
    """Common question words in German, French, Spanish, Portuguese, Italian and Japanese -> English."""
    data = read_data_file(_FOREIGN_WORDS) or {}
    out: dict[str, str] = {}
    for _language, words in data.items():
        for foreign, english in (words or {}).items():
            out[str(foreign).lower()] = str(english)
    return out


_BRITISH = re.compile(r"is(ations?)\b")


def mask(text: str, vocabulary: Vocabulary, *, english: bool = True) -> str:
    """The question with every catalog name, place, amount and opportunity id replaced by a placeholder;
    with `english`, common foreign question words are then put in English."""
    text = _OPPORTUNITY_ID.sub(" <opportunity> ", text)
    text = _AMOUNT.sub(" <amount> ", text)
    text = _mask_names(text, vocabulary)
    if english:
        # names first, so a catalog name is never translated; then places named in another language
        text = _mask_names(to_english(text), vocabulary)
    text = _BRITISH.sub(r"iz\1", text)   # "specialisation", "organisation": the bank is spelt the American way
    return " ".join(text.split())


def to_english(text: str) -> str:
    words = foreign_words()
    if not words:
        return text
    out: list[str] = []
    last = 0
    for match in _WORD.finditer(text):
        english = words.get(match.group(0).lower())
        if english is not None:
            out += [text[last:match.start()], english]
            last = match.end()
    out.append(text[last:])
    result = "".join(out)
    for phrase, english in _cjk_phrases(tuple(sorted(words.items()))):
        result = result.replace(phrase, f" {english} ")
    return result


@functools.lru_cache(maxsize=4)
def _cjk_phrases(words: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    return sorted(((w, e) for w, e in words if _CJK.search(w)), key=lambda we: -len(we[0]))


def _mask_names(text: str, vocabulary: Vocabulary) -> str:
    places = place_phrases()
    tokens = list(_WORD.finditer(text))
    lower = [t.group(0).lower() for t in tokens]
    spans: list[tuple[int, int, str]] = []
    max_len = max(vocabulary.max_len, 6)
    i = 0
    while i < len(tokens):
        if lower[i].startswith("<"):
            i += 1
            continue
        found = None
        for length in range(min(max_len, len(tokens) - i), 0, -1):
            phrase = " ".join(lower[i:i + length])
            entities = vocabulary.phrases.get(phrase)
            if entities:
                found = (length, PLACEHOLDERS.get(entities[0].kind, "<name>"))
                break
            if phrase in places and not (phrase in _CASE_SENSITIVE_PLACES and not tokens[i].group(0)[0].isupper()):
                found = (length, "<country>")
                break
        if found is None and _is_country_code(tokens[i].group(0)):
            found = (1, "<country>")
        if found is None:
            i += 1
            continue
        length, placeholder = found
        spans.append((tokens[i].start(), tokens[i + length - 1].end(), placeholder))
        i += length
    out: list[str] = []
    last = 0
    for start, end, placeholder in spans:
        out += [text[last:start], f" {placeholder} "]
        last = end
    out.append(text[last:])
    return "".join(out)


def _is_country_code(token: str) -> bool:
    """"DE", "GB": upper-case ISO codes (not those that are also words, like "IT" or "IN")."""
    return len(token) == 2 and token.isupper() and token.isalpha() and token not in ambiguous_codes() \
        and pycountry.countries.get(alpha_2=token) is not None


def names_vocabulary(named: Iterable[tuple[str, str]]) -> Vocabulary:
    """A vocabulary of just these (kind, name) pairs with the aliases a catalog would give them."""
    from retrieval.catalog import Entity, _alias_data, _derived_aliases  # noqa: PLC0415 - shared alias rules

    vocab = Vocabulary()
    aliases = _alias_data()
    for kind, name in named:
        entity = Entity(kind, name, name)
        vocab.add(name, entity)
        for alias in _derived_aliases(kind, name) + list(aliases.get(kind + "s", {}).get(name, []) or []):
            vocab.add(alias, entity, alias=True)
        if kind == "partner":
            first = normalize(name).split()[0]
            if len(first) >= 5:
                vocab.add(first, entity, alias=True)
    return vocab
