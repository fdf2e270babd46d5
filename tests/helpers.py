"""Test helpers: a worker on a fresh task queue, a client for it, and waiting until something holds."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    ScheduleActionExecutionStartWorkflow,
    ScheduleHandle,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowHistory,
)
from temporalio.service import RPCError

from activities.dispatch import Deliverer, DeliveryPolicy, Dispatcher
from activities.event_store import Pool
from activities.files import load_directory, load_policy
from activities.photo_store import PhotoStore
from schemas.intake import ComplaintIntake, Reporter
from schemas.notification import Notification
from schemas.policy import SlaPolicy
from schemas.view import CaseView
from tests.chaos.servers import WorkerProcess
from tests.domain_fixtures import make_intake
from whistle.client import SubmitResult, WhistleClient, workflow_id_for
from whistle.recorded import recorded_in
from whistle.settings import DATA_DIR
from worker import build_worker


class TestClient(WhistleClient):
    """The SDK client, remembering what it filed so the test can end those cases when it is done.

    On the time-skipping server a case left running with no worker stops time from skipping for every
    later test, so each test terminates its own leftovers.
    """

    __test__ = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filed: list[str] = []
        self.intakes: dict[str, ComplaintIntake] = {}
        """What this client filed, as sent: no reporter's name, phone or resident id may be in any history."""

    def with_policy(self, policy: SlaPolicy) -> TestClient:
        """A client filing under ``policy`` onto the same task queue and database, sharing what this one tracks (its
        cases are ended and checked with this one's)."""
        sibling = TestClient(
            self.temporal, task_queue=self.task_queue, directory=self.directory, policy=policy,
            database_url=self.database_url, pool=self._pool, photos=self.photos,
        )  # fmt: skip
        sibling.filed, sibling.intakes = self.filed, self.intakes
        return sibling

    async def submit(self, intake: ComplaintIntake, *, now: datetime | None = None) -> SubmitResult:
        result = await super().submit(intake, now=now)
        self.filed.append(result.complaint_id)
        self.intakes.setdefault(result.complaint_id, intake)
        return result

    async def assert_no_personal_data_in_histories(self) -> None:
        """The claim check: no reporter's name, phone or resident id in the raw history of any case this client
        filed, read with no codec, neither as plain text nor inside a payload (decoded from its base64)."""
        secrets = {text for intake in self.intakes.values() for text in reporter_secrets(intake.reporter)}
        for complaint_id in self.filed:
            history = await self.temporal.get_workflow_handle(workflow_id_for(complaint_id)).fetch_history()
            found = personal_data_in(history, secrets)
            assert not found, f"{complaint_id}: its Temporal history holds {sorted(found)}"

    async def terminate_filed(self) -> None:
        """Terminate every case this client filed, without asking first (``describe`` cannot parse the
        time-skipping server's datetime search attributes); one already closed answers with an error, ignored."""
        for complaint_id in self.filed:
            with suppress(RPCError):
                await self.temporal.get_workflow_handle(workflow_id_for(complaint_id)).terminate("test finished")

    async def record_histories(self, folder: Path) -> None:
        """Save the Temporal history of every case this client filed, for the replay test."""
        await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
        for complaint_id in self.filed:
            history = await self.temporal.get_workflow_handle(workflow_id_for(complaint_id)).fetch_history()
            await asyncio.to_thread((folder / f"{complaint_id}.json").write_text, history.to_json(), "utf-8")

    async def end_open_cases(self) -> None:
        for complaint_id in self.filed:
            handle = self.temporal.get_workflow_handle(workflow_id_for(complaint_id))
            if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                await handle.terminate("test finished")


def sample_client(
    temporal: Client,
    task_queue: str,
    *,
    policy: SlaPolicy | None = None,
    database_url: str | None = None,
    pool: Pool | None = None,
    photos: PhotoStore | None = None,
) -> TestClient:
    """An SDK client on the sample org directory and (unless given) the sample policy, filing onto ``task_queue``;
    filing needs its database (``database_url``, or a ``pool`` the caller keeps)."""
    return TestClient(
        temporal, task_queue=task_queue, directory=load_directory(DATA_DIR / "org.yaml"),
        policy=policy or load_policy(DATA_DIR / "policy.yaml"), database_url=database_url, pool=pool, photos=photos,
    )  # fmt: skip


def reporter_secrets(reporter: Reporter) -> list[str]:
    """What of a reporter must never reach Temporal: name, phone, e-mail and the integrator's resident id."""
    return [text for text in (reporter.name, reporter.phone, reporter.resident_id, reporter.email) if text]


def personal_data_in(history: WorkflowHistory, secrets: set[str]) -> set[str]:
    """Which of ``secrets`` a raw history holds: in its JSON (payloads there are base64) or in any event's bytes,
    where every payload's data is as the SDK wrote it (plain JSON without a codec)."""
    blob = history.to_json().encode() + b"".join(event.SerializeToString() for event in history.events)
    return {secret for secret in secrets if any(form in blob for form in traces(secret))}


def traces(text: str) -> list[bytes]:
    """The forms ``text`` could take in stored bytes: UTF-8, and JSON's \\u escapes."""
    return [text.encode(), json.dumps(text).strip('"').encode()]


TEST_DELIVERY = DeliveryPolicy(post_timeout=1.0, first_backoff=0.2, max_backoff=2.0, max_attempts=5, idle_poll=0.1)
"""The dispatcher's knobs in tests: a hanging receiver costs a second per attempt, and quick retries."""


