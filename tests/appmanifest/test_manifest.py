"""The Teams app package: the rendered manifest against the official schema, the icons, the zip, the refusals."""
from __future__ import annotations

import copy
import io
import json
import shutil
import uuid
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from appmanifest import build, package, render, validate
from appmanifest import values as settings

SCHEMA_ROOT = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "schemas" / "teams-manifest"
SCHEMA = SCHEMA_ROOT / f"v{render.MANIFEST_VERSION}" / "MicrosoftTeams.schema.json"
needs_schema = pytest.mark.skipif(
    not SCHEMA.is_file(), reason=f"official Teams manifest schema not found at {SCHEMA} (../shared is not beside the checkout)")

BOT_ID = "2b9f6a0e-3c1d-4e5f-8a7b-9c0d1e2f3a4b"
OTHER_BOT_ID = "7c3e1d2a-0b4f-4a6e-9d8c-1f2e3d4c5b6a"
VALUES = {"BOT_ID": BOT_ID, "BOT_DOMAIN": "bot.example.com", "VERSION": "1.2.3", "DEVELOPER_NAME": "Contoso Partner Team",
          "WEBSITE_URL": "https://contoso.example.com/atlas", "PRIVACY_URL": "https://contoso.example.com/privacy",
          "TERMS_URL": "https://contoso.example.com/terms"}
SCOPES = ["personal", "team", "groupChat"]
# Teams shows at most 10 commands a scope. Opportunity details are for 1:1 chats and readiness sessions
# for channels and group chats, so each menu offers what works there.
COMMANDS = ["help", "find partner", "incentives", "specialization", "coverage gaps", "start readiness session",
            "session summary", "end session", "quiz me on", "reset"]
PERSONAL_COMMANDS = ["help", "find partner", "incentives", "specialization", "unattached", "suggest partners",
                     "coverage gaps", "send me a daily sweep", "quiz me on", "reset"]


@pytest.fixture
def manifest() -> dict[str, Any]:
    return render.render_manifest(VALUES)


