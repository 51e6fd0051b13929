"""The record snapshot beside an index generation: structured records as plain tuples, loaded in seconds.

`serve` starts from it instead of re-reading a large folder. A worldwide catalog holds 500,000
opportunities; pickling each record object costs minutes to write and a quarter of a gigabyte on disk,
and unpickling rebuilds every object through its state dict. Here each record is a tuple of its field
values (nested records as nested tuples) in a `marshal` payload: only strings, numbers, tuples and lists,
no code and no classes, each distinct string stored once. Loading decodes that in C and rebuilds the
records with their own constructors.

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

from knowledge.records import (
    AccessGroups,
    AccessMember,
    Contacts,
    FileIssue,
    Incentive,
    Knowledge,
    MapRow,
    MarketplaceOffer,
    Opportunity,
    Partner,
    SourceRef,
    Win,
)

log = logging.getLogger(__name__)

MAGIC = b"PARTNER-ATLAS-RECORDS\n"
VERSION = 2
_PART = struct.Struct("<QI")    # length, crc32


class SnapshotError(Exception):
    """The file is not a complete snapshot of this version."""


# ----------------------------------------------------------------------------------- encoding
def _partner(p: Partner) -> tuple[Any, ...]:
    return (p.id, p.name, p.source.path, p.source.locator, p.type, p.hq_country, p.countries, p.description,
            p.designations, p.specializations, p.azure_expert_msp, p.industries, p.segments, p.workloads,
            p.co_sell_ready, tuple((o.name, o.workloads) for o in p.marketplace_offers), p.certified_staff,
            p.available_consultants_90d, (p.contacts.pdm, p.contacts.pdm_email, p.contacts.partner_email),
            tuple((w.customer, w.industry, w.country, w.workload, w.year, w.summary) for w in p.wins),
            p.notes_confidential, p.allowed_groups, p.updated)


def _map_row(r: MapRow) -> tuple[Any, ...]:
    return (r.workload, r.partner_id, r.partner_name, r.source.path, r.source.locator, r.solution_area,
            r.solution_play, r.role, r.countries, r.industries, r.segments, r.fiscal_year, r.notes)


def _incentive(i: Incentive) -> tuple[Any, ...]:
    return (i.id, i.name, i.source.path, i.source.locator, i.program, i.funding, i.max_funding_usd, i.workloads,
            i.segments, i.countries, i.min_deal_usd, i.designations_any, i.specializations_any,
            i.co_sell_ready_required, i.fiscal_year, i.doc)


def _opportunity(o: Opportunity) -> tuple[Any, ...]:
    return (o.id, o.source.path, o.source.locator, o.account, o.industry, o.country, o.segment, o.solution_play,
            o.workload, o.estimated_value_usd, o.stage, o.close_date, o.partner_id, o.partner_name, o.owner)


def encode(kb: Knowledge, fingerprint: list[tuple[str, int, int]]) -> bytes:
    """The snapshot bytes of kb's structured records (documents are not part of it)."""
    header = {"version": VERSION, "fingerprint": [list(f) for f in fingerprint]}
    records = {
        "root": kb.root, "files_read": kb.files_read,
        "partners": [_partner(p) for p in kb.partners],
        "map_rows": [_map_row(r) for r in kb.map_rows],
        "incentives": [_incentive(i) for i in kb.incentives],
        "opportunities": [_opportunity(o) for o in kb.opportunities],
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


_source = SourceRef._make


def decode(blob: bytes) -> Knowledge:
    """The records of a complete snapshot (call read_header first to know it is current)."""
    r: dict[str, Any] = marshal.loads(_parts(blob)[1])
    partners = [Partner(p[0], p[1], SourceRef(p[2], p[3]), p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12],
                        p[13], p[14], tuple(MarketplaceOffer(*o) for o in p[15]), p[16], p[17], Contacts(*p[18]),
                        tuple(Win(*w) for w in p[19]), p[20], p[21], p[22])
                for p in r["partners"]]
    map_rows = [MapRow(m[0], m[1], m[2], _source((m[3], m[4])), m[5], m[6], m[7], m[8], m[9], m[10], m[11], m[12])
                for m in r["map_rows"]]
    incentives = [Incentive(i[0], i[1], SourceRef(i[2], i[3]), *i[4:]) for i in r["incentives"]]
    opportunities = [Opportunity(o[0], _source((o[1], o[2])), o[3], o[4], o[5], o[6], o[7], o[8], o[9], o[10],
                                 o[11], o[12], o[13], o[14])
                     for o in r["opportunities"]]
    access = AccessGroups({group: tuple(AccessMember(*m) for m in members) for group, members in r["access"]})
    return Knowledge(root=r["root"], partners=partners, map_rows=map_rows, incentives=incentives,
                     opportunities=opportunities, documents=[], access=access,
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
