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

What answers keep (rankings per need, bounded by retrieval/weighed_cache.py) is acyclic too, and freed by
reference counting when evicted; but every full pass walks it, and with the default schedule a full pass
came every few answers once a worldwide catalog's rankings were kept (100 ms each at 50,000 partners).
After a load, a full pass comes after `FULL_PASS_EVERY` passes of the middle generation instead of 10:
the young generations are still collected as often, so short-lived cycles go as soon as before.
"""
from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

FULL_PASS_EVERY = 100


@contextlib.contextmanager
def loading_records() -> Iterator[None]:
    """No collection while the block builds records; what it built is frozen when it ends (also on error), and
    full passes come less often from then on (see the module's docstring)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        young, middle, old = gc.get_threshold()
        gc.set_threshold(young, middle, max(old, FULL_PASS_EVERY))
        if enabled:
            gc.enable()
