"""What the gateway does under abuse and while a server is away (issue 15, item 2).

Bodies past the cap are 413 before they are parsed, chunked or not; an address and a key each have a request
budget (429 with ``Retry-After``); lists have a page cap; Open311 refuses control characters and links that are
not https. With PostgreSQL or Temporal refusing connections, or dropping every packet (a ``FaultProxy`` between
the gateway and the real server), every answer is a 503 naming the server, with ``Retry-After``, within 2 s;
once the server is back, the same requests succeed.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import httpx
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.event_store import Pool, create_pool
from gateway.context import Gateway
from gateway.guard import BODY_LIMIT, Throttle
from tests.fault_proxy import FaultProxy, fault_proxy
from tests.gateway_helpers import UNTHROTTLED, Served, intake_json, serving_app
from tests.helpers import sample_client, wait_until
from tests.pg import TestDatabase


async def filings(pool: Pool) -> int:
    count: int = await pool.fetchval("select count(*) from filings")
    return count


async def test_a_body_past_the_cap_is_refused_before_it_is_read(served: Served) -> None:
    integrator = {"X-API-Key": await served.key("integrator", "limits-app")}
    before = await filings(served.pool)
    oversized = {**intake_json(), "description": "很长" * BODY_LIMIT}

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"title": "'
        for _ in range(BODY_LIMIT // 1024 + 1):
            yield b"x" * 1024
        yield b'"}'

    async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:
        declared = await http.post("/api/v1/complaints", json=oversized, headers=integrator)
        assert declared.status_code == 413 and declared.json()["field"] == "body", declared.text
        streamed = await http.post(
            "/api/v1/complaints", content=chunks(), headers={**integrator, "content-type": "application/json"}
        )
        assert streamed.status_code == 413 and streamed.json()["field"] == "body", streamed.text
        long_form = {"api_key": "x", "service_code": "streetlight", "description": "长" * BODY_LIMIT}
        form = await http.post("/open311/v2/requests.json", data=long_form)
        assert form.status_code == 413 and form.json()[0]["description"].startswith("body:"), form.text
    assert await filings(served.pool) == before


async def test_an_address_and_a_key_each_have_a_budget(served: Served) -> None:
    tight = Throttle(per_address="8/minute", per_key="3/minute")
    gateway = Gateway(served.client, served.pool, throttle=tight)
    supervisor = {"X-API-Key": await served.key("supervisor", "dubanchu")}
    async with serving_app(gateway) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        answers = [await http.get("/api/v1/reports/community", headers=supervisor) for _ in range(4)]
        assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
        assert answers[-1].json()["field"] == "api_key" and int(answers[-1].headers["Retry-After"]) >= 1
        forged = {"X-API-Key": "wh_0123456789abcdef_" + "A" * 43}
        answers = [await http.get("/api/v1/reports/community", headers=forged) for _ in range(5)]
        assert [answer.status_code for answer in answers] == [401, 401, 401, 401, 429]  # guesses spend the address's
        assert answers[-1].json()["field"] == "address" and int(answers[-1].headers["Retry-After"]) >= 1
        public = await http.get("/open311/v2/services.json")
        assert public.status_code == 429 and public.json()[0]["description"].startswith("address:")


async def test_lists_have_a_page_cap(served: Served) -> None:
    supervisor = {"X-API-Key": await served.key("supervisor", "dubanchu")}
    async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:
        too_many = await http.get("/api/v1/complaints", params={"limit": 201}, headers=supervisor)
        assert too_many.status_code == 422 and too_many.json()["field"] == "limit"
        assert (await http.get("/api/v1/complaints", params={"limit": 200}, headers=supervisor)).status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("account_id", "acct-\x1b[31m"),
        ("description", "路灯\x00不亮"),
        ("address_string", "红旗社区\u202e3号楼"),
        ("media_url", "http://example.com/lamp.jpg"),
        ("media_url", "javascript:alert(1)"),
        ("media_url", "https://example.com/a b.jpg"),
        ("media_url", "https:///nohost.jpg"),
    ],
)
async def test_open311_refuses_control_characters_and_links_that_are_not_https(
    served: Served, field: str, value: str
) -> None:
    form = {
        "api_key": await served.key("integrator", "limits-app"), "service_code": "streetlight",
        "address_string": "红旗社区3号楼前", "description": "路灯不亮", "phone": "13800000003", field: value,
    }  # fmt: skip
    before = await filings(served.pool)
    async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:
        answer = await http.post("/open311/v2/requests.json", data=form)
    assert answer.status_code == 400 and answer.json()[0]["description"].startswith(f"{field}:"), answer.text
    assert await filings(served.pool) == before


def _postgres(database_url: str) -> tuple[str, int] | str:
    """Where the test database listens: a host and port, or the Unix socket of the embedded server."""
    parts = urlsplit(database_url)
    if parts.hostname:
        return parts.hostname, parts.port or 5432
    socket_dir = parse_qs(parts.query)["host"][0]
    return f"{socket_dir}/.s.PGSQL.{parts.port or 5432}"


def _through(database_url: str, proxy: FaultProxy) -> str:
    """``database_url`` by way of ``proxy`` (over TCP on loopback)."""
    parts = urlsplit(database_url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@{proxy.address}" if credentials else proxy.address
    kept = [(name, value) for name, values in parse_qs(parts.query).items() if name != "host" for value in values]
    query = "&".join(f"{name}={value}" for name, value in kept)
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def _target(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host or "127.0.0.1", int(port)


async def test_with_a_server_away_every_answer_is_503_within_two_seconds(
    dev_env: WorkflowEnvironment, database: TestDatabase, served: Served
) -> None:
    async with (
        fault_proxy(_postgres(database.url)) as postgres,
        fault_proxy(_target(dev_env.client.service_client.config.target_host)) as temporal,
    ):
        pool = await create_pool(_through(database.url, postgres), command_timeout=10, connect_timeout=1.5)
        try:
            remote = await Client.connect(
                temporal.address, namespace=dev_env.client.namespace, data_converter=pydantic_data_converter
            )
            client = sample_client(remote, served.client.task_queue, pool=pool)  # the module's worker runs the cases
            gateway = Gateway(client, pool, throttle=UNTHROTTLED)
            async with serving_app(gateway) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
                await _answers_503_while_away(http, served, postgres, temporal)
            await client.end_open_cases()
        finally:
            pool.terminate()  # its connections went through the faults: some are half-closed, none is worth a goodbye


async def _answers_503_while_away(
    http: httpx.AsyncClient, served: Served, postgres: FaultProxy, temporal: FaultProxy
) -> None:
    integrator = {"X-API-Key": await served.key("integrator", "limits-app")}
    supervisor = {"X-API-Key": await served.key("supervisor", "dubanchu")}
    filed = await http.post("/api/v1/complaints", json=intake_json(), headers=integrator)
    assert filed.status_code == 201, filed.text
    case = f"/api/v1/complaints/{filed.json()['complaint_id']}"

    async def answered(method: str, path: str, headers: dict[str, str], body: Any = None) -> httpx.Response:
        started = time.monotonic()
        answer = await http.request(method, path, headers=headers, json=body)
        assert time.monotonic() - started < 2.0, (path, time.monotonic() - started, answer.text)
        return answer

    requests: list[tuple[str, str, dict[str, str], Any]] = [
        ("GET", case, supervisor, None),
        ("GET", f"{case}/history", supervisor, None),
        ("POST", f"{case}/erase", supervisor, {"reason": "居民申请删除（测试）"}),  # never reached: 503 first
        ("POST", f"{case}/verify", {"X-API-Key": await served.key("grid-worker", "gw-hongqi-1")}, {}),
        ("POST", "/api/v1/complaints", integrator, intake_json()),
        ("GET", "/open311/v2/requests.json", {}, None),
    ]
    for server, proxy, fault in (
        ("database", postgres, FaultProxy.refuse),
        ("database", postgres, FaultProxy.blackhole),
        ("temporal", temporal, FaultProxy.refuse),
        ("temporal", temporal, FaultProxy.blackhole),
    ):
        fault(proxy)
        for method, path, headers, body in requests:
            if server == "temporal" and path.startswith("/open311"):
                continue  # a public list is PostgreSQL's alone: it still answers
            answer = await answered(method, path, headers, body)
            assert answer.status_code == 503, (server, fault.__name__, path, answer.text)
            problem = answer.json()[0]["description"] if path.startswith("/open311") else answer.json()["field"]
            assert problem.startswith(server), (server, path, answer.text)
            assert int(answer.headers["Retry-After"]) > 0
        proxy.heal()

        async def back() -> bool:
            return (await http.get(case, headers=supervisor)).status_code == 200

        await wait_until(back, within=60)
