"""Quiz mode for readiness sessions: three multiple-choice questions generated from the records.

No language model: every question is a fact from the solution map or the incentive rules, asked
back with options drawn from the same records. The correct option is true in the records and every
distractor is false in them ("Which workload is in play X?" offers only workloads that no map row
puts in X). Opportunities (the confidential pipeline), partners' confidential notes and documents
are never used. Generation is deterministic for a seed: the same subject and seed give the same quiz.
"""
from __future__ import annotations

import difflib
import functools
import hashlib
import random
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from knowledge.geography import country_name
from knowledge.records import Incentive, MapRow
from retrieval.answers import Citation
from retrieval.catalog import Catalog, normalize
from retrieval.ranking import row_citation

QUIZ_KINDS = ("program", "solution_play", "solution_area", "incentive")
QUESTIONS_PER_QUIZ = 3
MAX_OPTIONS = 4
MIN_OPTIONS = 2
LETTERS = "ABCDEFGH"
CO_SELL_READY = "Co-sell ready status"
NO_MINIMUM = "No minimum"

_KIND_PRIORITY = {kind: rank for rank, kind in enumerate(QUIZ_KINDS)}
_FUZZY_CUTOFF = 0.8
_SUBJECT_NOISE = re.compile(
    r"^(?:the|a|an)\s+|\s+(?:program(?:me)?|solution\s+play|play|solution\s+area|area|incentives?|rules?)$",
    re.IGNORECASE)
_PAREN = re.compile(r"\s*\(([^()]*)\)\s*$")
_BRAND = ("azure ", "microsoft ")


# --------------------------------------------------------------------------- the quiz
@dataclass(frozen=True)
class QuizQuestion:
    prompt: str
    options: tuple[str, ...]
    correct: int                       # index into options
    explanation: str                   # one sentence: the fact behind the correct option
    source: Citation | None = None

    @property
    def answer(self) -> str:
        return self.options[self.correct]

    def to_dict(self) -> dict[str, Any]:
        source = None if self.source is None else {
            "title": self.source.title, "path": self.source.path, "locator": self.source.locator}
        return {"prompt": self.prompt, "options": list(self.options), "correct": self.correct,
                "explanation": self.explanation, "source": source}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QuizQuestion:
        raw = data.get("source")
        source = Citation(str(raw.get("title", "")), str(raw.get("path", "")), str(raw.get("locator", ""))) \
            if isinstance(raw, dict) else None
        return cls(str(data["prompt"]), tuple(str(o) for o in data["options"]), int(data["correct"]),
                   str(data.get("explanation", "")), source)


@dataclass(frozen=True)
class Quiz:
    subject: str                       # the canonical name of what the quiz is about
    kind: str                          # program | solution_play | solution_area | incentive
    questions: tuple[QuizQuestion, ...]
    quiz_id: str

    def to_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "kind": self.kind, "quiz_id": self.quiz_id,
                "questions": [q.to_dict() for q in self.questions]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Quiz:
        return cls(str(data["subject"]), str(data["kind"]),
                   tuple(QuizQuestion.from_dict(q) for q in data.get("questions") or []), str(data["quiz_id"]))


def letter(index: int) -> str:
    return LETTERS[index] if 0 <= index < len(LETTERS) else str(index + 1)


# --------------------------------------------------------------------------- facts (never opportunities)
@dataclass(frozen=True)
class _Draft:
    """A question before its options are drawn: the true answer and every false one the records offer."""

    family: str                        # the kind of question, so a quiz asks different kinds
    prompt: str
    correct: str
    wrong: tuple[str, ...]             # false in the records
    explanation: str
    source: Citation | None
    near: tuple[str, ...] = ()         # false too, and more plausible: preferred as distractors


