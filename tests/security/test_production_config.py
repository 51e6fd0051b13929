"""A production configuration never runs unauthenticated: `bot.py serve` refuses to start without an app id."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import serve_refusal
from app.settings import PROJECT_DIR
from tests.support.network import free_port, wait_for_health
from tests.support.server import APP_ID, make_settings

CREDENTIAL_VARS = ("MicrosoftAppId", "APP_ID", "MicrosoftAppPassword", "APP_PASSWORD", "MicrosoftAppType",
                   "APP_TYPE", "MicrosoftAppTenantId", "APP_TENANTID", "APP_TENANT_ID", "ENVIRONMENT",
                   "ALLOW_PUBLIC_BIND", "BOT_HOST", "PORT", "BOT_PORT")


def serve(tmp_path: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    (tmp_path / "knowledge").mkdir(exist_ok=True)
    environment = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_VARS}
    environment.update(env, DATA_DIR=str(tmp_path / "data"))
    return subprocess.Popen([sys.executable, "bot.py", "serve", "--knowledge", str(tmp_path / "knowledge"),
                             "--index", str(tmp_path / "index"), *args],
                            cwd=PROJECT_DIR, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


@pytest.mark.slow
@pytest.mark.parametrize("extra", [[], ["--allow-public", "--host", "0.0.0.0"]], ids=["loopback", "allow-public"])
def test_production_without_an_app_id_refuses_to_start(tmp_path: Path, extra: list[str]) -> None:
    port = free_port()
    process = serve(tmp_path, "--port", str(port), *extra, ENVIRONMENT="production")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert err.strip() == ("error: refusing to start: ENVIRONMENT=production needs MicrosoftAppId (and "
                           "MicrosoftAppPassword): without an app id every request would be unauthenticated.")
    assert "listening" not in out + err


@pytest.mark.slow
def test_a_public_host_without_allow_public_is_production_too(tmp_path: Path) -> None:
    process = serve(tmp_path, "--port", str(free_port()), "--host", "0.0.0.0")
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2 and "refusing to bind 0.0.0.0 without MicrosoftAppId" in err


@pytest.mark.slow
def test_production_with_credentials_starts_with_authentication_on(tmp_path: Path) -> None:
    port = free_port()
    process = serve(tmp_path, "--port", str(port), ENVIRONMENT="Production", MicrosoftAppId=APP_ID,
                    MicrosoftAppPassword="not-a-real-secret")
    try:
        assert wait_for_health(port, lambda body: body.get("status") == "degraded")   # an empty folder, but up
    finally:
        process.terminate()
        _, err = process.communicate(timeout=20)
    assert process.returncode == 0
    assert "Bot Framework authentication on" in err and "local mode" not in err


def test_environment_is_development_or_production() -> None:
    assert make_settings().environment == "development"
    assert make_settings(environment=" PRODUCTION ").environment == "production"
    with pytest.raises(ValueError, match="environment"):
        make_settings(environment="prod")
    assert serve_refusal(make_settings(environment="production")) is not None
    assert serve_refusal(make_settings(environment="production", app_id=APP_ID, app_password="pw")) is None
    assert serve_refusal(make_settings()) is None
