"""Fixtures shared by the dialog tests. A module that defines its own `served` uses that one instead."""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.factories import default_referrals, make_knowledge
from tests.support.served import Served, serve


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    """The real bot over HTTP on a small knowledge folder with a co-sell referrals export."""
    running = await serve(make_knowledge(tmp_path / "kb", referrals=default_referrals()), tmp_path / "data")
    try:
        yield running
    finally:
        await running.close()
