"""Erasure and retention: a resident's data removed for good, on request or when the policy's period has run,
recorded by who and why and never by what; the case still folds, counts and lists."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from pydantic import ValidationError
from temporalio.client import Client, ScheduleActionExecutionStartWorkflow, ScheduleActionStartWorkflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.erasure import Retention
from activities.event_store import Pool, load_case, load_events
from schemas.actors import Actor
from schemas.commands import WithdrawComplaint
from schemas.erasure import REDACTED, redacted
from schemas.errors import CommandRejected
from schemas.events import ComplaintFiled, ResidentEvaluated, TerminationProposed
from schemas.fold import fold
from schemas.policy import RetentionRule
from tests.domain_fixtures import NOW, RESIDENT, make_case, operator, verify
from tests.gateway_helpers import serving
from tests.helpers import TestClient, new_intake, running_worker, wait_until
from whistle.client import CaseNotFound, workflow_id_for
from whistle.codec import EncryptionCodec, new_key_entry, parse_keys
from whistle.connection import data_converter
from whistle.schedules import RETENTION
from workflows.retention import RETENTION_WORKFLOW, RetentionWorkflow

DESCRIPTION = "我家（8号楼2单元301）楼下烧烤店油烟直排，孩子哮喘。"


def test_redaction_keeps_codes_and_times_and_drops_what_was_written() -> None:
    filed = ComplaintFiled(at=NOW, case=make_case(), verify_due=NOW)
    gone = redacted(filed)
    assert isinstance(gone, ComplaintFiled)
    intake = gone.case.intake
    assert (intake.title, intake.description, intake.location.address) == (REDACTED, REDACTED, REDACTED)
    assert intake.location.latitude is None and intake.category == filed.case.intake.category
    assert RESIDENT not in gone.model_dump_json() and "苏慧敏" not in gone.model_dump_json()  # pre-claim-check shape
    rated = redacted(ResidentEvaluated(at=NOW, rating="unsatisfied", comment="还是有油烟"))
    assert isinstance(rated, ResidentEvaluated) and (rated.rating, rated.comment) == ("unsatisfied", REDACTED)
    proposal = TerminationProposed(
        at=NOW, by="sec-hongqi", reason="duplicate", note="同8号楼投诉", reviewer="fs-hongqi", review_due=NOW
    )
    proposed = redacted(proposal)
    assert isinstance(proposed, TerminationProposed) and (proposed.reason, proposed.note) == ("duplicate", REDACTED)


def test_the_retention_period_is_calendar_time_of_a_day_or_more() -> None:
    assert RetentionRule.model_validate({"anonymise_closed_after": "365d"}).keep_closed_for == timedelta(days=365)
    for bad in ("5wd", "12h"):
        with pytest.raises(ValueError, match="calendar time of a day or more"):
            RetentionRule.model_validate({"anonymise_closed_after": bad})


async def closed(client: TestClient, complaint_id: str) -> None:
    await client.execute(complaint_id, WithdrawComplaint(actor=operator(), reason="居民来电撤回"))
    await client.temporal.get_workflow_handle(workflow_id_for(complaint_id)).result()


async def test_an_erasure_removes_the_contact_at_once_and_the_text_once_closed(
    dev_env: WorkflowEnvironment, pool: Pool
) -> None:
    async with running_worker(dev_env.client, pool) as client:
        complaint_id = (await client.submit(new_intake(description=DESCRIPTION))).complaint_id
        await client.execute(complaint_id, verify())
        open_erasure = await client.erase(complaint_id, by="op-12345-01", reason="居民来电要求删除（工单R-1）")
        assert not open_erasure.text_redacted
        assert await pool.fetchval("select reporter from personal_data where complaint_id = $1", complaint_id) == {}
        with pytest.raises(CommandRejected) as refused:  # nobody is its resident any more; an operator still acts
            resident = Actor(kind="resident", id=RESIDENT)
            await client.execute(complaint_id, WithdrawComplaint(actor=resident, reason="撤"))
        assert refused.value.field == "actor"
        await closed(client, complaint_id)

        erased = await client.erase(complaint_id, by="op-12345-01", reason="居民来电要求删除（工单R-1）")
        assert erased.text_redacted and DESCRIPTION not in erased.model_dump_json()
        stored = await load_events(pool, complaint_id)
        documents = "".join(
            row["document"]
            for row in await pool.fetch(
                "select payload::text as document from events where complaint_id = $1 "
                "union all select state::text from complaints where complaint_id = $1",
                complaint_id,
            )
        )
        assert "烧烤店" not in documents and "居民来电撤回" not in documents and REDACTED in documents
        assert await load_case(pool, complaint_id) == fold(recorded.event for recorded in stored)
        assert (await load_case(pool, complaint_id)).outcome == "withdrawn"  # type: ignore[union-attr]
        recorded = await pool.fetch(
            "select erased_by, reason, text_redacted from erasures where complaint_id = $1 order by id", complaint_id
        )
        assert [tuple(row) for row in recorded] == [
            ("op-12345-01", "居民来电要求删除（工单R-1）", False), ("op-12345-01", "居民来电要求删除（工单R-1）", True)
        ]
        digest = await pool.fetchval("select body_digest from filings where complaint_id = $1", complaint_id)
        assert digest is None
        with pytest.raises(ValidationError, match="reason"):  # a bad reason writes nothing
            await client.erase(complaint_id, by="op-12345-01", reason="")
        assert await pool.fetchval("select count(*) from erasures where complaint_id = $1", complaint_id) == 2
        with pytest.raises(CaseNotFound):
            await client.erase(f"NO-{uuid.uuid4().hex[:8]}", by="op-12345-01", reason="查无此案")


async def retention_run(temporal: Client, pool: Pool, keep_closed_for: timedelta) -> int:
    """One run of the retention workflow on a worker of its own, as the schedule would start it."""
    task_queue = f"retention-{uuid.uuid4().hex[:8]}"
    activity = Retention(pool, keep_closed_for).anonymise_closed_cases
    async with Worker(temporal, task_queue=task_queue, workflows=[RetentionWorkflow], activities=[activity]):
        anonymised: int = await temporal.execute_workflow(
            RETENTION_WORKFLOW, id=f"retention-{uuid.uuid4().hex}", task_queue=task_queue, result_type=int
        )
    return anonymised


async def test_the_retention_run_anonymises_cases_closed_longer_ago_than_the_policy_keeps_them(
    dev_env: WorkflowEnvironment, own_pool: Pool
) -> None:
    """On a database of its own: the run anonymises every closed case past the period, whoever filed it."""
    async with running_worker(dev_env.client, own_pool) as client:
        old = (await client.submit(new_intake(description=DESCRIPTION))).complaint_id
        await closed(client, old)
        still_open = (await client.submit(new_intake(description=DESCRIPTION))).complaint_id

        async def stored_closed() -> bool:
            case = await load_case(own_pool, old)
            return case is not None and case.stage == "closed"

        await wait_until(stored_closed)
        assert await retention_run(dev_env.client, own_pool, timedelta(days=365)) == 0  # closed just now
        assert await retention_run(dev_env.client, own_pool, timedelta(seconds=0)) == 1
        assert await retention_run(dev_env.client, own_pool, timedelta(seconds=0)) == 0  # once is enough
        erased = await own_pool.fetchrow("select erased_by, text_redacted from erasures where complaint_id = $1", old)
        assert erased is not None and tuple(erased) == ("system:retention", True)
        assert DESCRIPTION not in str(await load_case(own_pool, old))
        assert (await load_case(own_pool, still_open)).case.intake.description == DESCRIPTION  # type: ignore[union-attr]


async def test_the_worker_keeps_one_retention_schedule(dev_env: WorkflowEnvironment) -> None:
    task_queue = f"retention-schedule-{uuid.uuid4().hex[:8]}"
    created = [await RETENTION.ensure(dev_env.client, task_queue) for _ in range(3)]
    handle = dev_env.client.get_schedule_handle(RETENTION.schedule_id)
    try:
        assert created[1:] == [False, False]  # a worker process of another test may have created it first
        described = await handle.describe()
        assert described.schedule.spec.time_zone_name == "Asia/Shanghai"
        action = described.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow) and action.workflow == RETENTION_WORKFLOW
    finally:
        await handle.delete()


async def test_a_scheduled_retention_run_reads_its_payloads_under_the_strict_codec(
    dev_env: WorkflowEnvironment, own_pool: Pool
) -> None:
    """A schedule keeps its action's payloads encoded for the schedule's id, not for each run's own workflow id, so
    it passes none: a run it starts decodes everything it meets under the codec's case binding."""
    codec = EncryptionCodec(parse_keys(new_key_entry("k1")))
    temporal = await Client.connect(
        dev_env.client.service_client.config.target_host, namespace=dev_env.client.namespace,
        data_converter=data_converter(codec),
    )  # fmt: skip
    task_queue = f"retention-codec-{uuid.uuid4().hex[:8]}"
    nightly = RETENTION.schedule(task_queue)
    schedule_id = f"test-retention-{uuid.uuid4().hex[:8]}"
    activity = Retention(own_pool, timedelta(days=365)).anonymise_closed_cases
    async with Worker(temporal, task_queue=task_queue, workflows=[RetentionWorkflow], activities=[activity]):
        handle = await temporal.create_schedule(schedule_id, nightly)
        try:
            await handle.trigger()

            async def ran() -> bool:
                runs = (await handle.describe()).info.recent_actions
                return bool(runs)

            await wait_until(ran)
            started = (await handle.describe()).info.recent_actions[0].action
            assert isinstance(started, ScheduleActionExecutionStartWorkflow)
            assert await temporal.get_workflow_handle(started.workflow_id).result() == 0
        finally:
            await handle.delete()


