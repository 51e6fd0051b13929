"""Program documents: every format parses into titled sections of plain text; bad files fail with a reason."""
from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import docx
import pytest
from pypdf import PdfWriter

from knowledge.documents import MAX_DOCX_UNCOMPRESSED_BYTES, DocumentError, decode_text, parse_document
from knowledge.loader import load_knowledge
from knowledge.records import Document
from tests.support.documents import ECIF_PAGES, encrypted, make_pdf

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE = Path(__file__).resolve().parents[2] / "knowledge" / "sample"
CATALOG_PROGRAMS = Path(__file__).resolve().parents[3] / "shared" / "catalog-dev" / "knowledge" / "programs"
MARKUP = ("](", "<!--", "[!", ":::", "**", "![", "<br", "<li", "</", "&amp;")


def parse(path: Path) -> Document:
    return parse_document(path, f"programs/{path.name}")


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def headings(doc: Document) -> list[str]:
    return [s.heading for s in doc.sections]


def section(doc: Document, heading: str) -> str:
    return next(s.text for s in doc.sections if s.heading == heading)


# ----------------------------------------------------------------------------------------- PDF helpers


# ----------------------------------------------------------------------------------------- markdown
def test_markdown_front_matter_title_sections_and_metadata() -> None:
    doc = parse(FIXTURES / "learn-page.md")
    assert doc.path == "programs/learn-page.md"
    assert doc.title == "Co-sell requirements (fixture)"
    assert headings(doc) == ["Co-sell requirements", "Requirements for co-sell ready status",
                             "Azure IP co-sell eligible status"]
    assert doc.kind == "document" and doc.visibility == "internal" and doc.allowed_groups == ()
    assert doc.metadata["program"] == "Co-sell" and doc.metadata["fiscal_year"] == "FY27"
    assert doc.metadata["updated"] == "08/24/2023"  # from ms.date when `updated` is absent
    assert "ms.topic" not in doc.metadata


def test_markdown_learn_noise_is_removed_and_prose_kept() -> None:
    doc = parse(FIXTURES / "learn-page.md")
    for marker in MARKUP:
        assert marker not in doc.text, marker
    intro = section(doc, "Co-sell requirements")
    assert intro.startswith("Appropriate roles: Co-sell solution admin")
    assert "See the co-sell overview for background." in intro          # link -> its text, wrapped line joined
    assert "editors only" not in doc.text and "INCLUDE" not in doc.text and "Screenshot" not in doc.text
    assert "Diagram of the co-sell flow" not in doc.text                  # images carry no prose
    reqs = section(doc, "Requirements for co-sell ready status")
    assert "- Have a PartnerID and an active commercial marketplace account." in reqs
    assert "\n  - Nested detail for the offer." in reqs
    assert "Note: Apps and add-ins for Microsoft Office are not eligible for co-sell-ready status." in reqs
    assert "Status | Comment\nIn market | The offer is live" in reqs
    assert "|---" not in reqs and "Azure; Business applications" in reqs
    azure = section(doc, "Azure IP co-sell eligible status")
    assert "Use Partner Admin Link to associate the revenue, replacing <PARTNER> with your name." in azure
    assert "# not a heading: code keeps its lines\nNew-AzManagementPartner -PartnerId 12345" in azure
    assert "Zone content stays." in azure and "zone pivot" not in azure
    assert "Deep heading kept as text" in azure                           # h5 is text, not a section
    assert "https://aka.ms/cosell and an entity & more." in azure