class _Facts:
    """The public records a quiz may use: the solution map, the incentive rules, and names from profiles."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.rows: list[MapRow] = [r for r in catalog.map_rows if r.workload]
        self.incentives: list[Incentive] = list(catalog.incentives)
        self.plays = _distinct(r.solution_play for r in self.rows)
        self.areas = _distinct(r.solution_area for r in self.rows)
        self.programs = _distinct(i.program for i in self.incentives)
        self.map_workloads = _distinct(r.workload for r in self.rows)
        partners = list(catalog.partners.values())
        self.workloads = _distinct([*self.map_workloads, *(w for p in partners for w in p.workloads),
                                    *(w for i in self.incentives for w in (i.workloads or ()))])
        self.segments = _distinct([*(s for p in partners for s in p.segments), *(s for r in self.rows for s in r.segments),
                                   *(s for i in self.incentives for s in i.segments)])
        self.countries = _distinct([*(c for p in partners for c in p.countries), *(c for r in self.rows for c in r.countries),
                                    *(c for i in self.incentives for c in (i.countries or ()))])
        self.designations = _distinct([*(d for p in partners for d in p.designations),
                                       *(d for i in self.incentives for d in i.designations_any)])
        self.specializations = _distinct([*(s for p in partners for s in p.specializations),
                                          *(s for i in self.incentives for s in i.specializations_any)])
        self.candidates: list[tuple[str, str, set[str]]] | None = None   # subjects and their keys (see _candidates)

    def partner_name(self, row: MapRow) -> str:
        return self.catalog.partner_name(self.catalog.partner_id_of(row)) or row.partner_name


def _distinct(values: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for value in values:
        value = (value or "").strip()
        if value and value.lower() not in seen:
            seen[value.lower()] = value
    return sorted(seen.values())


def _without(pool: Iterable[str], excluded: Iterable[str]) -> tuple[str, ...]:
    out = {e.lower() for e in excluded}
    return tuple(v for v in _distinct(pool) if v.lower() not in out)


def _is_lead(row: MapRow) -> bool:
    return row.role.strip().lower() == "lead"


def _place(code: str) -> str:
    name = country_name(code)
    return f"{name} ({code})" if name and name != code else code


def money(value: float | None) -> str:
    return "" if value is None else f"${value:,.0f}"


def incentive_citation(rule: Incentive) -> Citation:
    return Citation(rule.name, rule.source.path, rule.source.locator)


# --------------------------------------------------------------------------- drafts per subject
def _map_drafts(facts: _Facts, rows: list[MapRow], subject: str, kind: str) -> list[_Draft]:
    """Questions about the map rows of one solution play or solution area."""
    drafts: list[_Draft] = []
    what = f"the {subject} solution play" if kind == "solution_play" else f"the {subject} solution area"
    key = (lambda r: r.solution_play) if kind == "solution_play" else (lambda r: r.solution_area)
    in_subject = {r.workload.lower() for r in rows}
    subject_areas = {r.solution_area for r in rows}
    # for a play, the workloads of its area's other plays are the plausible wrong answers
    related = _distinct(r.workload for r in facts.rows if kind == "solution_play" and r.solution_area in subject_areas)
    wrong_workloads = _without(facts.map_workloads, in_subject)
    for workload in _distinct(r.workload for r in rows):
        row = next(r for r in rows if r.workload.lower() == workload.lower())
        drafts.append(_Draft(
            "workload_in", f"Which workload is part of {what} on the solution map?", workload, wrong_workloads,
            f"{workload} is in {what} on the solution map"
            + (f" ({row.solution_area} · {row.solution_play})." if row.solution_area and row.solution_play else "."),
            row_citation(row), near=_without(related, in_subject)))

    # which play / area a workload belongs to (the workload may be in several: those are never offered as wrong)
    others = facts.plays if kind == "solution_play" else facts.areas
    label = "solution play" if kind == "solution_play" else "solution area"
    for workload in _distinct(r.workload for r in rows):
        owners = {key(r).lower() for r in facts.rows if r.workload.lower() == workload.lower() and key(r)}
        row = next(r for r in rows if r.workload.lower() == workload.lower())
        drafts.append(_Draft(
            "owner_of_workload", f"On the solution map, which {label} is {workload} part of?", subject,
            _without(others, owners), f"The solution map puts {workload} in the {subject} {label}.", row_citation(row)))

    # Lead partners per country
    leads: dict[str, dict[str, MapRow]] = defaultdict(dict)      # country -> partner name -> row
    for row in rows:
        if _is_lead(row):
            for country in row.countries:
                leads[country].setdefault(facts.partner_name(row), row)
    on_map = _distinct(facts.partner_name(r) for r in facts.rows)
    in_subject_partners = _distinct(facts.partner_name(r) for r in rows)
    for country, named in sorted(leads.items()):
        for name, row in sorted(named.items()):
            drafts.append(_Draft(
                "lead_partner", f"Which partner is a Lead on the solution map for {what} in {_place(country)}?", name,
                _without(on_map, named), f"{name} is a Lead for {row.workload} ({subject}) in {_place(country)} on the "
                f"solution map.", row_citation(row), near=_without(in_subject_partners, named)))

    if kind == "solution_play":
        areas = _distinct(r.solution_area for r in rows)
        if len(areas) == 1:
            drafts.append(_Draft(
                "area_of_play", f"Which solution area is the {subject} solution play in?", areas[0],
                _without(facts.areas, areas), f"On the solution map, {subject} is a play of {areas[0]}.",
                row_citation(rows[0])))
    else:
        for play in _distinct(r.solution_play for r in rows):
            row = next(r for r in rows if r.solution_play == play)
            drafts.append(_Draft(
                "play_in_area", f"Which solution play belongs to the {subject} solution area?", play,
                _without(facts.plays, {r.solution_play for r in rows}),
                f"On the solution map, {play} is a play of {subject}.", row_citation(row)))

    # which incentive can fund one of its workloads (rules for "all" workloads would be true for any: left out)
    listed = [i for i in facts.incentives if i.workloads is not None]
    funding = [i for i in listed if in_subject & {w.lower() for w in i.workloads or ()}]
    not_funding = [i.name for i in listed if not in_subject & {w.lower() for w in i.workloads or ()}]
    for rule in funding:
        covered = [w for w in rule.workloads or () if w.lower() in in_subject]
        drafts.append(_Draft(
            "incentive_for", f"Which incentive can fund a workload of {what}?", rule.name,
            _without(not_funding, [i.name for i in funding]),
            f"{rule.name} ({rule.program}) covers {', '.join(covered)}.", incentive_citation(rule)))
    return drafts


def _incentive_drafts(facts: _Facts, rule: Incentive, *, ask_program: bool) -> list[_Draft]:
    drafts: list[_Draft] = []
    name, source = rule.name, incentive_citation(rule)
    others = [i for i in facts.incentives if i.id != rule.id]

    if rule.max_funding_usd is not None:
        value = rule.max_funding_usd
        recorded = [money(i.max_funding_usd) for i in others if i.max_funding_usd not in (None, value)]
        scaled = [money(value * f) for f in (2, 0.5, 4, 0.2)] if value > 0 else []
        drafts.append(_Draft(
            "max_funding", f"What is the maximum funding of {name}?", money(value),
            _without(recorded + scaled, [money(value)]),
            f"{name} funds up to {money(value)}" + (f" ({rule.funding})." if rule.funding else "."), source,
            near=_without(recorded, [money(value)])))

    minimum = rule.min_deal_usd or 0.0
    shown = money(minimum) if minimum > 0 else NO_MINIMUM
    recorded = [money(i.min_deal_usd) if i.min_deal_usd > 0 else NO_MINIMUM for i in others
                if (i.min_deal_usd or 0.0) != minimum]
    scaled = [money(minimum * f) for f in (2, 0.5, 5)] + [NO_MINIMUM] if minimum > 0 else []
    drafts.append(_Draft(
        "min_deal", f"What is the minimum deal size for {name}?", shown, _without(recorded + scaled, [shown]),
        f"{name} applies to deals of at least {money(minimum)}." if minimum > 0 else f"{name} has no minimum deal size.",
        source, near=_without(recorded, [shown])))

    eligible = _distinct(rule.segments)
    excluded = _without(facts.segments, eligible)
    if eligible and excluded:
        segment_list = " and ".join(eligible)
        for segment in excluded:
            drafts.append(_Draft(
                "segment", f"Which segment is NOT eligible for {name}?", segment, tuple(eligible),
                f"{name} is for {segment_list} only, so {segment} is not eligible.", source))
        for segment in eligible:
            drafts.append(_Draft(
                "segment", f"Which segment is eligible for {name}?", segment, excluded,
                f"{name} is for {segment_list}.", source))

    required = [*rule.designations_any, *rule.specializations_any] + ([CO_SELL_READY] if rule.co_sell_ready_required else [])
    if required:
        pool = facts.designations + facts.specializations + ([] if rule.co_sell_ready_required else [CO_SELL_READY])
        wrong = _without(pool, required)
        for credential in _distinct(required):
            same_kind = facts.specializations if credential in rule.specializations_any else facts.designations
            drafts.append(_Draft(
                "requirement", f"Which partner credential does {name} list as a requirement?", credential, wrong,
                f"{name} requires {_requirement_text(rule)}.", source, near=_without(same_kind, required)))

    if rule.workloads is not None:
        wrong_workloads = _without(facts.workloads, rule.workloads)
        near = _without((w for i in others for w in (i.workloads or ())), rule.workloads)
        for workload in _distinct(rule.workloads):
            drafts.append(_Draft(
                "workload", f"Which workload does {name} cover?", workload, wrong_workloads,
                f"{name} covers {', '.join(rule.workloads)}.", source, near=near))

    if rule.countries is not None:
        wrong_countries = tuple(_place(c) for c in _without(facts.countries, rule.countries))
        for country in _distinct(rule.countries):
            drafts.append(_Draft(
                "country", f"In which country is {name} available?", _place(country), wrong_countries,
                f"{name} is available in {', '.join(_place(c) for c in rule.countries)} only.", source))

    if ask_program and rule.program:
        drafts.append(_Draft(
            "program", f"Which program is {name} part of?", rule.program, _without(facts.programs, [rule.program]),
            f"{name} is an incentive of the {rule.program} program.", source))
    return drafts


def _requirement_text(rule: Incentive) -> str:
    def listed(noun: str, names: tuple[str, ...]) -> str:
        return f"the {noun} {names[0]}" if len(names) == 1 else f"one of the {noun}s " + "; ".join(names)

    parts = []
    if rule.designations_any:
        parts.append(listed("designation", rule.designations_any))
    if rule.specializations_any:
        parts.append(listed("specialization", rule.specializations_any))
    if rule.co_sell_ready_required:
        parts.append("co-sell ready status")
    return " and ".join(parts)


def _program_drafts(facts: _Facts, program: str) -> list[_Draft]:
    rules = [i for i in facts.incentives if i.program == program]
    drafts = [d for rule in rules for d in _incentive_drafts(facts, rule, ask_program=False)]
    outside = [i.name for i in facts.incentives if i.program != program]
    for rule in rules:
        drafts.append(_Draft(
            "incentive_of_program", f"Which incentive belongs to the {program} program?", rule.name,
            _without(outside, [r.name for r in rules]), f"{rule.name} is an incentive of {program}.",
            incentive_citation(rule)))
    return drafts


def _drafts(facts: _Facts, kind: str, name: str) -> list[_Draft]:
    if kind == "program":
        return _program_drafts(facts, name)
    if kind == "incentive":
        rule = next((i for i in facts.incentives if i.id == name), None)
        return _incentive_drafts(facts, rule, ask_program=True) if rule else []
    field_of = "solution_play" if kind == "solution_play" else "solution_area"
    rows = [r for r in facts.rows if getattr(r, field_of) == name]
    return _map_drafts(facts, rows, name, kind) if rows else []


def _usable(drafts: Iterable[_Draft]) -> list[_Draft]:
    out = []
    for draft in drafts:
        wrong = tuple(w for w in draft.wrong if w.lower() != draft.correct.lower())
        if len(wrong) + 1 >= MIN_OPTIONS:
            out.append(draft if wrong == draft.wrong else _replace_wrong(draft, wrong))
    return out


def _replace_wrong(draft: _Draft, wrong: tuple[str, ...]) -> _Draft:
    return _Draft(draft.family, draft.prompt, draft.correct, wrong, draft.explanation, draft.source,
                  tuple(n for n in draft.near if n in wrong))


# --------------------------------------------------------------------------- choosing and shuffling
def _choose(drafts: list[_Draft], rng: random.Random, count: int) -> list[_Draft]:
    """`count` drafts with distinct prompts, one family at a time so the quiz asks different things."""
    families: dict[str, list[_Draft]] = defaultdict(list)
    for draft in drafts:
        families[draft.family].append(draft)
    order = sorted(families)
    rng.shuffle(order)
    for family in order:
        rng.shuffle(families[family])
    chosen: list[_Draft] = []
    prompts: set[str] = set()
    while len(chosen) < count and any(families.values()):
        for family in order:
            pending = families[family]
            while pending:
                draft = pending.pop()
                if draft.prompt not in prompts:
                    chosen.append(draft)
                    prompts.add(draft.prompt)
                    break
            if len(chosen) >= count:
                break
    return chosen


def _question(draft: _Draft, rng: random.Random) -> QuizQuestion:
    wanted = MAX_OPTIONS - 1
    near = [w for w in draft.near if w in draft.wrong]
    distractors = rng.sample(near, min(len(near), wanted))
    rest = [w for w in draft.wrong if w not in distractors]
    distractors += rng.sample(rest, min(len(rest), wanted - len(distractors)))
    options = [draft.correct, *distractors]
    rng.shuffle(options)
    return QuizQuestion(draft.prompt, tuple(options), options.index(draft.correct), draft.explanation, draft.source)


def _build(facts: _Facts, kind: str, name: str, seed: int) -> Quiz | None:
    drafts = _usable(_drafts(facts, kind, name))
    if not drafts:
        return None
    rng = random.Random(f"{kind}|{name}|{seed}")
    questions = tuple(_question(d, rng) for d in _choose(drafts, rng, QUESTIONS_PER_QUIZ))
    digest = hashlib.sha1(f"{kind}|{name}|{seed}".encode()).hexdigest()[:12]
    return Quiz(_label(facts, kind, name), kind, questions, f"quiz-{digest}")


def _label(facts: _Facts, kind: str, name: str) -> str:
    if kind == "incentive":
        return next((i.name for i in facts.incentives if i.id == name), name)
    return name


# --------------------------------------------------------------------------- subjects
def _keys(name: str) -> set[str]:
    """The forms a user may type for a name: as is, without its bracket, the bracket (an acronym), '&' as 'and'."""
    keys = {name}
    bracket = _PAREN.search(name)
    if bracket:
        keys |= {name[: bracket.start()], bracket.group(1)}
    for key in list(keys):
        keys.add(key.replace("&", " and "))
        keys.add(re.sub(r"\band\b", "&", key))
        for prefix in _BRAND:
            if key.lower().startswith(prefix) and len(key) - len(prefix) >= 4:
                keys.add(key[len(prefix):])
    return {k for k in (normalize(k) for k in keys) if k}


@functools.lru_cache(maxsize=2)
def _facts(catalog: Catalog) -> _Facts:
    """The quiz's view of a catalog, built once per loaded catalog (catalogs are read-only)."""
    return _Facts(catalog)


