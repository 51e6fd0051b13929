"""Regenerate the binary sample program documents (PDF, DOCX) in knowledge/sample/programs/.

The generated files are committed; run this only after editing the text below:

    .venv/bin/pip install fpdf2      # generation-time only, never a runtime dependency
    .venv/bin/python tools/make_sample_docs.py

The PDF uses larger bold type for headings, which is what `knowledge.documents` reads as sections.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "knowledge" / "sample" / "programs"
FIXED_DATE = dt.datetime(2026, 7, 1, 9, 0, tzinfo=dt.UTC)  # stable metadata across regenerations

# (kind, text): kind is "h1", "h2", "p", "li" or "page" (page break)
ECIF: list[tuple[str, str]] = [
    ("h1", "End Customer Investment Funds (ECIF) guide"),
    ("p", "Sample content for demonstration. This guide explains how End Customer Investment Funds work for "
          "sellers who want a partner to deliver extra services on a strategic deal. Amounts and time limits are "
          "illustrative; the ECIF policy published internally is the authority."),
    ("h2", "What ECIF is"),
    ("p", "End Customer Investment Funds (ECIF) are Microsoft funds that pay for partner services delivered to a "
          "customer. The customer receives the services, the partner delivers them and Microsoft pays the partner. "
          "ECIF exists to remove a blocker on a strategic deal: a proof of concept the customer will not pay for, a "
          "migration that needs extra hands, or adoption work that makes a large commitment succeed."),
    ("p", "ECIF is not a partner incentive. A partner cannot apply for it on its own and it is not paid as a rebate. "
          "It is an investment the Microsoft account team proposes for a named customer and opportunity."),
    ("h2", "When to use it"),
    ("li", "Strategic enterprise deals where a funded activity clearly unblocks a customer decision."),
    ("li", "Deals with an estimated value of at least USD 500,000 (illustrative threshold for this sample)."),
    ("li", "Pre-sales work such as envisioning and proofs of concept, or post-sales deployment and adoption."),
    ("li", "Not for licences, hardware, travel or work the customer has already contracted and paid for."),
    ("h2", "Who can deliver"),
    ("p", "The delivering partner must be co-sell ready and in good standing in the Microsoft AI Cloud Partner "
          "Program. For technical projects, prefer a partner with the Solutions Partner designation and, where one "
          "exists, the specialization for the workload. The partner must agree to the ECIF terms, including "
          "compliance and anti-corruption requirements."),
    ("page", ""),
    ("h2", "How a request works"),
    ("li", "1. The account team identifies the opportunity and the activity that would unblock it."),
    ("li", "2. The partner and the customer agree a statement of work with scope, deliverables and price."),
    ("li", "3. The account team submits the nomination with the statement of work for approval."),
    ("li", "4. After approval, the partner delivers the services; work started before approval is not funded."),
    ("li", "5. The partner submits proof of execution signed by the customer within 60 days of completion."),
    ("li", "6. Microsoft pays the partner after the proof of execution has been validated."),
    ("h2", "Funding limits"),
    ("p", "In this sample folder a single ECIF engagement is capped at USD 250,000 per customer engagement. Larger "
          "programmes are split into phases, each with its own statement of work and proof of execution. Funding "
          "is a fixed amount for defined deliverables, not time and materials."),
    ("h2", "Common mistakes"),
    ("li", "Promising ECIF to a customer before the nomination is approved."),
    ("li", "Starting work before approval, which makes the work ineligible."),
    ("li", "A statement of work without measurable deliverables or customer sign-off."),
    ("li", "Missing the deadline for proof of execution, which delays or cancels payment."),
    ("h2", "Where to get help"),
    ("p", "Ask your channel manager or the incentives desk before you discuss ECIF with a partner. For structured "
          "eligibility rules used by Partner Atlas, see the ECIF rule in incentives.yaml and the ECIF page in this "
          "folder."),
]

AMM_TITLE = "Azure Migrate and Modernize partner playbook"
AMM: list[tuple[str, str]] = [
    ("h1", AMM_TITLE),
    ("p", "Sample content for demonstration. This playbook explains how sellers and partners use Azure Migrate and "
          "Modernize to move customer workloads to Azure. Offer names follow the public program; amounts are "
          "illustrative and match the sample incentive rules in this folder."),
    ("h2", "Program at a glance"),
    ("p", "Azure Migrate and Modernize helps customers move existing workloads, such as Windows Server, Linux, SQL "
          "Server, VMware and SAP, to Azure and modernise them on the way. It combines partner funding for "
          "assessments and deployments, Azure credits for the migration period, and Microsoft technical guidance, "
          "including FastTrack for Azure for larger projects."),
    ("h2", "Offers"),
    ("table", ""),
    ("h2", "Partner eligibility"),
    ("li", "Assessments: partners with the Solutions Partner for Infrastructure (Azure) designation."),
    ("li", "Deployments: partners with a migration specialization, such as Infra and Database Migration to "
           "Microsoft Azure, Microsoft Azure VMware Solution or SAP on Microsoft Azure."),
    ("li", "The partner must be associated with the customer's Azure subscriptions, for example through Partner "
           "Admin Link, so that consumption after migration is recognised."),
    ("h2", "How to run an engagement"),
    ("li", "Qualify the workloads and the expected Azure consumption with the customer."),
    ("li", "Run the assessment with Azure Migrate to size the target environment and build the business case."),
    ("li", "Agree the migration plan and request deployment funding before work starts."),
    ("li", "Migrate in waves, validate each wave with the customer and track consumption."),
    ("li", "Submit proof of execution within 60 days of completing each funded activity."),
    ("h2", "Tips for sellers"),
    ("p", "Bring the partner in before the customer has chosen a landing zone design: the assessment shapes the "
          "deal. Check that the partner's specialization matches the workload, because deployment funding depends "
          "on it, and ask early whether the customer has a consumption commitment that the migration will draw "
          "down."),
]
AMM_TABLE = [
    ("Offer", "What it funds", "Illustrative cap", "Minimum deal"),
    ("Assessment", "Partner-delivered migration assessment and business case", "USD 25,000", "none"),
    ("Deployment", "Partner migration services, as a share of first-year Azure consumption", "USD 150,000",
     "USD 100,000"),
    ("Azure credits", "Credits that offset Azure costs while workloads run in parallel", "per project", "none"),
]


def make_pdf(path: Path) -> None:
    from fpdf import FPDF  # noqa: PLC0415 - generation-time dependency only

    pdf = FPDF(format="A4")
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_title("End Customer Investment Funds (ECIF) guide")
    pdf.set_author("Partner Atlas sample content")
    pdf.set_margins(20, 20, 20)
    pdf.add_page()
    for kind, text in ECIF:
        if kind == "page":
            pdf.add_page()
        elif kind == "h1":
            pdf.set_font("Helvetica", "B", 18)
            pdf.multi_cell(0, 9, text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
        elif kind == "h2":
            pdf.ln(2)
            pdf.set_font("Helvetica", "B", 14)
            pdf.multi_cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        elif kind == "li":
            pdf.set_font("Helvetica", "", 11)
            bullet = "" if text[:1].isdigit() else "- "
            pdf.set_x(26)
            pdf.multi_cell(0, 6, bullet + text, new_x="LMARGIN", new_y="NEXT")
        else:
            pdf.set_font("Helvetica", "", 11)
            pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
    pdf.output(str(path))


def make_docx(path: Path) -> None:
    import docx  # noqa: PLC0415

    document = docx.Document()
    props = document.core_properties
    props.title = AMM_TITLE
    props.author = "Partner Atlas sample content"
    props.created = props.modified = FIXED_DATE.replace(tzinfo=None)
    props.last_modified_by = "tools/make_sample_docs.py"
    props.revision = 1
    for kind, text in AMM:
        if kind == "h1":
            document.add_heading(text, level=1)
        elif kind == "h2":
            document.add_heading(text, level=2)
        elif kind == "li":
            document.add_paragraph(text, style="List Bullet")
        elif kind == "table":
            table = document.add_table(rows=0, cols=len(AMM_TABLE[0]))
            table.style = "Table Grid"
            for row in AMM_TABLE:
                cells = table.add_row().cells
                for cell, value in zip(cells, row, strict=True):
                    cell.text = value
        else:
            document.add_paragraph(text)
    document.save(str(path))


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    make_pdf(OUT / "ecif-guide.pdf")
    make_docx(OUT / "azure-migrate-and-modernize.docx")
    print(f"wrote {OUT / 'ecif-guide.pdf'} and {OUT / 'azure-migrate-and-modernize.docx'}")


if __name__ == "__main__":
    main()
