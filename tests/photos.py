"""Photo bytes for tests: a real type's magic number, then filler, so each call's bytes (and hash) are its own."""

from __future__ import annotations

import itertools

JPEG, PNG, WEBP = "image/jpeg", "image/png", "image/webp"
_serial = itertools.count()


def photo_bytes(kind: str = JPEG, size: int = 2048) -> bytes:
    """``size`` bytes that sniff as ``kind`` and differ from every other call's."""
    head = {
        JPEG: b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
        PNG: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        WEBP: b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    }[kind]
    mark = f"#{next(_serial)}#".encode()
    return (head + mark + b"\0" * size)[:size]
