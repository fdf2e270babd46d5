"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2), JSON format, on the gateway.

Categories are the services; a service request is a case. ``POST requests.json`` is form-encoded and needs an
``api_key`` (a key from ``whistle keys create``). The ``GET`` methods answer without a key, as the specification
has them, but show only the cases a moderator published (``whistle publish``), in their public form: the
moderator's title and description, the category and stage, the place as grid and community, the case's first photo
as ``media_url`` (served keyless while the case is published, ``gateway.photos``), never an address, coordinates or
a person. A key (``api_key`` or ``X-API-Key``) reads in full what its role may read.
Errors follow the specification:
``[{"code": <HTTP status>, "description": ...}]``.

Where a request is (the specification has no community): in this order,
1. the extension attributes ``attribute[community]`` and ``attribute[grid]``;
2. a community whose name (红旗社区) or code appears in ``address_string``, and a grid of it likewise;
3. the one community the key is bound to (a grid worker's, a community or first secretary's);
4. the configured default (``WHISTLE_OPEN311_COMMUNITY`` / ``WHISTLE_OPEN311_GRID``);
otherwise ``400``. With ``lat``/``long`` and no grid named, the point decides (before 3 and 4): the grid whose
boundary holds it (``whistle/places.py``), which must be in the community named by 1 or 2 if any; else ``400``
naming ``location``. Without a point, a community without a grid named goes to its first grid (or the grid whose
name is in ``address_string``). Coordinates outside a grid that was named are refused naming ``location``.

Status is ``open`` until the case is closed, then ``closed``; ``status_notes`` says the stage in words,
``agency_responsible`` the lead department, ``expected_datetime`` the case's next deadline.

Past 300 lines: the GeoReport v2 resource set (services, definitions, requests read and filed) is one
specification and reads best as one module; its XML form is ``gateway.open311_xml``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Header, Path, Query, Request
from pydantic import BaseModel, ValidationError

from gateway import access, filing
from gateway.context import Gateway, GatewayDep
from gateway.errors import OPEN311_RESPONSES, ApiError, first_problem
from gateway.keys import Principal
from gateway.photos import case_media_url, public_media_url
from gateway.scope import CaseScope
from schemas.calendar import CHINA_TIME
from schemas.common import control_character
from schemas.errors import CommandRejected
from schemas.evidence import Photo
from schemas.intake import Source
from schemas.labels import VALUE_LABELS
from schemas.org import Category, Community, OrgDirectory
from schemas.state import CaseState
from whistle.client import CaseNotFound
from whistle.places import placer_for

router = APIRouter(prefix="/open311/v2", tags=["open311"], responses=OPEN311_RESPONSES)

DEFAULT_WINDOW = timedelta(days=90)
"""Without dates or ids, GET requests.json answers the last 90 days, as the specification says."""
MAX_REQUESTS = 200
"""The most service requests one answer carries (the newest)."""


