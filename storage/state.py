"""Conversation state rows (botbuilder `Storage` items as JSON documents) with optimistic concurrency.

Each write is one conditional statement (`update … where etag = ?`, an upsert, or a create-only insert),
so two instances cannot both win a race; a write of several items is one transaction.
"""
from __future__ import annotations

import uuid
from collections.abc import Sequence

from storage.database import Conflict, Tx
from storage.table import Table

StateRow = tuple[str, str | None, str]          # key, the e_tag it was read with (None or "*": overwrite), document


class ETagMismatch(Exception):
    """The item changed (or appeared, or vanished) since it was read."""


class StateTable(Table):
    def purge_idle(self, before: float) -> int:
        return self.db.write(lambda tx: tx.count("delete from bot_state where updated_at < ?", (before,)))

    def read(self, keys: Sequence[str]) -> list[tuple[str, str, str]]:
        marks = ",".join("?" * len(keys))
        return self.db.read(lambda tx: [(str(k), str(e), str(d)) for k, e, d in tx.rows(
            f"select key, etag, document from bot_state where key in ({marks})", list(keys))])  # noqa: S608

    def write(self, rows: Sequence[StateRow], *, create_only: bool, now: float) -> None:
        """Write every row or none; ETagMismatch names the first one that lost a race."""

        def work(tx: Tx) -> None:
            for key, e_tag, document in rows:
                new_tag = uuid.uuid4().hex
                if create_only:
                    try:
                        tx.execute("insert into bot_state (key, etag, document, updated_at) values (?, ?, ?, ?)",
                                   (key, new_tag, document, now))
                    except Conflict:
                        raise ETagMismatch(f"{key!r} exists already") from None
                elif e_tag is None or e_tag == "*":
                    tx.execute("insert into bot_state (key, etag, document, updated_at) values (?, ?, ?, ?) "
                               "on conflict (key) do update set etag = excluded.etag, document = excluded.document, "
                               "updated_at = excluded.updated_at", (key, new_tag, document, now))
                elif tx.count("update bot_state set etag = ?, document = ?, updated_at = ? where key = ? and etag = ?",
                              (new_tag, document, now, key, e_tag)) != 1:
                    raise ETagMismatch(f"{key!r} changed since it was read")

        self.db.write(work)

    def delete(self, keys: Sequence[str]) -> None:
        marks = ",".join("?" * len(keys))
        self.db.write(lambda tx: tx.execute(f"delete from bot_state where key in ({marks})", list(keys)))  # noqa: S608