def _candidates(facts: _Facts) -> list[tuple[str, str, set[str]]]:
    """(kind, name, keys) for everything a quiz can be about; names are incentive ids for incentives."""
    if facts.candidates is not None:
        return facts.candidates
    out: list[tuple[str, str, set[str]]] = []
    vocabulary = facts.catalog.vocabulary
    aliases: dict[tuple[str, str], set[str]] = defaultdict(set)
    for phrase, entities in vocabulary.phrases.items():
        for entity in entities:
            aliases[(entity.kind, entity.name)].add(phrase)
    for kind, names in (("program", facts.programs), ("solution_play", facts.plays), ("solution_area", facts.areas)):
        for name in names:
            out.append((kind, name, _keys(name) | aliases.get((kind, name), set())))
    for rule in facts.incentives:
        out.append(("incentive", rule.id, _keys(rule.name) | _keys(rule.id) | aliases.get(("incentive", rule.id), set())))
    facts.candidates = out
    return out


def _clean(subject: str) -> str:
    text = " ".join((subject or "").replace("’", "'").split()).strip(" \"'“”‘’?!.:")
    previous = None
    while previous != text:
        previous, text = text, _SUBJECT_NOISE.sub("", text).strip()
    return normalize(text)


def _score(wanted: str, keys: set[str]) -> float:
    best = 0.0
    padded = f" {wanted} "
    for key in keys:
        if key == wanted:
            return 1.0
        ratio = difflib.SequenceMatcher(None, wanted, key).ratio()
        if ratio >= _FUZZY_CUTOFF:
            best = max(best, 0.6 + 0.3 * ratio)
        # a whole name inside what was typed ("the ECIF rules"), or what was typed inside a name ("data & ai")
        if len(key) >= 4 and f" {key} " in padded:
            best = max(best, 0.6 + 0.2 * len(key) / len(wanted))
        elif len(wanted) >= 5 and f" {wanted} " in f" {key} ":
            best = max(best, 0.55 + 0.2 * len(wanted) / len(key))
    return best


