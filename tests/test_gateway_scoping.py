"""Who reaches which case through the gateway, and what the server decides at filing (issue 15, item 1 and 3).

Over real HTTP against the dev server and PostgreSQL: a resident's key cannot choose the complaint id, urgency,
source or time; a report cannot be dated far back or ahead; a resent create files once under its
``Idempotency-Key``; a hotline's operators and integrators reach what their organisation filed and nothing else;
and the answer for a case out of reach is the answer for a case that does not exist — decided without a worker.
Every refusal is checked to have filed nothing.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from temporalio.testing import WorkflowEnvironment

from activities.event_store import Pool
from gateway.context import Gateway
from tests.gateway_helpers import (
    HOTLINE,
    UNTHROTTLED,
    Served,
    filed_count,
    intake_json,
    post,
    resident_body,
    serving_app,
)
from tests.helpers import new_intake, sample_client, wait_until


async def test_a_resident_key_files_only_what_the_server_decides(served: Served, http: httpx.AsyncClient) -> None:
    resident = await served.key("resident", "app-30001")
    before = await filed_count(served.pool)
    now = datetime.now(UTC)
    refused = {
        ("complaint_id", "12345-20261204-0001", 403),  # the hotline's next ticket number
        ("urgency", "urgent", 403),
        ("source", "hotline", 403),
        ("reported_at", "1970-01-01T00:00:00+00:00", 422),
        ("reported_at", (now - timedelta(hours=3)).isoformat(), 422),
    }
    for field, value, status in refused:
        answer = await post(http, resident, "/api/v1/complaints", {**resident_body(), field: value})
        assert answer.status_code == status and answer.json()["field"] == field, (field, answer.text)
        assert answer.json()["reason"]
    assert await filed_count(served.pool) == before

    filed = await post(http, resident, "/api/v1/complaints", resident_body())
    assert filed.status_code == 201, filed.text
    complaint_id = filed.json()["complaint_id"]
    assert complaint_id.startswith("WH-")  # numbered by the server
    view = (await http.get(f"/api/v1/complaints/{complaint_id}", headers={"X-API-Key": resident})).json()
    assert view["urgency"] == "normal"
    assert abs(datetime.fromisoformat(view["filed_at"]) - now) < timedelta(minutes=2)
    intake = served.client.intakes[complaint_id]
    assert intake.source == "resident_app" and intake.reporter.resident_id == "app-30001"


async def test_reported_at_is_checked_against_now(served: Served, http: httpx.AsyncClient) -> None:
    integrator = await served.key("integrator", "scoping-app")
    now = datetime.now(UTC)
    before = await filed_count(served.pool)
    too_old, ahead = (now - timedelta(days=8)).isoformat(), (now + timedelta(hours=1)).isoformat()
    for moment in ("1970-01-01T00:00:00Z", too_old, ahead):
        answer = await post(http, integrator, "/api/v1/complaints", intake_json(reported_at=moment))
        assert answer.status_code == 422 and answer.json()["field"] == "reported_at", (moment, answer.text)
    assert await filed_count(served.pool) == before
    two_days_back = await post(
        http, integrator, "/api/v1/complaints", intake_json(reported_at=(now - timedelta(days=2)).isoformat())
    )
    assert two_days_back.status_code == 201, two_days_back.text  # a hotline entering a call taken offline


async def test_a_duplicate_id_with_another_body_is_a_conflict(served: Served, http: httpx.AsyncClient) -> None:
    integrator = await served.key("integrator", "scoping-app")
    body = intake_json()
    assert (await post(http, integrator, "/api/v1/complaints", body)).status_code == 201
    again = await post(http, integrator, "/api/v1/complaints", body)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    other = await post(http, integrator, "/api/v1/complaints", {**body, "title": "另一件事"})
    assert other.status_code == 409 and other.json()["field"] == "complaint_id", other.text


async def test_a_create_resent_under_its_idempotency_key_files_once(served: Served, http: httpx.AsyncClient) -> None:
    resident = await served.key("resident", "app-30002")
    body = resident_body()
    key = {"Idempotency-Key": f"app-30002-{uuid.uuid4().hex}"}
    first = await post(http, resident, "/api/v1/complaints", body, **key)
    second = await post(http, resident, "/api/v1/complaints", body, **key)
    assert first.status_code == 201 and second.status_code == 200, (first.text, second.text)
    assert first.json()["complaint_id"] == second.json()["complaint_id"] and second.json()["duplicate"] is True
    reused = await post(http, resident, "/api/v1/complaints", {**body, "title": "别的问题"}, **key)
    assert reused.status_code == 409 and reused.json()["field"] == "Idempotency-Key", reused.text

    # Open311: a stock client retrying its POST after a timeout.
    app_key = await served.key("integrator", "open311-retrying-app")
    form = {
        "api_key": app_key, "service_code": "streetlight", "address_string": "红旗社区3号楼前",
        "description": "路灯不亮", "phone": "13800000002",
    }  # fmt: skip
    retry = {"Idempotency-Key": uuid.uuid4().hex}
    created = [await http.post("/open311/v2/requests.json", data=form, headers=retry) for _ in range(2)]
    assert [answer.status_code for answer in created] == [200, 200], [answer.text for answer in created]
    [one], [two] = (answer.json() for answer in created)
    assert one["service_request_id"] == two["service_request_id"]
    filed = await served.pool.fetchval(
        "select count(*) from gateway_filings f join api_keys k using (key_id) where k.subject = $1",
        "open311-retrying-app",
    )
    assert filed == 1


async def test_an_organisation_reaches_what_it_filed_and_nothing_else(served: Served, http: httpx.AsyncClient) -> None:
    hotline_system = await served.key("integrator", "hotline-system", organisation=HOTLINE)
    body = intake_json()
    complaint_id = body["complaint_id"]
    assert (await post(http, hotline_system, "/api/v1/complaints", body)).status_code == 201
    resident = await served.key("resident", "app-30003")
    own = await post(http, resident, "/api/v1/complaints", resident_body())
    assert own.status_code == 201
    own_id = own.json()["complaint_id"]

    ours = await served.key("operator", "op-12345-07")  # the same hotline
    theirs = await served.key("operator", "op-district-01", organisation="district-hotline")
    other_app = await served.key("integrator", "other-app")
    assert (await http.get(f"/api/v1/complaints/{complaint_id}", headers={"X-API-Key": ours})).status_code == 200
    for stranger in (theirs, other_app):
        read = await http.get(f"/api/v1/complaints/{complaint_id}", headers={"X-API-Key": stranger})
        assert read.status_code == 404 and read.json()["field"] == "complaint_id", read.text
        reporter = await http.get(f"/api/v1/complaints/{complaint_id}/reporter", headers={"X-API-Key": stranger})
        assert reporter.status_code in (403, 404), reporter.text
    withdraw = {"reason": "居民来电撤回"}
    refused = await post(http, theirs, f"/api/v1/complaints/{complaint_id}/withdraw", withdraw)
    assert refused.status_code == 404, refused.text

    async def listed(key: str, case: str) -> bool:
        answer = await http.get("/api/v1/complaints", headers={"X-API-Key": key})
        assert answer.status_code == 200, answer.text
        return case in {summary["complaint_id"] for summary in answer.json()}

    await wait_until(lambda: listed(hotline_system, complaint_id))  # from the read model, once stored
    await wait_until(lambda: listed(resident, own_id))
    assert not await listed(other_app, complaint_id) and not await listed(theirs, complaint_id)
    assert not await listed(resident, complaint_id) and not await listed(hotline_system, own_id)

    withdrawn = await post(http, ours, f"/api/v1/complaints/{complaint_id}/withdraw", withdraw)
    assert withdrawn.status_code == 200 and withdrawn.json()["stage"] == "closed", withdrawn.text


async def test_access_is_decided_without_a_worker(dev_env: WorkflowEnvironment, pool: Pool, served: Served) -> None:
    """A case on a task queue no worker polls: refusals still answer at once, a permitted read waits for a worker."""
    idle = sample_client(dev_env.client, f"idle-{uuid.uuid4().hex[:8]}", pool=pool)
    complaint_id = (await idle.submit(new_intake())).complaint_id
    try:
        async with (
            serving_app(Gateway(idle, pool, timeout=3.0, throttle=UNTHROTTLED)) as url,
            httpx.AsyncClient(base_url=url, timeout=30) as http,
        ):
            foreign = {"X-API-Key": await served.key("grid-worker", "gw-anju-1")}
            supervisor = {"X-API-Key": await served.key("supervisor", "dubanchu")}
            department = {"X-API-Key": await served.key("department", "urban_management")}
            path = f"/api/v1/complaints/{complaint_id}"
            for method, url_path, headers, body, status in (
                ("GET", path, foreign, None, 404),
                ("POST", f"{path}/verify", foreign, {}, 404),
                ("POST", f"{path}/report-in", department, {"officer": "王"}, 404),  # not summoned
                ("POST", f"{path}/withdraw", supervisor, {"reason": "不要"}, 403),
                ("GET", "/api/v1/complaints/NO-SUCH-CASE", supervisor, None, 404),
            ):
                started = time.monotonic()
                answer = await http.request(method, url_path, json=body, headers=headers)
                assert answer.status_code == status, (url_path, answer.text)
                assert time.monotonic() - started < 2.0, url_path
            waited = await http.get(path, headers=supervisor)  # allowed: the read asks the workflow, which no one runs
            assert waited.status_code == 504 and waited.json()["field"] == "worker"
    finally:
        await idle.end_open_cases()


async def test_a_supervisor_urges_any_case_and_acts_on_none(served: Served, http: httpx.AsyncClient) -> None:
    """督办: a supervisor's key reaches every case and sends only the urging (催办); the department hears of it."""
    hotline = await served.key("integrator", "hotline-system", organisation=HOTLINE)
    body = intake_json()
    assert (await post(http, hotline, "/api/v1/complaints", body)).status_code == 201
    supervisor = await served.key("supervisor", "dubanchu")
    case = f"/api/v1/complaints/{body['complaint_id']}"
    urged = await post(http, supervisor, f"{case}/urge", {"note": "请加快办理"})
    assert urged.status_code == 200, urged.text
    refused = await post(http, supervisor, f"{case}/withdraw", {"reason": "不要"})
    assert refused.status_code == 403 and refused.json()["field"] == "actor", refused.text
    not_theirs = await post(http, hotline, f"{case}/urge", {"note": "催一下"})
    assert not_theirs.status_code == 403 and not_theirs.json()["field"] == "actor", not_theirs.text

    async def recorded() -> bool:  # the history lists what the workflow has sent to the store, a moment later
        history = await http.get(f"{case}/history", headers={"X-API-Key": supervisor})
        return bool([entry["type"] for entry in history.json()][-1] == "CaseUrged")

    await wait_until(recorded)

    async def counted() -> bool:  # once stored, the community's figures count it (the store trails the history)
        report = await http.get("/api/v1/reports/community", headers={"X-API-Key": supervisor})
        return any(group["group"] == body["community"] and group["urged"] >= 1 for group in report.json()["groups"])

    await wait_until(counted)

    # 重点督办: the hotline's key lists its flagged cases from the read model, the supervisor's from visibility.
    flagged = await post(http, supervisor, f"{case}/flag", {"note": "区领导批示：限期解决"})
    assert flagged.status_code == 200 and flagged.json()["flagged"], flagged.text
    assert (await post(http, hotline, f"{case}/flag", {"note": "x"})).status_code == 403
    assert (await post(http, supervisor, f"{case}/flag", {"note": ""})).json()["field"] == "note"

    async def listed(key: str) -> bool:
        found = (await http.get("/api/v1/complaints?flagged=true", headers={"X-API-Key": key})).json()
        assert all(listed_case["flagged"] for listed_case in found)
        return body["complaint_id"] in {listed_case["complaint_id"] for listed_case in found}

    await wait_until(lambda: listed(hotline))
    await wait_until(lambda: listed(supervisor))

