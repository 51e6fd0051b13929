"""Entity linking: what the user typed, resolved to catalog entities, places, amounts and ids.

Exact phrase matching over the catalog vocabulary (names plus aliases), longest match first.
Words that look like a product name but match nothing are kept as `unknown_terms`, so an answer
can say "I don't know X" instead of answering for the nearest thing it does know.
"""
from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import pycountry

from knowledge.geography import Place, ambiguous_codes, place_phrases
from knowledge.values import parse_money
from retrieval.catalog import Catalog, Entity, normalize, tokenize

# Words that carry the question's shape, not its subject: never "unknown".
STOPWORDS = frozenset("""
a about above across after again against all also am an and any anyone anything are around as at available
be because been before being below best between both but by can could customer customers deal deals did do
does doing done each either else etc every everything few find for from funding get give go good got
had has have having he help her here him his hold holds how i if in into is it its just know least less like
list looking make many may me might more most much must my need needs no nor not now of off on one only or
other our out over own please project projects provide quick recommend right same say see should show so
some someone something such suggest support supports than that the their them then there these they this
those to too top under up us use using very want was we were what when where which while who whom whose why
will with within without would you your partner partners cover covers covering covered coverage deliver
delivers delivery can't dont don't does't doesn't what's who's account accounts opportunity opportunities opp
opps attached attach unattached pipeline incentive incentives fund funds funded fund eligible eligibility
program programs specialization specializations specialisation specialisations specialized designation
designations hold holding holds tell everything notes note internal concerns concern review owner worth
value size available microsoft company companies firm firms vendor vendors si sis customer's region regions
country countries market markets industry segment work working does doing able capable expert experts
experience experienced certified strong good great requirement requirements require requires required
fy fiscal year years new existing current currently which's there's okay ok thanks thank hi hello hey
team teams sell seller sellers sale selling channel manager managers ecm ecms solution solutions play plays
workload workloads area areas capacity contact contacts win wins details detail info information profile
""".split())

_CAP_WORD = re.compile(r"^[A-Z0-9][\w&+#]*$")
# Single-word place names that are also ordinary English words: only a place when capitalised.
_CASE_SENSITIVE_PLACES = frozenset({"polish", "turkey", "chad", "jordan", "georgia", "guinea", "china", "the us",
                                    "us", "man", "niger", "french", "english", "american"})
# Short place names a seller types in lower case too ("in uk"); other short ones need capitals ("NA", "DACH").
_LOWER_CASE_OK = frozenset({"uk", "usa", "uae", "u.s", "oz"})
_AMOUNT = re.compile(
    r"(?P<pre>(?:over|above|more than|greater than|at least|min(?:imum)?|>=?|under|below|less than|up to|"
    r"at most|max(?:imum)?|<=?)\s*)?"
    r"(?P<amount>(?:[$€£]|usd\s?|us\$)\s*\d[\d,]*(?:\.\d+)?\s*(?:k|m|mm|mn|bn|b|thousand|million|billion)?\b"
    r"|\d[\d,]*(?:\.\d+)?\s*(?:k|m|mm|mn|bn|thousand|million|billion)\b(?:\s*(?:usd|dollars))?"
    r"|\d[\d,]*(?:\.\d+)?\s*(?:usd|dollars)\b)",
    re.IGNORECASE,
)
_DEAL_CONTEXT = re.compile(r"(?:deal|deal size|worth|value|valued at|sized?)\s*(?:of|at|is|:)?\s*(?P<num>\d[\d,]{3,})\b",
                           re.IGNORECASE)
_OPPORTUNITY_ID = re.compile(r"\b([A-Za-z]{2,6}-\d{3,})\b")


@dataclass
class Linked:
    text: str
    words: set[str] = field(default_factory=set)
    entities: list[Entity] = field(default_factory=list)
    places: list[Place] = field(default_factory=list)
    deal_usd: float | None = None
    value_min: float | None = None
    value_max: float | None = None
    opportunity_ids: list[str] = field(default_factory=list)
    unknown_opportunity_ids: list[str] = field(default_factory=list)
    unknown_terms: list[str] = field(default_factory=list)
    leftover_words: list[str] = field(default_factory=list)
    specialization_context: bool = False
    # filled by retrieval/understanding/read.py: stated partner filters, the language it was asked in,
    # what was read differently from how it was typed, and stated facts that could not be placed
    constraints: Any = None
    typed: str = ""                       # the question as the user typed it
    search_text: str = ""                 # its English reading with amounts and dates kept, for document search
    language: str = "en"
    readings: list[str] = field(default_factory=list)
    unresolved: list[Any] = field(default_factory=list)

    def names(self, kind: str) -> list[str]:
        return list(dict.fromkeys(e.name for e in self.entities if e.kind == kind))

    @property
    def countries(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(code for place in self.places for code in place.codes))

    @property
    def place_label(self) -> str:
        return ", ".join(p.label for p in self.places)

    def has(self, *phrases: str) -> bool:
        """True if any phrase occurs in the question (word-bounded, case-insensitive)."""
        text = " " + normalize(self.text) + " "
        return any(" " + normalize(p) + " " in text for p in phrases)