async def test_a_supervisor_looks_the_reporter_up_to_call_back_until_it_is_erased(
    dev_env: WorkflowEnvironment, pool: Pool
) -> None:
    async with serving(dev_env.client, pool) as served, httpx.AsyncClient(base_url=served.url, timeout=30) as http:
        complaint_id = (await served.client.submit(new_intake())).complaint_id
        supervisor = {"X-API-Key": await served.key("supervisor", "duban-01")}
        department = {"X-API-Key": await served.key("department", "urban_management")}
        found = await http.get(f"/api/v1/complaints/{complaint_id}/reporter", headers=supervisor)
        assert found.status_code == 200 and found.json() == {
            "name": "苏慧敏", "phone": "13000000106", "resident_id": RESIDENT
        }  # fmt: skip
        refused = await http.get(f"/api/v1/complaints/{complaint_id}/reporter", headers=department)
        assert refused.status_code == 403
        erased = await http.post(
            f"/api/v1/complaints/{complaint_id}/erase", json={"reason": "居民要求删除"}, headers=supervisor
        )
        assert erased.status_code == 200 and erased.json()["by"] == "supervisor:duban-01"
        assert erased.json()["text_redacted"] is False  # still open: its text goes once it closes
        gone = await http.get(f"/api/v1/complaints/{complaint_id}/reporter", headers=supervisor)
        assert gone.status_code == 404
        assert (await http.post(
            f"/api/v1/complaints/{complaint_id}/erase", json={"reason": "再删"}, headers=department
        )).status_code == 403  # fmt: skip
