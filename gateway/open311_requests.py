"""Open311's service requests read: ``GET requests.json`` (a page of them) and ``GET requests/{id}.json`` (one).

The ``GET`` methods answer without a key, as the specification has them, but show only the cases a moderator
published (``whistle publish``), in their public form: the moderator's title and description, the category and
stage, the place as grid and community, the case's first photo as ``media_url`` (served keyless while the case is
published, ``gateway.photos``), never an address, coordinates or a person. A key (``api_key`` or ``X-API-Key``)
reads in full what its role may read (``gateway.open311_reach``).

Status is ``open`` until the case is closed, then ``closed``; ``status_notes`` says the stage in words,
``agency_responsible`` the lead department, ``expected_datetime`` the case's next deadline. With
``extensions=true`` each request also carries ``extended_attributes``: its detailed status and its updates
(``gateway.open311_updates``). Lists are paged (``page``, ``page_size``: ``gateway.open311_params``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from pydantic import BaseModel, Field

from gateway import access, open311_reach, open311_updates
from gateway.context import Gateway, GatewayDep
from gateway.errors import OPEN311_RESPONSES, ApiError
from gateway.keys import Principal
from gateway.open311_params import MAX_PAGE_SIZE, JurisdictionDep, Page, PageDep, codes, moment, w3c
from gateway.open311_updates import ExtendedAttributes, StoredEvent
from gateway.photos import case_media_url, public_media_url
from schemas.evidence import Photo
from schemas.labels import VALUE_LABELS
from schemas.state import CaseState
from whistle.client import CaseNotFound

router = APIRouter(prefix="/open311/v2", tags=["open311"], responses=OPEN311_RESPONSES)

DEFAULT_WINDOW = timedelta(days=90)
"""Without dates or ids, GET requests.json answers the last 90 days, as the specification says."""

Extensions = Annotated[
    bool, Query(description="true: each request carries extended_attributes (its detailed status and updates).")
]


class ServiceRequest(BaseModel):
    service_request_id: str
    status: str
    status_notes: str | None
    service_name: str
    service_code: str
    description: str
    agency_responsible: str | None
    service_notice: str | None
    requested_datetime: str
    updated_datetime: str
    expected_datetime: str | None
    address: str
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None
    extended_attributes: ExtendedAttributes | None = Field(default=None, exclude_if=lambda value: value is None)
    """With ``extensions=true`` only; absent otherwise."""


def status_notes(state: CaseState) -> str:
    stage = VALUE_LABELS["stage"][state.stage]
    notes = [f"{stage} ({state.stage})"]
    if state.escalation_level:
        who = VALUE_LABELS["escalation_level"][str(state.escalation_level)]
        notes.append(f"已升级至{who} escalated (level {state.escalation_level})")
    if state.parked:
        notes.append("挂账 parked on the public long-running list")
    if state.outcome:
        notes.append(f"{VALUE_LABELS['outcome'][state.outcome]} ({state.outcome})")
    return "; ".join(notes)


def request_of(state: CaseState, media_url: str | None) -> ServiceRequest:
    intake = state.case.intake
    context = state.case.context
    responsible = [state.lead] if state.lead else list(state.departments)
    agency = "、".join(context.departments[code].name for code in responsible if code in context.departments)
    return ServiceRequest(
        service_request_id=state.complaint_id,
        status="closed" if state.stage == "closed" else "open",
        status_notes=status_notes(state),
        service_name=context.category.name,
        service_code=intake.category,
        description=intake.description,
        agency_responsible=agency or f"{context.community.name} {context.grid.name}",
        service_notice="挂账督办 on the public long-running list" if state.parked else None,
        requested_datetime=w3c(state.filed_at) or "",
        updated_datetime=w3c(state.updated_at) or "",
        expected_datetime=w3c(state.next_deadline),
        address=intake.location.address,
        address_id=None,
        zipcode=None,
        lat=intake.location.latitude,
        long=intake.location.longitude,
        media_url=media_url,
    )


def public_request_of(state: CaseState, title: str, description: str) -> ServiceRequest:
    """A published case as the public sees it: the moderator's text, the place as grid and community (never the
    address or coordinates, which may be someone's home); its photo, if any, is added by the caller."""
    context = state.case.context
    return request_of(state, None).model_copy(
        update={
            "description": f"【{title}】{description}",
            "address": grid if (grid := context.grid.name).startswith(context.community.name)
            else f"{context.community.name}{grid}",
            "lat": None,
            "long": None,
        }
    )


