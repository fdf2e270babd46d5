"""Encryption of everything Whistle hands to Temporal: AES-GCM, keyed by id, with rotation.

Temporal stores every workflow input, Update argument and result, activity input and query answer in its
history, and shows them in its UI. A complaint's input holds the reporter's name and phone (personal data),
so every payload leaves the process encrypted and is decrypted only by a process that holds the key:
the worker, the SDK client (so the CLI, the demo and the gateway), and the codec server that lets the UI
show plain text to whoever may call it.

Keys come from ``WHISTLE_CODEC_KEYS`` as ``id:base64key,id:base64key`` (16, 24 or 32 bytes each). The first
key encrypts; every listed key decrypts, so a rotation is: put the new key first, keep the old ones until
no open case (and no history you still need to read) was written with them. Each payload records the id
of its key in its metadata (``encryption-key-id``), so a reader always knows which key to use and an
unknown id is an error that names the id, never garbage.

With no keys configured:
- the embedded dev stack (no ``TEMPORAL_ADDRESS``) generates a key once and keeps it in
  ``WHISTLE_HOME/codec.keys`` (mode 0600), so the demo's history is encrypted too;
- against a real server the payloads are left as they are (plain JSON), and ``worker.py`` says so at
  start. A deployment that handles personal data must set ``WHISTLE_CODEC_KEYS``.
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
from temporalio.converter import PayloadCodec

from whistle.settings import Settings

ENCODING = b"binary/encrypted"
"""The ``encoding`` metadata of an encrypted payload (the name Temporal's samples use)."""

KEY_ID = "encryption-key-id"
NONCE_BYTES = 12
DEV_KEYS_FILE = "codec.keys"


class CodecKeyError(ValueError):
    """The key configuration is malformed, or a payload names a key this process does not hold."""


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
        if len(key) not in (16, 24, 32):
            raise CodecKeyError(f"WHISTLE_CODEC_KEYS: key {key_id!r} has {len(key)} bytes, not 16, 24 or 32")
        if key_id in keys:
            raise CodecKeyError(f"WHISTLE_CODEC_KEYS: key id {key_id!r} is listed twice")
        keys[key_id] = key
    if not keys:
        raise CodecKeyError("WHISTLE_CODEC_KEYS: no key given")
    return keys


def new_key_entry(key_id: str) -> str:
    """A fresh 256-bit key as one ``id:base64`` entry, ready for ``WHISTLE_CODEC_KEYS``."""
    return f"{key_id}:{base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()}"


class EncryptionCodec(PayloadCodec):
    """AES-GCM over the whole serialized payload (data and metadata), the key id in the outer metadata.

    The key id is also the associated data, so a payload moved under another id fails to decrypt. Payloads
    that are not encrypted pass through ``decode`` unchanged: histories written before encryption was
    switched on stay readable.
    """

    def __init__(self, keys: dict[str, bytes]) -> None:
        if not keys:
            raise CodecKeyError("an encryption codec needs at least one key")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.encrypting_key_id = next(iter(keys))

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        key_id = self.encrypting_key_id
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[key_id].encrypt(nonce, payload.SerializeToString(), key_id.encode())
        return Payload(metadata={"encoding": ENCODING, KEY_ID: key_id.encode()}, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID, b"").decode()
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise CodecKeyError(f"payload encrypted with key {key_id!r}, which is not in WHISTLE_CODEC_KEYS")
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, sealed, key_id.encode())
        except InvalidTag:
            raise CodecKeyError(f"payload under key {key_id!r} failed authentication (wrong key or altered)") from None
        decoded = Payload()
        decoded.ParseFromString(plain)
        return decoded


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
    """The codec the settings ask for: the configured keys, the dev stack's own key, or None (plain)."""
    if settings.codec_keys is not None:
        return EncryptionCodec(parse_keys(settings.codec_keys.get_secret_value()))
    if settings.temporal_address is None:
        return EncryptionCodec(parse_keys(dev_keys(settings.home)))
    return None
