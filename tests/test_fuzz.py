"""Bad input, fuzzed: every invalid intake or command is refused with an error naming the field, no workflow
fails, and nothing is written.

The rules, one each:
- oversized text: title 200, description 4000, names 50, notes 2000 characters (``schemas.common``);
- control characters (other than newline and tab) anywhere in free text;
- wrong types, unknown fields, values outside a closed list (source, urgency, rating);
- codes that are well formed but unknown to the directory (community, grid of another community, category)
  and departments the case never summoned;
- ``reported_at`` more than five minutes in the future, or without a time zone;
- a complaint id filed twice is one case (``test_end_to_end``), never a second workflow;
- a flood of progress notes stops at the policy's ``max_progress_notes`` per department.
Malformed payloads sent straight to the workflow, past the SDK's models, are refused by the Update without
failing the workflow task.

Past 300 lines: one strategy per rule of the intake and the commands, next to the property it feeds.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from activities.event_store import Pool, load_events
from schemas.actors import Actor
from schemas.commands import RecordProgress
from schemas.errors import CommandRejected
from schemas.intake import ComplaintIntake
from tests.domain_fixtures import blow, directory, report_in, verify
from tests.fuzzing import examples
from tests.helpers import TestClient, history_event_types, new_intake, running_worker, wait_until
from whistle.client import workflow_id_for
from whistle.settings import DATA_DIR

NOW = datetime.now(UTC)
LEAD, SECOND = "urban_management", "market_regulation"
CONTROL = st.sampled_from([chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F, 0x200B, 0x202E]])


def _text_with_control(size: int) -> st.SearchStrategy[str]:
    """A control character inside the text (at either end, whitespace ones are stripped, which is harmless)."""
    return st.tuples(st.text(max_size=size // 2), CONTROL, st.text(max_size=size // 2)).map(
        lambda parts: f"甲{''.join(parts)}乙"
    )


def _oversized(limit: int) -> st.SearchStrategy[str]:
    return st.integers(min_value=limit + 1, max_value=limit * 3).map(lambda n: "长" * n)


WRONG_TYPES = st.one_of(
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
KNOWN = directory()
KNOWN_CODES = {
    *(community.code for community in KNOWN.communities),
    *(grid.code for community in KNOWN.communities for grid in community.grids),
    *(category.code for category in KNOWN.categories),
    *(department.code for department in KNOWN.departments),
}
UNKNOWN_CODE = st.from_regex(r"\A[a-z][a-z0-9_]{0,20}\Z").filter(lambda code: code not in KNOWN_CODES)

SOURCES = {"grid_patrol", "resident_app", "hotline", "walk_in"}
SYNTAX: dict[tuple[str, ...], st.SearchStrategy[Any]] = {
    ("title",): st.one_of(_oversized(200), _text_with_control(20), st.just(""), WRONG_TYPES),
    ("description",): st.one_of(_oversized(4000), _text_with_control(40), WRONG_TYPES),
    ("reporter", "name"): st.one_of(_oversized(50), _text_with_control(10), WRONG_TYPES),
    ("reporter", "phone"): st.one_of(st.from_regex(r"\A[a-z ]{1,8}\Z"), st.just("1"), WRONG_TYPES),
    ("location", "address"): st.one_of(_oversized(200), _text_with_control(10)),
    ("location", "latitude"): st.one_of(st.floats(min_value=90.001, max_value=1e6), st.just("north")),
    ("community",): st.one_of(st.from_regex(r"\A[A-Z -]{1,10}\Z"), _oversized(40), WRONG_TYPES),
    ("category",): st.one_of(st.from_regex(r"\A[0-9][a-z]{0,5}\Z"), WRONG_TYPES),
    ("source",): st.text(max_size=10).filter(lambda s: s.strip() not in SOURCES),
    ("urgency",): st.one_of(st.sampled_from(["URGENT", "low", "紧急"]), WRONG_TYPES),
    ("complaint_id",): st.one_of(st.from_regex(r"\A[a-z]{0,3}[/#\\][a-z]{0,3}\Z"), _oversized(64)),
    ("reported_at",): st.one_of(st.just("2026-11-20T09:30:00"), st.just("yesterday"), WRONG_TYPES),
    ("surprise",): st.text(max_size=5),
}  # fmt: skip
"""Invalid by its shape: the intake model refuses it before anything is sent."""


def _valid_intake() -> dict[str, Any]:
    return new_intake().model_dump(mode="json")


def _set(document: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    if len(path) == 1:
        return {**document, path[0]: value}
    return {**document, path[0]: _set(document[path[0]], path[1:], value)}


@settings(max_examples=examples(300), suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(list(SYNTAX)).flatmap(lambda path: st.tuples(st.just(path), SYNTAX[path])))
def test_malformed_intake_is_refused_naming_the_field(mutation: tuple[tuple[str, ...], Any]) -> None:
    path, value = mutation
    with pytest.raises(ValidationError) as refused:
        ComplaintIntake.model_validate(_set(_valid_intake(), path, value))
    locations = [error["loc"] for error in refused.value.errors()]
    assert locations and all(loc[: len(path)] == path for loc in locations), locations


def _future() -> st.SearchStrategy[str]:
    return st.integers(min_value=6, max_value=60 * 24 * 400).map(
        lambda minutes: (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()
    )


REFUTED: dict[str, st.SearchStrategy[Any]] = {
    "community": UNKNOWN_CODE,
    "grid": st.one_of(UNKNOWN_CODE, st.sampled_from(["anju_1", "gangyuan_1"])),
    "category": UNKNOWN_CODE,
    "reported_at": _future(),
}
"""Well formed, but the directory or the clock refutes it: the SDK refuses it before starting a workflow."""


@pytest.fixture(scope="module")
async def fuzz_client(dev_env: WorkflowEnvironment, pool: Pool) -> Any:
    async with running_worker(dev_env.client, pool, policy=DATA_DIR / "policy.yaml") as client:
        yield client


def _names(reported: str, field: str) -> bool:
    """The error names ``field`` or a part of it (``location.address``); a field whose own name holds a dot is
    reported whole, so the comparison is on the name, never on the text split at dots."""
    return reported == field or reported.startswith(f"{field}.")


def _collect(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    """Examples drawn by hypothesis, to send to a live server from async code."""
    found: list[Any] = []

    @settings(max_examples=examples(count), suppress_health_check=list(HealthCheck))
    @given(strategy)
    def draw(example: Any) -> None:
        found.append(example)

    draw()
    return found


async def test_intake_the_directory_or_the_clock_refutes_starts_no_workflow(fuzz_client: TestClient) -> None:
    mutations = _collect(st.sampled_from(list(REFUTED)).flatmap(lambda f: st.tuples(st.just(f), REFUTED[f])), 40)
    for field, value in mutations:
        intake = ComplaintIntake.model_validate({**_valid_intake(), field: value})
        with pytest.raises(CommandRejected) as rejected:
            await fuzz_client.submit(intake)
        assert rejected.value.field == field, (field, value, rejected.value)
        assert intake.complaint_id is not None
        with pytest.raises(RPCError) as missing:
            await fuzz_client.temporal.get_workflow_handle(workflow_id_for(intake.complaint_id)).describe()
        assert missing.value.status == RPCStatusCode.NOT_FOUND


async def settled(client: TestClient, pool: Pool, case: str) -> bool:
    """Every event stored, no ``store`` activity pending, and the history still for a moment."""
    description = await client.temporal.get_workflow_handle(workflow_id_for(case)).describe()
    history = await history_event_types(client, case)
    if description.raw_description.pending_activities:
        return False
    if len(await load_events(pool, case)) != (await client.status(case)).event_count:
        return False
    await asyncio.sleep(0.5)
    return await history_event_types(client, case) == history


def _department(code: str) -> dict[str, str]:
    return {"kind": "department", "id": code}


RAW_UPDATES: st.SearchStrategy[tuple[str, Any]] = st.one_of(
    st.tuples(st.just("report_in"), st.fixed_dictionaries(
        {"actor": st.one_of(WRONG_TYPES, st.just(_department(LEAD))),
         "department": st.one_of(WRONG_TYPES, UNKNOWN_CODE),
         "officer": st.one_of(_oversized(50), _text_with_control(6), WRONG_TYPES)})),
    st.tuples(st.just("progress"), st.fixed_dictionaries(
        {"actor": st.just(_department(LEAD)), "department": st.just(LEAD),
         "note": st.one_of(_oversized(4000), _text_with_control(20), WRONG_TYPES)})),
    st.tuples(st.just("evaluate"), st.fixed_dictionaries(
        {"actor": st.just({"kind": "resident", "id": "app-10106"}),
         "rating": st.one_of(st.text(max_size=8), WRONG_TYPES)})),
    st.tuples(st.sampled_from(["verify", "blow", "decline", "complete", "direct", "withdraw"]),
              st.one_of(WRONG_TYPES, st.text(max_size=20), st.dictionaries(st.text(max_size=6), WRONG_TYPES))),
)  # fmt: skip
"""Payloads an SDK user could never build, sent raw: as a hostile or buggy integrator might."""

CONTEXT_WRONG = st.one_of(
    st.builds(lambda code: report_in(code), st.sampled_from([SECOND, "justice_office", "weather_bureau"])),
    st.builds(lambda code: report_in(LEAD, actor=Actor(kind="department", id=code)), st.sampled_from([SECOND, "x1"])),
    st.builds(lambda: verify()),
    st.builds(lambda code: blow(code), st.sampled_from(["weather_bureau", "nonexistent"])),
    st.builds(
        lambda code, note: RecordProgress(actor=Actor(kind="department", id=code), department=code, note=note),
        st.sampled_from([LEAD, SECOND]),
        st.text(min_size=1, max_size=30).filter(lambda t: t.strip() and t.isprintable()),
    ),
)
"""Commands the SDK can build but the case must refuse now: unsummoned departments, someone else's name, a
stage already passed, progress before anyone reported in."""


async def test_malformed_and_out_of_place_commands_leave_the_case_untouched(
    fuzz_client: TestClient, pool: Pool
) -> None:
    client = fuzz_client
    case = (await client.submit(new_intake())).complaint_id
    await client.execute(case, verify())
    await client.execute(case, blow(LEAD))
    handle = client.temporal.get_workflow_handle(workflow_id_for(case))
    await wait_until(lambda: settled(client, pool, case))
    before = (await history_event_types(client, case), await load_events(pool, case), await client.status(case))

    for name, payload in _collect(RAW_UPDATES, 30):
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(name, payload)
    for command in _collect(CONTEXT_WRONG, 30):
        with pytest.raises(CommandRejected) as rejected:
            await client.execute(case, command)
        assert rejected.value.field in {"department", "actor", "stage", "departments", "note"}, rejected.value

    history = await history_event_types(client, case)
    assert "EVENT_TYPE_WORKFLOW_TASK_FAILED" not in history
    assert (history, await load_events(pool, case), await client.status(case)) == before
    assert (await client.execute(case, report_in(LEAD))).stage == "handling"  # control: it still takes a command


async def test_flood_of_progress_notes_stops_at_the_cap(dev_env: WorkflowEnvironment, pool: Pool) -> None:
    async with running_worker(dev_env.client, pool) as worker_client:
        client = worker_client.with_policy(_policy_with_cap(3))
        case = (await client.submit(new_intake(complaint_id=f"FLOOD-{uuid.uuid4().hex[:8]}"))).complaint_id
        await client.execute(case, verify())
        await client.execute(case, blow(LEAD))
        await client.execute(case, report_in(LEAD))
        note = RecordProgress(actor=Actor(kind="department", id=LEAD), department=LEAD, note="又一次现场查看")
        for _ in range(3):
            await client.execute(case, note)
        await wait_until(lambda: settled(client, pool, case))
        history = await history_event_types(client, case)
        for _ in range(20):
            with pytest.raises(CommandRejected) as rejected:
                await client.execute(case, note)
            assert rejected.value.field == "note"
        assert await history_event_types(client, case) == history
        assert (await client.status(case)).event_count == 7  # filed, verified, whistled, reported in, 3 notes
        await client.end_open_cases()


def _policy_with_cap(cap: int) -> Any:
    from activities.files import load_policy
    from schemas.policy import SlaPolicy

    document = load_policy(DATA_DIR / "policy.yaml").model_dump(mode="json")
    document["default"]["max_progress_notes"] = cap
    return SlaPolicy.model_validate(document)


async def test_http_api_refuses_bad_intakes_naming_the_field_and_writes_nothing(
    dev_env: WorkflowEnvironment, pool: Pool
) -> None:
    from tests.gateway_helpers import serving

    syntax = st.sampled_from(list(SYNTAX)).flatmap(lambda path: st.tuples(st.just(path), SYNTAX[path]))
    refuted = st.sampled_from(list(REFUTED)).flatmap(lambda f: st.tuples(st.just((f,)), REFUTED[f]))
    async with serving(dev_env.client, pool) as served, httpx.AsyncClient(base_url=served.url) as http:
        headers = {"X-API-Key": await served.key("integrator", "hotline-12345")}
        for path, value in [*_collect(syntax, 60), *_collect(refuted, 20)]:
            intake = _set(_valid_intake(), path, value)
            answer = await http.post("/api/v1/complaints", json=intake, headers=headers)
            body = answer.json()
            assert answer.status_code in (409, 422), (path, value, answer.status_code, body)
            assert _names(body["field"], ".".join(path)), (path, value, body)
            complaint_id = intake["complaint_id"]
            if path != ("complaint_id",):
                assert await load_events(pool, complaint_id) == []
                with pytest.raises(RPCError):
                    await served.client.temporal.get_workflow_handle(workflow_id_for(complaint_id)).describe()


HTTP_COMMANDS: st.SearchStrategy[tuple[str, str, Any]] = st.one_of(
    st.tuples(st.just("progress"), st.just("note"), st.one_of(_oversized(4000), _text_with_control(20), WRONG_TYPES)),
    st.tuples(st.just("complete"), st.just("result"), st.one_of(_oversized(4000), _text_with_control(20), WRONG_TYPES)),
    st.tuples(st.just("progress"), st.just("department"), st.one_of(st.from_regex(r"\A[A-Z!-]{1,8}\Z"), WRONG_TYPES)),
    st.tuples(st.just("report-in"), st.just("officer"), st.one_of(_oversized(50), _text_with_control(6), WRONG_TYPES)),
    st.tuples(st.sampled_from(["progress", "complete", "decline"]), st.text(min_size=1, max_size=8).filter(
        lambda name: name.strip() not in {"note", "result", "department", "reason"}), st.integers()),
)  # fmt: skip
"""A command body with one field made wrong: ``(command path, field, value)``."""


async def test_http_api_refuses_bad_commands_naming_the_field_and_the_case_is_untouched(
    dev_env: WorkflowEnvironment, pool: Pool
) -> None:
    from tests.gateway_helpers import serving

    async with serving(dev_env.client, pool) as served, httpx.AsyncClient(base_url=served.url) as http:
        client = served.client
        case = (await client.submit(new_intake())).complaint_id
        await client.execute(case, verify())
        await client.execute(case, blow(LEAD))
        await client.execute(case, report_in(LEAD))
        await wait_until(lambda: settled(client, pool, case))
        before = (await history_event_types(client, case), await load_events(pool, case))
        lead = {"X-API-Key": await served.key("department", LEAD)}
        valid = {
            "progress": {"note": "已现场查看"},
            "complete": {"result": "已整改"},
            "decline": {"reason": "不归我们"},
            "report-in": {"officer": "值班员"},
        }
        for command, field, value in _collect(HTTP_COMMANDS, 60):
            body = {**valid[command], field: value}
            answer = await http.post(f"/api/v1/complaints/{case}/{command}", json=body, headers=lead)
            assert answer.status_code == 422, (command, field, value, answer.status_code, answer.text)
            assert _names(answer.json()["field"], field), (command, field, answer.json())
        stranger = {"X-API-Key": await served.key("department", SECOND)}
        refused = await http.post(f"/api/v1/complaints/{case}/progress", json=valid["progress"], headers=stranger)
        assert refused.status_code in (403, 404, 409) and refused.json()["field"], refused.text
        assert (await history_event_types(client, case), await load_events(pool, case)) == before