def _ranked(facts: _Facts, subject: str) -> list[tuple[float, str, str]]:
    """(score, kind, name) for every quizzable thing the subject may name, best first."""
    wanted = _clean(subject)
    if not wanted:
        return []
    scored = []
    for kind, name, keys in _candidates(facts):
        score = _score(wanted, keys)
        if score > 0:
            scored.append((-score, _KIND_PRIORITY[kind], name, kind))
    scored.sort()
    return [(-negative, kind, name) for negative, _, name, kind in scored]


def resolve(catalog: Catalog, subject: str) -> list[tuple[str, str]]:
    """(kind, name) pairs the subject names, best first (incentives by id); empty when it names nothing."""
    return [(kind, name) for _, kind, name in _ranked(_facts(catalog), subject)]


def make_quiz(catalog: Catalog, subject: str, *, seed: int) -> Quiz | None:
    """Three questions on a program, solution play, solution area or incentive; None when nothing resolves
    (or the records hold no fact to ask about it)."""
    facts = _facts(catalog)
    ranked = _ranked(facts, subject)
    if not ranked:
        return None
    best_score = ranked[0][0]
    fallback: Quiz | None = None
    # equally good matches ("Security" the program and the solution area): the first with three questions wins;
    # a weaker match is only tried when the best ones have no facts at all
    for score, kind, name in ranked:
        if fallback is not None and score < best_score:
            break
        quiz = _build(facts, kind, name, seed)
        if quiz is None:
            continue
        if len(quiz.questions) >= QUESTIONS_PER_QUIZ:
            return quiz
        if fallback is None or len(quiz.questions) > len(fallback.questions):
            fallback = quiz
    return fallback