def test_markdown_is_read_as_commonmark_tables_nested_notes_and_lists(tmp_path: Path) -> None:
    text = ("# Deal registration\n\n## Fields\n\n"
            "Field|Required|Format\n---|---|---\nContract value|Yes|USD\nSign date|No|mm/dd/yyyy\n\n"
            "## Steps\n\n"
            "- Transactable with a pricing plan greater than $0\n"
            "    > [!NOTE]\n    > Free and BYOL offers are not transactable.\n"
            "- Azure IP co-sell eligible\n\n"
            "1. Open the workspace.\n"
            "   * Australia\n   * Canada\n\n"
            "Email: jsmith\\@contoso.com. See [the payout guide](payout guide.md).\n")
    doc = parse(write(tmp_path, "registration.md", text))
    # a table without outer pipes is a table: one row per line, no stray separators
    assert section(doc, "Fields") == "Field | Required | Format\nContract value | Yes | USD\nSign date | No | mm/dd/yyyy"
    steps = section(doc, "Steps")
    # a Learn note nested under a list item reads as a note, not as "> Note: >" glued onto the item
    assert "- Transactable with a pricing plan greater than $0\n\nNote: Free and BYOL offers are not transactable." in steps
    assert ">" not in steps
    assert "1. Open the workspace.\n  - Australia\n  - Canada" in steps      # nested as CommonMark nests it
    assert "Email: jsmith@contoso.com. See the payout guide." in steps       # escapes resolved, link text kept


def test_markdown_title_falls_back_to_first_h1_then_file_name(tmp_path: Path) -> None:
    assert parse(write(tmp_path, "a.md", "Intro line.\n\n# Real title\n\nBody text.\n")).title == "Real title"
    doc = parse(write(tmp_path, "partner-notes_v2.md", "## Only an h2\n\nBody text.\n"))
    assert doc.title == "Partner notes v2"
    include = "---\ntitle: include file\n---\n# Referral updates\n\nText.\n"
    assert parse(write(tmp_path, "inc.md", include)).title == "Referral updates"


def test_markdown_with_question_headings_is_a_faq(tmp_path: Path) -> None:
    text = "# Referrals FAQ\n\n## How do I get access?\nAsk your admin.\n\n## Can I edit a won deal?\nNo.\n\n" \
           "## Where are referrals?\nIn Partner Center.\n"
    doc = parse(write(tmp_path, "referrals-faq.md", text))
    assert doc.kind == "faq"
    assert section(doc, "Can I edit a won deal?") == "No."
    plain = parse(write(tmp_path, "guide.md", "# Guide\n\n## Setup\nText.\n\n## Use\nText.\n\n## Why?\nText.\n"))
    assert plain.kind == "document"


@pytest.mark.parametrize(("front", "visibility", "groups"), [
    ("", "internal", ()),
    ("visibility: public\n", "public", ()),
    ("visibility: Confidential\n", "confidential", ("ecm",)),
    ("visibility: confidential\nallowed_groups: [ECM, Leads]\n", "confidential", ("ecm", "leads")),
    ("visibility: confidential\nallowed_groups: ecm; admins\n", "confidential", ("ecm", "admins")),
    ("allowed_groups: [leads]\n", "confidential", ("leads",)),           # naming groups implies restricted
    ("visibility: top-secret\n", "confidential", ("ecm",)),             # unknown values fail closed
    ("visibility: internal\nallowed_groups: [ecm]\n", "internal", ()),
])
def test_front_matter_visibility_and_allowed_groups(tmp_path: Path, front: str, visibility: str,
                                                    groups: tuple[str, ...]) -> None:
    doc = parse(write(tmp_path, "doc.md", f"---\ntitle: T\n{front}---\n# T\n\nCONFIDENTIAL-SAMPLE body.\n"))
    assert (doc.visibility, doc.allowed_groups) == (visibility, groups)


def test_broken_front_matter_is_refused_not_guessed(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="invalid YAML front matter"):
        parse(write(tmp_path, "doc.md", "---\ntitle: [unclosed\nvisibility: confidential\n---\n# T\n\nBody.\n"))


# ----------------------------------------------------------------------------------------- YAML
def test_learn_faq_yaml_gives_one_section_per_question() -> None:
    doc = parse(FIXTURES / "learn-faq.yml")
    assert doc.kind == "faq"
    assert doc.title == "Solutions Partner fixture - frequently asked questions"
    assert headings(doc) == ["Are competencies going away?", "How many points does a designation need?",
                             "What happens to legacy benefits?"]
    first = section(doc, "Are competencies going away?")
    assert first.startswith("Yes. September 30, 2022 is the last day for partners to renew competencies. Effective")
    assert "See Solutions Partner for details." in first
    assert section(doc, "How many points does a designation need?") == \
        "A partner needs 70 points out of 100:\n\n- performance\n- skilling\n- customer success"
    for marker in MARKUP:
        assert marker not in doc.text


