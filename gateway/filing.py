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

``file`` writes the gateway's filing (the key, the resident) before the case starts, so that a lost answer never
leaves a started case outside its organisation's reach, and takes it back when the case refuses the filing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import AwareDatetime

from activities import registry
from activities.event_store import Pool
from gateway import access, scope
from gateway.context import Gateway
from gateway.errors import ApiError
from gateway.keys import Principal
from gateway.scope import CaseScope
from schemas.common import Code
from schemas.errors import CommandRejected
from schemas.intake import ComplaintIntake, Source
from schemas.org import OrgDirectory
from whistle.client import SubmitResult, new_complaint_id
from whistle.places import fill_place, placer_for

MAX_BACKDATING = timedelta(days=7)
"""How long before filing a trusted key may say a complaint was reported."""
CLOCK_SKEW = timedelta(minutes=5)
"""How far a sender's clock may run ahead of the server's, or a resident's clock from it."""

SOURCE_BY_ROLE: dict[str, Source] = {"resident": "resident_app", "operator": "hotline", "grid-worker": "grid_patrol"}
"""Where a complaint filed with a key of this role comes from, unless the body says (a resident's cannot)."""

IdempotencyKey = str


class FilingBody(ComplaintIntake):
    """A complaint as filed over HTTP: ``source`` defaults by the key's role, ``reported_at`` to now, and the
    community and grid to the grid holding ``location``'s coordinates (``placed``)."""

    source: Source | None = None  # type: ignore[assignment]
    reported_at: AwareDatetime | None = None  # type: ignore[assignment]
    community: Code | None = None  # type: ignore[assignment]
    grid: Code | None = None  # type: ignore[assignment]


def placed(body: FilingBody, directory: OrgDirectory) -> FilingBody:
    """``body`` with its community and grid, found from its coordinates when it names no grid (``whistle/places.py``);
    a refusal names ``location`` (in no grid, or not in the community named) or the missing field."""
    try:
        fields = fill_place(body.model_dump(include={"community", "grid", "location"}), directory)
        point = body.location.latitude, body.location.longitude
        if body.community and body.grid and point[0] is not None and point[1] is not None:
            placer_for(directory).confirm(point[0], point[1], body.community, body.grid)
    except CommandRejected as refused:  # bad input, not a conflict with the case: 422, as validation is
        raise ApiError(422, refused.field, refused.reason) from None
    for field in ("community", "grid"):
        if not fields.get(field):
            raise ApiError(422, field, f"name the {field}, or give location.latitude and location.longitude")
    return body.model_copy(update={"community": fields["community"], "grid": fields["grid"]})


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


async def file(
    gateway: Gateway,
    principal: Principal,
    intake: ComplaintIntake,
    idempotency_key: IdempotencyKey | None,
    now: datetime,
    *,
    account_id: str | None = None,
    media_url: str | None = None,
) -> SubmitResult:
    """File ``intake`` for ``principal`` (its fields settled): the case is the key's (its organisation's, its
    resident's) from before it starts, so no failure after the start leaves it out of their reach. A refusal
    leaves nothing behind, neither the id's claim nor the idempotency key's reservation. An id this key does not
    reach (another organisation's ticket) is a 409 that tells nothing of that case."""
    await gateway.ready()
    intake, reserved = await gateway.checked(under_key(gateway.pool, principal, idempotency_key, intake, now))
    complaint_id = intake.complaint_id or new_complaint_id(now)
    intake = intake.model_copy(update={"complaint_id": complaint_id})
    filed = Filing(complaint_id, principal, account_id, media_url)
    claimed = await gateway.checked(filed.claim(gateway.pool))
    try:
        result = await gateway.ask(gateway.client.submit(intake, now=now))
    except CommandRejected:
        await gateway.checked(filed.release(gateway.pool, claimed, idempotency_key if reserved else None))
        raise
    if not result.duplicate:
        await gateway.checked(filed.confirm(gateway.pool))
        return result
    owner, organisation = await gateway.checked(scope.filed(gateway.pool, complaint_id, gateway.check_timeout))
    if not access.may_read(principal, CaseScope(complaint_id, intake.community, frozenset(), owner, organisation)):
        raise ApiError(409, "complaint_id", f"{complaint_id!r} is already filed; file under a new id")
    return result


