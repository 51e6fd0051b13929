"""The loaded catalog: typed records plus the lookups every structured answer needs.

Built once per knowledge load and shared read-only between turns. Also owns the vocabulary of
catalog entities (workloads, plays, specializations, ...) with their aliases, which the linker
matches user text against.
"""
from __future__ import annotations

import functools
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knowledge.opportunity_table import OpportunitiesById, OpportunityTable
from knowledge.records import Incentive, Knowledge, MapRow, Opportunity, Partner, attached
from knowledge.structured_files import read_data_file
from retrieval.answers import PartnerMatch
from retrieval.weighed_cache import WeighedCache

_ALIASES_FILE = Path(__file__).with_name("data") / "aliases.yaml"
_BRAND_PREFIXES = ("microsoft ", "azure ")
# Single words that are ordinary English in a question: never an alias on their own.
_COMMON_WORDS = frozenset("""
migrate apps app service services sales finance phone rooms search learning machine desktop security data
cloud platform premium studio automate solution solutions management identity analytics automation endpoints
""".split())


# How many ranked partners (with their reasons) the rankings kept per need may hold in all: ~60 MB
RANKED_PARTNERS_KEPT = 20_000
# How many unattached opportunities' records the sweeps keep built (a sweep page shows 25)
UNATTACHED_RECORDS_KEPT = 5_000

_TOKEN = re.compile(r"[\w&+#]+")
_PLURAL = {"industry": "industries"}   # section names in aliases.yaml


def tokenize(text: str) -> list[str]:
    """Word tokens as typed (case kept); punctuation other than & + # separates words."""
    return _TOKEN.findall(text.replace("’", "'"))


def normalize(text: str) -> str:
    """The matching form of a phrase: lower-case tokens joined by single spaces."""
    return " ".join(t.lower() for t in tokenize(text))


@dataclass(frozen=True)
class Entity:
    kind: str      # workload | solution_play | solution_area | specialization | designation | program
                   # | incentive | industry | segment | partner
    name: str      # canonical name as in the catalog (partner: the partner id)
    label: str     # how to show it


@dataclass
class Vocabulary:
    """Normalised phrase -> entities it names; `strict` phrases need context (see linking)."""

    phrases: dict[str, list[Entity]] = field(default_factory=lambda: defaultdict(list))
    alias_phrases: set[tuple[str, str]] = field(default_factory=set)  # (phrase, kind) that are aliases
    words: set[str] = field(default_factory=set)
    max_len: int = 1

    def add(self, phrase: str, entity: Entity, *, alias: bool = False, normal: str | None = None) -> None:
        """`normal`: the phrase already normalised, when the caller has it."""
        key = normalize(phrase) if normal is None else normal
        if not key:
            return
        if entity not in self.phrases[key]:
            self.phrases[key].append(entity)
        if alias:
            self.alias_phrases.add((key, entity.kind))
        tokens = key.split()
        self.words.update(tokens)
        self.max_len = max(self.max_len, len(tokens))


@functools.lru_cache(maxsize=1)
def _alias_data() -> dict[str, dict[str, list[str]]]:
    return read_data_file(_ALIASES_FILE)   # the project's one bounded YAML loader


