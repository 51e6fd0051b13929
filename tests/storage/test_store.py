"""Every store on both engines: what one store object (one instance) writes, another sees; races have one winner.

Two store objects opened on the same target stand for two instances (on PostgreSQL two instances would
have two pools; the HTTP test in tests/test_scale_out.py runs two real `bot.py serve` processes).
"""
from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from channel.storage import DatabaseStorage, ETagConflictError
from dialogs.exports import ExportStore
from dialogs.feedback import FeedbackStore
from dialogs.session_store import SessionAlreadyRunning, SessionStore, Source
from dialogs.subscriptions import SubscriptionStore
from retrieval.clustering import Signature
from retrieval.decisions import DecisionStore
from storage import open_database
from storage.cards import SentCards
from storage.database import opened
from storage.migrate import SchemaTooNew, current_version, latest_version, migrate
from storage.replay import ReplayLog

T = TypeVar("T")
DAY = dt.date(2026, 12, 7)


def race(count: int, attempt: Callable[[int], T]) -> list[T]:
    """Run `attempt(i)` in `count` threads released at once; their results in order."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = attempt(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


# --------------------------------------------------------------------------- schema
def test_a_new_database_is_migrated_once_to_the_latest_version(target: Path | str) -> None:
    first = open_database(target)
    try:
        assert current_version(first) == latest_version(first.dialect) >= 2
        versions = first.read(lambda tx: tx.rows("select version, name from schema_version order by version"))
        assert [v for v, _ in versions] == list(range(1, latest_version(first.dialect) + 1))
        assert versions[0][1] == "initial"
        assert migrate(first) == latest_version(first.dialect)         # nothing left to do
        assert len(first.read(lambda tx: tx.rows("select version from schema_version"))) == len(versions)
    finally:
        first.close()


def test_instances_starting_together_migrate_once(target: Path | str) -> None:
    opened = race(4, lambda _: open_database(target))
    try:
        rows = opened[0].read(lambda tx: tx.rows("select version from schema_version"))
        assert sorted(v for (v,) in rows) == list(range(1, latest_version(opened[0].dialect) + 1))
    finally:
        for database in opened:
            database.close()


def test_a_database_from_a_newer_release_is_refused(target: Path | str) -> None:
    database = open_database(target)
    database.write(lambda tx: tx.execute("insert into schema_version (version, name, applied_at) values (?, ?, ?)",
                                         (99, "from_the_future", 0.0)))
    try:
        with pytest.raises(SchemaTooNew):
            migrate(database)
    finally:
        database.close()


# --------------------------------------------------------------------------- decisions, feedback
def test_a_decision_recorded_by_one_instance_is_read_by_another(target: Path | str) -> None:
    one, other = DecisionStore(target), DecisionStore(target)
    try:
        one.record(opportunity_id="OPP-1", partner_id="P1", partner_name="Contoso", action="attach", reason="signed",
                   decided_by="Ana", decided_by_id="aad-ana")
        one.record(opportunity_id="OPP-1", partner_id="P2", partner_name="Fabrikam", action="dismiss",
                   reason="no capacity", decided_by="Ana")
        assert set(other.attached()) == {"OPP-1"}
        assert other.dismissed("OPP-1") == frozenset({"P2"})
        assert [d.action for d in other.for_opportunity("OPP-1")] == ["attach", "dismiss"]
    finally:
        one.close()
        other.close()


def test_feedback_ratings_replace_and_gaps_group_across_instances(target: Path | str) -> None:
    one, other = FeedbackStore(target), FeedbackStore(target)
    try:
        first = one.record_answer(question_id="q1", conversation_type="personal", user_id="u1",
                                  question="Who covers Atlantis?", kind="no_match", title="No match",
                                  outcome="no_match", unknown_terms=("Atlantis",))
        second = other.record_answer(question_id="q2", conversation_type="channel", user_id="u2",
                                     question="who covers atlantis", kind="no_match", title="No match",
                                     outcome="no_match")
        fine = one.record_answer(question_id="q3", conversation_type="personal", user_id="u1",
                                 question="AKS in\x00 Germany", kind="coverage", title="AKS")
        assert other.record_feedback(answer_id=fine, user_id="u2", rating="down")
        assert one.record_feedback(answer_id=fine, user_id="u2", rating="up")       # replaces the thumbs down
        assert not one.record_feedback(answer_id="unknown", user_id="u2", rating="up")
        assert other.ratings([fine, first]) == {fine: {"up": 1, "down": 0}, first: {"up": 0, "down": 0}}
        [gap] = other.knowledge_gaps()
        assert (gap.times_asked, gap.askers, gap.reasons) == (2, 2, ("no_match",))
        assert gap.question == "who covers atlantis" and gap.unknown_terms == ("Atlantis",)
        [rated] = one.feedback()
        assert rated.answer_id == fine and second
        assert rated.question in ("AKS in\x00 Germany", "AKS in\ufffd Germany")     # NUL: PostgreSQL has U+FFFD
    finally:
        one.close()
        other.close()


# --------------------------------------------------------------------------- the digest lease
def test_one_instance_of_many_takes_a_subscribers_digest_for_the_day(target: Path | str) -> None:
    stores = [SubscriptionStore(target) for _ in range(6)]
    try:
        assert stores[0].subscribe("u1", "Ana", {"channelId": "msteams"})
        assert not stores[1].subscribe("u1", "Ana B.", {"channelId": "msteams"})      # a refresh, not new
        assert stores[2].get("u1") is not None and stores[2].get("u1").user_name == "Ana B."  # type: ignore[union-attr]
        won = race(len(stores), lambda i: stores[i].claim("u1", DAY, now=1000.0))
        assert won.count(True) == 1
        winner = won.index(True)
        assert not stores[(winner + 1) % 6].claim("u1", DAY, now=1001.0)          # held
        stores[winner].mark_sent("u1", DAY)
        assert not any(s.claim("u1", DAY, now=1002.0) for s in stores)            # sent today
        assert stores[0].claim("u1", DAY + dt.timedelta(days=1), now=90_000.0)   # tomorrow's is free
        assert stores[1].mark_failed("u1", DAY + dt.timedelta(days=1)) == 1      # a failure releases the lease
        assert stores[2].claim("u1", DAY + dt.timedelta(days=1), now=90_060.0)
        # an instance that died holding the lease: another takes over once it expires
        assert not stores[3].claim("u1", DAY + dt.timedelta(days=1), now=90_100.0)
        assert stores[3].claim("u1", DAY + dt.timedelta(days=1), now=90_060.0 + 601)
        assert stores[4].mark_failed("u1", DAY + dt.timedelta(days=1)) == 2
        assert stores[4].claim("u1", DAY + dt.timedelta(days=1), now=90_700.0)
        stores[0].release("u1")                                                 # not its lease: still held
        assert not stores[5].claim("u1", DAY + dt.timedelta(days=1), now=90_701.0)
        stores[4].release("u1")                                                 # nothing sent: free again
        assert stores[5].claim("u1", DAY + dt.timedelta(days=1), now=90_702.0)
        assert stores[5].unsubscribe("u1") and stores[0].all() == []
    finally:
        for store in stores:
            store.close()


# --------------------------------------------------------------------------- sessions
def test_one_session_runs_per_conversation_whichever_instance_starts_it(target: Path | str) -> None:
    stores = [SessionStore(target) for _ in range(4)]

    def start(i: int) -> str:
        try:
            stores[i].start(conversation_key="19:channel", conversation_type="channel", topic=f"AKS {i}",
                            started_by_id=f"u{i}", started_by_name=f"User {i}", now=100.0 + i)
            return "started"
        except SessionAlreadyRunning:
            return "refused"

    try:
        assert sorted(race(4, start)) == ["refused", "refused", "refused", "started"]
        running = stores[1].running("19:channel")
        assert running is not None
        signature = Signature("aks in germany", (0.25, -1.5, 3.0), {"workload": ("AKS",)}, "coverage", "AKS")
        first = stores[2].add_question(session_id=running.session_id, activity_id="a1", thread_id="t",
                                       asker_id="u1", asker_name="Ana", question="AKS in Germany?", answer_id="x",
                                       kind="coverage", title="AKS", outcome="answered",
                                       sources=(Source("Map", "maps/solution-map.csv", "row 4"),), topic="AKS · DE",
                                       duplicate_of=None, signature=signature)
        again = stores[3].add_question(session_id=running.session_id, activity_id="a2", thread_id="t",
                                       asker_id="u2", asker_name="Ben", question="aks in germany", answer_id="y",
                                       kind="coverage", title="AKS", outcome="answered", sources=(), topic="",
                                       duplicate_of=first, signature=signature)
        asked = stores[0].questions(running.session_id)
        assert [q.id for q in asked] == [first, again] and asked[1].duplicate_of == first
        assert asked[0].signature.vector == (0.25, -1.5, 3.0) and asked[0].signature.facts == {"workload": ("AKS",)}
        assert asked[0].sources == (Source("Map", "maps/solution-map.csv", "row 4"),)
        ended = stores[0].end("19:channel", ended_by_name="Ana", now=200.0)
        assert ended is not None and ended.ended_at == 200.0 and stores[1].running("19:channel") is None
        assert stores[2].latest("19:channel") == ended and stores[3].end("19:channel", ended_by_name="Ben") is None
    finally:
        for store in stores:
            store.close()


# --------------------------------------------------------------------------- conversation state
async def test_conversation_state_keeps_its_etag_race_across_instances(target: Path | str) -> None:
    one, other = DatabaseStorage(target), DatabaseStorage(target)
    try:
        await one.create_item("conv/1", {"turns": 1})
        with pytest.raises(ETagConflictError):
            await other.create_item("conv/1", {"turns": 9})
        mine, theirs = (await one.read(["conv/1"]))["conv/1"], (await other.read(["conv/1"]))["conv/1"]
        assert isinstance(mine, dict) and isinstance(theirs, dict)
        theirs["turns"] = 2
        await other.write({"conv/1": theirs})
        mine["turns"] = 3
        with pytest.raises(ETagConflictError):
            await one.write({"conv/1": mine})
        assert (await one.read(["conv/1"]))["conv/1"]["turns"] == 2  # type: ignore[index]
        await one.delete(["conv/1"])
        assert await other.read(["conv/1"]) == {}
    finally:
        one.close()
        other.close()


# --------------------------------------------------------------------------- exports, replay guard
def test_an_export_made_by_one_instance_downloads_from_another_until_it_expires(target: Path | str) -> None:
    now = [1000.0]
    one, other = ExportStore(target, clock=lambda: now[0]), ExportStore(target, clock=lambda: now[0])
    try:
        name = one.save(["partner", "note"], [["Contoso", "=cmd()"]], "csv")
        export = other.fetch(name)
        assert export is not None and export.data.decode("utf-8-sig").splitlines() == ["partner,note",
                                                                                        "Contoso,'=cmd()"]
        xlsx = other.fetch(one.save(["a"], [[1]], "xlsx"))
        assert xlsx is not None and xlsx.data.startswith(b"PK")
        assert other.fetch(name.replace(".csv", ".md")) is None and other.fetch("../partner-atlas.db") is None
        now[0] += one.ttl_seconds
        assert other.fetch(name) is None and name not in one.names()
        assert one.purge_expired() == 1 and other.names() == []
    finally:
        one.close()
        other.close()


def test_a_redelivered_activity_goes_through_once_whichever_instance_gets_it(target: Path | str) -> None:
    now = [5000.0]
    guards = [ReplayLog(target, ttl_seconds=600, clock=lambda: now[0]) for _ in range(5)]
    try:
        key = ("msteams", "19:conv", "activity-1")
        assert race(5, lambda i: guards[i].first_delivery(key)).count(True) == 1
        assert not guards[0].first_delivery(key) and len(guards[1]) == 1
        guards[2].forget(key)                      # the turn failed: the channel's retry goes through
        assert guards[3].first_delivery(key)
        now[0] += 601                               # long after: a new delivery like any other
        assert guards[4].first_delivery(key) and not guards[0].first_delivery(key)
    finally:
        for guard in guards:
            guard.close()


def test_a_sent_card_is_read_back_by_another_instance_until_it_expires(target: Path | str) -> None:
    now = [1000.0]
    one, other = (SentCards(target, ttl_seconds=3600, clock=lambda: now[0]) for _ in range(2))
    try:
        card = {"type": "AdaptiveCard", "body": [{"type": "TextBlock", "text": "Zürich — Contoso \u2705"}]}
        one.save({"c1": card, "c2": {"type": "AdaptiveCard", "body": []}})
        assert other.load("c1") == card and other.load("missing") is None
        pressed = {**card, "body": [*card["body"], {"type": "TextBlock", "text": "Thanks"}]}
        now[0] += 3000
        other.save({"c1": pressed})                     # a press re-saves the card and renews it
        now[0] += 1000
        assert one.load("c1") == pressed and one.load("c2") is None       # c2 expired, c1 did not
        now[0] += 3600 * 2
        one.save({"c3": card})                          # the next save purges what expired
        assert len(other) == 1
    finally:
        one.close()
        other.close()


def test_a_transaction_that_loses_a_deadlock_is_run_again(postgres: Any) -> None:
    """Two transactions lock two rows in opposite orders: PostgreSQL aborts one, and it is retried, not lost."""
    database = open_database(postgres.new_database())
    try:
        database.write(lambda tx: tx.execute("insert into bot_state (key, etag, document, updated_at) values "
                                             "('a', '0', '{}', 0), ('b', '0', '{}', 0)"))
        barrier, attempts = threading.Barrier(2), [0, 0]

        def lock_in_order(i: int) -> None:
            first, second = ("a", "b") if i == 0 else ("b", "a")

            def work(tx: Any) -> None:
                attempts[i] += 1
                tx.execute("update bot_state set updated_at = updated_at + 1 where key = ?", (first,))
                if attempts[i] == 1:
                    barrier.wait(timeout=10)           # both hold their first row: a deadlock
                tx.execute("update bot_state set updated_at = updated_at + 1 where key = ?", (second,))

            database.write(work)

        race(2, lock_in_order)
        assert sorted(attempts) == [1, 2]              # one lost the deadlock and ran again
        rows = database.read(lambda tx: tx.rows("select key, updated_at from bot_state order by key"))
        assert rows == [("a", 2.0), ("b", 2.0)]       # both transactions' work is there, once
    finally:
        database.close()


def test_a_file_from_the_release_before_migrations_keeps_its_rows_and_gains_the_new_tables(tmp_path: Path) -> None:
    import sqlite3
    from contextlib import closing

    path = tmp_path / "partner-atlas.db"
    with closing(sqlite3.connect(path)) as db, db:       # as the stores of the previous release left it
        db.executescript("""
            create table digest_subscriptions (user_id text primary key, user_name text not null default '',
                reference text not null, created_at real not null, last_sent_date text, failed_date text,
                failures integer not null default 0);
            insert into digest_subscriptions (user_id, user_name, reference, created_at) values ('u1', 'Ana', '{}', 1.0);
            create table decisions (id integer primary key autoincrement, opportunity_id text not null,
                partner_id text not null, partner_name text not null, action text not null, reason text not null
                default '', decided_by text not null, decided_by_id text not null default '', decided_at text not null);
            insert into decisions (opportunity_id, partner_id, partner_name, action, decided_by, decided_at)
                values ('OPP-1', 'P1', 'Contoso', 'attach', 'Ana', '2026-01-01T00:00:00Z');
        """)
    subscriptions, decisions = SubscriptionStore(path), DecisionStore(path)
    try:
        assert [s.user_name for s in subscriptions.all()] == ["Ana"]
        assert subscriptions.claim("u1", DAY, now=10.0) and not subscriptions.claim("u1", DAY, now=11.0)
        assert set(decisions.attached()) == {"OPP-1"}
        with opened(path) as database:
            assert current_version(database) == latest_version("sqlite")
    finally:
        subscriptions.close()
        decisions.close()