def test_yaml_that_is_not_a_faq_reads_as_key_value_text(tmp_path: Path) -> None:
    text = "title: Partner tiers\nprogram: Specializations\ntiers:\n  - name: Gold\n    min_points: 90\n" \
           "  - name: Silver\n    min_points: 70\nactive: true\n"
    doc = parse(write(tmp_path, "tiers.yaml", text))
    assert doc.kind == "document" and doc.title == "Partner tiers" and len(doc.sections) == 1
    body = doc.sections[0].text
    assert "program: Specializations" in body and "tiers:\n  - name: Gold\n    min points: 90\n  - name: Silver" in body
    assert "active: yes" in body and "{" not in body


def test_invalid_yaml_is_a_document_error(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match=r"invalid YAML \(line \d+\)"):
        parse(write(tmp_path, "bad.yml", "title: x\nsections: [\n  - a: b\n"))


# ----------------------------------------------------------------------------------------- PDF
def test_pdf_sections_follow_larger_font_headings(tmp_path: Path) -> None:
    doc = parse(write(tmp_path, "ecif.pdf", make_pdf(ECIF_PAGES)))
    assert doc.title == "ECIF guide"
    assert headings(doc) == ["ECIF guide", "When to use it", "How a request works"]
    when = section(doc, "When to use it")
    assert when == "Use ECIF on strategic deals where a funded activity unblocks the customer decision.\n" \
                   "- Not for licences or hardware."
    assert section(doc, "How a request works").startswith("The account team nominates the deal")


def test_pdf_title_from_metadata_and_pages_without_headings(tmp_path: Path) -> None:
    pages = [[(11, "First page text about co-sell.")], [(11, "Second page text about ECIF.")]]
    doc = parse(write(tmp_path, "plain.pdf", make_pdf(pages, title="Plain guide")))
    assert doc.title == "Plain guide"
    assert headings(doc) == ["Page 1", "Page 2"]
    assert section(doc, "Page 2") == "Second page text about ECIF."
    word = parse(write(tmp_path, "w.pdf", make_pdf(pages, title="Microsoft Word - draft.docx")))
    assert word.title == "W"  # leftover producer titles are ignored


def test_pdf_heading_split_into_runs_and_running_footers(tmp_path: Path) -> None:
    pages: list[list[tuple[float, str | list[str]]]] = [
        [(8, "Contoso sample guide"), (16, ["Fund", "ing ru", "les ", f"{n}"]), (10, f"Rule text for page {n} explains who may claim the funding."),
         (8, f"Confidential | Page {n} of 3")]
        for n in range(1, 4)]
    doc = parse(write(tmp_path, "runs.pdf", make_pdf(pages)))
    assert headings(doc) == ["Funding rules 1", "Funding rules 2", "Funding rules 3"]
    assert [s.text for s in doc.sections] == [f"Rule text for page {n} explains who may claim the funding."
                                              for n in (1, 2, 3)]
    assert "Contoso sample guide" not in doc.text and "Page" not in doc.text


def test_pdf_that_opens_with_an_empty_user_password_is_read(tmp_path: Path) -> None:
    doc = parse(write(tmp_path, "owner.pdf", encrypted(make_pdf(ECIF_PAGES), "", owner_password="owner")))
    assert "When to use it" in headings(doc)


