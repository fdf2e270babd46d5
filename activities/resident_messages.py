"""What residents asked for and what they were sent: the opt-out per case, and one record per message and channel.

Two tables of ``0092_resident_notifications.sql``. The opt-out is a row per case (none: messages go out); the SDK,
``whistle opt-out`` and ``PUT /api/v1/complaints/{id}/resident-notifications`` write it. Each resident message
leaves one ``resident_messages`` row per channel saying what became of it: ``sent``, or why not (``opted_out``,
``no_contact``, ``rate_limited``), so a message over the limit is dropped on the record, never silently.

The rate limit counts the messages sent (or on their way) to one address on one channel within a window; the
address is kept as a digest only. ``reserve`` decides under a transaction-scoped advisory lock per address, so two
dispatchers (two workers) cannot both take the last slot.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from activities.event_store import Connection, Pool
from schemas.common import Model

Outcome = Literal["sending", "sent", "failed", "undeliverable", "opted_out", "rate_limited", "no_contact"]
Decision = Literal["send", "already_sent", "rate_limited"]

OUTCOME_LABELS: dict[str, str] = {
    "sending": "发送中",
    "sent": "已发送",
    "failed": "发送失败（重试中）",
    "undeliverable": "地址无效，无法送达",
    "opted_out": "居民已退订",
    "rate_limited": "超出频次限制，未发送",
    "no_contact": "无联系方式",
}


@dataclass(frozen=True)
class RateLimit:
    """At most ``count`` messages to one address per channel within ``per``."""

    count: int
    per: timedelta


class ResidentPreference(Model):
    """Whether the case's reporter receives messages, and who said so last (nobody: the default, yes)."""

    complaint_id: str
    enabled: bool = True
    changed_by: str | None = None
    changed_at: datetime | None = None


class ResidentMessage(Model):
    """One message to the reporter on one channel, as a supervisor reads it (no address)."""

    channel: str
    moment: str
    outcome: Outcome
    error: str | None = None
    attempted_at: datetime


class ResidentNotifications(ResidentPreference):
    """The reporter's choice for a case and what became of each message so far (SDK, CLI, API)."""

    messages: list[ResidentMessage] = []


def recipient_digest(channel: str, address: str) -> str:
    """The rate limit's key for an address: a digest, so the table holds no e-mail address or phone number."""
    return hashlib.sha256(f"{channel}:{address.strip().lower()}".encode()).hexdigest()


async def set_preference(
    pool: Pool | Connection, complaint_id: str, *, enabled: bool, by: str, now: datetime
) -> ResidentPreference:
    """Record the reporter's choice for the case (the last one counts)."""
    row = await pool.fetchrow(
        """
        insert into resident_notification_settings (complaint_id, enabled, changed_by, changed_at)
        values ($1, $2, $3, $4)
        on conflict (complaint_id) do update
            set enabled = excluded.enabled, changed_by = excluded.changed_by, changed_at = excluded.changed_at
        returning complaint_id, enabled, changed_by, changed_at
        """,
        complaint_id, enabled, by, now,
    )  # fmt: skip
    return ResidentPreference.model_validate(dict(row))  # type: ignore[arg-type]


async def preference_of(pool: Pool | Connection, complaint_id: str) -> ResidentPreference:
    row = await pool.fetchrow(
        "select complaint_id, enabled, changed_by, changed_at from resident_notification_settings "
        "where complaint_id = $1",
        complaint_id,
    )
    return ResidentPreference.model_validate(dict(row)) if row else ResidentPreference(complaint_id=complaint_id)


async def messages_of(pool: Pool | Connection, complaint_id: str) -> list[ResidentMessage]:
    """The case's resident messages, oldest first."""
    rows = await pool.fetch(
        "select channel, moment, outcome, error, attempted_at from resident_messages where complaint_id = $1 "
        "order by id",
        complaint_id,
    )
    return [ResidentMessage.model_validate(dict(row)) for row in rows]


async def record(
    pool: Pool | Connection, channel: str, key: str, complaint_id: str, moment: str, outcome: Outcome,
    *, recipient: str | None = None, error: str | None = None,
) -> None:  # fmt: skip
    """Record what became of a message (a sent one stays sent)."""
    await pool.execute(
        """
        insert into resident_messages (channel, delivery_key, complaint_id, moment, recipient, outcome, error)
        values ($1, $2, $3, $4, $5, $6, $7)
        on conflict (channel, delivery_key) do update
            set outcome = excluded.outcome, error = excluded.error, attempted_at = now(),
                recipient = coalesce(excluded.recipient, resident_messages.recipient)
            where resident_messages.outcome <> 'sent'
        """,
        channel, key, complaint_id, moment, recipient, outcome, error,
    )  # fmt: skip


async def reserve(
    pool: Pool, channel: str, key: str, complaint_id: str, moment: str, recipient: str, limit: RateLimit
) -> Decision:
    """Take a slot for the message under the address's rate limit: ``send`` (recorded as ``sending``, it counts),
    ``already_sent`` (an earlier attempt got through: do not send twice), or ``rate_limited`` (recorded as
    such: dropped). A message retried after its attempt died keeps the slot it had."""
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute("select pg_advisory_xact_lock(hashtextextended($1, 0))", f"{channel}:{recipient}")
        earlier = await connection.fetchval(
            "select outcome from resident_messages where channel = $1 and delivery_key = $2", channel, key
        )
        if earlier == "sent":
            return "already_sent"
        if earlier != "sending":
            recent = await connection.fetchval(
                "select count(*) from resident_messages where channel = $1 and recipient = $2 "
                "and outcome in ('sending', 'sent') and attempted_at > now() - $3::interval",
                channel, recipient, limit.per,
            )  # fmt: skip
            if recent >= limit.count:
                await record(connection, channel, key, complaint_id, moment, "rate_limited", recipient=recipient)
                return "rate_limited"
        await record(connection, channel, key, complaint_id, moment, "sending", recipient=recipient)
        return "send"


async def case_known(pool: Pool | Connection, complaint_id: str) -> bool:
    """Whether PostgreSQL knows the case (its filing, or its read model)."""
    known: bool = await pool.fetchval(
        "select exists (select 1 from filings where complaint_id = $1) "
        "or exists (select 1 from complaints where complaint_id = $1)",
        complaint_id,
    )
    return known


async def notifications_of(pool: Pool | Connection, complaint_id: str) -> ResidentNotifications:
    preference = await preference_of(pool, complaint_id)
    return ResidentNotifications(**preference.model_dump(), messages=await messages_of(pool, complaint_id))
