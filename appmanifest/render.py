"""The manifest: manifest.template.json with every {{PLACEHOLDER}} filled from `appmanifest.values`.

Manifest version 1.30, chosen deliberately:
- It is the newest schema in ../shared/fixtures/schemas/teams-manifest, and it is generally available:
  Microsoft published it as GA (microsoft/json-schemas, "Add Teams App Manifest v1.30 GA schema",
  August 2026). Teams admin center and "Upload a custom app" take GA versions; only "devPreview"
  manifests are limited to developer-preview tenants. (There is no 1.18.)
- Nothing this bot declares is new in 1.30: the `bots` block (scopes, supportsFiles, isNotificationOnly,
  commandLists) has had this shape since 1.17; 1.30 only adds optional slash-command fields
  (`supportsTargetedMessages`, commandLists `triggers`), left out here. Command titles stay within 32
  characters and descriptions within 128, the limits of the older schemas, and the tests check that the
  rendered manifest also validates against 1.19–1.25. So if a tenant or tool turns 1.30 down, falling back
  means changing MANIFEST_VERSION and the two version fields of manifest.template.json, nothing else.
- The schemas are JSON Schema Draft-04, which ignores `const`: the schema alone would accept any
  manifestVersion. `appmanifest.validate` checks it (and `$schema`) itself.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from appmanifest.values import PACKAGE_DIR, ManifestError, complete_values

MANIFEST_VERSION = "1.30"
SCHEMA_URL = f"https://developer.microsoft.com/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
TEMPLATE_PATH = PACKAGE_DIR / "manifest.template.json"

OPTIONAL_EMPTY = {"BOT_DOMAIN"}     # a list item holding only this placeholder is dropped when it is empty
PLACEHOLDER_RE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
LEFTOVER_RE = re.compile(r"\{\{.*?\}\}")

_DROP = object()


def _fill(node: Any, values: Mapping[str, str], in_list: bool = False) -> Any:
    if isinstance(node, dict):
        return {key: _fill(value, values) for key, value in node.items()}
    if isinstance(node, list):
        filled = (_fill(item, values, in_list=True) for item in node)
        return [item for item in filled if item is not _DROP]
    if isinstance(node, str):
        whole = PLACEHOLDER_RE.fullmatch(node)
        if in_list and whole and whole.group(1) in OPTIONAL_EMPTY and not values.get(whole.group(1)):
            return _DROP
        # one pass: a value that itself contains {{…}} is not expanded, and is then reported as left over
        return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), node)
    return node


def _strings(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(JSON path, string) for every key and string value."""
    if isinstance(node, dict):
        for key, value in node.items():
            child = f"{path}.{key}" if path else str(key)
            yield child, str(key)
            yield from _strings(value, child)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _strings(item, f"{path}[{index}]")
    elif isinstance(node, str):
        yield path or "(root)", node


def render_manifest(values: Mapping[str, str], *, template: str | None = None) -> dict[str, Any]:
    """The manifest with every {{PLACEHOLDER}} filled. Raises ManifestError when BOT_ID is missing or not a
    GUID, or when a placeholder is left (a name without a value, or a value that holds `{{…}}`)."""
    full = complete_values(values)
    text = TEMPLATE_PATH.read_text(encoding="utf-8") if template is None else template
    manifest = _fill(json.loads(text), full)
    leftovers = [f"{path}: placeholder {match} has no value" for path, string in _strings(manifest)
                 for match in LEFTOVER_RE.findall(string)]
    if leftovers:
        raise ManifestError(leftovers)
    if not isinstance(manifest, dict):
        raise ManifestError(["the manifest template is not a JSON object"])
    return manifest
