"""Photos over HTTP: upload one (multipart), then attach its reference to a filing or a command; read them back.

* ``POST /api/v1/photos`` (multipart, field ``file``): any live key stores a photo in the object store and gets its
  reference (``{sha256, media_type, size}``), which the JSON of ``POST /complaints``, ``.../progress`` and
  ``.../complete`` then carries in ``photos``. The JSON bodies keep their 64 KiB cap; this path alone takes up to
  ``UPLOAD_LIMIT``. The type is judged from the bytes (JPEG, PNG, WebP), never from the part's declared type.
* ``GET /api/v1/complaints/{id}/photos/{sha256}``: the photo, to a key that may read the case, and only if that
  case carries it (a key cannot read a photo by guessing its hash through a case it may read).
* ``GET /open311/v2/media/{id}/{sha256}.{ext}``: keyless, as Open311's ``media_url`` of a published case points
  here; answers while the case is published and carries the photo, ``404`` otherwise (unpublishing takes it off).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Path, Response, UploadFile

from gateway import access
from gateway.context import Gateway, GatewayDep, PrincipalDep
from gateway.errors import ERROR_RESPONSES, ApiError
from schemas.errors import CommandRejected
from schemas.evidence import MAX_PHOTO_BYTES, SUFFIX, Photo
from schemas.state import CaseState

api_router = APIRouter(prefix="/api/v1", tags=["photos"], responses=ERROR_RESPONSES)
public_router = APIRouter(prefix="/open311/v2", tags=["open311"])

UPLOAD_PATH = "/api/v1/photos"
UPLOAD_LIMIT = MAX_PHOTO_BYTES + 64 * 1024
"""The body an upload may carry: the largest photo and its multipart framing."""
ComplaintIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$", description="The complaint id.")]
Sha256Path = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="The photo's SHA-256 (lower-case hex).")]


def public_media_url(base_url: str, complaint_id: str, photo: Photo) -> str:
    """Where the public reads ``photo`` of a published case (Open311's ``media_url``)."""
    return f"{base_url.rstrip('/')}/open311/v2/media/{complaint_id}/{photo.sha256}.{SUFFIX[photo.media_type]}"


def case_media_url(base_url: str, complaint_id: str, photo: Photo) -> str:
    """Where a key that may read the case reads ``photo``."""
    return f"{base_url.rstrip('/')}/api/v1/complaints/{complaint_id}/photos/{photo.sha256}"


@api_router.post("/photos", response_model=Photo, status_code=201, summary="Upload a photo (现场照片)")
async def upload(
    file: Annotated[UploadFile, File(description="The photo: JPEG, PNG or WebP, at most 10 MiB.")],
    principal: PrincipalDep,
    gateway: GatewayDep,
) -> Photo:
    """Store a photo and answer its reference, to attach to a filing (``photos`` of ``POST /complaints``), a progress
    note or a completion. Content-addressed: the same bytes twice answer the same reference and store nothing new.
    ``422`` on ``photos`` for no picture (judged from the bytes), an empty one or one past 10 MiB."""
    data = await file.read(MAX_PHOTO_BYTES + 1)
    try:
        return await gateway.client.upload_photo(data)
    except CommandRejected as refused:
        raise ApiError(422, refused.field, refused.reason) from None


@api_router.get(
    "/complaints/{complaint_id}/photos/{sha256}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}},
    summary="A photo the case carries",
)
async def case_photo(
    complaint_id: ComplaintIdPath, sha256: Sha256Path, principal: PrincipalDep, gateway: GatewayDep
) -> Response:
    """The photo's bytes, to a key that may read the case; ``404`` when the case carries no such photo."""
    access.check_read(principal, await gateway.scope(complaint_id))
    carried = await gateway.ask(gateway.client.case_photos(complaint_id))
    return await _served(gateway, carried, sha256, cache="private, max-age=86400, immutable")


@public_router.get("/media/{service_request_id}/{name}", include_in_schema=False)
async def public_photo(
    service_request_id: ComplaintIdPath,
    name: Annotated[str, Path(pattern=r"^[0-9a-f]{64}\.(jpg|png|webp)$")],
    gateway: GatewayDep,
) -> Response:
    """A published case's photo, to anyone (the ``media_url`` of its Open311 request); ``404`` when the case is not
    published or does not carry it. Read from the read model, as Open311's public reads are."""
    row = await gateway.checked(
        gateway.pool.fetchrow(
            "select c.state from complaints c join publications p using (complaint_id) where c.complaint_id = $1",
            service_request_id,
        )
    )
    if row is None:
        raise ApiError(404, "service_request_id", f"no published service request {service_request_id!r}")
    carried = CaseState.model_validate(row["state"]).all_photos()
    return await _served(gateway, carried, name.split(".")[0], cache="public, max-age=300")


async def _served(gateway: Gateway, carried: tuple[Photo, ...], sha256: str, *, cache: str) -> Response:
    photo = next((photo for photo in carried if photo.sha256 == sha256), None)
    if photo is None:
        raise ApiError(404, "sha256", f"the case carries no photo {sha256}")
    data = await gateway.client.photo(sha256)
    if data is None:
        raise ApiError(404, "sha256", f"photo {sha256} is not in the object store")
    headers = {"Cache-Control": cache, "ETag": f'"{sha256}"', "X-Content-Type-Options": "nosniff"}
    return Response(data, media_type=photo.media_type, headers=headers)