async def test_a_hotline_operator_records_follow_ups_on_its_own_cases(served: Served, http: httpx.AsyncClient) -> None:
    """回访 through the gateway: an operator of the hotline that filed the case reaches ``record-follow-up``, and the
    case refuses a call before it closes (409, ``stage``); a supervisor's key may not record one (403)."""
    hotline = await served.key("integrator", "hotline-system", organisation=HOTLINE)
    body = intake_json()
    assert (await post(http, hotline, "/api/v1/complaints", body)).status_code == 201
    case = f"/api/v1/complaints/{body['complaint_id']}"
    operator = await served.key("operator", "op-12345-09")
    call = {"verdict": "unsolved", "note": "居民反映油烟仍在"}
    early = await post(http, operator, f"{case}/record-follow-up", call)
    assert early.status_code == 409 and early.json()["field"] == "stage", early.text
    supervisor = await served.key("supervisor", "dubanchu-02")
    refused = await post(http, supervisor, f"{case}/record-follow-up", call)
    assert refused.status_code == 403 and refused.json()["field"] == "actor", refused.text
    bad = await post(http, operator, f"{case}/record-follow-up", {"verdict": "maybe"})
    assert bad.status_code == 422 and "verdict" in bad.text, bad.text
    history = await http.get(f"{case}/history", headers={"X-API-Key": operator})
    assert "FollowUpRecorded" not in [entry["type"] for entry in history.json()]
