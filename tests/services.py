"""Services the tests start on loopback and stop afterwards: Azurite, the Azure Blob Storage emulator, a
Chroma server (`chroma run`, from the chromadb package) for the scale-out retrieval path, and PostgreSQL
(Debian's `postgresql` package, installed by `make test-postgres`) for the scale-out database.

Azurite comes from tools/npm (installed by `make test-services`, which `make test` runs). It listens on
a free 127.0.0.1 port, keeps blobs in memory and accepts any API version the Python SDK sends.
"""
from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
AZURITE_BLOB = PROJECT_DIR / "tools" / "npm" / "node_modules" / ".bin" / "azurite-blob"
# Azurite's documented development account (public, the same in every installation)
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@dataclass(frozen=True)
class Azurite:
    port: int

    @property
    def connection_string(self) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
                f"BlobEndpoint=http://127.0.0.1:{self.port}/{ACCOUNT};")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def run_azurite(timeout: float = 90.0) -> Iterator[Azurite]:
    if not AZURITE_BLOB.exists():
        raise RuntimeError(f"{AZURITE_BLOB} is missing: run `make test-services` (npm ci in tools/npm)")
    port = free_port()
    workspace = tempfile.mkdtemp(prefix="azurite-")
    log_path = Path(workspace) / "azurite.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(AZURITE_BLOB), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence",
             "--extentMemoryLimit", "256", "--skipApiVersionCheck", "--loose", "--disableTelemetry", "--silent"],
            cwd=workspace, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while b"successfully listens" not in log_path.read_bytes():
            if process.poll() is not None:
                raise RuntimeError(f"azurite exited ({process.returncode}): {log_path.read_text(errors='replace')}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"azurite did not start in {timeout:.0f}s: {log_path.read_text(errors='replace')}")
            time.sleep(0.2)
        yield Azurite(port)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def chroma_settings(port: int):  # noqa: ANN201 - chromadb.config.Settings, imported late
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False, chroma_api_impl="chromadb.api.fastapi.FastAPI",
                    chroma_server_host="127.0.0.1", chroma_server_http_port=port)


@contextmanager
def run_chroma(folder: Path, timeout: float = 60.0) -> Iterator[int]:
    """`chroma run` on a free 127.0.0.1 port with its data in `folder`; yields the port once it answers."""
    import chromadb

    port = free_port()
    process = subprocess.Popen([str(Path(sys.executable).with_name("chroma")), "run", "--path", str(folder),
                                "--host", "127.0.0.1", "--port", str(port)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT, env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                chromadb.AdminClient(chroma_settings(port)).list_databases()
                break
            except Exception:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"chroma run did not start on 127.0.0.1:{port}") from None
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --------------------------------------------------------------------------- PostgreSQL
@dataclass(frozen=True)
class Postgres:
    port: int
    user: str = "atlas"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database on this server; its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f"create database {name}")
        return self.url(name)


def postgres_bin() -> Path:
    """The newest installed server's bin folder (Debian: /usr/lib/postgresql/<major>/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run `make test-postgres` (apt-get install postgresql)")
    return Path(found[-1]).parent


@contextmanager
def run_postgres(timeout: float = 60.0) -> Iterator[Postgres]:
    """initdb in a temp folder and `postgres` on a free 127.0.0.1 port (trust auth, loopback only, no fsync).

    initdb and postgres refuse to run as root: as root they run as Debian's `postgres` user (runuser).
    """
    import psycopg

    binaries = postgres_bin()
    workspace = Path(tempfile.mkdtemp(prefix="postgres-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(workspace, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, log_path = workspace / "data", workspace / "postgres.log"
    server = Postgres(free_port())
    subprocess.run([*as_user, str(binaries / "initdb"), "-D", str(data), "-U", server.user, "-A", "trust",
                    "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], check=True, capture_output=True, cwd=workspace)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*as_user, str(binaries / "postgres"), "-D", str(data), "-p", str(server.port), "-h", "127.0.0.1",
             "-k", str(workspace), "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
             "-c", "max_connections=200"],
            cwd=workspace, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(server.url(), connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"postgres did not start: {log_path.read_text(errors='replace')}") from None
                time.sleep(0.2)
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)          # fast shutdown: roll back, disconnect clients
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        shutil.rmtree(workspace, ignore_errors=True)
