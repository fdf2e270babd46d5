"""Erasing a resident's data from PostgreSQL, on request (``whistle erase``) or by the retention rule.

One transaction does it all, so an erasure is whole or not at all:

* ``personal_data``: the name, phone, resident id and consent go; the row and its reference stay, so the case
  still resolves to "erased" (nobody acts as its resident any more; an operator still can);
* ``filings``: the intake's digest goes (it was a hash of the person too); a resend of the id returns the case;
* ``gateway_filings``: the resident id, the app's account id and the media link go;
* ``notification_outbox``: the case's messages read ``REDACTED``;
* ``resident_messages``: the digest of the resident's address (kept for the rate limit) goes;
* once the case is closed (its workflow finished, so no store batch can be retried against the rows): the free
  text of every stored event is redacted (``schemas.erasure.redacted``) and the ``complaints`` row is folded again
  from the redacted events, so it still equals the fold of the store;
* ``erasures`` records the ``PersonalDataErased``: who, when, why, whether the text went; nothing erased.

Temporal never held the person (the claim check); the free text in a closed case's history is encrypted and goes
with Temporal's own retention (see the README's *Personal data*).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio import activity

from activities import personal_data
from activities.event_store import EVENT, Connection, Pool, event_columns, fold_one, upsert_case
from activities.log import get_logger
from schemas.erasure import REDACTED, PersonalDataErased, redacted
from schemas.state import CaseState

RETENTION_ERASER = "system:retention"


class UnknownCase(LookupError):
    """No record of the case in PostgreSQL: nothing to erase."""


async def erase(
    pool: Pool, complaint_id: str, *, by: str, reason: str, now: datetime, closed: bool
) -> PersonalDataErased:
    """Erase the case's personal data (and, when ``closed``, its free text); raises ``UnknownCase``. A ``by`` or
    ``reason`` that is no valid text is refused (``ValidationError``) before anything is written."""
    erased = PersonalDataErased(complaint_id=complaint_id, at=now, by=by, reason=reason, text_redacted=closed)
    async with pool.acquire() as connection, connection.transaction():
        known = await connection.fetchval(
            "select exists (select 1 from filings where complaint_id = $1) "
            "or exists (select 1 from complaints where complaint_id = $1)",
            complaint_id,
        )
        if not known:
            raise UnknownCase(complaint_id)
        await personal_data.erase(connection, complaint_id, now)
        await connection.execute("update filings set body_digest = null where complaint_id = $1", complaint_id)
        await connection.execute(
            "update gateway_filings set resident_id = null, account_id = null, media_url = null "
            "where complaint_id = $1",
            complaint_id,
        )
        await connection.execute(
            "update notification_outbox set notification = jsonb_set(notification, '{message}', to_jsonb($2::text)) "
            "where complaint_id = $1",
            complaint_id,
            REDACTED,
        )
        await connection.execute(  # the rate limit's digest of the resident's address (0092)
            "update resident_messages set recipient = null where complaint_id = $1", complaint_id
        )
        if closed:
            await _redact_store(connection, complaint_id)
        await connection.execute(
            "insert into erasures (complaint_id, at, erased_by, reason, text_redacted) values ($1, $2, $3, $4, $5)",
            complaint_id, now, by, reason, closed,
        )  # fmt: skip
    get_logger(complaint_id=complaint_id).info("personal data erased", by=by, text_redacted=closed)
    return erased


async def _redact_store(connection: Connection, complaint_id: str) -> None:
    """Redact every stored event of the case and fold its read-model row again from what is left."""
    await connection.execute("select 1 from complaints where complaint_id = $1 for update", complaint_id)
    rows = await connection.fetch(
        "select seq, payload from events where complaint_id = $1 order by seq for update", complaint_id
    )
    state: CaseState | None = None
    for row in rows:
        event = redacted(EVENT.validate_python(row["payload"]))
        [[_type], [_at], [payload]] = event_columns([event])
        await connection.execute(
            "update events set payload = $3 where complaint_id = $1 and seq = $2", complaint_id, row["seq"], payload
        )
        state = fold_one(state, event, complaint_id)
    if state is not None:
        await upsert_case(connection, state, rows[-1]["seq"])


class Retention:
    """The retention rule's activity: anonymise the cases closed longer ago than the policy keeps them."""

    def __init__(self, pool: Pool, keep_closed_for: timedelta | None) -> None:
        self.pool = pool
        self.keep_closed_for = keep_closed_for

    @activity.defn(name="anonymise_closed_cases")
    async def anonymise_closed_cases(self) -> int:
        """Erase every case closed more than ``keep_closed_for`` ago and not yet anonymised; return how many.

        A case closed that long ago has long finished its workflow (it ends once its last batch is stored)."""
        if self.keep_closed_for is None:
            return 0
        days = self.keep_closed_for.total_seconds() / 86400
        reason = f"retention: closed more than {days:g} days ago"
        erased = 0
        while True:
            now = datetime.now(UTC)
            due = await self.pool.fetch(_DUE, now - self.keep_closed_for)
            for row in due:
                await erase(self.pool, row["complaint_id"], by=RETENTION_ERASER, reason=reason, now=now, closed=True)
                activity.heartbeat(erased := erased + 1)
            if len(due) < RETENTION_BATCH:
                return erased


RETENTION_BATCH = 200
_DUE = (
    "select complaint_id from complaints c where c.stage = 'closed' and c.closed_at < $1 "
    "and coalesce((c.state #>> '{follow_up,clock,lapsed}')::boolean, true) "
    "and not exists (select 1 from erasures e where e.complaint_id = c.complaint_id and e.text_redacted) "
    f"order by c.closed_at limit {RETENTION_BATCH}"
)
"""Closed before the cut-off, no longer taking follow-up calls (its workflow has finished) and not yet anonymised,
oldest first."""
