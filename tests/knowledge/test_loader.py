"""The knowledge folder loader: every structured format, header aliases, bad files skipped with a reason."""
from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
import yaml

from knowledge.headers import header_key
from knowledge.loader import KnowledgeFolderError, load_knowledge
from knowledge.values import parse_money
from tests.factories import ECM, MARKER, default_partners, make_knowledge


def test_loads_every_part_of_a_folder(tmp_path: Path) -> None:
    kb = load_knowledge(make_knowledge(tmp_path), documents=False)
    assert {p.id for p in kb.partners} == {"P-1", "P-2", "P-3", "P-4", "P-5"}
    assert len(kb.map_rows) == 4 and kb.map_rows[0].countries == ("DE", "AT")
    assert kb.map_rows[0].source.path == "solution_maps/map.csv" and kb.map_rows[0].source.locator == "row 2"
    assert {i.id for i in kb.incentives} == {"APP-MOD", "ECIF", "SEC"}
    ecif = next(i for i in kb.incentives if i.id == "ECIF")
    assert ecif.workloads is None and ecif.countries == ("DE", "US") and ecif.co_sell_ready_required
    assert len(kb.opportunities) == 5
    assert not kb.opportunities[0].is_attached and kb.opportunities[2].is_attached
    assert kb.opportunities[0].estimated_value_usd == 250000
    assert kb.access.groups_for(ECM) == {"ecm"}
    assert kb.access.groups_for("someone-else") == frozenset()
    beta = next(p for p in kb.partners if p.id == "P-2")
    assert MARKER in beta.notes_confidential and beta.allowed_groups == ("ecm",)
    assert beta.available_consultants_90d == 0


def test_header_keys_ignore_case_separators_and_units() -> None:
    assert header_key("partner_name") == header_key("Partner Name") == header_key("PARTNER-NAME")
    assert header_key("Est. Value (USD)") == header_key("est value")


def test_crm_headers_json_profiles_and_every_xlsx_sheet(tmp_path: Path) -> None:
    (tmp_path / "partners").mkdir()
    (tmp_path / "partners" / "export.json").write_text(json.dumps(default_partners()[:2]))
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "FY27 Infra"
    ws.append(["Solution Map export — do not edit"])  # a banner row above the header
    ws.append(["Solution Area", "Solution Play", "Workload", "Partner ID", "Partner Name", "Role", "Country/Region", "FY"])
    ws.append(["Infrastructure (Azure)", "Migrate", "Azure Migrate", "P-1", "Alpha Cloud", "lead", "Germany; AT", "FY27"])
    second = wb.create_sheet("FY27 Security")
    second.append(["Workload", "Partner ID", "Partner Name", "Countries"])
    second.append(["Microsoft Sentinel", "P-2", "Beta Systems", "DACH"])
    (tmp_path / "solution_maps").mkdir()
    wb.save(tmp_path / "solution_maps" / "Solution Map FY27.xlsx")
    (tmp_path / "opportunities").mkdir()
    (tmp_path / "opportunities" / "MSX Export.csv").write_text(
        "Opportunity ID,Account Name,Country,Workload,Est. Value (USD),Sales Stage,Est. Close Date,Opportunity Owner,Partner ID\n"
        "opp-7,Contoso,DE,Azure Migrate,\"$1,200,000\",3-Empower,2027-01-01,a@example.com,\n")
    kb = load_knowledge(tmp_path)
    assert len(kb.partners) == 2
    assert [r.workload for r in kb.map_rows] == ["Azure Migrate", "Microsoft Sentinel"]
    assert kb.map_rows[0].countries == ("DE", "AT") and kb.map_rows[0].role == "Lead"
    assert kb.map_rows[0].source.locator == "sheet 'FY27 Infra' row 3"
    assert kb.map_rows[1].countries == ("DE", "AT", "CH")
    opp = kb.opportunities[0]
    assert (opp.id, opp.estimated_value_usd, opp.owner, opp.is_attached) == ("OPP-7", 1_200_000, "a@example.com", False)


