"""Chunking: passages that read on their own, FAQ answers kept whole, ids stable across runs and edits."""
from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest

from knowledge.chunking import MERGE_BELOW_WORDS, Chunk, chunk_document
from knowledge.documents import parse_document
from knowledge.records import Document, Section

SAMPLE_PROGRAMS = Path(__file__).resolve().parents[2] / "knowledge" / "sample" / "programs"


def words(n: int, tag: str = "w") -> str:
    return " ".join(f"{tag}{i}" for i in range(n))


def sentences(count: int, length: int = 12, tag: str = "s") -> list[str]:
    """Distinct sentences of `length` words: 'S3 word1 word2 ... .'"""
    return [f"S{tag}{n} " + " ".join(f"{tag}{n}x{i}" for i in range(length - 1)) + "." for n in range(count)]


def doc(*sections: Section, kind: str = "document", path: str = "programs/guide.md", **kw: object) -> Document:
    return Document(path=path, title="Guide", sections=tuple(sections), kind=kind, **kw)  # type: ignore[arg-type]


def n_words(chunk: Chunk) -> int:
    return len(chunk.text.split())


def test_one_chunk_per_section_with_document_fields() -> None:
    d = doc(Section("Requirements", words(60, "r")), Section("Audit", words(70, "a")),
            visibility="confidential", allowed_groups=("ecm",))
    chunks = chunk_document(d)
    assert [(c.heading, c.text, c.ordinal) for c in chunks] == [
        ("Requirements", words(60, "r"), 0), ("Audit", words(70, "a"), 1)]
    first = chunks[0]
    assert (first.doc_path, first.title, first.kind, first.visibility, first.allowed_groups) == (
        "programs/guide.md", "Guide", "document", "confidential", ("ecm",))
    assert first.embed_text == f"Guide\nRequirements\n{words(60, 'r')}"
    assert first.content_hash == hashlib.sha256(first.embed_text.encode()).hexdigest()
    assert len(first.id) == 32 and int(first.id, 16) >= 0


def test_empty_sections_are_skipped() -> None:
    chunks = chunk_document(doc(Section("Empty", ""), Section("Blank", "  \n "), Section("Real", words(50))))
    assert [c.heading for c in chunks] == ["Real"]


def test_tiny_adjacent_sections_merge_in_documents() -> None:
    d = doc(Section("Intro", "A short intro."), Section("Details", words(80)), Section("Next steps", "- Read more."))
    chunks = chunk_document(d)
    assert len(chunks) == 1
    assert chunks[0].heading == "Intro"
    assert chunks[0].text == f"A short intro.\n\nDetails\n{words(80)}\n\nNext steps\n- Read more."
    big = doc(Section("One", words(MERGE_BELOW_WORDS + 5, "a")), Section("Two", words(MERGE_BELOW_WORDS + 5, "b")))
    assert len(chunk_document(big)) == 2


def test_faq_entries_are_never_merged_or_split_below_three_times_max_words() -> None:
    d = doc(Section("Is it short?", "Yes."), Section("Is it long?", words(110, "l")),
            Section("Another short one?", "No."), kind="faq")
    chunks = chunk_document(d, max_words=40, overlap_words=10)
    assert [(c.heading, c.text) for c in chunks] == [
        ("Is it short?", "Yes."), ("Is it long?", words(110, "l")), ("Another short one?", "No.")]
    assert all(c.kind == "faq" for c in chunks)
    edge = doc(Section("Exactly three times?", words(120)), kind="faq")
    assert len(chunk_document(edge, max_words=40, overlap_words=10)) == 1


def test_faq_answer_longer_than_three_times_is_split_under_its_question() -> None:
    answer = " ".join(sentences(14, 10))   # 140 words > 3 * 40
    chunks = chunk_document(doc(Section("What is long?", answer), kind="faq"), max_words=40, overlap_words=10)
    assert len(chunks) > 1
    assert all(c.heading == "What is long?" and n_words(c) <= 40 and c.text in answer for c in chunks)


