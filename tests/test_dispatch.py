"""Notifications leave through the PostgreSQL outbox: queued once, delivered in order, retried with backoff,
dead after the attempt limit, and no receiver, however slow or dead, holds up anything but its own queue.

Each test queues for receivers named for it alone, so the session's shared table holds other tests' rows
without disturbing it. Receivers are real HTTP servers on loopback ports.

Past 300 lines: each delivery rule (order, backoff, dead letters, leases, isolation) against a real PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from structlog.testing import capture_logs
from temporalio.testing import WorkflowEnvironment

from activities.dispatch import DeliveryPolicy, Dispatcher
from activities.event_store import Pool, create_pool
from activities.notification_outbox import RECEIVER, enqueue, list_notifications, requeue_dead
from schemas.calendar import CHINA_TIME
from schemas.notification import Notification
from tests.helpers import wait_until, worker_process
from tests.pg import TestDatabase
from tests.ports import free_port

AT = datetime(2026, 3, 2, 9, 0, tzinfo=CHINA_TIME)
FAST = DeliveryPolicy(post_timeout=2.0, first_backoff=0.05, max_backoff=0.2, max_attempts=5, idle_poll=0.02)
"""Small knobs so retries take milliseconds; each test changes what it is about."""


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 that records each request (and when it came) and answers ``status``.

    Keys in ``rejecting`` are answered 500, keys in ``failing_once`` only the first time; with ``answering``
    cleared it reads a request and never answers.
    """

    port: int
    status: int = 204
    delay: float = 0.0
    rejecting: set[str] = field(default_factory=set)
    failing_once: set[str] = field(default_factory=set)
    answering: asyncio.Event = field(default_factory=asyncio.Event)
    requests: list[tuple[dict[str, str], Any]] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.answering.set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/whistle?token=s3cret"

    @property
    def keys(self) -> list[str]:
        return [headers["idempotency-key"] for headers, _ in self.requests]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            headers = {name.lower(): value for name, _, value in (line.partition(": ") for line in head[1:] if line)}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append((headers, json.loads(body)))
            self.arrivals.append(asyncio.get_running_loop().time())
            await asyncio.sleep(self.delay)
            await self.answering.wait()
            key = headers["idempotency-key"]
            first_time = self.keys.count(key) == 1
            status = 500 if key in self.rejecting or (key in self.failing_once and first_time) else self.status
            writer.write(f"HTTP/1.1 {status} Status\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".encode())
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the dispatcher gave up on this request
        finally:
            writer.close()


@asynccontextmanager
async def serving(receiver: Receiver) -> AsyncIterator[Receiver]:
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", receiver.port)
    try:
        async with server:
            yield receiver
    finally:
        receiver.answering.set()  # let a held request finish, so no handler outlives the test


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def notifications(count: int, complaint_id: str | None = None) -> list[Notification]:
    case = complaint_id or name("CASE")
    return [
        Notification(
            key=f"{case}/{seq}", complaint_id=case, kind="event", topic="WhistleBlown", audience=["power"],
            message=f"社区吹哨 {seq}", at=AT + timedelta(minutes=seq),
        )
        for seq in range(1, count + 1)
    ]


async def queue(pool: Pool, batch: list[Notification], *receivers: str) -> int:
    """Enqueue inside a transaction of our own, as the store's append does."""
    async with pool.acquire() as connection, connection.transaction():
        return await enqueue(connection, batch, receivers=receivers)


async def rows(pool: Pool, receiver: str) -> list[asyncpg.Record]:
    return await pool.fetch(
        "select id, delivery_key, status, attempts, last_error from notification_outbox where receiver = $1 "
        "order by id",
        receiver,
    )


