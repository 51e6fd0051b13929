"""Partner records that disagree: map rows naming no profile, and one partner id in two files.

Both used to reach sellers: a map row for "Nonexistent Partner One" was recommended like a real
partner, and of two profiles with one id whichever file sorted first was kept without a word.
Now the index summary reports both, the unknown partner is never recommended, and the newest
profile (by `updated`; first by path on a tie) is the one sellers see.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.factories import MAP_HEADER, default_map, make_knowledge, partner, write_table
from tests.knowledge.indexing import ask, index, partner_names, summary

pytestmark = pytest.mark.slow          # each test runs `bot.py` as a process


def _row(pid: str, name: str, role: str = "Lead") -> dict[str, str]:
    return {**default_map()[1], "partner_id": pid, "partner_name": name, "role": role}


def test_unknown_and_duplicate_partners_are_reported_and_never_recommended(tmp_path: Path) -> None:
    kb = make_knowledge(tmp_path / "kb")
    write_table(kb / "solution_maps" / "map.csv", MAP_HEADER,
                [*default_map(), _row("P-404", "Nonexistent Partner One"), _row("", "Ghost Systems", "Support")])
    renamed = partner("P-1", "Alpha Cloud Services GmbH", updated="2026-09-30",
                      specializations=["Kubernetes on Microsoft Azure"])
    (kb / "partners" / "crm-export.json").write_text(json.dumps([renamed]))             # newer than P-1.yaml
    older = partner("P-3", "Gamma Digital (2025 export)", updated="2025-01-15", countries=["FR"], hq_country="FR")
    (kb / "partners" / "archive.yaml").write_text(yaml.safe_dump([older]))              # older than P-3.yaml
    twin = partner("P-2", "Beta Systems Twin", updated="2026-05-01")
    (kb / "partners" / "zz-twin.yaml").write_text(yaml.safe_dump(twin))                 # same date as P-2.yaml

    run = index(kb, tmp_path / "index")
    assert run.returncode == 0, run.stderr[-2000:]
    reported = summary(run.stdout)
    assert reported["solution_maps/map.csv"] == [(
        "warning", "2 rows name a partner no profile in partners/ has, ignored: "
                   "P-404 'Nonexistent Partner One' (row 6), 'Ghost Systems' (row 7)")]
    assert reported["partners/P-1.yaml"] == [(
        "warning", "duplicate partner id P-1: partners/P-1.yaml and partners/crm-export.json; "
                   "kept partners/crm-export.json (updated 2026-09-30, newer than 2026-05-01)")]
    assert reported["partners/archive.yaml"] == [(
        "warning", "duplicate partner id P-3: partners/archive.yaml and partners/P-3.yaml; "
                   "kept partners/P-3.yaml (updated 2026-05-01, newer than 2025-01-15)")]
    assert reported["partners/zz-twin.yaml"] == [(
        "warning", "duplicate partner id P-2: partners/zz-twin.yaml and partners/P-2.yaml; "
                   "kept partners/P-2.yaml (first by path; neither is more recently updated)")]
    assert "records: 5 partners, 4 map rows" in run.stdout

    aks = ask(kb, tmp_path / "index", "Which partners cover AKS in Germany?")
    assert set(partner_names(aks)) == {"Alpha Cloud Services GmbH", "Beta Systems"}
    france = ask(kb, tmp_path / "index", "Which partners cover AKS in France?")
    assert partner_names(france) == ["Gamma Digital"]
    for answer in (aks, france):
        shown = json.dumps({k: v for k, v in answer.items() if k != "understood"})
        for name in ("Nonexistent Partner One", "Ghost Systems", "P-404", "Twin", "2025 export"):
            assert name not in shown, name


def test_a_folder_without_profiles_keeps_its_map(tmp_path: Path) -> None:
    """Nothing to check the map against: its rows are the only record of who covers what."""
    kb = tmp_path / "kb"
    write_table(kb / "solution_maps" / "map.csv", MAP_HEADER, default_map())
    run = index(kb, tmp_path / "index")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "records: 0 partners, 4 map rows" in run.stdout and "no profile" not in run.stdout
    assert set(partner_names(ask(kb, tmp_path / "index", "Which partners cover AKS in Germany?"))) == {
        "Alpha Cloud", "Beta Systems"}