class Catalog:
    def __init__(self, knowledge: Knowledge) -> None:
        self.knowledge = knowledge
        self.partners: dict[str, Partner] = {p.id: p for p in knowledge.partners}
        # each partner's name in matching form, normalised once: the vocabulary and the lexicon read it too
        names = [normalize(p.name) for p in knowledge.partners]
        self.partner_by_name: dict[str, Partner] = dict(zip(names, knowledge.partners, strict=True))
        self.normal_names: dict[str, str] = {p.id: name for p, name in zip(knowledge.partners, names, strict=True)}
        self.map_rows: list[MapRow] = knowledge.map_rows
        self.incentives: list[Incentive] = knowledge.incentives
        # the pipeline stays a table of columns (knowledge/opportunity_table.py): a record is built when asked for
        self.opportunities = OpportunitiesById(OpportunityTable.from_records(knowledge.opportunities))
        self.access = knowledge.access

        self.rows_by_workload: dict[str, list[MapRow]] = defaultdict(list)
        self.rows_by_partner: dict[str, list[MapRow]] = defaultdict(list)
        for row in self.map_rows:
            self.rows_by_workload[row.workload].append(row)
            self.rows_by_partner[self.partner_id_of(row)].append(row)
        pipeline = self.opportunities.table
        partner_ids, partner_names = pipeline.column("partner_id"), pipeline.column("partner_name")
        self.attached_count: Counter[str] = Counter(
            pid or self._id_for_name(name) for pid, name in zip(partner_ids, partner_names, strict=True)
            if attached(pid, name))
        # the sweep's candidates: unattached opportunities, largest deal first (the sweep's default order, so
        # sorting what it selects is one pass over sorted runs), as table rows; grouped by workload, play and
        # country on the first sweep, and their records built as sweeps read them (_unattached_records)
        ids, values = pipeline.column("id"), pipeline.column("estimated_value_usd")
        self._unattached_rows = [n for n in self.opportunities.positions()
                                 if not attached(partner_ids[n], partner_names[n])]
        self._unattached_rows.sort(key=lambda n: (-(values[n] or 0), ids[n]))
        self._unattached_by: dict[tuple[str, str], list[int]] | None = None
        self._unattached_records: dict[int, Opportunity] = {}

        self.workloads = self._names([r.workload for r in self.map_rows], [w for p in knowledge.partners for w in p.workloads],
                                     [w for i in self.incentives for w in (i.workloads or ())],
                                     pipeline.column("workload"))
        self.solution_plays = self._names([r.solution_play for r in self.map_rows], pipeline.column("solution_play"))
        self.solution_areas = self._names([r.solution_area for r in self.map_rows])
        self.specializations = self._names([s for p in knowledge.partners for s in p.specializations],
                                           [s for i in self.incentives for s in i.specializations_any])
        self.designations = self._names([d for p in knowledge.partners for d in p.designations],
                                        [d for i in self.incentives for d in i.designations_any])
        self.industries = self._names([i for p in knowledge.partners for i in p.industries],
                                      [i for r in self.map_rows for i in r.industries],
                                      pipeline.column("industry"))
        self.segments = self._names([s for p in knowledge.partners for s in p.segments],
                                    [s for r in self.map_rows for s in r.segments],
                                    pipeline.column("segment"),
                                    [s for i in self.incentives for s in i.segments])
        self.programs = self._names([i.program for i in self.incentives])
        # workload -> play / area, from the map (first seen wins: maps are consistent in practice)
        self.play_of: dict[str, str] = {}
        self.area_of: dict[str, str] = {}
        for row in self.map_rows:
            self.play_of.setdefault(row.workload, row.solution_play)
            self.area_of.setdefault(row.workload, row.solution_area)
        for workload, play in dict.fromkeys(zip(pipeline.column("workload"), pipeline.column("solution_play"),
                                                strict=True)):
            if workload and play:
                self.play_of.setdefault(workload, play)
        self.specialization_workloads = self._specialization_workloads()
        # rankings per Need (structured.rank_for_need): the catalog is read-only, so they never go stale. Bounded by
        # the partners they hold (a ranking holds a handful in a small catalog, a thousand in a worldwide one)
        self.ranking_cache: WeighedCache[object, tuple[list, list, list]] = WeighedCache(
            RANKED_PARTNERS_KEPT, lambda ranking: sum(len(group) for group in ranking))
        self.top_cache: dict[object, PartnerMatch | None] = {}   # structured.top_suggestion, per need
        self.points_cache: dict[object, Any] = {}   # retrieval/fit_points.py's rankings and rows, per need
        self.vocabulary = self._build_vocabulary()

    # ------------------------------------------------------------------ lookups
    @staticmethod
    def _names(*sources: list[str]) -> list[str]:
        seen: dict[str, str] = {}
        for source in sources:
            for name in dict.fromkeys(source):     # distinct values first: a pipeline repeats a few dozen
                name = (name or "").strip()
                if name and name.lower() not in seen:
                    seen[name.lower()] = name
        return sorted(seen.values())

    def _id_for_name(self, name: str) -> str:
        partner = self.partner_by_name.get(normalize(name))
        return partner.id if partner else name

    def partner_id_of(self, row: MapRow) -> str:
        if row.partner_id:
            return row.partner_id
        return self._id_for_name(row.partner_name)

    def unattached_rows(self, workloads: set[str], plays: tuple[str, ...], countries: tuple[str, ...]) -> list[int]:
        """The table rows of the unattached opportunities that can match, largest deal first: every one with one of
        the workloads or plays, or in one of the countries (a superset the caller still filters), so a sweep does
        not scan the whole pipeline. `unattached_records` builds their records."""
        if workloads or plays:
            keys = [("workload", w) for w in sorted(workloads)] + [("play", p) for p in plays]
        elif countries:
            keys = [("country", c) for c in countries]
        else:
            return self._unattached_rows
        groups = self._unattached_groups()
        lists = [groups.get(k, []) for k in keys]
        if len(lists) == 1:
            return lists[0]
        return list(dict.fromkeys(n for group in lists for n in group))

    @property
    def unattached(self) -> list[Opportunity]:
        """Every unattached opportunity, largest deal first."""
        return self.unattached_records(self._unattached_rows)

    def unattached_records(self, rows: list[int]) -> list[Opportunity]:
        """The records of these unattached rows, each built once (a sweep reads the same ones again); at most
        UNATTACHED_RECORDS_KEPT are kept, so a whole-pipeline export does not keep its records for good."""
        built, record = self._unattached_records, self.opportunities.table.record
        if len(rows) > UNATTACHED_RECORDS_KEPT:
            return [built.get(n) or record(n) for n in rows]
        if len(built) + len(rows) > UNATTACHED_RECORDS_KEPT:
            built.clear()
        return [built.get(n) or built.setdefault(n, record(n)) for n in rows]

    def _unattached_groups(self) -> dict[tuple[str, str], list[int]]:
        if self._unattached_by is None:
            pipeline = self.opportunities.table
            workload, play, country = (pipeline.column(name) for name in ("workload", "solution_play", "country"))
            groups: dict[tuple[str, str], list[int]] = defaultdict(list)
            for n in self._unattached_rows:
                groups["workload", workload[n]].append(n)
                groups["play", play[n]].append(n)
                groups["country", country[n]].append(n)
            self._unattached_by = dict(groups)
        return self._unattached_by

    def partner_name(self, partner_id: str) -> str:
        partner = self.partners.get(partner_id)
        if partner:
            return partner.name
        for row in self.rows_by_partner.get(partner_id, []):
            if row.partner_name:
                return row.partner_name
        return partner_id

    def partners_in(self, country: str) -> list[Partner]:
        """Partners that deliver in a country."""
        return self._partners_by_country.get(country, [])

    def profiles_in(self, path: str) -> list[Partner]:
        """The partners whose profile is the file at `path` (several for a partners.json list), in catalog order:
        naming the partner a citation points to does not scan every profile."""
        return self._partners_by_file.get(path, [])

    def build_lookups(self) -> None:
        """Build now the partner indexes the first questions would otherwise build (each on its first use)."""
        _ = self._partners_by_country, self._partners_by_file

    @functools.cached_property
    def _partners_by_country(self) -> dict[str, list[Partner]]:
        return self._partners_by(lambda partner: partner.countries)

    @functools.cached_property
    def _partners_by_file(self) -> dict[str, list[Partner]]:
        return self._partners_by(lambda partner: (partner.source.path,))

    def _partners_by(self, keys: Callable[[Partner], Iterable[str]]) -> dict[str, list[Partner]]:
        index: dict[str, list[Partner]] = defaultdict(list)
        for partner in self.partners.values():
            for key in keys(partner):
                index[key].append(partner)
        return dict(index)

    def workloads_of_play(self, play: str) -> list[str]:
        return sorted({w for w, p in self.play_of.items() if p == play})

    def workloads_of_area(self, area: str) -> list[str]:
        return sorted({w for w, a in self.area_of.items() if a == area})

    def _specialization_workloads(self) -> dict[str, set[str]]:
        """Which workloads each specialization evidences, learnt from the profiles.

        A specialization is earned on specific workloads, so partners holding it list those workloads
        (nearly) always; other workloads appear only by chance. Name overlap ("Kubernetes on Microsoft
        Azure" ~ "Azure Kubernetes Service") counts too, for specializations held by few partners.
        """
        holders: dict[str, list[Partner]] = defaultdict(list)
        for partner in self.partners.values():
            for spec in partner.specializations:
                holders[spec].append(partner)
        out: dict[str, set[str]] = {}
        for spec in self.specializations:
            partners = holders.get(spec, [])
            counts = Counter(w for p in partners for w in p.workloads)
            learnt = {w for w, n in counts.items() if len(partners) >= 3 and n >= 0.9 * len(partners)}
            spec_words = _distinctive_words(spec)
            named = {w for w in self.workloads if spec_words & _distinctive_words(w)}
            out[spec] = learnt | named
        return out

    # ------------------------------------------------------------------ vocabulary
    def _build_vocabulary(self) -> Vocabulary:
        vocab = Vocabulary()
        aliases = _alias_data()
        for kind, names in (("workload", self.workloads), ("solution_play", self.solution_plays),
                            ("solution_area", self.solution_areas), ("specialization", self.specializations),
                            ("designation", self.designations), ("industry", self.industries),
                            ("segment", self.segments), ("program", self.programs)):
            for name in names:
                entity = Entity(kind, name, name)
                vocab.add(name, entity)
                for alias in _derived_aliases(kind, name):
                    vocab.add(alias, entity, alias=True)
                for alias in aliases.get(_PLURAL.get(kind, kind + "s"), {}).get(name, []) or []:
                    vocab.add(alias, entity, alias=True)
        for incentive in self.incentives:
            vocab.add(incentive.name, Entity("incentive", incentive.id, incentive.name))
            vocab.add(incentive.id, Entity("incentive", incentive.id, incentive.name), alias=True)
        normal = self.normal_names
        first_words = Counter(normal[p.id].split()[0] for p in self.partners.values() if p.name)
        for partner in self.partners.values():
            entity = Entity("partner", partner.id, partner.name)
            vocab.add(partner.name, entity, normal=normal[partner.id])
            vocab.add(partner.id, entity, alias=True)
            first = normal[partner.id].split()[0]
            # "Dunemark" for "Dunemark Consulting", when no other partner starts with it
            if first_words[first] == 1 and len(first) >= 5 and first not in _COMMON_WORDS and first not in vocab.phrases:
                vocab.add(first, entity, alias=True)
        return vocab


