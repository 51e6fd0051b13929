"""Python's cycle collector around loading a catalog: paused while the records are built, told afterwards
that they are there to stay.

A worldwide catalog is millions of small objects (records, tuples, strings, index lists). With the
collector running, every few thousand allocations trigger a pass, and each full pass walks everything
built so far: seconds of a 50,000-partner load, then pauses of a second in the middle of the first
questions. Loaded records live as long as the engine, so they are moved to the collector's permanent
generation (`gc.freeze`) once built: later passes only look at what the questions allocate.

Frozen objects are still freed by reference counting when the engine that holds them is replaced;
tests/retrieval/test_collector.py checks that a catalog and its indexes hold no reference cycles, so
that is all they need.
"""
from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def loading_records() -> Iterator[None]:
    """No collection while the block builds records; what it built is frozen when it ends (also on error)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
