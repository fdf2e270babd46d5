"""``whistle notifications``: the notification outbox as a supervisor reads it, and redelivery of dead letters.

It reads PostgreSQL only (``activities/notification_outbox.py``) and needs no worker; the dispatcher in each
worker sends what ``--requeue-dead`` puts back in the queue.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

import asyncpg
import typer
from pydantic import TypeAdapter
from rich import box
from rich.table import Table

from activities.notification_outbox import (
    OutboxCounts,
    OutboxEntry,
    count_notifications,
    list_notifications,
    requeue_dead,
)
from activities.resident_notices import MOMENT_LABELS
from cli import output
from cli.runtime import open_pool, reported_settings
from schemas.events import EVENT_LABELS

RESIDENT_MOMENTS: dict[str, str] = {moment: f"居民通知·{label}" for moment, label in MOMENT_LABELS.items()}

STATUS_LABELS = {"pending": "待发送", "delivered": "已送达", "dead": "死信"}
KIND_LABELS = {"event": "事件", "warning": "预警"}
SHOWN: TypeAdapter[Literal["pending", "dead", "all"]] = TypeAdapter(Literal["pending", "dead", "all"])


def notifications(
    status: Annotated[
        str | None, typer.Option("--status", help="pending, dead or all (delivered too); default pending and dead.")
    ] = None,
    complaint: Annotated[str | None, typer.Option("--complaint", help="Only this case's notifications.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many, newest first.")] = 50,
    requeue: Annotated[
        bool, typer.Option("--requeue-dead", help="Put dead notifications back in the queue (receiver fixed).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Notifications not delivered yet (pending, dead), from the outbox the worker's dispatcher sends."""
    with reported_settings(asyncpg.PostgresError, RuntimeError, OSError) as settings:
        shown = SHOWN.validate_python(status) if status is not None else "undelivered"

        async def reading() -> tuple[int | None, OutboxCounts, list[OutboxEntry]]:
            pool = await open_pool(settings)
            try:
                requeued = await requeue_dead(pool, complaint_id=complaint) if requeue else None
                counts = await count_notifications(pool, complaint_id=complaint)
                return requeued, counts, await list_notifications(pool, shown, limit=limit, complaint_id=complaint)
            finally:
                await pool.close()

        requeued, counts, entries = asyncio.run(reading())
    if as_json:
        listing = [entry.model_dump(mode="json") for entry in entries]
        output.print_json({"requeued": requeued, "counts": counts.model_dump(), "notifications": listing})
        return
    if requeued is not None:
        output.console.print(f"已重新排队 {requeued} 条死信")
    output.console.print(outbox_table(entries, counts))


def outbox_table(entries: list[OutboxEntry], counts: OutboxCounts) -> Table:
    title = (
        f"通知：待发送 {counts.pending} 条，死信 {counts.dead} 条，已送达 {counts.delivered} 条"
        f"（显示 {len(entries)} 条，新的在前）"
    )
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("编号", "案件", "通知", "投递键", "接收方", "状态", "尝试次数", "下次尝试", "最近错误"):
        table.add_column(column, overflow="fold", justify="right" if column in ("编号", "尝试次数") else "left")
    for entry in entries:
        table.add_row(
            str(entry.id),
            entry.complaint_id,
            f"{KIND_LABELS.get(entry.kind, entry.kind)} {_topic(entry)}",
            entry.delivery_key,
            entry.receiver,
            STATUS_LABELS[entry.status],
            str(entry.attempts),
            output.local_time(entry.next_attempt_at) if entry.status == "pending" else "—",
            entry.last_error or "—",
        )
    return table


def _topic(entry: OutboxEntry) -> str:
    """An event's topic is its type (``WhistleBlown``); a warning's names its clock (``report_in_due_soon``); a
    resident message's its moment (``filed``)."""
    return EVENT_LABELS.get(entry.topic) or RESIDENT_MOMENTS.get(entry.topic, entry.topic)
