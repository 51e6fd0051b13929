"""Reading YAML and JSON safely: the one way every structured file of the project is parsed.

A small YAML file can describe an enormous value: a chain of anchors, each alias repeated nine times
nine levels deep (`name: *i`), is a few hundred bytes on disk and hundreds of millions of values once
anything walks it (printing it, turning it into a string). `load_yaml` counts what aliases would
expand to once the document is composed and before any value is built, and refuses the file past a
bound; it refuses recursive aliases, and keeps text that could nest deeply (`[[[[...`, `- - - ...`)
away from libyaml, whose recursive composer would overflow the C stack (a segmentation fault, not an
exception). `read_structured` adds a byte-size cap, JSON included, and opens only regular files.
The C loader is kept for everything else; plain files with a few anchors for shared defaults load.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import yaml

from knowledge.folder import open_regular
from knowledge.text import NotTextError, decode_text

MB = 1024 * 1024
MAX_STRUCTURED_BYTES = 50 * MB        # partner exports, access.yaml, incentives.yaml (a 30k-partner JSON export fits)
MAX_ALIAS_EXPANSION = 100_000         # values that aliases add when expanded, over the whole document
# libyaml composes recursively in C: ~40,000 levels (`[[[[...`, or `- - - - ...` on one line) overflow the C
# stack, a segmentation fault no handler sees. Text that might nest beyond these bounds (together well under
# 2,000 levels) goes to the pure-Python loader, which stops with a RecursionError instead.
MAX_FLOW_DEPTH = 200                  # `[` / `{` nesting, counted crudely
MAX_INDENT = 400                      # columns of block indentation (each level costs at least one)
MAX_COMPACT_RUN = 200                 # `- - - ...` / `? ? ...`: levels opened on one line

try:  # the C loader is ~10x faster on large partner folders
    _FastLoader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _FastLoader = yaml.SafeLoader
_BRACKETS = re.compile(r"[\[\]{}]")
_DEEP_INDENT = re.compile(rf"^ {{{MAX_INDENT},}}", re.MULTILINE)
_COMPACT_RUN = re.compile(rf"(?:[-?][ \t]+){{{MAX_COMPACT_RUN},}}")


class StructuredFileError(ValueError):
    """A YAML or JSON file refused or unreadable; the message is the reason shown in the index summary."""


class UnsafeYamlError(yaml.YAMLError):
    """YAML that is well formed but refused: aliases that expand too far, recursion, extreme nesting."""


def _checked(base: Any) -> Any:
    class Checked(base):  # type: ignore[misc,valid-type]
        def construct_document(self, node: yaml.Node) -> Any:
            check_aliases(node)
            return super().construct_document(node)
    Checked.__name__ = f"Bounded{base.__name__}"
    return Checked


BoundedSafeLoader: Any = _checked(yaml.SafeLoader)
BoundedFastLoader: Any = _checked(_FastLoader) if _FastLoader is not yaml.SafeLoader else BoundedSafeLoader


def check_aliases(root: yaml.Node) -> None:
    """Refuse a composed document whose aliases would expand past MAX_ALIAS_EXPANSION values, or recurse.

    Aliases come out of the composer as the same node object reached twice, so the expanded size is a
    walk over distinct nodes with memoised subtree sizes: linear in the file, whatever it expands to.
    """
    sizes: dict[int, int] = {}
    visiting: set[int] = set()
    distinct = 0
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        children = _children(node)
        if finished:
            visiting.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in children)
            continue
        if key in visiting:
            raise UnsafeYamlError("a YAML alias refers to the collection that contains it (recursive alias)")
        if key in sizes:
            continue            # an alias of a node already counted
        visiting.add(key)
        distinct += 1
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(children))
    if sizes[id(root)] - distinct > MAX_ALIAS_EXPANSION:
        raise UnsafeYamlError(f"YAML aliases expand to more than {MAX_ALIAS_EXPANSION:,} values (an alias bomb?)")


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def load_yaml(text: str) -> Any:
    """One YAML document, with aliases bounded. Raises yaml.YAMLError (UnsafeYamlError when refused)."""
    if not _shallow(text):
        loader = BoundedSafeLoader
    elif "*" not in text:
        loader = _FastLoader        # an alias is `*name`: without a `*` there is nothing to expand
    else:
        loader = BoundedFastLoader
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError as exc:
        raise UnsafeYamlError("YAML nested too deeply") from exc


def _shallow(text: str) -> bool:
    """Whether the text cannot nest deep enough to crash libyaml (a cheap upper bound, not a parse)."""
    return (_flow_depth_below(text, MAX_FLOW_DEPTH) and _DEEP_INDENT.search(text) is None
            and _COMPACT_RUN.search(text) is None)


def _flow_depth_below(text: str, limit: int) -> bool:
    """Whether `[`/`{` nesting (counted crudely, quotes ignored) stays under limit: then libyaml is safe."""
    if text.count("[") + text.count("{") < limit:
        return True
    depth = 0
    for match in _BRACKETS.finditer(text):
        depth += 1 if match.group() in "[{" else -1
        if depth >= limit:
            return False
    return True


def read_structured(path: Path, *, max_bytes: int = MAX_STRUCTURED_BYTES) -> Any:
    """A YAML or JSON file (by suffix) as data, or StructuredFileError with the reason."""
    with open_regular(path) as handle:
        if os.fstat(handle.fileno()).st_size > max_bytes:
            raise StructuredFileError(f"file larger than {max_bytes // MB} MB")
        raw = handle.read(max_bytes + 1)        # bounded even if the file grows meanwhile
    if not raw:
        raise StructuredFileError("empty file")
    if len(raw) > max_bytes:
        raise StructuredFileError(f"file larger than {max_bytes // MB} MB")
    try:
        text = decode_text(raw)  # the encoding rule documents and tables follow too
    except NotTextError as exc:
        raise StructuredFileError(exc.reason) from exc
    kind = path.suffix.lstrip(".").upper()
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return load_yaml(text)
    except UnsafeYamlError as exc:
        raise StructuredFileError(str(exc)) from exc
    except RecursionError as exc:
        raise StructuredFileError(f"{kind} nested too deeply") from exc
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        where = getattr(exc, "lineno", None) or getattr(getattr(exc, "problem_mark", None), "line", None)
        raise StructuredFileError(f"invalid {kind}" + (f" near line {where}" if where else "")) from exc


def read_data_file(path: Path) -> Any:
    """A YAML data file shipped with the project (vocabularies, weights), through the same bounded loader."""
    return load_yaml(path.read_text(encoding="utf-8"))
