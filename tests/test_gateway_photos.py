"""Photos through the gateway: a multipart upload answers a reference, a filing and a completion carry it, a key that
may read the case reads the photo back and others get 404; a published case's Open311 request links its photo, served
keyless until the case is unpublished; what is not a photo, too large, or never uploaded is refused with the field."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.event_store import Pool, load_case
from activities.photo_store import DirectoryPhotoStore
from schemas.commands import BlowWhistle, ReportIn, VerifyComplaint
from schemas.evidence import MAX_PHOTO_BYTES
from tests.domain_fixtures import GRID_WORKER, SECRETARY, department, grid_worker, secretary
from tests.gateway_helpers import Served, serving
from tests.helpers import new_intake, wait_until
from tests.photos import JPEG, PNG, photo_bytes

LEAD = "urban_management"


@pytest.fixture(scope="module")
async def served(
    dev_env: WorkflowEnvironment, pool: Pool, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Served]:
    photos = DirectoryPhotoStore(tmp_path_factory.mktemp("objects"))
    async with serving(dev_env.client, pool, photos=photos) as running:
        yield running


async def upload(http: httpx.AsyncClient, key: str, data: bytes, name: str = "p.jpg") -> httpx.Response:
    return await http.post("/api/v1/photos", files={"file": (name, data, "image/jpeg")}, headers={"X-API-Key": key})


async def in_handling(served: Served, complaint_id: str) -> None:
    """Verified, the whistle blown for the lead department alone, and its report-in: joint handling under way."""
    await served.client.execute(complaint_id, VerifyComplaint(actor=grid_worker(GRID_WORKER)))
    await served.client.execute(complaint_id, BlowWhistle(actor=secretary(SECRETARY), departments=[LEAD]))
    await served.client.execute(complaint_id, ReportIn(actor=department(LEAD), department=LEAD, officer="王队长"))


async def test_a_photo_filed_with_the_complaint_and_one_at_completion_are_read_back_by_who_may_read_the_case(
    served: Served, http: httpx.AsyncClient
) -> None:
    operator = await served.key("operator", "op-photos")
    before_bytes, after_bytes = photo_bytes(JPEG, 5000), photo_bytes(PNG, 3000)
    uploaded = await upload(http, operator, before_bytes)
    assert uploaded.status_code == 201, uploaded.text
    before = uploaded.json()
    assert before == {"sha256": hashlib.sha256(before_bytes).hexdigest(), "media_type": JPEG, "size": 5000}
    assert (await upload(http, operator, before_bytes)).json() == before  # the same bytes: the same reference

    intake = new_intake().model_dump(mode="json", exclude_none=True) | {"photos": [before]}
    filed = await http.post("/api/v1/complaints", json=intake, headers={"X-API-Key": operator})
    assert filed.status_code == 201, filed.text
    complaint_id = filed.json()["complaint_id"]
    await in_handling(served, complaint_id)

    urban = await served.key("department", LEAD)
    after = (await upload(http, urban, after_bytes)).json()
    done = await http.post(
        f"/api/v1/complaints/{complaint_id}/complete",
        json={"result": "油烟净化器已安装", "photos": [after]},
        headers={"X-API-Key": urban},
    )
    assert done.status_code == 200, done.text

    async def completion_recorded() -> bool:  # the history's store activity follows the Update's answer
        return any(item.event.type == "PartCompleted" for item in await served.client.events(complaint_id))

    await wait_until(completion_recorded)
    events = [item.event for item in await served.client.events(complaint_id)]
    [completed] = [event for event in events if event.type == "PartCompleted"]
    assert completed.model_dump(mode="json")["photos"] == [after]

    for key, sha, data in ((operator, before["sha256"], before_bytes), (urban, after["sha256"], after_bytes)):
        read = await http.get(f"/api/v1/complaints/{complaint_id}/photos/{sha}", headers={"X-API-Key": key})
        assert read.status_code == 200 and read.content == data
        assert read.headers["content-type"] == ("image/jpeg" if data is before_bytes else "image/png")
    outsider = await served.key("department", "traffic_police")
    hidden = await http.get(
        f"/api/v1/complaints/{complaint_id}/photos/{before['sha256']}", headers={"X-API-Key": outsider}
    )
    assert hidden.status_code == 404  # not its case: as if there were none
    stray = (await upload(http, urban, photo_bytes(JPEG, 100))).json()["sha256"]  # stored, but on no case
    unrelated = await http.get(f"/api/v1/complaints/{complaint_id}/photos/{stray}", headers={"X-API-Key": urban})
    assert unrelated.status_code == 404 and unrelated.json()["field"] == "sha256"


async def test_a_published_cases_open311_request_links_its_photo_served_keyless_until_unpublished(
    served: Served, http: httpx.AsyncClient
) -> None:
    photo = await served.client.upload_photo(photo_bytes(JPEG, 800))
    complaint_id = (await served.client.submit(new_intake(photos=[photo.model_dump()]))).complaint_id

    async def in_the_read_model() -> bool:
        return await load_case(served.pool, complaint_id) is not None

    await wait_until(in_the_read_model)
    link = f"/open311/v2/media/{complaint_id}/{photo.sha256}.jpg"
    assert (await http.get(link)).status_code == 404  # not published
    secretary_key = {"X-API-Key": await served.key("community-secretary", SECRETARY)}
    body = {"public_title": "15号楼底商油烟扰民", "public_description": "联合整治中。"}
    published = await http.post(f"/api/v1/complaints/{complaint_id}/publish", json=body, headers=secretary_key)
    assert published.status_code == 200, published.text

    [public] = (await http.get(f"/open311/v2/requests/{complaint_id}.json")).json()
    assert public["media_url"] == f"{served.url}{link}"
    shown = await http.get(link)
    assert shown.status_code == 200 and shown.headers["content-type"] == JPEG
    assert hashlib.sha256(shown.content).hexdigest() == photo.sha256
    [full] = (await http.get(f"/open311/v2/requests/{complaint_id}.json", headers=secretary_key)).json()
    assert full["media_url"] == f"{served.url}/api/v1/complaints/{complaint_id}/photos/{photo.sha256}"

    await http.post(f"/api/v1/complaints/{complaint_id}/unpublish", json={"reason": "撤回"}, headers=secretary_key)
    assert (await http.get(link)).status_code == 404


async def test_what_is_no_photo_or_too_large_is_refused_naming_photos(served: Served, http: httpx.AsyncClient) -> None:
    key = await served.key("operator", "op-photos")
    pdf = await upload(http, key, b"%PDF-1.7 not a picture", name="p.jpg")
    assert pdf.status_code == 422 and pdf.json()["field"] == "photos" and "not a photo" in pdf.json()["reason"]
    large = await upload(http, key, photo_bytes(JPEG, MAX_PHOTO_BYTES + 1))
    assert large.status_code == 422 and large.json()["field"] == "photos"
    far_too_large = await upload(http, key, photo_bytes(JPEG, MAX_PHOTO_BYTES + 200 * 1024))
    assert far_too_large.status_code == 413  # refused before FastAPI reads it
    keyless = await http.post("/api/v1/photos", files={"file": ("p.jpg", photo_bytes(), "image/jpeg")})
    assert keyless.status_code == 401


async def test_a_reference_never_uploaded_files_nothing(
    served: Served, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    key = await served.key("operator", "op-photos")
    ghost = {"sha256": hashlib.sha256(b"never uploaded").hexdigest(), "media_type": JPEG, "size": 14}
    intake = new_intake().model_dump(mode="json", exclude_none=True) | {"photos": [ghost]}
    refused = await http.post("/api/v1/complaints", json=intake, headers={"X-API-Key": key})
    assert refused.status_code == 409 and refused.json()["field"] == "photos"
    assert "upload it first" in refused.json()["reason"]
    assert await load_case(served.pool, intake["complaint_id"]) is None
    real = (await upload(http, key, photo_bytes(JPEG, 100))).json()
    misdescribed = intake | {"photos": [real | {"size": 99}]}
    wrong = await http.post("/api/v1/complaints", json=misdescribed, headers={"X-API-Key": key})
    assert wrong.status_code == 409 and wrong.json()["field"] == "photos"
