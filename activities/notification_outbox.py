"""The notification outbox: the table the store's append transaction writes notifications into.

A case's notifications leave through PostgreSQL instead of from inside its workflow: the activity that stores
a batch of events calls ``enqueue`` in the same transaction, so the notifications exist exactly when their
events do, and ``activities/dispatch.py`` delivers them afterwards, however long a receiver takes. Each row is
one notification for one receiver (the webhook, ``RECEIVER``, gets every one; the residents' channels,
``resident_email`` and ``resident_sms``, get the reporter's moments, ``activities/resident_notices.py``);
``(receiver, delivery_key)`` is unique, so a retried store transaction enqueues nothing twice. The rest of this
module is what an operator needs (``whistle notifications``): the rows not delivered yet, and putting dead ones
back in the queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from activities.event_store import Connection, Pool
from schemas.common import Model
from schemas.notification import Notification

RECEIVER = "webhook"
"""The one receiver today: ``WHISTLE_WEBHOOK_URL``, or the log when it is unset."""

RECEIVERS: tuple[str, ...] = (RECEIVER,)
"""Who gets every notification; a new receiver is a new name here and a URL for the dispatcher."""

OutboxStatus = Literal["pending", "delivered", "dead"]
StatusFilter = Literal["pending", "dead", "undelivered", "all"]
"""What ``list_notifications`` shows: one status, pending and dead together, or every row."""

_STATUSES: dict[StatusFilter, list[str]] = {
    "pending": ["pending"],
    "dead": ["dead"],
    "undelivered": ["pending", "dead"],
    "all": ["pending", "delivered", "dead"],
}

_ENQUEUE = """
insert into notification_outbox (receiver, delivery_key, complaint_id, notification)
select receiver, batch.key, batch.complaint_id, batch.notification
from unnest($1::text[]) as receiver
cross join unnest($2::text[], $3::text[], $4::jsonb[]) with ordinality as batch (key, complaint_id, notification, place)
order by receiver, batch.place
on conflict (receiver, delivery_key) do nothing
"""
"""One statement for the whole batch; ``order by`` gives each receiver's rows ids in the batch's order."""


async def enqueue(
    connection: Connection, notifications: Sequence[Notification], *, receivers: Sequence[str] = RECEIVERS
) -> int:
    """Queue each notification for each receiver, inside the caller's open transaction; return rows inserted.

    Idempotent: a notification already queued for a receiver (same ``key``) is left as it is, whatever its
    status, so a retried transaction adds nothing and a delivered notification is not sent again.
    """
    if not notifications or not receivers:
        return 0
    status = await connection.execute(
        _ENQUEUE,
        list(receivers),
        [notification.key for notification in notifications],
        [notification.complaint_id for notification in notifications],
        [notification.model_dump(mode="json") for notification in notifications],
    )
    return int(status.rsplit(" ", 1)[-1])


class OutboxEntry(Model):
    """One row as an operator reads it: which notification, for whom, and how its delivery goes."""

    id: int
    receiver: str
    delivery_key: str
    complaint_id: str
    kind: str
    topic: str
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class OutboxCounts(Model):
    """How many rows are in each state, for the listing's heading."""

    pending: int = 0
    delivered: int = 0
    dead: int = 0


async def list_notifications(
    pool: Pool, status: StatusFilter = "undelivered", *, limit: int = 50, complaint_id: str | None = None
) -> list[OutboxEntry]:
    """The rows in ``status``, newest first, at most ``limit``; only one case's with ``complaint_id``."""
    rows = await pool.fetch(
        """
        select id, receiver, delivery_key, complaint_id, notification ->> 'kind' as kind,
               notification ->> 'topic' as topic, status, attempts, next_attempt_at, last_error, created_at,
               delivered_at
        from notification_outbox
        where status = any($1::text[]) and ($2::text is null or complaint_id = $2)
        order by id desc
        limit $3
        """,
        _STATUSES[status],
        complaint_id,
        limit,
    )
    return [OutboxEntry.model_validate(dict(row)) for row in rows]


async def count_notifications(pool: Pool, *, complaint_id: str | None = None) -> OutboxCounts:
    """Rows per status (all of them, or one case's)."""
    rows = await pool.fetch(
        "select status, count(*) as rows from notification_outbox where $1::text is null or complaint_id = $1 "
        "group by status",
        complaint_id,
    )
    return OutboxCounts.model_validate({row["status"]: row["rows"] for row in rows})


async def requeue_dead(pool: Pool, *, complaint_id: str | None = None) -> int:
    """Make dead rows pending again with a fresh count of attempts (after the receiver is fixed); return how many.

    A requeued row keeps its id, so it goes before its receiver's later pending rows; the ones already
    delivered while it was dead stay delivered. ``last_error`` is kept until the next attempt replaces it.
    """
    status = await pool.execute(
        "update notification_outbox set status = 'pending', attempts = 0, next_attempt_at = now() "
        "where status = 'dead' and ($1::text is null or complaint_id = $1)",
        complaint_id,
    )
    return int(status.rsplit(" ", 1)[-1])
