"""The shape of the code, read from the files (nothing is imported): the SDK only in channel/, no module over
400 lines, and layers that import one way only.

  bot.py → app/ → channel/ → dialogs/ → retrieval/ → knowledge/

A package may import those to its right, never one to its left. storage/ (every database connection) is
used by app/, channel/, dialogs/ and retrieval/, and imports none of the layers. appmanifest/ (the Teams
app package) is used by app/'s command line only. bench/ and tools/ sit beside the bot: they may use the
layers, nothing in the bot uses them. Lazy imports inside functions and TYPE_CHECKING imports count too.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.imports import imports

ROOT = Path(__file__).resolve().parents[1]
SDK = ("botbuilder", "botframework", "msrest")
LAYERS = ("bot", "app", "channel", "dialogs", "retrieval", "knowledge")
SIDE = ("storage", "appmanifest", "bench", "tools")
MAX_LINES = 400
MAX_CHANNEL_MODULES = 8
NOT_PRODUCTION = {"tests", ".venv", "node_modules", ".git", ".index", "var", "build"}


def production_modules(root: Path) -> list[Path]:
    """Every .py file of the bot, its tools and benchmarks: all but the tests and what is installed or generated."""
    return sorted(path for path in root.rglob("*.py")
                  if not NOT_PRODUCTION & set(path.relative_to(root).parts))


def package_of(path: Path, root: Path) -> str:
    """`bot` for bot.py, else the top folder: `app`, `channel`, …"""
    first = path.relative_to(root).parts[0]
    return first.removesuffix(".py")


def allowed(importer: str) -> set[str]:
    """The project packages `importer` may import besides itself."""
    if importer in LAYERS:
        below = set(LAYERS[LAYERS.index(importer) + 1:])
        uses_storage = {"app", "channel", "dialogs", "retrieval"}
        return below | ({"storage"} if importer in uses_storage else set()) | ({"appmanifest"} if importer == "app" else set())
    if importer in ("bench", "tools"):
        return set(LAYERS[1:]) | {"storage"}
    return set()        # storage, appmanifest: nothing of the project


def wrong_way(root: Path) -> list[str]:
    project = set(LAYERS) | set(SIDE)
    found = []
    for path in production_modules(root):
        importer = package_of(path, root)
        if importer not in project:
            continue
        for line, module in imports(path):
            target = module.split(".")[0]
            if target in project and target != importer and target not in allowed(importer):
                found.append(f"{path.relative_to(root)}:{line} imports {module}")
    return found


def sdk_outside_channel(root: Path) -> list[str]:
    return [f"{path.relative_to(root)}:{line} imports {module}"
            for path in production_modules(root) if package_of(path, root) != "channel"
            for line, module in imports(path) if module.split(".")[0] in SDK]


def test_only_channel_imports_the_bot_framework_sdk() -> None:
    assert sdk_outside_channel(ROOT) == []


def test_channel_stays_small_enough_to_swap() -> None:
    modules = [p.name for p in (ROOT / "channel").glob("*.py") if p.name != "__init__.py"]
    assert len(modules) <= MAX_CHANNEL_MODULES, sorted(modules)


def test_no_production_module_is_over_400_lines() -> None:
    long = {str(p.relative_to(ROOT)): n for p in production_modules(ROOT)
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_bot_py_is_the_entry_point_only() -> None:
    assert {module.split(".")[0] for _, module in imports(ROOT / "bot.py")} <= {"__future__", "sys", "app"}


def test_layers_import_one_way() -> None:
    assert wrong_way(ROOT) == []


@pytest.mark.parametrize(("importer", "source", "verdict"), [
    ("dialogs/x.py", "def f():\n    from app.server import create_app\n", ["dialogs/x.py:2 imports app.server"]),
    ("storage/x.py", "from retrieval import engine\n", ["storage/x.py:1 imports retrieval"]),
    ("knowledge/x.py", "import storage.database\n", ["knowledge/x.py:1 imports storage.database"]),
    ("retrieval/x.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bench import run\n",
     ["retrieval/x.py:3 imports bench"]),
    ("app/x.py", "from channel.http import read_activity\nfrom storage import open_database\n", []),
])
def test_the_checker_sees_an_upward_import(tmp_path: Path, importer: str, source: str, verdict: list[str]) -> None:
    (tmp_path / importer).parent.mkdir(parents=True)
    (tmp_path / importer).write_text(source, encoding="utf-8")
    assert wrong_way(tmp_path) == verdict


def test_the_checker_sees_a_lazy_sdk_import_outside_channel(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "endpoint.py").write_text("def f():\n    from msrest.serialization import Model\n", encoding="utf-8")
    (tmp_path / "channel").mkdir()
    (tmp_path / "channel" / "http.py").write_text("from botbuilder.core import InvokeResponse\n", encoding="utf-8")
    assert sdk_outside_channel(tmp_path) == ["app/endpoint.py:2 imports msrest.serialization"]
