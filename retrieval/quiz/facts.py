"""The public records a quiz may draw on (never opportunities): the solution map, incentive rules, profile names."""
from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from knowledge.geography import country_name
from knowledge.records import Incentive, MapRow
from retrieval.answers import Citation
from retrieval.catalog import Catalog


@dataclass(frozen=True)
class Draft:
    """A question before its options are drawn: the true answer and every false one the records offer."""

    family: str                        # the kind of question, so a quiz asks different kinds
    prompt: str
    correct: str
    wrong: tuple[str, ...]             # false in the records
    explanation: str
    source: Citation | None
    near: tuple[str, ...] = ()         # false too, and more plausible: preferred as distractors


class Facts:
    """The public records a quiz may use: the solution map, the incentive rules, and names from profiles."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.rows: list[MapRow] = [r for r in catalog.map_rows if r.workload]
        self.incentives: list[Incentive] = list(catalog.incentives)
        self.plays = distinct(r.solution_play for r in self.rows)
        self.areas = distinct(r.solution_area for r in self.rows)
        self.programs = distinct(i.program for i in self.incentives)
        self.map_workloads = distinct(r.workload for r in self.rows)
        partners = list(catalog.partners.values())
        self.workloads = distinct([*self.map_workloads, *(w for p in partners for w in p.workloads),
                                    *(w for i in self.incentives for w in (i.workloads or ()))])
        self.segments = distinct([*(s for p in partners for s in p.segments), *(s for r in self.rows for s in r.segments),
                                   *(s for i in self.incentives for s in i.segments)])
        self.countries = distinct([*(c for p in partners for c in p.countries), *(c for r in self.rows for c in r.countries),
                                    *(c for i in self.incentives for c in (i.countries or ()))])
        self.designations = distinct([*(d for p in partners for d in p.designations),
                                       *(d for i in self.incentives for d in i.designations_any)])
        self.specializations = distinct([*(s for p in partners for s in p.specializations),
                                          *(s for i in self.incentives for s in i.specializations_any)])
        self.candidates: list[tuple[str, str, set[str]]] | None = None   # subjects and their keys (see _candidates)

    def partner_name(self, row: MapRow) -> str:
        return self.catalog.partner_name(self.catalog.partner_id_of(row)) or row.partner_name


def distinct(values: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for value in values:
        value = (value or "").strip()
        if value and value.lower() not in seen:
            seen[value.lower()] = value
    return sorted(seen.values())


def without(pool: Iterable[str], excluded: Iterable[str]) -> tuple[str, ...]:
    out = {e.lower() for e in excluded}
    return tuple(v for v in distinct(pool) if v.lower() not in out)


def is_lead(row: MapRow) -> bool:
    return row.role.strip().lower() == "lead"


def place(code: str) -> str:
    name = country_name(code)
    return f"{name} ({code})" if name and name != code else code


def incentive_citation(rule: Incentive) -> Citation:
    return Citation(rule.name, rule.source.path, rule.source.locator)




@functools.lru_cache(maxsize=2)
def load_facts(catalog: Catalog) -> Facts:
    """The quiz's view of a catalog, built once per loaded catalog (catalogs are read-only)."""
    return Facts(catalog)
