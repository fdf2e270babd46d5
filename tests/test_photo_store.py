"""The photo store's two backends behave alike: the directory store and an S3 store on a real S3-compatible server
(SeaweedFS, ``tests/s3_server.py``). Content-addressed, idempotent, refusing what a case does not take, and
checking what it reads against the key."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from activities.photo_store import DirectoryPhotoStore, PhotoCorrupt, PhotoStore
from schemas.errors import CommandRejected
from schemas.evidence import MAX_PHOTO_BYTES
from tests.photos import JPEG, PNG, WEBP, photo_bytes
from tests.s3_server import S3Server, running_s3_server
from whistle.photos import photo_store
from whistle.settings import Settings


@pytest.fixture(scope="module")
async def s3() -> AsyncIterator[S3Server]:
    async with running_s3_server() as server:
        yield server


@pytest.fixture(params=["directory", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> PhotoStore:
    if request.param == "directory":
        return DirectoryPhotoStore(tmp_path / "objects")
    server: S3Server = request.getfixturevalue("s3")
    return server.store(prefix=f"{tmp_path.name}/")  # a prefix of its own: the bucket is shared by the module


@pytest.mark.parametrize("kind", [JPEG, PNG, WEBP])
async def test_a_photo_is_kept_under_its_hash_and_read_back_whole(store: PhotoStore, kind: str) -> None:
    data = photo_bytes(kind, 4000)
    photo = await store.put(data)
    assert photo.sha256 == hashlib.sha256(data).hexdigest()
    assert (photo.media_type, photo.size) == (kind, len(data))
    assert await store.stat(photo.sha256) == photo
    assert await store.get(photo.sha256) == data


async def test_the_same_photo_twice_is_one_object(store: PhotoStore) -> None:
    data = photo_bytes(JPEG, 100)
    first, second = await store.put(data), await store.put(data)
    assert first == second
    assert await store.get(first.sha256) == data


async def test_a_photo_never_stored_is_none(store: PhotoStore) -> None:
    absent = hashlib.sha256(b"never stored").hexdigest()
    assert await store.stat(absent) is None
    assert await store.get(absent) is None


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"%PDF-1.7 a document, not a photo", "not a photo"),
        (b"GIF89a" + b"\0" * 100, "not a photo"),
        (b"", "empty"),
    ],
)
async def test_what_is_not_a_photo_is_refused_and_nothing_stored(store: PhotoStore, data: bytes, reason: str) -> None:
    with pytest.raises(CommandRejected) as refused:
        await store.put(data)
    assert refused.value.field == "photos" and reason in refused.value.reason
    assert await store.stat(hashlib.sha256(data).hexdigest()) is None


async def test_a_photo_past_the_size_limit_is_refused(store: PhotoStore) -> None:
    data = photo_bytes(JPEG, MAX_PHOTO_BYTES + 1)
    with pytest.raises(CommandRejected) as refused:
        await store.put(data)
    assert refused.value.field == "photos" and str(MAX_PHOTO_BYTES) in refused.value.reason
    assert await store.stat(hashlib.sha256(data).hexdigest()) is None


async def test_a_photo_at_the_size_limit_is_taken(tmp_path: Path) -> None:
    store = DirectoryPhotoStore(tmp_path)
    photo = await store.put(photo_bytes(PNG, MAX_PHOTO_BYTES))
    assert photo.size == MAX_PHOTO_BYTES


async def test_a_file_altered_in_the_directory_store_is_reported_corrupt(tmp_path: Path) -> None:
    store = DirectoryPhotoStore(tmp_path)
    photo = await store.put(photo_bytes(JPEG, 100))
    store.path_of(photo.sha256).write_bytes(photo_bytes(JPEG, 101))
    with pytest.raises(PhotoCorrupt):
        await store.get(photo.sha256)


async def test_the_s3_server_refuses_a_client_with_the_wrong_secret(s3: S3Server) -> None:
    intruder = s3.store(secret="not-the-secret")
    with pytest.raises(Exception, match=r"SignatureDoesNotMatch|AccessDenied|403"):
        await intruder.put(photo_bytes(JPEG, 100))


def test_settings_choose_a_directory_under_home_unless_a_bucket_is_named(tmp_path: Path) -> None:
    local = photo_store(Settings(home=tmp_path))
    assert isinstance(local, DirectoryPhotoStore) and local.root == tmp_path / "objects"
    named = {"home": tmp_path, "photo_bucket": "b", "s3_endpoint_url": "http://127.0.0.1:1", "s3_access_key_id": "k"}
    with pytest.raises(ValueError, match="set both, or neither"):
        Settings.model_validate(named)
    remote = photo_store(Settings.model_validate({**named, "s3_secret_access_key": "s"}))
    assert type(remote).__name__ == "S3PhotoStore"
