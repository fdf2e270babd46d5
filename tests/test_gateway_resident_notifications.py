"""``PUT /api/v1/complaints/{id}/resident-notifications`` over real HTTP: the resident opts out of their own case, an
operator for them; a department may not, a stranger does not find the case, a bad body is refused naming the field."""

from __future__ import annotations

import httpx

from tests.domain_fixtures import RESIDENT
from tests.gateway_helpers import HOTLINE, Served
from tests.helpers import new_intake

PATH = "/api/v1/complaints/{}/resident-notifications"


async def put(http: httpx.AsyncClient, key: str, complaint_id: str, body: object) -> httpx.Response:
    return await http.put(PATH.format(complaint_id), json=body, headers={"X-API-Key": key})


async def test_the_resident_opts_out_of_their_own_case_and_back_in(served: Served, http: httpx.AsyncClient) -> None:
    complaint_id = (await served.client.submit(new_intake())).complaint_id  # its reporter is RESIDENT
    resident = await served.key("resident", RESIDENT)
    answer = await put(http, resident, complaint_id, {"enabled": False})
    assert answer.status_code == 200, answer.text
    assert answer.json()["enabled"] is False and answer.json()["changed_by"] == f"resident:{RESIDENT}"
    shown = await http.get(PATH.format(complaint_id), headers={"X-API-Key": resident})
    assert shown.status_code == 200 and shown.json()["enabled"] is False
    assert (await served.client.resident_notifications(complaint_id)).enabled is False
    operator = await served.key("supervisor", "dubanchu-01")
    back = await put(http, operator, complaint_id, {"enabled": True})
    assert back.status_code == 200 and back.json()["enabled"] is True, back.text
    assert back.json()["changed_by"] == "supervisor:dubanchu-01"


async def test_who_may_not_set_a_residents_notifications(served: Served, http: httpx.AsyncClient) -> None:
    complaint_id = (await served.client.submit(new_intake())).complaint_id
    department = await served.key("department", "urban_management")
    refused = await put(http, department, complaint_id, {"enabled": False})
    assert refused.status_code == 403 and refused.json()["field"] == "actor", refused.text
    stranger = await served.key("resident", "app-someone-else")
    hidden = await put(http, stranger, complaint_id, {"enabled": False})
    assert hidden.status_code == 404, hidden.text
    assert (await served.client.resident_notifications(complaint_id)).changed_by is None  # nothing was recorded


async def test_a_bad_body_is_refused_naming_the_field(served: Served, http: httpx.AsyncClient) -> None:
    complaint_id = (await served.client.submit(new_intake())).complaint_id
    resident = await served.key("resident", RESIDENT)
    bodies: list[tuple[dict[str, object], str]] = [
        ({"enabled": "perhaps"}, "enabled"), ({}, "enabled"), ({"enabled": False, "actor": "x"}, "actor"),
    ]  # fmt: skip
    for body, field in bodies:
        answer = await put(http, resident, complaint_id, body)
        assert answer.status_code == 422 and field in answer.text, (body, answer.text)
    assert (await served.client.resident_notifications(complaint_id)).changed_by is None


async def test_an_open311_requests_email_is_kept_for_the_reporter(served: Served, http: httpx.AsyncClient) -> None:
    api_key = await served.key("integrator", "open311-app", organisation=HOTLINE)
    form = {
        "api_key": api_key, "service_code": "streetlight", "lat": "41.7921", "long": "123.3412",
        "description": "老钢厂宿舍3号楼前路灯不亮。", "first_name": "建国", "last_name": "王", "phone": "13800000001",
        "email": "wang.jianguo@example.com",
    }  # fmt: skip
    created = await http.post("/open311/v2/requests.json", data=form)
    assert created.status_code == 200, created.text
    complaint_id = created.json()[0]["service_request_id"]
    assert (await served.client.reporter(complaint_id)).email == "wang.jianguo@example.com"
    refused = await http.post("/open311/v2/requests.json", data={**form, "email": "no-at-sign"})
    assert refused.status_code == 400 and "email" in refused.json()[0]["description"], refused.text
