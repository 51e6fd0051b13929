"""Partner profile files read by worker processes, when a folder holds thousands of them.

A worldwide catalog is 50,000 YAML profiles, and building Python values from YAML is CPU work (the C
parser does not construct them), so on a machine with several cores the files are split into
contiguous chunks and read by forked workers with the loader's own per-file code (`read_one`: the
same checks, the same skipped-file reasons). Each worker sends back, per file, its records as plain
tuples (knowledge/record_codec.py) in a `marshal` payload; the loader takes them in listing order, so
the result is the same as reading the files one by one.

`PARTNER_ATLAS_READ_WORKERS` sets the number of workers (default: the CPU count, at most 4; 1 = read
in this process). Workers are only forked from a single-threaded process, and anything that goes wrong
with them falls back to reading in this process.
"""
from __future__ import annotations

import logging
import marshal
import multiprocessing
import os
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from knowledge.record_codec import partner_from, partner_tuple
from knowledge.records import FileIssue, Knowledge, Partner

log = logging.getLogger(__name__)

MIN_FILES = 2000          # below this, starting workers costs more than it saves
_CHUNKS_PER_WORKER = 4

FileResult = tuple[list[Partner], list[FileIssue], int]   # partners, issues, files read (0 or 1)
ReadOne = Callable[[str, Path, Knowledge], None]          # the loader's code for one file (knowledge.loader.read_one)


def workers() -> int:
    try:
        wanted = int(os.environ.get("PARTNER_ATLAS_READ_WORKERS", "0"))
    except ValueError:
        wanted = 0
    return wanted if wanted > 0 else min(os.cpu_count() or 1, 4)


def read_profiles(files: list[tuple[str, Path]], read_one: ReadOne) -> dict[str, FileResult]:
    """rel -> what reading that profile file gave (each through `read_one`, a module-level function the
    workers find by name); empty when the files are better read in this process."""
    count = workers()
    if len(files) < MIN_FILES or count < 2 or threading.active_count() > 1:
        return {}
    size = -(-len(files) // (count * _CHUNKS_PER_WORKER))
    chunks = [[(rel, str(path)) for rel, path in files[i:i + size]] for i in range(0, len(files), size)]
    try:
        with multiprocessing.get_context("fork").Pool(count) as pool:
            payloads = pool.map(partial(_read_chunk, read_one=read_one), chunks, chunksize=1)
    except Exception as exc:  # noqa: BLE001 - a worker that died: read the files here instead
        log.warning("parallel reading of partner profiles failed (%s); reading them in one process", exc)
        return {}
    out: dict[str, FileResult] = {}
    for payload in payloads:
        for rel, partners, issues, read in marshal.loads(payload):
            out[rel] = ([partner_from(p) for p in partners], [FileIssue(*i) for i in issues], read)
    return out


def _read_chunk(chunk: list[tuple[str, str]], read_one: ReadOne) -> bytes:
    """In a worker: each file through the loader's own code, its records as tuples."""
    results: list[tuple[Any, ...]] = []
    for rel, path in chunk:
        kb = Knowledge(root="")
        read_one(rel, Path(path), kb)
        results.append((rel, [partner_tuple(p) for p in kb.partners],
                        [(i.path, i.reason, i.skipped) for i in kb.issues], kb.files_read))
    return marshal.dumps(results, 4)
