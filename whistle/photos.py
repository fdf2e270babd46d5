"""The SDK's side of photos: the store the settings name, and the check that a case's references are stored."""

from __future__ import annotations

from activities.photo_store import DirectoryPhotoStore, PhotoStore, S3PhotoStore
from schemas.errors import CommandRejected
from schemas.evidence import Photo
from whistle.settings import Settings


def photo_store(settings: Settings) -> PhotoStore:
    """``settings.photo_bucket`` on ``s3_endpoint_url`` (S3 itself when unset), else ``photo_dir`` (default
    ``<home>/objects``)."""
    if settings.photo_bucket is not None:
        secret = settings.s3_secret_access_key
        return S3PhotoStore(
            settings.photo_bucket,
            prefix=settings.photo_prefix,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret is not None else None,
        )
    return DirectoryPhotoStore(settings.photo_dir or settings.home / "objects")


async def ensure_stored(store: PhotoStore | None, photos: tuple[Photo, ...]) -> None:
    """Refuse (``CommandRejected`` on ``photos``) references the store does not hold as given: the decider trusts a
    reference, since it cannot look, so this is where a photo is known to exist before a case records it."""
    if not photos:
        return
    if store is None:
        raise CommandRejected("photos", "this client has no photo store to check the photos against")
    for photo in photos:
        held = await store.stat(photo.sha256)
        if held is None:
            raise CommandRejected("photos", f"no photo {photo.sha256} in the store: upload it first")
        if held != photo:
            raise CommandRejected(
                "photos", f"photo {photo.sha256} is a {held.media_type} of {held.size} bytes, not as referenced"
            )