def quiz_subjects(catalog: Catalog, limit: int = 8) -> list[str]:
    """Subjects with enough facts for a quiz: programs, solution plays and solution areas, taken in turn."""
    facts = _facts(catalog)
    pools = [[("program", n) for n in facts.programs], [("solution_play", n) for n in facts.plays],
             [("solution_area", n) for n in facts.areas]]
    out: list[str] = []
    while len(out) < limit and any(pools):
        for pool in pools:
            while pool:
                kind, name = pool.pop(0)
                if name.lower() not in {o.lower() for o in out} and _usable(_drafts(facts, kind, name)):
                    out.append(name)
                    break
            if len(out) >= limit:
                break
    return out


# --------------------------------------------------------------------------- answers
_LEAD_IN = re.compile(r"^(?:(?:i\s+think|i\s+guess|maybe|probably|my\s+answer\s+is|the\s+answer\s+is|answer(?:\s+is)?|"
                      r"it'?s|it\s+is|option|choice|number|no\.?|#)\s*[:\-]?\s*)+", re.IGNORECASE)
_LETTER = re.compile(r"^[(\[]?\s*([a-h])\s*[)\].:]?$", re.IGNORECASE)
_NUMBER = re.compile(r"^[(\[]?\s*(\d{1,2})\s*[)\].:]?$")
_AMOUNT = re.compile(r"^\$?\s*(\d[\d,. ]*)\s*(k|m)?\s*(?:usd|\$)?$", re.IGNORECASE)


