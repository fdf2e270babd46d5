"""Settings read from the environment: the codec server's port follows the UI's unless it is set."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from whistle.settings import Settings


def test_the_codec_port_follows_the_ui_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WHISTLE_CODEC_PORT", raising=False)
    monkeypatch.delenv("WHISTLE_UI_PORT", raising=False)
    assert (Settings().ui_port, Settings().codec_port) == (8233, 8234)

    monkeypatch.setenv("WHISTLE_UI_PORT", "9233")
    assert Settings().codec_port == 9234  # a second stack moved its UI: its codec server moves along
    assert Settings(ui_port=7000).codec_port == 7001


def test_a_codec_port_set_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHISTLE_UI_PORT", "9233")
    monkeypatch.setenv("WHISTLE_CODEC_PORT", "9999")
    assert Settings().codec_port == 9999
    assert Settings(ui_port=7000, codec_port=7100).codec_port == 7100


def test_a_bad_ui_port_is_reported_as_ui_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WHISTLE_CODEC_PORT", raising=False)
    monkeypatch.setenv("WHISTLE_UI_PORT", "abc")
    with pytest.raises(ValidationError) as raised:
        Settings()
    assert [error["loc"] for error in raised.value.errors()] == [("ui_port",)]


def test_a_gateway_budget_that_is_no_rate_fails_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHISTLE_GATEWAY_RATE_PER_KEY", "20/second")
    assert Settings().gateway_rate_per_key == "20/second"
    monkeypatch.setenv("WHISTLE_GATEWAY_RATE_PER_ADDRESS", "plenty")
    with pytest.raises(ValidationError) as raised:
        Settings()
    assert [error["loc"] for error in raised.value.errors()] == [("gateway_rate_per_address",)]