@asynccontextmanager
async def running_worker(
    temporal: Client,
    pool: Pool,
    *,
    policy: Path = DATA_DIR / "policy.yaml",
    webhook_url: str | None = None,
    end_open_cases: bool = True,
    photos: PhotoStore | None = None,
    residents: Mapping[str, Deliverer] | None = None,
) -> AsyncIterator[TestClient]:
    """A real worker polling a task queue of its own, with the notification dispatcher beside it as in
    ``worker.py`` (``residents``: the residents' channels it serves, by receiver), and an SDK client that files
    cases onto it.

    Cases the test left open are terminated when it ends. The outbox is one table for the whole session, so a
    test that reads what its webhook received picks its own cases' notifications out by complaint id.
    """
    task_queue = f"test-{uuid.uuid4().hex[:12]}"
    async with (
        httpx.AsyncClient() as http,
        build_worker(temporal, task_queue, pool, resident_receivers=list(residents or {})),
        Dispatcher(pool, webhook_url, http, policy=TEST_DELIVERY, residents=residents).running(),
    ):
        client = sample_client(temporal, task_queue, policy=load_policy(policy), pool=pool, photos=photos)
        try:
            yield client
            await client.assert_no_personal_data_in_histories()
        finally:
            if (record_to := recording_to()) is not None:
                await client.record_histories(record_to)
            if end_open_cases:
                await client.end_open_cases()


@dataclass
class Webhook:
    """A real HTTP server on 127.0.0.1 that records each request and answers with ``status`` after ``delay`` s
    (serve it with ``asyncio.start_server(hook.handle, ...)`` and set ``url``)."""

    status: int = 204
    delay: float = 0.0
    requests: list[tuple[dict[str, str], Any]] = field(default_factory=list)
    url: str = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = {name.lower(): value for name, _, value in (line.partition(": ") for line in head[1:] if line)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.requests.append((headers, json.loads(body)))
        await asyncio.sleep(self.delay)
        writer.write(f"HTTP/1.1 {self.status} Status\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".encode())
        await writer.drain()
        writer.close()


def recording_to() -> Path | None:
    """The folder ``make histories`` records this run's complaint histories into (``WHISTLE_RECORD_HISTORIES``,
    ``tests/histories/vN``), or None in an ordinary run."""
    record_to = os.environ.get("WHISTLE_RECORD_HISTORIES")
    return Path(record_to) if record_to else None


async def record_report_run(temporal: Client, schedule: ScheduleHandle, name: str) -> None:
    """When ``make histories`` records: wait for the run ``schedule`` started last and save its history as
    ``tests/histories/daily_report/vN-<name>.json`` (vN the set being recorded), for ``test_replay_report.py``."""
    record_to = recording_to()
    if record_to is None:
        return
    started = (await schedule.describe()).info.recent_actions[-1].action
    assert isinstance(started, ScheduleActionExecutionStartWorkflow)
    handle = temporal.get_workflow_handle(started.workflow_id, run_id=started.first_execution_run_id)
    await handle.result()
    history = await handle.fetch_history()
    path = record_to.parent / "daily_report" / f"{record_to.name}-{name}.json"
    await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread(path.write_text, history.to_json(), "utf-8")


def worker_process(address: str, database_url: str, task_queue: str, folder: Path, **settings: str) -> WorkerProcess:
    """``python worker.py`` (not yet started) on the test's servers and task queue, its home and log under ``folder``;
    ``settings`` adds environment variables (``WHISTLE_WEBHOOK_URL=...``)."""
    environment = {
        "TEMPORAL_ADDRESS": address,
        "DATABASE_URL": database_url,
        "WHISTLE_TASK_QUEUE": task_queue,
        "WHISTLE_HOME": str(folder / "home"),
        "WHISTLE_ALLOW_PLAINTEXT": "true",  # the tests' clients read plain payloads (settings may give keys)
        **settings,
    }
    return WorkerProcess(environment, folder / "worker.log")


def new_intake(**overrides: Any) -> ComplaintIntake:
    """A valid intake with a unique id, reported now."""
    fields: dict[str, Any] = {
        "complaint_id": f"T-{uuid.uuid4().hex[:12]}",
        "reported_at": datetime.now(UTC).isoformat(),
    }
    fields.update(overrides)
    return make_intake(**fields)


async def wait_until(check: Callable[[], Awaitable[bool]], within: float = 30.0) -> None:
    """Poll ``check`` until it holds; fail with the timeout rather than hang."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition did not hold within {within}s")
        await asyncio.sleep(0.1)


def case_handle(temporal: Client, complaint_id: str) -> WorkflowHandle[Any, CaseView]:
    """The case's workflow handle, its result typed. Not ``get_workflow_handle_for(ComplaintWorkflow.run, ...)``: mypy
    resolves that overload wrongly depending on which module it checks first (seen with mypy 1.19, temporalio 1.35)."""
    return temporal.get_workflow_handle(workflow_id_for(complaint_id), result_type=CaseView)


async def history_event_types(client: WhistleClient, complaint_id: str) -> list[str]:
    """The Temporal history's own event types (not domain events), to see what a command left behind."""
    handle = client.temporal.get_workflow_handle(workflow_id_for(complaint_id))
    return [EventType.Name(event.event_type) async for event in handle.fetch_history_events()]


async def sent_notifications(client: WhistleClient, complaint_id: str) -> list[Notification]:
    """Every notification the case handed to its ``store`` activities, read from its history."""
    handle = client.temporal.get_workflow_handle(workflow_id_for(complaint_id))
    return (await recorded_in(handle, client.temporal.data_converter)).notifications
