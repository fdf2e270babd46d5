"""Publication's stream and its current state in PostgreSQL (``0055_publications.sql``).

``record`` appends a moderator's decision (decided by ``schemas.publication.decide_publication``) and updates
``publications`` in one transaction, so the current state is always the fold of the stream; ``current`` reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from activities.event_store import Connection, Pool
from schemas.publication import CasePublished, CaseUnpublished


@dataclass(frozen=True)
class Publication:
    """What the public sees of a case beside its category, stage and coarse place."""

    complaint_id: str
    public_title: str
    public_description: str
    published_at: datetime


async def record(pool: Pool, complaint_id: str, event: CasePublished | CaseUnpublished) -> None:
    """Append ``event`` to the case's publication stream and apply it to ``publications``."""
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute("select pg_advisory_xact_lock(hashtext('publication:' || $1))", complaint_id)
        seq = await connection.fetchval(
            "select coalesce(max(seq), 0) + 1 from publication_events where complaint_id = $1", complaint_id
        )
        await connection.execute(
            "insert into publication_events (complaint_id, seq, type, at, payload) values ($1, $2, $3, $4, $5)",
            complaint_id, seq, event.type, event.at, event.model_dump(mode="json"),
        )  # fmt: skip
        await _apply(connection, complaint_id, event)


async def _apply(connection: Connection, complaint_id: str, event: CasePublished | CaseUnpublished) -> None:
    if isinstance(event, CaseUnpublished):
        await connection.execute("delete from publications where complaint_id = $1", complaint_id)
        return
    await connection.execute(
        "insert into publications (complaint_id, public_title, public_description, published_at, published_by) "
        "values ($1, $2, $3, $4, $5) on conflict (complaint_id) do update set public_title = excluded.public_title, "
        "public_description = excluded.public_description, published_at = excluded.published_at, "
        "published_by = excluded.published_by",
        complaint_id, event.public_title, event.public_description, event.at, f"{event.by.kind}:{event.by.id}",
    )  # fmt: skip


async def current(pool: Pool | Connection, complaint_id: str) -> Publication | None:
    """The case's publication now, or None when it is not public."""
    row = await pool.fetchrow(
        "select complaint_id, public_title, public_description, published_at from publications "
        "where complaint_id = $1",
        complaint_id,
    )
    return None if row is None else Publication(*row)
