"""The state stores' contract, run against SQLite and against Azure Blob Storage (Azurite on loopback).

Two store objects over one file or one container stand for two processes (or two instances behind a
load balancer): optimistic concurrency has to hold between them, not just inside one object.
"""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from botbuilder.core import ConversationState, MemoryStorage, Storage, TurnContext
from botbuilder.dialogs import DialogInstance, DialogState
from botbuilder.schema import Activity, ChannelAccount, ConversationAccount

from channel.storage import (
    AzureBlobStorage,
    ETagConflictError,
    SqliteStorage,
    close_state_storage,
    open_state_storage,
    update_with_retry,
)
from tests.services import Azurite

# a Teams channel thread's key, as PrivateConversationState builds it: colons, @, ; and = in one name
TEAMS_KEY = "msteams/conversations/19:abc123@thread.tacv2;messageid=1712345678901/users/29:1a2b-3c4d"

StoreFactory = Callable[[], Storage]


@pytest.fixture(params=["sqlite", "blob"])
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreFactory]:
    """Makes store objects that share one backing store (a file, or a container)."""
    made: list[Storage] = []
    if request.param == "sqlite":
        path = tmp_path / "partner-atlas.db"

        def make() -> Storage:
            made.append(SqliteStorage(path))
            return made[-1]
    else:
        azurite: Azurite = request.getfixturevalue("azurite")
        container = f"state-{uuid.uuid4().hex[:12]}"

        def make() -> Storage:
            made.append(AzureBlobStorage(azurite.connection_string, container))
            return made[-1]
    try:
        yield make
    finally:
        for store in made:
            await close_state_storage(store)


async def test_a_written_item_reads_back_with_an_e_tag(stores: StoreFactory) -> None:
    store = stores()
    await store.write({TEAMS_KEY: {"understood": {"workloads": ["AKS"], "countries": []}, "at": 1.5}})
    item = (await store.read([TEAMS_KEY, "missing/key"]))[TEAMS_KEY]
    assert item["understood"] == {"workloads": ["AKS"], "countries": []} and item["at"] == 1.5
    assert isinstance(item["e_tag"], str) and item["e_tag"]
    assert await stores().read(["missing/key"]) == {}          # a missing key is absent, not an error


async def test_a_stale_e_tag_is_refused_and_the_newer_item_is_kept(stores: StoreFactory) -> None:
    first, second = stores(), stores()
    await first.write({"k": {"n": 0}})
    mine = (await first.read(["k"]))["k"]
    theirs = (await second.read(["k"]))["k"]
    assert mine["e_tag"] == theirs["e_tag"]
    theirs["n"] = 2
    await second.write({"k": theirs})
    mine["n"] = 1
    with pytest.raises(ETagConflictError):
        await first.write({"k": mine})
    current = (await first.read(["k"]))["k"]
    assert current["n"] == 2 and current["e_tag"] != mine["e_tag"]


async def test_a_current_e_tag_writes_and_changes_the_e_tag(stores: StoreFactory) -> None:
    store = stores()
    await store.write({"k": {"n": 0}})
    item = (await store.read(["k"]))["k"]
    item["n"] = 1
    await store.write({"k": item})
    again = (await store.read(["k"]))["k"]
    assert again["n"] == 1 and again["e_tag"] != item["e_tag"]


async def test_star_or_no_e_tag_overwrites_whatever_is_stored(stores: StoreFactory) -> None:
    store = stores()
    await store.write({"k": {"n": 0}})
    await store.write({"k": {"n": 1, "e_tag": "*"}})
    assert (await store.read(["k"]))["k"]["n"] == 1
    await store.write({"k": {"n": 2}})
    assert (await store.read(["k"]))["k"]["n"] == 2


async def test_an_empty_e_tag_is_refused(stores: StoreFactory) -> None:
    with pytest.raises(Exception, match="etag|e_tag"):
        await stores().write({"k": {"n": 0, "e_tag": ""}})


async def test_delete_removes_and_deleting_a_missing_key_is_fine(stores: StoreFactory) -> None:
    store = stores()
    await store.write({"a": {"n": 1}, "b": {"n": 2}})
    await store.delete(["a", "never-written"])
    assert set(await store.read(["a", "b"])) == {"b"}


async def test_create_item_refuses_a_key_that_exists(stores: StoreFactory) -> None:
    store = stores()
    await store.create_item("k", {"n": 1})  # type: ignore[attr-defined]
    with pytest.raises(ETagConflictError):
        await stores().create_item("k", {"n": 2})  # type: ignore[attr-defined]
    assert (await store.read(["k"]))["k"]["n"] == 1


async def test_a_dialog_stack_round_trips_as_sdk_objects(stores: StoreFactory) -> None:
    state = DialogState([DialogInstance("QuestionDialog", {"values": {"question": "Who can do AKS?"}})])
    await stores().write({TEAMS_KEY: {"DialogState": state}})
    restored = (await stores().read([TEAMS_KEY]))[TEAMS_KEY]["DialogState"]
    assert isinstance(restored, DialogState)
    [instance] = restored.dialog_stack
    assert isinstance(instance, DialogInstance)
    assert (instance.id, instance.state) == ("QuestionDialog", {"values": {"question": "Who can do AKS?"}})


