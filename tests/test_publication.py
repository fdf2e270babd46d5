"""Publication (公开): nothing of a case is public until a moderator publishes it with a text of their own, and then
only that text, the category, the stage and the grid; a reporter who said no is respected."""

from __future__ import annotations

import httpx
import pytest

from activities.event_store import load_case
from schemas.actors import Actor
from schemas.errors import CommandRejected
from schemas.publication import CasePublished, CaseUnpublished, PublishCase, UnpublishCase, decide_publication
from tests.domain_fixtures import FIRST_SECRETARY, NOW, SECRETARY, STREET_SECRETARY, make_case
from tests.gateway_helpers import Served
from tests.helpers import new_intake, wait_until

CONTEXT = make_case().context
PUBLISH = PublishCase(
    actor=Actor(kind="community_secretary", id=SECRETARY), public_title="烧烤店油烟扰民问题",
    public_description="已整治。",
)  # fmt: skip


@pytest.mark.parametrize(
    "actor",
    [Actor(kind="community_secretary", id=SECRETARY), Actor(kind="first_secretary", id=FIRST_SECRETARY),
     Actor(kind="street_secretary", id=STREET_SECRETARY)],
    ids=["the community secretary", "the first secretary", "the street secretary"],
)  # fmt: skip
def test_the_cases_secretaries_publish_and_unpublish(actor: Actor) -> None:
    published = decide_publication(CONTEXT, False, None, PUBLISH.model_copy(update={"actor": actor}), NOW)
    assert isinstance(published, CasePublished) and published.by == actor
    assert published.public_title == "烧烤店油烟扰民问题"
    withdrawn = decide_publication(CONTEXT, True, True, UnpublishCase(actor=actor, reason="有误"), NOW)
    assert isinstance(withdrawn, CaseUnpublished) and withdrawn.reason == "有误"


@pytest.mark.parametrize(
    "actor",
    [Actor(kind="community_secretary", id="sec-anju"), Actor(kind="department", id="urban_management"),
     Actor(kind="resident", id="app-10106")],
    ids=["another community's secretary", "a department", "a resident"],
)  # fmt: skip
def test_nobody_else_publishes(actor: Actor) -> None:
    with pytest.raises(CommandRejected) as refused:
        decide_publication(CONTEXT, False, None, PUBLISH.model_copy(update={"actor": actor}), NOW)
    assert refused.value.field == "actor"


def test_a_reporter_who_declined_is_not_published_and_nothing_unpublished_twice() -> None:
    with pytest.raises(CommandRejected) as declined:
        decide_publication(CONTEXT, False, False, PUBLISH, NOW)
    assert declined.value.field == "publish_consent"
    with pytest.raises(CommandRejected) as not_public:
        decide_publication(CONTEXT, False, None, UnpublishCase(actor=PUBLISH.actor, reason="撤回"), NOW)
    assert not_public.value.field == "published"


async def filed(served: Served, consent: bool | None = None) -> str:
    intake = new_intake()
    if consent is not None:
        intake = intake.model_copy(update={"reporter": intake.reporter.model_copy(update={"publish_consent": consent})})
    complaint_id = (await served.client.submit(intake)).complaint_id

    async def in_the_read_model() -> bool:
        return await load_case(served.pool, complaint_id) is not None

    await wait_until(in_the_read_model)
    return complaint_id


async def test_a_published_case_is_public_in_its_public_form_only(served: Served) -> None:
    complaint_id = await filed(served)
    secretary = {"X-API-Key": await served.key("community-secretary", SECRETARY)}
    async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:
        before = await http.get(f"/open311/v2/requests/{complaint_id}.json")
        assert before.status_code == 404  # not published: a keyless read does not know it

        body = {"public_title": "15号楼底商油烟扰民", "public_description": "城管、市场监管联合整治中。"}
        department = {"X-API-Key": await served.key("department", "urban_management")}
        refused = await http.post(f"/api/v1/complaints/{complaint_id}/publish", json=body, headers=department)
        assert refused.status_code == 403 and refused.json()["field"] == "actor"
        published = await http.post(f"/api/v1/complaints/{complaint_id}/publish", json=body, headers=secretary)
        assert published.status_code == 200, published.text
        assert published.json()["published"] is True

        [public] = (await http.get(f"/open311/v2/requests/{complaint_id}.json")).json()
        assert public["description"] == "【15号楼底商油烟扰民】城管、市场监管联合整治中。"
        assert public["address"] == "红旗社区第一网格" and public["lat"] is None and public["long"] is None
        assert "烧烤店" not in str(public) and "兴工区红旗社区15号楼底商" not in str(public)  # the resident's words
        listed = (await http.get("/open311/v2/requests.json", params={"service_request_id": complaint_id})).json()
        assert [item["service_request_id"] for item in listed] == [complaint_id]
        [full] = (await http.get(f"/open311/v2/requests/{complaint_id}.json", headers=secretary)).json()
        assert full["address"] == "兴工区红旗社区15号楼底商"  # the case's own secretary reads it in full

        taken_off = await http.post(
            f"/api/v1/complaints/{complaint_id}/unpublish", json={"reason": "内容需修改"}, headers=secretary
        )
        assert taken_off.status_code == 200 and taken_off.json()["published"] is False
        assert (await http.get(f"/open311/v2/requests/{complaint_id}.json")).status_code == 404
        again = await http.post(
            f"/api/v1/complaints/{complaint_id}/unpublish", json={"reason": "再撤"}, headers=secretary
        )
        assert again.status_code == 409 and again.json()["field"] == "published"
    kept = await served.pool.fetch(
        "select type from publication_events where complaint_id = $1 order by seq", complaint_id
    )
    assert [row["type"] for row in kept] == ["CasePublished", "CaseUnpublished"]


async def test_a_case_whose_reporter_declined_is_never_published(served: Served) -> None:
    complaint_id = await filed(served, consent=False)
    with pytest.raises(CommandRejected) as declined:
        await served.client.publish(complaint_id, PUBLISH)
    assert declined.value.field == "publish_consent"
    consenting = await filed(served, consent=True)
    assert (await served.client.publish(consenting, PUBLISH)) is not None
