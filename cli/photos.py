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

from cli.runtime import InvalidInput, ask, load_settings, reported
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


def photo(
    complaint_id: Annotated[str, typer.Argument(metavar="ID", help="The complaint id.", show_default=False)],
    sha256: Annotated[
        str, typer.Argument(metavar="SHA256", help="The photo's SHA-256 (`whistle history ID --json` lists them).")
    ],
    out: Annotated[Path, typer.Option("--out", help="Where to write the photo.", show_default=False)],
) -> None:
    """Save a photo the case carries, read from the object store by its hash (checked against it). Needs a running
    worker while the case is open (it asks the case which photos it carries)."""
    with reported():
        settings = load_settings()
        _, data = ask(settings, lambda client: _carried(client, complaint_id, sha256), database=False)
        try:
            out.write_bytes(data)
        except OSError as error:
            raise InvalidInput("out", f"{out}: {error.strerror}") from None
    typer.echo(f"{out} ({len(data)} bytes)")


async def _carried(client: WhistleClient, complaint_id: str, sha256: str) -> bytes:
    if sha256 not in {carried.sha256 for carried in await client.case_photos(complaint_id)}:
        raise CommandRejected("sha256", f"the case {complaint_id} carries no photo {sha256}")
    data = await client.photo(sha256)
    if data is None:
        raise RuntimeError(f"photos: {sha256} is not in the object store")
    return data
