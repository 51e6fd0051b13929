"""The Bot Framework SDK stays behind channel/: dialogs/ and everything below it never import it (nor channel/).

Moving to another SDK (the Microsoft 365 Agents SDK) must stay a change of one folder; a module of dialogs/
that reaches for `botbuilder` again, or for channel/ (an upward import), fails here with its file and line.
"""
from __future__ import annotations

from pathlib import Path

from tests.support.imports import imports

ROOT = Path(__file__).resolve().parents[2]
SDK = ("botbuilder", "botframework", "msrest", "microsoft_agents")
FENCED = ("dialogs", "retrieval", "knowledge", "storage", "appmanifest")


def offending(folders: tuple[str, ...], roots: tuple[str, ...]) -> list[str]:
    return [f"{path.relative_to(ROOT)}:{line} imports {module}"
            for folder in folders for path in sorted((ROOT / folder).rglob("*.py"))
            for line, module in imports(path) if module.split(".")[0] in roots]


def test_nothing_below_the_channel_imports_the_sdk() -> None:
    assert offending(FENCED, SDK) == []


def test_nothing_below_the_channel_imports_the_channel() -> None:
    assert offending(FENCED, ("channel", "bot", "app")) == []


def test_the_checker_sees_a_lazy_sdk_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from botbuilder.schema import Activity\n    return Activity\n", encoding="utf-8")
    assert imports(module) == [(2, "botbuilder.schema")]
