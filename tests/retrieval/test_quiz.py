"""Quiz generation: every correct option is true and every distractor false in the records (checked here
against the raw records, independently of the generator), deterministic by seed, subjects resolved
fuzzily, nothing confidential, and typed answers read back to an option."""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from knowledge.loader import load_knowledge
from knowledge.records import Incentive, Knowledge, MapRow
from retrieval.answers import Citation
from retrieval.catalog import Catalog
from retrieval.engine import KnowledgeEngine
from retrieval.quiz import NO_MINIMUM, Quiz, QuizQuestion, check_answer, make_quiz, quiz_subjects, resolve
from tests.factories import MAP_HEADER, MARKER, OPP_HEADER, default_map, default_opportunities, make_knowledge, write_table

SAMPLE = Path(__file__).resolve().parents[2] / "knowledge" / "sample"
SEEDS = range(6)


@pytest.fixture(scope="module")
def factories(tmp_path_factory: pytest.TempPathFactory) -> Knowledge:
    return load_knowledge(make_knowledge(tmp_path_factory.mktemp("quiz") / "kb"), documents=False)


@pytest.fixture(scope="module")
def sample() -> Knowledge:
    return load_knowledge(SAMPLE, documents=False)


# --------------------------------------------------------------------------- the oracle: facts from the raw records
def _money(value: float) -> str:
    return f"${value:,.0f}"


class Oracle:
    """Says whether an option answers a quiz prompt truly, reading only the loaded records."""

    def __init__(self, knowledge: Knowledge) -> None:
        self.k = knowledge
        self.names = {p.id: p.name for p in knowledge.partners}

    def incentive(self, name: str) -> Incentive:
        [rule] = [i for i in self.k.incentives if i.name == name]
        return rule

    def rows(self, scope: str, subject: str) -> list[MapRow]:
        field = "solution_play" if scope == "play" else "solution_area"
        return [r for r in self.k.map_rows if getattr(r, field) == subject]

    def partner(self, row: MapRow) -> str:
        return self.names.get(row.partner_id) or row.partner_name

    def truth(self, prompt: str, option: str) -> bool:
        checks: list[tuple[str, Callable[..., bool]]] = [
            (r"Which workload is part of the (.+) solution (play|area) on the solution map\?",
             lambda subject, scope: any(r.workload == option for r in self.rows(scope, subject))),
            (r"On the solution map, which solution (play|area) is (.+) part of\?",
             lambda scope, workload: any(r.workload == workload for r in self.rows(scope, option))),
            (r"Which partner is a Lead on the solution map for the (.+) solution (play|area) in .+ \((\w\w)\)\?",
             lambda subject, scope, country: any(r.role == "Lead" and country in r.countries and self.partner(r) == option
                                                 for r in self.rows(scope, subject))),
            (r"Which solution area is the (.+) solution play in\?",
             lambda play: any(r.solution_area == option for r in self.rows("play", play))),
            (r"Which solution play belongs to the (.+) solution area\?",
             lambda area: any(r.solution_play == option for r in self.rows("area", area))),
            (r"Which incentive can fund a workload of the (.+) solution (play|area)\?",
             lambda subject, scope: self.funds(option, {r.workload for r in self.rows(scope, subject)})),
            (r"What is the maximum funding of (.+)\?",
             lambda name: self.incentive(name).max_funding_usd is not None
             and option == _money(self.incentive(name).max_funding_usd)),
            (r"What is the minimum deal size for (.+)\?",
             lambda name: option == (_money(self.incentive(name).min_deal_usd) if self.incentive(name).min_deal_usd
                                     else NO_MINIMUM)),
            (r"Which segment is NOT eligible for (.+)\?", lambda name: option not in self.incentive(name).segments),
            (r"Which segment is eligible for (.+)\?", lambda name: option in self.incentive(name).segments),
            (r"Which partner credential does (.+) list as a requirement\?", lambda name: self.requires(name, option)),
            (r"Which workload does (.+) cover\?", lambda name: self.funds(name, {option})),
            (r"In which country is (.+) available\?", lambda name: self.available(name, option)),
            (r"Which program is (.+) part of\?", lambda name: self.incentive(name).program == option),
            (r"Which incentive belongs to the (.+) program\?", lambda program: self.incentive(option).program == program),
        ]
        for pattern, check in checks:
            match = re.fullmatch(pattern, prompt)
            if match:
                return bool(check(*match.groups()))
        raise AssertionError(f"the test has no oracle for: {prompt}")

    def funds(self, name: str, workloads: set[str]) -> bool:
        rule = self.incentive(name)
        return rule.workloads is None or bool(set(rule.workloads) & workloads)

    def requires(self, name: str, credential: str) -> bool:
        rule = self.incentive(name)
        return (credential in rule.designations_any or credential in rule.specializations_any
                or (credential == "Co-sell ready status" and rule.co_sell_ready_required))

    def available(self, name: str, option: str) -> bool:
        rule = self.incentive(name)
        match = re.search(r"\((\w\w)\)$", option)
        assert match, option
        return rule.countries is None or match.group(1) in rule.countries

    def subjects(self) -> list[str]:
        plays = {r.solution_play for r in self.k.map_rows if r.solution_play}
        areas = {r.solution_area for r in self.k.map_rows if r.solution_area}
        programs = {i.program for i in self.k.incentives if i.program}
        return sorted(plays | areas | programs | {i.id for i in self.k.incentives})


