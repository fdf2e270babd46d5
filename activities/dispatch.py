"""The dispatcher: delivers the notification outbox (``activities/notification_outbox.py``) to its receivers.

It runs inside every worker process (``worker.py`` starts it beside the Temporal worker) rather than as a
``whistle dispatch`` process of its own: the worker already holds the database pool and the webhook settings,
so there is nothing more to deploy or configure, and dispatchers scale out with the workers. Several of them
over one table are safe: rows are claimed with ``for update skip locked`` and a lease, in a short transaction.

What a receiver can rely on:

- **At least once**, each POST carrying ``Idempotency-Key`` (the notification's ``key``, unique per decided
  event or per deadline warning) so it can drop repeats: a worker that dies mid-delivery leaves a lease
  that expires, and the row is sent again.
- **In order**: a receiver gets its notifications in outbox (id) order. A row is not sent while an earlier
  row for the same receiver is still pending (head of line), until that row is delivered or dead.
- **Backoff, then a dead letter**: a failed attempt waits ``first_backoff`` doubling up to ``max_backoff``;
  after ``max_attempts`` the row is ``dead`` and the receiver's next rows proceed. ``whistle notifications
  --requeue-dead`` puts dead rows back once the receiver is fixed.

And what nobody else pays: a POST runs outside any transaction, bounded by ``post_timeout`` end to end, and
each receiver is served by a loop of its own, so a receiver that hangs costs its own loop one timeout per
attempt, and never a command, a workflow task, another receiver, or a row lock.

With no URL for a receiver, delivery is the structured log line and the row is marked delivered. A receiver may
also be a ``Deliverer`` (the residents' e-mail and SMS channels, ``activities/resident_delivery.py``): the same
claim, order, backoff and dead letters, with its ``deliver`` in place of the POST.

Past 300 lines: claiming, posting and recording one delivery are one protocol (lease, POST, outcome) and read
best in one place.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol

import httpx

from activities.event_store import Pool
from activities.log import get_logger
from activities.notification_outbox import RECEIVER
from schemas.notification import Notification


class WebhookRejected(RuntimeError):
    """The receiver answered with a non-2xx status: the notification was not taken and is tried again."""


class DeliveryFailed(RuntimeError):
    """A ``Deliverer`` could not deliver; its text is what the outbox row records (no address, no token)."""


class Deliverer(Protocol):
    """A receiver that is not a webhook: delivers one notification, or raises (``DeliveryFailed`` says why)."""

    async def deliver(self, notification: Notification) -> None: ...


Receiver = str | None | Deliverer
"""What serves a receiver: a webhook URL, None (the log line is the delivery), or a ``Deliverer``."""


async def post_notification(client: httpx.AsyncClient, url: str, notification: Notification, within: float) -> None:
    """POST one notification as JSON with ``Idempotency-Key``; raise unless it is answered 2xx.

    ``within`` is httpx's timeout, which bounds each phase (connect, write, each read) rather than the whole
    exchange; the dispatcher also caps the whole (``Dispatcher._send``).
    """
    response = await client.post(
        url,
        json=notification.model_dump(mode="json"),
        headers={"Idempotency-Key": notification.key},
        timeout=within,
    )
    if not response.is_success:
        # The URL is left out of the error: it may hold a token, and errors are stored and shown.
        raise WebhookRejected(f"webhook answered {response.status_code} for notification {notification.key}")


def log_notification(notification: Notification, *, webhook: bool, **context: str) -> None:
    """The structured log line for a notification: the delivery when no URL is set, a record beside one otherwise."""
    # The message text is left out: it may quote what a resident wrote. Notifications carry no reporter name
    # or phone, so nothing here is personal data.
    get_logger(
        complaint_id=notification.complaint_id,
        kind=notification.kind,
        topic=notification.topic,
        audience=notification.audience,
        key=notification.key,
        **context,
    ).info("notification", webhook=webhook)


@dataclass(frozen=True)
class DeliveryPolicy:
    """How hard and how fast the dispatcher tries; the defaults suit a deployment, tests use small ones."""

    post_timeout: float = 5.0
    """Seconds one POST may take, end to end; a slower receiver counts as failed for that attempt."""
    first_backoff: float = 2.0
    """Seconds before the second attempt; each further failure doubles it."""
    max_backoff: float = 300.0
    """The longest wait between two attempts."""
    max_attempts: int = 12
    """Attempts before a row is dead (about 25 minutes with the defaults)."""
    batch_size: int = 10
    """Rows of one receiver claimed together, sent one after the other."""
    idle_poll: float = 0.5
    """Seconds between looks at the table when the last round found nothing to send."""
    max_error_pause: float = 30.0
    """The longest wait after a round failed (PostgreSQL down); the wait doubles from ``idle_poll`` up to it."""
    lease_margin: float = 5.0
    """Seconds a claim's lease lasts beyond sending its whole batch at the slowest."""

    @property
    def lease(self) -> timedelta:
        """How long a claim holds its rows: enough to send a whole batch, so only a dead worker's claim expires
        (about a minute with the defaults: a worker killed mid-delivery delays its receiver that long)."""
        return timedelta(seconds=self.post_timeout * self.batch_size + self.lease_margin)


