"""The filing registry: one complaint id, one case, forever (the ``filings`` table, ``0045_filings.sql``).

Temporal refuses a second workflow of one id only while it retains the first; once retention purges a closed
case, the same id would start a new run and the store would mix two cases. The registry outlives retention:

* ``register`` is called by the SDK before it starts a workflow. The first filing of an id wins, with the
  digest of its intake; a resend with the same digest is the same filing, any other body is a ``FilingConflict``.
* ``bind_run`` ties the id to the run that was started (the SDK right after the start, the event store inside
  every append), and raises ``ForeignRun`` for a run other than the bound one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from activities.event_store import Connection, Pool
from schemas.errors import CommandRejected
from schemas.intake import ComplaintIntake

DIGEST_EXCLUDES = {"reported_at"}
"""Intake fields a resend of the same ticket may legitimately change, left out of its digest. ``reported_at``
is stamped with the sending time when the sender gives none (``whistle submit`` does), so a resent file
carries a later one; every other field is what the integrator wrote, and a change to it is another body."""


@dataclass(frozen=True)
class Filing:
    """What the registry holds for an id: the body's digest (None: filed before the registry or outside the
    SDK) and the workflow run it belongs to (None until its workflow is started)."""

    complaint_id: str
    body_digest: str | None
    workflow_id: str | None
    run_id: str | None


class FilingConflict(CommandRejected):
    """The id was filed before with another body: nothing is started. A ``CommandRejected`` on ``complaint_id``,
    so the gateway answers 409 and the CLI prints ``rejected: complaint_id: ...``."""

    def __init__(self, complaint_id: str) -> None:
        super().__init__(
            "complaint_id",
            f"{complaint_id!r} was already filed with a different body; an id is filed once, "
            "so send the original intake unchanged or file under a new id",
        )
        self.complaint_id = complaint_id


class ForeignRun(RuntimeError):
    """Events of a run other than the one the complaint id belongs to: the store must not take them."""

    def __init__(self, complaint_id: str, run_id: str, owner_run_id: str) -> None:
        super().__init__(f"complaint {complaint_id} belongs to run {owner_run_id}, not to run {run_id}")
        self.complaint_id = complaint_id
        self.run_id = run_id
        self.owner_run_id = owner_run_id


def body_digest(intake: ComplaintIntake) -> str:
    """SHA-256 of the intake as sent, as canonical JSON (sorted keys, no spaces), without ``DIGEST_EXCLUDES``.

    Computed on the validated model, so spelling a default out (``"urgency": "normal"``) or reordering keys
    is the same body."""
    body = intake.model_dump(mode="json", exclude=DIGEST_EXCLUDES)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def register(pool: Pool | Connection, complaint_id: str, digest: str) -> Filing:
    """File ``complaint_id`` with ``digest`` unless it is filed; return the filing the registry holds.

    Raises ``FilingConflict`` when the id is filed with another digest. A filing with no digest (older than
    the registry) is returned as it is: the caller treats it as the existing case.
    """
    row = await pool.fetchrow(
        "insert into filings (complaint_id, body_digest) values ($1, $2) on conflict (complaint_id) do nothing "
        "returning complaint_id, body_digest, workflow_id, run_id",
        complaint_id, digest,
    )  # fmt: skip
    if row is None:  # filed before; a statement of its own sees a filing another session committed meanwhile
        row = await pool.fetchrow(_SELECT, complaint_id)
        assert row is not None, "filings are never deleted"
    filing = Filing(*row)
    if filing.body_digest is not None and filing.body_digest != digest:
        raise FilingConflict(complaint_id)
    return filing


async def lookup(pool: Pool | Connection, complaint_id: str) -> Filing | None:
    """The filing of ``complaint_id``, or None when it was never filed."""
    row = await pool.fetchrow(_SELECT, complaint_id)
    return None if row is None else Filing(*row)


_SELECT = "select complaint_id, body_digest, workflow_id, run_id from filings where complaint_id = $1"

_BIND = """
with bound as (
    insert into filings (complaint_id, workflow_id, run_id) values ($1, $2, $3)
    on conflict (complaint_id) do update set workflow_id = excluded.workflow_id, run_id = excluded.run_id
    where filings.run_id is null
    returning run_id
)
select run_id from bound
union all
select run_id from filings where complaint_id = $1 and not exists (select from bound)
"""
"""Bind an unbound (or unknown) id to the run, else read the bound run; writes nothing once bound."""


async def bind_run(connection: Pool | Connection, complaint_id: str, workflow_id: str, run_id: str) -> None:
    """Tie ``complaint_id`` to ``run_id`` if it is tied to no run yet; raise ``ForeignRun`` if it is tied to another.

    One statement in the usual case (cheap enough to run inside every append transaction) and idempotent for
    the id's own run. An id the registry has never seen (a case started outside the SDK) is filed here, without
    a digest.
    """
    owner: str | None = await connection.fetchval(_BIND, complaint_id, workflow_id, run_id)
    if owner is None:
        # The id was filed by another session after this statement's snapshot was taken (its insert waited for
        # that session, then found the filing bound): read it again, with a snapshot of its own.
        owner = await connection.fetchval("select run_id from filings where complaint_id = $1", complaint_id)
    if owner != run_id:
        raise ForeignRun(complaint_id, run_id, str(owner))
