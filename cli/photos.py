"""``--photo PATH`` (repeatable): the files read and judged before any connection, uploaded before the command.

A photo goes to the object store first and the intake or command carries only its reference (``schemas/evidence.py``),
so the CLI reads each file, refuses what a case would not take (one line naming ``photos``), and uploads the bytes
through the SDK just before it files or sends.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from cli.runtime import InvalidInput
from schemas.errors import CommandRejected
from schemas.evidence import Photo, photo_of
from whistle.client import WhistleClient

T = TypeVar("T")

PHOTO_HELP = "A photo to attach (JPEG, PNG or WebP, at most 10 MiB); repeat for more."
PhotoOption = Annotated[list[Path] | None, typer.Option("--photo", "--photos", help=PHOTO_HELP, show_default=False)]


def read_photos(paths: Sequence[Path] | None) -> list[tuple[bytes, Photo]]:
    """Each file's bytes and reference; ``InvalidInput`` on ``photos`` for a file unreadable or no photo."""
    found: list[tuple[bytes, Photo]] = []
    for path in paths or ():
        try:
            data = path.read_bytes()
        except OSError as error:
            raise InvalidInput("photos", f"{path}: {error.strerror}") from None
        try:
            found.append((data, photo_of(data)))
        except CommandRejected as refused:
            raise InvalidInput("photos", f"{path}: {refused.reason}") from None
    return found


def with_uploads(
    photos: Sequence[tuple[bytes, Photo]], then: Callable[[WhistleClient], Awaitable[T]]
) -> Callable[[WhistleClient], Awaitable[T]]:
    """``then``, once every photo is in the client's object store."""

    async def upload_then(client: WhistleClient) -> T:
        for data, _ in photos:
            await client.upload_photo(data)
        return await then(client)

    return upload_then