def _blank_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize(("name", "data", "reason"), [
    ("zero.pdf", lambda: b"", "empty file"),
    ("half.pdf", lambda: make_pdf(ECIF_PAGES)[: len(make_pdf(ECIF_PAGES)) // 2], "truncated or corrupt PDF"),
    ("cut.pdf", lambda: b"%PDF-1.7\n1 0 obj <<", "truncated or corrupt PDF"),
    ("garbage.pdf", lambda: b"%PDF-1.4\nnot objects at all\n%%EOF\n", "truncated or corrupt PDF"),
    ("locked.pdf", lambda: encrypted(make_pdf(ECIF_PAGES), "secret"), "encrypted PDF"),
    ("notes.pdf", lambda: b"just some text, not a PDF", "not a PDF file"),
    ("blank.pdf", _blank_pdf, "no text could be extracted"),
])
def test_bad_pdfs_fail_with_a_reason(tmp_path: Path, name: str, data: Callable[[], bytes], reason: str) -> None:
    with pytest.raises(DocumentError) as info:
        parse(write(tmp_path, name, data()))
    assert str(info.value).startswith(reason) and info.value.reason == str(info.value)


# ----------------------------------------------------------------------------------------- DOCX
def make_docx(path: Path, *, title: str | None = "Migration playbook") -> Path:
    document = docx.Document()
    if title:
        document.core_properties.title = title
    document.add_paragraph("Playbook title style", style="Title")
    document.add_paragraph("Intro before any heading.")
    document.add_heading("Offers", level=1)
    document.add_paragraph("Two offers are available.")
    table = document.add_table(rows=3, cols=3)
    for r, row in enumerate([("Offer", "Cap", "Note"), ("Assessment", "USD 25,000", "none"),
                             ("Deployment", "USD 150,000", "USD 150,000")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    table.cell(0, 1).merge(table.cell(0, 2))
    table.cell(0, 1).text = "Details"
    document.add_heading("Eligibility", level=2)
    document.add_paragraph("Infrastructure designation.", style="List Bullet")
    document.add_paragraph("Migration specialization.", style="List Bullet")
    document.add_heading("Deep detail", level=5)
    document.add_paragraph("Level five headings stay in their section.")
    document.save(str(path))
    return path


def test_docx_headings_tables_and_lists(tmp_path: Path) -> None:
    doc = parse(make_docx(tmp_path / "playbook.docx"))
    assert doc.title == "Migration playbook"
    assert headings(doc) == ["", "Offers", "Eligibility"]
    assert doc.sections[0].text == "Intro before any heading."
    offers = section(doc, "Offers")
    assert "Offer | Details\nAssessment | USD 25,000 | none\nDeployment | USD 150,000 | USD 150,000" in offers
    eligibility = section(doc, "Eligibility")
    assert "- Infrastructure designation.\n- Migration specialization." in eligibility
    assert "Deep detail" in eligibility and "Level five headings stay in their section." in eligibility


def test_docx_title_falls_back_to_title_style(tmp_path: Path) -> None:
    assert parse(make_docx(tmp_path / "x.docx", title=None)).title == "Playbook title style"


def test_docx_zip_bomb_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "bomb.docx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            block = b"\0" * (1024 * 1024)
            for _ in range(MAX_DOCX_UNCOMPRESSED_BYTES // len(block) + 2):
                member.write(block)
    assert path.stat().st_size < 1024 * 1024  # tiny on disk, over 50 MB inflated
    with pytest.raises(DocumentError, match=r"DOCX expands beyond 50 MB \(zip bomb\?\)"):
        parse(path)


def test_docx_that_is_not_a_zip_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="not a valid DOCX file"):
        parse(write(tmp_path, "old.docx", b"\xd0\xcf\x11\xe0 an OLE .doc renamed"))
    with pytest.raises(DocumentError, match="not a valid DOCX file"):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("hello.txt", "not a word document")
        parse(write(tmp_path, "zip.docx", buffer.getvalue()))


# ----------------------------------------------------------------------------------------- HTML
def test_html_drops_chrome_and_splits_on_headings() -> None:
    doc = parse(FIXTURES / "page.html")
    assert doc.title == "Incentives & funding (fixture)"
    assert headings(doc) == ["Incentives overview", "Azure programs", "Table", "Small print"]
    for noise in ("SCRIPT-TEXT", "NAV-TEXT", "FOOTER-TEXT", "COMMENT-TEXT", "color: red", "<"):
        assert noise not in doc.text, noise
    assert section(doc, "Incentives overview") == "Intro paragraph with bold and a link."
    assert section(doc, "Azure programs") == "Azure Migrate and Modernize funds migrations.\n\n- Assessments\n- Deployments"
    assert section(doc, "Table") == "Program | Cap\nECIF | USD 250,000"
    assert section(doc, "Small print") == "Line one\nline two"
    assert doc.visibility == "public"


def test_html_title_falls_back_to_first_h1(tmp_path: Path) -> None:
    doc = parse(write(tmp_path, "p.htm", "<html><body><h1>Funding guide</h1><p>Text.</p></body></html>"))
    assert doc.title == "Funding guide" and doc.sections[0].text == "Text."


# ----------------------------------------------------------------------------------------- text
def test_txt_headings_and_title(tmp_path: Path) -> None:
    text = "Readiness notes\n\nIntro paragraph that wraps\nonto a second line.\n\nAgenda\n- Designations\n- Co-sell\n\n" \
           "Funding\n=======\nECIF is nominated by the account team.\n"
    doc = parse(write(tmp_path, "notes.txt", text))
    assert doc.title == "Readiness notes"
    assert headings(doc) == ["", "Agenda", "Funding"]
    assert doc.sections[0].text == "Intro paragraph that wraps onto a second line."
    assert section(doc, "Agenda") == "- Designations\n- Co-sell"
    assert section(doc, "Funding") == "ECIF is nominated by the account team."


@pytest.mark.parametrize(("data", "expected"), [
    ("Müller façade – naïve café".encode("cp1252"), "Müller façade – naïve café"),
    ("Grüße aus Köln".encode("latin-1"), "Grüße aus Köln"),
    ("Zürich notes ✓".encode("utf-16"), "Zürich notes ✓"),                 # with BOM
    ("Plain notes in UTF-16".encode("utf-16-le"), "Plain notes in UTF-16"),   # no BOM: the NUL pattern
    ("Big endian notes".encode("utf-16-be"), "Big endian notes"),
    ("\ufeffUTF-8 with BOM: ok ✓".encode(), "UTF-8 with BOM: ok ✓"),
])
def test_txt_encodings_decode(tmp_path: Path, data: bytes, expected: str) -> None:
    doc = parse(write(tmp_path, "enc.txt", data + b""))
    assert doc.sections[0].text == expected or doc.title == expected
    assert decode_text(data).lstrip("\ufeff") == expected


def test_binary_txt_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="not valid UTF-8/UTF-16/Latin-1 text"):
        parse(write(tmp_path, "image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8))


# ----------------------------------------------------------------------------------------- generic failures
def test_unsupported_suffix_empty_and_oversized_files(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match=r"^unsupported file type \.xyz$"):
        parse(write(tmp_path, "data.xyz", "text"))
    with pytest.raises(DocumentError, match="^empty file$"):
        parse(write(tmp_path, "empty.md", b""))
    big = write(tmp_path, "big.txt", "word " * 300_000)
    with pytest.raises(DocumentError, match=r"^file larger than 1 MB$"):
        parse_document(big, "programs/big.txt", max_bytes=1024 * 1024)
    with pytest.raises(DocumentError, match="^no text could be extracted"):
        parse(write(tmp_path, "comment-only.md", "---\ntitle: x\n---\n<!-- nothing here -->\n"))


def test_rel_path_uses_forward_slashes(tmp_path: Path) -> None:
    doc = parse_document(write(tmp_path, "a.md", "# A\n\nText.\n"), "programs\\sub\\a.md")
    assert doc.path == "programs/sub/a.md"


# ----------------------------------------------------------------------------------------- sample folder
SAMPLE_DOCS = {
    "solutions-partner-designations.md": "md", "kubernetes-specialization.md": "md", "co-sell-faq.yml": "faq",
    "ecif-guide.pdf": "pdf", "azure-migrate-and-modernize.docx": "docx", "partner-incentives-overview.html": "html",
    "readiness-session-notes.txt": "txt", "fy27-partner-review-notes.md": "md",
}


@pytest.mark.parametrize("name", sorted(SAMPLE_DOCS))
def test_sample_documents_parse_and_say_they_are_samples(name: str) -> None:
    doc = parse_document(SAMPLE / "programs" / name, f"programs/{name}")
    words = len(doc.text.split())
    assert 250 <= words <= 950, words
    said = doc.text + " " + " ".join(doc.metadata.values())  # the FAQ says it in its description
    assert "sample content for demonstration" in said.lower()
    assert len(doc.sections) >= 3
    for marker in MARKUP:
        assert marker not in doc.text, marker
    assert doc.kind == ("faq" if SAMPLE_DOCS[name] == "faq" else "document")
    if name == "fy27-partner-review-notes.md":
        assert doc.visibility == "confidential" and doc.allowed_groups == ("ecm",)
        assert "CONFIDENTIAL-SAMPLE" in doc.text
    else:
        assert doc.visibility in ("internal", "public") and "CONFIDENTIAL-SAMPLE" not in doc.text


def test_sample_specifics() -> None:
    designations = parse_document(SAMPLE / "programs/solutions-partner-designations.md", "x")
    assert "70 points" in designations.text and "Solutions Partner for Security" in designations.text
    k8s = parse_document(SAMPLE / "programs/kubernetes-specialization.md", "x")
    assert {"Prerequisite: the designation", "Performance", "Skilling", "Audit"} <= set(headings(k8s))
    faq = parse_document(SAMPLE / "programs/co-sell-faq.yml", "x")
    assert 6 <= len(faq.sections) <= 8 and all(h.endswith("?") for h in headings(faq))
    pdf = parse_document(SAMPLE / "programs/ecif-guide.pdf", "x")
    assert pdf.title == "End Customer Investment Funds (ECIF) guide" and "How a request works" in headings(pdf)
    docx_doc = parse_document(SAMPLE / "programs/azure-migrate-and-modernize.docx", "x")
    assert "Offer | What it funds | Illustrative cap | Minimum deal" in section(docx_doc, "Offers")


def test_sample_folder_loads_without_issues() -> None:
    kb = load_knowledge(SAMPLE)
    assert kb.issues == []
    paths = {d.path for d in kb.documents}
    assert {f"programs/{name}" for name in SAMPLE_DOCS} <= paths
    assert "programs/incentives.yaml" not in paths


# ----------------------------------------------------------------------------------------- real Learn docs
@pytest.mark.skipif(not CATALOG_PROGRAMS.is_dir(), reason="catalog-dev sample data is not present")
def test_catalog_dev_program_documents_parse() -> None:
    files = [p for p in sorted(CATALOG_PROGRAMS.rglob("*"))
             if p.is_file() and p.relative_to(CATALOG_PROGRAMS).as_posix() != "incentives.yaml"]
    parsed: dict[str, Document] = {}
    failed: dict[str, str] = {}
    for path in files:
        rel = "programs/" + path.relative_to(CATALOG_PROGRAMS).as_posix()
        try:
            parsed[rel] = parse_document(path, rel)  # anything but DocumentError fails the test
        except DocumentError as exc:
            failed[rel] = str(exc)
    assert len(files) > 100
    assert len(parsed) >= 0.95 * len(files), failed
    faq_files = [rel for rel in parsed if rel.endswith(".yml")
                 and (CATALOG_PROGRAMS / rel.removeprefix("programs/")).read_text(encoding="utf-8")
                 .lstrip().startswith("### YamlMime:FAQ")]
    assert faq_files
    for rel in faq_files:
        assert parsed[rel].kind == "faq" and len(parsed[rel].sections) >= 3, rel
    faq = parsed["programs/partner-center/solutions-partner-faq.yml"]
    assert "Are competencies going away?" in headings(faq)
    assert "September 30, 2022 is the last day" in section(faq, "Are competencies going away?")
    for rel, doc in parsed.items():
        assert "<!--" not in doc.text and ":::image" not in doc.text, rel
