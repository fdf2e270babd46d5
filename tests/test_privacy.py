"""Residents' personal data stays private. The reporter's name, phone and resident id never enter Temporal
(the claim check): not its history even read with the key, not an Update's arguments, not a log line. They
are in ``personal_data`` alone, and the event store's events and read models hold only the reference. Each
check has a control showing the data was there to be found."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.event_store import Pool, load_case, load_events
from activities.files import load_directory, load_policy
from schemas.actors import Actor
from schemas.commands import EvaluateOutcome
from schemas.errors import CommandRejected
from schemas.fold import fold
from schemas.intake import ReporterReference
from tests.chaos.scenarios import progress
from tests.domain_fixtures import blow, complete, report_in, verify
from tests.helpers import case_handle, new_intake, personal_data_in, traces, wait_until, worker_process
from tests.pg import TestDatabase
from whistle.client import WhistleClient, workflow_id_for
from whistle.codec import ENCODING, EncryptionCodec, new_key_entry, parse_keys
from whistle.connection import data_converter
from whistle.settings import DATA_DIR

NAME, PHONE, RESIDENT = "欧阳慧敏", "13912345678", "app-privacy-77"
LEAD = "urban_management"


def leaks(blob: bytes) -> list[str]:
    return [text for text in (NAME, PHONE, RESIDENT) if any(form in blob for form in traces(text))]


async def test_full_lifecycle_leaves_no_reporter_name_or_phone_in_history_logs_or_read_models(
    dev_env: WorkflowEnvironment, database: TestDatabase, pool: Pool, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    address = dev_env.client.service_client.config.target_host
    keys = new_key_entry("privacy")
    task_queue = f"privacy-{uuid.uuid4().hex[:8]}"
    worker = worker_process(
        address,
        database.url,
        task_queue,
        tmp_path,
        WHISTLE_CODEC_KEYS=keys,
        WHISTLE_LOG_FORMAT="json",
        WHISTLE_LOG_LEVEL="DEBUG",
    )
    worker.start()
    try:
        temporal = await Client.connect(address, data_converter=data_converter(EncryptionCodec(parse_keys(keys))))
        client = WhistleClient(
            temporal,
            task_queue=task_queue,
            directory=load_directory(DATA_DIR / "org.yaml"),
            policy=load_policy(DATA_DIR / "policy.yaml"),
            pool=pool,
        )
        intake = new_intake()
        reporter = intake.reporter.model_copy(update={"name": NAME, "phone": PHONE, "resident_id": RESIDENT})
        case = (await client.submit(intake.model_copy(update={"reporter": reporter}))).complaint_id
        for command in (verify(), blow(LEAD), report_in(LEAD), progress(LEAD), complete(LEAD)):
            await client.execute(case, command)
        stranger = Actor(kind="resident", id="app-someone-else")
        with pytest.raises(CommandRejected) as refused:
            await client.execute(case, EvaluateOutcome(actor=stranger, rating="satisfied"))
        assert refused.value.field == "actor"
        resident = Actor(kind="resident", id=RESIDENT)  # the resident in person, matched to the case at the edge
        await client.execute(case, EvaluateOutcome(actor=resident, rating="satisfied", comment="满意"))
        handle = case_handle(temporal, case)
        assert (await handle.result()).outcome == "satisfied"

        # With the key the history is readable, and holds a reference in place of the reporter.
        filed = (await client.events(case))[0].event
        assert filed.type == "ComplaintFiled" and isinstance(filed.case.intake.reporter, ReporterReference)
        reference = filed.case.intake.reporter.reference
        keyed = await temporal.get_workflow_handle(workflow_id_for(case)).fetch_history()
        assert personal_data_in(keyed, {NAME, PHONE, RESIDENT}) == set()
        assert reference.encode() in b"".join(  # control: the decoded evaluation names the resident by reference
            payload.data for event in await _decoded_updates(client, case) for payload in event
        )

        # Without the key: the raw history, every event of it, holds none of them, and its input is encrypted.
        raw = await Client.connect(address)
        history = await raw.get_workflow_handle(workflow_id_for(case)).fetch_history()
        blob = history.to_json().encode() + b"".join(event.SerializeToString() for event in history.events)
        assert leaks(blob) == []
        started = history.events[0].workflow_execution_started_event_attributes
        assert [payload.metadata["encoding"] for payload in started.input.payloads] == [ENCODING]

        # The store: events and read models hold the reference only; personal_data holds the person.
        rows = await pool.fetch(
            "select payload::text as document from events where complaint_id = $1 "
            "union all select state::text from complaints where complaint_id = $1",
            case,
        )
        documents = "".join(row["document"] for row in rows)
        assert len(rows) > 1 and leaks(documents.encode()) == [] and reference in documents
        kept = await pool.fetchrow("select reporter::text, reference from personal_data where complaint_id = $1", case)
        assert kept is not None
        assert leaks(kept["reporter"].encode()) == [NAME, PHONE, RESIDENT]  # control: the protected table has them
        assert kept["reference"] == reference
        stored = await load_events(pool, case)
        assert stored == await client.events(case)
        assert await load_case(pool, case) == fold(recorded.event for recorded in stored)
    finally:
        worker.stop()

    # Logs: the worker's (at DEBUG) and this process's say what happened to the case, never to whom.
    worker_log = (tmp_path / "worker.log").read_bytes()

    async def logged() -> bool:
        return case.encode() in worker_log

    await wait_until(logged, within=1)  # control: the log does talk about this case
    assert leaks(worker_log) == []
    here = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert leaks(here.encode()) == []


async def _decoded_updates(client: WhistleClient, complaint_id: str) -> list[list[Payload]]:
    """The arguments of every accepted Update of the case, decoded with the client's codec."""
    history = await client.temporal.get_workflow_handle(workflow_id_for(complaint_id)).fetch_history()
    codec = client.temporal.data_converter.payload_codec
    assert codec is not None
    updates = [
        event.workflow_execution_update_accepted_event_attributes.accepted_request.input.args.payloads
        for event in history.events
        if event.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    return [list(await codec.decode(list(payloads))) for payloads in updates]
