"""The gateway's JSON API over real HTTP: filing, commands, reads, and the 403 rules of per-actor keys.

Every refused call is checked to have changed nothing (the case's event count stays put).
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from gateway.keys import revoke_key
from tests.gateway_helpers import Served, intake_json
from tests.helpers import wait_until


async def call(http: httpx.AsyncClient, key: str, method: str, path: str, body: Any = None) -> httpx.Response:
    return await http.request(method, path, json=body, headers={"X-API-Key": key})


async def events_of(http: httpx.AsyncClient, key: str, complaint_id: str) -> int:
    response = await call(http, key, "GET", f"/api/v1/complaints/{complaint_id}")
    assert response.status_code == 200, response.text
    count: int = response.json()["event_count"]
    return count


async def test_file_act_and_read_through_the_json_api(served: Served, http: httpx.AsyncClient) -> None:
    integrator = await served.key("integrator", "app-integrator")
    supervisor = await served.key("supervisor", "dubanchu")
    intake = intake_json()
    complaint_id = intake["complaint_id"]

    filed = await call(http, integrator, "POST", "/api/v1/complaints", intake)
    assert filed.status_code == 201, filed.text
    assert filed.json()["complaint_id"] == complaint_id and filed.json()["duplicate"] is False
    again = await call(http, integrator, "POST", "/api/v1/complaints", intake)
    assert again.status_code == 200 and again.json()["duplicate"] is True

    worker = await served.key("grid-worker", "gw-hongqi-1")
    verified = await call(http, worker, "POST", f"/api/v1/complaints/{complaint_id}/verify", {"note": "属实"})
    assert verified.status_code == 200, verified.text
    secretary = await served.key("community-secretary", "sec-hongqi")
    blown = await call(
        http, secretary, "POST", f"/api/v1/complaints/{complaint_id}/blow",
        {"departments": ["urban_management", "market_regulation"], "lead": "urban_management"},
    )  # fmt: skip
    assert blown.status_code == 200, blown.text
    assert blown.json()["stage"] == "whistled"
    urban = await served.key("department", "urban_management")
    reported = await call(http, urban, "POST", f"/api/v1/complaints/{complaint_id}/report-in", {"officer": "王队长"})
    assert reported.status_code == 200, reported.text
    assert reported.json()["departments"]["urban_management"] == "reported_in"

    # A resend with the same Idempotency-Key (an answer lost on the way) is applied once.
    progress_path = f"/api/v1/complaints/{complaint_id}/progress"
    resend = {"X-API-Key": urban, "Idempotency-Key": f"progress-{complaint_id}"}
    first = await http.post(progress_path, json={"note": "已到场查看线路"}, headers=resend)
    second = await http.post(progress_path, json={"note": "已到场查看线路"}, headers=resend)
    assert first.status_code == second.status_code == 200, second.text
    assert second.json()["event_count"] == first.json()["event_count"]

    # The case itself refuses what its stage does not allow: 409 with the decider's field and reason.
    twice = await call(http, urban, "POST", f"/api/v1/complaints/{complaint_id}/report-in", {"officer": "王队长"})
    assert twice.status_code == 409, twice.text
    assert set(twice.json()) == {"field", "reason"}

    status = await call(http, supervisor, "GET", f"/api/v1/complaints/{complaint_id}")
    assert status.status_code == 200 and status.json()["stage"] == "whistled"
    history = await call(http, supervisor, "GET", f"/api/v1/complaints/{complaint_id}/history")
    types = [entry["type"] for entry in history.json()]
    assert types[:3] == ["ComplaintFiled", "GridVerified", "WhistleBlown"] and "DepartmentReportedIn" in types
    assert types.count("ProgressRecorded") == 1
    assert "reporter" not in history.text and intake["reporter"]["phone"] not in history.text

    async def listed() -> bool:
        found = await call(http, supervisor, "GET", "/api/v1/complaints?community=hongqi&stage=whistled")
        return any(case["complaint_id"] == complaint_id for case in found.json())

    await wait_until(listed)
    mine = await call(http, urban, "GET", "/api/v1/complaints")
    assert all("urban_management" in case["departments"] for case in mine.json())
    # A full page links the next; following the links walks the department's cases, newest first, once each.
    walked: list[tuple[str, str]] = []
    page = await call(http, urban, "GET", "/api/v1/complaints?limit=1")
    while "link" in page.headers:
        walked += [(case["filed_at"], case["complaint_id"]) for case in page.json()]
        url = page.headers["link"].split(">")[0].removeprefix("<")
        assert "after=" in url and "limit=1" in url
        page = await call(http, urban, "GET", url.removeprefix(str(http.base_url).rstrip("/")))
    walked += [(case["filed_at"], case["complaint_id"]) for case in page.json()]
    assert [case_id for _, case_id in walked][: len(mine.json())] == [case["complaint_id"] for case in mine.json()]
    assert len(set(walked)) == len(walked)
    bad = await call(http, urban, "GET", "/api/v1/complaints?after=yesterday")
    assert bad.status_code == 422 and bad.json()["field"] == "after", bad.text
    report = await call(http, supervisor, "GET", "/api/v1/reports/community")
    assert report.status_code == 200 and report.json()["by"] == "community"


async def test_a_filed_id_with_another_body_is_a_conflict(served: Served, http: httpx.AsyncClient) -> None:
    integrator = await served.key("integrator", "app-integrator")
    intake = intake_json()
    assert (await call(http, integrator, "POST", "/api/v1/complaints", intake)).status_code == 201

    edited = await call(http, integrator, "POST", "/api/v1/complaints", {**intake, "title": "同一编号，另一件事"})
    assert edited.status_code == 409, edited.text
    assert edited.json()["field"] == "complaint_id" and "different body" in edited.json()["reason"]
    supervisor = await served.key("supervisor", "dubanchu")
    shown = await call(http, supervisor, "GET", f"/api/v1/complaints/{intake['complaint_id']}")
    assert shown.json()["title"] == intake["title"]


def resident_body(**overrides: Any) -> dict[str, Any]:
    """An intake as a resident's app sends it: no complaint id, source, urgency or time (the server decides)."""
    body = intake_json(**overrides)
    for decided_by_the_server in ("complaint_id", "source", "urgency", "reported_at"):
        body.pop(decided_by_the_server, None)
    return body