class Service(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str
    keywords: str
    group: str


class ServiceAttribute(BaseModel):
    variable: bool
    code: str
    datatype: str
    required: bool
    datatype_description: str
    order: int
    description: str
    values: list[dict[str, str]]


class ServiceDefinition(BaseModel):
    service_code: str
    attributes: list[ServiceAttribute]


class RequestCreated(BaseModel):
    service_request_id: str
    service_notice: str | None
    account_id: str | None


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


def w3c(moment: datetime | None) -> str | None:
    """ISO 8601 with the offset, as the specification requires (Beijing time)."""
    return None if moment is None else moment.astimezone(CHINA_TIME).isoformat(timespec="seconds")


def service_of(category: Category, directory: OrgDirectory) -> Service:
    names = {department.code: department.name for department in directory.departments}
    routed = "、".join(names[code] for code in category.departments)
    return Service(
        service_code=category.code,
        service_name=category.name,
        description=f"{category.name_en} ({category.name}); 建议派单 routed to: {routed}",
        metadata=False,
        type="realtime",
        keywords=",".join([category.code, category.name_en, *category.departments]),
        group=names[category.departments[0]] if category.departments else "",
    )


@router.get("/services.json", response_model=list[Service], summary="GET Service List")
async def services(gateway: GatewayDep, jurisdiction_id: str | None = None) -> list[Service]:
    """Every category as a service (type realtime: a request is a case at once)."""
    return [service_of(category, gateway.directory) for category in gateway.directory.categories]


@router.get("/services/{service_code}.json", response_model=ServiceDefinition, summary="GET Service Definition")
async def service_definition(
    service_code: str, gateway: GatewayDep, jurisdiction_id: str | None = None
) -> ServiceDefinition:
    """The optional extension attributes every service takes: ``community`` and ``grid``."""
    if not any(category.code == service_code for category in gateway.directory.categories):
        raise ApiError(404, "service_code", f"no service {service_code!r}")
    communities = [{"key": c.code, "name": c.name} for c in gateway.directory.communities]
    grids = [{"key": g.code, "name": g.name} for c in gateway.directory.communities for g in c.grids]
    return ServiceDefinition(
        service_code=service_code,
        attributes=[
            ServiceAttribute(variable=True, code="community", datatype="singlevaluelist", required=False,
                             datatype_description="社区 community code", order=1,
                             description="The community (社区) the problem is in", values=communities),
            ServiceAttribute(variable=True, code="grid", datatype="singlevaluelist", required=False,
                             datatype_description="网格 grid code", order=2,
                             description="The grid (网格) the problem is in", values=grids),
        ],
    )  # fmt: skip


def place(
    directory: OrgDirectory,
    principal: Principal,
    default: tuple[str | None, str | None],
    community: str | None,
    grid: str | None,
    address: str | None,
    point: tuple[float, float] | None = None,
) -> tuple[str, str]:
    """The community and grid of a request, by the rule in this module's docstring; coordinates outside the grid
    so chosen are refused naming ``location``, as every filing path refuses them (``whistle/places.py``)."""
    where = _named_place(directory, principal, default, community, grid, address, point)
    if point is not None:
        try:
            placer_for(directory).confirm(*point, *where)
        except CommandRejected as refused:
            raise ApiError(400, "location", refused.reason) from None
    return where


def _named_place(
    directory: OrgDirectory,
    principal: Principal,
    default: tuple[str | None, str | None],
    community: str | None,
    grid: str | None,
    address: str | None,
    point: tuple[float, float] | None,
) -> tuple[str, str]:
    found: Community | None = None
    if community:
        found = next((c for c in directory.communities if c.code == community), None)
        if found is None:
            raise ApiError(400, "attribute[community]", f"unknown community {community!r}")
    if found is None and address:
        found = next((c for c in directory.communities if c.name in address or c.code in address), None)
    if point is not None and not grid and placer_for(directory).bounded:  # no grid named: placed by its point
        try:
            return placer_for(directory).place(*point, found.code if found else None)
        except CommandRejected as refused:
            raise ApiError(400, "location", refused.reason) from None
    if found is None and len(principal.communities) == 1:
        [own] = principal.communities
        found = next((c for c in directory.communities if c.code == own), None)
    if found is None and default[0]:
        found = next((c for c in directory.communities if c.code == default[0]), None)
        grid = grid or default[1]
    if found is None:
        raise ApiError(
            400, "attribute[community]", "name the community: attribute[community] or its name in address_string"
        )
    if grid:
        if not any(g.code == grid for g in found.grids):
            raise ApiError(400, "attribute[grid]", f"grid {grid!r} is not in community {found.code}")
        return found.code, grid
    named = next((g for g in found.grids if address and g.name in address), None)
    return found.code, (named or found.grids[0]).code


def _clean(field: str, value: str | None, *, allowed: str = "") -> str | None:
    """``value`` as given, or 400 naming ``field`` when it holds a control character (which would break the XML
    answers of everyone who reads the request)."""
    if value is not None and (char := control_character(value, allowed=allowed)) is not None:
        raise ApiError(400, field, f"contains the control character U+{ord(char):04X}")
    return value


def _https_url(value: str | None) -> str | None:
    """A ``media_url`` is a link to a picture others will open: https only, a host, no spaces."""
    if value is None:
        return None
    _clean("media_url", value)
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or any(char.isspace() for char in value):
        raise ApiError(400, "media_url", "must be an https URL (https://host/path)")
    return value


@router.post("/requests.json", response_model=list[RequestCreated], summary="POST Service Request")
async def create_request(
    gateway: GatewayDep,
    api_key: Annotated[str, Form(max_length=200)],
    service_code: Annotated[str, Form(max_length=40)],
    jurisdiction_id: Annotated[str | None, Form(max_length=100)] = None,
    lat: Annotated[float | None, Form(ge=-90, le=90)] = None,
    long: Annotated[float | None, Form(ge=-180, le=180)] = None,
    address_string: Annotated[str | None, Form(max_length=200)] = None,
    address_id: Annotated[str | None, Form(max_length=100)] = None,
    email: Annotated[str | None, Form(max_length=200)] = None,
    device_id: Annotated[str | None, Form(max_length=200)] = None,
    account_id: Annotated[str | None, Form(max_length=200)] = None,
    first_name: Annotated[str | None, Form(max_length=50)] = None,
    last_name: Annotated[str | None, Form(max_length=50)] = None,
    phone: Annotated[str | None, Form(max_length=30)] = None,
    description: Annotated[str | None, Form(max_length=4000)] = None,
    media_url: Annotated[str | None, Form(max_length=2000)] = None,
    attribute_community: Annotated[str | None, Form(alias="attribute[community]", max_length=40)] = None,
    attribute_grid: Annotated[str | None, Form(alias="attribute[grid]", max_length=40)] = None,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=100,
            pattern=r"^[A-Za-z0-9_.:-]+$",
            description="Resend with the same key after a lost answer: one service request is filed.",
        ),
    ] = None,
) -> list[RequestCreated]:
    """File a service request: a new case. ``phone`` is required here (the grid worker calls the reporter back).
    The server numbers and dates it; with an ``Idempotency-Key`` header a retried POST files it once."""
    principal = await gateway.principal(api_key)
    if principal is None:
        raise ApiError(403, "api_key", "invalid api_key")
    for field, value in (
        ("jurisdiction_id", jurisdiction_id), ("address_string", address_string), ("address_id", address_id),
        ("email", email), ("device_id", device_id), ("account_id", account_id), ("first_name", first_name),
        ("last_name", last_name), ("phone", phone),
    ):  # fmt: skip
        _clean(field, value)
    _clean("description", description, allowed="\n\t")
    media_url = _https_url(media_url)
    category = next((c for c in gateway.directory.categories if c.code == service_code), None)
    if category is None:
        raise ApiError(400, "service_code", f"unknown service_code {service_code!r}")
    if (lat is None or long is None) and not address_string:
        raise ApiError(400, "lat", "lat and long, or address_string, are required")
    if not phone:
        raise ApiError(400, "phone", "a phone number is required so the grid worker can call back")
    community, grid = place(
        gateway.directory, principal, (gateway.open311_community, gateway.open311_grid),
        attribute_community, attribute_grid, address_string,
        (lat, long) if lat is not None and long is not None else None,
    )  # fmt: skip
    try:
        access.check_filing(principal, community)
    except ApiError as error:
        raise ApiError(403, "api_key", error.reason) from None
    name = f"{last_name or ''}{first_name or ''}".strip() or "匿名居民"
    text = (description or "").strip() or category.name
    now = datetime.now(UTC)
    try:
        body = filing.FilingBody.model_validate(
            {
                "source": SOURCE_BY_ROLE.get(principal.role, "resident_app"),
                "community": community,
                "grid": grid,
                "category": category.code,
                "title": f"{category.name}：{text}"[:200],
                "description": text,
                "location": {"address": address_string or f"{lat},{long}", "latitude": lat, "longitude": long},
                "reporter": {"name": name[:50], "phone": phone.replace(" ", ""), **({"email": email} if email else {})},
            }
        )
    except ValidationError as error:
        field, reason = first_problem(list(error.errors()))
        raise ApiError(400, FORM_FIELD.get(field, field), reason) from None
    intake = filing.settle(body, principal, now)
    result = await filing.file(
        gateway, principal, intake, idempotency_key, now, account_id=account_id, media_url=media_url
    )
    notice = "已受理，网格员将先行核实 Received: a grid worker verifies it first (网格核实)"
    return [RequestCreated(service_request_id=result.complaint_id, service_notice=notice, account_id=account_id)]


