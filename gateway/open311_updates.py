"""What happened to a service request since it was filed, for Open311 clients: the request updates.

Two widely used extensions of GeoReport v2 read them:

* ``GET servicerequestupdates.json|xml?start_date=&end_date=`` (the updates feed FixMyStreet and the Open311
  adapters written for it poll): every update in the window, oldest first, paged, each with ``update_id``,
  ``service_request_id``, ``status``, ``updated_datetime``, ``description`` and ``media_url``;
* ``extensions=true`` on ``GET requests`` adds ``extended_attributes`` to each request: ``detailed_status``, the
  stage and escalation level, and the request's updates as ``notes``.

An update is one of a case's events that a resident would want to hear of (``UPDATES``): filed, verified, the
whistle blown, a department reporting in or declining, progress, a part done, escalations and directives, handling
completed, the resident's rating, a reopening, closure. Its ``description`` is the event's label and the
departments it names, in the words of the org directory; never free text that nobody moderated (a progress note,
a reason), an officer's or a reporter's name. Its ``status`` is the case's after that event, in the status words
FixMyStreet reads (``STATUS_AFTER``): ``open``, ``investigating``, ``action_scheduled``, ``in_progress``,
``internal_referral``, ``fixed``, ``duplicate``, ``no_further_action``, ``closed``. The cases shown are the
requests' (``gateway.open311_reach``): published ones to anyone, and with a key those its role may read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel

from gateway import open311_reach
from gateway.context import Gateway, GatewayDep
from gateway.errors import OPEN311_RESPONSES, ApiError
from gateway.open311_params import JurisdictionDep, PageDep, moment, w3c
from gateway.photos import case_media_url, public_media_url
from schemas.events import EVENT_LABELS
from schemas.evidence import Photo
from schemas.labels import VALUE_LABELS
from schemas.org import OrgDirectory

router = APIRouter(prefix="/open311/v2", tags=["open311"], responses=OPEN311_RESPONSES)

DEFAULT_WINDOW = timedelta(days=90)
"""Without dates, the updates of the last 90 days (as GET requests answers)."""

STATUS_AFTER: dict[str, str] = {
    "ComplaintFiled": "open",
    "GridVerified": "investigating",
    "WhistleBlown": "action_scheduled",
    "DepartmentReportedIn": "in_progress",
    "ProactivelyReportedIn": "in_progress",
    "DepartmentDeclined": "internal_referral",
    "ResolvedInGrid": "fixed",
    "HandlingCompleted": "fixed",
    "CaseReopened": "in_progress",
    "CaseMerged": "duplicate",
    "MergeUndone": "open",
    "CaseClosed": "closed",  # by its outcome: CLOSED_AS
}
"""The status a case has after each event that changes it; other events leave it as it was."""
CLOSED_AS = {
    "satisfied": "fixed", "basically_satisfied": "fixed", "unevaluated": "fixed", "withdrawn": "closed",
    "terminated": "no_further_action", "merged": "duplicate",
}  # fmt: skip
"""A closed case's status by its outcome: handled (rated or not) is fixed."""
UPDATES = (
    *STATUS_AFTER,
    "ExtensionApproved", "EscalatedToFirstSecretary", "EscalatedToStreetSecretary", "DirectiveIssued",
    "ProgressRecorded", "PartCompleted", "ResidentEvaluated", "CaseParked", "CaseWithdrawn", "CaseRecategorised",
)  # fmt: skip
"""The events a request's updates are made of."""


class RequestUpdate(BaseModel):
    update_id: str
    service_request_id: str
    status: str
    updated_datetime: str
    description: str
    media_url: str | None


class ExtendedAttributes(BaseModel):
    """What ``extensions=true`` adds to a request."""

    detailed_status: str
    stage: str
    escalation_level: int
    notes: list[RequestUpdate]


@dataclass(frozen=True)
class StoredEvent:
    """An event as the store (or the case's history) gives it: its JSON, not its model, so that any event the
    store holds can be described without validating the whole case."""

    seq: int
    type: str
    at: datetime
    payload: Mapping[str, Any]


PhotoUrl = Callable[[Photo], str]


def status_after(event_type: str, payload: Mapping[str, Any], before: str) -> str:
    """The case's status after an event, ``before`` being the status it had."""
    if event_type == "CaseClosed":
        return CLOSED_AS.get(str(payload.get("outcome")), "closed")
    return STATUS_AFTER.get(event_type, before)


def describe(event_type: str, payload: Mapping[str, Any], directory: OrgDirectory) -> str:
    """The event's label and what it names (departments, the outcome, the directive), no free text."""
    names = {department.code: department.name for department in directory.departments}
    details: list[str] = []
    codes = payload.get("departments") or ([payload["department"]] if payload.get("department") else [])
    if codes:
        details.append("、".join(names.get(code, code) for code in codes))
    if payload.get("lead") and len(codes) > 1:
        details.append(f"牵头：{names.get(payload['lead'], payload['lead'])}")
    for field in ("kind", "rating", "outcome", "closure_reason", "cause", "reason"):
        label = VALUE_LABELS.get(field, {}).get(str(payload.get(field)))
        if label:  # a known value only: a free-text reason is never shown
            details.append(label)
    if event_type == "CaseRecategorised" and isinstance(payload.get("category"), Mapping):
        details.append(str(payload["category"].get("name", "")))
    if event_type == "ProactivelyReportedIn" and not payload.get("department"):
        details.append("第一书记到场")
    label = EVENT_LABELS.get(event_type, event_type)
    return f"{label}：{'；'.join(details)}" if details else label


