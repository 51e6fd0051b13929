"""The knowledge-gaps log: outcomes recorded with each answer, the store's grouping, its exports, the admins'
commands over the real HTTP endpoint with the real engine, and `bot.py gaps`."""
from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from aiohttp.test_utils import TestClient, TestServer

import bot
from app.engine_slot import EngineSlot
from app.server import create_app
from app.settings import Settings
from dialogs import feedback as feedback_module
from dialogs import knowledge_gaps, render
from dialogs.exports import csv_bytes
from dialogs.feedback import FeedbackStore, KnowledgeGap, answer_outcome, gaps_markdown, gaps_table
from dialogs.knowledge_gaps import command_of
from knowledge.loader import load_knowledge
from retrieval.answers import AnswerKind
from retrieval.catalog import Catalog
from retrieval.engine import KnowledgeEngine
from tests.dialogs import fakes
from tests.factories import ADMIN, ECM, SELLER, make_knowledge
from tests.support.cards import assert_valid_card, card_of, every, text_of
from tests.support.served import post_message, press

OLD_SCHEMA = """
create table if not exists answers (
    answer_id text primary key,
    question_id text,
    conversation_type text,
    user_id text,
    question text,
    kind text,
    title text,
    created_at real
);
create table if not exists feedback (
    answer_id text not null,
    user_id text,
    rating text not null check (rating in ('up', 'down')),
    comment text,
    created_at real,
    primary key (answer_id, user_id)
);
"""


# --------------------------------------------------------------------------- outcomes
@pytest.mark.parametrize(("kind", "low_confidence", "expected"), [
    (AnswerKind.NO_MATCH, False, "no_match"),
    (AnswerKind.NO_MATCH, True, "no_match"),
    (AnswerKind.COVERAGE, True, "low_confidence"),
    (AnswerKind.DOCUMENT, True, "low_confidence"),
    (AnswerKind.DENIED, False, "denied"),
    (AnswerKind.DENIED, True, "denied"),          # the access rules working is never a knowledge gap
    (AnswerKind.CLARIFY, False, "clarify"),
    (AnswerKind.CLARIFY, True, "clarify"),        # nor is a fact the user left out
    (AnswerKind.COVERAGE, False, "answered"),
    (AnswerKind.INCENTIVE, False, "answered"),
    (AnswerKind.GAPS, False, "answered"),
])
def test_answer_outcome(kind: AnswerKind, low_confidence: bool, expected: str) -> None:
    answer = replace(fakes.every_kind()[kind.value], low_confidence=low_confidence)
    assert answer_outcome(answer) == expected


def test_every_kind_has_an_outcome_the_store_accepts(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "f.db")
    for answer in fakes.every_kind().values():
        record(store, "q", outcome=answer_outcome(answer), kind=answer.kind.value)
    with pytest.raises(ValueError, match="outcome must be one of"):
        record(store, "q", outcome="nothing")


# --------------------------------------------------------------------------- the store
def record(store: FeedbackStore, question: str, *, user: str = "u1", outcome: str = "answered",
           kind: str = "coverage", conversation: str = "personal", topic: str = "",
           unknown: tuple[str, ...] = (), restricted_to: tuple[tuple[str, ...], ...] = ()) -> str:
    return store.record_answer(question_id=uuid.uuid4().hex, conversation_type=conversation, user_id=user,
                               question=question, kind=kind, title="Some title", outcome=outcome, topic=topic,
                               unknown_terms=unknown, restricted_to=restricted_to)


def set_asked_at(path: Path, answer_id: str, epoch: float) -> None:
    """Backdate an asking, through a second connection as another process would see the file."""
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("update answers set created_at = ? where answer_id = ?", (epoch, answer_id))


