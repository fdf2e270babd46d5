"""What the server decides when a complaint is filed through the gateway, and how a retried create files once.

A resident's key files for that resident, now: it may not choose the complaint id (the hotline's next ticket
number is not a resident's to take), the urgency (urgent windows force escalations and mark a department's
ranking: the community decides that) or a source other than the resident app, and ``reported_at`` is the
server's clock. Other keys may date a report back by at most ``MAX_BACKDATING`` (a hotline entering a call taken
offline, a grid worker's phone that synced late), never into the future. A refusal names the field; nothing is
filed.

``Idempotency-Key`` (JSON API and Open311): the first create under a key reserves a complaint id for it, kept per
API key with the digest of the request; a retry with the same key and request files under that id, so the SDK's
own duplicate check answers with the case already filed; the same key with another request is a 409.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import AwareDatetime

from activities import registry
from activities.event_store import Pool
from gateway.errors import ApiError
from gateway.keys import Principal
from schemas.intake import ComplaintIntake, Source
from whistle.client import new_complaint_id

MAX_BACKDATING = timedelta(days=7)
"""How long before filing a trusted key may say a complaint was reported."""
CLOCK_SKEW = timedelta(minutes=5)
"""How far a sender's clock may run ahead of the server's, or a resident's clock from it."""

SOURCE_BY_ROLE: dict[str, Source] = {"resident": "resident_app", "operator": "hotline", "grid-worker": "grid_patrol"}
"""Where a complaint filed with a key of this role comes from, unless the body says (a resident's cannot)."""

IdempotencyKey = str


class FilingBody(ComplaintIntake):
    """A complaint as filed over HTTP: ``source`` defaults by the key's role, ``reported_at`` to now."""

    source: Source | None = None  # type: ignore[assignment]
    reported_at: AwareDatetime | None = None  # type: ignore[assignment]


def settle(body: FilingBody, principal: Principal, now: datetime) -> ComplaintIntake:
    """The intake to file: the body with what the server decides for ``principal``'s role, or a refusal."""
    given = body.model_fields_set
    if principal.role == "resident":
        if body.complaint_id is not None:
            raise ApiError(403, "complaint_id", "a resident's complaint is numbered by the server; leave it out")
        if "urgency" in given and body.urgency != "normal":
            raise ApiError(403, "urgency", "the community decides a complaint's urgency, not the resident's app")
        if body.source not in (None, "resident_app"):
            raise ApiError(403, "source", "a resident's key files from the resident app only")
        if body.reported_at is not None and abs(body.reported_at - now) > CLOCK_SKEW:
            raise ApiError(422, "reported_at", "a resident's complaint is reported now; leave it out")
    reported_at = now if principal.role == "resident" or body.reported_at is None else body.reported_at
    if reported_at - now > CLOCK_SKEW:
        raise ApiError(422, "reported_at", f"{reported_at.isoformat()} is in the future")
    if now - reported_at > MAX_BACKDATING:
        raise ApiError(422, "reported_at", f"more than {MAX_BACKDATING.days} days ago; file it with today's date")
    source = body.source or SOURCE_BY_ROLE.get(principal.role)
    if source is None:
        raise ApiError(422, "source", f"say where the complaint came from (a {principal.role} key has no default)")
    fields = body.model_dump(exclude={"source", "reported_at"}, exclude_none=True)
    if principal.role == "resident":
        fields["reporter"] = {**fields["reporter"], "resident_id": principal.subject}
    return ComplaintIntake.model_validate({**fields, "source": source, "reported_at": reported_at})


async def under_key(
    pool: Pool, principal: Principal, idempotency_key: IdempotencyKey | None, intake: ComplaintIntake, now: datetime
) -> ComplaintIntake:
    """``intake`` with the complaint id its idempotency key holds (reserved now on first use); unchanged without
    a key. A key used before for another request is a 409."""
    if idempotency_key is None:
        return intake
    digest = registry.body_digest(intake)
    complaint_id = intake.complaint_id or new_complaint_id(now)
    reserve = (
        "with reserved as (insert into gateway_idempotency (key_id, idempotency_key, request_digest, complaint_id) "
        "values ($1, $2, $3, $4) on conflict do nothing returning request_digest, complaint_id) "
        "select request_digest, complaint_id from reserved union all "
        "select request_digest, complaint_id from gateway_idempotency where key_id = $1 and idempotency_key = $2 "
        "limit 1"
    )
    row = await pool.fetchrow(reserve, principal.key_id, idempotency_key, digest, complaint_id)
    if row is None:  # reserved concurrently by a request whose row committed after this statement's snapshot
        row = await pool.fetchrow(
            "select request_digest, complaint_id from gateway_idempotency where key_id = $1 and idempotency_key = $2",
            principal.key_id,
            idempotency_key,
        )
        assert row is not None
    if row["request_digest"] != digest:
        raise ApiError(409, "Idempotency-Key", "already used for a different request; use a new key for this one")
    return intake.model_copy(update={"complaint_id": row["complaint_id"]})
