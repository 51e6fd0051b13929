"""Build and check the Teams app package: manifest.json, color.png and outline.png, zipped at the root.

    python -m appmanifest.build --bot-id GUID --out build/partner-atlas-teams-app.zip [--domain bot.example.com]

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
  manifestVersion. `validate_manifest` checks it (and `$schema`) itself.

Placeholders in manifest.template.json and where their values come from (command-line options first,
then the environment, then .env beside bot.py; names are matched case-insensitively, as the bot's
pydantic settings do; an empty value counts as unset):

    {{BOT_ID}}          --bot-id          MicrosoftAppId / APP_ID   required: the Azure Bot's Microsoft App ID
    {{APP_ID}}          --app-id          TEAMS_APP_ID              default: a GUID derived from BOT_ID (stable)
    {{VERSION}}         --app-version     APP_VERSION               default: pyproject.toml's version
    {{DEVELOPER_NAME}}  --developer-name  DEVELOPER_NAME            default: "Partner Atlas team"
    {{WEBSITE_URL}}     --website-url     WEBSITE_URL               default: https://<BOT_DOMAIN>/ (or example.com)
    {{PRIVACY_URL}}     --privacy-url     PRIVACY_URL               default: <WEBSITE_URL>/privacy
    {{TERMS_URL}}       --terms-url       TERMS_URL                 default: <WEBSITE_URL>/terms
    {{BOT_DOMAIN}}      --domain          BOT_DOMAIN                optional: the messaging endpoint's host

The Teams app id (APP_ID) is what Teams knows the app by: keep it once the app is published, or Teams
sees a new app. Deriving it from the bot id keeps it stable without a setting; TEAMS_APP_ID pins it.
Only the values above are read from .env: the bot's password never passes through here.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tomllib
import uuid
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from appmanifest import png

MANIFEST_VERSION = "1.30"
SCHEMA_URL = f"https://developer.microsoft.com/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
TEMPLATE_PATH = PACKAGE_DIR / "manifest.template.json"
ICON_DIR = PACKAGE_DIR
ENV_FILE = PROJECT_DIR / ".env"
DEFAULT_OUT = PROJECT_DIR / "build" / "partner-atlas-teams-app.zip"
SCHEMA_ROOT = PROJECT_DIR.parent / "shared" / "fixtures" / "schemas" / "teams-manifest"

PACKAGE_FILES = ("manifest.json", "color.png", "outline.png")
ICON_SIZES = {"color": (192, 192), "outline": (32, 32)}
WHITE = (255, 255, 255)

# placeholder -> setting names, in the order the bot's Settings reads them
SETTING_NAMES: dict[str, tuple[str, ...]] = {
    "BOT_ID": ("MicrosoftAppId", "APP_ID"),
    "APP_ID": ("TEAMS_APP_ID",),
    "VERSION": ("APP_VERSION",),
    "DEVELOPER_NAME": ("DEVELOPER_NAME",),
    "WEBSITE_URL": ("WEBSITE_URL",),
    "PRIVACY_URL": ("PRIVACY_URL",),
    "TERMS_URL": ("TERMS_URL",),
    "BOT_DOMAIN": ("BOT_DOMAIN",),
}
OPTIONAL_EMPTY = {"BOT_DOMAIN"}     # a list item holding only this placeholder is dropped when it is empty
DEFAULT_DEVELOPER_NAME = "Partner Atlas team"
FALLBACK_WEBSITE = "https://example.com/partner-atlas"
APP_ID_NAMESPACE = uuid.UUID("8d1f0c52-5a8e-4b8e-9a43-2f6f3b7c1e55")   # fixed forever: changing it changes every app id

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
NIL_GUID = "00000000-0000-0000-0000-000000000000"
SEMVER_RE = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
PLACEHOLDER_RE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
LEFTOVER_RE = re.compile(r"\{\{.*?\}\}")
DOMAIN_RE = re.compile(r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")


class ManifestError(ValueError):
    """The package cannot be built: every reason, one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


# =========================================================================== values
def read_env_file(path: Path | None) -> dict[str, str]:
    """KEY=VALUE lines of a .env file (comments, `export`, quotes); {} when there is none."""
    if path is None:
        return {}
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return {}
    values: dict[str, str] = {}
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        key, sep, value = line.partition("=")
        if not sep:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        else:
            value = re.split(r"\s+#", value, maxsplit=1)[0].rstrip()
        values[key.strip()] = value
    return values