@dataclass
class _Span:
    start: int
    end: int
    entities: list[Entity]
    place: Place | None = None


def link(text: str, catalog: Catalog, known: AbstractSet[str] = frozenset(), *, amounts: bool = True) -> Linked:
    """Exact linking; `known` (catalog words plus ordinary words such as "rollout") never makes an unknown name."""
    text = text.replace("\x00", " ")
    linked = Linked(text=text)
    tokens = tokenize(text)
    lower = [t.lower() for t in tokens]
    linked.words = set(lower)
    linked.specialization_context = any(w.startswith(("speciali", "specialty")) for w in lower)
    vocab = catalog.vocabulary
    places = place_phrases()
    max_len = max(vocab.max_len, 6)

    spans: list[_Span] = []
    i = 0
    while i < len(tokens):
        matched = False
        for length in range(min(max_len, len(tokens) - i), 0, -1):
            phrase = " ".join(lower[i:i + length])
            entities = [e for e in vocab.phrases.get(phrase, []) if _allowed(phrase, e, vocab, linked)]
            place = places.get(phrase)
            if place and phrase in _CASE_SENSITIVE_PLACES and not tokens[i][0].isupper():
                place = None
            if place and len(phrase) <= 3 and phrase not in _LOWER_CASE_OK and not tokens[i].isupper():
                place = None    # "na", "eu": words in some language; lower-case codes are read in context upstream
            if entities:
                spans.append(_Span(i, i + length, entities))
            elif place:
                spans.append(_Span(i, i + length, [], place))
            else:
                continue
            i += length
            matched = True
            break
        if not matched:
            token = tokens[i]
            place = _code_place(token)
            if place:
                spans.append(_Span(i, i + 1, [], place))
            i += 1

    covered = {k for s in spans for k in range(s.start, s.end)}
    known_words = known or vocab.words   # a superset of the catalog words when given
    unknown_spans = _unknown_spans(tokens, lower, covered, known_words)
    for start, end in unknown_spans:
        linked.unknown_terms.append(" ".join(tokens[start:end]))
    for span in spans:
        # a known word inside an unknown product name ("Quantum Teleport Fabric") is not that product
        if span.entities and any(start <= span.start and span.end <= end for start, end in unknown_spans):
            continue
        if span.entities and _glued_to_unknown_words(span, lower, covered, known_words):
            linked.unknown_terms.append(_phrase_around(span, tokens, lower, covered, known_words))
            continue
        if span.place and span.place not in linked.places:
            linked.places.append(span.place)
        for entity in span.entities:
            if entity not in linked.entities:
                linked.entities.append(entity)
    linked.leftover_words = [lower[k] for k in range(len(tokens)) if k not in covered
                             and lower[k] not in STOPWORDS and not lower[k].isdigit() and len(lower[k]) > 2
                             and not _is_amount_token(lower[k])]
    if amounts:
        _link_amounts(text, linked)
    _link_opportunities(text, catalog, linked)
    return linked


def _allowed(phrase: str, entity: Entity, vocab: object, linked: Linked) -> bool:
    """Specialization aliases ("Kubernetes") only count when the question talks about specializations."""
    if entity.kind == "specialization" and (phrase, "specialization") in vocab.alias_phrases:  # type: ignore[attr-defined]
        return linked.specialization_context
    return True


def _code_place(token: str) -> Place | None:
    if len(token) == 2 and token.isupper() and token not in ambiguous_codes():
        country = pycountry.countries.get(alpha_2=token)
        if country:
            return Place(getattr(country, "common_name", None) or country.name, (token,))
    if len(token) == 3 and token.isupper():
        country = pycountry.countries.get(alpha_3=token)
        if country:
            return Place(getattr(country, "common_name", None) or country.name, (country.alpha_2,))
    return None


