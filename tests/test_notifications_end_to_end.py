"""A case's notifications reach the webhook from the outbox, once per decided event, in order; a webhook that
never answers delays no command and keeps no case from closing.

Before the outbox, a hung webhook held each command's workflow task: ``blow`` answered after 8.7 s and
``report-in`` after 16 s, and the history grew 12 events every 30 s.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.event_store import Pool
from activities.notification_outbox import list_notifications
from schemas.commands import PersonCommand
from tests.domain_fixtures import blow, complete, evaluate, report_in, verify
from tests.helpers import Webhook, history_event_types, new_intake, running_worker, sent_notifications, wait_until
from tests.ports import free_port
from whistle.client import workflow_id_for

LEAD = "urban_management"
HAPPY_PATH: list[PersonCommand] = [
    verify(), blow(LEAD, lead=LEAD), report_in(LEAD), complete(LEAD), evaluate("satisfied"),
]  # fmt: skip


@pytest.fixture
async def webhook() -> AsyncIterator[Webhook]:
    hook = Webhook()
    server = await asyncio.start_server(hook.handle, "127.0.0.1", free_port())
    hook.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hooks/whistle"
    async with server:
        yield hook


async def test_each_decided_notification_reaches_the_webhook_once_in_order(
    dev_env: WorkflowEnvironment, pool: Pool, webhook: Webhook
) -> None:
    async with running_worker(dev_env.client, pool, webhook_url=webhook.url) as client:
        complaint_id = (await client.submit(new_intake())).complaint_id
        for command in HAPPY_PATH:
            await client.execute(complaint_id, command)
        await client.temporal.get_workflow_handle(workflow_id_for(complaint_id)).result()
        decided = await sent_notifications(client, complaint_id)

        def received() -> list[tuple[str, str]]:
            return [
                (headers["idempotency-key"], body["topic"])
                for headers, body in webhook.requests
                if body["complaint_id"] == complaint_id
            ]

        async def all_received() -> bool:
            return len(received()) >= len(decided)

        await wait_until(all_received)
        assert received() == [(notification.key, notification.topic) for notification in decided]
        assert {"WhistleBlown", "CaseClosed"} <= {topic for _, topic in received()}


async def test_a_webhook_that_never_answers_delays_no_command(dev_env: WorkflowEnvironment, pool: Pool) -> None:
    hung: list[asyncio.StreamWriter] = []

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hung.append(writer)  # accepts, reads nothing back, answers nothing

    server = await asyncio.start_server(never_answer, "127.0.0.1", free_port())
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hooks/whistle"
    async with server, running_worker(dev_env.client, pool, webhook_url=url) as client:
        complaint_id = (await client.submit(new_intake())).complaint_id
        slowest = 0.0
        for command in HAPPY_PATH:
            started = time.monotonic()
            await client.execute(complaint_id, command)
            slowest = max(slowest, time.monotonic() - started)
        await asyncio.wait_for(client.temporal.get_workflow_handle(workflow_id_for(complaint_id)).result(), 30)

        async def retried() -> bool:
            rows = await list_notifications(pool, status="pending", complaint_id=complaint_id, limit=50)
            return any(row.attempts >= 2 for row in rows)

        await wait_until(retried)
        # Usually milliseconds; loose for a shared machine, and far below one POST's timeout per command.
        assert slowest < 5.0, slowest
        assert hung, "the dispatcher never reached the webhook"
        history = await history_event_types(client, complaint_id)
        assert "EVENT_TYPE_ACTIVITY_TASK_FAILED" not in history and "EVENT_TYPE_TIMER_FIRED" not in history
        for writer in hung:
            writer.close()
