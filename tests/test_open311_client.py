"""Open311 as a third-party client reads it: PyPI's ``georeport`` (the client issue 18 was tried with) against the
gateway on a real port, in JSON and in XML, with the extensions most GeoReport v2 servers offer: pages, service
definitions, request updates (FixMyStreet's feed and ``extensions=true``) and the one ``jurisdiction_id``.

``georeport`` reads services, definitions and requests; it files nothing and sends no extension parameter, so
requests are filed with a form POST as a stock client sends it, and the extensions are asked the way ``georeport``
asks its own methods (``requests``, then ``xmltodict`` for XML). Its calls block, and the gateway runs in this
test's event loop, so each runs in a thread.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import requests
import xmltodict
from georeport import GeoReport

from gateway.context import Gateway
from schemas.commands import BlowWhistle, CompletePart, EvaluateOutcome, RecordProgress, ReportIn, VerifyComplaint
from schemas.errors import CommandRejected
from schemas.publication import PublishCase
from tests.domain_fixtures import GRID_WORKER, SECRETARY, department, grid_worker, resident, secretary
from tests.gateway_helpers import UNTHROTTLED, Served, serving_app
from tests.helpers import new_intake, wait_until

DISTRICT = "兴工区"
"""The sample org directory's district: the jurisdiction served when none is configured."""
LEAD = "urban_management"
LISTS = ("service", "request", "request_update", "attribute", "value", "note", "endpoint", "format")
"""Elements that are list items in the specification's XML: parsed as lists even when there is one."""


def client(served: Served, output_format: str = "json", jurisdiction: str | None = DISTRICT) -> Any:
    return GeoReport(f"{served.url}/open311/v2", jurisdiction=jurisdiction, output_format=output_format)


def extension(georeport: Any, path: str, **params: Any) -> Any:
    """``path`` with parameters ``georeport`` has no argument for, asked as it asks its own methods; XML parsed with
    every list item a list."""
    if georeport.jurisdiction:
        params["jurisdiction_id"] = georeport.jurisdiction
    response = requests.get(f"{georeport.root_address}/{path}.{georeport.output_format}", params=params, timeout=30)
    response.raise_for_status()
    return response.json() if georeport.output_format == "json" else xmltodict.parse(response.content, force_list=LISTS)


def refusal(error: requests.HTTPError) -> tuple[int, str]:
    """The status and description of a refusal in the specification's format (JSON or XML)."""
    response = error.response
    assert response is not None
    if response.headers["content-type"].startswith("text/xml"):
        [item] = xmltodict.parse(response.content, force_list=("error",))["errors"]["error"]
    else:
        [item] = response.json()
    assert int(item["code"]) == response.status_code
    return response.status_code, str(item["description"])


async def refused(call: Any, *args: Any, **kwargs: Any) -> tuple[int, str]:
    with pytest.raises(requests.HTTPError) as raised:
        await asyncio.to_thread(call, *args, **kwargs)
    return refusal(raised.value)


@pytest.fixture
async def http(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"{served.url}/open311/v2", timeout=30) as open311:
        yield open311


async def test_a_client_reads_services_and_their_definitions_in_json_and_xml(served: Served) -> None:
    categories = {category.code for category in served.client.directory.categories}
    for output_format in ("json", "xml"):
        georeport = client(served, output_format)
        services = await asyncio.to_thread(georeport.get_service_list)
        assert {service["service_code"] for service in services} == categories
        assert all(service["metadata"] in (True, "true") for service in services)  # each has a definition
        definition = await asyncio.to_thread(georeport.get_service_definition, "streetlight")
        assert definition["service_code"] == "streetlight"
        attributes = definition["attributes"]
        attributes = attributes["attribute"] if output_format == "xml" else attributes
        assert [attribute["code"] for attribute in attributes] == ["community", "grid", "publish_consent"]
        for attribute in attributes:
            assert attribute["datatype"] == "singlevaluelist" and attribute["required"] in (False, "false")
            assert set(attribute) >= {"variable", "datatype_description", "order", "description", "values"}
        community = attributes[0]["values"]
        community = community["value"] if output_format == "xml" else community
        assert {"key": "gangyuan", "name": "钢苑社区"} in community
        assert await refused(georeport.get_service_definition, "no_such_service") == (
            404, "service_code: no service 'no_such_service'",
        )  # fmt: skip


