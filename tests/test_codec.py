"""The payload codec and the codec server: encryption, key rotation, a payload bound to its case, strictness, and
the UI's decode protocol behind a JWT from the deployment's identity provider."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.failure.v1 import Failure
from temporalio.converter import ActivitySerializationContext, WorkflowSerializationContext

from whistle.codec import ENCODING, KEY_ID, SCOPE, CodecKeyError, EncryptionCodec, codec_for, new_key_entry, parse_keys
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


CASE_A = WorkflowSerializationContext(namespace="default", workflow_id="complaint-A")
CASE_B = WorkflowSerializationContext(namespace="default", workflow_id="complaint-B")


def test_a_payload_is_bound_to_its_case_and_cannot_be_moved_to_another() -> None:
    codec = EncryptionCodec(parse_keys(NEW))
    sealed = codec.with_context(CASE_A).encrypt(plain())
    assert sealed.metadata[SCOPE] == b"default/complaint-A"
    assert codec.with_context(CASE_A).decrypt(sealed) == plain()
    activity = ActivitySerializationContext(
        namespace="default", activity_id="store-1", activity_type="store", activity_task_queue="q",
        workflow_id="complaint-A", workflow_type="Complaint", is_local=False,
    )  # fmt: skip
    assert codec.with_context(activity).decrypt(sealed) == plain()  # the case's own activity reads it
    with pytest.raises(CodecKeyError, match="belongs to default/complaint-A, not to default/complaint-B"):
        codec.with_context(CASE_B).decrypt(sealed)
    relabelled = Payload(metadata={**sealed.metadata, SCOPE: b"default/complaint-B"}, data=sealed.data)
    with pytest.raises(CodecKeyError, match="authentication"):
        codec.with_context(CASE_B).decrypt(relabelled)
    assert codec.decrypt(sealed) == plain()  # outside any case (a history read): under the scope it names


def test_a_configured_codec_refuses_plain_and_unbound_payloads_unless_migrating() -> None:
    strict = EncryptionCodec(parse_keys(NEW)).with_context(CASE_A)
    with pytest.raises(CodecKeyError, match="not encrypted"):
        strict.decrypt(plain())
    unbound = EncryptionCodec(parse_keys(NEW)).encrypt(plain())  # as written before payloads were bound
    with pytest.raises(CodecKeyError, match="belongs to no case"):
        strict.decrypt(unbound)
    migrating = EncryptionCodec(parse_keys(NEW), migration=True).with_context(CASE_A)
    assert migrating.decrypt(plain()) == plain() and migrating.decrypt(unbound) == plain()


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("", "no key"),
        ("k1", "id:base64key"),
        ("k1:!!!", "not base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "5 bytes"),
        (f"k1:{base64.b64encode(bytes(16)).decode()}", "AES-256 only"),
        (f"{OLD},{OLD}", "twice"),
    ],
)
def test_malformed_key_setting_is_refused_with_the_reason(text: str, complaint: str) -> None:
    with pytest.raises(CodecKeyError, match=complaint):
        parse_keys(text)


def test_embedded_stack_keeps_one_dev_key_and_a_real_server_needs_keys_or_plaintext_said_outright(
    tmp_path: Path,
) -> None:
    embedded = Settings(home=tmp_path, temporal_address=None, codec_keys=None)
    first, second = codec_for(embedded), codec_for(embedded)
    assert first is not None and second is not None
    assert second.decrypt(first.encrypt(plain())) == plain()
    assert (tmp_path / "codec.keys").stat().st_mode & 0o777 == 0o600
    with pytest.raises(CodecKeyError, match="WHISTLE_ALLOW_PLAINTEXT"):
        codec_for(Settings(home=tmp_path, temporal_address="temporal:7233", codec_keys=None))
    allowed = Settings(home=tmp_path, temporal_address="temporal:7233", codec_keys=None, allow_plaintext=True)
    assert codec_for(allowed) is None
    configured = codec_for(Settings(home=tmp_path, temporal_address="temporal:7233", codec_keys=NEW))
    assert configured is not None and configured.encrypting_key_id == "k2"


WORKER = Path(__file__).parent.parent / "worker.py"


@pytest.mark.parametrize(
    "command",
    [["whistle", "status", "X-1"], ["whistle", "serve", "--port", "1"], [sys.executable, str(WORKER)]],
    ids=["the CLI", "the gateway", "the worker"],
)
def test_a_real_server_without_keys_stops_each_process_before_it_connects(tmp_path: Path, command: list[str]) -> None:
    environment = {
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "HOME": str(tmp_path),
        "TEMPORAL_ADDRESS": "127.0.0.1:1", "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
        "WHISTLE_HOME": str(tmp_path / "home"),
    }  # fmt: skip
    refused = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "WHISTLE_CODEC_KEYS" in refused.stderr
    assert "WHISTLE_ALLOW_PLAINTEXT" in refused.stderr
    assert "Traceback" not in refused.stderr


async def test_data_converter_encrypts_models_and_failures() -> None:
    codec = EncryptionCodec(parse_keys(NEW))
    converter = data_converter(codec)
    [encoded] = await converter.encode([{"reporter": REPORTER}])
    assert encoded.metadata["encoding"] == ENCODING
    assert await converter.decode([encoded], [dict]) == [{"reporter": REPORTER}]
    failure = Failure()
    await converter.encode_failure(ValueError(f"cannot file for {REPORTER}"), failure)
    assert "王建国" not in failure.message and "王建国".encode() not in failure.SerializeToString()


# --- The codec server ---------------------------------------------------------------------------------

ISSUER = "https://login.example.gov.cn"


class IdentityProvider:
    """A signing key and its JWKS, served over loopback HTTP as an issuer publishes them; mints tokens."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        body = json.dumps({"keys": [{**public, "kid": "idp-1", "use": "sig", "alg": "RS256"}]}).encode()

        class Keys(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Keys)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.jwks_url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"

    def token(self, *, permissions: list[str], expires_in: float = 300, issuer: str = ISSUER) -> str:
        now = time.time()
        claims = {"iss": issuer, "sub": "supervisor-7", "iat": now, "exp": now + expires_in, "permissions": permissions}
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "idp-1"})