SOURCE_BY_ROLE: dict[str, Source] = {"operator": "hotline", "grid-worker": "grid_patrol"}
"""Where an Open311 request comes from by its key's role: an app, unless a hotline or a grid worker files it."""

FORM_FIELD = {
    "reporter.phone": "phone", "reporter.name": "last_name", "reporter.email": "email", "title": "description",
    "description": "description",
    "location.address": "address_string", "location.latitude": "lat", "location.longitude": "long",
}  # fmt: skip
"""The form field an intake field was made from, so a refusal names what the client sent."""


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


def _first_photo(state: CaseState, base_url: str, url_of: Callable[[str, str, Photo], str]) -> str | None:
    """The ``media_url`` of a case with photos: its first (the filing's, when it has one), on this gateway."""
    carried = state.all_photos()
    return url_of(base_url, state.complaint_id, carried[0]) if carried else None


def _codes(text: str | None, field: str) -> list[str] | None:
    if text is None:
        return None
    codes = [code.strip() for code in text.split(",") if code.strip()]
    if not codes:
        raise ApiError(400, field, "give at least one value")
    return codes


def _moment(text: str | None, field: str) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, field, f"{text!r} is not a w3c date-time like 2026-11-05T08:15:30+08:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@router.get("/requests.json", response_model=list[ServiceRequest], summary="GET Service Requests")
async def requests(
    http: Request,
    gateway: GatewayDep,
    jurisdiction_id: str | None = None,
    service_request_id: Annotated[str | None, Query(max_length=20000)] = None,
    service_code: Annotated[str | None, Query(max_length=2000)] = None,
    start_date: Annotated[str | None, Query(max_length=40)] = None,
    end_date: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    api_key: Annotated[str | None, Query(max_length=200)] = None,
    x_api_key: Annotated[str | None, Header(max_length=200)] = None,
) -> list[ServiceRequest]:
    """Service requests, newest first, at most 200 (``MAX_REQUESTS``). ``service_request_id`` (comma-separated)
    overrides every other filter; without it and without dates, the last 90 days.

    Without a key, only published cases, in their public form (the moderator's text, the place coarsened to the
    grid). With a key (``api_key`` or ``X-API-Key``), the cases the key's role may read in full, and the published
    ones in their public form."""
    principal = await _reader(gateway, api_key or x_api_key)
    ids = _codes(service_request_id, "service_request_id")
    if ids is not None:
        selected = [ids[:MAX_REQUESTS]]
        return await _load(gateway, principal, "c.complaint_id = any($1::text[])", selected, str(http.base_url))
    codes = _codes(service_code, "service_code")
    statuses = _codes(status, "status")
    if statuses is not None and not set(statuses) <= {"open", "closed"}:
        raise ApiError(400, "status", "status is open, closed or both (comma-separated)")
    start, end = _moment(start_date, "start_date"), _moment(end_date, "end_date")
    if start is None and end is None:
        start = datetime.now(UTC) - DEFAULT_WINDOW
    clauses, arguments = [], []
    for clause, value in (("c.filed_at >= $", start), ("c.filed_at <= $", end), ("c.category = any($", codes)):
        if value is not None:
            arguments.append(value)
            clauses.append(f"{clause}{len(arguments)}" + ("::text[])" if clause.endswith("($") else ""))
    if statuses is not None and len(set(statuses)) == 1:
        clauses.append("c.stage = 'closed'" if statuses[0] == "closed" else "c.stage <> 'closed'")
    return await _load(gateway, principal, " and ".join(clauses) or "true", arguments, str(http.base_url))


