"""Program documents parsed in a worker process, under a per-file time limit (and a memory cap).

The size limits in knowledge/documents/ stop large files before they are read, but a small file can
still be pathological: a compressed PDF content stream that inflates to millions of text operators, an
HTML page that sends a parser into quadratic work. pypdf, python-docx and lxml cannot be interrupted
from inside, so each document is parsed in one long-lived forked worker: when a file takes longer than
the limit, the worker is killed, the file is skipped as "timed out" and a fresh worker takes the next
file. A parser that crashes or runs out of memory costs only its file, too.

`PARSE_TIMEOUT_SECONDS` (environment, default 60; `bot.py index` sets it from its settings) bounds each file;
0 parses in-process without a limit. The worker's address space may grow by `PARSE_MEMORY_MB`
(default 2048) beyond what it inherited.
"""
from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from knowledge.documents import DocumentError, parse_document
from knowledge.records import Document

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 60.0
DEFAULT_MEMORY_MB = 2048
TIMED_OUT = "timed out"


def default_timeout() -> float:
    try:
        return max(0.0, float(os.environ.get("PARSE_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS)))
    except ValueError:
        log.warning("PARSE_TIMEOUT_SECONDS=%r is not a number; using %g s",
                    os.environ.get("PARSE_TIMEOUT_SECONDS"), DEFAULT_TIMEOUT_SECONDS)
        return DEFAULT_TIMEOUT_SECONDS


def _memory_mb() -> int:
    try:
        return max(0, int(os.environ.get("PARSE_MEMORY_MB", DEFAULT_MEMORY_MB)))
    except ValueError:
        return DEFAULT_MEMORY_MB


def _cap_memory(extra_mb: int) -> None:
    """Let the worker's address space grow by extra_mb beyond what the fork gave it."""
    if extra_mb <= 0:
        return
    try:
        import resource

        with open("/proc/self/statm") as statm:
            current = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = current + extra_mb * 1024 * 1024
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (OSError, ValueError, ImportError):   # not Linux: the time limit still applies
        pass


def _serve(conn: Connection, parent_end: Connection, memory_mb: int, parent_pid: int) -> None:
    parent_end.close()                               # else our own copy of it would hide the parent's exit (no EOF)
    signal.signal(signal.SIGINT, signal.SIG_IGN)     # Ctrl-C is for the parent, which stops us
    with contextlib.suppress(Exception):             # Linux: die with the parent (an indexer killed with SIGKILL)
        import ctypes

        ctypes.CDLL(None).prctl(1, int(signal.SIGKILL))   # PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:                   # the parent died before that took effect
        return
    _cap_memory(memory_mb)
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        path, rel = request
        reply: tuple[str, Any]
        try:
            reply = ("ok", parse_document(Path(path), rel))
        except DocumentError as exc:
            reply = ("error", exc.reason)
        except MemoryError:
            reply = ("error", f"parsing needed more than {memory_mb} MB of memory")
        except Exception as exc:  # noqa: BLE001 - reported as the file's reason, the worker lives on
            reply = ("error", f"unreadable ({type(exc).__name__}: {str(exc)[:120]})")
        try:
            conn.send(reply)
        except Exception as exc:  # noqa: BLE001 - e.g. a result that cannot be pickled
            conn.send(("error", f"unreadable ({type(exc).__name__})"))


class ParseWorker:
    """parse_document with a per-file time limit; use as a context manager (the worker is stopped on exit)."""

    def __init__(self, timeout: float | None = None, memory_mb: int | None = None) -> None:
        self.timeout = default_timeout() if timeout is None else max(0.0, timeout)
        self.memory_mb = _memory_mb() if memory_mb is None else memory_mb
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None
        self.timed_out: list[str] = []

    def __enter__(self) -> ParseWorker:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def parse(self, path: Path, rel: str) -> Document:
        """The document, or DocumentError with the reason (`timed out …` when it took too long)."""
        if self.timeout <= 0:
            return parse_document(path, rel)
        conn = self._start()
        try:
            conn.send((str(path), rel))
            if not conn.poll(self.timeout):
                self._kill()
                self.timed_out.append(rel)
                log.warning("parsing %s took longer than %g s: stopped and skipped", rel, self.timeout)
                raise DocumentError(f"{TIMED_OUT}: parsing took longer than {self.timeout:g} s")
            status, payload = conn.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError) as exc:
            code = None
            if self._process is not None:
                self._process.join(2)          # reap it, so its exit code is known
                code = self._process.exitcode
            self._kill()
            raise DocumentError(f"the parser crashed on this file (worker exit code {code})") from exc
        if status == "ok":
            document: Document = payload
            return document
        raise DocumentError(str(payload))

    def _start(self) -> Connection:
        if self._process is not None and self._process.is_alive() and self._conn is not None:
            return self._conn
        self._kill()
        # fork: the worker starts at once with the parsers' modules already imported and logging configured
        context = multiprocessing.get_context("fork")
        parent, child = context.Pipe()
        process = context.Process(target=_serve, args=(child, parent, self.memory_mb, os.getpid()),
                                  name="document-parser", daemon=True)
        process.start()
        child.close()
        self._process, self._conn = process, parent
        return parent

    def _kill(self) -> None:
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            conn.close()
        if process is not None:
            if process.is_alive():
                process.kill()
            process.join(5)
            with contextlib.suppress(ValueError):
                process.close()

    def close(self) -> None:
        if self._conn is not None and self._process is not None and self._process.is_alive():
            with contextlib.suppress(OSError, BrokenPipeError):
                self._conn.send(None)
            self._process.join(2)
        self._kill()