def status_is(pool: Pool, receiver: str, key: str, status: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        found = await pool.fetchval(
            "select status from notification_outbox where receiver = $1 and delivery_key = $2", receiver, key
        )
        return bool(found == status)

    return check


def all_delivered(pool: Pool, receiver: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return all(row["status"] == "delivered" for row in await rows(pool, receiver))

    return check


def holds(condition: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return condition()

    return check


async def test_a_retried_store_transaction_queues_nothing_twice(pool: Pool) -> None:
    first, second = name("webhook"), name("audit")
    batch = notifications(3)

    assert await queue(pool, batch, first, second) == 6
    assert await queue(pool, batch, first, second) == 0
    [later] = notifications(1)
    assert await queue(pool, [*batch, later], first) == 1

    stored = await rows(pool, first)
    assert [row["delivery_key"] for row in stored] == [notification.key for notification in [*batch, later]]
    assert {row["status"] for row in stored} == {"pending"}
    assert len(await rows(pool, second)) == 3


async def test_each_notification_is_delivered_once_with_its_delivery_key(
    pool: Pool, http: httpx.AsyncClient
) -> None:
    receiver = name("webhook")
    batch = notifications(3)
    await queue(pool, batch, receiver)
    async with serving(Receiver(free_port())) as hook:
        dispatcher = Dispatcher(pool, None, http, policy=FAST, receivers={receiver: hook.url})

        assert await dispatcher.run_once() == 3
        assert await dispatcher.run_once() == 0

    assert hook.keys == [notification.key for notification in batch]
    assert [body for _, body in hook.requests] == [notification.model_dump(mode="json") for notification in batch]
    assert [(row["status"], row["attempts"]) for row in await rows(pool, receiver)] == [("delivered", 1)] * 3


async def test_without_a_url_the_log_line_is_the_delivery(pool: Pool, http: httpx.AsyncClient) -> None:
    receiver = name("webhook")
    batch = notifications(2)
    await queue(pool, batch, receiver)

    with capture_logs() as logs:
        assert await Dispatcher(pool, None, http, policy=FAST, receivers={receiver: None}).run_once() == 2

    lines = [line for line in logs if line["event"] == "notification"]
    assert [(line["key"], line["receiver"], line["webhook"]) for line in lines] == [
        (notification.key, receiver, False) for notification in batch
    ]
    assert [(line["complaint_id"], line["kind"], line["topic"], line["audience"]) for line in lines] == [
        (notification.complaint_id, notification.kind, notification.topic, notification.audience)
        for notification in batch
    ]
    assert "message" not in lines[0]
    assert await all_delivered(pool, receiver)()


async def test_a_receiver_answering_500_is_retried_with_backoff_until_it_recovers(
    pool: Pool, http: httpx.AsyncClient
) -> None:
    receiver = name("webhook")
    first, second = notifications(2)
    await queue(pool, [first, second], receiver)
    policy = DeliveryPolicy(post_timeout=2.0, first_backoff=0.1, max_backoff=0.4, max_attempts=20, idle_poll=0.02)
    async with serving(Receiver(free_port(), status=500)) as hook:
        dispatcher = Dispatcher(pool, None, http, policy=policy, receivers={receiver: hook.url})
        async with dispatcher.running():
            await wait_until(holds(lambda: len(hook.requests) >= 4), within=10)
            hook.status = 204
            await wait_until(all_delivered(pool, receiver), within=10)

    failed = hook.keys.index(second.key) - 1  # the first's attempts before the one that got through
    assert hook.keys == [first.key] * (failed + 1) + [second.key]
    gaps = [later - earlier for earlier, later in zip(hook.arrivals, hook.arrivals[1:failed + 1], strict=False)]
    assert all(gap >= min(0.1 * 2**attempt, 0.4) * 0.95 for attempt, gap in enumerate(gaps)), gaps
    stored = await rows(pool, receiver)
    assert [row["attempts"] for row in stored] == [failed + 1, 1]
    assert "500" in stored[0]["last_error"] and "s3cret" not in stored[0]["last_error"]


async def test_a_hanging_receiver_holds_up_neither_another_receiver_nor_the_table(
    pool: Pool, http: httpx.AsyncClient
) -> None:
    stuck, healthy = name("webhook"), name("audit")
    batch = notifications(3)
    await queue(pool, batch, stuck, healthy)
    policy = DeliveryPolicy(post_timeout=60.0, first_backoff=0.05, batch_size=1, idle_poll=0.02)  # a round a row
    async with AsyncExitStack() as stack:
        hanging = await stack.enter_async_context(serving(Receiver(free_port())))
        answering = await stack.enter_async_context(serving(Receiver(free_port())))
        hanging.answering.clear()
        dispatcher = Dispatcher(pool, None, http, policy=policy, receivers={stuck: hanging.url, healthy: answering.url})
        async with dispatcher.running():
            await wait_until(all_delivered(pool, healthy), within=10)
            await wait_until(holds(lambda: len(hanging.requests) == 1), within=10)
            # The POST in flight holds no transaction and no row lock: the store's work goes on beside it.
            async with pool.acquire() as connection, connection.transaction():
                locked = await connection.fetch(
                    "select id from notification_outbox where receiver = $1 for update nowait", stuck
                )
                assert await enqueue(connection, notifications(1), receivers=[stuck]) == 1
            assert len(locked) == 3
            assert hanging.keys == [batch[0].key]
            hanging.answering.set()
            await wait_until(all_delivered(pool, stuck), within=10)

    assert answering.keys == [notification.key for notification in batch]


async def test_a_hanging_receiver_costs_one_timeout_per_attempt_then_its_row_is_dead(
    pool: Pool, http: httpx.AsyncClient
) -> None:
    receiver = name("webhook")
    batch = notifications(1)
    await queue(pool, batch, receiver)
    policy = DeliveryPolicy(post_timeout=0.3, first_backoff=0.01, max_backoff=0.01, max_attempts=3, idle_poll=0.02)
    async with serving(Receiver(free_port())) as hook:
        hook.answering.clear()
        dispatcher = Dispatcher(pool, None, http, policy=policy, receivers={receiver: hook.url})
        async with dispatcher.running():
            await wait_until(status_is(pool, receiver, batch[0].key, "dead"), within=10)

    assert hook.keys == [batch[0].key] * 3
    assert all(later - earlier >= 0.3 for earlier, later in zip(hook.arrivals, hook.arrivals[1:], strict=False))
    [row] = await rows(pool, receiver)
    assert (row["attempts"], row["last_error"]) in {(3, "timed out"), (3, "ReadTimeout")}


async def test_a_refused_connection_is_retried_until_the_receiver_listens(
    pool: Pool, http: httpx.AsyncClient
) -> None:
    receiver = name("webhook")
    batch = notifications(2)
    await queue(pool, batch, receiver)
    hook = Receiver(free_port())  # nothing listens on it yet
    policy = DeliveryPolicy(post_timeout=2.0, first_backoff=0.05, max_backoff=0.1, max_attempts=50, idle_poll=0.02)
    dispatcher = Dispatcher(pool, None, http, policy=policy, receivers={receiver: hook.url})
    async with dispatcher.running():

        async def refused_twice() -> bool:
            return bool((await rows(pool, receiver))[0]["attempts"] >= 2)

        await wait_until(refused_twice, within=10)
        assert [row["last_error"] for row in await rows(pool, receiver)] == ["ConnectError", None]
        async with serving(hook):
            await wait_until(all_delivered(pool, receiver), within=10)

    assert hook.keys == [notification.key for notification in batch]


async def test_a_dead_letter_lets_the_next_notification_go_and_requeue_sends_it_again(
    pool: Pool, http: httpx.AsyncClient
) -> None:
    receiver = name("webhook")
    first, second = notifications(2)
    await queue(pool, [first, second], receiver)
    async with serving(Receiver(free_port(), rejecting={first.key})) as hook:
        dispatcher = Dispatcher(pool, None, http, policy=FAST, receivers={receiver: hook.url})
        async with dispatcher.running():
            await wait_until(status_is(pool, receiver, second.key, "delivered"), within=10)
            assert hook.keys == [first.key] * FAST.max_attempts + [second.key]
            dead = await list_notifications(pool, "dead", complaint_id=first.complaint_id)
            assert [(entry.delivery_key, entry.attempts) for entry in dead] == [(first.key, FAST.max_attempts)]
            assert dead[0].last_error is not None and "500" in dead[0].last_error

            hook.rejecting.clear()  # the receiver is fixed; an operator redelivers
            assert await requeue_dead(pool, complaint_id=first.complaint_id) == 1
            await wait_until(status_is(pool, receiver, first.key, "delivered"), within=10)

    assert hook.keys == [first.key] * FAST.max_attempts + [second.key, first.key]
    assert await list_notifications(pool, "dead", complaint_id=first.complaint_id) == []


async def test_a_receiver_gets_its_notifications_in_outbox_order_through_failures(
    pool: Pool, http: httpx.AsyncClient
) -> None:
    receiver = name("webhook")
    batch = notifications(12)
    await queue(pool, batch, receiver)
    flaky = {notification.key for notification in batch[1::3]}  # each of these fails on its first attempt
    policy = DeliveryPolicy(post_timeout=2.0, first_backoff=0.02, max_backoff=0.02, batch_size=4, idle_poll=0.02)
    async with serving(Receiver(free_port(), failing_once=flaky)) as hook:
        dispatcher = Dispatcher(pool, None, http, policy=policy, receivers={receiver: hook.url})
        async with dispatcher.running():
            await wait_until(all_delivered(pool, receiver), within=10)

    expected: list[str] = []
    for notification in batch:
        expected += [notification.key] * (2 if notification.key in flaky else 1)
    assert hook.keys == expected


async def test_two_dispatchers_over_one_table_deliver_each_notification_once_in_order(
    pool: Pool, database: TestDatabase, http: httpx.AsyncClient
) -> None:
    receiver = name("webhook")
    batch = notifications(40)
    await queue(pool, batch, receiver)
    policy = DeliveryPolicy(post_timeout=2.0, batch_size=3, idle_poll=0.01)
    other_pool = await create_pool(database.url)  # as a second worker process has its own
    try:
        async with serving(Receiver(free_port(), delay=0.002)) as hook:
            one = Dispatcher(pool, None, http, policy=policy, receivers={receiver: hook.url})
            two = Dispatcher(other_pool, None, http, policy=policy, receivers={receiver: hook.url})
            async with one.running(), two.running():
                await wait_until(all_delivered(pool, receiver), within=20)
    finally:
        await other_pool.close()

    assert hook.keys == [notification.key for notification in batch]


WHISTLE = [sys.executable, "-c", "from cli.app import main; main()"]


async def test_whistle_notifications_lists_pending_and_dead_ones_and_requeues_the_dead(
    pool: Pool, database: TestDatabase, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    receiver = name("webhook")
    dead, pending = notifications(2)
    await queue(pool, [dead], receiver)
    closed = {receiver: f"http://127.0.0.1:{free_port()}/"}
    await Dispatcher(pool, None, http, policy=DeliveryPolicy(max_attempts=1), receivers=closed).run_once()
    await queue(pool, [pending], receiver)
    env = {
        **os.environ, "DATABASE_URL": database.url, "TEMPORAL_ADDRESS": "127.0.0.1:1",
        "WHISTLE_HOME": str(tmp_path / "home"), "WHISTLE_LOG_FORMAT": "json", "COLUMNS": "250",
        "WHISTLE_ALLOW_PLAINTEXT": "true",
    }  # fmt: skip

    async def whistle(*args: str) -> str:
        process = await asyncio.create_subprocess_exec(
            *WHISTLE, "notifications", "--complaint", dead.complaint_id, *args, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        stdout, stderr = await process.communicate()
        assert process.returncode == 0, stderr.decode()
        return stdout.decode()

    table = await whistle()
    assert "待发送 1 条，死信 1 条" in table
    shown = ["案件", "接收方", "尝试次数", "最近错误", "死信", "待发送", "ConnectError", "社区吹哨"]
    shown += [dead.key, pending.key]
    assert [text for text in shown if text not in table] == [], table
    listed = json.loads(await whistle("--status", "dead", "--json"))
    assert [(entry["delivery_key"], entry["status"]) for entry in listed["notifications"]] == [(dead.key, "dead")]

    assert "已重新排队 1 条死信" in await whistle("--requeue-dead")
    assert [row["status"] for row in await rows(pool, receiver)] == ["pending", "pending"]


async def test_rows_a_dead_worker_claimed_are_delivered_once_its_lease_expires(
    pool: Pool, http: httpx.AsyncClient
) -> None:
    receiver = name("webhook")
    batch = notifications(2)
    await queue(pool, batch, receiver)
    lease = DeliveryPolicy(post_timeout=0.2, batch_size=2, lease_margin=0.3)
    async with serving(Receiver(free_port())) as hook:
        crashed = Dispatcher(pool, None, http, policy=lease, receivers={receiver: hook.url})
        claimed, _ = await crashed._claim(receiver)  # claims, then never sends nor records: a killed worker
        survivor = Dispatcher(pool, None, http, policy=FAST, receivers={receiver: hook.url})

        assert [row.notification.key for row in claimed] == [notification.key for notification in batch]
        assert await survivor.run_once() == 0  # leased to the dead one
        async with survivor.running():
            await wait_until(all_delivered(pool, receiver), within=10)

    assert hook.keys == [notification.key for notification in batch]


async def test_the_worker_process_runs_the_dispatcher_and_stops_it_on_sigterm(
    dev_env: WorkflowEnvironment, database: TestDatabase, pool: Pool, tmp_path: Path
) -> None:
    batch = notifications(2)
    await queue(pool, batch, RECEIVER)  # the receiver a worker serves: its WHISTLE_WEBHOOK_URL
    async with serving(Receiver(free_port())) as hook:
        address = dev_env.client.service_client.config.target_host
        worker = worker_process(address, database.url, name("dispatch"), tmp_path, WHISTLE_WEBHOOK_URL=hook.url)
        worker.start()
        try:
            await wait_until(holds(lambda: {n.key for n in batch} <= set(hook.keys)), within=60)
            assert worker.process is not None
            os.killpg(worker.process.pid, signal.SIGTERM)
            exit_code = await asyncio.to_thread(worker.process.wait, 30)
        finally:
            worker.kill()

    assert exit_code == 0
    assert [key for key in hook.keys if key in {n.key for n in batch}] == [n.key for n in batch]
    log = (tmp_path / "worker.log").read_text(encoding="utf-8")
    assert "worker stopped" in log and "s3cret" not in log
