"""Linking that tolerates how people write: shorthand, lower-case country codes and misspellings.

Runs before the exact linker (retrieval/linking.py) and rewrites the question so it reads the
catalog's own words: "k8s" -> "Kubernetes", "in nl" -> "in Netherlands", "sentinnel" -> "sentinel",
"azure kubernetis servce" -> "azure kubernetes service". Guards: a word shorter than four letters is
never corrected; a known word (stop words, catalog words, other languages' words, common chat
words) is never corrected; "in" / "it" / "no" stay words; a code is a country only where the sentence
allows one (after "in", "for", ..., or set apart by punctuation) and only for a country the catalog
works in; a close call between two names is not decided but offered ("did you mean …?").
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from itertools import islice

from rapidfuzz import fuzz, process

from knowledge.geography import ambiguous_codes
from retrieval.catalog import Catalog
from retrieval.understanding.lexicon import (
    Lexicon,
    Target,
    common_english,
    country_for_code,
    lexicon,
    shorthand,
    skeleton,
)

AUTO = 90.0          # a spelling this close is read as the name
OUTLINE = 78.0       # ... or this close, when the consonant outlines agree
OFFER = 75.0         # ... or this close: offered as "did you mean"
WORD = 70.0          # every typed word of a phrase at least this close to the name's word
_TOKEN = re.compile(r"[\w&+#]+")
_GLUED_NUMBER = re.compile(r"\b([A-Za-z]{4,})(\d{2,4})\b")
_NUMBERED = re.compile(r"\b([A-Za-z]{3,})\s+(\d{2,4})\b")
_PLACE_CUES = frozenset("in for from across at to customer cust based located hq".split())


@dataclass(frozen=True)
class Correction:
    typed: str
    read_as: str
    kind: str


@dataclass(frozen=True)
class Unresolved:
    """A stated fact that could not be placed: the words typed and what they may have meant."""

    typed: str
    kind: str                         # "place", "partner" or "name" (any other catalog name)
    candidates: tuple[str, ...] = ()


@dataclass
class Tolerant:
    text: str
    corrections: list[Correction] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)


@functools.cache
def _expansions(english: bool) -> tuple[re.Pattern[str], dict[str, str]]:
    only_english = {str(w).lower() for w in shorthand().get("english_only", [])}
    table = {str(k).lower(): str(v) for k, v in shorthand()["expand"].items() if english or str(k).lower() not in only_english}
    keys = sorted(table, key=len, reverse=True)
    return re.compile(rf"(?<![\w&-])(?:{'|'.join(re.escape(k) for k in keys)})(?![\w&-])", re.IGNORECASE), table


@functools.lru_cache(maxsize=1)
def _not_codes() -> frozenset[str]:
    return frozenset(str(w).lower() for w in shorthand()["not_codes"])


def expand_shorthand(text: str, language: str = "en") -> str:
    pattern, table = _expansions(language == "en")
    return pattern.sub(lambda m: table[m.group(0).lower()], text)


def normalize_ids(text: str, catalog: Catalog) -> str:
    """'opp 20543', 'opportunity #20543', 'opp-20543' -> 'OPP-20543' when the pipeline has that id."""
    def fix(match: re.Match[str]) -> str:
        for prefix in _prefixes(catalog):
            candidate = f"{prefix}-{match.group(2)}"
            if candidate in catalog.opportunities:
                return candidate
        return match.group(0)
    return re.sub(r"\b(opp|opps|oppty|opportunity|opportunities)\s*[-#:]?\s*(\d{3,})\b", fix, text, flags=re.IGNORECASE)


def _prefixes(catalog: Catalog) -> list[str]:
    return sorted({oid.split("-")[0] for oid in islice(catalog.opportunities, 200) if "-" in oid})   # not every id


def tolerate(text: str, catalog: Catalog, language: str = "en") -> Tolerant:
    """The question rewritten in the catalog's words, with what was corrected and what was not placed."""
    lex = lexicon(catalog)
    text, numbers = transposed_numbers(split_glued_numbers(expand_shorthand(normalize_ids(text, catalog), language),
                                                           lex), lex)
    out = Tolerant(text)
    out.corrections.extend(numbers)
    tokens = [(m.start(), m.end(), m.group(0)) for m in _TOKEN.finditer(text)]
    replacements: list[tuple[int, int, str]] = []
    k = floor = 0
    while k < len(tokens):
        start, end, word = tokens[k]
        code = _code(text, tokens, k, lex)
        if code is not None:
            replacements.append((start, end, code))
            out.corrections.append(Correction(word, code, "place"))
            k = floor = k + 1
            continue
        place = _misspelt_place(text, tokens, k, lex)
        if place is not None:
            last, name = place
            typed = text[start:tokens[last][1]]
            replacements.append((start, tokens[last][1], name))
            out.corrections.append(Correction(typed, name, "place"))
            k = floor = last + 1
            continue
        short = _short_unknown(word, lex)
        if not _unknown(word, lex) and not short:
            k += 1
            continue
        # a three-letter word is only corrected inside a longer name ("entra idd"), never on its own
        hit = _best_window(text, tokens, k, lex, floor, min_length=2 if short else 1)
        if hit is None:
            k += 1
            continue
        first, last, target, score, rivals = hit
        typed = text[tokens[first][0]:tokens[last][1]]
        if target.kind != "word" and all(t[2].lower() in common_english() for t in tokens[first:last + 1]):
            k += 1
            continue    # ordinary English words ("open", "won") are never a misspelt name; a question word may be
        context = target.kind != "place" or score >= AUTO or _place_context(text, tokens, first, last)
        if rivals or not context or score < _needed(typed, target):
            if target.kind == "word" and not rivals:
                k += 1
                continue            # a question word spelt oddly is not a fact to ask about
            if all(u.typed != typed for u in out.unresolved):
                out.unresolved.append(Unresolved(typed, target.kind if target.kind in ("place", "partner") else "name",
                                                 tuple(dict.fromkeys([target.text, *rivals]))))
            k += 1
            continue
        replacements.append((tokens[first][0], tokens[last][1], target.text))
        out.corrections.append(Correction(typed, target.text, target.kind))
        k = floor = last + 1
    for start, end, new in reversed(replacements):
        text = text[:start] + new + text[end:]
    out.text = text
    fixed = {c.typed for c in out.corrections} | {u.typed for u in out.unresolved}
    for k in range(1, len(tokens)):
        word = tokens[k][2]
        if tokens[k - 1][2].lower() in ("in", "from", "across") and word[:1].isupper() and not word.isupper() \
                and word not in fixed \
                and _unknown(word, lex) and not (k + 1 < len(tokens) and tokens[k + 1][2][:1].isupper()):
            out.unresolved.append(Unresolved(word, "place", _nearest_places(word, lex)))
    return out


