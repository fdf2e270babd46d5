"""A fuzz run against the gateway (issue 15): bad bodies, oversized bodies, junk that is not JSON, forged keys,
fields a resident's key may not choose, and Open311 forms with one field made wrong.

Every request is refused (a 4xx, never a 5xx) naming the field — ``{"field", "reason"}`` on the JSON API,
``[{"code", "description": "<field>: <reason>"}]`` on Open311 —, and at the end nothing was written: no filing,
no person, no event, no idempotency reservation, not one workflow started on the gateway's task queue (so none
failed either). ``make test`` draws a fixed sample (``tests/fuzzing.py``); ``make fuzz`` ten times as many, fresh.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from hypothesis import strategies as st

from activities.event_store import Pool
from gateway.guard import BODY_LIMIT
from gateway.keys import revoke_key
from tests.gateway_helpers import Served
from tests.helpers import new_intake
from tests.test_fuzz import CONTROL, REFUTED, SYNTAX, _collect, _names, _set

TABLES = ("filings", "gateway_filings", "personal_data", "complaints", "events", "gateway_idempotency")


async def written(pool: Pool) -> dict[str, int]:
    return {table: await pool.fetchval(f"select count(*) from {table}") for table in TABLES}


def valid_intake() -> dict[str, Any]:
    return new_intake().model_dump(mode="json", exclude_none=True)


FORGED_KEYS = st.one_of(
    st.text(min_size=1, max_size=60).filter(lambda key: key.isprintable() and key.strip() == key and key.isascii()),
    st.from_regex(r"\Awh_[0-9a-f]{16}_[A-Za-z0-9_-]{43}\Z"),  # the right shape, a key nobody was given
    st.from_regex(r"\Awh_[0-9a-f]{15}_[A-Za-z0-9_-]{43}\Z"),
)
JUNK_BODIES = st.one_of(
    st.binary(min_size=1, max_size=200).filter(lambda raw: not _is_json_object(raw)),
    st.sampled_from([b"[]", b"null", b"42", b'"intake"', b"{", b'{"title": }', b"\xff\xfe{}"]),
)
OVERSIZED = st.integers(min_value=BODY_LIMIT + 1, max_value=BODY_LIMIT * 4)
RESIDENT_CHOSEN = st.one_of(
    st.tuples(st.just("complaint_id"), st.from_regex(r"\A12345-[0-9]{8}\Z")),
    st.tuples(st.just("urgency"), st.just("urgent")),
    st.tuples(st.just("source"), st.sampled_from(["hotline", "grid_patrol", "walk_in"])),
    st.tuples(st.just("reported_at"), st.sampled_from(["1970-01-01T00:00:00Z", "2001-09-09T09:09:09+08:00"])),
)
OPEN311_WRONG: st.SearchStrategy[tuple[str, Any]] = st.one_of(
    st.tuples(st.just("api_key"), FORGED_KEYS),
    st.tuples(st.just("service_code"), st.from_regex(r"\A[A-Z][a-z]{0,6}\Z")),
    st.tuples(st.just("lat"), st.one_of(st.floats(min_value=90.5, max_value=1e9), st.just("north"))),
    st.tuples(st.just("long"), st.one_of(st.floats(max_value=-180.5, min_value=-1e9), st.just("east"))),
    st.tuples(st.just("media_url"), st.one_of(st.just("http://example.com/a.jpg"), st.just("ftp://x/y"),
              st.tuples(st.just("https://example.com/"), CONTROL).map("".join))),
    st.tuples(st.just("account_id"), st.tuples(st.just("acct-"), CONTROL).map("".join)),
    st.tuples(st.just("description"), st.one_of(st.just("长" * 4001), st.tuples(st.just("路灯"), CONTROL.filter(
        lambda char: char not in "\t\n\r")).map("".join))),
    st.tuples(st.just("phone"), st.sampled_from(["call me", "1", "++86"])),  # an empty phone is none: accepted
    st.tuples(st.just("attribute[community]"), st.from_regex(r"\A[a-z]{3,8}_nowhere\Z")),
)  # fmt: skip


def once() -> dict[str, str]:
    """A fresh ``Idempotency-Key``: a refused create must not keep it (nor anything else)."""
    return {"Idempotency-Key": uuid.uuid4().hex}


def _is_json_object(raw: bytes) -> bool:
    try:
        return isinstance(json.loads(raw), dict)
    except (ValueError, UnicodeDecodeError):
        return False


def refused_naming(answer: httpx.Response, field: str | None = None) -> bool:
    """A 4xx that names a field (``field`` or one inside it, when given) and says why, in the JSON API's format."""
    body = answer.json()
    named = isinstance(body, dict) and bool(body.get("field")) and bool(body.get("reason"))
    return 400 <= answer.status_code < 500 and named and (field is None or _names(body["field"], field))