def _is_amount_token(token: str) -> bool:
    return bool(re.fullmatch(r"\d[\d,.]*(k|m|mm|mn|bn|b)?", token))


def _unknown_spans(tokens: list[str], lower: list[str], covered: set[int], known_words: AbstractSet[str]) -> list[tuple[int, int]]:
    """Runs of capitalised words (a product-like name) holding a word no catalog name uses."""
    out: list[tuple[int, int]] = []
    k = 0
    while k < len(tokens):
        if not _CAP_WORD.match(tokens[k]) or (k in covered and not _inside_cap_run(tokens, k)):
            k += 1
            continue
        end = k
        while end < len(tokens) and (_CAP_WORD.match(tokens[end]) or tokens[end] == "&"):
            end += 1
        run = range(k, end)
        strange = [j for j in run if j not in covered and lower[j] not in STOPWORDS and lower[j] not in known_words
                   and not _is_amount_token(lower[j]) and not re.fullmatch(r"[A-Za-z]{2,6}-?\d+", tokens[j])]
        if strange:
            # trim leading/trailing words that are question words ("Which", "Is")
            start = k
            while start < end and lower[start] in STOPWORDS:
                start += 1
            stop = end
            while stop > start and (lower[stop - 1] in STOPWORDS):
                stop -= 1
            if stop > start:
                out.append((start, stop))
        k = end
    return out


_PRODUCT_KINDS = frozenset({"workload", "solution_play", "specialization"})


def _is_strange(k: int, lower: list[str], covered: set[int], known_words: AbstractSet[str]) -> bool:
    word = lower[k]
    return (k not in covered and word.isalpha() and len(word) > 2 and word not in STOPWORDS
            and word not in known_words and word not in place_phrases())


def _glued_to_unknown_words(span: _Span, lower: list[str], covered: set[int], known_words: AbstractSet[str]) -> bool:
    """'quantum teleport fabric': unknown words written right against a product name make another product."""
    if not any(e.kind in _PRODUCT_KINDS for e in span.entities):
        return False
    before = span.start - 1 >= 0 and _is_strange(span.start - 1, lower, covered, known_words)
    after = span.end < len(lower) and _is_strange(span.end, lower, covered, known_words)
    return before or after


def _phrase_around(span: _Span, tokens: list[str], lower: list[str], covered: set[int], known_words: AbstractSet[str]) -> str:
    start, end = span.start, span.end
    while start - 1 >= 0 and _is_strange(start - 1, lower, covered, known_words):
        start -= 1
    while end < len(lower) and _is_strange(end, lower, covered, known_words):
        end += 1
    return " ".join(tokens[start:end])


def _inside_cap_run(tokens: list[str], k: int) -> bool:
    before = k > 0 and _CAP_WORD.match(tokens[k - 1]) is not None
    after = k + 1 < len(tokens) and _CAP_WORD.match(tokens[k + 1]) is not None
    return before or after


def _link_amounts(text: str, linked: Linked) -> None:
    for match in _AMOUNT.finditer(text):
        value = parse_money(match.group("amount").lower().replace("us$", "$").replace("usd", ""))
        if value is None:
            continue
        pre = (match.group("pre") or "").strip().lower()
        if pre.startswith(("over", "above", "more", "greater", "at least", "min", ">")):
            linked.value_min = value
        elif pre.startswith(("under", "below", "less", "up to", "at most", "max", "<")):
            linked.value_max = value
        else:
            linked.deal_usd = value
    if linked.deal_usd is None and linked.value_min is None and linked.value_max is None:
        context = _DEAL_CONTEXT.search(text)
        if context:
            linked.deal_usd = parse_money(context.group("num"))


def _link_opportunities(text: str, catalog: Catalog, linked: Linked) -> None:
    for match in _OPPORTUNITY_ID.finditer(text):
        candidate = match.group(1).upper()
        if candidate in catalog.opportunities:
            linked.opportunity_ids.append(candidate)
        elif candidate.startswith(("OPP", "OP-", "MSX")) or candidate.split("-")[0] in _id_prefixes(catalog):
            linked.unknown_opportunity_ids.append(candidate)
    linked.opportunity_ids = list(dict.fromkeys(linked.opportunity_ids))


def _id_prefixes(catalog: Catalog) -> set[str]:
    return {oid.split("-")[0] for oid in islice(catalog.opportunities, 50) if "-" in oid}   # not a copy of every id