def _first_photo(state: CaseState, base_url: str, url_of: Callable[[str, str, Photo], str]) -> str | None:
    """The ``media_url`` of a case with photos: its first (the filing's, when it has one), on this gateway."""
    carried = state.all_photos()
    return url_of(base_url, state.complaint_id, carried[0]) if carried else None


@router.get("/requests.json", response_model=list[ServiceRequest], summary="GET Service Requests")
async def requests(
    http: Request,
    gateway: GatewayDep,
    jurisdiction: JurisdictionDep,
    page: PageDep,
    service_request_id: Annotated[str | None, Query(max_length=20000)] = None,
    service_code: Annotated[str | None, Query(max_length=2000)] = None,
    start_date: Annotated[str | None, Query(max_length=40)] = None,
    end_date: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    updated_after: Annotated[str | None, Query(max_length=40, description="w3c: updated at or after")] = None,
    updated_before: Annotated[str | None, Query(max_length=40, description="w3c: updated at or before")] = None,
    extensions: Extensions = False,
    api_key: Annotated[str | None, Query(max_length=200)] = None,
    x_api_key: Annotated[str | None, Header(max_length=200)] = None,
) -> list[ServiceRequest]:
    """Service requests, newest first, a page at a time (``page`` from 1, ``page_size`` up to 200).
    ``service_request_id`` (comma-separated, at most 200) overrides every other filter; without it and without
    dates (``start_date``/``end_date`` on filing, ``updated_after``/``updated_before`` on the last change), the
    last 90 days.

    Without a key, only published cases, in their public form (the moderator's text, the place coarsened to the
    grid). With a key (``api_key`` or ``X-API-Key``), the cases the key's role may read in full, and the published
    ones in their public form."""
    principal = await open311_reach.reader(gateway, api_key or x_api_key)
    base_url = str(http.base_url)
    ids = codes(service_request_id, "service_request_id")
    if ids is not None:
        if len(ids) > MAX_PAGE_SIZE:
            raise ApiError(400, "service_request_id", f"at most {MAX_PAGE_SIZE} ids at once")
        where = "c.complaint_id = any($1::text[])"
        return await _load(gateway, principal, where, [ids], base_url, page, extensions=extensions)
    services = codes(service_code, "service_code")
    statuses = codes(status, "status")
    if statuses is not None and not set(statuses) <= {"open", "closed"}:
        raise ApiError(400, "status", "status is open, closed or both (comma-separated)")
    start, end = moment(start_date, "start_date"), moment(end_date, "end_date")
    after, before = moment(updated_after, "updated_after"), moment(updated_before, "updated_before")
    if start is None and end is None and after is None and before is None:
        start = datetime.now(UTC) - DEFAULT_WINDOW
    clauses, arguments = [], []
    for clause, value in (
        ("c.filed_at >= $", start), ("c.filed_at <= $", end), ("c.updated_at >= $", after),
        ("c.updated_at <= $", before), ("c.category = any($", services),
    ):  # fmt: skip
        if value is not None:
            arguments.append(value)
            clauses.append(f"{clause}{len(arguments)}" + ("::text[])" if clause.endswith("($") else ""))
    if statuses is not None and len(set(statuses)) == 1:
        clauses.append("c.stage = 'closed'" if statuses[0] == "closed" else "c.stage <> 'closed'")
    where = " and ".join(clauses) or "true"
    return await _load(gateway, principal, where, arguments, base_url, page, extensions=extensions)


