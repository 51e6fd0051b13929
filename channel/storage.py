"""Where conversation state lives: the dialog stack, follow-up context and quiz state between turns.

Four stores behind botbuilder's `Storage` interface, chosen by STATE_STORE:
- `sqlite` (default): `DatabaseStorage` on a table in the server's SQLite file (var/partner-atlas.db), so a
  pending clarifying question survives a restart of the one process that serves the bot.
- `postgres`: `DatabaseStorage` on the same table in the PostgreSQL database of DATABASE_URL — shared by
  several instances behind a load balancer, with everything else the bot writes.
- `blob`: `AzureBlobStorage`, botbuilder-azure's `BlobStorage` (one JSON blob per key) — the other store for
  several instances, where a local file is not shared.
- `memory`: botbuilder's `MemoryStorage`, for tests and throwaway runs; a restart forgets every dialog.

Both durable stores keep the SDK's optimistic concurrency: `read` sets each item's `e_tag`; a `write`
whose `e_tag` no longer matches raises `ETagConflictError`, one with `e_tag` "*" or none overwrites.
`create_item` writes only if the key is absent, and `update_with_retry` is the read-modify-write loop
that retries a lost race instead of overwriting the winner's update.

Items are encoded with jsonpickle, as botbuilder-azure does, so a dialog stack's `DialogInstance`
objects come back as themselves and a record written by one store reads the same in the other. The
decoder restores Python objects by name: the stores must only ever hold what this bot wrote (the data
directory and the storage account are the bot's own, never user uploads).
"""
from __future__ import annotations

import asyncio
import copy
import json
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceModifiedError
from azure.storage.blob.aio import BlobServiceClient
from botbuilder.azure import BlobStorage, BlobStorageSettings
from botbuilder.core import MemoryStorage, Storage
from jsonpickle import encode
from jsonpickle.unpickler import Unpickler

from storage import DatabaseTarget
from storage.state import ETagMismatch, StateRow, StateTable

log = logging.getLogger(__name__)

STATE_STORES = ("sqlite", "postgres", "blob", "memory")
STATE_KEEP_DAYS = 30.0

class ETagConflictError(Exception):
    """The item changed (or appeared, or vanished) since it was read: re-read and apply the change again."""


def _e_tag_of(item: object) -> str | None:
    if isinstance(item, dict):
        value = item.get("e_tag")
    else:
        value = getattr(item, "e_tag", None)
    if value == "":
        raise ValueError("storage write: e_tag is empty (use None or '*' to overwrite)")
    return None if value is None else str(value)


def _restore(document: str, e_tag: str) -> Any:
    item = json.loads(document)
    if isinstance(item, dict):
        item["e_tag"] = e_tag
    return Unpickler().restore(item)


class DatabaseStorage(Storage):
    """botbuilder `Storage` over a table in the bot's database (storage/: the SQLite file or PostgreSQL).

    Each write is one conditional statement (`update … where etag = ?` or an `insert`), so two
    processes sharing the database cannot both win a race; a `write` of several items is one transaction.
    Calls run in a worker thread: the database may wait on another process's lock and the event loop must not.
    """

    def __init__(self, path: DatabaseTarget, *, keep_days: float = STATE_KEEP_DAYS) -> None:
        self._table = StateTable(path)
        # state nobody touched for weeks is a dialog nobody will finish: drop it at start, so the table stays small
        purged = self._table.purge_idle(time.time() - keep_days * 86400)
        if purged:
            log.info("conversation state: %d item(s) idle for over %g days removed", purged, keep_days)

    @property
    def path(self) -> str:
        return self._table.path

    def close(self) -> None:
        self._table.close()

    async def read(self, keys: list[str]) -> dict[str, object]:
        if not keys:
            return {}
        rows = await asyncio.to_thread(self._table.read, list(keys))
        return {key: _restore(document, etag) for key, etag, document in rows}

    async def write(self, changes: dict[str, object]) -> None:
        if changes is None:
            raise ValueError("storage write: changes are required")
        if changes:
            await asyncio.to_thread(self._write_rows, self._encode(changes), False)

    async def create_item(self, key: str, item: object) -> None:
        """Write `item` only if `key` does not exist yet; otherwise ETagConflictError."""
        await asyncio.to_thread(self._write_rows, self._encode({key: item}), True)

    async def delete(self, keys: list[str]) -> None:
        if keys:
            await asyncio.to_thread(self._table.delete, list(keys))

    @staticmethod
    def _encode(changes: dict[str, object]) -> list[StateRow]:
        return [(key, _e_tag_of(item), encode(item, unpicklable=True)) for key, item in changes.items()]

    def _write_rows(self, rows: list[StateRow], create_only: bool) -> None:
        try:
            self._table.write(rows, create_only=create_only, now=time.time())
        except ETagMismatch as exc:
            raise ETagConflictError(str(exc)) from None


SqliteStorage = DatabaseStorage       # the name before PostgreSQL could hold the state too


