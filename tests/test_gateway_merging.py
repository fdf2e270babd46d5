"""Duplicates and merging through the gateway (工单合并), over real HTTP against the dev server and PostgreSQL: a
create answers with the likely duplicates the key may read, ``GET .../duplicates`` lists them within the key's
reach, a resident's key sees no other residents' reports, and a merge needs the primary within reach as well."""

from __future__ import annotations

import httpx

from activities.event_store import Pool
from tests.gateway_helpers import Served, intake_json, post
from tests.helpers import wait_until

OTHER_HOTLINE = "hotline-other"


async def stored(pool: Pool, *complaint_ids: str) -> None:
    async def there() -> bool:
        found = await pool.fetchval("select count(*) from complaints where complaint_id = any($1)", list(complaint_ids))
        return bool(found == len(complaint_ids))

    await wait_until(there)


async def file(http: httpx.AsyncClient, key: str, **overrides: object) -> dict[str, object]:
    answer = await post(http, key, "/api/v1/complaints", intake_json(**overrides))
    assert answer.status_code == 201, answer.text
    body: dict[str, object] = answer.json()
    return body


def ids(candidates: object) -> list[str]:
    assert isinstance(candidates, list)
    return [candidate["complaint_id"] for candidate in candidates]


async def test_a_create_suggests_only_the_duplicates_the_key_may_read(served: Served, http: httpx.AsyncClient) -> None:
    operator = await served.key("operator", "op-merge-1")
    stranger = await served.key("operator", "op-other-1", organisation=OTHER_HOTLINE)
    resident = await served.key("resident", "app-merge-1")
    first = await file(http, operator, category="illegal_signboard")
    await stored(served.pool, str(first["complaint_id"]))

    second = await file(http, operator, category="illegal_signboard")
    assert str(first["complaint_id"]) in ids(second["possible_duplicates"])
    theirs = await file(http, stranger, category="illegal_signboard")
    assert str(first["complaint_id"]) not in ids(theirs["possible_duplicates"])  # another organisation's cases
    body = intake_json(category="illegal_signboard")
    for decided_by_the_server in ("complaint_id", "source", "urgency", "reported_at"):
        body.pop(decided_by_the_server)
    own = await post(http, resident, "/api/v1/complaints", body)
    assert own.status_code == 201 and own.json()["possible_duplicates"] is None  # nobody else's reports


async def test_duplicates_are_listed_within_reach_and_merged_with_the_primary_in_reach(
    served: Served, http: httpx.AsyncClient
) -> None:
    operator = await served.key("operator", "op-merge-2")
    stranger = await served.key("operator", "op-other-2", organisation=OTHER_HOTLINE)
    secretary = await served.key("community-secretary", "sec-hongqi")
    resident = await served.key("resident", "app-merge-2")
    primary = str((await file(http, operator, category="random_parking"))["complaint_id"])
    report = str((await file(http, operator, category="random_parking"))["complaint_id"])
    elsewhere = str((await file(http, stranger, category="random_parking"))["complaint_id"])
    await stored(served.pool, primary, report, elsewhere)

    listed = await http.get(f"/api/v1/complaints/{report}/duplicates", headers={"X-API-Key": operator})
    assert listed.status_code == 200 and primary in ids(listed.json()) and elsewhere not in ids(listed.json())
    by_place = await http.get(f"/api/v1/complaints/{report}/duplicates", headers={"X-API-Key": secretary})
    assert {primary, elsewhere} <= set(ids(by_place.json()))  # the community's secretary sees the community
    foreign = await http.get(f"/api/v1/complaints/{report}/duplicates", headers={"X-API-Key": stranger})
    assert foreign.status_code == 404  # the case itself is out of the stranger's reach
    refused = await http.get(f"/api/v1/complaints/{report}/duplicates", headers={"X-API-Key": resident})
    assert refused.status_code == 403 and refused.json()["field"] == "actor"

    out_of_reach = await post(http, operator, f"/api/v1/complaints/{report}/merge", {"into": elsewhere})
    assert out_of_reach.status_code == 404 and out_of_reach.json()["field"] == "into"
    unknown = await post(http, operator, f"/api/v1/complaints/{report}/merge", {"into": "T-nosuchcase"})
    assert unknown.status_code == 404 and unknown.json()["field"] == "into"
    assert (await post(http, resident, f"/api/v1/complaints/{report}/merge", {"into": primary})).status_code == 404
    merged = await post(http, operator, f"/api/v1/complaints/{report}/merge", {"into": primary, "note": "同一处"})
    assert merged.status_code == 200, merged.text
    assert (merged.json()["stage"], merged.json()["merged_into"]) == ("merged", primary)
    again = await post(http, secretary, f"/api/v1/complaints/{report}/merge", {"into": primary})
    assert again.status_code == 409 and again.json()["field"] == "stage"

    async def carried() -> bool:
        view = (await http.get(f"/api/v1/complaints/{primary}", headers={"X-API-Key": operator})).json()
        return bool(view["linked_reports"] == [report])

    await wait_until(carried)
    undone = await post(http, secretary, f"/api/v1/complaints/{report}/unmerge", {"reason": "不是同一处"})
    assert undone.status_code == 200 and undone.json()["stage"] == "discovered"