def test_long_section_splits_on_paragraphs_then_sentences_with_overlap() -> None:
    paragraphs = [" ".join(sentences(6, 12, tag=f"p{p}_")) for p in range(4)]   # 4 x 72 words
    text = "\n\n".join(paragraphs)
    chunks = chunk_document(doc(Section("Long", text)), max_words=100, overlap_words=20)
    assert len(chunks) >= 3
    for chunk in chunks:
        assert n_words(chunk) <= 100
        assert chunk.text in text                     # verbatim: pieces are cut, never rewritten
        assert chunk.heading == "Long"
        assert chunk.text[0].isupper() and chunk.text.endswith(".")   # whole sentences at both ends
    for before, after in zip(chunks, chunks[1:], strict=False):
        last_sentence = before.text.rsplit(". ", 1)[-1].split("\n")[-1]
        assert after.text.startswith(last_sentence), "each piece repeats the tail of the one before"
    covered = " ".join(c.text for c in chunks)
    for sentence in " ".join(paragraphs).split(". "):
        assert sentence.rstrip(".") in covered
    # the first cut falls on the paragraph break, not in the middle of paragraph two
    assert chunks[0].text == paragraphs[0]


def test_sentence_without_stops_is_cut_by_words() -> None:
    text = words(250)
    chunks = chunk_document(doc(Section("Run-on", text)), max_words=100, overlap_words=10)
    assert all(n_words(c) <= 100 for c in chunks)
    assert " ".join(c.text for c in chunks).split()[:100] == text.split()[:100]
    assert set(text.split()) <= set(" ".join(c.text for c in chunks).split())


def test_ids_are_stable_across_runs(tmp_path: Path) -> None:
    for name in ("kubernetes-specialization.md", "co-sell-faq.yml", "ecif-guide.pdf",
                 "azure-migrate-and-modernize.docx", "partner-incentives-overview.html"):
        first = chunk_document(parse_document(SAMPLE_PROGRAMS / name, f"programs/{name}"))
        second = chunk_document(parse_document(SAMPLE_PROGRAMS / name, f"programs/{name}"))
        assert first and [c.id for c in first] == [c.id for c in second]
        assert len({c.id for c in first}) == len(first)


def test_an_edited_section_changes_only_its_own_chunk_ids(tmp_path: Path) -> None:
    body = {name: " ".join(sentences(5, 10, tag=name)) for name in ("a", "b", "c")}
    source = "# Guide\n\n" + "\n\n".join(f"## Section {k.upper()}\n\n{v}" for k, v in body.items()) + "\n"
    path = tmp_path / "guide.md"
    path.write_text(source)
    before = {c.heading: c.id for c in chunk_document(parse_document(path, "programs/guide.md"))}
    path.write_text(source.replace("Sb2 b2x0", "Sb2 CHANGED"))
    after = {c.heading: c.id for c in chunk_document(parse_document(path, "programs/guide.md"))}
    assert before.keys() == after.keys() == {"Section A", "Section B", "Section C"}
    assert before["Section A"] == after["Section A"] and before["Section C"] == after["Section C"]
    assert before["Section B"] != after["Section B"]


def test_ids_depend_on_path_and_access_metadata() -> None:
    base = doc(Section("Requirements", words(60)))
    ids = {c.id for c in chunk_document(base)}
    assert ids != {c.id for c in chunk_document(replace(base, path="programs/other.md"))}
    # a document that turns confidential must re-index with its new visibility, not keep the old entries
    assert ids != {c.id for c in chunk_document(replace(base, visibility="confidential", allowed_groups=("ecm",)))}
    assert ids != {c.id for c in chunk_document(replace(base, title="Renamed guide"))}


def test_duplicate_passages_get_distinct_stable_ids() -> None:
    text = words(60, "dup")
    d = doc(Section("Note", text), Section("Other", words(60, "o")), Section("Note", text), kind="faq")
    chunks = chunk_document(d)
    assert [c.heading for c in chunks] == ["Note", "Other", "Note"]
    assert len({c.id for c in chunks}) == 3
    assert [c.id for c in chunks] == [c.id for c in chunk_document(d)]
    # the first copy keeps the id it would have alone, so adding a duplicate later does not move it
    alone = chunk_document(doc(Section("Note", text), Section("Other", words(60, "o")), kind="faq"))
    assert chunks[0].id == alone[0].id


@pytest.mark.parametrize("max_words", [0, -5])
def test_max_words_must_be_positive(max_words: int) -> None:
    with pytest.raises(ValueError, match="max_words"):
        chunk_document(doc(Section("A", "text")), max_words=max_words)


def test_sample_folder_chunks_fit_the_embedding_window() -> None:
    for path in sorted(SAMPLE_PROGRAMS.iterdir()):
        if path.name == "incentives.yaml":
            continue
        parsed = parse_document(path, f"programs/{path.name}")
        for chunk in chunk_document(parsed):
            limit = 180 * 3 if parsed.kind == "faq" else 180
            assert 0 < n_words(chunk) <= limit, (path.name, chunk.heading)
            assert chunk.text.strip() == chunk.text
