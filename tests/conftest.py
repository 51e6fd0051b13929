"""Fixtures shared across test folders: services started only for the tests that ask for them."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.services import Azurite, run_azurite


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """One Azurite (Azure Blob Storage emulator) on a random loopback port for the whole run."""
    with run_azurite() as running:
        yield running