def assert_grounded(quiz: Quiz, knowledge: Knowledge) -> None:
    oracle = Oracle(knowledge)
    assert quiz.kind in ("program", "solution_play", "solution_area", "incentive")
    assert 1 <= len(quiz.questions) <= 3
    assert len({q.prompt for q in quiz.questions}) == len(quiz.questions)
    for question in quiz.questions:
        assert 2 <= len(question.options) <= 4, question
        assert len({o.lower() for o in question.options}) == len(question.options), question
        assert 0 <= question.correct < len(question.options)
        verdicts = [oracle.truth(question.prompt, option) for option in question.options]
        assert verdicts[question.correct], f"correct option is not true: {question}"
        assert sum(verdicts) == 1, f"a distractor is true in the records: {question} {verdicts}"
        assert question.options[question.correct].lower() in question.explanation.lower()
        assert isinstance(question.source, Citation) and question.source.locator
        assert (Path(knowledge.root) / question.source.path).is_file()
        if question.source.path == "programs/incentives.yaml":
            [rule] = [i for i in knowledge.incentives if i.source.locator == question.source.locator]
            assert rule.name in question.prompt or rule.name == question.options[question.correct]
        else:
            [row] = [r for r in knowledge.map_rows
                     if (r.source.path, r.source.locator) == (question.source.path, question.source.locator)]
            # the cited row is the one the explanation speaks of
            assert row.workload in question.explanation or (row.solution_play in question.explanation
                                                            and row.solution_area in question.explanation)


# --------------------------------------------------------------------------- grounded questions
@pytest.mark.parametrize("which", ["factories", "sample"])
def test_every_question_is_true_and_every_distractor_false(which: str, request: pytest.FixtureRequest) -> None:
    knowledge: Knowledge = request.getfixturevalue(which)
    catalog = Catalog(knowledge)
    subjects = Oracle(knowledge).subjects()
    assert subjects
    for subject in subjects:
        for seed in SEEDS:
            quiz = make_quiz(catalog, subject, seed=seed)
            assert quiz is not None, subject
            assert_grounded(quiz, knowledge)


