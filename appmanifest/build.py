"""Build and check the Teams app package: manifest.json, color.png and outline.png, zipped at the root.

    python -m appmanifest.build --bot-id GUID --out build/partner-atlas-teams-app.zip [--domain bot.example.com]

The command line over the package's parts: `appmanifest.values` (where each placeholder's value comes
from: options, environment, .env), `appmanifest.render` (the manifest from manifest.template.json, and
why version 1.30), `appmanifest.validate` (the official schema and Teams' own rules, icons included) and
`appmanifest.package` (the reproducible zip).
"""
from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

from appmanifest.package import DEFAULT_OUT, write_zip
from appmanifest.render import MANIFEST_VERSION, render_manifest
from appmanifest.validate import ICON_DIR, SCHEMA_ROOT, schema_file, validate_manifest, validate_package
from appmanifest.values import ENV_FILE, SETTING_NAMES, ManifestError, complete_values, values_from_settings

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
        write_zip(args.out, manifest, ICON_DIR)
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