def update_of(
    complaint_id: str, event: StoredEvent, status: str, directory: OrgDirectory, photo_url: PhotoUrl
) -> RequestUpdate:
    photos = event.payload.get("photos") or []
    return RequestUpdate(
        update_id=f"{complaint_id}-{event.seq}",
        service_request_id=complaint_id,
        status=status,
        updated_datetime=w3c(event.at) or "",
        description=describe(event.type, event.payload, directory),
        media_url=photo_url(Photo.model_validate(photos[0])) if photos else None,
    )


def updates_of(
    complaint_id: str, events: Iterable[StoredEvent], directory: OrgDirectory, photo_url: PhotoUrl
) -> list[RequestUpdate]:
    """A case's updates from its events in order (from its first, so each status follows from the ones before)."""
    status = "open"
    found = []
    for event in events:
        if event.type not in UPDATES:
            continue
        status = status_after(event.type, event.payload, status)
        found.append(update_of(complaint_id, event, status, directory, photo_url))
    return found


def photo_url_for(base_url: str, complaint_id: str, full: bool) -> PhotoUrl:
    """Where a reader finds an update's photo: through the key's API in full, the public media path otherwise."""
    url_of = case_media_url if full else public_media_url
    return lambda photo: url_of(base_url, complaint_id, photo)


def extended(stage: str, escalation_level: int, notes: list[RequestUpdate]) -> ExtendedAttributes:
    detailed = notes[-1].status if notes else "open"
    return ExtendedAttributes(detailed_status=detailed, stage=stage, escalation_level=escalation_level, notes=notes)


async def stored_updates(gateway: Gateway, complaint_ids: list[str]) -> dict[str, list[StoredEvent]]:
    """The update events of these cases from the event store, each case's in order."""
    rows = await gateway.checked(gateway.pool.fetch(
        "select complaint_id, seq, type, at, payload from events "
        "where complaint_id = any($1::text[]) and type = any($2::text[]) order by complaint_id, seq",
        complaint_ids, list(UPDATES),
    ))  # fmt: skip
    found: dict[str, list[StoredEvent]] = {complaint_id: [] for complaint_id in complaint_ids}
    for row in rows:
        found[row["complaint_id"]].append(StoredEvent(row["seq"], row["type"], row["at"], row["payload"]))
    return found


@router.get(
    "/servicerequestupdates.json", response_model=list[RequestUpdate], summary="GET Service Request Updates"
)
async def service_request_updates(
    http: Request,
    gateway: GatewayDep,
    jurisdiction: JurisdictionDep,
    page: PageDep,
    start_date: Annotated[str | None, Query(max_length=40)] = None,
    end_date: Annotated[str | None, Query(max_length=40)] = None,
    api_key: Annotated[str | None, Query(max_length=200)] = None,
    x_api_key: Annotated[str | None, Header(max_length=200)] = None,
) -> list[RequestUpdate]:
    """The updates of the requests this reader may see, made between ``start_date`` and ``end_date`` (w3c; without
    either, the last 90 days), oldest first, a page at a time."""
    principal = await open311_reach.reader(gateway, api_key or x_api_key)
    start, end = moment(start_date, "start_date"), moment(end_date, "end_date")
    if start is None and end is None:
        start = datetime.now(UTC) - DEFAULT_WINDOW
    if start is not None and end is not None and end < start:
        raise ApiError(400, "end_date", "end_date is before start_date")
    arguments: list[Any] = [list(UPDATES), list(STATUS_AFTER)]
    clauses = ["e.type = any($1::text[])", open311_reach.visible(principal, arguments)]
    for clause, value in (("e.at >= $", start), ("e.at <= $", end)):
        if value is not None:
            arguments.append(value)
            clauses.append(f"{clause}{len(arguments)}")
    rows = await gateway.checked(gateway.pool.fetch(
        f"select e.seq, e.type, e.at, e.payload, s.type as status_type, s.payload as status_payload, "
        f"{open311_reach.columns(principal)} from {open311_reach.CASES} "
        f"join events e on e.complaint_id = c.complaint_id "
        f"left join lateral (select s.type, s.payload from events s where s.complaint_id = e.complaint_id "
        f"and s.seq <= e.seq and s.type = any($2::text[]) order by s.seq desc limit 1) s on true "
        f"where {' and '.join(clauses)} order by e.at, c.complaint_id, e.seq {page.sql()}",
        *arguments,
    ))  # fmt: skip
    base_url = str(http.base_url)
    found = []
    for row in rows:
        complaint_id = row["complaint_id"]
        status = status_after(row["status_type"], row["status_payload"], "open") if row["status_type"] else "open"
        event = StoredEvent(row["seq"], row["type"], row["at"], row["payload"])
        photo_url = photo_url_for(base_url, complaint_id, open311_reach.in_full(principal, row))
        found.append(update_of(complaint_id, event, status, gateway.directory, photo_url))
    return found

