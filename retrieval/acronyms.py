"""Terms the catalog does not know, looked up in the program documents themselves.

Sellers type the program's own shorthand ("MACC", "PEC", "DPOR"); the catalog of workloads and
programs may not list it, but the documents usually spell it out once: "Microsoft Azure Consumption
Commitment (MACC)". This module finds those definitions when the index loads (the initials of the
words before "(X)" spell X, the classic Schwartz–Hearst rule), and finds the passages that mention a
term or its long form, so a question about it is answered from them rather than with "I don't know".
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_DEFINED = re.compile(r"\(([A-Z][A-Za-z0-9&]{1,9})\)")
_WORD = re.compile(r"[A-Za-z0-9][\w&'’-]*")
_TOKEN = re.compile(r"[a-z0-9][a-z0-9&]*")
_SMALL = frozenset({"of", "and", "for", "the", "to", "in", "on", "a", "an", "&"})
_MAX_WORDS = 10


@dataclass(frozen=True)
class TermHits:
    """Where a term occurs: chunk positions that mention it, and those that spell it out."""

    term: str
    expansions: tuple[str, ...]
    mentions: frozenset[int]
    defines: frozenset[int]


def _spells(words: Sequence[str], letters: str) -> bool:
    """Do these words spell the acronym: each word gives the next letter(s) from its start ("Channel" gives
    "ch" of CHIP, "ID" gives "id" of IDV), in order; small words ("of", "and") may give none."""
    if not words:
        return not letters
    word, rest = words[0].lower(), words[1:]
    if word in _SMALL and _spells(rest, letters):
        return True
    if not letters or word[0] != letters[0]:
        return False
    # the word gives letters[0] and maybe more letters found later in it, in order
    position, taken = 1, 1
    while True:
        if _spells(rest, letters[taken:]):
            return True
        if taken >= len(letters):
            return False
        position = word.find(letters[taken], position) + 1
        if position == 0:
            return False
        taken += 1


def _long_form(words: Sequence[str], acronym: str) -> str | None:
    """The shortest run of words right before "(ACRONYM)" that spells it."""
    letters = acronym.lower()
    for start in range(len(words) - 1, max(-1, len(words) - _MAX_WORDS - 1), -1):
        run = words[start:]
        if run[0].lower() in _SMALL or len(run) < 2 and len(letters) > 2:
            continue
        parts = [p for w in run for p in re.split(r"[-‐]", w) if p]
        if _spells(parts, letters):
            return " ".join(run)
    return None


def find_definitions(texts: Iterable[str]) -> dict[str, dict[str, int]]:
    """acronym (upper case) -> {long form: how often the documents spell it so}."""
    found: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for text in texts:
        for match in _DEFINED.finditer(text):
            acronym = match.group(1)
            if sum(ch.isupper() for ch in acronym) < 2:
                continue
            if acronym.endswith("s") and acronym[:-1].isupper():
                acronym = acronym[:-1]     # "verifiable credentials (VCs)"
            words = _WORD.findall(text[max(0, match.start() - 160):match.start()])
            long = _long_form(words, acronym)
            if long:
                found[acronym.upper()][long] += 1
    return {k: dict(v) for k, v in found.items()}


def _loose(form: str) -> str:
    """A pattern for a phrase whose words may be joined by spaces or hyphens ("partner-earned credit")."""
    return r"[\s‐-]+".join(re.escape(word) for word in re.split(r"[\s‐-]+", form) if word)


class TermLookup:
    """Mentions of a term (and of its long forms) in the chunk texts, by exact word-bounded match."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = [t.lower() for t in texts]
        self.definitions = find_definitions(texts)
        self._cache: dict[str, TermHits] = {}
        # word -> the texts that hold it: a lookup reads a few sets, and checks phrases only where all
        # their words occur
        self._postings: dict[str, set[int]] = defaultdict(set)
        for i, text in enumerate(self.texts):
            for word in set(_TOKEN.findall(text)):
                self._postings[word].add(i)

    def _holding(self, form: str) -> set[int]:
        """Texts holding every word of `form` (a word or its plural)."""
        out: set[int] | None = None
        for word in _TOKEN.findall(form.replace("-", " ")):
            found = self._postings.get(word, set()) | self._postings.get(word + "s", set())
            out = found if out is None else out & found
            if not out:
                return set()
        return out or set()

    def expansions(self, term: str) -> tuple[str, ...]:
        """The long forms of an acronym, most used first; an empty tuple for an ordinary term."""
        forms = self.definitions.get(term.strip().upper(), {})
        seen: dict[str, int] = {}
        for form, count in forms.items():
            key = form.lower()
            seen[key] = seen.get(key, 0) + count
        return tuple(sorted(seen, key=lambda k: -seen[k]))

    def lookup(self, term: str) -> TermHits:
        key = " ".join(term.split()).lower()
        if key in self._cache:
            return self._cache[key]
        expansions = self.expansions(term)
        forms = [form for form in (key, *expansions) if form]
        patterns = [re.compile(rf"(?<![\w-]){_loose(form)}s?(?![\w-])") for form in forms]
        defining = [re.compile(rf"{_loose(form)}\W{{0,3}}\(\s*{re.escape(key)}s?\s*\)") for form in expansions]
        defining.append(re.compile(rf"(?<![\w-]){re.escape(key)}\s+(?:is|means|stands for|refers to)\b"))
        holding = set().union(*(self._holding(form) for form in forms))
        mentions = {i for i in holding if any(p.search(self.texts[i]) for p in patterns)}
        defines = {i for i in mentions if any(p.search(self.texts[i]) for p in defining)}
        hits = TermHits(term, expansions, frozenset(mentions), frozenset(defines))
        if len(self._cache) < 4096:
            self._cache[key] = hits
        return hits


_DEFINITION_WORDS = frozenset("""what whats what's is are does do mean means meaning stand stands for define definition
explain acronym abbreviation short the a an of by term tell me about who which in our context please""".split())


def asks_what_it_is(question: str, term: str) -> bool:
    """"What is MACC?", "what does DPOR stand for", "explain PEC": the question is about the term itself,
    with no other content word (which would make it a question about something the term is part of)."""
    rest = re.sub(rf"(?<![\w-]){re.escape(term.lower())}s?(?![\w-])", " ", question.lower().replace("’", "'"))
    words = re.findall(r"[a-z0-9']+", rest)
    return all(w in _DEFINITION_WORDS for w in words)
