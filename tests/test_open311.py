"""Open311 GeoReport v2, called the way a third-party 311 client calls it: form-encoded POST, JSON GETs."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from xml.etree import ElementTree

import httpx
import pytest

from tests.gateway_helpers import HOTLINE, Served
from tests.helpers import wait_until

SPEC_FIELDS = {
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
    "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
    "address", "address_id", "zipcode", "lat", "long", "media_url",
}  # fmt: skip
"""The fields of a service request, as the specification names them."""


@pytest.fixture
async def http(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"{served.url}/open311/v2", timeout=30) as client:
        yield client


def assert_error(response: httpx.Response, status: int) -> None:
    """The specification's error format: a list of ``{code, description}`` with the HTTP status as code."""
    assert response.status_code == status, response.text
    [error] = response.json()
    assert error["code"] == status and isinstance(error["description"], str) and error["description"]


async def test_services_are_the_categories(served: Served, http: httpx.AsyncClient) -> None:
    response = await http.get("/services.json", params={"jurisdiction_id": "兴工区"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    services = {service["service_code"]: service for service in response.json()}
    assert set(services) == {category.code for category in served.client.directory.categories}
    streetlight = services["streetlight"]
    assert set(streetlight) == {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
    assert streetlight["service_name"] == "路灯不亮" and streetlight["metadata"] is True
    assert streetlight["type"] == "realtime" and "Streetlight" in streetlight["keywords"]
    definition = await http.get("/services/streetlight.json")
    assert [attribute["code"] for attribute in definition.json()["attributes"]] == [
        "community", "grid", "publish_consent"
    ]
    assert_error(await http.get("/services/no_such_thing.json"), 404)


async def test_a_client_files_and_follows_a_request(served: Served, http: httpx.AsyncClient) -> None:
    api_key = await served.key("integrator", "open311-app", organisation=HOTLINE)  # the 12345 hotline's own app
    form = {
        "api_key": api_key,
        "service_code": "streetlight",
        "lat": "41.7921",
        "long": "123.3412",
        "address_string": "兴工区钢苑社区第一网格（老钢厂宿舍）3号楼前",
        "description": "老钢厂宿舍3号楼前路灯一排都不亮，晚上很黑。",
        "first_name": "建国",
        "last_name": "王",
        "phone": "13800000001",
        "email": "wang@example.com",
        "account_id": "acct-77",
        "media_url": "https://example.com/photos/lamp.jpg",
    }
    created = await http.post("/requests.json", data=form)
    assert created.status_code == 200, created.text
    [receipt] = created.json()
    assert set(receipt) == {"service_request_id", "service_notice", "account_id"}
    assert receipt["account_id"] == "acct-77"
    request_id = receipt["service_request_id"]

    # Its integrator reads it with its key, right away (folded from history if the read model trails).
    keyed = {"api_key": api_key}
    [fresh] = (await http.get(f"/requests/{request_id}.json", params=keyed)).json()
    assert set(fresh) == SPEC_FIELDS and fresh["status"] == "open"

    async def stored() -> bool:
        return bool(await served.pool.fetchval("select 1 from complaints where complaint_id = $1", request_id))

    await wait_until(stored)
    [found] = (await http.get(f"/requests/{request_id}.json", headers={"X-API-Key": api_key})).json()
    assert found["service_request_id"] == request_id and found["status"] == "open"
    assert found["service_code"] == "streetlight" and found["service_name"] == "路灯不亮"
    assert found["address"] == form["address_string"] and found["lat"] == 41.7921 and found["long"] == 123.3412
    assert found["media_url"] == form["media_url"] and found["description"] == form["description"]
    assert "网格发现" in found["status_notes"]
    for moment in ("requested_datetime", "updated_datetime", "expected_datetime"):
        assert datetime.fromisoformat(found[moment]).utcoffset() is not None  # w3c, with the offset
    assert "王" not in str(found) and "13800000001" not in str(found)  # no personal data, even with a key
    case = await served.pool.fetchrow("select community, grid from complaints where complaint_id = $1", request_id)
    assert case is not None and (case["community"], case["grid"]) == (
        "gangyuan",
        "gangyuan_1",
    )  # placed by the names in the address

    listed = await http.get("/requests.json", params={"service_request_id": f"{request_id},nothing-here", **keyed})
    assert [item["service_request_id"] for item in listed.json()] == [request_id]
    by_code = (await http.get("/requests.json", params={"service_code": "streetlight", "status": "open", **keyed}))
    assert request_id in {item["service_request_id"] for item in by_code.json()}
    closed = await http.get("/requests.json", params={"service_code": "streetlight", "status": "closed", **keyed})
    assert request_id not in {item["service_request_id"] for item in closed.json()}
    window = {"start_date": "2020-01-01T00:00:00Z", "end_date": "2020-12-31T00:00:00+08:00", **keyed}
    assert (await http.get("/requests.json", params=window)).json() == []
    # Nobody published it: a keyless read does not see it at all.
    assert_error(await http.get(f"/requests/{request_id}.json"), 404)
    assert (await http.get("/requests.json", params={"service_request_id": request_id})).json() == []

    # Withdrawn by an operator for the resident, it reads closed.
    operator = await served.key("operator", "op-12345-01")
    withdrawn = await httpx.AsyncClient(base_url=served.url).post(
        f"/api/v1/complaints/{request_id}/withdraw", json={"reason": "居民来电撤回"}, headers={"X-API-Key": operator}
    )
    assert withdrawn.status_code == 200, withdrawn.text

    async def reads_closed() -> bool:
        [item] = (await http.get(f"/requests/{request_id}.json", params=keyed)).json()
        return bool(item["status"] == "closed")

    await wait_until(reads_closed)


async def test_extension_attributes_place_the_request(served: Served, http: httpx.AsyncClient) -> None:
    api_key = await served.key("integrator", "open311-app")
    form = {
        "api_key": api_key, "service_code": "noise", "address_string": "河边", "phone": "13800000002",
        "attribute[community]": "hebin", "attribute[grid]": "hebin_2", "description": "夜里施工噪声",
    }  # fmt: skip
    created = await http.post("/requests.json", data=form)
    assert created.status_code == 200, created.text
    [receipt] = created.json()
    [view] = [await served.client.status(receipt["service_request_id"])]
    assert (view.community, view.grid) == ("hebin", "hebin_2")


async def test_errors_in_the_specification_format(served: Served, http: httpx.AsyncClient) -> None:
    api_key = await served.key("integrator", "open311-app")
    base = {"service_code": "noise", "address_string": "红旗社区5号楼", "phone": "13800000003"}
    assert_error(await http.post("/requests.json", data=base), 400)  # no api_key at all
    assert_error(await http.post("/requests.json", data={**base, "api_key": "not-a-key"}), 403)
    supervisor = await served.key("supervisor", "dubanchu")
    assert_error(await http.post("/requests.json", data={**base, "api_key": supervisor}), 403)
    assert_error(await http.post("/requests.json", data={**base, "api_key": api_key, "service_code": "nope"}), 400)
    no_place = {"api_key": api_key, "service_code": "noise", "phone": "13800000003"}
    assert_error(await http.post("/requests.json", data=no_place), 400)  # neither lat/long nor address_string
    nowhere = {**base, "api_key": api_key, "address_string": "某地"}
    assert_error(await http.post("/requests.json", data=nowhere), 400)  # no community found, no default
    assert_error(await http.post("/requests.json", data={**base, "api_key": api_key, "lat": "north"}), 400)
    assert_error(await http.get(f"/requests/{uuid.uuid4().hex}.json"), 404)
    assert_error(await http.get(f"/requests/{'x' * 2000}.json"), 400)  # not an id at all
    assert_error(await http.get("/requests.json", params={"status": "pending"}), 400)
    assert_error(await http.get("/requests.json", params={"start_date": "yesterday"}), 400)


async def test_the_same_methods_in_xml(served: Served, http: httpx.AsyncClient) -> None:
    services = await http.get("/services.xml")
    assert services.status_code == 200 and services.headers["content-type"].startswith("text/xml")
    root = ElementTree.fromstring(services.content)
    assert root.tag == "services" and root.find("service/service_code") is not None
    assert {element.text for element in root.iter("service_code")} >= {"streetlight", "noise"}
    definition = ElementTree.fromstring((await http.get("/services/noise.xml")).content)
    assert [element.text for element in definition.iter("code")] == ["community", "grid", "publish_consent"]

    api_key = await served.key("integrator", "open311-app")
    form = {"api_key": api_key, "service_code": "garbage", "address_string": "安居社区2号楼", "phone": "13800000004"}
    created = await http.post("/requests.xml", data=form)
    assert created.status_code == 200, created.text
    request_id = ElementTree.fromstring(created.content).findtext("request/service_request_id")
    assert request_id
    one = ElementTree.fromstring((await http.get(f"/requests/{request_id}.xml", params={"api_key": api_key})).content)
    assert one.tag == "service_requests" and one.findtext("request/status") == "open"
    assert one.findtext("request/service_code") == "garbage"

    error = await http.post("/requests.xml", data={**form, "api_key": "nope"})
    assert error.status_code == 403 and error.headers["content-type"].startswith("text/xml")
    assert ElementTree.fromstring(error.content).findtext("error/code") == "403"


async def test_a_request_with_only_coordinates_is_placed_in_its_grid(served: Served, http: httpx.AsyncClient) -> None:
    api_key = await served.key("integrator", "open311-app", organisation=HOTLINE)
    form = {"api_key": api_key, "service_code": "streetlight", "lat": "41.7921", "long": "123.3412",
            "description": "路灯不亮", "phone": "13800000009"}
    created = await http.post("/requests.json", data=form)
    assert created.status_code == 200, created.text
    nowhere = await http.post("/requests.json", data={**form, "lat": "41.9", "long": "123.1"})
    assert nowhere.status_code == 400 and "location" in nowhere.text and "no grid" in nowhere.text