def as_missing(response: httpx.Response, complaint_id: str) -> bool:
    """The answer for a case the key does not reach is the answer for a case that does not exist."""
    return response.status_code == 404 and response.json() == {
        "field": "complaint_id",
        "reason": f"no case {complaint_id!r}",
    }


async def test_keys_act_only_within_their_own_reach(served: Served, http: httpx.AsyncClient) -> None:
    resident = await served.key("resident", "app-20001")
    filed = await call(http, resident, "POST", "/api/v1/complaints", resident_body())
    assert filed.status_code == 201, filed.text
    complaint_id = filed.json()["complaint_id"]
    supervisor = await served.key("supervisor", "dubanchu")
    before = await events_of(http, supervisor, complaint_id)

    unreachable = {
        # another community's grid worker and first secretary
        ("grid-worker", "gw-anju-1", "verify", "{}"),
        ("first-secretary", "fs-anju", "direct", '{"kind": "park"}'),
        # departments the case has not summoned
        ("department", "power_supply", "report-in", '{"department": "urban_management", "officer": "李"}'),
        ("department", "urban_management", "verify", "{}"),
        # another resident; an integrator or a hotline operator whose organisation did not file it
        ("resident", "app-20002", "withdraw", '{"reason": "不需要了"}'),
        ("integrator", "app-integrator", "evaluate", '{"rating": "satisfied"}'),
        ("operator", "op-7", "withdraw", '{"reason": "不需要了"}'),
    }
    for role, subject, command, body in unreachable:
        key = await served.key(role, subject)
        response = await http.post(
            f"/api/v1/complaints/{complaint_id}/{command}",
            content=body,
            headers={"X-API-Key": key, "content-type": "application/json"},
        )
        assert as_missing(response, complaint_id), (role, subject, command, response.text)
        read = await call(http, key, "GET", f"/api/v1/complaints/{complaint_id}")
        assert as_missing(read, complaint_id), (role, read.text)
    # Within reach, a command the role may not send is 403 with the reason: a supervisor reads every case, acts on none.
    refused = await call(http, supervisor, "POST", f"/api/v1/complaints/{complaint_id}/withdraw", {"reason": "不要"})
    assert refused.status_code == 403 and refused.json()["field"] == "actor" and refused.json()["reason"]
    grid_worker = await served.key("grid-worker", "gw-hongqi-1")
    refused = await call(http, grid_worker, "POST", f"/api/v1/complaints/{complaint_id}/withdraw", {"reason": "不要"})
    assert refused.status_code == 403 and "withdraw" in refused.json()["reason"]
    assert await events_of(http, supervisor, complaint_id) == before

    assert (await call(http, resident, "GET", f"/api/v1/complaints/{complaint_id}")).status_code == 200
    # A community key files only in its community; a department key files nothing.
    anju_worker = await served.key("grid-worker", "gw-anju-1")
    assert (await call(http, anju_worker, "POST", "/api/v1/complaints", intake_json())).status_code == 403
    urban = await served.key("department", "urban_management")
    assert (await call(http, urban, "POST", "/api/v1/complaints", intake_json())).status_code == 403

    # The owner may withdraw; the case closes.
    withdrawn = await call(
        http, resident, "POST", f"/api/v1/complaints/{complaint_id}/withdraw", {"reason": "已自行解决"}
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["stage"] == "closed"


async def test_a_body_never_names_the_actor(served: Served, http: httpx.AsyncClient) -> None:
    intake = intake_json()
    integrator = await served.key("integrator", "app-integrator")
    assert (await call(http, integrator, "POST", "/api/v1/complaints", intake)).status_code == 201
    worker = await served.key("grid-worker", "gw-hongqi-1")
    response = await call(
        http, worker, "POST", f"/api/v1/complaints/{intake['complaint_id']}/verify",
        {"actor": {"kind": "grid_worker", "id": "gw-hongqi-2"}},
    )  # fmt: skip
    assert response.status_code == 422
    assert response.json()["field"] == "actor"


async def test_keys_missing_unknown_revoked_and_cases_missing(served: Served, http: httpx.AsyncClient) -> None:
    assert (await http.get("/api/v1/complaints/T-nothing")).json() == {
        "field": "api_key",
        "reason": "send an API key in the X-API-Key header",
    }
    assert (await call(http, "wh_0000000000000000_" + "x" * 43, "GET", "/api/v1/complaints/T-x")).status_code == 401
    supervisor = await served.key("supervisor", "dubanchu")
    missing = await call(http, supervisor, "GET", f"/api/v1/complaints/T-{uuid.uuid4().hex[:8]}")
    assert missing.status_code == 404 and missing.json()["field"] == "complaint_id"
    refused = await call(http, supervisor, "POST", "/api/v1/complaints", intake_json())
    assert refused.status_code == 403  # a supervisor files nothing
    integrator = await served.key("integrator", "app-integrator")
    invalid = await call(http, integrator, "POST", "/api/v1/complaints", {"title": "?"})
    assert invalid.status_code == 422 and set(invalid.json()) == {"field", "reason"}
    bad_community = await call(http, integrator, "POST", "/api/v1/complaints", intake_json(community="nowhere"))
    assert bad_community.status_code == 409 and bad_community.json()["field"] == "community"

    key_id = served.keys["supervisor", "dubanchu"].split("_")[1]
    assert await revoke_key(served.pool, key_id)
    assert (await call(http, supervisor, "GET", "/api/v1/reports/community")).status_code == 401
    del served.keys["supervisor", "dubanchu"]