def transposed_numbers(text: str, lex: Lexicon) -> tuple[str, list[Correction]]:
    """'windows 356', 'dynamics 356' -> '… 365': a number after a word the catalog numbers, its digits the same
    as the one number of the catalog's after that word but in another order (a slip of the fingers). A number
    the catalog uses after that word, or one whose digits differ, is left as typed."""
    corrections: list[Correction] = []

    def fix(match: re.Match[str]) -> str:
        word, number = match.group(1), match.group(2)
        numbers = lex.numbered.get(word.lower())
        if not numbers or number in numbers:
            return match.group(0)
        same_digits = [n for n in numbers if n != number and sorted(n) == sorted(number)]
        if len(same_digits) != 1:
            return match.group(0)
        corrections.append(Correction(match.group(0), f"{word} {same_digits[0]}", "name"))
        return f"{word} {same_digits[0]}"
    return _NUMBERED.sub(fix, text), corrections


def split_glued_numbers(text: str, lex: Lexicon) -> str:
    """'dynamics365', 'Office365' -> 'dynamics 365': a catalog word glued to a number the catalog also uses."""
    def split(match: re.Match[str]) -> str:
        letters, digits = match.group(1), match.group(2)
        return f"{letters} {digits}" if letters.lower() in lex.known and digits in lex.known else match.group(0)
    return _GLUED_NUMBER.sub(split, text)


def _misspelt_place(text: str, tokens: list[tuple[int, int, str]], k: int, lex: Lexicon) -> tuple[int, str] | None:
    """A two-word place with one word misspelt into another English word ('in Unites States'): the other word
    exactly the place's, the pair AUTO close, where the sentence allows a place. Ordinary words are otherwise
    never corrected."""
    if k + 1 >= len(tokens):
        return None
    typed = [tokens[k][2].lower(), tokens[k + 1][2].lower()]
    if not all(w.isalpha() and len(w) >= 4 for w in typed) or " ".join(typed) in lex.places:
        return None
    found = process.extractOne(" ".join(typed), list(lex.two_word_places), scorer=fuzz.ratio, score_cutoff=AUTO)
    if found is None:
        return None
    wanted = found[0].split()
    if sum(a == b for a, b in zip(typed, wanted, strict=True)) != 1 or not _word_by_word(" ".join(typed), found[0]) \
            or not _place_context(text, tokens, k, k + 1):
        return None
    return k + 1, lex.places[found[0]]


def _needed(typed: str, target: Target) -> float:
    """'git hub copilto' and 'github copilot' share an outline once the spaces go."""
    same = skeleton(typed).replace(" ", "") == skeleton(target.phrase).replace(" ", "")
    return OUTLINE if same else AUTO


def _short_unknown(word: str, lex: Lexicon) -> bool:
    lower = word.lower()
    return len(lower) == 3 and lower.isalpha() and lower not in lex.known


def _unknown(word: str, lex: Lexicon) -> bool:
    lower = word.lower()
    return len(lower) >= 4 and lower.isalpha() and lower not in lex.known