@dataclass(frozen=True)
class Filing:
    """A case filed through the gateway: which key filed it, for which resident, with Open311's extras. Its row in
    ``gateway_filings`` is what makes the case its organisation's and its resident's (``gateway.scope``)."""

    complaint_id: str
    principal: Principal
    account_id: str | None
    media_url: str | None

    def _columns(self) -> list[Any]:
        resident = self.principal.subject if self.principal.role == "resident" else None
        return [self.complaint_id, self.principal.key_id, resident, self.account_id, self.media_url]

    async def claim(self, pool: Pool) -> bool:
        """Record the filing before the case starts, unless its id is filed already (a resent or foreign id):
        whether this call recorded it."""
        claimed = await pool.fetchval(
            "insert into gateway_filings (complaint_id, key_id, resident_id, account_id, media_url) "
            "select $1, $2, $3, $4, $5 where not exists (select 1 from filings where complaint_id = $1) "
            "on conflict (complaint_id) do nothing returning true",
            *self._columns(),
        )
        return bool(claimed)

    async def confirm(self, pool: Pool) -> None:
        """This request started the case: the filing is its, whoever claimed the id a moment before."""
        await pool.execute(
            "insert into gateway_filings (complaint_id, key_id, resident_id, account_id, media_url) "
            "values ($1, $2, $3, $4, $5) on conflict (complaint_id) do update set key_id = excluded.key_id, "
            "resident_id = excluded.resident_id, account_id = excluded.account_id, media_url = excluded.media_url",
            *self._columns(),
        )

    async def release(self, pool: Pool, claimed: bool, reserved_key: IdempotencyKey | None) -> None:
        """The case refused this filing: forget what this request claimed and reserved, and nothing else."""
        async with pool.acquire() as connection, connection.transaction():
            if claimed:
                await connection.execute(
                    "delete from gateway_filings where complaint_id = $1 and key_id = $2",
                    self.complaint_id,
                    self.principal.key_id,
                )
            if reserved_key is not None:
                await connection.execute(
                    "delete from gateway_idempotency where key_id = $1 and idempotency_key = $2",
                    self.principal.key_id,
                    reserved_key,
                )


async def under_key(
    pool: Pool, principal: Principal, idempotency_key: IdempotencyKey | None, intake: ComplaintIntake, now: datetime
) -> tuple[ComplaintIntake, bool]:
    """``intake`` with the complaint id its idempotency key holds, and whether it was reserved by this call (on
    the key's first use); unchanged without a key. A key used before for another request is a 409."""
    if idempotency_key is None:
        return intake, False
    digest = registry.body_digest(intake)
    complaint_id = intake.complaint_id or new_complaint_id(now)
    reserve = (
        "with reserved as (insert into gateway_idempotency (key_id, idempotency_key, request_digest, complaint_id) "
        "values ($1, $2, $3, $4) on conflict do nothing returning request_digest, complaint_id) "
        "select request_digest, complaint_id, true as fresh from reserved union all "
        "select request_digest, complaint_id, false from gateway_idempotency "
        "where key_id = $1 and idempotency_key = $2 limit 1"
    )
    row = await pool.fetchrow(reserve, principal.key_id, idempotency_key, digest, complaint_id)
    if row is None:  # reserved concurrently by a request whose row committed after this statement's snapshot
        row = await pool.fetchrow(
            "select request_digest, complaint_id, false as fresh from gateway_idempotency "
            "where key_id = $1 and idempotency_key = $2",
            principal.key_id,
            idempotency_key,
        )
        assert row is not None
    if row["request_digest"] != digest:
        raise ApiError(409, "Idempotency-Key", "already used for a different request; use a new key for this one")
    return intake.model_copy(update={"complaint_id": row["complaint_id"]}), row["fresh"]
