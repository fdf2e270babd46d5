"""A command through the gateway runs one workflow task, its Update's: the access check asks no query.

The gateway's Temporal client carries an interceptor that records every query it sends (a real client on the
dev server, not a mock); the worker polls with its own client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from temporalio.client import Client, Interceptor, OutboundInterceptor, QueryWorkflowInput
from temporalio.testing import WorkflowEnvironment

from activities.event_store import Pool
from tests.gateway_helpers import Served, serving
from tests.helpers import new_intake


class QueryRecorder(Interceptor):
    """Notes the name of every workflow query its client sends."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _RecordingOutbound(next, self.queries)


class _RecordingOutbound(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, queries: list[str]) -> None:
        super().__init__(next)
        self._queries = queries

    async def query_workflow(self, input: QueryWorkflowInput) -> Any:
        self._queries.append(input.query)
        return await super().query_workflow(input)


@pytest.fixture
async def recorded(dev_env: WorkflowEnvironment, pool: Pool) -> AsyncIterator[tuple[Served, QueryRecorder]]:
    recorder = QueryRecorder()
    base = dev_env.client
    temporal = Client(
        base.service_client, namespace=base.namespace, data_converter=base.data_converter, interceptors=[recorder]
    )
    async with serving(temporal, pool) as served:
        yield served, recorder


async def call(served: Served, role: str, subject: str, path: str, body: Any = None) -> httpx.Response:
    async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:
        return await http.post(path, json=body, headers={"X-API-Key": await served.key(role, subject)})


async def test_commands_through_the_gateway_ask_the_workflow_no_query(
    recorded: tuple[Served, QueryRecorder],
) -> None:
    served, recorder = recorded
    intake = new_intake().model_dump(mode="json", exclude_none=True)
    case = intake["complaint_id"]
    assert (await call(served, "integrator", "app-integrator", "/api/v1/complaints", intake)).status_code == 201

    verified = await call(served, "grid-worker", "gw-hongqi-1", f"/api/v1/complaints/{case}/verify", {"note": "属实"})
    assert verified.status_code == 200, verified.text
    blown = await call(
        served, "community-secretary", "sec-hongqi", f"/api/v1/complaints/{case}/blow",
        {"departments": ["urban_management"]},
    )  # fmt: skip
    assert blown.status_code == 200 and blown.json()["stage"] == "whistled", blown.text
    foreign = await call(served, "grid-worker", "gw-gangyuan-1", f"/api/v1/complaints/{case}/verify", {})
    assert foreign.status_code == 404 and foreign.json()["field"] == "complaint_id"  # not theirs: no such case
    missing = await call(served, "grid-worker", "gw-hongqi-1", "/api/v1/complaints/NO-SUCH-CASE/verify", {})
    assert missing.status_code == 404

    assert recorder.queries == []

    async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:  # the control: a read does query
        key = await served.key("supervisor", "dubanchu")
        assert (await http.get(f"/api/v1/complaints/{case}", headers={"X-API-Key": key})).status_code == 200
    assert recorder.queries == ["status"]