async def test_bot_state_saves_and_reloads_through_the_store(stores: StoreFactory) -> None:
    """ConversationState (what the bot uses) over the store: a second store object sees the first's state."""
    activity = Activity(type="message", channel_id="msteams", conversation=ConversationAccount(id="a:conv"),
                        from_property=ChannelAccount(id="29:user"), recipient=ChannelAccount(id="28:bot"))

    async def turn(store: Storage, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        state = ConversationState(store)
        context = TurnContext(_NoAdapter(), activity)
        value = await state.create_property("Pending").get(context, dict)
        change(value)
        await state.save_changes(context)
        return dict(value)

    await turn(stores(), lambda value: value.update(step="ask_country"))
    seen = await turn(stores(), lambda value: None)
    assert seen["step"] == "ask_country"


async def test_two_writers_racing_on_one_key_lose_no_update(stores: StoreFactory) -> None:
    """Writer A reads, then B reads, writes and wins; A's write is refused, A re-reads and applies again."""
    a_store, b_store = stores(), stores()
    await a_store.write({"k": {"answers": []}})
    a_has_read, b_has_written = asyncio.Event(), asyncio.Event()
    attempts = {"a": 0, "b": 0}

    async def a_change(item: dict[str, Any]) -> None:
        attempts["a"] += 1
        if attempts["a"] == 1:
            a_has_read.set()
            await b_has_written.wait()          # B commits between A's read and A's write
        item["answers"].append("from A")

    async def b_change(item: dict[str, Any]) -> None:
        attempts["b"] += 1
        item["answers"].append("from B")

    async def b() -> dict[str, Any]:
        await a_has_read.wait()
        written = await update_with_retry(b_store, "k", b_change)
        b_has_written.set()
        return written

    await asyncio.gather(update_with_retry(a_store, "k", a_change), b())
    final = (await stores().read(["k"]))["k"]
    assert sorted(final["answers"]) == ["from A", "from B"]
    assert attempts == {"a": 2, "b": 1}                    # A lost the race once and retried


async def test_many_concurrent_writers_each_count_once(stores: StoreFactory, request: pytest.FixtureRequest) -> None:
    writers = [stores() for _ in range(6)]
    tries = [0]

    def increment(item: dict[str, Any]) -> Awaitable[None]:
        tries[0] += 1

        async def later() -> None:
            value = item.get("count", 0)
            await asyncio.sleep(0.01)           # widen the window between read and write
            item["count"] = value + 1
        return later()

    await asyncio.gather(*(update_with_retry(store, "counter", increment, attempts=30) for store in writers))
    final = (await stores().read(["counter"]))["counter"]["count"]
    print(f"\n{request.node.callspec.id}: {len(writers)} concurrent read-modify-write writers, {tries[0]} attempts "
          f"({tries[0] - len(writers)} lost races retried), final count {final}")
    assert final == len(writers)


async def test_a_new_key_raced_by_two_creators_keeps_both_changes(stores: StoreFactory) -> None:
    first, second = stores(), stores()
    both_read = asyncio.Barrier(2)

    async def add(name: str) -> Callable[[dict[str, Any]], Awaitable[None]]:
        calls = 0

        async def change(item: dict[str, Any]) -> None:
            nonlocal calls
            calls += 1
            if calls == 1:
                await both_read.wait()          # both saw "no item" before either writes
            item.setdefault("members", []).append(name)
        return change

    await asyncio.gather(update_with_retry(first, "new", await add("A")), update_with_retry(second, "new", await add("B")))
    assert sorted((await stores().read(["new"]))["new"]["members"]) == ["A", "B"]


def test_the_configured_store_is_opened(tmp_path: Path) -> None:
    assert isinstance(open_state_storage("sqlite", sqlite_path=tmp_path / "x.db"), SqliteStorage)
    assert isinstance(open_state_storage("memory", sqlite_path=tmp_path / "x.db"), MemoryStorage)
    with pytest.raises(ValueError, match="AZURE_STORAGE_CONNECTION_STRING"):
        open_state_storage("blob", sqlite_path=tmp_path / "x.db")
    with pytest.raises(ValueError, match="unknown state store"):
        open_state_storage("redis", sqlite_path=tmp_path / "x.db")


class _NoAdapter:
    """TurnContext wants an adapter; BotState never calls it."""


async def test_writing_over_an_item_deleted_since_it_was_read_is_a_conflict(stores: StoreFactory) -> None:
    store = stores()
    await store.write({"k": {"n": 0}})
    item = (await store.read(["k"]))["k"]
    await stores().delete(["k"])
    item["n"] = 1
    with pytest.raises(ETagConflictError):
        await store.write({"k": item})
    assert await store.read(["k"]) == {}


async def test_sqlite_state_idle_past_the_keep_period_is_dropped_at_start(tmp_path: Path) -> None:
    path = tmp_path / "partner-atlas.db"
    store = SqliteStorage(path)
    await store.write({"old": {"n": 1}, "recent": {"n": 2}})
    store._table.db.write(lambda tx: tx.execute(
        "update bot_state set updated_at = updated_at - 31 * 86400 where key = 'old'"))
    store.close()
    reopened = SqliteStorage(path, keep_days=30)
    assert set(await reopened.read(["old", "recent"])) == {"recent"}
    reopened.close()