def test_an_old_database_is_migrated_on_open(tmp_path: Path) -> None:
    path = tmp_path / "partner-atlas.db"
    with closing(sqlite3.connect(path)) as db, db:
        db.executescript(OLD_SCHEMA)
        db.executemany("insert into answers values (?, ?, ?, ?, ?, ?, ?, ?)", [
            ("old-1", "m1", "personal", "u1", "Who covers Narnia?", "no_match", "Nothing matches", 1000.0),
            ("old-2", "m2", "channel", "u2", "Who covers AKS in DE?", "coverage", "Partners for AKS", 2000.0),
            ("old-3", "m3", "personal", "u3", "Show OPP-100", "denied", "Not available to you", 3000.0),
        ])
        db.execute("insert into feedback values ('old-2', 'u2', 'down', '', 2100.0)")

    store = FeedbackStore(path)
    with closing(sqlite3.connect(path)) as db:
        columns = {row[1] for row in db.execute("pragma table_info(answers)")}
    assert {"outcome", "topic", "unknown_terms"} <= columns
    gaps = {g.question: g for g in store.knowledge_gaps()}
    assert set(gaps) == {"Who covers Narnia?", "Who covers AKS in DE?"}       # the denial is not a gap
    assert gaps["Who covers Narnia?"].reasons == ("no_match",)
    assert gaps["Who covers AKS in DE?"].reasons == ("thumbs_down",)
    assert gaps["Who covers Narnia?"].first_asked == 1000.0 and gaps["Who covers AKS in DE?"].unknown_terms == ()
    # old rows and old ratings still work, and new rows carry the new columns
    assert [r.answer_id for r in store.feedback()] == ["old-2"]
    assert store.record_feedback(answer_id="old-1", user_id="u1", rating="down")
    new = record(store, "who covers narnia", user="u9", outcome="no_match", topic="Narnia", unknown=("Narnia",))
    store.close()

    reopened = FeedbackStore(path)          # opening a migrated file again changes nothing
    [narnia] = [g for g in reopened.knowledge_gaps() if "narnia" in g.question.lower()]
    assert narnia.times_asked == 2 and narnia.askers == 2 and narnia.reasons == ("no_match", "thumbs_down")
    assert narnia.unknown_terms == ("Narnia",) and narnia.topic == "Narnia"
    assert reopened.ratings([new, "old-1"]) == {new: {"up": 0, "down": 0}, "old-1": {"up": 0, "down": 1}}


