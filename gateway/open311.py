"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2) on the gateway: filing a service request.

Categories are the services (``gateway.open311_services``); a service request is a case. ``POST requests.json``
is form-encoded and needs an ``api_key`` (a key from ``whistle keys create``); the reads are
``gateway.open311_requests`` and ``gateway.open311_updates``, the XML form of all ``gateway.open311_xml``.
Errors follow the specification: ``[{"code": <HTTP status>, "description": ...}]``.

Where a request is (the specification has no community): in this order,
1. the extension attributes ``attribute[community]`` and ``attribute[grid]``;
2. a community whose name (红旗社区) or code appears in ``address_string``, and a grid of it likewise;
3. the one community the key is bound to (a grid worker's, a community or first secretary's);
4. the configured default (``WHISTLE_OPEN311_COMMUNITY`` / ``WHISTLE_OPEN311_GRID``);
otherwise ``400``. With ``lat``/``long`` and no grid named, the point decides (before 3 and 4): the grid whose
boundary holds it (``whistle/places.py``), which must be in the community named by 1 or 2 if any; else ``400``
naming ``location``. Without a point, a community without a grid named goes to its first grid (or the grid whose
name is in ``address_string``). Coordinates outside a grid that was named are refused naming ``location``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Header
from pydantic import BaseModel, ValidationError

from gateway import access, filing
from gateway.context import GatewayDep
from gateway.errors import OPEN311_RESPONSES, ApiError, first_problem
from gateway.keys import Principal
from gateway.open311_params import check_jurisdiction
from gateway.open311_services import publish_consent
from schemas.common import control_character
from schemas.errors import CommandRejected
from schemas.intake import Source
from schemas.org import Community, OrgDirectory
from whistle.places import placer_for

router = APIRouter(prefix="/open311/v2", tags=["open311"], responses=OPEN311_RESPONSES)

class RequestCreated(BaseModel):
    service_request_id: str
    service_notice: str | None
    account_id: str | None


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
    attribute_publish_consent: Annotated[
        str | None, Form(alias="attribute[publish_consent]", max_length=10)
    ] = None,
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
    """File a service request: a new case. Only ``service_code`` and a place (``lat``/``long`` or
    ``address_string``) are needed; a request without a name is the anonymous resident's (匿名居民), one without
    ``phone`` has no number to call back. The attributes are the service definition's
    (``gateway.open311_services``). The server numbers and dates it; with an ``Idempotency-Key`` header a retried
    POST files it once."""
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
    check_jurisdiction(gateway, jurisdiction_id)
    media_url = _https_url(media_url)
    consent = publish_consent(attribute_publish_consent)
    category = next((c for c in gateway.directory.categories if c.code == service_code), None)
    if category is None:
        raise ApiError(400, "service_code", f"unknown service_code {service_code!r}")
    if (lat is None or long is None) and not address_string:
        raise ApiError(400, "lat", "lat and long, or address_string, are required")
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
    reporter: dict[str, Any] = {"name": name[:50]}
    if phone and phone.strip():  # FixMyStreet and web forms send an empty phone for none
        reporter["phone"] = phone.replace(" ", "")
    if email and email.strip():  # kept with the name and phone, to hear back by e-mail (never in Temporal)
        reporter["email"] = email.strip()
    if consent is not None:
        reporter["publish_consent"] = consent
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
                "reporter": reporter,
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

