"""Photos and evidence (现场照片): what a case carries of a picture is a reference, never the picture.

The bytes live in an object store (``activities/photo_store.py``), addressed by their SHA-256; the intake and the
progress and completion commands carry ``Photo`` references (hash, type, size), and so do the events they record.
A reference is small and fixed in size, so a history stays bounded, and no picture ever enters a Temporal payload.

The decider cannot read the store (it does no I/O), so it trusts that a referenced photo exists: the SDK uploads
the bytes first (``WhistleClient.upload_photo``) and checks every reference against the store before it files an
intake or sends a command (``WhistleClient.submit`` / ``execute``). What a photo may be is decided here, from its
bytes alone: ``photo_of`` sniffs the type from the first bytes (never from a file name or a client's say-so) and
refuses anything past ``MAX_PHOTO_BYTES`` or of another type, naming the field ``photos``.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints

from schemas.common import Model
from schemas.errors import CommandRejected

MediaType = Literal["image/jpeg", "image/png", "image/webp"]
"""The pictures a case takes: what phones send and browsers show."""
MAX_PHOTO_BYTES = 10 * 1024 * 1024
"""The largest photo a case takes (10 MiB): a phone's full-resolution JPEG, with room to spare."""
MAX_PHOTOS = 6
"""The most photos one intake, progress note or completion carries; with the policy's caps on progress notes and
completions, a case's references stay bounded."""
SUFFIX: dict[str, str] = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
"""A file name's suffix for each type (public links end in it, so a browser or an Open311 client knows it)."""

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
"""A photo's address: the SHA-256 of its bytes, lower-case hex."""


class Photo(Model):
    """A reference to one stored photo: its SHA-256 (where the store keeps it), its media type and its size."""

    sha256: Sha256 = Field(description="SHA-256 of the photo's bytes, lower-case hex (the upload's answer).")
    media_type: MediaType = Field(description="image/jpeg, image/png or image/webp, as sniffed at upload.")
    size: int = Field(ge=1, le=MAX_PHOTO_BYTES, description="Bytes.")


def _distinct(photos: tuple[Photo, ...]) -> tuple[Photo, ...]:
    if len({photo.sha256 for photo in photos}) != len(photos):
        raise ValueError("the same photo twice")
    return photos


Photos = Annotated[tuple[Photo, ...], Field(max_length=MAX_PHOTOS), AfterValidator(_distinct)]
"""Photos attached to one intake or command: at most ``MAX_PHOTOS``, each once."""


def none_attached(photos: tuple[Photo, ...]) -> bool:
    """``exclude_if`` for a ``photos`` field added to a recorded model: no photos serialize to nothing, so intakes
    and events written before photos existed keep their JSON (and the store batches' digests) when replayed."""
    return not photos


def sniff_media_type(data: bytes) -> MediaType | None:
    """The picture type the bytes begin with (their magic number), or None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def photo_of(data: bytes) -> Photo:
    """The reference for ``data``, or ``CommandRejected`` on ``photos`` when it is empty, too large or no picture."""
    if not data:
        raise CommandRejected("photos", "the photo is empty")
    if len(data) > MAX_PHOTO_BYTES:
        raise CommandRejected("photos", f"the photo has {len(data)} bytes; the most a case takes is {MAX_PHOTO_BYTES}")
    media_type = sniff_media_type(data)
    if media_type is None:
        raise CommandRejected("photos", f"not a photo: a case takes {', '.join(SUFFIX)} (judged from the bytes)")
    return Photo(sha256=hashlib.sha256(data).hexdigest(), media_type=media_type, size=len(data))