async def _load(
    gateway: Gateway,
    principal: Principal | None,
    where: str,
    arguments: list[Any],
    base_url: str,
    page: Page,
    *,
    extensions: bool = False,
) -> list[ServiceRequest]:
    """The page of requests ``where`` selects that ``principal`` may see: in full where its role may read the case,
    in public form where the case is published, not at all otherwise (``gateway.open311_reach``)."""
    arguments = list(arguments)
    visible = open311_reach.visible(principal, arguments)
    rows = await gateway.checked(gateway.pool.fetch(
        f"select c.state, f.media_url, {open311_reach.columns(principal)} from {open311_reach.CASES} "
        f"where ({where}) and {visible} order by c.filed_at desc, c.complaint_id {page.sql()}",
        *arguments,
    ))  # fmt: skip
    events = await open311_updates.stored_updates(gateway, [row["complaint_id"] for row in rows]) if extensions else {}
    found: list[ServiceRequest] = []
    for row in rows:
        state = CaseState.model_validate(row["state"])
        full = open311_reach.in_full(principal, row)
        if full:
            shown = request_of(state, row["media_url"] or _first_photo(state, base_url, case_media_url))
        elif row["public_title"] is not None:
            public = public_request_of(state, row["public_title"], row["public_description"])
            shown = public.model_copy(update={"media_url": _first_photo(state, base_url, public_media_url)})
        else:
            continue
        if extensions:
            shown = _extend(gateway, shown, state, events[state.complaint_id], base_url, full)
        found.append(shown)
    return found


def _extend(
    gateway: Gateway, shown: ServiceRequest, state: CaseState, events: list[StoredEvent], base_url: str, full: bool
) -> ServiceRequest:
    """``shown`` with its ``extended_attributes``: its updates as notes, photos linked as this reader reads them."""
    photo_url = open311_updates.photo_url_for(base_url, state.complaint_id, full)
    notes = open311_updates.updates_of(state.complaint_id, events, gateway.directory, photo_url)
    extended = open311_updates.extended(state.stage, state.escalation_level, notes)
    return shown.model_copy(update={"extended_attributes": extended})


@router.get("/requests/{service_request_id}.json", response_model=list[ServiceRequest], summary="GET Service Request")
async def request(
    service_request_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")],
    http: Request,
    gateway: GatewayDep,
    jurisdiction: JurisdictionDep,
    extensions: Extensions = False,
    api_key: Annotated[str | None, Query(max_length=200)] = None,
    x_api_key: Annotated[str | None, Header(max_length=200)] = None,
) -> list[ServiceRequest]:
    """One service request, as a list of one (as the specification has it): published ones to anyone, in public
    form; with a key, in full where its role may read the case. A case filed a moment ago and not yet in the read
    model is asked of its workflow directly (with a key only: a case that new is published to nobody)."""
    principal = await open311_reach.reader(gateway, api_key or x_api_key)
    base_url = str(http.base_url)
    one = Page(1, 1)
    found = await _load(gateway, principal, "c.complaint_id = $1", [service_request_id], base_url, one,
                        extensions=extensions)  # fmt: skip
    if found:
        return found
    missing = ApiError(404, "service_request_id", f"no service request {service_request_id!r}")
    if principal is None:
        raise missing
    try:
        scope = await gateway.scope(service_request_id)
    except CaseNotFound:
        raise missing from None
    if not access.may_read(principal, scope):
        raise missing
    try:
        state = await gateway.ask(gateway.client.state(service_request_id))
    except CaseNotFound:
        raise missing from None
    media_url = await gateway.checked(
        gateway.pool.fetchval("select media_url from gateway_filings where complaint_id = $1", service_request_id)
    )
    shown = request_of(state, media_url or _first_photo(state, base_url, case_media_url))
    if extensions:  # not in the store yet: its updates from its history
        recorded = await gateway.ask(gateway.client.events(service_request_id))
        events = [
            StoredEvent(item.seq, item.event.type, item.event.at, item.event.model_dump(mode="json"))
            for item in recorded
        ]
        shown = _extend(gateway, shown, state, events, base_url, full=True)
    return [shown]