async def test_the_jurisdiction_is_ours_or_refused_and_discovery_says_which(served: Served) -> None:
    for output_format in ("json", "xml"):
        assert await asyncio.to_thread(client(served, output_format, None).get_service_list)  # left out: ours
        elsewhere = client(served, output_format, "朝阳区")
        status, description = await refused(elsewhere.get_service_list)
        assert status == 400 and description.startswith("jurisdiction_id:") and DISTRICT in description
        assert (await refused(elsewhere.get_service_requests))[0] == 400
    async with httpx.AsyncClient(base_url=f"{served.url}/open311", timeout=30) as http:
        found = (await http.get("/discovery.json")).json()
        assert found["jurisdiction_id"] == DISTRICT
        [endpoint] = found["endpoints"]
        assert endpoint["url"] == f"{served.url}/open311/v2" and "text/xml" in endpoint["formats"]
        as_xml = xmltodict.parse((await http.get("/discovery.xml")).content, force_list=LISTS)["discovery"]
        assert as_xml["jurisdiction_id"] == DISTRICT and as_xml["endpoints"]["endpoint"][0]["type"] == "production"

        api_key = await served.key("integrator", "open311-jurisdiction")
        form = {"api_key": api_key, "service_code": "noise", "lat": "41.7921", "long": "123.3412"}
        filed = await http.post("/v2/requests.json", data={**form, "jurisdiction_id": "朝阳区"})
        assert filed.status_code == 400 and filed.json()[0]["description"].startswith("jurisdiction_id:")

    configured = Gateway(served.client, served.pool, open311_jurisdiction="xinggong.example.cn", throttle=UNTHROTTLED)
    async with serving_app(configured) as url:
        other = Served(url, served.client, served.pool)
        assert await asyncio.to_thread(client(other, "xml", "xinggong.example.cn").get_service_list)
        assert (await refused(client(other, "json", DISTRICT).get_service_list))[0] == 400
        async with httpx.AsyncClient(base_url=url) as http:
            assert (await http.get("/open311/discovery.json")).json()["jurisdiction_id"] == "xinggong.example.cn"


async def test_a_request_with_no_name_or_phone_is_the_anonymous_residents(
    served: Served, http: httpx.AsyncClient
) -> None:
    """What a stock client sends: a service, a point and a description; no name, no phone."""
    api_key = await served.key("integrator", "open311-stock-app")
    form = {"api_key": api_key, "service_code": "streetlight", "lat": "41.7921", "long": "123.3412",
            "description": "路灯不亮"}  # fmt: skip
    created = await http.post("/requests.json", data=form)
    assert created.status_code == 200, created.text
    [receipt] = created.json()
    reporter = await served.client.reporter(receipt["service_request_id"])
    assert reporter.name == "匿名居民" and reporter.phone is None
    blank_phone = await http.post("/requests.json", data={**form, "phone": ""})  # FixMyStreet sends it empty
    assert blank_phone.status_code == 200, blank_phone.text

    declined = await http.post("/requests.json", data={**form, "attribute[publish_consent]": "false"})
    assert declined.status_code == 200, declined.text
    [receipt] = declined.json()

    async def stored() -> bool:
        return bool(await served.pool.fetchval(
            "select 1 from complaints where complaint_id = $1", receipt["service_request_id"]
        ))  # fmt: skip

    await wait_until(stored)
    publish = PublishCase(actor=secretary("sec-gangyuan"), public_title="路灯不亮", public_description="处理中")
    with pytest.raises(CommandRejected) as refusing:  # the reporter said no through the definition's attribute
        await served.client.publish(receipt["service_request_id"], publish)
    assert refusing.value.field == "publish_consent"
    bad = await http.post("/requests.json", data={**form, "attribute[publish_consent]": "maybe"})
    assert bad.status_code == 400 and bad.json()[0]["description"].startswith("attribute[publish_consent]:")


async def test_requests_come_a_page_at_a_time(served: Served, http: httpx.AsyncClient) -> None:
    api_key = await served.key("integrator", f"open311-pages-{uuid.uuid4().hex[:6]}")
    started = datetime.now(UTC) - timedelta(seconds=1)
    form = {"api_key": api_key, "service_code": "noise", "lat": "41.7921", "long": "123.3412"}
    filed = []
    for number in range(3):
        created = await http.post("/requests.json", data={**form, "description": f"夜间施工噪声 {number}"})
        assert created.status_code == 200, created.text
        filed.append(created.json()[0]["service_request_id"])

    async def stored() -> bool:
        count = await served.pool.fetchval("select count(*) from complaints where complaint_id = any($1)", filed)
        return bool(count == 3)

    await wait_until(stored)
    window = {"start_date": started.isoformat(), "end_date": (datetime.now(UTC) + timedelta(seconds=1)).isoformat()}
    for output_format in ("json", "xml"):
        georeport = client(served, output_format)
        pages = []
        for number in (1, 2, 3):
            found = await asyncio.to_thread(
                extension, georeport, "requests", api_key=api_key, page=number, page_size=2, **window
            )
            items = found if output_format == "json" else (found["service_requests"] or {}).get("request", [])
            pages.append([item["service_request_id"] for item in items])
        assert pages == [filed[::-1][:2], filed[::-1][2:], []]  # newest first
        everything = await asyncio.to_thread(extension, georeport, "requests", api_key=api_key, **window)
        items = everything if output_format == "json" else everything["service_requests"]["request"]
        assert [item["service_request_id"] for item in items] == filed[::-1]  # the default page holds them all
        for params, field in (
            ({"page": 0}, "page"), ({"page": "second"}, "page"), ({"page_size": 0}, "page_size"),
            ({"page_size": 201}, "page_size"), ({"updated_after": "last week"}, "updated_after"),
            ({"updated_before": "9999-12-31T23:59:59-12:00"}, "updated_before"),
        ):  # fmt: skip
            status, description = await refused(extension, georeport, "requests", **params)
            assert status == 400 and description.startswith(f"{field}:"), description
    later = {"updated_after": (datetime.now(UTC) + timedelta(minutes=1)).isoformat(), "api_key": api_key}
    assert (await http.get("/requests.json", params=later)).json() == []
    recent = {"updated_after": started.isoformat(), "api_key": api_key}
    assert {item["service_request_id"] for item in (await http.get("/requests.json", params=recent)).json()} >= set(
        filed
    )


