"""The zip Teams admins upload: the rendered manifest and the two icons at its root, checked before it is written."""
from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from appmanifest.render import render_manifest
from appmanifest.validate import ICON_DIR, PACKAGE_FILES, validate_manifest
from appmanifest.values import PROJECT_DIR, ManifestError, complete_values

DEFAULT_OUT = PROJECT_DIR / "build" / "partner-atlas-teams-app.zip"


def write_zip(out_path: Path, manifest: Mapping[str, Any], icon_dir: Path) -> Path:
    """The zip, written atomically and byte-for-byte reproducible (fixed timestamps and order)."""
    files = {
        "manifest.json": (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8"),
        "color.png": (icon_dir / "color.png").read_bytes(),
        "outline.png": (icon_dir / "outline.png").read_bytes(),
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_name(out_path.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in PACKAGE_FILES:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name])
    os.replace(partial, out_path)
    return out_path


def build_package(out_path: Path, values: Mapping[str, str], *, icon_dir: Path = ICON_DIR,
                  schema_path: Path | None = None) -> Path:
    """Render, validate and write the zip Teams admins upload. Raises ManifestError (and writes nothing)
    when a value is missing or wrong or the manifest would not pass `validate_manifest`."""
    full = complete_values(values)
    manifest = render_manifest(full)
    problems = validate_manifest(manifest, bot_id=full["BOT_ID"], icon_dir=icon_dir, schema_path=schema_path)
    if problems:
        raise ManifestError(problems)
    return write_zip(Path(out_path), manifest, icon_dir)
