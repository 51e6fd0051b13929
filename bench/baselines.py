"""The two baselines our answers are compared with, built here from the same knowledge folder and embedder.

1. `QuickstartBaseline` — the LangChain RAG quickstart as a naive user would run it on the folder:
   every file read as plain text whatever its type (YAML, CSV, Markdown, FAQ YAML…),
   `RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)`, `langchain_chroma.Chroma`
   with our MiniLM embedder, top-5 `similarity_search`. Its "answer" is the five chunks' text, each
   under its source path, as the quickstart prints them (no LLM: the question is what retrieval alone
   puts in front of the user).
2. `KeywordBaseline` — BM25 top-5 over exactly the same chunks, with the project's `KeywordIndex`.
"""
from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

TOP_K = 5
CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200


def read_folder_as_text(knowledge_dir: Path) -> list[Document]:
    """Every file under the folder as one text Document, path relative to the folder as its source."""
    docs = []
    for path in sorted(knowledge_dir.rglob("*")):
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            docs.append(Document(page_content=text, metadata={"source": path.relative_to(knowledge_dir).as_posix()}))
    return docs


def split_documents(docs: list[Document]) -> list[Document]:
    from langchain_text_splitters import RecursiveCharacterTextSplitter  # noqa: PLC0415 - bench-only dependency

    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)
    return splitter.split_documents(docs)


def format_hits(docs: list[Document]) -> str:
    """What the quickstart shows: each retrieved chunk under its source path."""
    return "\n\n".join(f"[{rank}] {doc.metadata.get('source', '?')}\n{doc.page_content}"
                       for rank, doc in enumerate(docs, 1))


class QuickstartBaseline:
    """Chroma (in memory) over the naive chunks, top-5 by vector similarity."""

    name = "LangChain quickstart"

    def __init__(self, chunks: list[Document], embedder: Embeddings) -> None:
        import chromadb  # noqa: PLC0415
        from chromadb.config import Settings  # noqa: PLC0415
        from langchain_chroma import Chroma  # noqa: PLC0415

        self.chunks = chunks
        client = chromadb.EphemeralClient(settings=Settings(anonymized_telemetry=False))
        self.store: Any = Chroma.from_documents(chunks, embedding=embedder, client=client,
                                                collection_name=f"quickstart-{uuid.uuid4().hex[:8]}")

    def answer(self, question: str) -> str:
        return format_hits(self.store.similarity_search(question, k=TOP_K))


class KeywordBaseline:
    """BM25 top-5 over the same chunks."""

    name = "BM25 top-5"

    def __init__(self, chunks: list[Document]) -> None:
        from retrieval.keyword import KeywordIndex  # noqa: PLC0415

        self.chunks = chunks
        self.index = KeywordIndex([doc.page_content for doc in chunks])

    def answer(self, question: str) -> str:
        return format_hits([self.chunks[i] for i, _ in self.index.search(question, TOP_K)])