@dataclass(frozen=True)
class _Claimed:
    id: int
    notification: Notification


class _Round(NamedTuple):
    claimed: int
    delivered: int


_CLAIM = """
with locked as (
    select id from notification_outbox
    where receiver = $1 and status = 'pending' and next_attempt_at <= now()
    order by id
    limit $2
    for update skip locked
), queue as (
    select id, next_attempt_at <= now() as due, row_number() over (order by id) as place
    from (
        select id, next_attempt_at from notification_outbox
        where receiver = $1 and status = 'pending'
        order by id
        limit $2
    ) as head
), cut as (
    select coalesce(min(queue.place), $2 + 1) as first_blocked
    from queue left join locked using (id)
    where locked.id is null or not queue.due
)
update notification_outbox as outbox
set next_attempt_at = now() + $3::interval
from queue, cut
where outbox.id = queue.id and queue.place < cut.first_blocked
returning outbox.id, outbox.notification, outbox.next_attempt_at
"""
"""Claim the receiver's head of line: its first pending rows in id order, up to the first one that is not due
(leased by another dispatcher, or waiting out a backoff) or that another dispatcher has locked right now. A
locked row is skipped, never waited for, and never jumped over: the claim is a prefix of the receiver's queue
or nothing. ``locked`` checks ``next_attempt_at`` again on the row it locks (PostgreSQL re-reads a row another
transaction changed meanwhile), so a claim that committed after this statement's snapshot was taken still
counts. The new ``next_attempt_at`` is the lease, and the token the outcome is recorded with."""

_DELIVERED = """
update notification_outbox set status = 'delivered', delivered_at = now(), attempts = attempts + 1
where id = $1 and status = 'pending'
"""
"""Delivered stays delivered even if the lease ran out meanwhile: the receiver has it."""

_FAILED = """
update notification_outbox
set attempts = attempts + 1,
    last_error = $3,
    status = case when attempts + 1 >= $4 then 'dead' else 'pending' end,
    next_attempt_at = now() + make_interval(secs => least($5::float8 * power(2, attempts), $6::float8))
where id = $1 and status = 'pending' and next_attempt_at = $2
"""
"""Only while the lease is still this claim's: a claim that outlived its lease must not undo a newer one."""

_RELEASE = """
update notification_outbox set next_attempt_at = now()
where id = any($1::bigint[]) and status = 'pending' and next_attempt_at = $2
"""
"""Rows claimed but not attempted (an earlier row failed, or the dispatcher stops) are due again at once."""


