"""The catalog's lookups that replace scans of every profile: partners by delivery country and by profile file."""
from __future__ import annotations

import json
from pathlib import Path

from knowledge.loader import load_knowledge
from retrieval.catalog import Catalog
from tests.factories import make_knowledge, partner


def test_partners_by_country_and_by_file_are_what_a_scan_finds(tmp_path: Path) -> None:
    root = make_knowledge(tmp_path / "kb")
    shared = [partner("P-8", "Eta Cloud", countries=["DE"]), partner("P-9", "Theta Data", countries=["ES", "DE"])]
    (root / "partners" / "partners.json").write_text(json.dumps(shared))
    catalog = Catalog(load_knowledge(root, documents=False))
    everyone = list(catalog.partners.values())
    for country in ("DE", "FR", "ES", "BR"):
        assert catalog.partners_in(country) == [p for p in everyone if country in p.countries]
    assert [p.id for p in catalog.profiles_in("partners/partners.json")] == ["P-8", "P-9"]
    assert [p.id for p in catalog.profiles_in("partners/P-2.yaml")] == ["P-2"]
    assert catalog.profiles_in("partners/none.yaml") == []
