"""Knowledge documents written by the tests: a Learn FAQ and a program guide, bulk guides that make a re-index
take many batches, and PDFs built byte by byte (plain or encrypted)."""
from __future__ import annotations

import io

from pypdf import PdfReader, PdfWriter

FAQ = """### YamlMime:FAQ
metadata:
  title: Co-sell FAQ
title: Co-sell FAQ
sections:
  - name: Co-sell
    questions:
      - question: What makes a partner co-sell ready?
        answer: A partner is co-sell ready when it has a published solution, a co-sell ready collateral pack and a validated Partner Center profile.
      - question: How long does co-sell validation take?
        answer: Validation of the co-sell materials usually completes within five business days of submission.
"""

GUIDE = """---
title: Kubernetes specialization guide
program: Specializations
---
# Kubernetes specialization guide

## Requirements
Partners need the Solutions Partner for Digital & App Innovation designation, three customer deployments on AKS in the last twelve months and six certified individuals.

## Audit
An independent auditor checks the deployments during a one-day remote audit.
"""


def bulk_documents(count: int, sections: int, tag: str = "") -> dict[str, str]:
    """`count` guides of `sections` sections each: enough chunks for a re-index to take many batches."""
    docs = {}
    for d in range(count):
        # sections of ~100 words: each one is a chunk of its own (smaller ones are merged)
        body = "\n\n".join(f"## Topic {d}-{s}{tag}\n" + " ".join(
            f"Enablement note {d}.{s}.{w}{tag}: cadence {d * 31 + s * 7 + w} track {w % 13}." for w in range(20))
            for s in range(sections))
        docs[f"programs/bulk/guide-{d:03d}.md"] = f"---\ntitle: Enablement guide {d}\n---\n# Enablement guide {d}\n\n{body}\n"
    return docs


def make_pdf(pages: list[list[tuple[float, str | list[str]]]], title: str | None = None) -> bytes:
    """A minimal valid PDF: each page is a list of (font size, line), top to bottom, in Helvetica.

    A line given as a list is written as several text runs, the way word processors split headings.
    """
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog, pages_obj, font = add(b""), add(b""), add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    kids = []
    for lines in pages:
        ops, y = [], 800.0
        for size, text in lines:
            runs = " ".join(f"({_pdf_escape(run)}) Tj" for run in ([text] if isinstance(text, str) else text))
            ops.append(f"BT /F1 {size:g} Tf 72 {y:g} Td {runs} ET")
            y -= size * 1.6
        stream = "\n".join(ops).encode("latin-1")
        content = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        kids.append(add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 %d 0 R >> >> "
                        b"/Contents %d 0 R >>" % (pages_obj, font, content)))
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages_obj
    objects[pages_obj - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    info = add(b"<< /Title (%s) >>" % title.encode("latin-1")) if title else None
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
    trailer = b"<< /Size %d /Root %d 0 R" % (len(objects) + 1, catalog)
    if info:
        trailer += b" /Info %d 0 R" % info
    out.write(b"trailer\n" + trailer + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

ECIF_PAGES: list[list[tuple[float, str | list[str]]]] = [
    [(18, "ECIF guide"), (11, "End Customer Investment Funds pay for partner services."),
     (14, "When to use it"), (11, "Use ECIF on strategic deals where a funded activity"),
     (11, "unblocks the customer decision."), (11, "- Not for licences or hardware.")],
    [(14, "How a request works"), (11, "The account team nominates the deal and the partner submits proof of execution.")],
]


def encrypted(pdf: bytes, user_password: str, owner_password: str | None = None) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
