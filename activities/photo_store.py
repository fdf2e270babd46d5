"""The object store for photos: content-addressed, so a photo is stored once however often it is sent.

A photo's key is the SHA-256 of its bytes (``schemas/evidence.py``), so an upload is idempotent (the same bytes,
the same key, nothing new written) and a reader can check what it got against the key it asked for. Two backends:
a directory (the default, under ``.whistle/objects/``; one file per photo, written atomically) and any
S3-compatible store (Amazon S3, MinIO, SeaweedFS, Ceph, OSS/COS with their S3 APIs) through boto3. Both refuse
what ``photo_of`` refuses before a byte is written: the type is sniffed from the bytes, the size capped.

The bytes never go near Temporal: the SDK puts them here first and the case carries only the ``Photo`` reference.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, get_args

from schemas.evidence import MediaType, Photo, photo_of, sniff_media_type


class PhotoCorrupt(Exception):
    """The store answered bytes that do not hash to the key they are kept under."""


class PhotoStore(ABC):
    """Put a photo's bytes and get them back by their SHA-256."""

    async def put(self, data: bytes) -> Photo:
        """Store ``data`` and return its reference; ``CommandRejected`` on ``photos`` for what a case does not take
        (not a picture by its bytes, empty, past ``MAX_PHOTO_BYTES``). Storing the same bytes again writes nothing."""
        photo = photo_of(data)
        if await self.stat(photo.sha256) != photo:
            await self._write(photo, data)
        return photo

    async def get(self, sha256: str) -> bytes | None:
        """The photo's bytes, or None when the store has none under ``sha256``; ``PhotoCorrupt`` when what it holds
        does not hash to ``sha256``."""
        data = await self._read(sha256)
        if data is not None and hashlib.sha256(data).hexdigest() != sha256:
            raise PhotoCorrupt(f"the photo stored under {sha256} does not hash to it")
        return data

    @abstractmethod
    async def stat(self, sha256: str) -> Photo | None:
        """The reference for what the store holds under ``sha256`` (type and size), or None."""

    @abstractmethod
    async def _write(self, photo: Photo, data: bytes) -> None: ...

    @abstractmethod
    async def _read(self, sha256: str) -> bytes | None: ...


class DirectoryPhotoStore(PhotoStore):
    """Photos as files under ``root``: ``<root>/<first two hex digits>/<sha256>``, fanned out so no directory
    grows past a few thousand entries. A write goes to a temporary file first and is renamed into place, so a
    reader never sees half a photo."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    async def stat(self, sha256: str) -> Photo | None:
        return await asyncio.to_thread(self._stat, sha256)

    def _stat(self, sha256: str) -> Photo | None:
        path = self.path_of(sha256)
        try:
            with path.open("rb") as file:
                media_type = sniff_media_type(file.read(16))
                size = os.fstat(file.fileno()).st_size
        except FileNotFoundError:
            return None
        if media_type is None or size == 0:
            return None
        return Photo(sha256=sha256, media_type=media_type, size=size)

    async def _write(self, photo: Photo, data: bytes) -> None:
        await asyncio.to_thread(self._write_file, photo.sha256, data)

    def _write_file(self, sha256: str, data: bytes) -> None:
        path = self.path_of(sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    async def _read(self, sha256: str) -> bytes | None:
        try:
            return await asyncio.to_thread(self.path_of(sha256).read_bytes)
        except FileNotFoundError:
            return None


class S3PhotoStore(PhotoStore):
    """Photos as objects in an S3 bucket, key ``<prefix><sha256>``, with the sniffed type as the object's
    ``Content-Type``. ``endpoint_url`` points at an S3-compatible server (unset: Amazon S3); credentials not
    given are found as boto3 finds them (its environment variables, a profile, an instance or pod role). Path-style
    addressing, which every S3-compatible server answers. boto3 is synchronous: each call runs in a thread."""

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "photos/",
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> None:
        import boto3  # here, so a process on the directory store never pays for importing it
        from botocore.config import Config

        self.bucket, self.prefix = bucket, prefix
        self._client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=Config(s3={"addressing_style": "path"}, retries={"mode": "standard", "max_attempts": 3}),
        )

    def key_of(self, sha256: str) -> str:
        return f"{self.prefix}{sha256}"

    async def stat(self, sha256: str) -> Photo | None:
        try:
            head = await asyncio.to_thread(self._client.head_object, Bucket=self.bucket, Key=self.key_of(sha256))
        except self._client.exceptions.ClientError as error:
            if _missing(error):
                return None
            raise
        media_type = head.get("ContentType")
        if media_type not in get_args(MediaType) or not head.get("ContentLength"):
            return None
        return Photo(sha256=sha256, media_type=media_type, size=head["ContentLength"])

    async def _write(self, photo: Photo, data: bytes) -> None:
        await asyncio.to_thread(
            self._client.put_object,
            Bucket=self.bucket, Key=self.key_of(photo.sha256), Body=data, ContentType=photo.media_type,
        )  # fmt: skip

    async def _read(self, sha256: str) -> bytes | None:
        def read() -> bytes:
            answer = self._client.get_object(Bucket=self.bucket, Key=self.key_of(sha256))
            body: bytes = answer["Body"].read()
            return body

        try:
            return await asyncio.to_thread(read)
        except self._client.exceptions.ClientError as error:
            if _missing(error):
                return None
            raise


def _missing(error: Any) -> bool:
    """A ClientError that means no such object (HEAD answers a bare 404, GET ``NoSuchKey``)."""
    return str(error.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound")
