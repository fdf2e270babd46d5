"""Residents' personal data stays private: a full lifecycle leaves the reporter's name and phone nowhere a
supervisor or an operator can read them without the key: not in the raw Temporal history, not in any log
line, not in the event store's events or read models. Each check has a control showing the data was there
to be found."""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.event_store import Pool, load_case, load_events
from schemas.org import load_directory
from schemas.policy import load_policy
from schemas.state import fold
from tests.chaos.scenarios import progress
from tests.domain_fixtures import blow, complete, evaluate, report_in, verify
from tests.helpers import new_intake, wait_until, worker_process
from tests.pg import TestDatabase
from whistle.client import WhistleClient, workflow_id_for
from whistle.codec import ENCODING, EncryptionCodec, new_key_entry, parse_keys
from whistle.connection import data_converter
from whistle.settings import DATA_DIR
from workflows.complaint import ComplaintWorkflow

NAME, PHONE = "欧阳慧敏", "13912345678"
LEAD = "urban_management"


def traces(text: str) -> list[bytes]:
    """The forms the name or phone could take in stored bytes: UTF-8, and JSON's \\u escapes."""
    return [text.encode(), json.dumps(text).strip('"').encode()]


def leaks(blob: bytes) -> list[str]:
    return [text for text in (NAME, PHONE) if any(form in blob for form in traces(text))]


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
        )
        intake = new_intake()
        intake = intake.model_copy(
            update={"reporter": intake.reporter.model_copy(update={"name": NAME, "phone": PHONE})}
        )
        case = (await client.submit(intake)).complaint_id
        for command in (verify(), blow(LEAD), report_in(LEAD), progress(LEAD), complete(LEAD), evaluate("satisfied")):
            await client.execute(case, command)
        handle = temporal.get_workflow_handle_for(ComplaintWorkflow.run, workflow_id_for(case))
        assert (await handle.result()).outcome == "satisfied"

        # Control: with the key, the history does hold the reporter.
        filed = (await client.events(case))[0].event
        assert filed.type == "ComplaintFiled" and filed.case.intake.reporter.name == NAME

        # Without the key: the raw history, every event of it, holds neither name nor phone.
        raw = await Client.connect(address)
        history = await raw.get_workflow_handle(workflow_id_for(case)).fetch_history()
        blob = history.to_json().encode() + b"".join(event.SerializeToString() for event in history.events)
        assert leaks(blob) == []
        started = history.events[0].workflow_execution_started_event_attributes
        assert [payload.metadata["encoding"] for payload in started.input.payloads] == [ENCODING]

        # The store: supervisors' tables hold a placeholder; the store's own readers put the reporter back.
        rows = await pool.fetch(
            "select payload::text as document from events where complaint_id = $1 "
            "union all select state::text from complaints where complaint_id = $1",
            case,
        )
        assert len(rows) > 1 and leaks("".join(row["document"] for row in rows).encode()) == []
        kept = await pool.fetchval("select reporter::text from personal_data where complaint_id = $1", case)
        assert leaks(kept.encode()) == [NAME, PHONE]  # control: the protected table has it
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