async def test_a_published_cases_updates_read_as_fixmystreet_reads_them(served: Served) -> None:
    """A case filed, verified, whistled, worked, completed and rated satisfied, then published: its updates name
    each step and its status after it, never a note's text, an officer or the reporter."""
    started = datetime.now(UTC) - timedelta(seconds=1)
    complaint_id = (await served.client.submit(new_intake())).complaint_id
    note = "已联系15号楼住户李秀英，明早安装净化器"
    for command in (
        VerifyComplaint(actor=grid_worker(GRID_WORKER)),
        BlowWhistle(actor=secretary(SECRETARY), departments=[LEAD]),
        ReportIn(actor=department(LEAD), department=LEAD, officer="王队长"),
        RecordProgress(actor=department(LEAD), department=LEAD, note=note),
        CompletePart(actor=department(LEAD), department=LEAD, result="油烟净化器已安装"),
        EvaluateOutcome(actor=resident(), rating="satisfied"),
    ):
        await served.client.execute(complaint_id, command)

    async def closed_in_the_store() -> bool:
        return bool(await served.pool.fetchval(
            "select 1 from events where complaint_id = $1 and type = 'CaseClosed'", complaint_id
        ))  # fmt: skip

    await wait_until(closed_in_the_store)
    public = PublishCase(actor=secretary(SECRETARY), public_title="烧烤店油烟扰民", public_description="已整改。")
    await served.client.publish(complaint_id, public)
    window = {"start_date": started.isoformat(), "end_date": (datetime.now(UTC) + timedelta(seconds=1)).isoformat()}
    expected = [
        ("立案", "open"), ("网格核实", "investigating"), ("社区吹哨", "action_scheduled"),
        ("部门报到", "in_progress"), ("处置进展", "in_progress"), ("部门办结", "in_progress"),
        ("处置完成", "fixed"), ("居民评价", "fixed"), ("办结", "fixed"),
    ]  # fmt: skip
    urban = next(d.name for d in served.client.directory.departments if d.code == LEAD)
    for output_format in ("json", "xml"):
        georeport = client(served, output_format)
        found = await asyncio.to_thread(extension, georeport, "servicerequestupdates", **window)
        updates = found if output_format == "json" else found["service_request_updates"]["request_update"]
        mine = [update for update in updates if update["service_request_id"] == complaint_id]
        assert [(u["description"].split("：")[0], u["status"]) for u in mine] == expected, mine
        assert len({u["update_id"] for u in mine}) == len(mine)
        for update in mine:
            assert set(update) == {"update_id", "service_request_id", "status", "updated_datetime", "description",
                                   "media_url"}  # fmt: skip
            assert datetime.fromisoformat(update["updated_datetime"]).utcoffset() is not None
        assert urban in mine[2]["description"]  # the whistle names whom it summoned
        text = str(found)
        for secret in (note, "李秀英", "王队长", "苏慧敏", "13000000106", "油烟净化器已安装"):
            assert secret not in text

        paged = [
            await asyncio.to_thread(extension, georeport, "servicerequestupdates", page=number, page_size=4, **window)
            for number in (1, 2, 3)
        ]
        if output_format == "xml":
            paged = [(page["service_request_updates"] or {}).get("request_update", []) for page in paged]
        assert [u["update_id"] for page in paged for u in page] == [u["update_id"] for u in updates]

        extended_read = await asyncio.to_thread(
            extension, georeport, "requests", service_request_id=complaint_id, extensions="true"
        )
        [request] = extended_read if output_format == "json" else extended_read["service_requests"]["request"]
        assert request["status"] == "closed"
        extended = request["extended_attributes"]
        assert extended["detailed_status"] == "fixed" and extended["stage"] == "closed"
        notes = extended["notes"] if output_format == "json" else extended["notes"]["note"]
        assert [note["update_id"] for note in notes] == [u["update_id"] for u in mine]
        plain = await asyncio.to_thread(georeport.get_service_request, complaint_id)  # as the client reads it
        plain = plain[0] if isinstance(plain, list) else plain
        assert plain["service_request_id"] == complaint_id and "extended_attributes" not in plain