def _amount(text: str) -> float | None:
    match = _AMOUNT.match(text.strip())
    if not match:
        return None
    digits = match.group(1).replace(",", "").replace(" ", "")
    try:
        value = float(digits)
    except ValueError:
        return None
    return value * {"k": 1_000, "m": 1_000_000}.get((match.group(2) or "").lower(), 1)


def check_answer(question: QuizQuestion, reply: str) -> int | None:
    """The option a reply picks: 'A', 'b)', '(c)', '2', 'option 3', or the option's text (small typos allowed)."""
    said = " ".join((reply or "").replace("’", "'").split()).strip(" !?")
    if not said:
        return None
    count = len(question.options)
    wanted = normalize(said)
    # the option's own text first: an option may itself look like a number
    for index, option in enumerate(question.options):
        if normalize(option) == wanted or option.strip().lower() == said.lower():
            return index
    bare = _LEAD_IN.sub("", said).strip().rstrip(".")
    for pattern, base in ((_LETTER, None), (_NUMBER, 1)):
        match = pattern.match(bare)
        if match:
            token = match.group(1)
            index = int(token) - 1 if base else LETTERS.index(token.upper())
            if 0 <= index < count:
                return index
    if bare != said:
        for index, option in enumerate(question.options):
            if normalize(option) == normalize(bare):
                return index
    value = _amount(bare)
    if value is not None and value >= 10:
        hits = [i for i, option in enumerate(question.options) if _amount(option) == value]
        if len(hits) == 1:
            return hits[0]
    wanted = normalize(bare)
    if len(wanted) < 3:
        return None
    ratios = sorted(((difflib.SequenceMatcher(None, wanted, normalize(o)).ratio(), i)
                     for i, o in enumerate(question.options)), reverse=True)
    best, index = ratios[0]
    runner_up = ratios[1][0] if len(ratios) > 1 else 0.0
    if best >= 0.8 and best - runner_up >= 0.1:
        return index
    # part of one option's name, as whole words ("Alpha" for "Alpha Cloud"), when no other option has it
    if len(wanted) >= 4:
        inside = [i for i, o in enumerate(question.options) if f" {wanted} " in f" {normalize(o)} "]
        if len(inside) == 1:
            return inside[0]
    return None


def describe(question: QuizQuestion, index: int | None = None) -> str:
    """'B) Alpha Cloud' for an option (the correct one by default)."""
    index = question.correct if index is None else index
    return f"{letter(index)}) {question.options[index]}"


def options_text(options: Sequence[str]) -> str:
    return "\n".join(f"{letter(i)}) {o}" for i, o in enumerate(options))
