"""What the gateway keeps straight at the edges (issue 15, items 1-3): a lost answer, a refused create, a foreign
ticket number, a resident filed for by the hotline, a key of no organisation, a list cut before its reach, a case
Temporal no longer holds, and a PostgreSQL that answers with an error rather than a result.

Over real HTTP against the dev server and PostgreSQL; the one fault injected by hand (an answer lost after the case
started) wraps the real SDK call.
"""

from __future__ import annotations

import socket
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from activities.event_store import load_events
from gateway.context import Gateway
from gateway.errors import ApiError, install_error_handlers
from schemas.intake import ComplaintIntake
from tests.gateway_helpers import HOTLINE, Served, filed_count, intake_json, post
from tests.helpers import new_intake, running_worker, wait_until
from whistle.client import SubmitResult


async def test_a_case_is_its_organisations_even_when_the_answer_is_lost(
    served: Served, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The case starts, then the gateway loses PostgreSQL before it answers: 503, yet the case is the hotline's
    from the start, so the resend under the same key answers with it and the hotline's operators reach it."""
    hotline = await served.key("integrator", "integrity-hotline", organisation=HOTLINE)
    operator = await served.key("operator", "op-integrity-01")
    real_submit = served.client.submit

    async def answer_lost(intake: ComplaintIntake, *, now: datetime | None = None) -> SubmitResult:
        await real_submit(intake, now=now)
        raise ConnectionResetError("connection reset by peer")

    monkeypatch.setattr(served.client, "submit", answer_lost)
    body, retry = intake_json(), {"Idempotency-Key": uuid.uuid4().hex}
    lost = await post(http, hotline, "/api/v1/complaints", body, **retry)
    assert lost.status_code == 503 and lost.json()["field"] == "database", lost.text
    monkeypatch.undo()

    again = await post(http, hotline, "/api/v1/complaints", body, **retry)
    assert again.status_code == 200 and again.json()["duplicate"] is True, again.text
    read = await http.get(f"/api/v1/complaints/{body['complaint_id']}", headers={"X-API-Key": operator})
    assert read.status_code == 200, read.text


async def test_a_refused_create_keeps_neither_its_idempotency_key_nor_its_id(
    served: Served, http: httpx.AsyncClient
) -> None:
    operator = await served.key("operator", "op-integrity-02")
    retry = {"Idempotency-Key": uuid.uuid4().hex}
    body = intake_json()
    before = await filed_count(served.pool)
    refused = await post(http, operator, "/api/v1/complaints", {**body, "grid": "anju_1"}, **retry)  # not hongqi's
    assert refused.status_code in (409, 422) and refused.json()["field"] == "grid", refused.text
    assert await filed_count(served.pool) == before
    assert not await served.pool.fetchval(
        "select count(*) from gateway_idempotency where idempotency_key = $1", retry["Idempotency-Key"]
    )
    corrected = await post(http, operator, "/api/v1/complaints", body, **retry)
    assert corrected.status_code == 201, corrected.text


async def test_another_organisations_ticket_number_is_a_conflict_that_tells_nothing(
    served: Served, http: httpx.AsyncClient
) -> None:
    ours = await served.key("operator", "op-integrity-03")
    theirs = await served.key("operator", "op-integrity-district", organisation="district-hotline")
    body = intake_json()
    assert (await post(http, ours, "/api/v1/complaints", body)).status_code == 201
    assert (await post(http, ours, "/api/v1/complaints", body)).status_code == 200  # our own resend
    for sent in (body, {**body, "title": "另一件事"}):
        probe = await post(http, theirs, "/api/v1/complaints", sent)
        assert probe.status_code == 409 and probe.json()["field"] == "complaint_id", probe.text
        assert "run_id" not in probe.text and body["title"] not in probe.text


async def test_a_resident_lists_what_the_hotline_filed_for_them(served: Served, http: httpx.AsyncClient) -> None:
    operator = await served.key("operator", "op-integrity-04")
    resident_id = f"app-{uuid.uuid4().hex[:8]}"
    resident = await served.key("resident", resident_id)
    reporter = {"name": "苏慧敏", "phone": "13000000106", "resident_id": resident_id}
    body = intake_json(reporter=reporter)
    assert (await post(http, operator, "/api/v1/complaints", body)).status_code == 201

    async def listed() -> bool:
        answer = await http.get("/api/v1/complaints", headers={"X-API-Key": resident})
        assert answer.status_code == 200, answer.text
        return body["complaint_id"] in {case["complaint_id"] for case in answer.json()}

    await wait_until(listed)
    own = await http.get(f"/api/v1/complaints/{body['complaint_id']}", headers={"X-API-Key": resident})
    assert own.status_code == 200, own.text


async def test_a_key_of_no_organisation_reaches_nothing(served: Served, http: httpx.AsyncClient) -> None:
    hotline = await served.key("integrator", "integrity-hotline", organisation=HOTLINE)
    body = intake_json()
    assert (await post(http, hotline, "/api/v1/complaints", body)).status_code == 201
    orphan = await served.key("integrator", f"orphan-{uuid.uuid4().hex[:8]}")
    key_id = orphan.split("_")[1]
    await served.pool.execute("update api_keys set organisation = null where key_id = $1", key_id)
    listed = await http.get("/api/v1/complaints", headers={"X-API-Key": orphan})
    assert listed.status_code == 403 and listed.json()["field"] == "actor", listed.text
    read = await http.get(f"/api/v1/complaints/{body['complaint_id']}", headers={"X-API-Key": orphan})
    assert read.status_code == 404, read.text


async def test_an_open311_list_applies_the_keys_reach_before_its_limit(
    served: Served, http: httpx.AsyncClient
) -> None:
    """The key's one case sits under newer cases it does not reach: a page of two still carries it. (A window of a
    few seconds around the three filings keeps the session's other cases out of the page.)"""
    resident_id = f"app-{uuid.uuid4().hex[:8]}"
    resident = await served.key("resident", resident_id)
    reporter = {"name": "苏慧敏", "phone": "13000000106", "resident_id": resident_id}
    started = datetime.now(UTC)
    filed = [
        (await served.client.submit(intake)).complaint_id
        for intake in (new_intake(reporter=reporter), new_intake(), new_intake())  # the last two are newer
    ]

    async def stored() -> bool:
        found = await served.pool.fetchval(
            "select count(*) from complaints where complaint_id = any($1::text[])", filed
        )
        return bool(found == 3)

    await wait_until(stored)
    window = {"start_date": started.isoformat(), "end_date": (datetime.now(UTC) + timedelta(seconds=1)).isoformat()}
    answer = await http.get("/open311/v2/requests.json", params={"api_key": resident, "page_size": 2, **window})
    assert answer.status_code == 200, answer.text
    assert [request["service_request_id"] for request in answer.json()] == [filed[0]]


async def test_a_case_temporal_no_longer_holds_is_read_from_the_store(
    time_env: WorkflowEnvironment, served: Served, http: httpx.AsyncClient
) -> None:
    """A case run elsewhere (another Temporal, standing in for a history purged by retention) and kept in the
    store: its status and timeline come from the read model and the event store, and it can be erased."""
    async with running_worker(time_env.client, served.pool) as elsewhere:
        complaint_id = (await elsewhere.submit(new_intake())).complaint_id

        async def stored() -> bool:
            return bool(await load_events(served.pool, complaint_id))

        await wait_until(stored)
        await elsewhere.end_open_cases()
    supervisor = {"X-API-Key": await served.key("supervisor", "dubanchu")}
    case = f"/api/v1/complaints/{complaint_id}"
    status = await http.get(case, headers=supervisor)
    assert status.status_code == 200 and status.json()["complaint_id"] == complaint_id, status.text
    history = await http.get(f"{case}/history", headers=supervisor)
    assert history.status_code == 200 and history.json()[0]["type"] == "ComplaintFiled", history.text
    erased = await http.post(f"{case}/erase", json={"reason": "居民申请删除"}, headers=supervisor)
    assert erased.status_code == 200, erased.text


async def _raises(error: BaseException) -> Any:
    raise error


@pytest.mark.parametrize(
    "error",
    [
        socket.gaierror(-2, "Name or service not known"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
    ],
    ids=["unresolvable host", "admin shutdown", "starting up", "too many connections"],
)
async def test_postgresql_refusing_to_serve_is_503_not_500(served: Served, error: BaseException) -> None:
    gateway = Gateway(served.client, served.pool)
    with pytest.raises(ApiError) as checked:
        await gateway.checked(_raises(error))
    assert (checked.value.status, checked.value.field) == (503, "database")

    app = FastAPI()
    install_error_handlers(app)

    @app.get("/api/v1/fails")
    async def fails() -> None:
        await _raises(error)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client:
        answer = await client.get("/api/v1/fails")
    assert answer.status_code == 503 and answer.json()["field"] == "database" and answer.headers["Retry-After"]