async def _reader(gateway: Gateway, key: str | None) -> Principal | None:
    """The key's principal, or None for a keyless (public) read; a key given but not live is refused."""
    if key is None:
        return None
    principal = await gateway.principal(key)
    if principal is None:
        raise ApiError(401, "api_key", "not a live key")
    return principal


async def _load(
    gateway: Gateway, principal: Principal | None, where: str, arguments: list[Any], base_url: str
) -> list[ServiceRequest]:
    """The requests ``where`` selects that ``principal`` may see: in full where its role may read the case, in
    public form where the case is published, not at all otherwise (a keyless read sees published cases only).
    Who may read is decided from the row, as ``gateway.access`` decides it for one case."""
    arguments = list(arguments)
    reached = "false" if principal is None else access.reach(principal, arguments)
    owner = "coalesce(f.resident_id, whistle_resident_of(c.complaint_id))" if principal else "f.resident_id"
    rows = await gateway.checked(gateway.pool.fetch(
        f"select c.state, c.community, c.departments, {owner} as owner, k.organisation, f.media_url, "
        f"p.public_title, p.public_description from complaints c "
        f"left join gateway_filings f using (complaint_id) left join api_keys k on k.key_id = f.key_id "
        f"left join publications p using (complaint_id) "
        f"where ({where}) and ({reached} or p.complaint_id is not null) "
        f"order by c.filed_at desc, c.complaint_id limit {MAX_REQUESTS}",
        *arguments,
    ))  # fmt: skip
    found: list[ServiceRequest] = []
    for row in rows:
        state = CaseState.model_validate(row["state"])
        scope = CaseScope(
            state.complaint_id, row["community"], frozenset(row["departments"]), row["owner"], row["organisation"]
        )
        if principal is not None and access.may_read(principal, scope):
            found.append(request_of(state, row["media_url"] or _first_photo(state, base_url, case_media_url)))
        elif row["public_title"] is not None:
            public = public_request_of(state, row["public_title"], row["public_description"])
            found.append(public.model_copy(update={"media_url": _first_photo(state, base_url, public_media_url)}))
    return found


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


@router.get("/requests/{service_request_id}.json", response_model=list[ServiceRequest], summary="GET Service Request")
async def request(
    service_request_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")],
    http: Request,
    gateway: GatewayDep,
    jurisdiction_id: str | None = None,
    api_key: Annotated[str | None, Query(max_length=200)] = None,
    x_api_key: Annotated[str | None, Header(max_length=200)] = None,
) -> list[ServiceRequest]:
    """One service request, as a list of one (as the specification has it): published ones to anyone, in public
    form; with a key, in full where its role may read the case. A case filed a moment ago and not yet in the read
    model is asked of its workflow directly (with a key only: a case that new is published to nobody)."""
    principal = await _reader(gateway, api_key or x_api_key)
    found = await _load(gateway, principal, "c.complaint_id = $1", [service_request_id], str(http.base_url))
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
    return [request_of(state, media_url or _first_photo(state, str(http.base_url), case_media_url))]
