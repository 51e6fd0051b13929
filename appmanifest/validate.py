"""Is the manifest (or the built zip) one Teams accepts? The official schema, then what it cannot say.

The official schema of MANIFEST_VERSION (by default the one in ../shared/fixtures when the checkout has it
beside it), then: manifestVersion and $schema, the icons (present, 192x192 / 32x32, the outline transparent
and white only; read with Pillow), the bot id, command titles unique per scope, https developer URLs, bare
host names in validDomains, the message extension served by this bot, and for a zip its layout.
"""
from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

from appmanifest.render import MANIFEST_VERSION, SCHEMA_URL
from appmanifest.values import NIL_GUID, PACKAGE_DIR, PROJECT_DIR

ICON_DIR = PACKAGE_DIR
SCHEMA_ROOT = PROJECT_DIR.parent / "shared" / "fixtures" / "schemas" / "teams-manifest"
PACKAGE_FILES = ("manifest.json", "color.png", "outline.png")
ICON_SIZES = {"color": (192, 192), "outline": (32, 32)}
WHITE = (255, 255, 255)

SEMVER_RE = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
DOMAIN_RE = re.compile(r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")

Pixel = tuple[int, int, int, int]


class IconError(ValueError):
    """Not a PNG, or a damaged one."""


def read_icon(data: bytes) -> tuple[int, int, list[Pixel]]:
    """(width, height, every pixel as (r, g, b, a) row by row) of a PNG, after checking its chunks' CRCs:
    a truncated or corrupted file is reported as such rather than misread."""
    from PIL import Image, UnidentifiedImageError  # here, like jsonschema below: app/cli.py imports the CLI at start

    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            image.verify()      # every chunk's CRC, the image data's too
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            rgba = image.convert("RGBA")   # palette and colour-key transparency become alpha
    except UnidentifiedImageError:
        raise IconError("not a PNG file") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise IconError(f"damaged PNG ({exc})") from None
    return rgba.width, rgba.height, cast("list[Pixel]", list(rgba.get_flattened_data()))   # RGBA: 4-tuples of int


def schema_file(version: str = MANIFEST_VERSION) -> Path | None:
    """The official schema of that version from ../shared/fixtures, when the checkout has it beside it."""
    path = SCHEMA_ROOT / f"v{version}" / "MicrosoftTeams.schema.json"
    return path if path.is_file() else None


def _path_of(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


def schema_errors(manifest: Mapping[str, Any], schema_path: Path) -> list[str]:
    """The manifest's errors against a Draft-04 Teams schema, as 'json.path: message' lines."""
    from jsonschema import Draft4Validator

    validator = Draft4Validator(json.loads(schema_path.read_text(encoding="utf-8")))
    errors = sorted(validator.iter_errors(dict(manifest)), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"schema: {_path_of(e.absolute_path)}: {_shorten(e.message)}" for e in errors]


def _shorten(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _teams_problems(manifest: Mapping[str, Any], bot_id: str | None) -> list[str]:
    """What Teams refuses that the schema cannot say."""
    problems: list[str] = []
    if manifest.get("manifestVersion") != MANIFEST_VERSION:
        problems.append(f"manifestVersion is {manifest.get('manifestVersion')!r}, expected {MANIFEST_VERSION!r} "
                        "(Draft-04 ignores the schema's const, so this is checked here)")
    if manifest.get("$schema") != SCHEMA_URL:
        problems.append(f"$schema is {manifest.get('$schema')!r}, expected {SCHEMA_URL}")
    version = manifest.get("version")
    if not isinstance(version, str) or not SEMVER_RE.match(version):
        problems.append(f"version {version!r} must be MAJOR.MINOR.PATCH numbers, e.g. 1.0.0")

    developer = _object(manifest.get("developer"))
    for key in ("websiteUrl", "privacyUrl", "termsOfUseUrl"):
        url = developer.get(key)
        if isinstance(url, str) and not url.lower().startswith("https://"):
            problems.append(f"developer.{key} {url!r} must be an https:// URL")

    for index, domain in enumerate(manifest.get("validDomains") or []):
        if not isinstance(domain, str) or not DOMAIN_RE.match(domain):
            problems.append(f"validDomains[{index}] {domain!r} must be a host name only (no https://, path or port)")

    icons = _object(manifest.get("icons"))
    for role in ICON_SIZES:
        name = icons.get(role)
        if isinstance(name, str) and name not in PACKAGE_FILES[1:]:
            problems.append(f"icons.{role} {name!r} must be one of {', '.join(PACKAGE_FILES[1:])}, at the package root")

    bots: list[Any] = manifest["bots"] if isinstance(manifest.get("bots"), list) else []
    if len(bots) != 1 or not isinstance(bots[0], dict):
        problems.append(f"expected exactly one bot, found {len(bots)}")
        return problems
    bot = bots[0]
    declared = bot.get("botId")
    if isinstance(declared, str) and declared == NIL_GUID:
        problems.append("bots[0].botId is the all-zero GUID")
    if bot_id is not None and (not isinstance(declared, str) or declared.lower() != bot_id.strip().lower()):
        problems.append(f"bots[0].botId {declared!r} is not the bot's app id {bot_id!r} (MicrosoftAppId)")

    scopes = set(bot.get("scopes") or [])
    titles: dict[str, set[str]] = {}
    for list_index, command_list in enumerate(bot.get("commandLists") or []):
        list_scopes = command_list.get("scopes") or []
        for scope in list_scopes:
            if scope not in scopes:
                problems.append(f"bots[0].commandLists[{list_index}] lists scope {scope!r}, which the bot does not have")
        for command in command_list.get("commands") or []:
            title = str(command.get("title", "")).strip().lower()
            for scope in list_scopes:
                seen = titles.setdefault(scope, set())
                if title in seen:
                    problems.append(f"command title {command.get('title')!r} appears twice in scope {scope!r}")
                seen.add(title)
    return problems + _compose_extension_problems(manifest, declared)


def _compose_extension_problems(manifest: Mapping[str, Any], bot_id: Any) -> list[str]:
    """The message extension is served by this bot: its botId is the bot's, its search commands have ids."""
    problems: list[str] = []
    for index, extension in enumerate(manifest.get("composeExtensions") or []):
        extension = _object(extension)
        declared = extension.get("botId")
        if not isinstance(declared, str) or not isinstance(bot_id, str) or declared.lower() != bot_id.lower():
            problems.append(f"composeExtensions[{index}].botId {declared!r} is not the bot's id {bot_id!r}")
        ids = [_object(c).get("id") for c in extension.get("commands") or []]
        if len(set(ids)) != len(ids) or not all(isinstance(i, str) and i for i in ids):
            problems.append(f"composeExtensions[{index}].commands need distinct, non-empty ids: {ids}")
    return problems


def _icon_problems(manifest: Mapping[str, Any], read: Callable[[str], bytes | None], where: str) -> list[str]:
    problems: list[str] = []
    icons = _object(manifest.get("icons"))
    for role, (width, height) in ICON_SIZES.items():
        name = icons.get(role)
        if not isinstance(name, str):
            continue    # the schema reports a missing icon entry
        data = read(name)
        if data is None:
            problems.append(f"icons.{role}: {name} not found in {where}")
            continue
        try:
            actual_width, actual_height, pixels = read_icon(data)
        except IconError as exc:
            problems.append(f"icons.{role}: {name}: {exc}")
            continue
        if (actual_width, actual_height) != (width, height):
            problems.append(f"icons.{role}: {name} is {actual_width}x{actual_height}, Teams requires {width}x{height}")
        if role == "outline":
            problems.extend(_outline_problems(name, actual_width, pixels))
    return problems


def _outline_problems(name: str, width: int, pixels: list[Pixel]) -> list[str]:
    """Teams' outline icon: transparent background, white (#FFFFFF) drawing."""
    problems: list[str] = []
    coloured = [i for i, (r, g, b, a) in enumerate(pixels) if a > 0 and (r, g, b) != WHITE]
    if coloured:
        x, y = coloured[0] % width, coloured[0] // width
        problems.append(f"icons.outline: {name} has {len(coloured)} visible pixels that are not white #FFFFFF "
                        f"(first at {x},{y}: {pixels[coloured[0]]})")
    corners = [pixels[0], pixels[width - 1], pixels[-width], pixels[-1]]
    if any(alpha != 0 for *_, alpha in corners):
        problems.append(f"icons.outline: {name} has no transparent background (its corners are not transparent)")
    if not any(alpha > 0 for *_, alpha in pixels):
        problems.append(f"icons.outline: {name} is fully transparent (nothing drawn)")
    return problems


def _validate(manifest: Mapping[str, Any], *, bot_id: str | None, schema_path: Path | None,
              read_icon: Callable[[str], bytes | None], where: str) -> list[str]:
    problems = schema_errors(manifest, schema_path) if schema_path is not None else []
    return problems + _teams_problems(manifest, bot_id) + _icon_problems(manifest, read_icon, where)


def validate_manifest(manifest: Mapping[str, Any], *, bot_id: str | None = None, icon_dir: Path = ICON_DIR,
                      schema_path: Path | None = None) -> list[str]:
    """Every problem with the manifest, as readable lines; [] when Teams should accept it.

    The official schema of MANIFEST_VERSION (`schema_path`, by default the one in ../shared/fixtures when it
    is there), then what the schema cannot express: manifestVersion and $schema, the icons in `icon_dir`
    (present, 192x192 / 32x32, outline transparent and white only), the bot id equal to `bot_id` when
    given, command titles unique per scope, https developer URLs, bare host names in validDomains.
    """
    def read(name: str) -> bytes | None:
        path = icon_dir / name
        return path.read_bytes() if path.is_file() else None

    return _validate(manifest, bot_id=bot_id, schema_path=schema_path or schema_file(), read_icon=read,
                     where=str(icon_dir))


def validate_package(zip_path: Path, *, bot_id: str | None = None, schema_path: Path | None = None) -> list[str]:
    """The checks of `validate_manifest` on a built zip, plus its layout: exactly the three files, at the root."""
    try:
        with zipfile.ZipFile(zip_path) as archive:
            names = archive.namelist()
            contents = {name: archive.read(name) for name in names if name in PACKAGE_FILES}
    except (OSError, zipfile.BadZipFile) as exc:
        return [f"{zip_path}: not a readable zip ({exc})"]
    problems = []
    if sorted(names) != sorted(PACKAGE_FILES):
        problems.append(f"the zip holds {sorted(names)}, expected exactly {sorted(PACKAGE_FILES)} at its root")
    if "manifest.json" not in contents:
        return problems
    try:
        manifest = json.loads(contents["manifest.json"].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return [*problems, f"manifest.json is not UTF-8 JSON: {exc}"]
    return problems + _validate(manifest, bot_id=bot_id, schema_path=schema_path or schema_file(),
                                read_icon=contents.get, where=zip_path.name)
