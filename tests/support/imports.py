"""The modules a Python file imports, read with ast (nothing is imported): for the layering checks."""
from __future__ import annotations

import ast
from pathlib import Path


def imports(path: Path) -> list[tuple[int, str]]:
    """Every module the file imports (at any depth: lazy imports inside functions count too), with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module))
    return found
