"""The pipeline as columns (knowledge/opportunity_table.py): the same records in, the same records out, through the
record snapshot too, and the catalog's lookup by id behaving like the dict it replaces."""
from __future__ import annotations

import marshal
from pathlib import Path

import pytest

from knowledge.loader import load_knowledge
from knowledge.opportunity_table import FIELDS, OpportunitiesById, OpportunityTable
from knowledge.records import Knowledge, Opportunity, SourceRef
from retrieval import snapshot
from retrieval.catalog import Catalog
from tests.factories import make_knowledge


def opp(oid: str, row: int, **fields: object) -> Opportunity:
    return Opportunity(oid, SourceRef("opportunities/pipeline.csv", f"row {row}"), **fields)  # type: ignore[arg-type]


RECORDS = [
    opp("OPP-1", 2, account="Contoso", industry="Retail", country="DE", segment="Enterprise", solution_play="Migrate",
        workload="Azure Kubernetes Service", estimated_value_usd=250000.0, stage="Qualify", close_date="2027-01-31",
        owner="seller1@example.com"),
    opp("OPP-2", 3, country="FR", workload="Microsoft Sentinel", estimated_value_usd=None, partner_id="P-1"),
    opp("OPP-3", 4, partner_name="Alpha Cloud"),
]


def test_records_round_trip_through_the_columns() -> None:
    table = OpportunityTable.from_records(RECORDS)
    assert len(table) == 3 and list(table) == RECORDS
    assert table[0] == RECORDS[0] and table[-1] == RECORDS[2] and table[1:] == RECORDS[1:]
    assert table.column("workload") == ["Azure Kubernetes Service", "Microsoft Sentinel", ""]
    assert table.column("estimated_value_usd") == [250000.0, None, None]
    assert table == RECORDS and RECORDS == table and table != RECORDS[:2]
    assert OpportunityTable(table.columns()) == table
    with pytest.raises(IndexError):
        table[3]


def test_an_empty_pipeline_is_an_empty_table() -> None:
    table = OpportunityTable.from_records([])
    assert len(table) == 0 and list(table) == [] and set(table.columns()) == set(FIELDS)
    assert len(OpportunitiesById(table)) == 0


def test_columns_missing_or_of_different_lengths_are_refused() -> None:
    columns = OpportunityTable.from_records(RECORDS).columns()
    with pytest.raises(ValueError, match="owner"):
        OpportunityTable({k: v for k, v in columns.items() if k != "owner"})
    with pytest.raises(ValueError, match="lengths"):
        OpportunityTable({**columns, "owner": columns["owner"][:2]})


def test_the_columns_survive_marshal_as_the_snapshot_stores_them() -> None:
    table = OpportunityTable.from_records(RECORDS)
    assert OpportunityTable(marshal.loads(marshal.dumps(table.columns(), 4))) == RECORDS


def test_lookup_by_id_is_the_dict_it_replaces_with_a_repeated_id() -> None:
    again = opp("OPP-1", 5, country="ES", workload="Microsoft Purview", partner_id="P-2")
    records = [*RECORDS, again]
    by_id = OpportunitiesById(OpportunityTable.from_records(records))
    as_dict = {o.id: o for o in records}
    assert list(by_id) == list(as_dict) and len(by_id) == len(as_dict) == 3
    assert dict(by_id.items()) == as_dict and by_id["OPP-1"] == again
    assert "OPP-2" in by_id and "OPP-9" not in by_id and by_id.get("OPP-9") is None
    assert by_id.column("country") == [o.country for o in as_dict.values()] == ["ES", "FR", ""]
    assert list(by_id.fields("id", "partner_id")) == [("OPP-1", "P-2"), ("OPP-2", "P-1"), ("OPP-3", "")]


def test_the_snapshot_gives_back_the_pipeline_the_folder_holds(tmp_path: Path) -> None:
    read = load_knowledge(make_knowledge(tmp_path / "kb"), documents=False)
    decoded = snapshot.decode(snapshot.encode(read, []))
    assert isinstance(decoded.opportunities, OpportunityTable)
    assert list(decoded.opportunities) == list(read.opportunities) and len(read.opportunities) >= 5


def test_the_catalog_reads_the_same_pipeline_from_a_list_or_a_table(tmp_path: Path) -> None:
    read = load_knowledge(make_knowledge(tmp_path / "kb"), documents=False)
    from_list = Catalog(read)
    from_table = Catalog(Knowledge(root=read.root, partners=read.partners, map_rows=read.map_rows,
                                   incentives=read.incentives, access=read.access,
                                   opportunities=OpportunityTable.from_records(read.opportunities)))
    for catalog in (from_list, from_table):
        assert dict(catalog.opportunities.items()) == {o.id: o for o in read.opportunities}
        assert catalog.unattached == sorted((o for o in read.opportunities if not o.is_attached),
                                            key=lambda o: (-(o.estimated_value_usd or 0), o.id))
        every = catalog.unattached
        aks = catalog.unattached_rows({"Azure Kubernetes Service"}, (), ())
        assert catalog.unattached_records(aks) == [o for o in every if o.workload == "Azure Kubernetes Service"]
        assert catalog.unattached_records(catalog.unattached_rows(set(), (), ("DE",))) == \
            [o for o in every if o.country == "DE"]
        either = catalog.unattached_rows({"Microsoft Sentinel"}, ("Build and Modernize AI Apps",), ())
        assert catalog.unattached_records(either) == list(dict.fromkeys(
            [o for o in every if o.workload == "Microsoft Sentinel"]
            + [o for o in every if o.solution_play == "Build and Modernize AI Apps"]))
        assert catalog.unattached_records(aks)[0] is catalog.unattached[0]      # each record built once
    assert from_list.attached_count == from_table.attached_count and from_list.workloads == from_table.workloads
    assert from_list.play_of == from_table.play_of and from_list.industries == from_table.industries
