"""The least-recently-used cache bounded by weight (retrieval/weighed_cache.py), and the catalog's rankings kept in it."""
from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.loader import load_knowledge
from retrieval import catalog as catalog_module
from retrieval.catalog import Catalog
from retrieval.ranking import Need
from retrieval.structured.by_need import rank_for_need
from retrieval.weighed_cache import WeighedCache
from tests.factories import make_knowledge


def sized(max_weight: int) -> WeighedCache[str, list[int]]:
    return WeighedCache(max_weight, len)


def test_the_least_recently_used_go_first_when_the_weight_is_over() -> None:
    cache = sized(10)
    cache["a"], cache["b"], cache["c"] = [1] * 4, [2] * 4, [3] * 2
    assert cache.weight == 10 and len(cache) == 3
    assert cache.get("a") == [1] * 4                 # a is used: b is now the oldest
    cache["d"] = [4] * 3
    assert "b" not in cache and {"a", "c", "d"} == {k for k in "abcd" if k in cache} and cache.weight == 9
    cache["e"] = [5] * 9                             # everything else goes
    assert [k for k in "abcde" if k in cache] == ["e"] and cache.weight == 9


def test_a_value_heavier_than_the_whole_cache_is_not_kept_and_drops_its_old_value() -> None:
    cache = sized(5)
    cache["a"] = [1]
    cache["a"] = [1] * 6
    assert "a" not in cache and cache.get("a") is None and cache.weight == 0


def test_replacing_a_value_counts_its_new_weight_once() -> None:
    cache = sized(10)
    cache["a"], cache["b"] = [1] * 5, [2] * 2
    cache["a"] = [9] * 3
    assert cache["a"] == [9] * 3 and cache.weight == 5 and len(cache) == 2
    with pytest.raises(KeyError):
        cache["z"]
    cache.clear()
    assert len(cache) == 0 and cache.weight == 0


def test_an_empty_value_still_weighs_one() -> None:
    cache = sized(2)
    cache["a"], cache["b"], cache["c"] = [], [], []
    assert len(cache) == 2 and "a" not in cache


def test_the_catalog_keeps_rankings_within_its_budget_and_answers_the_same(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    knowledge = load_knowledge(make_knowledge(tmp_path / "kb"), documents=False)
    needs = [Need(workloads=("Azure Kubernetes Service",), countries=(c,)) for c in ("DE", "FR", "ES", "")] + \
            [Need(workloads=("Microsoft Sentinel",))]
    unbounded = [rank_for_need(Catalog(knowledge), need) for need in needs]
    monkeypatch.setattr(catalog_module, "RANKED_PARTNERS_KEPT", 3)
    catalog = Catalog(knowledge)
    for _ in range(2):
        assert [rank_for_need(catalog, need) for need in needs] == unbounded
        assert 0 < catalog.ranking_cache.weight <= 3
    assert max(sum(map(len, ranking)) for ranking in unbounded) > 1     # the test catalog ranks real partners