def _best_window(text: str, tokens: list[tuple[int, int, str]], k: int, lex: Lexicon, floor: int,
                 min_length: int = 1) -> tuple[int, int, Target, float, list[str]] | None:
    """The best-matching phrase over the windows of one to four words around token k (none before `floor`).

    Windows that would be accepted beat those that would not, then those covering more unknown words,
    then the closer spelling."""
    best: tuple[tuple[bool, int, float], int, int, Target, float, list[str]] | None = None
    for length in range(min(lex.max_words, len(tokens)), min_length - 1, -1):
        for first in range(max(floor, k - length + 1), min(k, len(tokens) - length) + 1):
            last = first + length - 1
            words = [t[2] for t in tokens[first:last + 1]]
            window = " ".join(w.lower() for w in words)
            scored = _scored(window, length, lex)
            if not scored:
                continue
            scored.sort(key=lambda st: -st[0])
            score, target = scored[0]
            rivals = list(dict.fromkeys(t.text for s_, t in scored[1:] if s_ >= score - 3 and t.text.lower() != target.text.lower()
                                        and t.key != target.key))
            unknown = sum(_unknown(w, lex) for w in words)
            key = (score >= _needed(window, target), unknown, score)
            if best is None or key > best[0]:
                best = (key, first, last, target, score, rivals)
    if best is None:
        return None
    return best[1], best[2], best[3], best[4], best[5]


def _word_by_word(window: str, phrase: str) -> bool:
    """Each typed word looks like the name's word in its place ("the old" is not "the poland")."""
    typed, wanted = window.split(), phrase.split()
    return len(typed) != len(wanted) or all(fuzz.ratio(a, b) >= WORD for a, b in zip(typed, wanted, strict=True))


def _scored(window: str, length: int, lex: Lexicon) -> list[tuple[float, Target]]:
    """Names of as many words, or one fewer ("git hub copilot"), starting with the same letter, and names
    with the same consonant outline, that are at least OFFER close; scored in rapidfuzz's own loop."""
    found: dict[int, tuple[float, Target]] = {}
    for key in ((length, window[0]), (length - 1, window[0])):
        phrases = lex.bucket_phrases.get(key)
        if not phrases:
            continue
        targets = lex.buckets[key]
        for _, score, index in process.extract(window, phrases, scorer=fuzz.ratio, score_cutoff=OFFER, limit=None):
            found[id(targets[index])] = (score, targets[index])
    for target in lex.skeletons.get(skeleton(window), []):
        score = fuzz.ratio(window, target.phrase)
        if score >= OFFER:
            found[id(target)] = (score, target)
    return [(score, target) for score, target in found.values() if _word_by_word(window, target.phrase)]


def _code(text: str, tokens: list[tuple[int, int, str]], k: int, lex: Lexicon) -> str | None:
    """A lower-case (or upper-case) country code where the sentence allows one: 'in nl', 'jpn cust', 'sgp:'."""
    start, end, word = tokens[k]
    lower = word.lower()
    if word.isupper() and len(word) == 2 and word in ambiguous_codes():
        # 'in ES', 'for IT', 'customer AT': a code that is also a word ('es', 'it', 'at') counts as a country
        # only in capitals right after a place word ("IT partners" stays IT)
        found = country_for_code(word)
        cue = k > 0 and tokens[k - 1][2].lower() in _PLACE_CUES
        return found[1] if found is not None and found[0] in lex.countries and cue else None
    if len(word) not in (2, 3) or not word.isalpha() or lower in _not_codes() or lower in lex.known:
        return None
    if word.isupper() and len(word) == 2:
        return None                      # the exact linker reads upper-case codes itself
    found = country_for_code(word)
    if found is None or found[0] not in lex.countries:
        return None
    return found[1] if _place_context(text, tokens, k, k) else None


def _place_context(text: str, tokens: list[tuple[int, int, str]], first: int, last: int) -> bool:
    """The sentence allows a place here: after 'in', 'for', 'from'..., at either end, or set apart by punctuation."""
    if first == 0 or last == len(tokens) - 1:
        return True
    if tokens[first - 1][2].lower() in _PLACE_CUES:
        return True
    before = text[tokens[first - 1][1]:tokens[first][0]]
    after = text[tokens[last][1]:tokens[last + 1][0]]
    return bool(re.search(r"[,:;/()\-–?!.]", before) or re.search(r"[,:;/()\-–?!.]", after))


def _nearest_places(word: str, lex: Lexicon) -> tuple[str, ...]:
    """Up to three places the catalog works in whose names look like `word`."""
    scored: dict[str, float] = {}
    for phrase, score, _ in process.extract(word.lower(), list(lex.places), scorer=fuzz.ratio, score_cutoff=60,
                                            limit=12):
        name = lex.places[phrase]
        scored[name] = max(scored.get(name, 0.0), score)
    return tuple(sorted(scored, key=lambda name: -scored[name])[:3])