@pytest.fixture(scope="module")
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider()
    yield provider
    provider.server.shutdown()


def server(codec_keys: str, idp: IdentityProvider | None = None, **settings: Any) -> TestClient:
    fields: dict[str, Any] = {
        "codec_keys": codec_keys, "ui_port": 8233, "codec_origins": "https://ui.example",
        "temporal_namespace": "default",
        **({"codec_jwt_issuer": ISSUER, "codec_jwks_url": idp.jwks_url} if idp else {}), **settings,
    }  # fmt: skip
    configured = Settings.model_validate(fields)
    return TestClient(codec_app(configured))


def as_json(*payloads: Payload) -> str:
    return json_format.MessageToJson(Payloads(payloads=payloads))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "X-Namespace": "default"}


def test_codec_server_decodes_for_a_supervisor_with_a_valid_token(idp: IdentityProvider) -> None:
    sealed = EncryptionCodec(parse_keys(OLD)).with_context(CASE_A).encrypt(plain())
    http = server(f"{NEW},{OLD}", idp)
    decoded = http.post("/decode", content=as_json(sealed), headers=bearer(idp.token(permissions=["default:read"])))
    assert decoded.status_code == 200
    assert list(json_format.Parse(decoded.text, Payloads()).payloads) == [plain()]

    unknown = EncryptionCodec(parse_keys(new_key_entry("k7"))).encrypt(plain())
    refused = http.post("/decode", content=as_json(unknown), headers=bearer(idp.token(permissions=["default:read"])))
    assert refused.status_code == 400 and "k7" in refused.json()["detail"]
    garbage = http.post("/decode", content="not json", headers=bearer(idp.token(permissions=["default:read"])))
    assert garbage.status_code == 400


@pytest.mark.parametrize(
    ("headers", "status", "says"),
    [
        ("none", 401, "Bearer"),
        ("expired", 401, "expired"),
        ("another issuer", 401, "not a valid token"),
        ("another namespace's grant", 403, "grants nothing in 'default'"),
        ("a namespace not served", 403, "does not serve 'other'"),
    ],
)
def test_codec_server_refuses_callers_without_a_token_for_the_namespace(
    idp: IdentityProvider, headers: str, status: int, says: str
) -> None:
    sealed = EncryptionCodec(parse_keys(NEW)).with_context(CASE_A).encrypt(plain())
    tokens = {
        "none": {"X-Namespace": "default"},
        "expired": bearer(idp.token(permissions=["default:read"], expires_in=-60)),
        "another issuer": bearer(idp.token(permissions=["default:read"], issuer="https://evil.example")),
        "another namespace's grant": bearer(idp.token(permissions=["other:admin"])),
        "a namespace not served": {**bearer(idp.token(permissions=["other:read"])), "X-Namespace": "other"},
    }
    answer = server(NEW, idp).post("/decode", content=as_json(sealed), headers=tokens[headers])
    assert answer.status_code == status and says in answer.json()["detail"]


def test_codec_server_decodes_only_its_namespace_and_encodes_only_when_asked(idp: IdentityProvider) -> None:
    elsewhere = WorkflowSerializationContext(namespace="other", workflow_id="complaint-A")
    foreign = EncryptionCodec(parse_keys(NEW)).with_context(elsewhere).encrypt(plain())
    http = server(NEW, idp)
    headers = bearer(idp.token(permissions=["temporal-system:admin"]))
    assert http.post("/decode", content=as_json(foreign), headers=headers).status_code == 403
    assert http.post("/encode", content=as_json(plain()), headers=headers).status_code in (404, 405)
    encoding = server(NEW, idp, codec_encode=True)
    encoded = encoding.post("/encode", content=as_json(plain()), headers=headers)
    [again] = json_format.Parse(encoded.text, Payloads()).payloads
    assert encoded.status_code == 200 and EncryptionCodec(parse_keys(NEW)).decrypt(again) == plain()


def test_a_codec_server_for_a_real_deployment_needs_an_issuer() -> None:
    with pytest.raises(CodecKeyError, match="WHISTLE_CODEC_JWT_ISSUER"):
        codec_app(Settings(codec_keys=NEW, temporal_address="temporal:7233"))


def test_codec_server_answers_the_ui_origin_and_no_other() -> None:
    http = server(NEW)
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-namespace"}
    for origin in ("http://127.0.0.1:8233", "http://localhost:8233", "https://ui.example"):
        allowed = http.options("/decode", headers={"Origin": origin, **preflight})
        assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == origin
    stranger = http.options("/decode", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in stranger.headers