def commands_by_scope(manifest: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    for command_list in manifest["bots"][0]["commandLists"]:
        for scope in command_list["scopes"]:
            out.setdefault(scope, []).extend(command_list["commands"])
    return out


# --------------------------------------------------------------------------- PNG helpers
def encode_png(width: int, height: int, pixels: Sequence[tuple[int, ...]], mode: str = "RGBA",
               transparency: int | bytes | tuple[int, ...] | None = None, palette: list[int] | None = None) -> bytes:
    """A PNG written by Pillow: `mode` RGBA, RGB or P (with `palette`), `transparency` as PNG tRNS."""
    image = Image.new(mode, (width, height))
    if palette is not None:
        image.putpalette(palette)
    image.putdata([p[0] if mode == "P" else p for p in pixels])   # type: ignore[arg-type]
    out = io.BytesIO()
    image.save(out, "PNG", **({} if transparency is None else {"transparency": transparency}))
    return out.getvalue()


def outline_pixels(size: int = 32, stray: tuple[int, int, int, int] | None = None) -> list[tuple[int, int, int, int]]:
    """A white ring on transparent, optionally with one stray pixel in the middle of the ring."""
    pixels = []
    for y in range(size):
        for x in range(size):
            d = ((x - size / 2) ** 2 + (y - size / 2) ** 2) ** 0.5
            pixels.append((255, 255, 255, 255 if 8 <= d <= 11 else 0))
    if stray:
        pixels[(size // 2) * size + size // 2 + 9] = stray
    return pixels


def icon_dir_with(tmp_path: Path, outline: bytes | None = None, color: bytes | None = None) -> Path:
    folder = tmp_path / "icons"
    folder.mkdir()
    shutil.copy(validate.ICON_DIR / "color.png", folder / "color.png")
    shutil.copy(validate.ICON_DIR / "outline.png", folder / "outline.png")
    if outline is not None:
        (folder / "outline.png").write_bytes(outline)
    if color is not None:
        (folder / "color.png").write_bytes(color)
    return folder


# --------------------------------------------------------------------------- the manifest and the schema
def test_template_declares_the_chosen_version_and_its_official_schema_url() -> None:
    template = json.loads(render.TEMPLATE_PATH.read_text(encoding="utf-8"))
    assert template["manifestVersion"] == render.MANIFEST_VERSION == "1.30"
    assert template["$schema"] == "https://developer.microsoft.com/json-schemas/teams/v1.30/MicrosoftTeams.schema.json"
    for placeholder in ("{{APP_ID}}", "{{BOT_ID}}", "{{VERSION}}", "{{DEVELOPER_NAME}}", "{{WEBSITE_URL}}",
                        "{{PRIVACY_URL}}", "{{TERMS_URL}}", "{{BOT_DOMAIN}}"):
        assert placeholder in render.TEMPLATE_PATH.read_text(encoding="utf-8")


@needs_schema
def test_rendered_manifest_validates_against_the_official_schema(manifest: dict[str, Any]) -> None:
    assert validate.schema_errors(manifest, SCHEMA) == []
    assert validate.validate_manifest(manifest, bot_id=BOT_ID, schema_path=SCHEMA) == []
    assert validate.schema_file() == SCHEMA      # the builder finds the same file on its own


@needs_schema
def test_defaults_alone_render_a_valid_manifest() -> None:
    manifest = render.render_manifest({"BOT_ID": BOT_ID})
    assert validate.validate_manifest(manifest, bot_id=BOT_ID) == []
    assert manifest["validDomains"] == []
    assert manifest["developer"]["privacyUrl"].startswith("https://")


@needs_schema
@pytest.mark.parametrize("version", ["1.19", "1.20", "1.21", "1.22", "1.23", "1.24", "1.25"])
def test_rendered_manifest_also_fits_older_schemas(manifest: dict[str, Any], version: str) -> None:
    """So a fallback to an older manifest version is only a change of the version fields."""
    older = dict(manifest, manifestVersion=version,
                 **{"$schema": f"https://developer.microsoft.com/json-schemas/teams/v{version}/MicrosoftTeams.schema.json"})
    assert validate.schema_errors(older, SCHEMA_ROOT / f"v{version}" / "MicrosoftTeams.schema.json") == []


def test_placeholders_are_filled_from_the_values(manifest: dict[str, Any]) -> None:
    assert manifest["bots"][0]["botId"] == BOT_ID
    assert manifest["version"] == "1.2.3"
    assert manifest["developer"] == {"name": "Contoso Partner Team", "websiteUrl": "https://contoso.example.com/atlas",
                                     "privacyUrl": "https://contoso.example.com/privacy",
                                     "termsOfUseUrl": "https://contoso.example.com/terms"}
    assert manifest["validDomains"] == ["bot.example.com"]
    assert manifest["id"] == settings.derive_app_id(BOT_ID)
    assert "{{" not in json.dumps(manifest)


def test_names_and_bot_flags(manifest: dict[str, Any]) -> None:
    assert manifest["name"] == {"short": "Partner Atlas", "full": "Partner Atlas — partner coverage, incentives and programs"}
    bot = manifest["bots"][0]
    assert bot["supportsFiles"] is False
    assert bot["isNotificationOnly"] is False
    assert "webApplicationInfo" not in manifest


def test_the_bot_scopes_are_personal_team_and_group_chat(manifest: dict[str, Any]) -> None:
    bot = manifest["bots"][0]
    assert bot["scopes"] == SCOPES
    assert [command_list["scopes"] for command_list in bot["commandLists"]] == [[scope] for scope in SCOPES]


def test_every_scope_lists_the_same_commands_with_unique_titles(manifest: dict[str, Any]) -> None:
    by_scope = commands_by_scope(manifest)
    assert set(by_scope) == set(SCOPES)
    for scope, commands in by_scope.items():
        titles = [command["title"] for command in commands]
        assert titles == (PERSONAL_COMMANDS if scope == "personal" else COMMANDS), scope
        assert len({title.lower() for title in titles}) == len(titles), scope
        for command in commands:   # within the strictest (pre-1.21) limits
            assert len(command["title"]) <= 32 and 0 < len(command["description"]) <= 128
    personal = {c["title"]: c["description"] for c in by_scope["personal"]}
    assert personal["find partner"] == "Who can do AKS for a retail customer in Germany?"
    assert personal["incentives"] == "Which incentive can fund a SQL migration for an Enterprise deal of $150k?"
    assert personal["unattached"] == "Which of my opportunities have no partner attached?"
    assert personal["suggest partners"] == "Suggest partners for OPP-20375"


# --------------------------------------------------------------------------- the validator catches what it should
@needs_schema
def test_an_unknown_scope_is_a_schema_error(manifest: dict[str, Any]) -> None:
    broken = copy.deepcopy(manifest)
    broken["bots"][0]["scopes"] = ["personal", "channel"]
    problems = validate.validate_manifest(broken, bot_id=BOT_ID)
    assert any(p.startswith("schema: bots[0].scopes[1]:") and "'channel' is not one of" in p for p in problems), problems


@needs_schema
def test_a_33_character_short_name_is_a_schema_error(manifest: dict[str, Any]) -> None:
    broken = copy.deepcopy(manifest)
    broken["name"]["short"] = "P" * 33
    problems = validate.validate_manifest(broken, bot_id=BOT_ID)
    assert any(p.startswith("schema: name.short:") and "too long" in p for p in problems), problems


@needs_schema
def test_a_bot_id_that_is_not_a_guid_is_a_schema_error(manifest: dict[str, Any]) -> None:
    broken = copy.deepcopy(manifest)
    broken["bots"][0]["botId"] = "partner-atlas"
    assert any(p.startswith("schema: bots[0].botId:") for p in validate.validate_manifest(broken))


def test_the_manifest_version_is_checked_although_draft_04_ignores_const(manifest: dict[str, Any]) -> None:
    problems = validate.validate_manifest(dict(manifest, manifestVersion="1.25"), bot_id=BOT_ID)
    assert any("manifestVersion is '1.25'" in p for p in problems), problems


def test_a_bot_id_other_than_the_configured_one_is_reported(manifest: dict[str, Any]) -> None:
    problems = validate.validate_manifest(manifest, bot_id=OTHER_BOT_ID)
    assert any("bots[0].botId" in p and OTHER_BOT_ID in p for p in problems), problems
    assert validate.validate_manifest(manifest, bot_id=BOT_ID.upper()) == []   # GUIDs compare case-insensitively


def test_a_repeated_command_title_in_a_scope_is_reported(manifest: dict[str, Any]) -> None:
    broken = copy.deepcopy(manifest)
    broken["bots"][0]["commandLists"][1]["commands"].append({"title": "Find Partner", "description": "again"})
    problems = validate.validate_manifest(broken, bot_id=BOT_ID)
    assert any("'Find Partner' appears twice in scope 'team'" in p for p in problems), problems


def test_a_command_list_for_a_scope_the_bot_lacks_is_reported(manifest: dict[str, Any]) -> None:
    broken = copy.deepcopy(manifest)
    broken["bots"][0]["scopes"] = ["personal"]
    problems = validate.validate_manifest(broken, bot_id=BOT_ID)
    assert any("lists scope 'team'" in p for p in problems), problems


def test_plain_http_urls_and_urls_in_valid_domains_are_reported(manifest: dict[str, Any]) -> None:
    broken = copy.deepcopy(manifest)
    broken["developer"]["privacyUrl"] = "http://contoso.example.com/privacy"
    broken["validDomains"] = ["https://bot.example.com/api/messages"]
    problems = validate.validate_manifest(broken, bot_id=BOT_ID)
    assert any("developer.privacyUrl" in p and "https://" in p for p in problems), problems
    assert any(p.startswith("validDomains[0]") for p in problems), problems


# --------------------------------------------------------------------------- icons
def test_the_icons_have_the_sizes_teams_requires() -> None:
    with Image.open(validate.ICON_DIR / "color.png") as color, Image.open(validate.ICON_DIR / "outline.png") as outline:
        assert (color.format, color.size) == ("PNG", (192, 192))
        assert (outline.format, outline.size, outline.mode) == ("PNG", (32, 32), "RGBA")


def test_the_outline_icon_is_white_on_transparent() -> None:
    _, _, pixels = validate.read_icon((validate.ICON_DIR / "outline.png").read_bytes())
    assert len(pixels) == 32 * 32
    transparent = [p for p in pixels if p[3] == 0]
    visible = [p for p in pixels if p[3] > 0]
    assert len(transparent) > 32 * 32 // 2            # mostly background
    assert len([p for p in visible if p[3] == 255]) > 20   # and a real drawing
    assert [p for p in visible if p[:3] != (255, 255, 255)] == []
    assert all(pixels[i][3] == 0 for i in (0, 31, 32 * 31, 32 * 32 - 1))


def test_the_color_icon_is_full_colour() -> None:
    with Image.open(validate.ICON_DIR / "color.png") as color:
        assert color.mode in ("RGB", "RGBA")
    _, _, pixels = validate.read_icon((validate.ICON_DIR / "color.png").read_bytes())
    assert len({p[:3] for p in pixels}) > 10


def test_a_coloured_pixel_in_the_outline_is_reported(tmp_path: Path, manifest: dict[str, Any]) -> None:
    red = encode_png(32, 32, outline_pixels(stray=(255, 0, 0, 255)))
    problems = validate.validate_manifest(manifest, bot_id=BOT_ID, icon_dir=icon_dir_with(tmp_path, outline=red))
    assert any("not white" in p and "(255, 0, 0, 255)" in p for p in problems), problems


def test_an_opaque_outline_and_wrong_sizes_are_reported(tmp_path: Path, manifest: dict[str, Any]) -> None:
    opaque = encode_png(32, 32, [(255, 255, 255)] * 32 * 32, mode="RGB")
    small_color = encode_png(96, 96, [(14, 90, 138)] * 96 * 96, mode="RGB")
    problems = validate.validate_manifest(manifest, bot_id=BOT_ID,
                                       icon_dir=icon_dir_with(tmp_path, outline=opaque, color=small_color))
    assert any("no transparent background" in p for p in problems), problems
    assert any("color.png is 96x96, Teams requires 192x192" in p for p in problems), problems


def test_a_missing_or_damaged_icon_is_reported(tmp_path: Path, manifest: dict[str, Any]) -> None:
    folder = icon_dir_with(tmp_path)
    (folder / "color.png").unlink()
    data = bytearray((folder / "outline.png").read_bytes())
    data[45] ^= 0xFF   # inside the first IDAT chunk's data
    (folder / "outline.png").write_bytes(bytes(data))
    problems = validate.validate_manifest(manifest, bot_id=BOT_ID, icon_dir=folder)
    assert any("color.png not found" in p for p in problems), problems
    assert any("icons.outline" in p and "damaged PNG" in p and "checksum" in p for p in problems), problems


def test_palette_and_colour_key_transparency_count_as_transparent(tmp_path: Path, manifest: dict[str, Any]) -> None:
    """Image tools write small icons as palette PNGs (tRNS per palette entry) or RGB with a transparent colour key."""
    ring = outline_pixels()
    as_palette = encode_png(32, 32, [(0,) if p[3] == 0 else (1,) for p in ring], mode="P",
                            palette=[0, 0, 0, 255, 255, 255], transparency=bytes([0, 255]))
    assert validate.read_icon(as_palette)[2] == [(0, 0, 0, 0) if p[3] == 0 else (255, 255, 255, 255) for p in ring]
    as_key = encode_png(32, 32, [(0, 0, 0) if p[3] == 0 else (255, 255, 255) for p in ring], mode="RGB",
                        transparency=(0, 0, 0))
    for name, outline in (("palette", as_palette), ("colour-key", as_key)):
        (tmp_path / name).mkdir()
        assert validate.validate_manifest(manifest, bot_id=BOT_ID, icon_dir=icon_dir_with(tmp_path / name, outline=outline)) == []


def test_what_is_not_a_png_or_is_cut_short_is_refused() -> None:
    with pytest.raises(validate.IconError, match="not a PNG"):
        validate.read_icon(b"GIF89a" + bytes(40))
    with pytest.raises(validate.IconError, match="damaged"):
        validate.read_icon((validate.ICON_DIR / "outline.png").read_bytes()[:60])


# --------------------------------------------------------------------------- the package
def test_the_package_holds_exactly_the_three_files_at_its_root(tmp_path: Path) -> None:
    out = package.build_package(tmp_path / "out" / "partner-atlas.zip", VALUES)
    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        assert json.loads(archive.read("manifest.json").decode("utf-8")) == render.render_manifest(VALUES)
        assert archive.read("color.png") == (validate.ICON_DIR / "color.png").read_bytes()
        assert archive.read("outline.png") == (validate.ICON_DIR / "outline.png").read_bytes()
    assert validate.validate_package(out, bot_id=BOT_ID) == []
    assert not list(tmp_path.glob("out/*.partial"))


def test_the_package_is_reproducible(tmp_path: Path) -> None:
    first = package.build_package(tmp_path / "a.zip", VALUES).read_bytes()
    second = package.build_package(tmp_path / "b.zip", VALUES).read_bytes()
    assert first == second


def test_a_zip_with_a_folder_or_an_extra_file_is_reported(tmp_path: Path) -> None:
    out = package.build_package(tmp_path / "ok.zip", VALUES)
    nested = tmp_path / "nested.zip"
    with zipfile.ZipFile(out) as source, zipfile.ZipFile(nested, "w") as target:
        for name in source.namelist():
            target.writestr(f"package/{name}", source.read(name))
    problems = validate.validate_package(nested, bot_id=BOT_ID)
    assert any("expected exactly" in p for p in problems), problems


# --------------------------------------------------------------------------- refusals
@pytest.mark.parametrize("values", [{}, {"BOT_ID": ""}, {"BOT_ID": "   "}, {"VERSION": "1.0.0"}])
def test_a_missing_bot_id_is_refused(tmp_path: Path, values: dict[str, str]) -> None:
    with pytest.raises(settings.ManifestError, match="BOT_ID is missing.*MicrosoftAppId"):
        render.render_manifest(values)
    with pytest.raises(settings.ManifestError):
        package.build_package(tmp_path / "x.zip", values)
    assert not (tmp_path / "x.zip").exists()


@pytest.mark.parametrize("bot_id", ["partner-atlas", "2b9f6a0e3c1d4e5f8a7b9c0d1e2f3a4b", "{2b9f6a0e-3c1d-4e5f-8a7b-9c0d1e2f3a4b}",
                                    "2b9f6a0e-3c1d-4e5f-8a7b-9c0d1e2f3a4b0", "2b9f6a0e-3c1d-4e5f-8a7b-9c0d1e2f3g4b",
                                    "00000000-0000-0000-0000-000000000000"])
def test_a_malformed_bot_id_is_refused(bot_id: str) -> None:
    with pytest.raises(settings.ManifestError, match="BOT_ID"):
        render.render_manifest({"BOT_ID": bot_id})


def test_a_malformed_teams_app_id_is_refused() -> None:
    with pytest.raises(settings.ManifestError, match="APP_ID 'partner-atlas'"):
        render.render_manifest({"BOT_ID": BOT_ID, "APP_ID": "partner-atlas"})


def test_a_placeholder_without_a_value_is_refused() -> None:
    template = json.dumps({"bots": [{"botId": "{{BOT_ID}}"}], "developer": {"mpnId": "{{MPN_ID}}"}})
    with pytest.raises(settings.ManifestError, match=r"developer\.mpnId: placeholder \{\{MPN_ID\}\} has no value"):
        render.render_manifest({"BOT_ID": BOT_ID}, template=template)


def test_a_value_holding_a_placeholder_is_not_expanded_but_refused() -> None:
    with pytest.raises(settings.ManifestError, match=r"developer\.name: placeholder \{\{VERSION\}\}"):
        render.render_manifest({"BOT_ID": BOT_ID, "DEVELOPER_NAME": "{{VERSION}}"})


# --------------------------------------------------------------------------- values from settings
def test_the_teams_app_id_is_derived_stably_from_the_bot_id_unless_set() -> None:
    derived = settings.derive_app_id(BOT_ID)
    assert str(uuid.UUID(derived)) == derived and derived != BOT_ID
    assert settings.derive_app_id(BOT_ID.upper()) == derived
    assert settings.derive_app_id(OTHER_BOT_ID) != derived
    pinned = "0f0e0d0c-0b0a-4909-8807-060504030201"
    assert render.render_manifest({"BOT_ID": BOT_ID, "APP_ID": pinned})["id"] == pinned


def test_settings_come_from_options_then_environment_then_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("# comment\nMicrosoftAppId=\nAPP_ID=" + OTHER_BOT_ID + "\nMicrosoftAppPassword=secret\n"
                        "export APP_VERSION='2.0.0'\nDEVELOPER_NAME=Env File Team  # inline comment\n"
                        "BOT_DOMAIN=from-file.example.com\n", encoding="utf-8")
    values = settings.values_from_settings({"BOT_DOMAIN": "https://Bot.Example.com/api/messages"},
                                        environ={"developer_name": "Environment Team", "WEBSITE_URL": ""},
                                        env_file=env_file)
    assert values == {"BOT_ID": OTHER_BOT_ID, "VERSION": "2.0.0", "DEVELOPER_NAME": "Environment Team",
                      "BOT_DOMAIN": "https://Bot.Example.com/api/messages"}
    full = settings.complete_values(values)
    assert full["BOT_DOMAIN"] == "bot.example.com"
    assert full["WEBSITE_URL"] == "https://bot.example.com/" and full["TERMS_URL"] == "https://bot.example.com/terms"
    assert "secret" not in json.dumps(full)
    # MicrosoftAppId wins over APP_ID, as in the bot's settings
    assert settings.values_from_settings(environ={"MicrosoftAppId": BOT_ID, "APP_ID": OTHER_BOT_ID}, env_file=None)["BOT_ID"] == BOT_ID


# --------------------------------------------------------------------------- CLI
@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for names in settings.SETTING_NAMES.values():
        for name in names:
            monkeypatch.delenv(name, raising=False)


@needs_schema
@pytest.mark.usefixtures("clean_environment")
def test_the_cli_writes_a_valid_package(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "build" / "partner-atlas-teams-app.zip"
    code = build.main(["--bot-id", BOT_ID, "--out", str(out), "--domain", "bot.example.com",
                       "--env-file", str(tmp_path / "none.env")])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert out.is_file() and "wrote" in printed and "valid: schema v1.30" in printed
    assert "note: WEBSITE_URL not set" in printed
    with zipfile.ZipFile(out) as archive:
        assert json.loads(archive.read("manifest.json"))["validDomains"] == ["bot.example.com"]


@pytest.mark.usefixtures("clean_environment")
def test_the_cli_refuses_without_a_bot_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.zip"
    assert build.main(["--out", str(out), "--env-file", str(tmp_path / "none.env")]) == 2
    assert "BOT_ID is missing" in capsys.readouterr().err
    assert not out.exists()


@needs_schema
@pytest.mark.usefixtures("clean_environment")
def test_the_cli_lists_the_errors_of_an_invalid_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DEVELOPER_NAME", "A developer name far longer than thirty-two characters")
    out = tmp_path / "x.zip"
    assert build.main(["--bot-id", BOT_ID, "--out", str(out), "--env-file", str(tmp_path / "none.env")]) == 2
    err = capsys.readouterr().err
    assert "invalid" in err and "schema: developer.name:" in err
    assert not out.exists()


# --------------------------------------------------------------------------- the message extension
def test_the_find_partner_search_is_a_message_extension_of_the_same_bot(manifest: dict[str, Any]) -> None:
    [extension] = manifest["composeExtensions"]
    assert extension["botId"] == BOT_ID and extension["composeExtensionType"] == "botBased"
    [command] = extension["commands"]
    assert (command["id"], command["type"], command["title"]) == ("findPartner", "query", "Find partner")
    assert command["context"] == ["compose", "commandBox"]
    [parameter] = command["parameters"]
    assert parameter["name"] == "query" and parameter["inputType"] == "text" and "AKS Germany retail" in \
        parameter["description"]


def test_a_message_extension_of_another_bot_is_reported(manifest: dict[str, Any]) -> None:
    broken = copy.deepcopy(manifest)
    broken["composeExtensions"][0]["botId"] = OTHER_BOT_ID
    problems = validate.validate_manifest(broken, bot_id=BOT_ID)
    assert any(p.startswith("composeExtensions[0].botId") for p in problems), problems


@needs_schema
def test_the_built_package_with_the_message_extension_validates(tmp_path: Path) -> None:
    out = package.build_package(tmp_path / "app.zip", {"BOT_ID": BOT_ID})
    assert validate.validate_package(out, bot_id=BOT_ID) == []
    with zipfile.ZipFile(out) as archive:
        assert json.loads(archive.read("manifest.json"))["composeExtensions"][0]["commands"][0]["id"] == "findPartner"