def test_sample_subjects_get_three_questions_of_four_options(sample: Knowledge) -> None:
    catalog = Catalog(sample)
    for subject in Oracle(sample).subjects():
        quiz = make_quiz(catalog, subject, seed=3)
        assert quiz is not None and len(quiz.questions) == 3, subject
    quiz = make_quiz(catalog, "Modernize SecOps", seed=3)
    assert quiz is not None and all(len(q.options) == 4 for q in quiz.questions)


def test_a_play_with_few_facts_gets_fewer_options_never_invented_ones(factories: Knowledge) -> None:
    quiz = make_quiz(Catalog(factories), "Build and Modernize AI Apps", seed=1)
    assert quiz is not None and len(quiz.questions) == 3
    # the map holds two workloads in two plays: a workload question can only offer two options
    workload_questions = [q for q in quiz.questions if q.prompt.startswith("Which workload is part of")]
    for question in workload_questions:
        assert sorted(question.options) == ["Azure Kubernetes Service", "Microsoft Sentinel"]


def test_an_incentive_quiz_asks_about_funding_deal_size_segments_and_requirements(sample: Knowledge) -> None:
    catalog = Catalog(sample)
    prompts = [question.prompt for seed in range(20) if (quiz := make_quiz(catalog, "AMM-DEPLOY", seed=seed))
               for question in quiz.questions]
    for start in ("What is the maximum funding of", "What is the minimum deal size for", "Which segment is NOT eligible",
                  "Which partner credential does", "Which workload does"):
        assert any(p.startswith(start) for p in prompts), start


# --------------------------------------------------------------------------- determinism
def test_the_same_seed_gives_the_same_quiz_and_other_seeds_differ(sample: Knowledge) -> None:
    catalog = Catalog(sample)
    for subject in ("Modernize SecOps", "Azure Innovate", "Data & AI (Azure)", "ECIF"):
        first = make_quiz(catalog, subject, seed=11)
        assert first == make_quiz(Catalog(sample), subject, seed=11)
        others = {json.dumps(q.to_dict()["questions"]) for seed in range(8)
                  if (q := make_quiz(catalog, subject, seed=seed)) is not None}
        assert len(others) > 1, subject
    ids = {q.quiz_id for seed in range(5) if (q := make_quiz(catalog, "ECIF", seed=seed))}
    assert len(ids) == 5


def test_a_quiz_round_trips_through_json(sample: Knowledge) -> None:
    quiz = make_quiz(Catalog(sample), "Azure Migrate and Modernize", seed=2)
    assert quiz is not None
    assert Quiz.from_dict(json.loads(json.dumps(quiz.to_dict()))) == quiz
    bare = QuizQuestion("Which?", ("a", "b"), 1, "b is right.", None)
    assert QuizQuestion.from_dict(json.loads(json.dumps(bare.to_dict()))) == bare


# --------------------------------------------------------------------------- subjects
@pytest.mark.parametrize(("typed", "kind", "name"), [
    ("ECIF", "program", "End Customer Investment Funds (ECIF)"),
    ("ecif", "program", "End Customer Investment Funds (ECIF)"),
    ("the ECIF program", "program", "End Customer Investment Funds (ECIF)"),
    ("End Customer Investment Funds", "program", "End Customer Investment Funds (ECIF)"),
    ("Azure Migrate and Modernize", "program", "Azure Migrate and Modernize"),
    ("azure migrate & modernize", "program", "Azure Migrate and Modernize"),
    ("data & ai", "solution_area", "Data & AI (Azure)"),
    ("Data and AI", "solution_area", "Data & AI (Azure)"),
    ("Modernize SecOps", "solution_play", "Modernize SecOps"),
    ("modernise secop", "solution_play", "Modernize SecOps"),               # typos
    ("Azure Inovate", "program", "Azure Innovate"),
    ("Copilot Accelerate engagement", "incentive", "COPILOT-ACCEL"),
    ("AMM-DEPLOY", "incentive", "AMM-DEPLOY"),
])
def test_subjects_resolve_fuzzily(sample: Knowledge, typed: str, kind: str, name: str) -> None:
    catalog = Catalog(sample)
    assert resolve(catalog, typed)[0] == (kind, name)
    quiz = make_quiz(catalog, typed, seed=0)
    assert quiz is not None and quiz.kind == kind


