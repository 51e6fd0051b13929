"""One encoding rule for documents, CSV tables and structured files (knowledge.text)."""
from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.documents import parse_document
from knowledge.structured_files import StructuredFileError, read_structured
from knowledge.tables import TableError, read_table

ALIASES = {"partner": "partner", "country": "country"}
# 0x81 is one of the bytes cp1252 leaves undefined: the file is Latin-1, and "é" must survive as "é"
LATIN1_WITH_UNDEFINED_CP1252_BYTE = "Partner,Country\nCafé\x81 Ltd,France\n".encode("latin-1")


@pytest.mark.parametrize("data", [
    "Partner,Country\nZürich Cloud,Switzerland\n".encode("utf-16-le"),     # no BOM: found by its NULs
    "Partner,Country\nZürich Cloud,Switzerland\n".encode("cp1252"),
])
def test_csv_tables_decode_like_documents(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "map.csv"
    path.write_bytes(data)
    rows = list(read_table(path, ALIASES))
    assert [dict(r.values) for r in rows] == [{"partner": "Zürich Cloud", "country": "Switzerland"}]


def test_undefined_cp1252_bytes_are_kept_not_replaced_in_tables_and_documents(tmp_path: Path) -> None:
    table = tmp_path / "map.csv"
    table.write_bytes(LATIN1_WITH_UNDEFINED_CP1252_BYTE)
    [row] = list(read_table(table, ALIASES))
    assert row.values["partner"] == "Café\x81 Ltd"
    note = tmp_path / "note.txt"
    note.write_bytes(LATIN1_WITH_UNDEFINED_CP1252_BYTE)
    assert "Café\x81 Ltd" in parse_document(note, "programs/note.txt").sections[0].text.replace("\n", " ")


def test_utf16_yaml_reads_and_binary_is_refused_with_a_reason(tmp_path: Path) -> None:
    good = tmp_path / "partner.yaml"
    good.write_bytes("name: Zürich Cloud\n".encode("utf-16-le"))
    assert read_structured(good) == {"name": "Zürich Cloud"}
    binary = tmp_path / "logo.yaml"
    binary.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(StructuredFileError, match="^not valid UTF-8/UTF-16/Latin-1 text"):
        read_structured(binary)
    table = tmp_path / "logo.csv"
    table.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(TableError, match="^binary content, not a CSV$"):
        list(read_table(table, ALIASES))