_GENERIC_WORDS = frozenset("microsoft azure on with for and to the of 365 service solution management apps app teams "
                           "data modernize build dynamics power ai".split())


def _distinctive_words(name: str) -> set[str]:
    return {w for w in normalize(name).split() if w not in _GENERIC_WORDS and len(w) > 2}


def _derived_aliases(kind: str, name: str) -> list[str]:
    """Aliases that follow from how Microsoft names things, so a new catalog needs no alias file."""
    out: list[str] = []
    lower = name.lower()
    if kind == "workload":
        for prefix in _BRAND_PREFIXES:
            if lower.startswith(prefix):
                rest = name[len(prefix):]
                if len(rest.split()) >= 2 or (rest.lower() not in _COMMON_WORDS and len(rest) >= 4):
                    out.append(rest)
        if lower.startswith("dynamics 365 "):
            out += ["D365 " + name[13:], "Dynamics " + name[13:]]
    elif kind == "designation":
        bare = re.sub(r"\s*\(.*?\)\s*$", "", name)
        if bare != name:
            out.append(bare)
        if lower.startswith("solutions partner for "):
            out.append(re.sub(r"^solutions partner for ", "", bare, flags=re.IGNORECASE) + " designation")
    elif kind == "program":
        acronym = re.search(r"\(([A-Z][A-Za-z0-9&]{1,9})\)\s*$", name)   # "End Customer Investment Funds (ECIF)"
        if acronym:
            out += [acronym.group(1), name[: acronym.start()].strip()]
    elif kind == "specialization":
        short = re.sub(r"\s+(on|with|for|to) Microsoft (Azure|Teams)(\s+\w+)?$", "", name)
        if short != name and short.lower() not in _COMMON_WORDS:
            out.append(short)
    return out