def test_a_play_named_like_the_program_resolves_when_it_is_on_the_map(tmp_path: Path) -> None:
    root = make_knowledge(tmp_path / "kb")
    rows = default_map() + [
        {**default_map()[0], "solution_area": "Infrastructure (Azure)", "solution_play": "Migrate and Modernize your Estate",
         "workload": "Azure VMware Solution", "partner_id": "P-4", "partner_name": "Delta Profile Only", "role": "Lead"}]
    write_table(root / "solution_maps" / "map.csv", MAP_HEADER, rows)
    knowledge = load_knowledge(root, documents=False)
    catalog = Catalog(knowledge)
    quiz = make_quiz(catalog, "Migrate and Modernize your Estate", seed=4)
    assert quiz is not None and (quiz.kind, quiz.subject) == ("solution_play", "Migrate and Modernize your Estate")
    assert_grounded(quiz, knowledge)
    assert make_quiz(catalog, "migrate and modernise your estate", seed=4) == quiz


def test_unknown_subjects_give_none(sample: Knowledge) -> None:
    catalog = Catalog(sample)
    for typed in ("quantum computing", "", "   ", "???", "the weather in Paris"):
        assert make_quiz(catalog, typed, seed=0) is None, typed
        assert not resolve(catalog, typed)


def test_the_engine_entry_point_makes_the_same_quiz(sample: Knowledge) -> None:
    engine = KnowledgeEngine(Catalog(sample), None)
    assert engine.quiz("ECIF", seed=5) == make_quiz(engine.catalog, "ECIF", seed=5)


def test_quiz_subjects_are_distinct_quizzable_and_limited(sample: Knowledge, factories: Knowledge) -> None:
    for knowledge in (sample, factories):
        catalog = Catalog(knowledge)
        subjects = quiz_subjects(catalog)
        assert 1 <= len(subjects) <= 8
        assert len({s.lower() for s in subjects}) == len(subjects)
        for subject in subjects:
            quiz = make_quiz(catalog, subject, seed=0)
            assert quiz is not None and quiz.subject == subject
    subjects = quiz_subjects(Catalog(sample), limit=3)
    # programs, plays and areas taken in turn
    assert len(subjects) == 3
    assert subjects[0] in {i.program for i in sample.incentives}
    assert subjects[1] in {r.solution_play for r in sample.map_rows}
    assert subjects[2] in {r.solution_area for r in sample.map_rows}


# --------------------------------------------------------------------------- nothing confidential
def test_no_confidential_text_or_pipeline_in_any_quiz(tmp_path: Path) -> None:
    root = make_knowledge(tmp_path / "kb", documents={
        "programs/secret.md": f"---\ntitle: Secret review\nvisibility: confidential\n---\n{MARKER} Secret Play facts.\n"})
    # the pipeline alone names a play and a workload: neither may reach a quiz
    opportunities = default_opportunities() + [
        {**default_opportunities()[0], "opportunity_id": "OPP-900", "solution_play": "Secret Pipeline Play",
         "workload": "Secret Pipeline Workload", "account": "Hidden Account"}]
    write_table(root / "opportunities" / "pipeline.csv", OPP_HEADER, opportunities)
    knowledge = load_knowledge(root, documents=True)
    catalog = Catalog(knowledge)
    assert "Secret Pipeline Play" in catalog.solution_plays          # the catalog knows it, from the pipeline
    assert make_quiz(catalog, "Secret Pipeline Play", seed=0) is None
    dumps = []
    for subject in [*Oracle(knowledge).subjects(), *quiz_subjects(catalog)]:
        for seed in SEEDS:
            quiz = make_quiz(catalog, subject, seed=seed)
            assert quiz is not None
            dumps.append(json.dumps(quiz.to_dict()))
    text = "\n".join(dumps)
    for forbidden in (MARKER, "OPP-", "Secret", "Hidden Account", "performance review", "seller1@example.com"):
        assert forbidden not in text


