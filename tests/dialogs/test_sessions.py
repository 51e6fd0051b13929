"""Readiness sessions: the store, the commands, deep links and the digest (the HTTP play is in
tests/test_readiness_session.py)."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from botbuilder.schema import Activity, ChannelAccount, ConversationAccount

from channel.turn import read_activity
from dialogs import session_commands
from dialogs import sessions as s
from dialogs.session_store import SessionAlreadyRunning, SessionStore, Source
from dialogs.turn import Turn
from retrieval.answers import Answer, AnswerKind, Citation, Passage, Understood
from retrieval.clustering import Signature
from tests.support.cards import assert_valid_card

KEY = "19:abc@thread.tacv2"


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    return SessionStore(tmp_path / "partner-atlas.db")


def add(store: SessionStore, session_id: str, question: str, *, asker: str = "u1", outcome: str = "answered",
        duplicate_of: int | None = None, answer_id: str = "", vector: tuple[float, ...] = (1.0, 0.0),
        kind: str = "document", sources: tuple[Source, ...] = ()) -> int:
    return store.add_question(session_id=session_id, activity_id=f"m-{question[:5]}", thread_id="t", asker_id=asker,
                              asker_name=asker.upper(), question=question, answer_id=answer_id, kind=kind,
                              title=f"Answer to {question}", outcome=outcome, sources=sources, topic="",
                              duplicate_of=duplicate_of, signature=Signature(question.lower(), vector, {}, kind))


def test_one_running_session_per_conversation_and_it_survives_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "partner-atlas.db"
    store = SessionStore(path)
    first = store.start(conversation_key=KEY, conversation_type="channel", topic="  FY27  ", started_by_id="e1",
                        started_by_name="Eve", now=100.0)
    assert first.topic == "FY27" and first.running
    with pytest.raises(SessionAlreadyRunning) as running:
        store.start(conversation_key=KEY, conversation_type="channel", topic="other", started_by_id="e2",
                    started_by_name="Ed")
    assert running.value.session.session_id == first.session_id
    other = store.start(conversation_key="19:other@thread.v2", conversation_type="groupChat", topic="x",
                        started_by_id="e1", started_by_name="Eve")
    assert other.session_id != first.session_id
    add(store, first.session_id, "What is ECIF?", vector=(0.6, 0.8), sources=(Source("ECIF guide", "programs/ecif.md", "section 'A'"),))
    store.close()

    reopened = SessionStore(path)
    assert reopened.running(KEY) == first
    [question] = reopened.questions(first.session_id)
    assert question.signature.vector == pytest.approx((0.6, 0.8))
    assert question.signature.kind == "document"
    assert question.sources == (Source("ECIF guide", "programs/ecif.md", "section 'A'"),)
    ended = reopened.end(KEY, ended_by_name="Eve", now=200.0)
    assert ended is not None and ended.ended_at == 200.0 and not ended.running
    assert reopened.end(KEY, ended_by_name="Eve") is None
    assert reopened.running(KEY) is None
    assert reopened.latest(KEY) == ended
    # a new session may start once the last one ended; `latest` is then the running one
    new = reopened.start(conversation_key=KEY, conversation_type="channel", topic="next", started_by_id="e1",
                         started_by_name="Eve", now=300.0)
    assert reopened.latest(KEY) == new


def test_the_store_keeps_no_passage_text(store: SessionStore) -> None:
    session = store.start(conversation_key=KEY, conversation_type="channel", topic="t", started_by_id="e",
                          started_by_name="E")
    answer = Answer(AnswerKind.DOCUMENT, "What ECIF is", "From the guide:", Understood(),
                    passages=(Passage("SECRET-PASSAGE-TEXT funds", Citation("ECIF guide", "programs/ecif.md"), 1.0),))
    store.add_question(session_id=session.session_id, activity_id="1", thread_id="1", asker_id="u", asker_name="U",
                       question="What is ECIF?", answer_id="a", kind="document", title=answer.title, outcome="answered",
                       sources=s.answer_sources(answer), topic=s.answer_topic(answer), duplicate_of=None,
                       signature=Signature("what is ecif"))
    dump = "\n".join(sqlite3.connect(store.path).iterdump())
    assert "SECRET-PASSAGE-TEXT" not in dump
    assert "programs/ecif.md" in dump


@pytest.mark.parametrize(("text", "expected"), [
    ('start readiness session "FY27 Azure incentives"', ("start", "FY27 Azure incentives")),
    ("Start a readiness session on Security plays", ("start", "Security plays")),
    ("start session: “Modern Work”", ("start", "Modern Work")),
    ("start readiness session", ("start", session_commands.DEFAULT_TOPIC)),
    ("end session", ("end", "")),
    ("End the readiness session!", ("end", "")),
    ("session summary", ("summary", "")),
    ("summarize the session", ("summary", "")),
    ("Who can do AKS in Germany?", None),
    ("what happens at the end of a session of the partner review?", None),
])
def test_commands_are_whole_messages(text: str, expected: tuple[str, str] | None) -> None:
    assert s.parse_command(text) == expected


def activity(conversation_id: str, conversation_type: str, message_id: str = "1763") -> Turn:
    return read_activity(Activity(
        id=message_id, conversation=ConversationAccount(id=conversation_id, conversation_type=conversation_type,
                                                        is_group=True),
        from_property=ChannelAccount(id="29:x"), recipient=ChannelAccount(id="28:bot")))


def test_conversation_key_and_thread_of_channel_and_chat_messages() -> None:
    channel = activity(f"{KEY};messageid=1700", "channel", "1763")
    assert s.conversation_key(channel) == KEY and s.thread_id(channel) == "1700"
    chat = activity("19:meeting_abc@thread.v2", "groupChat", "1763")
    assert s.conversation_key(chat) == "19:meeting_abc@thread.v2" and s.thread_id(chat) == "1763"


def test_deep_links_to_a_channel_reply_and_to_a_chat_message() -> None:
    link = s.message_link(KEY, "channel", "1763", "1700", "tenant-1")
    assert link == ("https://teams.microsoft.com/l/message/19:abc@thread.tacv2/1763?tenantId=tenant-1&parentMessageId=1700")
    chat = s.message_link("19:meeting_abc@thread.v2", "groupChat", "1763", "", "t")
    assert chat.startswith("https://teams.microsoft.com/l/message/19:meeting_abc@thread.v2/1763?tenantId=t&context=")
    assert s.message_link(KEY, "channel", "", "", "t") == ""


def test_digest_clusters_follow_ups_and_exports(store: SessionStore) -> None:
    session = store.start(conversation_key=KEY, conversation_type="channel", topic="FY27 | incentives",
                          started_by_id="e", started_by_name="Eve", now=0.0)
    map_row = Source("FY27 map", "solution_maps/map.csv", "row 3")
    first = add(store, session.session_id, "Who covers AKS in Poland?", asker="a", answer_id="ans-1", kind="coverage",
                sources=(map_row,))
    add(store, session.session_id, "Which partners do AKS in Poland?", asker="b", duplicate_of=first, kind="coverage",
        sources=(map_row,))
    add(store, session.session_id, "What is the refund policy?", asker="c", outcome="no_match", vector=(0.0, 1.0),
        answer_id="ans-2", kind="no_match")
    add(store, session.session_id, "What is ECIF?", asker="a", answer_id="ans-3", vector=(-1.0, 0.0))
    store.end(KEY, ended_by_name="Eve", now=3600.0)
    ended = store.get(session.session_id)
    assert ended is not None
    digest = s.build_digest(ended, store.questions(session.session_id), {"ans-3": {"up": 0, "down": 2}}, final=True)

    assert (digest.questions, digest.askers, digest.duplicates_pointed, len(digest.clusters)) == (4, 3, 1, 3)
    [top] = digest.top
    assert [q.question for q in top.questions] == ["Who covers AKS in Poland?", "Which partners do AKS in Poland?"]
    assert top.askers == ("A", "B")
    assert [(c.first.question, c.follow_up) for c in digest.needs_follow_up] == [
        ("What is the refund policy?", ("no match",)), ("What is ECIF?", ("2 👎",))]
    assert [c.first.question for c in digest.answered] == ["Who covers AKS in Poland?"]

    markdown = s.digest_markdown(digest)
    assert markdown.startswith("# Readiness session digest: FY27 \\| incentives\n")
    assert "1. ×2 “Who covers AKS in Poland?” — asked by A, B" in markdown
    assert "FY27 map — solution\\_maps/map.csv (row 3)" in markdown
    header, rows = s.digest_table(digest, {"ans-3": {"up": 0, "down": 2}})
    assert header == s.CSV_HEADER and len(rows) == 4
    assert rows[1][header.index("outcome")] == "repeat"
    assert rows[1][header.index("repeat_of_question")] == "Who covers AKS in Poland?"
    assert rows[3][header.index("thumbs_down")] == 2

    reply = s.digest_activity(digest)
    card = (reply.cards or [])[0]
    assert_valid_card(card)
    assert [a["data"]["fmt"] for a in card["actions"]] == ["md", "csv"]
    assert all(a["data"]["session"] == session.session_id for a in card["actions"])


def test_an_empty_session_digest_says_so(store: SessionStore) -> None:
    session = store.start(conversation_key=KEY, conversation_type="channel", topic="Quiet", started_by_id="e",
                          started_by_name="Eve")
    digest = s.build_digest(session, [], {}, final=False)
    assert "No questions were asked." in s.digest_markdown(digest)
    assert_valid_card((s.digest_activity(digest).cards or [])[0])


def test_a_huge_digest_stays_under_the_teams_size_limit(store: SessionStore) -> None:
    session = store.start(conversation_key=KEY, conversation_type="channel", topic="Big", started_by_id="e",
                          started_by_name="Eve")
    for n in range(400):
        add(store, session.session_id, f"Question number {n} " + "x" * 1900, asker=f"u{n % 40}", outcome="no_match",
            vector=tuple(1.0 if i == n else 0.0 for i in range(400)))
    digest = s.build_digest(session, store.questions(session.session_id), {}, final=False)
    reply = s.digest_activity(digest)
    from dialogs import render
    assert render.activity_size(reply) <= render.MAX_ACTIVITY_BYTES
    assert len(digest.clusters) == 400
    assert "… and 392 more (in the export)" in (reply.text or "") or len((reply.cards or [])[0]["body"]) <= 3
    assert_valid_card((reply.cards or [])[0])


def test_a_database_from_before_restrictions_gets_the_column_and_keeps_its_questions(tmp_path: Path) -> None:
    path = tmp_path / "partner-atlas.db"
    old = SessionStore(path)
    session = old.start(conversation_key=KEY, conversation_type="channel", topic="FY27", started_by_id="e1",
                        started_by_name="Eve", now=100.0)
    add(old, session.session_id, "What is ECIF?")
    old.close()
    with sqlite3.connect(path) as db:             # as the database was before that migration
        db.execute("alter table session_questions drop column restricted_to")
        db.execute("alter table answers drop column restricted_to")
        # ... and before every later one (their tables go too)
        db.execute("drop table sent_cards")
        db.execute("delete from schema_version where version >= "
                   "(select version from schema_version where name = 'restricted_to')")
    store = SessionStore(path)
    [before] = store.questions(session.session_id)
    assert before.question == "What is ECIF?" and before.restricted_to == ()
    store.add_question(session_id=session.session_id, activity_id="m2", thread_id="t", asker_id="e1", asker_name="E",
                       question="Status of OPP-1?", answer_id="", kind="opportunity", title="OPP-1", outcome="answered",
                       sources=(Source("Pipeline OPP-1", "opportunities/p.csv", "row 2"),), topic="", duplicate_of=None,
                       signature=Signature("status of opp-1", (1.0, 0.0), {}, "opportunity"), restricted_to=(("ecm",),))
    after = store.questions(session.session_id)[1]
    assert after.restricted_to == (("ecm",),)
    # what a seller reading the digest gets: the asking, without its words, title or sources
    [shown_before, shown_after] = s.for_reader(store.questions(session.session_id), None)
    assert shown_before.question == "What is ECIF?"
    assert (shown_after.question, shown_after.title, shown_after.sources, shown_after.hidden) == \
        ("(question restricted)", "(answer restricted)", (), True)
    assert "OPP-1" not in s.digest_markdown(s.build_digest(session, [shown_before, shown_after], {}, final=False))