def values_from_settings(overrides: Mapping[str, str | None] | None = None, *,
                         environ: Mapping[str, str] | None = None, env_file: Path | None = ENV_FILE) -> dict[str, str]:
    """The placeholder values given by options (`overrides`, keyed by placeholder), environment and .env.

    Only what is set (non-empty) is returned; `complete_values` adds the defaults.
    """
    sources = [
        {k.lower(): v for k, v in (os.environ if environ is None else environ).items()},
        {k.lower(): v for k, v in read_env_file(env_file).items()},
    ]
    values: dict[str, str] = {}
    for key, names in SETTING_NAMES.items():
        given = (overrides or {}).get(key)
        if given is not None and given.strip():
            values[key] = given.strip()
            continue
        for source in sources:
            found = next((source[n.lower()].strip() for n in names if source.get(n.lower(), "").strip()), None)
            if found:
                values[key] = found
                break
    return values


def derive_app_id(bot_id: str) -> str:
    """The Teams app id for a bot id: a name-based (v5) GUID, the same on every machine and every build."""
    return str(uuid.uuid5(APP_ID_NAMESPACE, bot_id.strip().lower()))


def default_version() -> str:
    try:
        with (PROJECT_DIR / "pyproject.toml").open("rb") as handle:
            return str(tomllib.load(handle)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "1.0.0"


def normalise_domain(value: str) -> str:
    """A host name from what people paste: 'https://Bot.Example.com/api/messages' -> 'bot.example.com'."""
    value = value.strip()
    if "://" in value:
        value = urlsplit(value).netloc
    return value.split("/", 1)[0].rstrip(".").lower()


def _guid_problem(name: str, value: str, hint: str) -> str | None:
    if not GUID_RE.match(value):
        return f"{name} {value!r} is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx): {hint}"
    if value == NIL_GUID:
        return f"{name} is the all-zero GUID, a placeholder: {hint}"
    return None


def complete_values(values: Mapping[str, str]) -> dict[str, str]:
    """Every placeholder's value: the given ones checked, the defaults added. Raises ManifestError."""
    given = {k: v.strip() for k, v in values.items() if isinstance(v, str)}
    problems: list[str] = []
    bot_id = given.get("BOT_ID", "")
    if not bot_id:
        problems.append("BOT_ID is missing: the Azure Bot's Microsoft App ID. Set MicrosoftAppId in .env or the "
                        "environment, or pass --bot-id.")
    elif problem := _guid_problem("BOT_ID", bot_id, "use the Azure Bot's Microsoft App ID (MicrosoftAppId)"):
        problems.append(problem)
    app_id = given.get("APP_ID", "")
    if app_id and (problem := _guid_problem("APP_ID", app_id, "TEAMS_APP_ID must be a GUID, or leave it unset")):
        problems.append(problem)
    if problems:
        raise ManifestError(problems)

    out = dict(given)
    out["APP_ID"] = app_id or derive_app_id(bot_id)
    out["VERSION"] = given.get("VERSION") or default_version()
    out["DEVELOPER_NAME"] = given.get("DEVELOPER_NAME") or DEFAULT_DEVELOPER_NAME
    out["BOT_DOMAIN"] = normalise_domain(given.get("BOT_DOMAIN", ""))
    website = given.get("WEBSITE_URL") or (f"https://{out['BOT_DOMAIN']}/" if out["BOT_DOMAIN"] else FALLBACK_WEBSITE)
    out["WEBSITE_URL"] = website
    out["PRIVACY_URL"] = given.get("PRIVACY_URL") or f"{website.rstrip('/')}/privacy"
    out["TERMS_URL"] = given.get("TERMS_URL") or f"{website.rstrip('/')}/terms"
    return out


# =========================================================================== rendering
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


# =========================================================================== validation
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
            info = png.read_info(data)
            if (info.width, info.height) != (width, height):
                problems.append(f"icons.{role}: {name} is {info.width}x{info.height}, Teams requires {width}x{height}")
            if role == "outline":
                problems.extend(_outline_problems(name, data))
        except png.PngError as exc:
            problems.append(f"icons.{role}: {name}: {exc}")
    return problems


def _outline_problems(name: str, data: bytes) -> list[str]:
    """Teams' outline icon: transparent background, white (#FFFFFF) drawing."""
    info, pixels = png.read_rgba(data)
    problems: list[str] = []
    coloured = [i for i, (r, g, b, a) in enumerate(pixels) if a > 0 and (r, g, b) != WHITE]
    if coloured:
        x, y = coloured[0] % info.width, coloured[0] // info.width
        problems.append(f"icons.outline: {name} has {len(coloured)} visible pixels that are not white #FFFFFF "
                        f"(first at {x},{y}: {pixels[coloured[0]]})")
    corners = [pixels[0], pixels[info.width - 1], pixels[-info.width], pixels[-1]]
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


# =========================================================================== the package
def _write_zip(out_path: Path, manifest: Mapping[str, Any], icon_dir: Path) -> Path:
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
    return _write_zip(Path(out_path), manifest, icon_dir)


# =========================================================================== CLI
OPTIONS = {  # option -> placeholder
    "--bot-id": "BOT_ID", "--app-id": "APP_ID", "--app-version": "VERSION", "--domain": "BOT_DOMAIN",
    "--developer-name": "DEVELOPER_NAME", "--website-url": "WEBSITE_URL", "--privacy-url": "PRIVACY_URL",
    "--terms-url": "TERMS_URL",
}


def configure_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options, for `python -m appmanifest.build` and for a `bot.py package` subcommand alike."""
    helps = {
        "BOT_ID": "the Azure Bot's Microsoft App ID (default: MicrosoftAppId / APP_ID)",
        "APP_ID": "the Teams app id, a GUID (default: TEAMS_APP_ID, else derived from the bot id)",
        "VERSION": "the app version, MAJOR.MINOR.PATCH (default: APP_VERSION, else pyproject's)",
        "BOT_DOMAIN": "public host of the messaging endpoint, e.g. bot.example.com (default: BOT_DOMAIN)",
    }
    for option, key in OPTIONS.items():
        parser.add_argument(option, dest=key.lower(), metavar=key,
                            help=helps.get(key, f"default: {SETTING_NAMES[key][0]}"))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="zip to write (default: build/partner-atlas-teams-app.zip)")
    parser.add_argument("--env-file", type=Path, default=ENV_FILE, help="settings file (default: .env beside bot.py)")
    return parser


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def run(args: argparse.Namespace) -> int:
    """Build the package from parsed options: 0 written and valid, 2 refused (the reasons on stderr)."""
    given = values_from_settings({key: getattr(args, key.lower(), None) for key in OPTIONS.values()},
                                 env_file=args.env_file)
    try:
        values = complete_values(given)
        manifest = render_manifest(values)
    except ManifestError as exc:
        print("error: cannot build the Teams app package:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2

    schema_path = schema_file()
    problems = validate_manifest(manifest, bot_id=values["BOT_ID"], schema_path=schema_path)
    if not problems:
        _write_zip(args.out, manifest, ICON_DIR)
        problems = validate_package(args.out, bot_id=values["BOT_ID"], schema_path=schema_path)
        if problems:    # the zip as written disagrees with what was checked: do not leave it to be uploaded
            args.out.unlink()
    if problems:
        print(f"invalid: {len(problems)} problem(s), nothing written:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2

    with zipfile.ZipFile(args.out) as archive:
        entries = [(info.filename, info.file_size) for info in archive.infolist()]
    print(f"wrote {_shown(args.out)} ({args.out.stat().st_size:,} bytes)")
    for name, size in entries:
        print(f"  {name:<14}{size:>8,} bytes")
    print(f"manifest {manifest['manifestVersion']}: app id {manifest['id']}, bot id {values['BOT_ID']}, "
          f"version {manifest['version']}, valid domains: {', '.join(manifest.get('validDomains') or []) or 'none'}")
    checked = f"schema v{MANIFEST_VERSION} ({_shown(schema_path)})" if schema_path else \
        f"schema check SKIPPED ({_shown(SCHEMA_ROOT)} not found)"
    print(f"valid: {checked}; Teams checks: icons, outline transparency, bot id, command titles, zip layout")
    for key in ("APP_ID", "WEBSITE_URL", "PRIVACY_URL", "TERMS_URL"):
        if key not in given:
            name = SETTING_NAMES[key][0]
            advice = "set it to keep the app id stable if the bot id ever changes" if key == "APP_ID" \
                else "set it before publishing"
            print(f"note: {name} not set, using {values[key]} ({advice})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = configure_parser(argparse.ArgumentParser(
        prog="python -m appmanifest.build", description="Build the Teams app package (manifest.json + icons, zipped)."))
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