def test_questions_are_grouped_by_their_normalised_wording(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    store = FeedbackStore(path)
    first = record(store, "Who covers Narnia?", user="u1", outcome="no_match", unknown=("Narnia",))
    second = record(store, "  who   COVERS narnia ", user="u2", outcome="no_match", conversation="channel",
                    unknown=("narnia", "covers"))
    latest = record(store, "WHO COVERS NARNIA!!", user="u1", outcome="low_confidence", kind="document", topic="Narnia")
    sentinel = record(store, "Who covers Sentinel in France?", user="u3", outcome="low_confidence",
                      topic="Microsoft Sentinel · France")
    record(store, "Which partners cover AKS in Germany?", outcome="answered")           # answered well: no gap
    record(store, "Show OPP-100", outcome="denied", kind="denied")                    # not a knowledge gap
    record(store, "Who can do AKS?", outcome="clarify", kind="clarify")               # nor is a clarification
    set_asked_at(path, first, 1_000.0)
    set_asked_at(path, second, 2_000.0)
    set_asked_at(path, latest, 3_000.0)
    set_asked_at(path, sentinel, 4_000.0)

    gaps = store.knowledge_gaps()
    assert [g.question for g in gaps] == ["WHO COVERS NARNIA!!", "Who covers Sentinel in France?"]
    narnia, france = gaps
    assert (narnia.times_asked, narnia.askers) == (3, 2)
    assert narnia.reasons == ("low_confidence", "no_match")
    assert narnia.kinds == ("coverage", "document")
    assert narnia.topic == "Narnia"
    assert narnia.unknown_terms == ("covers", "Narnia")                 # one term, however it was typed
    assert narnia.conversation_types == ("channel", "personal")
    assert (narnia.first_asked, narnia.last_asked) == (1_000.0, 3_000.0)
    assert (france.times_asked, france.askers, france.reasons) == (1, 1, ("low_confidence",))
    assert france.topic == "Microsoft Sentinel · France" and france.last_asked == 4_000.0


def test_equally_asked_gaps_come_most_recent_first(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    store = FeedbackStore(path)
    for question, at in (("older gap", 1_000.0), ("newest gap", 3_000.0), ("middle gap", 2_000.0)):
        set_asked_at(path, record(store, question, outcome="no_match"), at)
    assert [g.question for g in store.knowledge_gaps()] == ["newest gap", "middle gap", "older gap"]


def test_a_thumbs_down_is_a_gap_until_the_same_user_rates_it_up(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "f.db")
    answer = record(store, "Which partners cover AKS in Germany?", user="asker")
    assert store.knowledge_gaps() == []
    assert store.record_feedback(answer_id=answer, user_id="reader", rating="down")
    [gap] = store.knowledge_gaps()
    assert gap.reasons == ("thumbs_down",) and gap.times_asked == 1 and gap.askers == 1
    assert store.ratings([answer]) == {answer: {"up": 0, "down": 1}}

    assert store.record_feedback(answer_id=answer, user_id="reader", rating="up")    # changed their mind
    assert store.knowledge_gaps() == []
    assert store.ratings([answer, answer, "unknown"]) == {answer: {"up": 1, "down": 0}, "unknown": {"up": 0, "down": 0}}

    assert store.record_feedback(answer_id=answer, user_id="someone else", rating="down")
    assert [g.reasons for g in store.knowledge_gaps()] == [("thumbs_down",)]          # their down still counts
    assert store.ratings([answer]) == {answer: {"up": 1, "down": 1}}
    assert store.ratings([]) == {}


def test_ratings_of_many_answers(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "f.db")
    ids = [record(store, f"question {i}") for i in range(1_200)]
    for answer in ids[::3]:
        store.record_feedback(answer_id=answer, user_id="u", rating="up")
    ratings = store.ratings(ids)
    assert len(ratings) == 1_200 and sum(r["up"] for r in ratings.values()) == 400


def test_since_and_limit(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    store = FeedbackStore(path)
    for question, times, at in (("old gap", 5, 1_000.0), ("recent gap", 1, 5_000.0), ("busy gap", 3, 4_000.0)):
        for _ in range(times):
            set_asked_at(path, record(store, question, outcome="no_match"), at)
    assert [(g.question, g.times_asked) for g in store.knowledge_gaps()] == [
        ("old gap", 5), ("busy gap", 3), ("recent gap", 1)]
    assert [g.question for g in store.knowledge_gaps(since=4_000.0)] == ["busy gap", "recent gap"]
    assert [g.question for g in store.knowledge_gaps(since=4_500.0)] == ["recent gap"]
    assert store.knowledge_gaps(since=9_000.0) == []
    assert [g.question for g in store.knowledge_gaps(limit=2)] == ["old gap", "busy gap"]
    assert [g.question for g in store.knowledge_gaps(since=2_000.0, limit=1)] == ["busy gap"]


# --------------------------------------------------------------------------- exports
def gap(question: str = "Who covers Narnia?", **changes: Any) -> KnowledgeGap:
    values: dict[str, Any] = dict(question=question, times_asked=3, askers=2, reasons=("no_match", "thumbs_down"),
                                  kinds=("coverage", "no_match"), topic="Azure Kubernetes Service · Germany",
                                  unknown_terms=("Narnia",), first_asked=0.0, last_asked=1_763_777_096.0,
                                  conversation_types=("channel", "personal"))
    values.update(changes)
    return KnowledgeGap(**values)


def test_the_table_export_has_every_field_with_utc_times() -> None:
    header, rows = gaps_table([gap(), gap("=HYPERLINK(\"http://evil\"), and, \"quotes\"", times_asked=1,
                                          restricted_to=("ecm",))])
    assert header == ["question", "times_asked", "askers", "reasons", "answer_kinds", "topic", "unknown_terms",
                      "first_asked_utc", "last_asked_utc", "conversation_types", "restricted_to"]
    assert rows[0] == ["Who covers Narnia?", 3, 2, "no_match; thumbs_down", "coverage; no_match",
                       "Azure Kubernetes Service · Germany", "Narnia", "1970-01-01T00:00:00+00:00",
                       "2025-11-22T02:04:56+00:00", "channel; personal", ""]
    assert rows[1][-1] == "ecm"
    parsed = list(csv.reader(io.StringIO(csv_bytes(header, rows).decode("utf-8-sig"))))
    assert parsed[0] == header and len(parsed) == 3
    assert parsed[2][0] == "'=HYPERLINK(\"http://evil\"), and, \"quotes\""     # text in a spreadsheet, not a formula


def test_the_markdown_export_is_one_table_with_user_text_escaped() -> None:
    text = gaps_markdown([gap("Partner A | Partner B\nwho [wins](http://evil)?", topic="AKS | DE"), gap()])
    lines = text.splitlines()
    assert lines[0] == "# Knowledge gaps"
    table = [line for line in lines if line.startswith("|")]
    assert len(table) == 4                                              # header, rule, two gaps
    assert all(re.sub(r"\\\|", "", line).count("|") == 12 for line in table)    # eleven columns in every row
    assert "Partner A \\| Partner B who \\[wins\\](http://evil)?" in table[2]
    assert "AKS \\| DE" in table[2] and "\n" not in table[2]
    assert "| 3 | 2 | no_match, thumbs_down |" in table[3]
    assert "2025-11-22T02:04:56+00:00" in table[3]
    assert gaps_markdown([]).splitlines()[-1] == "No knowledge gaps recorded yet."


def test_the_list_card_shows_the_most_asked_fifteen_within_the_size_budget() -> None:
    gaps = [gap(f"{i} " + "why is there no partner for this very long question " * 40, times_asked=50 - i,
                unknown_terms=tuple(f"term{t}" for t in range(12)), topic="AKS · Germany " * 30) for i in range(40)]
    activity = knowledge_gaps.gaps_activity(gaps, brief=True)
    assert render.activity_size(activity) <= render.MAX_ACTIVITY_BYTES
    assert activity.text == "40 questions found no match, got a low-confidence answer or were rated not helpful. " \
                            "Most asked first."
    card = (activity.cards or [])[0]
    assert_valid_card(card)
    [table] = every(card, "Table")
    assert len(table["rows"]) == 1 + 15
    first = " ".join(b["text"] for b in every(table["rows"][1], "TextBlock"))
    assert first.startswith("1. 0 why is there") and " …" in first and "(+7)" in first and "50× · 2 people" in first
    assert "Showing 15 of 40: the export has them all." in card["fallbackText"]
    assert "Showing 15 of 40" in " ".join(b["text"] for b in every(card, "TextBlock"))
    # outside Teams the text is the whole list; a tight budget drops rows, never below five
    assert knowledge_gaps.gaps_activity(gaps).text == card["fallbackText"]
    small = knowledge_gaps.gaps_activity(gaps, max_bytes=20_000)
    assert len(every((small.cards or [])[0], "Table")[0]["rows"]) == 1 + 5


# --------------------------------------------------------------------------- commands
@pytest.mark.parametrize(("text", "expected"), [
    ("gaps", ("list", "csv", False)),
    ("Gaps?", ("list", "csv", False)),
    ("knowledge gaps", ("list", "csv", True)),
    ("Show knowledge gaps!", ("list", "csv", True)),
    ("  show   me the knowledge-gaps ", ("list", "csv", True)),
    ("list gaps.", ("list", "csv", False)),
    ("export gaps", ("export", "csv", False)),
    ("export gaps xlsx", ("export", "xlsx", False)),
    ("Export knowledge gaps as Markdown", ("export", "md", True)),
    ("export knowledge gaps md", ("export", "md", True)),
    ("export the knowledge gaps to excel", ("export", "xlsx", True)),
    ("Export Knowledge Gaps CSV.", ("export", "csv", True)),
])
def test_typed_commands(text: str, expected: tuple[str, str, bool]) -> None:
    command = command_of(text)
    assert command is not None and (command.name, command.fmt, command.explicit) == expected


@pytest.mark.parametrize("text", ["coverage gaps", "Where are our coverage gaps?", "what are the gaps in Germany",
                                  "export decisions", "gaps in AKS coverage", "export gaps pdf", "knowledge"])
def test_questions_are_not_commands(text: str) -> None:
    assert command_of(text) is None


@dataclass
class Served:
    client: TestClient
    data: Path

    async def say(self, text: str = "", *, user: str = SELLER, value: Any = None, group: bool = False,
                  conversation: str | None = None) -> list[dict[str, Any]]:
        return await post_message(self.client, text, user=user, value=value, group=group,
                                  conversation=conversation or f"a:{user}")

    async def download(self, text: str) -> tuple[int, bytes, dict[str, str]]:
        [url] = re.findall(r"\((http://127\.0\.0\.1:\d+/exports/[A-Za-z0-9_-]+\.(?:csv|xlsx|md))\)", text)
        response = await self.client.get("/exports/" + url.rsplit("/", 1)[1])
        return response.status, await response.read(), dict(response.headers)


@pytest.fixture
async def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Served]:
    data = tmp_path / "data"
    engine = KnowledgeEngine(Catalog(load_knowledge(make_knowledge(tmp_path / "kb"), documents=False)), None)
    slot = EngineSlot()
    slot.set_ready(engine)
    settings = Settings(_env_file=None, app_id="", app_password="", data_dir=data)
    client = TestClient(TestServer(create_app(settings, slot)))
    await client.start_server()
    try:
        yield Served(client, data)
    finally:
        await client.close()


NARNIA = "Who covers quantum teleportation in Narnia?"
SENTINEL_FR = "Who covers Microsoft Sentinel in France?"
AKS_DE = "Which partners cover AKS in Germany?"


async def ask_the_gaps_in(served: Served) -> None:
    """An ECM stumbles in a group chat, a seller on the same question in a 1:1 chat and on another, and one
    good answer gets a thumbs down."""
    assert "Nothing matches" in text_of(await served.say("who covers quantum teleportation in narnia", user=ECM,
                                                          group=True, conversation="19:group"))
    assert "Nothing matches" in text_of(await served.say(NARNIA))                  # the latest wording
    assert "No map coverage" in text_of(await served.say(SENTINEL_FR))              # profile evidence only
    card = card_of(await served.say(AKS_DE, user=ECM))
    [down] = [a["data"] for a in every(card, "Action.Execute") if a.get("data", {}).get("rating") == "down"]
    assert "Thanks for telling me" in text_of(await served.say(value=down, user=ECM))


async def test_an_admin_in_a_1_1_chat_gets_the_list_with_export_buttons(served: Served) -> None:
    await ask_the_gaps_in(served)
    activities = await served.say("Show knowledge gaps", user=ADMIN)
    card = card_of(activities)
    assert_valid_card(card)
    [activity] = activities
    assert activity["text"].startswith("3 questions found no match")           # Teams: a sentence above the card
    assert NARNIA in card["fallbackText"] and SENTINEL_FR in card["fallbackText"]
    [table] = every(card, "Table")
    rows = [" ".join(b["text"] for b in every(row, "TextBlock")) for row in table["rows"]]
    assert rows[0] == "Question Asked Why Last asked (UTC)"
    assert rows[1].startswith(f"1. {NARNIA}") and "2× · 2 people no match" in rows[1]
    assert "Unknown: Narnia" in rows[1]
    assert "👎 not helpful" in next(r for r in rows if AKS_DE in r)
    assert any(SENTINEL_FR in r and "low confidence" in r and "Topic: Microsoft Sentinel · France" in r for r in rows)
    buttons = [(a["type"], a["verb"], a["title"], a["data"]["knowledge_gaps_export"]) for a in card["actions"]]
    assert buttons == [("Action.Execute", "gaps_export", f"Export {name}", fmt)
                       for name, fmt in (("CSV", "csv"), ("XLSX", "xlsx"), ("Markdown", "md"))]
    # the other typed forms answer the same
    for typed in ("gaps", "Knowledge gaps.", "list gaps"):
        assert NARNIA in card_of(await served.say(typed, user=ADMIN))["fallbackText"], typed


async def test_an_empty_log_says_so(served: Served) -> None:
    await served.say(AKS_DE)                                                    # answered well: not a gap
    [reply] = await served.say("knowledge gaps", user=ADMIN)
    assert reply["text"] == knowledge_gaps.EMPTY and not reply.get("attachments")
    [reply] = await served.say("export knowledge gaps xlsx", user=ADMIN)
    assert reply["text"] == knowledge_gaps.EMPTY
    assert not (served.data / "exports").exists() or not any((served.data / "exports").iterdir())


async def test_others_are_refused_and_see_nothing_of_the_log(served: Served) -> None:
    await ask_the_gaps_in(served)
    attempts: list[tuple[dict[str, Any], str]] = [
        ({"text": "knowledge gaps", "user": SELLER}, knowledge_gaps.NOT_ADMIN),
        ({"text": "gaps", "user": SELLER}, knowledge_gaps.NOT_ADMIN),
        ({"text": "export knowledge gaps csv", "user": SELLER}, knowledge_gaps.NOT_ADMIN),
        ({"text": "show knowledge gaps", "user": ECM}, knowledge_gaps.NOT_ADMIN),
        ({"value": {"knowledge_gaps_export": "csv"}, "user": SELLER}, knowledge_gaps.NOT_ADMIN),   # a forged submit
        ({"value": {"knowledge_gaps_export": "md"}, "user": ECM}, knowledge_gaps.NOT_ADMIN),
        ({"text": "knowledge gaps", "user": ADMIN, "group": True, "conversation": "19:group"},
         knowledge_gaps.PRIVATE_ONLY),
        ({"text": "gaps", "user": ADMIN, "group": True, "conversation": "19:group"}, knowledge_gaps.PRIVATE_ONLY),
        ({"text": "export knowledge gaps xlsx", "user": ADMIN, "group": True, "conversation": "19:group"},
         knowledge_gaps.PRIVATE_ONLY),
        ({"value": {"knowledge_gaps_export": "csv"}, "user": ADMIN, "group": True, "conversation": "19:group"},
         knowledge_gaps.PRIVATE_ONLY),
    ]
    for attempt, refusal in attempts:
        [reply] = await served.say(**attempt)
        assert reply["text"] == refusal, attempt
        assert not reply.get("attachments"), attempt
        assert "Narnia" not in json.dumps(reply) and "Sentinel" not in json.dumps(reply), attempt
    assert not (served.data / "exports").exists() or not any((served.data / "exports").iterdir())


async def test_a_channel_managers_gaps_still_means_coverage_gaps(served: Served) -> None:
    await ask_the_gaps_in(served)
    for typed in ("gaps", "list gaps"):
        activities = await served.say(typed, user=ECM)
        assert "Coverage gaps" in text_of(activities) and "Narnia" not in json.dumps(activities), typed
    [reply] = await served.say("knowledge gaps", user=ECM)
    assert reply["text"] == knowledge_gaps.NOT_ADMIN


async def test_exports_are_links_to_files_with_every_gap(served: Served) -> None:
    await ask_the_gaps_in(served)
    tricky = "=cmd| ' /C calc'!A0 | who covers Frobnicator\nin [Narnia](http://evil)?"
    await served.say(tricky)
    [reply] = await served.say(value={"knowledge_gaps_export": "csv"}, user=ADMIN)
    assert "4 gaps, CSV" in reply["text"] and "15 minutes" in reply["text"]
    status, body, headers = await served.download(reply["text"])
    assert status == 200 and headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    by_question = {r["question"]: r for r in rows}
    assert len(rows) == 4 and NARNIA in by_question and SENTINEL_FR in by_question and AKS_DE in by_question
    assert by_question[NARNIA]["times_asked"] == "2" and by_question[NARNIA]["askers"] == "2"
    assert by_question[NARNIA]["conversation_types"] == "groupChat; personal"
    assert by_question[AKS_DE]["reasons"] == "thumbs_down"
    assert by_question["'" + " ".join(tricky.split())]["reasons"] == "no_match"      # never a formula

    [reply] = await served.say("export knowledge gaps as xlsx", user=ADMIN)
    status, body, headers = await served.download(reply["text"])
    assert status == 200 and headers["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(body), read_only=True).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:3] == ("question", "times_asked", "askers") and len(values) == 5
    assert (NARNIA, 2, 2) in [v[:3] for v in values]

    [reply] = await served.say("export gaps markdown", user=ADMIN)
    status, body, headers = await served.download(reply["text"])
    assert status == 200 and headers["Content-Type"] == "text/markdown; charset=utf-8"
    markdown = body.decode("utf-8")
    assert markdown.startswith("# Knowledge gaps") and f"| {NARNIA} | 2 | 2 |" in markdown
    assert "=cmd\\| ' /C calc'!A0 \\| who covers Frobnicator in \\[Narnia\\](http://evil)?" in markdown


# --------------------------------------------------------------------------- the CLI
@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setattr("app.settings.ENV_FILE", None)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    yield tmp_path / "data"


def test_the_cli_without_a_database_says_nothing_is_recorded(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert bot.main(["gaps"]) == 0
    assert capsys.readouterr().out.strip() == "no knowledge gaps recorded yet"
    assert not data_dir.exists()                                   # not created just to say so
    assert bot.main(["gaps", "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == [] and "no knowledge gaps recorded yet" in captured.err


def test_the_cli_prints_and_writes_the_gaps(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = data_dir / "partner-atlas.db"
    store = FeedbackStore(path)
    for user in ("u1", "u2", "u1"):
        record(store, "Who covers Narnia?", user=user, outcome="no_match", topic="Narnia", unknown=("Narnia",))
    old = record(store, "Who covers Atlantis?", outcome="no_match")
    record(store, "Which partners cover AKS in Germany?")
    store.close()
    set_asked_at(path, old, 1_000.0)

    assert bot.main(["gaps"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ASKED", "ASKERS", "REASONS", "LAST", "ASKED", "(UTC)", "TOPIC", "QUESTION"]
    assert lines[1].split()[:3] == ["3", "2", "no_match"] and lines[1].endswith("Narnia  Who covers Narnia?")
    assert lines[2].split()[:3] == ["1", "1", "no_match"] and lines[2].endswith("Who covers Atlantis?")
    assert len(lines) == 3 and lines[1].index("Who covers") == lines[2].index("Who covers")    # aligned

    assert bot.main(["gaps", "--since", "1", "--format", "json"]) == 0
    [narnia] = json.loads(capsys.readouterr().out)
    assert narnia["question"] == "Who covers Narnia?" and narnia["times_asked"] == 3
    assert narnia["reasons"] == ["no_match"] and narnia["last_asked"].endswith("+00:00")

    assert bot.main(["gaps", "--limit", "1", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["question"] for r in rows] == ["Who covers Narnia?"]

    target = tmp_path / "gaps.md"
    assert bot.main(["gaps", "--format", "md", "--output", str(target)]) == 0
    assert "2 knowledge gaps written to" in capsys.readouterr().out
    assert "| Who covers Atlantis? |" in target.read_text(encoding="utf-8")

    assert bot.main(["gaps", "--since", "0"]) == 2
    assert "--since must be a positive number of days" in capsys.readouterr().err


def test_feedback_module_keeps_no_knowledge_text(tmp_path: Path) -> None:
    """The answers table holds what users typed and labels only: no column for answer text or passages."""
    feedback_module.FeedbackStore(tmp_path / "partner-atlas.db").close()
    with closing(sqlite3.connect(tmp_path / "partner-atlas.db")) as db:
        columns = {row[1] for table in ("answers", "feedback") for row in db.execute(f"pragma table_info({table})")}
    assert {"question", "kind", "title", "rating"} <= columns
    assert not {"summary", "text", "passage", "passages", "notes", "facts"} & columns


# --------------------------------------------------------------------------- what the log shows to whom
PIPELINE_QUESTION = "What is the status of OPP-100 for Account OPP-100?"
UNKNOWN_OPPORTUNITY = "What is the status of OPP-999?"
SELLERS_PIPELINE_QUESTION = "What is the status of OPP-101 for Account OPP-101?"


async def thumbs_down(served: Served, activities: list[dict[str, Any]], user: str) -> None:
    [down] = [a["data"] for a in every(card_of(activities), "Action.Execute") if a.get("data", {}).get("rating") == "down"]
    assert "Thanks for telling me" in text_of(await served.say(value=down, user=user))


async def ask_about_the_pipeline_in(served: Served) -> None:
    """A channel manager rates an opportunity's answer not helpful and asks for one that does not exist; a
    seller is refused an opportunity and rates the refusal not helpful: three gaps about the pipeline."""
    answered = await served.say(PIPELINE_QUESTION, user=ECM)
    assert "Account OPP-100" in text_of(answered)
    await thumbs_down(served, answered, ECM)
    assert "OPP-999 not found" in text_of(await served.say(UNKNOWN_OPPORTUNITY, user=ECM))
    refused = await served.say(SELLERS_PIPELINE_QUESTION, user=SELLER)
    assert "Not available to you" in text_of(refused)
    await thumbs_down(served, refused, SELLER)


async def test_an_admin_outside_ecm_never_sees_pipeline_questions_in_the_log_or_its_exports(served: Served) -> None:
    await ask_the_gaps_in(served)
    await ask_about_the_pipeline_in(served)
    listed = await served.say("knowledge gaps", user=ADMIN)
    shown = json.dumps(listed)
    assert NARNIA in card_of(listed)["fallbackText"] and "OPP-" not in shown and "Account OPP" not in shown
    assert listed[0]["text"].startswith("3 questions found no match")       # counted without them, too
    for typed, fmt in (("export knowledge gaps csv", "csv"), ("export knowledge gaps xlsx", "xlsx"),
                       ("export knowledge gaps markdown", "md")):
        [reply] = await served.say(typed, user=ADMIN)
        assert "3 gaps" in reply["text"], (fmt, reply["text"])
        status, body, _ = await served.download(reply["text"])
        content = body.decode("utf-8-sig") if fmt != "xlsx" else json.dumps(
            [list(r) for r in openpyxl.load_workbook(io.BytesIO(body), read_only=True).active.iter_rows(values_only=True)],
            default=str)
        assert status == 200 and NARNIA in content and "OPP-" not in content, fmt
    # they are in the log all the same, restricted to the pipeline's group (the whole file, as stored)
    store = FeedbackStore(served.data / "partner-atlas.db")
    everything = {g.question: g for g in store.knowledge_gaps(everything=True)}
    store.close()
    assert {PIPELINE_QUESTION, UNKNOWN_OPPORTUNITY, SELLERS_PIPELINE_QUESTION} <= set(everything)
    assert {everything[q].restricted_to for q in (PIPELINE_QUESTION, UNKNOWN_OPPORTUNITY, SELLERS_PIPELINE_QUESTION)} \
        == {("ecm",)}
    assert everything[NARNIA].restricted_to == ()


def test_the_cli_prints_only_what_anyone_may_see(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`bot.py gaps` is the knowledge owners' report, and reports travel: it leaves restricted askings out
    (the operator who needs them has the database itself)."""
    store = FeedbackStore(data_dir / "partner-atlas.db")
    record(store, "Who covers Narnia?", outcome="no_match")
    record(store, PIPELINE_QUESTION, user=ECM, outcome="low_confidence", kind="opportunity")
    record(store, SELLERS_PIPELINE_QUESTION, user=SELLER, kind="denied", outcome="denied")
    store.record_feedback(answer_id=record(store, "Which partners are on a delivery improvement plan?", user=ECM,
                                           kind="document", restricted_to=(("ecm",),)), user_id=ECM, rating="down")
    store.close()
    for fmt in ("table", "csv", "md", "json"):
        assert bot.main(["gaps", "--format", fmt]) == 0
        out = capsys.readouterr().out
        assert "Who covers Narnia?" in out and "OPP-" not in out and "delivery improvement" not in out, fmt


async def test_an_export_press_notes_the_link_under_the_same_card_and_a_forged_one_does_nothing(served: Served) -> None:
    await ask_the_gaps_in(served)
    card = card_of(await served.say("Show knowledge gaps", user=ADMIN))
    csv_button, xlsx_button = card["actions"][0], card["actions"][1]
    forged = await press(served, csv_button, user=SELLER)
    assert forged["type"] == "application/vnd.microsoft.activity.message" and forged["value"] == knowledge_gaps.NOT_ADMIN
    assert not (served.data / "exports").exists() or not any((served.data / "exports").iterdir())
    body = await press(served, csv_button, user=ADMIN)
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    updated = body["value"]
    [note] = [b for b in updated["body"] if b.get("id") == "export-note"]
    assert "/exports/" in note["text"] and "3 gaps, CSV" in note["text"]
    assert [a["title"] for a in updated["actions"]] == ["Export CSV", "Export XLSX", "Export Markdown"]
    # a second export replaces the note rather than piling up links
    again = (await press(served, xlsx_button, user=ADMIN))["value"]
    notes = [b["text"] for b in again["body"] if b.get("id") == "export-note"]
    assert len(notes) == 1 and "XLSX" in notes[0]
