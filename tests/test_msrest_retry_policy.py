"""channel.adapter.speed_up_msrest_retry_policy: the retry policy every turn builds is cheap, and retries exactly as before."""
from __future__ import annotations

import tempfile
from pathlib import Path

from msrest.universal_http.requests import ClientRetryPolicy

from app.engine_slot import EngineSlot
from app.server import create_app
from app.settings import Settings
from channel.adapter import speed_up_msrest_retry_policy

# msrest's own rule, spelled out: every status below 999 except the safe ones (< 500 but 408, and 501, 505)
SAFE = [i for i in range(500) if i != 408] + [501, 505]
RETRIED = [i for i in range(999) if i not in SAFE]


def test_the_app_builds_retry_policies_from_a_set_that_retry_the_same_codes() -> None:
    settings = Settings(_env_file=None, app_id="", app_password="",
                        data_dir=Path(tempfile.mkdtemp(prefix="partner-atlas-test-")))
    create_app(settings, EngineSlot())
    assert isinstance(ClientRetryPolicy.safe_codes, frozenset)     # `in` is a hash lookup, not a 501-item scan
    assert set(ClientRetryPolicy.safe_codes) == set(SAFE)
    policy = ClientRetryPolicy().policy
    assert policy.status_forcelist == RETRIED                        # same codes, same order
    assert 408 in policy.status_forcelist and 500 in policy.status_forcelist and 429 not in policy.status_forcelist
    assert (policy.total, policy.connect, policy.read, policy.backoff_factor) == (3, 3, 3, 0.8)
    assert speed_up_msrest_retry_policy() is False               # idempotent: already a set
