"""Where the embedded stack may not start (the image: ``WHISTLE_EMBEDDED=false``, no embedded servers installed),
the worker and the gateway refuse to start without ``TEMPORAL_ADDRESS`` and ``DATABASE_URL``: one line naming
what is missing, a non-zero exit, at once, and nothing started or written in its place.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from whistle import devstack
from whistle.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
WHISTLE = Path(sys.executable).parent / "whistle"
QUICKLY = 30.0
"""Seconds: an import and a settings check, no server and no network."""


def run_unconfigured(command: list[str], home: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """``command`` with none of Whistle's or Temporal's variables from this environment, the embedded stack off."""
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("WHISTLE_", "TEMPORAL_")) and key not in ("DATABASE_URL",)
    }
    clean |= {"WHISTLE_EMBEDDED": "false", "WHISTLE_HOME": str(home), **env}
    started = time.monotonic()
    result = subprocess.run(
        command, cwd=ROOT, env=clean, capture_output=True, text=True, timeout=QUICKLY * 2, check=False
    )
    return result, time.monotonic() - started


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize(
    "command",
    [[sys.executable, "worker.py"], [str(WHISTLE), "worker"], [str(WHISTLE), "serve"]],
    ids=["python worker.py", "whistle worker", "whistle serve"],
)
def test_a_worker_or_gateway_without_servers_names_both_variables_and_exits(command: list[str], tmp_path: Path) -> None:
    result, seconds = run_unconfigured(command, tmp_path / "home")
    assert result.returncode != 0
    line = one_line(result.stderr)
    assert "TEMPORAL_ADDRESS" in line and "DATABASE_URL" in line and "WHISTLE_EMBEDDED=false" in line, line
    assert seconds < QUICKLY
    assert not (tmp_path / "home").exists(), "nothing embedded was started or written"


@pytest.mark.parametrize(
    "command", [[sys.executable, "worker.py"], [str(WHISTLE), "serve"]], ids=["python worker.py", "whistle serve"]
)
def test_with_temporal_named_only_the_missing_database_url_is_reported(command: list[str], tmp_path: Path) -> None:
    # An address nothing listens on: the check comes before any connection, so nothing is dialled.
    result, seconds = run_unconfigured(
        command, tmp_path / "home", TEMPORAL_ADDRESS="127.0.0.1:9", WHISTLE_ALLOW_PLAINTEXT="true"
    )
    assert result.returncode != 0
    line = one_line(result.stderr)
    assert "DATABASE_URL" in line and "TEMPORAL_ADDRESS" not in line, line
    assert seconds < QUICKLY


def test_without_the_embedded_servers_installed_an_unset_address_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """The image's case even without WHISTLE_EMBEDDED=false: the dev extra is not installed there."""
    monkeypatch.setattr(devstack, "_temporal_installed", lambda: False)
    monkeypatch.setattr(devstack, "_postgres_installed", lambda: False)
    settings = Settings(temporal_address=None, database_url=None, embedded=True)
    with pytest.raises(devstack.ServersNotConfigured) as raised:
        devstack.require_servers(settings)
    assert raised.value.variables == ["TEMPORAL_ADDRESS", "DATABASE_URL"]
    assert "whistle[dev]" in str(raised.value)
    with pytest.raises(devstack.ServersNotConfigured) as raised:
        devstack.require_servers(settings, postgres=False)  # a command that needs Temporal alone
    assert raised.value.variables == ["TEMPORAL_ADDRESS"]
    devstack.require_servers(Settings(temporal_address="temporal:7233", database_url="postgresql://db/whistle"))


def test_with_the_embedded_servers_installed_the_dev_stack_is_still_allowed() -> None:
    """``make demo`` and the tests: the dev extra installed, WHISTLE_EMBEDDED unset."""
    devstack.require_servers(Settings(temporal_address=None, database_url=None, embedded=True))
