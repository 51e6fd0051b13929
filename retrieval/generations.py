"""Index generations: a re-index is built beside the live index and switched to atomically (blue/green).

Embedded chromadb (the default), under the index folder:

    CURRENT            the live generation's name ("gen-7"), replaced atomically (temp + fsync + rename)
    gen-7/chroma/      its chromadb directory
    gen-7/records.snapshot, gen-7/manifest.json   (the record snapshot: retrieval/snapshot.py)
    gen-6/             the previous generation, kept for a manual roll-back (echo gen-6 > CURRENT)
    .lock              the writer lock (flock: released by the kernel when the writer dies, even by SIGKILL)

A generation is complete when its manifest exists: the indexer writes it last, after validation,
and only then moves the pointer. Anything else (a run killed part-way) is never pointed to and is
deleted by the next run. A folder from before generations (chroma/ and a record snapshot at its top)
is served as it is ("legacy") and becomes the seed of the first generation.

With a Chroma server (CHROMA_HOST set), a generation is a collection (`documents__gen7`) and the
pointer is the metadata of a small collection (`partner_atlas_pointer`); one metadata update switches
every server process at once. The records snapshot and manifest stay in the local index folder.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from retrieval.index import COLLECTION

log = logging.getLogger(__name__)

POINTER = "CURRENT"
COUNTER = ".last-generation"
MANIFEST = "manifest.json"
LEGACY = "legacy"
POINTER_COLLECTION = "partner_atlas_pointer"
_GEN = re.compile(r"^gen-(\d+)$")


@dataclass(frozen=True)
class ChromaConfig:
    """Where the vectors live: empty host → embedded PersistentClient in the index folder."""

    host: str = ""
    port: int = 8000
    ssl: bool = False
    tenant: str = "default_tenant"
    database: str = "default_database"

    @property
    def server(self) -> bool:
        return bool(self.host)

    @classmethod
    def from_env(cls) -> ChromaConfig:
        """CHROMA_HOST / CHROMA_PORT / CHROMA_SSL / CHROMA_TENANT / CHROMA_DATABASE (or CHROMA_SERVER_URL)."""
        env = os.environ
        host, port, ssl = env.get("CHROMA_HOST", "").strip(), env.get("CHROMA_PORT", "").strip(), \
            env.get("CHROMA_SSL", "").strip().lower() in ("1", "true", "yes")
        url = env.get("CHROMA_SERVER_URL", "").strip()
        if not host and url:
            parsed = urlparse(url)
            host, ssl = parsed.hostname or "", parsed.scheme == "https"
            port = port or str(parsed.port or "")
        return cls(host=host, port=int(port or 8000), ssl=ssl,
                   tenant=env.get("CHROMA_TENANT", "").strip() or "default_tenant",
                   database=env.get("CHROMA_DATABASE", "").strip() or "default_database")


@dataclass(frozen=True)
class Generation:
    name: str          # gen-7, or "legacy" for a folder from before generations
    path: Path         # local folder: records snapshot and manifest (and chroma/ when embedded)
    collection: str    # the chromadb collection holding its vectors

    @property
    def number(self) -> int:
        match = _GEN.match(self.name)
        return int(match.group(1)) if match else 0


def _settings() -> Any:
    from chromadb.config import Settings  # noqa: PLC0415 - chromadb costs 0.7 s to import

    return Settings(anonymized_telemetry=False)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temp file beside `path`, fsync, rename over it, fsync the folder: all or nothing."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


class Generations:
    """The generations of one index folder (and, in server mode, of one Chroma database)."""

    def __init__(self, index_dir: Path, chroma: ChromaConfig | None = None) -> None:
        self.index_dir = Path(index_dir)
        self.chroma = chroma if chroma is not None else ChromaConfig.from_env()
        self._server_client: Any = None

    # ------------------------------------------------------------------ reading
    def live(self) -> Generation | None:
        name = self.live_name()
        if name is None:
            return None
        if name == LEGACY:
            return Generation(LEGACY, self.index_dir, COLLECTION)
        return self._generation(name)

    def live_name(self) -> str | None:
        """The live generation's name: cheap, what `serve` polls to notice a new one."""
        if self.chroma.server:
            meta = self._pointer_collection(create=False)
            current = (meta.metadata or {}).get("current") if meta is not None else None
            if current:
                return str(current)
            return LEGACY if COLLECTION in self._server_names() else None
        try:
            name = (self.index_dir / POINTER).read_bytes().decode("utf-8", errors="replace").strip()
        except FileNotFoundError:
            return LEGACY if (self.index_dir / "chroma").is_dir() else None
        if not _GEN.match(name):
            raise ValueError(f"the index pointer {self.index_dir / POINTER} is damaged: it names no generation; "
                             "run `bot.py index` (or write the name of a gen-N folder into it)")
        return name

    def manifest(self, generation: Generation | None) -> dict[str, Any] | None:
        if generation is None or generation.name == LEGACY:
            return None
        try:
            data = json.loads((generation.path / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def client(self, generation: Generation, *, create: bool = False) -> Any:
        """A client for the generation's collection; serving never creates one (a missing folder is an error)."""
        import chromadb  # noqa: PLC0415

        if self.chroma.server:
            return self._server()
        chroma_dir = generation.path / "chroma"
        if not create and not (chroma_dir / "chroma.sqlite3").is_file():
            raise FileNotFoundError(f"index generation {generation.name} has no chroma folder ({chroma_dir})")
        return chromadb.PersistentClient(path=str(chroma_dir), settings=_settings())

    # ------------------------------------------------------------------ building (under the writer lock)
    def discard_incomplete(self) -> list[str]:
        """Delete what a killed run left: generations without a manifest that nothing points to."""
        live = self.live_name()
        removed = []
        for gen in self._local_generations():
            if gen.name != live and not (gen.path / MANIFEST).exists():
                self._delete(gen)
                removed.append(gen.name)
        if self.chroma.server:
            complete = {g.collection for g in self._local_generations() if (g.path / MANIFEST).exists()}
            live_gen = self.live()
            for name in self._server_collections():
                if name not in complete and (live_gen is None or name != live_gen.collection):
                    self._server().delete_collection(name)
                    removed.append(name)
        if removed:
            log.info("removed incomplete index generations left by an interrupted run: %s", ", ".join(removed))
        return removed

    def create(self, seed: Generation | None) -> Generation:
        """A new, empty-or-seeded generation beside the live one; the live one is only read."""
        # never reuse a number: a process that opened a discarded generation may still cache its files
        numbers = [g.number for g in self._local_generations()]
        if self.chroma.server:
            numbers += [int(n.rsplit("__gen", 1)[1]) for n in self._server_collections()]
        with contextlib.suppress(OSError, ValueError):
            numbers.append(int((self.index_dir / COUNTER).read_text(encoding="utf-8")))
        number = max(numbers, default=0) + 1
        atomic_write(self.index_dir / COUNTER, str(number).encode())
        gen = self._generation(f"gen-{number}")
        gen.path.mkdir(parents=True)
        if seed is not None:
            if self.chroma.server:
                self._copy_collection(seed.collection, gen.collection)
            elif (seed.path / "chroma").is_dir():
                # a file copy: the live directory is never opened for writing by the indexer
                shutil.copytree(seed.path / "chroma", gen.path / "chroma")
        return gen

    def switch(self, generation: Generation) -> None:
        """The atomic step: from here on every reader opens `generation`."""
        previous = self.live_name()
        if self.chroma.server:
            meta = self._pointer_collection(create=True)
            meta.modify(metadata={"current": generation.name, "previous": previous or ""})
        else:
            atomic_write(self.index_dir / POINTER, (generation.name + "\n").encode())
        log.info("index generation %s is live (was %s)", generation.name, previous or "none")

    def collect_garbage(self, keep: int = 2) -> list[str]:
        """Keep the live generation and the one before it; delete older ones (and a migrated legacy layout)."""
        live = self.live()
        if live is None or live.name == LEGACY:
            return []
        complete = sorted((g for g in self._local_generations() if (g.path / MANIFEST).exists() and g.name != live.name),
                          key=lambda g: g.number, reverse=True)
        kept = complete[:keep - 1]
        removed = []
        for gen in complete[keep - 1:]:
            self._delete(gen)
            removed.append(gen.name)
        if kept and self._has_legacy():
            # the legacy layout was the previous index until a second generation replaced it
            if self.chroma.server:
                with contextlib.suppress(Exception):
                    self._server().delete_collection(COLLECTION)
            for name in ("chroma", "records.snapshot", "records.pickle", MANIFEST):   # .pickle: before version 2
                target = self.index_dir / name
                if target.is_dir():
                    shutil.rmtree(target, ignore_errors=True)
                elif target.exists():
                    target.unlink()
            removed.append(LEGACY)
        if removed:
            log.info("removed old index generations: %s", ", ".join(removed))
        return removed

    # ------------------------------------------------------------------ internals
    def _generation(self, name: str) -> Generation:
        number = _GEN.match(name)
        collection = f"{COLLECTION}__gen{number.group(1)}" if (number and self.chroma.server) else COLLECTION
        return Generation(name, self.index_dir / name, collection)

    def _local_generations(self) -> list[Generation]:
        if not self.index_dir.is_dir():
            return []
        return [self._generation(p.name) for p in self.index_dir.iterdir() if p.is_dir() and _GEN.match(p.name)]

    def _has_legacy(self) -> bool:
        if self.chroma.server:
            return COLLECTION in self._server_names()
        return (self.index_dir / "chroma").is_dir()

    def _delete(self, gen: Generation) -> None:
        if self.chroma.server:
            with contextlib.suppress(Exception):   # not there: nothing to delete
                self._server().delete_collection(gen.collection)
        shutil.rmtree(gen.path, ignore_errors=True)

    def _server(self) -> Any:
        if self._server_client is None:
            import chromadb  # noqa: PLC0415

            self._server_client = chromadb.HttpClient(
                host=self.chroma.host, port=self.chroma.port, ssl=self.chroma.ssl, tenant=self.chroma.tenant,
                database=self.chroma.database, settings=_settings())
        return self._server_client

    def _server_names(self) -> list[str]:
        return [c.name if hasattr(c, "name") else str(c) for c in self._server().list_collections()]

    def _server_collections(self) -> list[str]:
        prefix = f"{COLLECTION}__gen"
        return [n for n in self._server_names() if n.startswith(prefix) and n[len(prefix):].isdigit()]

    def _pointer_collection(self, *, create: bool) -> Any:
        client = self._server()
        if create:
            return client.get_or_create_collection(POINTER_COLLECTION, embedding_function=None)
        try:
            return client.get_collection(POINTER_COLLECTION, embedding_function=None)
        except Exception:  # noqa: BLE001 - chromadb raises NotFoundError (or ValueError in older releases)
            return None

    def _copy_collection(self, source: str, target: str, page: int = 2000) -> None:
        """Server mode: the live generation's vectors, read page by page and added to the new collection."""
        client = self._server()
        src = client.get_collection(source, embedding_function=None)
        dst = client.get_or_create_collection(target, configuration={"hnsw": {"space": "cosine"}},
                                              embedding_function=None, metadata=src.metadata or None)
        total = src.count()
        for offset in range(0, total, page):
            data = src.get(include=["embeddings", "documents", "metadatas"], limit=page, offset=offset)
            if data["ids"]:
                dst.add(ids=data["ids"], embeddings=data["embeddings"], documents=data["documents"],
                        metadatas=data["metadatas"])