class Dispatcher:
    """Delivers the outbox to each receiver (by default the webhook, ``RECEIVER``) until stopped.

    ``webhook_url`` is the webhook's URL (None: the log line is the delivery). ``receivers``, when given,
    replaces that one receiver with several, by name and URL (tests, and receivers to come). ``residents`` adds the
    residents' channels, by receiver name (``resident_email``, ``resident_sms``), beside the webhook.
    """

    def __init__(
        self,
        pool: Pool,
        webhook_url: str | None,
        http: httpx.AsyncClient,
        *,
        policy: DeliveryPolicy | None = None,
        receivers: Mapping[str, str | None] | None = None,
        residents: Mapping[str, Deliverer] | None = None,
    ) -> None:
        self._pool = pool
        self._http = http
        self.policy = policy or DeliveryPolicy()
        self._receivers: dict[str, Receiver] = dict(receivers) if receivers is not None else {RECEIVER: webhook_url}
        self._receivers.update(residents or {})
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        """Serve every receiver, each in a loop of its own, until ``stop`` (or cancellation). Once stopped, a
        dispatcher stays stopped: a ``stop`` that comes before ``run`` has started is not lost."""
        async with asyncio.TaskGroup() as loops:
            for receiver in self._receivers:
                loops.create_task(self._serve(receiver))

    def stop(self) -> None:
        """Finish the POST in flight, release what was claimed but not sent, and return from ``run``."""
        self._stopping.set()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run in the background for the block's duration; stop cleanly at its end (the worker's shutdown)."""
        task = asyncio.create_task(self.run(), name="notification dispatcher")
        try:
            yield
        finally:
            self.stop()
            try:
                await asyncio.wait_for(task, self.policy.post_timeout + 5.0)
            except TimeoutError:
                get_logger().warning("notification dispatcher did not stop in time; cancelled")

    async def run_once(self) -> int:
        """One round for every receiver at once: claim its due head of line and send it; return rows delivered."""
        rounds = await asyncio.gather(*(self._round(receiver) for receiver in self._receivers))
        return sum(done.delivered for done in rounds)

    async def _serve(self, receiver: str) -> None:
        log = get_logger(receiver=receiver)
        error_pause = self.policy.idle_poll
        while not self._stopping.is_set():
            try:
                done = await self._round(receiver)
            except Exception as error:  # PostgreSQL down or restarting: keep trying, more slowly
                log.warning("notification dispatch failed; retrying", error=type(error).__name__, pause=error_pause)
                await self._pause(error_pause)
                error_pause = min(error_pause * 2, self.policy.max_error_pause)
                continue
            error_pause = self.policy.idle_poll
            if not done.claimed:
                await self._pause(self.policy.idle_poll)

    async def _pause(self, seconds: float) -> None:
        with suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _round(self, receiver: str) -> _Round:
        claimed, lease = await self._claim(receiver)
        delivered = 0
        unsent = [row.id for row in claimed]
        try:
            for row in claimed:
                if self._stopping.is_set():
                    break
                error = await self._send(receiver, row.notification)
                if error is not None:
                    await self._pool.execute(
                        _FAILED, row.id, lease, error, self.policy.max_attempts, self.policy.first_backoff,
                        self.policy.max_backoff,
                    )  # fmt: skip
                    unsent.remove(row.id)
                    break
                await self._pool.execute(_DELIVERED, row.id)
                unsent.remove(row.id)
                delivered += 1
        finally:
            if unsent:
                with suppress(Exception):  # best effort: otherwise the lease expires and they are due then
                    await self._pool.execute(_RELEASE, unsent, lease)
        return _Round(len(claimed), delivered)

    async def _claim(self, receiver: str) -> tuple[list[_Claimed], datetime | None]:
        rows = await self._pool.fetch(_CLAIM, receiver, self.policy.batch_size, self.policy.lease)
        claimed = sorted(
            (_Claimed(row["id"], Notification.model_validate(row["notification"])) for row in rows),
            key=lambda row: row.id,
        )
        return claimed, rows[0]["next_attempt_at"] if rows else None

    async def _send(self, receiver: str, notification: Notification) -> str | None:
        """Deliver one notification; None when done, else what went wrong, without the URL."""
        url = self._receivers[receiver]
        if url is None:
            log_notification(notification, webhook=False, receiver=receiver)
            return None
        try:
            # The whole exchange, not only each of httpx's phases: a receiver trickling bytes costs no more
            # than one that never answers.
            async with asyncio.timeout(self.policy.post_timeout):
                if isinstance(url, str):
                    await post_notification(self._http, url, notification, self.policy.post_timeout)
                else:
                    await url.deliver(notification)
        except Exception as error:  # whatever it is, this attempt failed; the row says why and is tried again
            get_logger(complaint_id=notification.complaint_id, key=notification.key, receiver=receiver).warning(
                "notification not delivered", error=type(error).__name__
            )
            return _error_text(error)
        log_notification(notification, webhook=isinstance(url, str), receiver=receiver)
        return None


def _error_text(error: Exception) -> str:
    """What went wrong, for ``last_error``: the status a receiver answered, otherwise only the kind of failure
    (the texts of httpx's errors may name the URL, which may hold a token)."""
    if isinstance(error, WebhookRejected | DeliveryFailed):
        return str(error)[:200]
    if isinstance(error, TimeoutError):
        return "timed out"
    return type(error).__name__