def test_bad_files_are_skipped_with_a_reason_and_the_rest_loads(tmp_path: Path) -> None:
    make_knowledge(tmp_path)
    (tmp_path / "partners" / "broken.yaml").write_text("id: [unclosed\n  name: x")
    (tmp_path / "partners" / "empty.json").write_text("")
    (tmp_path / "partners" / "notes.docx").write_bytes(b"PK\x03\x04junk")
    (tmp_path / "solution_maps" / "broken.xlsx").write_bytes(b"not a zip")
    (tmp_path / "solution_maps" / "nothing.csv").write_text("a,b,c\n1,2,3\n")
    (tmp_path / "stray.txt").write_text("hello")
    kb = load_knowledge(tmp_path, documents=False)
    reasons = {i.path: i.reason for i in kb.issues}
    assert "invalid YAML" in reasons["partners/broken.yaml"]
    assert reasons["partners/empty.json"] == "empty file"
    assert "unsupported file type .docx" in reasons["partners/notes.docx"]
    assert "XLSX" in reasons["solution_maps/broken.xlsx"]
    assert "header" in reasons["solution_maps/nothing.csv"]
    assert "not part of the knowledge layout" in reasons["stray.txt"]
    assert len(kb.partners) == 5 and len(kb.map_rows) == 4


def test_rows_missing_required_fields_are_counted_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "solution_maps").mkdir()
    (tmp_path / "solution_maps" / "m.csv").write_text(
        "workload;partner_id;partner_name;countries\nAzure Arc;P-1;A;DE\n;P-2;B;DE\nAzure Arc;P-3;C;DE | FR\n")
    kb = load_knowledge(tmp_path)
    assert [r.partner_id for r in kb.map_rows] == ["P-1", "P-3"]
    assert kb.map_rows[1].countries == ("DE", "FR")
    assert any("1 rows without workload" in i.reason and not i.skipped for i in kb.issues)


def test_duplicate_partner_ids_keep_the_first(tmp_path: Path) -> None:
    (tmp_path / "partners").mkdir()
    (tmp_path / "partners" / "a.yaml").write_text(yaml.safe_dump([{"id": "P-1", "name": "First"}, {"id": "P-1", "name": "Second"}]))
    kb = load_knowledge(tmp_path)
    assert [p.name for p in kb.partners] == ["First"]
    assert any("duplicate partner id P-1" in i.reason for i in kb.issues)


def test_empty_or_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeFolderError, match="holds nothing readable"):
        load_knowledge(tmp_path)
    with pytest.raises(KnowledgeFolderError, match="does not exist"):
        load_knowledge(tmp_path / "missing")


@pytest.mark.parametrize(("text", "value"), [("$150k", 150_000), ("1.2M", 1_200_000), ("USD 60,000", 60_000),
                                             ("250000", 250_000), ("€2.5 million", 2_500_000), ("n/a", None)])
def test_money_values(text: str, value: float | None) -> None:
    assert parse_money(text) == value


def test_yaml_norway_is_a_country_not_false(tmp_path: Path) -> None:
    (tmp_path / "partners").mkdir()
    (tmp_path / "partners" / "n.yaml").write_text("id: P-9\nname: Fjord AS\nhq_country: NO\ncountries:\n- NO\n- SE\n")
    partner = load_knowledge(tmp_path).partners[0]
    assert partner.hq_country == "NO" and partner.countries == ("NO", "SE")


def test_profiles_read_by_worker_processes_give_the_same_records_and_reasons(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from knowledge import parallel_read

    folder = make_knowledge(tmp_path / "kb")
    (folder / "partners" / "broken.yaml").write_text("id: [unclosed\n")
    (folder / "partners" / "nameless.yaml").write_text("- id: P-9\n- id: P-10\n  name: Kappa Labs\n")
    (folder / "partners" / "P-1-again.yaml").write_text(yaml.safe_dump({"id": "P-1", "name": "Alpha Again"}))
    monkeypatch.setenv("PARTNER_ATLAS_READ_WORKERS", "1")
    alone = load_knowledge(folder, documents=False)
    monkeypatch.setenv("PARTNER_ATLAS_READ_WORKERS", "2")
    monkeypatch.setattr(parallel_read, "MIN_FILES", 2)
    forked: list[int] = []
    real_read = parallel_read.read_profiles
    monkeypatch.setattr("knowledge.loader.read_profiles",
                        lambda files, read_one: forked.append(len(files)) or real_read(files, read_one))   # type: ignore[func-returns-value]
    shared = load_knowledge(folder, documents=False)
    assert forked == [len(list((folder / "partners").iterdir()))]
    assert shared.partners == alone.partners and len(shared.partners) == 6
    assert shared.issues == alone.issues and shared.files_read == alone.files_read
    reasons = {i.path: i.reason for i in shared.issues}
    assert "invalid YAML" in reasons["partners/broken.yaml"] and "1 entries without id or name" in reasons["partners/nameless.yaml"]
