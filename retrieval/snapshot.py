"""The record snapshot beside an index generation: structured records as plain tuples, loaded in seconds.

`serve` starts from it instead of re-reading a large folder. A worldwide catalog holds 500,000
opportunities; pickling each record object costs minutes to write and a quarter of a gigabyte on disk,
and unpickling rebuilds every object through its state dict. Here each record is a tuple of its field
values (nested records as nested tuples) in a `marshal` payload: only strings, numbers, tuples and lists,
no code and no classes, each distinct string stored once. Loading decodes that in C and rebuilds the
records with their own constructors, except the pipeline: it is stored as one list per field and stays
that table (knowledge/opportunity_table.py), its records built when asked for.

Layout: MAGIC, then a header (version, fingerprint of the files the records came from) and the records,
each a length, a CRC-32 and the marshal bytes. The CRCs are checked before anything is decoded (marshal
is not meant for damaged input), and the header alone says whether the snapshot is current.
"""
from __future__ import annotations

import logging
import marshal
import struct
import zlib
from pathlib import Path
from typing import Any

from knowledge.opportunity_table import OpportunityTable
from knowledge.record_codec import (
    incentive_from,
    incentive_tuple,
    map_row_from,
    map_row_tuple,
    partner_from,
    partner_tuple,
    referral_from,
    referral_tuple,
)
from knowledge.records import AccessGroups, AccessMember, FileIssue, Knowledge

log = logging.getLogger(__name__)

MAGIC = b"PARTNER-ATLAS-RECORDS\n"
VERSION = 4   # 3: co-sell referrals; 4: the pipeline as columns
_PART = struct.Struct("<QI")    # length, crc32


class SnapshotError(Exception):
    """The file is not a complete snapshot of this version."""


def encode(kb: Knowledge, fingerprint: list[tuple[str, int, int]]) -> bytes:
    """The snapshot bytes of kb's structured records (documents are not part of it)."""
    header = {"version": VERSION, "fingerprint": [list(f) for f in fingerprint]}
    records = {
        "root": kb.root, "files_read": kb.files_read,
        "partners": [partner_tuple(p) for p in kb.partners],
        "map_rows": [map_row_tuple(r) for r in kb.map_rows],
        "incentives": [incentive_tuple(i) for i in kb.incentives],
        "opportunities": OpportunityTable.from_records(kb.opportunities).columns(),
        "referrals": [referral_tuple(r) for r in kb.referrals],
        "access": [(group, tuple((m.aad_object_id, m.name, m.email) for m in members))
                   for group, members in kb.access.groups.items()],
        "issues": [(i.path, i.reason, i.skipped) for i in kb.issues],
    }
    return MAGIC + _part(header) + _part(records)


def _part(value: dict[str, Any]) -> bytes:
    data = marshal.dumps(value, 4)
    return _PART.pack(len(data), zlib.crc32(data)) + data


# ----------------------------------------------------------------------------------- decoding
def _parts(blob: bytes) -> list[memoryview]:
    if not blob.startswith(MAGIC):
        raise SnapshotError("not a record snapshot")
    view, at, parts = memoryview(blob), len(MAGIC), []
    for _ in range(2):
        if at + _PART.size > len(blob):
            raise SnapshotError("truncated")
        length, crc = _PART.unpack_from(blob, at)
        at += _PART.size
        data = view[at:at + length]
        if len(data) != length or zlib.crc32(data) != crc:
            raise SnapshotError("damaged (checksum mismatch)")
        parts.append(data)
        at += length
    return parts


def read_header(blob: bytes) -> dict[str, Any]:
    """The header of a complete, undamaged snapshot (checksums verified); SnapshotError otherwise."""
    header = marshal.loads(_parts(blob)[0])
    if not isinstance(header, dict) or header.get("version") != VERSION:
        raise SnapshotError("another snapshot version")
    header["fingerprint"] = [tuple(f) for f in header["fingerprint"]]
    return header


def decode(blob: bytes) -> Knowledge:
    """The records of a complete snapshot (call read_header first to know it is current)."""
    r: dict[str, Any] = marshal.loads(_parts(blob)[1])
    partners = [partner_from(p) for p in r["partners"]]
    map_rows = [map_row_from(m) for m in r["map_rows"]]
    incentives = [incentive_from(i) for i in r["incentives"]]
    opportunities = OpportunityTable(r["opportunities"])    # columns: no record is built until one is asked for
    referrals = [referral_from(x) for x in r["referrals"]]
    access = AccessGroups({group: tuple(AccessMember(*m) for m in members) for group, members in r["access"]})
    return Knowledge(root=r["root"], partners=partners, map_rows=map_rows, incentives=incentives,
                     opportunities=opportunities, referrals=referrals, documents=[], access=access,
                     issues=[FileIssue(*i) for i in r["issues"]], files_read=r["files_read"])


def read(path: Path, fingerprint: list[tuple[str, int, int]]) -> Knowledge | None:
    """The records in the snapshot file when it is complete and was made from these files, else None."""
    try:
        blob = path.read_bytes()
        header = read_header(blob)
        if header["fingerprint"] != fingerprint:
            return None
        return decode(blob)
    except FileNotFoundError:
        return None
    except Exception as exc:  # noqa: BLE001 - a damaged snapshot is only a missed shortcut
        log.warning("record snapshot %s unreadable (%s); re-reading the folder", path, exc)
        return None


def is_current(path: Path, fingerprint: list[tuple[str, int, int]]) -> bool:
    """Whether the snapshot file is complete, undamaged and made from these files (records not decoded)."""
    try:
        return read_header(path.read_bytes())["fingerprint"] == fingerprint
    except Exception:  # noqa: BLE001 - missing or damaged: not current
        return False
