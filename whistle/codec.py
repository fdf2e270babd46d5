"""Encryption of everything Whistle hands to Temporal: AES-256-GCM, keyed by id, with rotation, bound to its case.

Temporal stores every workflow input, Update argument and result, activity input and query answer in its
history, and shows them in its UI. The reporter's name, phone and resident id never get there (the claim
check, ``activities/personal_data.py``), but descriptions, addresses and notes are personal in practice, so
every payload leaves the process encrypted and is decrypted only by a process that holds the key: the worker,
the SDK client (so the CLI, the demo and the gateway), and the codec server that lets the UI show plain text
to whoever may call it.

Keys come from ``WHISTLE_CODEC_KEYS`` as ``id:base64key,id:base64key`` (32 bytes each: AES-256 only). The first
key encrypts; every listed key decrypts, so a rotation is: put the new key first, keep the old ones until no
history you still need to read was written with them. Each payload records the id of its key in its metadata
(``encryption-key-id``), so a reader always knows which key to use and an unknown id is an error naming it.

Each payload is bound to the case it belongs to: the SDK tells the codec the namespace and workflow id of
every payload it encodes or decodes (its serialization context), the codec writes them into the payload's
metadata (``encryption-scope``) and into the cipher's associated data, and refuses to decode a payload in the
context of another case. A payload copied into another case's history, or relabelled, fails to decode.

Strict by default: once a codec is configured, a payload that is not encrypted (or was encrypted before
payloads were bound to their case) is refused on decode, unless ``WHISTLE_CODEC_MIGRATION=true`` lets the
old histories of a deployment be read while they close. Against a real server (``TEMPORAL_ADDRESS`` set),
the worker, the CLI and the gateway refuse to start without keys unless ``WHISTLE_ALLOW_PLAINTEXT=true`` says
so in so many words. The embedded dev stack generates a key once and keeps it in ``WHISTLE_HOME/codec.keys``
(mode 0600), so the demo's history is encrypted too.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    ActivitySerializationContext,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)

from whistle.settings import Settings

ENCODING = b"binary/encrypted"
"""The ``encoding`` metadata of an encrypted payload (the name Temporal's samples use)."""

KEY_ID = "encryption-key-id"
SCOPE = "encryption-scope"
"""Metadata: ``<namespace>/<workflow id>`` of the case a payload belongs to (absent: encoded outside any case)."""
NONCE_BYTES = 12
KEY_BYTES = 32
DEV_KEYS_FILE = "codec.keys"


class CodecKeyError(ValueError):
    """The key configuration is malformed or missing, or a payload cannot be decoded here (and why)."""


def parse_keys(text: str) -> dict[str, bytes]:
    """``"k2:base64,k1:base64"`` as an ordered ``{id: key}``; the first entry is the encrypting key."""
    keys: dict[str, bytes] = {}
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        key_id, separator, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not separator or not key_id:
            raise CodecKeyError("WHISTLE_CODEC_KEYS: each entry is id:base64key")
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise CodecKeyError(f"WHISTLE_CODEC_KEYS: key {key_id!r} is not base64") from None
        if len(key) != KEY_BYTES:
            raise CodecKeyError(f"WHISTLE_CODEC_KEYS: key {key_id!r} has {len(key)} bytes, not 32 (AES-256 only)")
        if key_id in keys:
            raise CodecKeyError(f"WHISTLE_CODEC_KEYS: key id {key_id!r} is listed twice")
        keys[key_id] = key
    if not keys:
        raise CodecKeyError("WHISTLE_CODEC_KEYS: no key given")
    return keys


def new_key_entry(key_id: str) -> str:
    """A fresh 256-bit key as one ``id:base64`` entry, ready for ``WHISTLE_CODEC_KEYS``."""
    return f"{key_id}:{base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()}"


def scope_of(context: SerializationContext) -> str | None:
    """The case a serialization context is about, as ``<namespace>/<workflow id>`` (None: no case)."""
    if isinstance(context, WorkflowSerializationContext | ActivitySerializationContext) and context.workflow_id:
        return f"{context.namespace}/{context.workflow_id}"
    return None


class EncryptionCodec(PayloadCodec, WithSerializationContext):
    """AES-256-GCM over the whole serialized payload (data and metadata); key id and case in the outer metadata.

    The associated data is the key id and the case's scope, so a payload relabelled with another key id or
    another case fails authentication. ``scope`` is the case this instance encodes and decodes for (set by
    ``with_context``); without one (the codec server, a history read outside the SDK) a payload decodes under
    the scope it names, which the caller checks. ``migration`` accepts plain and unbound payloads.
    """

    def __init__(self, keys: dict[str, bytes], *, migration: bool = False, scope: str | None = None) -> None:
        if not keys:
            raise CodecKeyError("an encryption codec needs at least one key")
        self._keys = keys
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.encrypting_key_id = next(iter(keys))
        self.migration = migration
        self.scope = scope

    def with_context(self, context: SerializationContext) -> EncryptionCodec:
        return EncryptionCodec(self._keys, migration=self.migration, scope=scope_of(context))

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        key_id = self.encrypting_key_id
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[key_id].encrypt(nonce, payload.SerializeToString(), _associated(key_id, self.scope))
        metadata = {"encoding": ENCODING, KEY_ID: key_id.encode()}
        if self.scope is not None:
            metadata[SCOPE] = self.scope.encode()
        return Payload(metadata=metadata, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            if self.migration:
                return payload
            raise CodecKeyError(
                "payload is not encrypted, and this codec reads encrypted payloads only "
                "(WHISTLE_CODEC_MIGRATION=true reads older plain histories while they close)"
            )
        key_id = payload.metadata.get(KEY_ID, b"").decode()
        scope = payload.metadata[SCOPE].decode() if SCOPE in payload.metadata else None
        if self.scope is not None and scope != self.scope and not (scope is None and self.migration):
            raise CodecKeyError(f"payload belongs to {scope or 'no case'}, not to {self.scope}")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise CodecKeyError(f"payload encrypted with key {key_id!r}, which is not in WHISTLE_CODEC_KEYS")
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, sealed, _associated(key_id, scope))
        except InvalidTag:
            raise CodecKeyError(f"payload under key {key_id!r} failed authentication (wrong key or altered)") from None
        decoded = Payload()
        decoded.ParseFromString(plain)
        return decoded


def _associated(key_id: str, scope: str | None) -> bytes:
    """The associated data: the key id, and the case when there is one (unbound payloads keep the old form)."""
    return key_id.encode() if scope is None else f"{key_id}\n{scope}".encode()


def dev_keys(home: Path) -> str:
    """The embedded stack's key entries, generated on first use and kept in ``home/codec.keys`` (0600)."""
    path = home.expanduser().resolve() / DEV_KEYS_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and linked into place: two commands started together agree on one key.
        draft = path.with_name(f".{DEV_KEYS_FILE}.{os.getpid()}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(new_key_entry("dev1") + "\n")
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def codec_for(settings: Settings) -> EncryptionCodec | None:
    """The codec the settings ask for: the configured keys, the dev stack's own key, or None (plain) when a real
    server is allowed plaintext in so many words; raises ``CodecKeyError`` for a real server without keys."""
    migration = settings.codec_migration
    if settings.codec_keys is not None:
        return EncryptionCodec(parse_keys(settings.codec_keys.get_secret_value()), migration=migration)
    if settings.temporal_address is None:
        return EncryptionCodec(parse_keys(dev_keys(settings.home)), migration=migration)
    if settings.allow_plaintext:
        return None
    raise CodecKeyError(
        "WHISTLE_CODEC_KEYS: a real Temporal server (TEMPORAL_ADDRESS) needs codec keys, or "
        "WHISTLE_ALLOW_PLAINTEXT=true to send it plain payloads"
    )
