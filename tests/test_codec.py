"""The payload codec and the codec server: encryption, key rotation, and the UI's decode protocol."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.failure.v1 import Failure

from whistle.codec import ENCODING, KEY_ID, CodecKeyError, EncryptionCodec, codec_for, new_key_entry, parse_keys
from whistle.codec_server import codec_app
from whistle.connection import data_converter
from whistle.settings import Settings

OLD = new_key_entry("k1")
NEW = new_key_entry("k2")
REPORTER = "王建国 13000000001"


def plain(text: str = REPORTER) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(text, ensure_ascii=False).encode())


def test_payload_is_encrypted_with_the_first_key_and_reads_back() -> None:
    codec = EncryptionCodec(parse_keys(f"{NEW},{OLD}"))
    sealed = codec.encrypt(plain())
    assert sealed.metadata["encoding"] == ENCODING and sealed.metadata[KEY_ID] == b"k2"
    assert "王建国".encode() not in sealed.SerializeToString()
    assert b"13000000001" not in sealed.SerializeToString()
    assert codec.decrypt(sealed) == plain()
    assert codec.encrypt(plain()).data != sealed.data  # a fresh nonce each time


def test_rotated_keys_still_read_payloads_written_under_the_old_key() -> None:
    before = EncryptionCodec(parse_keys(OLD))
    after = EncryptionCodec(parse_keys(f"{NEW},{OLD}"))
    written_before = before.encrypt(plain())
    assert after.decrypt(written_before) == plain()
    assert after.encrypt(plain()).metadata[KEY_ID] == b"k2"


def test_payload_under_a_retired_key_fails_naming_the_key() -> None:
    written = EncryptionCodec(parse_keys(OLD)).encrypt(plain())
    with pytest.raises(CodecKeyError, match="'k1'"):
        EncryptionCodec(parse_keys(NEW)).decrypt(written)


def test_altered_or_relabelled_payload_fails_authentication() -> None:
    key = parse_keys(OLD)["k1"]
    codec = EncryptionCodec({"k1": key, "k9": key})
    sealed = codec.encrypt(plain())
    flipped = Payload(metadata=sealed.metadata, data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1]))
    with pytest.raises(CodecKeyError, match="authentication"):
        codec.decrypt(flipped)
    relabelled = Payload(metadata={**sealed.metadata, KEY_ID: b"k9"}, data=sealed.data)
    with pytest.raises(CodecKeyError, match="authentication"):
        codec.decrypt(relabelled)


def test_plain_payloads_written_before_encryption_pass_through() -> None:
    assert EncryptionCodec(parse_keys(OLD)).decrypt(plain()) == plain()


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("", "no key"),
        ("k1", "id:base64key"),
        ("k1:!!!", "not base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "5 bytes"),
        (f"{OLD},{OLD}", "twice"),
    ],
)
def test_malformed_key_setting_is_refused_with_the_reason(text: str, complaint: str) -> None:
    with pytest.raises(CodecKeyError, match=complaint):
        parse_keys(text)


def test_embedded_stack_keeps_one_dev_key_and_a_real_server_without_keys_stays_plain(tmp_path: Path) -> None:
    embedded = Settings(home=tmp_path, temporal_address=None, codec_keys=None)
    first, second = codec_for(embedded), codec_for(embedded)
    assert first is not None and second is not None
    assert second.decrypt(first.encrypt(plain())) == plain()
    assert (tmp_path / "codec.keys").stat().st_mode & 0o777 == 0o600
    assert codec_for(Settings(home=tmp_path, temporal_address="temporal:7233", codec_keys=None)) is None
    configured = codec_for(Settings(home=tmp_path, temporal_address="temporal:7233", codec_keys=NEW))
    assert configured is not None and configured.encrypting_key_id == "k2"


async def test_data_converter_encrypts_models_and_failures() -> None:
    codec = EncryptionCodec(parse_keys(NEW))
    converter = data_converter(codec)
    [encoded] = await converter.encode([{"reporter": REPORTER}])
    assert encoded.metadata["encoding"] == ENCODING
    assert await converter.decode([encoded], [dict]) == [{"reporter": REPORTER}]
    failure = Failure()
    await converter.encode_failure(ValueError(f"cannot file for {REPORTER}"), failure)
    assert "王建国" not in failure.message and "王建国".encode() not in failure.SerializeToString()


def server(codec_keys: str, token: str | None = None) -> TestClient:
    settings = Settings(codec_keys=codec_keys, codec_token=token, ui_port=8233, codec_origins="https://ui.example")
    return TestClient(codec_app(settings))


def as_json(*payloads: Payload) -> str:
    return json_format.MessageToJson(Payloads(payloads=payloads))


def test_codec_server_decodes_for_the_ui_and_encodes_back() -> None:
    codec = EncryptionCodec(parse_keys(f"{NEW},{OLD}"))
    sealed = EncryptionCodec(parse_keys(OLD)).encrypt(plain())
    http = server(f"{NEW},{OLD}")

    decoded = http.post("/decode", content=as_json(sealed), headers={"X-Namespace": "default"})
    assert decoded.status_code == 200
    assert list(json_format.Parse(decoded.text, Payloads()).payloads) == [plain()]

    encoded = http.post("/encode", content=as_json(plain()))
    assert encoded.status_code == 200
    [again] = json_format.Parse(encoded.text, Payloads()).payloads
    assert again.metadata[KEY_ID] == b"k2" and codec.decrypt(again) == plain()

    unknown = EncryptionCodec(parse_keys(new_key_entry("k7"))).encrypt(plain())
    refused = http.post("/decode", content=as_json(unknown))
    assert refused.status_code == 400 and "k7" in refused.json()["detail"]
    assert http.post("/decode", content="not json").status_code == 400


def test_codec_server_answers_the_ui_origin_and_no_other() -> None:
    http = server(NEW)
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-namespace"}
    for origin in ("http://127.0.0.1:8233", "http://localhost:8233", "https://ui.example"):
        allowed = http.options("/decode", headers={"Origin": origin, **preflight})
        assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == origin
    stranger = http.options("/decode", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in stranger.headers


def test_codec_server_with_a_token_refuses_callers_without_it() -> None:
    http = server(NEW, token="s3cret")
    body = as_json(plain())
    assert http.post("/decode", content=body).status_code == 401
    assert http.post("/decode", content=body, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert http.post("/decode", content=body, headers={"Authorization": "Bearer s3cret"}).status_code == 200