def open311_refused_naming(answer: httpx.Response, field: str | None = None) -> bool:
    [error] = answer.json()
    described: str = error["description"]
    named = ": " in described and (field is None or described.startswith(f"{field}:"))
    return 400 <= answer.status_code < 500 and error["code"] == answer.status_code and named


async def test_the_gateway_refuses_every_bad_request_and_writes_nothing(served: Served) -> None:
    before = await written(served.pool)
    integrator = {"X-API-Key": await served.key("integrator", "fuzz-app")}
    resident = {"X-API-Key": await served.key("resident", "app-fuzz-1")}
    revoked_key = await served.key("integrator", "fuzz-revoked")
    assert await revoke_key(served.pool, revoked_key.split("_")[1])
    syntax = st.sampled_from(list(SYNTAX)).flatmap(lambda path: st.tuples(st.just(path), SYNTAX[path]))
    refuted = st.sampled_from(list(REFUTED)).flatmap(lambda f: st.tuples(st.just((f,)), REFUTED[f]))
    refusals = 0
    async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:
        for path, value in [*_collect(syntax, 40), *_collect(refuted, 15)]:
            answer = await http.post(
                "/api/v1/complaints", json=_set(valid_intake(), path, value), headers={**integrator, **once()}
            )
            assert refused_naming(answer, ".".join(path)), (path, value, answer.status_code, answer.text)
            refusals += 1
        for field, value in _collect(RESIDENT_CHOSEN, 10):
            server_decides = {"complaint_id", "source", "urgency", "reported_at"}
            body = {key: value for key, value in valid_intake().items() if key not in server_decides}
            answer = await http.post("/api/v1/complaints", json={**body, field: value}, headers={**resident, **once()})
            assert answer.status_code in (403, 422) and refused_naming(answer, field), (field, value, answer.text)
            refusals += 1
        for raw in _collect(JUNK_BODIES, 20):
            answer = await http.post(
                "/api/v1/complaints", content=raw, headers={**integrator, "content-type": "application/json"}
            )
            assert answer.status_code in (400, 422) and refused_naming(answer), (raw, answer.text)
            refusals += 1
        for size in _collect(OVERSIZED, 5):
            answer = await http.post(
                "/api/v1/complaints", content=b"{" + b" " * size + b"}",
                headers={**integrator, "content-type": "application/json"},
            )  # fmt: skip
            assert answer.status_code == 413 and refused_naming(answer, "body"), answer.text
            refusals += 1
        for key in [*_collect(FORGED_KEYS, 20), revoked_key]:
            answer = await http.post("/api/v1/complaints", json=valid_intake(), headers={"X-API-Key": key})
            assert answer.status_code == 401 and refused_naming(answer, "api_key"), (key, answer.text)
            read = await http.get("/open311/v2/requests.json", params={"api_key": key})
            assert read.status_code in (401, 422) and open311_refused_naming(read), (key, read.text)
            refusals += 2
        form = {
            "api_key": integrator["X-API-Key"], "service_code": "streetlight", "address_string": "红旗社区3号楼前",
            "description": "路灯不亮", "phone": "13800000009",
        }  # fmt: skip
        for field, value in _collect(OPEN311_WRONG, 40):
            answer = await http.post("/open311/v2/requests.json", data={**form, field: value}, headers=once())
            assert open311_refused_naming(answer, field), (field, value, answer.status_code, answer.text)
            refusals += 1
        oversized_form = await http.post("/open311/v2/requests.json", data={**form, "address_id": "长" * BODY_LIMIT})
        assert oversized_form.status_code == 413 and open311_refused_naming(oversized_form, "body")

    assert refusals >= 150
    assert await written(served.pool) == before
    task_queue = f"TaskQueue = '{served.client.task_queue}'"
    assert (await served.client.temporal.count_workflows(task_queue)).count == 0  # not one case was started
    failed = await served.client.temporal.count_workflows(f"{task_queue} AND ExecutionStatus = 'Failed'")
    assert failed.count == 0