class AzureBlobStorage(BlobStorage):
    """botbuilder-azure's `BlobStorage`, with three things made strict.

    - A lost ETag race raises `ETagConflictError` (the SDK lets azure's 412 `ResourceModifiedError`
      through), so callers handle one error for every store.
    - A read that fails for any reason but "not found" raises: the SDK skips the key, and the turn would
      then start from empty state and overwrite the stored dialog unconditionally.
    - `create_item` (create-only, `If-None-Match: *`) and `close` (the SDK never closes its HTTP session).
    """

    def __init__(self, connection_string: str, container: str) -> None:
        super().__init__(BlobStorageSettings(container_name=container, connection_string=connection_string))
        self.container = container
        # the SDK drops its service client, whose HTTP session the container client cannot close: keep our own
        self._service = BlobServiceClient.from_connection_string(connection_string)
        self._BlobStorage__container_client = self._service.get_container_client(container)

    @property
    def _container_client(self) -> Any:
        return self._BlobStorage__container_client  # type: ignore[attr-defined]  # the SDK keeps it name-mangled

    async def read(self, keys: list[str]) -> dict[str, object]:
        if not keys:
            return {}
        await self._initialize()
        items: dict[str, object] = {}
        for key in keys:
            try:
                items[key] = await self._inner_read_blob(self._container_client.get_blob_client(key))
            except HttpResponseError as error:
                if error.status_code != 404:
                    raise
        return items

    async def write(self, changes: dict[str, object]) -> None:
        try:
            await super().write(changes)
        except ResourceModifiedError as error:
            raise ETagConflictError("an item changed since it was read") from error
        except HttpResponseError as error:
            if error.status_code == 412:       # If-Match on a blob that was deleted meanwhile
                raise ETagConflictError("an item changed since it was read") from error
            raise

    async def create_item(self, key: str, item: object) -> None:
        await self._initialize()
        blob = self._container_client.get_blob_client(key)
        try:
            await blob.upload_blob(encode(item), overwrite=False)    # If-None-Match: *
        except ResourceExistsError as error:
            raise ETagConflictError(f"{key!r} exists already") from error
        except HttpResponseError as error:
            if error.status_code in (409, 412):
                raise ETagConflictError(f"{key!r} exists already") from error
            raise

    async def close(self) -> None:
        await self._service.close()


async def update_with_retry(storage: Storage, key: str, mutate: Callable[[dict[str, Any]], None | Awaitable[None]],
                            *, attempts: int = 8, pause: Callable[[int], Awaitable[None]] | None = None
                            ) -> dict[str, Any]:
    """Read `key`, apply `mutate` to a copy, write it back conditionally; on a lost race, start again.

    The loser of a race never overwrites the winner: it gets ETagConflictError, re-reads the winner's
    version and applies its own change to that. A new key is written create-only for the same reason.
    Returns the item as written; gives up (re-raising the conflict) after `attempts` reads.
    """
    for attempt in range(1, attempts + 1):
        current = (await storage.read([key])).get(key)
        item: dict[str, Any] = copy.deepcopy(current) if isinstance(current, dict) else {}
        outcome = mutate(item)
        if outcome is not None:
            await outcome
        try:
            if current is None:
                item.pop("e_tag", None)
                await _create(storage, key, item)
            else:
                await storage.write({key: item})
            return item
        except ETagConflictError:
            log.info("state write lost a race on attempt %d: re-reading", attempt)
            if attempt == attempts:
                raise
            if pause is not None:
                await pause(attempt)
    raise AssertionError("unreachable")


async def _create(storage: Storage, key: str, item: dict[str, Any]) -> None:
    create = getattr(storage, "create_item", None)
    if create is None:          # MemoryStorage: no create-only write, one process only
        await storage.write({key: item})
    else:
        await create(key, item)


def open_state_storage(kind: str, *, sqlite_path: Path, blob_connection_string: str = "",
                       blob_container: str = "", database: DatabaseTarget | None = None) -> Storage:
    """The configured store (STATE_STORE): see the module docstring. `database` is the bot's PostgreSQL
    database (or its URL) for `postgres`."""
    if kind == "sqlite":
        log.info("conversation state: SQLite (%s)", sqlite_path)
        return DatabaseStorage(sqlite_path)
    if kind == "postgres":
        if database is None:
            raise ValueError("STATE_STORE=postgres needs DATABASE_URL")
        log.info("conversation state: PostgreSQL (the bot's database)")
        return DatabaseStorage(database)
    if kind == "blob":
        if not blob_connection_string or not blob_container:
            raise ValueError("STATE_STORE=blob needs AZURE_STORAGE_CONNECTION_STRING and AZURE_STORAGE_CONTAINER")
        log.info("conversation state: Azure Blob Storage (container %s)", blob_container)
        return AzureBlobStorage(blob_connection_string, blob_container)
    if kind == "memory":
        log.warning("conversation state: in memory (STATE_STORE=memory): a restart forgets every open dialog")
        return MemoryStorage()
    raise ValueError(f"unknown state store {kind!r}: one of {', '.join(STATE_STORES)}")


async def close_state_storage(storage: Storage) -> None:
    close = getattr(storage, "close", None)
    if close is not None:
        outcome = close()
        if asyncio.iscoroutine(outcome):
            await outcome
