"""Notifications are logged always and POSTed to the webhook with their idempotency key when one is set."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs
from temporalio.testing import ActivityEnvironment

from activities.notify import Notifier, NotifyInput, WebhookRejected
from schemas.calendar import CHINA_TIME
from schemas.notification import Notification

AT = datetime(2026, 3, 2, 9, 0, tzinfo=CHINA_TIME)

WHISTLE = Notification(
    key="light-1:4:whistle",
    complaint_id="light-1",
    kind="event",
    topic="whistle_blown",
    audience=["power", "urban_management"],
    message="社区吹哨: 3号楼前路灯不亮, 请于两个工作日内报到",
    at=AT,
    due=AT + timedelta(days=2),
)
WARNING = Notification(
    key="light-1:4:warning:report_in",
    complaint_id="light-1",
    kind="warning",
    topic="report_in_due_soon",
    audience=["power"],
    message="报到时限将至",
    at=AT + timedelta(days=1),
)


@dataclass
class Webhook:
    """A real HTTP server on 127.0.0.1 that records each request and answers with ``status`` after ``delay`` s."""

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


@pytest.fixture
async def webhook() -> AsyncIterator[Webhook]:
    hook = Webhook()
    server = await asyncio.start_server(hook.handle, "127.0.0.1", 0)
    hook.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hooks/whistle"
    async with server:
        yield hook


async def test_each_notification_is_posted_with_its_idempotency_key(webhook: Webhook) -> None:
    notifier = Notifier(webhook.url)

    await ActivityEnvironment().run(notifier.notify, NotifyInput(notifications=[WHISTLE, WARNING]))

    assert [headers["idempotency-key"] for headers, _ in webhook.requests] == [WHISTLE.key, WARNING.key]
    assert [body for _, body in webhook.requests] == [WHISTLE.model_dump(mode="json"), WARNING.model_dump(mode="json")]
    assert webhook.requests[0][1]["message"] == WHISTLE.message


async def test_a_shared_client_is_used_when_given(webhook: Webhook) -> None:
    async with httpx.AsyncClient() as client:
        await Notifier(webhook.url, client).notify(NotifyInput(notifications=[WHISTLE]))

    assert [headers["idempotency-key"] for headers, _ in webhook.requests] == [WHISTLE.key]


async def test_a_webhook_answering_500_makes_the_activity_fail_for_a_retry(webhook: Webhook) -> None:
    webhook.status = 500

    with pytest.raises(WebhookRejected, match="500"):
        await Notifier(webhook.url).notify(NotifyInput(notifications=[WHISTLE]))

    assert len(webhook.requests) == 1


async def test_an_unreachable_webhook_makes_the_activity_fail_for_a_retry() -> None:
    server = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()

    with pytest.raises(httpx.ConnectError):
        await Notifier(f"http://127.0.0.1:{port}/").notify(NotifyInput(notifications=[WHISTLE]))


async def test_without_a_webhook_each_notification_is_only_logged() -> None:
    with capture_logs() as logs:
        await Notifier(None).notify(NotifyInput(notifications=[WHISTLE, WARNING]))

    assert logs == [
        {
            "event": "notification",
            "log_level": "info",
            "complaint_id": "light-1",
            "kind": notification.kind,
            "topic": notification.topic,
            "audience": notification.audience,
            "key": notification.key,
            "webhook": False,
        }
        for notification in (WHISTLE, WARNING)
    ]
