"""The cycle collector around a catalog load (retrieval/collector.py), and what that relies on: a replaced catalog,
with the indexes built on it while answering, is freed by reference counting alone."""
from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from knowledge.loader import load_knowledge
from retrieval.catalog import Catalog
from retrieval.collector import FULL_PASS_EVERY, loading_records
from retrieval.engine import KnowledgeEngine
from retrieval.loading import load_engine
from tests.factories import ECM, SELLER, default_referrals, make_knowledge


@pytest.fixture
def collector_restored() -> Iterator[None]:
    enabled, threshold = gc.isenabled(), gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)
    if enabled:
        gc.enable()


def test_no_collection_while_loading_and_the_records_frozen_after(collector_restored: None) -> None:
    gc.enable()
    gc.unfreeze()
    with loading_records():
        assert not gc.isenabled()
        records = [(str(n), n) for n in range(1000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(records)
    assert gc.get_threshold()[2] >= FULL_PASS_EVERY


def test_a_disabled_collector_stays_disabled_and_an_error_still_freezes(collector_restored: None) -> None:
    gc.disable()
    gc.unfreeze()
    with pytest.raises(RuntimeError), loading_records():
        raise RuntimeError("the folder went away")
    assert not gc.isenabled()
    assert gc.get_freeze_count() > 0


def test_load_engine_freezes_what_it_loaded(tmp_path: Path, collector_restored: None) -> None:
    gc.unfreeze()
    engine = load_engine(make_knowledge(tmp_path / "kb"), tmp_path / "no-index")
    assert engine.catalog.partners and gc.get_freeze_count() > 0 and gc.isenabled()


def test_a_replaced_catalog_is_freed_without_the_cycle_collector(tmp_path: Path, collector_restored: None) -> None:
    catalog = Catalog(load_knowledge(make_knowledge(tmp_path / "kb", referrals=default_referrals()), documents=False))
    engine = KnowledgeEngine(catalog, None)
    # answers build the lexicon, the referral book and the ranking caches on the catalog
    for question, user in (("Who should I attach to OPP-101?", ECM), ("Which partners cover AKS in Germany?", SELLER),
                           ("Which partner-led referrals are still waiting for Microsoft?", ECM),
                           ("Which opportunities have no partner attached?", ECM)):
        assert engine.answer(question, engine.user_context(user)).summary
    gone = weakref.ref(catalog)
    gc.disable()
    del catalog, engine
    assert gone() is None