def test_no_confidential_text_in_sample_quizzes(sample: Knowledge) -> None:
    catalog = Catalog(sample)
    text = "\n".join(json.dumps(q.to_dict()) for subject in Oracle(sample).subjects() for seed in SEEDS
                     if (q := make_quiz(catalog, subject, seed=seed)) is not None)
    assert not re.search(r"OPP-\d", text)
    for opportunity in sample.opportunities:
        assert opportunity.id not in text
        assert not opportunity.account or opportunity.account not in text
    for partner in sample.partners:
        if partner.notes_confidential:
            assert partner.notes_confidential[:40] not in text
    confidential = yaml.safe_load((SAMPLE / "access.yaml").read_text())
    for members in (confidential.get("groups") or {}).values():
        for member in members or []:
            assert not member.get("email") or member["email"] not in text


# --------------------------------------------------------------------------- typed answers
PARTNERS = QuizQuestion("Which partner is a Lead?", ("Alpha Cloud", "Beta Systems", "Gamma Digital", "Delta Profile Only"),
                        2, "Gamma Digital is a Lead.", None)
AMOUNTS = QuizQuestion("What is the maximum funding?", ("$25,000", "$50,000", "$150,000", NO_MINIMUM), 1, "", None)


@pytest.mark.parametrize(("reply", "expected"), [
    ("A", 0), ("a", 0), ("b)", 1), ("B.", 1), ("(c)", 2), ("[d]", 3), ("2", 1), ("4", 3), ("option 3", 2),
    ("Option C", 2), ("answer: b", 1), ("the answer is D", 3), ("I think it's c", 2), ("#1", 0),
    ("gamma digital", 2), ("Gamma Digital!", 2), ("Gama Digtal", 2), ("beta sytems", 1), ("Delta", 3),
    ("E", None), ("5", None), ("0", None), ("", None), ("hmm", None), ("Which partners cover AKS in Germany?", None),
    ("Cloud", 0),                                                          # a whole word of exactly one option
])
def test_check_answer_reads_letters_numbers_and_option_text(reply: str, expected: int | None) -> None:
    assert check_answer(PARTNERS, reply) == expected


@pytest.mark.parametrize(("reply", "expected"), [
    ("$50,000", 1), ("50,000", 1), ("50000", 1), ("50k", 1), ("$150k", 2), ("2", 1), ("no minimum", 3),
    ("$75,000", None), ("B", 1),
])
def test_check_answer_reads_amounts(reply: str, expected: int | None) -> None:
    assert check_answer(AMOUNTS, reply) == expected


def test_the_oracle_catches_a_true_distractor_and_a_false_answer(sample: Knowledge) -> None:
    catalog = Catalog(sample)
    quiz = next(q for seed in range(50) if (q := make_quiz(catalog, "Modernize SecOps", seed=seed))
                and any(x.prompt.startswith("Which workload is part of") for x in q.questions))
    question = next(x for x in quiz.questions if x.prompt.startswith("Which workload is part of"))
    in_play = sorted({r.workload for r in sample.map_rows if r.solution_play == "Modernize SecOps"})
    other_true = next(w for w in in_play if w != question.options[question.correct])
    wrong = next(i for i in range(len(question.options)) if i != question.correct)
    options = list(question.options)
    options[wrong] = other_true
    broken = replace(quiz, questions=(replace(question, options=tuple(options)),))
    with pytest.raises(AssertionError, match="distractor is true"):
        assert_grounded(broken, sample)
    with pytest.raises(AssertionError, match="correct option is not true"):
        assert_grounded(replace(quiz, questions=(replace(question, correct=wrong),)), sample)
