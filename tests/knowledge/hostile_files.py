"""Broken and hostile knowledge files, generated: what a real folder may hold on a bad day.

`write_hostile_folder` lays them out beside one good file of each kind and returns what a run must
say about each: "ok", "skipped" (with the start of the reason), or "timed out".
"""
from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path

import docx
import openpyxl
import yaml

from knowledge.documents import MAX_DOCUMENT_BYTES, MAX_DOCX_UNCOMPRESSED_BYTES
from tests.factories import MAP_HEADER, default_map, default_partners
from tests.support.documents import ECIF_PAGES, encrypted, make_pdf


def pdf_bomb(operators: int = 100_000) -> bytes:
    """A small, valid PDF whose one compressed content stream inflates to `operators` text operators:
    8 KB on disk, under every size limit, and ~30 s of pure-Python work for pypdf here."""
    stream = zlib.compress(b"BT /F1 1 Tf 10 10 Td (a) Tj ET\n" * operators, 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def docx_bomb(path: Path) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            block = b"\0" * (1024 * 1024)
            for _ in range(MAX_DOCX_UNCOMPRESSED_BYTES // len(block) + 2):
                member.write(block)


def merged_header_workbook(path: Path) -> None:
    """A solution map as people export it: a merged banner row above the header, merged group headers."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "FY27 map"
    ws.append(["FY27 solution map — internal"] + [None] * (len(MAP_HEADER) - 1))
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(MAP_HEADER))
    ws.append([h.replace("_", " ").title() for h in MAP_HEADER])
    for row in default_map():
        ws.append([row[h] for h in MAP_HEADER])
    ws.merge_cells(start_row=3, start_column=1, end_row=4, end_column=1)     # a merged "Solution Area" block
    wb.save(path)


def no_header_workbook(path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Quarterly", "summary"])
    ws.merge_cells("A1:B1")
    ws.append([1, 2])
    wb.save(path)


def broken_csv() -> str:
    header = ",".join(MAP_HEADER)
    good = [",".join(f'"{r[h]}"' for h in MAP_HEADER) for r in default_map()[:2]]
    return "\n".join([header, *good,
                      "Infra,Migrate,AKS",                                   # too few cells
                      ",".join(["x"] * (len(MAP_HEADER) + 4)),              # too many cells
                      '"Infra","unterminated quote,AKS,P-1,Alpha Cloud,Lead,DE',
                      ""])


def write_hostile_folder(root: Path, *, bomb_operators: int = 100_000) -> dict[str, str]:
    """The folder, and per file the expected outcome: "ok", "skipped: <reason start>" or "timed out"."""
    (root / "partners").mkdir(parents=True)
    (root / "programs").mkdir()
    (root / "solution_maps").mkdir()
    (root / "opportunities").mkdir()
    partners = default_partners()[:2]
    (root / "partners" / "good.yaml").write_text(yaml.safe_dump(partners, sort_keys=False))
    (root / "partners" / "empty.yaml").write_bytes(b"")
    p = root / "programs"
    (p / "good.pdf").write_bytes(make_pdf(ECIF_PAGES, title="ECIF guide"))
    full = make_pdf(ECIF_PAGES)
    (p / "truncated.pdf").write_bytes(full[: len(full) // 2])
    (p / "encrypted.pdf").write_bytes(encrypted(full, "secret"))
    (p / "zero-byte.pdf").write_bytes(b"")
    (p / "pdf-bomb.pdf").write_bytes(pdf_bomb(bomb_operators))
    with (p / "huge.txt").open("wb") as huge:               # sparse: 1 byte over the limit, instant to write
        huge.truncate(MAX_DOCUMENT_BYTES + 1)
    docx_bomb(p / "zip-bomb.docx")
    good_docx = docx.Document()
    good_docx.add_heading("Migration playbook", level=1)
    good_docx.add_paragraph("Partners run the assessment first.")
    good_docx.save(str(p / "good.docx"))
    (p / "latin-1.txt").write_bytes("Résumé des incentives\n\nLes partenaires qualifiés reçoivent 15 %, "
                                    "à vérifier.\n".encode("latin-1"))
    (p / "utf-16.txt").write_bytes("Programme notes\n\nAzure Migrate funds assessments for partners.\n"
                                   .encode("utf-16"))
    (p / "invalid-utf-8.txt").write_bytes(b"Program notes\n\nCaf\xc3\xa9 partners: \xff\xfe broken \xc3 bytes here.\n")
    (p / "binary.txt").write_bytes(bytes(range(256)) * 64)
    (root / "solution_maps" / "broken-rows.csv").write_text(broken_csv())
    merged_header_workbook(root / "solution_maps" / "merged-header.xlsx")
    no_header_workbook(root / "opportunities" / "no-header.xlsx")
    (root / "opportunities" / "not-a-workbook.xlsx").write_bytes(b"PK\x03\x04 this is not a zip")
    return {
        "partners/good.yaml": "ok",
        "partners/empty.yaml": "skipped: empty file",
        "programs/good.pdf": "ok",
        "programs/good.docx": "ok",
        "programs/truncated.pdf": "skipped: truncated or corrupt PDF",
        "programs/encrypted.pdf": "skipped: encrypted PDF",
        "programs/zero-byte.pdf": "skipped: empty file",
        "programs/pdf-bomb.pdf": "timed out",
        "programs/huge.txt": "skipped: file larger than 25 MB",
        "programs/zip-bomb.docx": "skipped: DOCX expands beyond 50 MB (zip bomb?)",
        "programs/latin-1.txt": "ok",
        "programs/utf-16.txt": "ok",
        "programs/invalid-utf-8.txt": "ok",
        "programs/binary.txt": "skipped: not valid UTF-8/UTF-16/Latin-1 text",
        "solution_maps/broken-rows.csv": "ok",
        "solution_maps/merged-header.xlsx": "ok",
        "opportunities/no-header.xlsx": "skipped: no sheet has a recognised header row",
        "opportunities/not-a-workbook.xlsx": "skipped: not a readable XLSX workbook",
    }


