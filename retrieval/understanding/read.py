"""One question, read once: amounts and dates, language, tolerant spelling, exact linking, constraints.

    question -> amounts & dates blanked -> English words -> shorthand, codes and spelling fixed
             -> catalog entities, places and ids -> stated constraints

The result is a `Linked` the engine routes on; what was read differently from how it was typed
("'sentinnel' read as sentinel", "asked in German", "€1.2m read as about $1,296,000") rides along in
`readings` for the "Understood" line, and facts that could not be placed in `unresolved`.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from collections.abc import Set as AbstractSet

from rapidfuzz import fuzz, process

from retrieval.catalog import Catalog, normalize
from retrieval.linking import Linked, link
from retrieval.understanding.amounts import blank, read_amounts
from retrieval.understanding.constraints import read_constraints
from retrieval.understanding.language import to_english
from retrieval.understanding.lexicon import common_english, lexicon
from retrieval.understanding.linking import Unresolved, tolerate

_WORD = re.compile(r"\w+")


def read(question: str, catalog: Catalog) -> Linked:
    amounts = read_amounts(question)
    translation = to_english(blank(question, amounts.spans))
    tolerant = tolerate(translation.text, catalog, translation.language)
    known: AbstractSet[str] = lexicon(catalog).known
    lower_case = frozenset(w for w in _WORD.findall(tolerant.text) if w.islower())
    if translation.language != "en":
        # lower-case words of another language are its words, not parts of an unknown product name
        known = _Either(known, lower_case)
    else:
        # so are ordinary English words written in lower case ("partners won Windows 365 deals"); written
        # with capitals in mid-sentence they may name a product ("Quantum Teleport Fabric" stays unknown)
        known = _Either(known, lower_case & common_english())
    linked = link(tolerant.text, catalog, known, amounts=False)   # amounts were read above
    linked.deal_usd, linked.value_min, linked.value_max = amounts.deal_usd, amounts.value_min, amounts.value_max
    partner_ids = linked.names("partner")
    linked.constraints = read_constraints(tolerant.text, partner_ids, catalog)
    if linked.constraints.excluded:
        # a partner the user leaves out is not the subject of the question
        linked.entities = [e for e in linked.entities
                           if not (e.kind == "partner" and e.name in linked.constraints.excluded)]
    linked.language, linked.typed = translation.language, question
    linked.search_text = question if translation.language == "en" else to_english(question).text
    readings: list[str] = []
    if translation.language != "en":
        readings.append(f"asked in {translation.language_name}")
    # a partner's name is never shown before the ranked list (readers take the first mention as the rank)
    readings += [f"“{c.typed}” read as {c.read_as}" if c.kind != "partner" else "a partner name read as spelt in the catalog"
                 for c in tolerant.corrections if c.typed.lower() != c.read_as.lower() and c.kind != "word"]
    readings += amounts.notes
    readings += [f"as of {d}" if not d.lower().startswith(("as of", "by", "before", "after", "until", "from", "on", "since"))
                 else d for d in amounts.dates]
    linked.readings = readings
    linked.unresolved = [u for u in tolerant.unresolved if not _resolved_anyway(u.typed, linked)]
    _unknown_partners(linked, catalog)
    return linked


def _unknown_partners(linked: Linked, catalog: Catalog) -> None:
    """A capitalised name ending like a company's ("Zorblax Consulting") that no partner has: not a product
    the catalog lacks but a partner it does not know, with the partners whose names look like it."""
    lex = lexicon(catalog)
    for term in list(linked.unknown_terms):
        words = normalize(term).split()
        if len(words) < 2 or words[-1] not in lex.company_suffixes:
            continue
        near = [name for name, _, _ in process.extract(" ".join(words), list(lex.partner_names), scorer=fuzz.ratio,
                                                        score_cutoff=75, limit=3)
                if fuzz.ratio(words[0], name.split()[0]) >= 75]     # alike in the name, not only in "Consulting"
        linked.unknown_terms.remove(term)
        linked.unresolved.append(Unresolved(term, "partner", tuple(lex.partner_names[n] for n in near)))


class _Either(AbstractSet[str]):
    """Two sets read as their union without copying the large one."""

    def __init__(self, large: AbstractSet[str], small: AbstractSet[str]) -> None:
        self.large, self.small = large, small

    def __contains__(self, item: object) -> bool:
        return item in self.small or item in self.large

    def __iter__(self) -> Iterator[str]:
        yield from self.large
        yield from (w for w in self.small if w not in self.large)

    def __len__(self) -> int:
        return len(self.large) + sum(1 for w in self.small if w not in self.large)


def _resolved_anyway(typed: str, linked: Linked) -> bool:
    """An unresolved word that the exact linker did read (an alias, a partner's short name) is resolved."""
    words = set(typed.lower().split())
    return any(words <= set(e.label.lower().split()) | set(e.name.lower().split()) for e in linked.entities)
