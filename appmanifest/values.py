"""The values of the manifest's placeholders: where each comes from, its default, its checks.

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
Only the values above are read from .env (with python-dotenv, the reader the bot's pydantic settings
use): the bot's password never passes through here.
"""
from __future__ import annotations

import os
import re
import tomllib
import uuid
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
ENV_FILE = PROJECT_DIR / ".env"

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
DEFAULT_DEVELOPER_NAME = "Partner Atlas team"
FALLBACK_WEBSITE = "https://example.com/partner-atlas"
APP_ID_NAMESPACE = uuid.UUID("8d1f0c52-5a8e-4b8e-9a43-2f6f3b7c1e55")   # fixed forever: changing it changes every app id

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
NIL_GUID = "00000000-0000-0000-0000-000000000000"


class ManifestError(ValueError):
    """The package cannot be built: every reason, one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def read_env_file(path: Path | None) -> dict[str, str]:
    """KEY=VALUE lines of a .env file (comments, `export`, quotes), read as the bot's settings read it;
    {} when there is none. A name without `=` has no value and is left out."""
    if path is None or not path.is_file():
        return {}
    return {key: value for key, value in dotenv_values(path, encoding="utf-8-sig").items() if value is not None}


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
