"""The JSON API: file a complaint, send every command, read status and history.

Each command is ``POST /api/v1/complaints/{id}/<command>`` with the command's own fields; who acts is never
in the body (a body naming an ``actor`` is refused) but taken from the API key, after the checks in
``gateway.access``. The case then checks it again, so a refusal there is ``409`` with the decider's reason.
A command's check reads the case's community from Temporal's record of the workflow (``describe``), never by a
query, so sending one runs exactly one workflow task: the Update's. The reads (status, history) answer with
the case's view and so ask the workflow for it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, create_model

from activities.log import get_logger
from activities.publication import Publication
from activities.resident_messages import ResidentNotifications
from gateway import access, filing, merging
from gateway.context import Gateway, GatewayDep, PrincipalDep
from gateway.errors import ERROR_RESPONSES, ApiError
from gateway.keys import ORGANISATION_ROLES, Principal
from schemas.actors import Actor
from schemas.commands import COMMANDS, CaseCommand, MergeCase
from schemas.common import Code, LongText, ShortText
from schemas.erasure import PersonalDataErased
from schemas.errors import CommandRejected
from schemas.intake import Reporter
from schemas.publication import PublishCase, UnpublishCase
from schemas.rates import Report, ReportGroupBy
from schemas.state import Stage
from schemas.view import CaseView
from whistle.case_list import CaseSummary

router = APIRouter(prefix="/api/v1", tags=["complaints"], responses=ERROR_RESPONSES)

ComplaintIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$", description="The complaint id.")]
IdempotencyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=100,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="Resend with the same key after a lost answer: the request is applied once.",
    ),
]
PAGE_LIMIT = 200
"""The most cases one list answer carries."""


class Body(BaseModel):
    """A command's fields as sent over HTTP: strict, so an ``actor`` (or any other stray field) is refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def body_of(model: type[CaseCommand]) -> type[Body]:
    """The command's HTTP body: every field of the command but ``type`` and ``actor`` (the key is the actor). A
    command a department sends about its own part may leave ``department`` out: it is the key's."""
    fields: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if name in ("type", "actor"):
            continue
        if name == "department" and "department" in model.actors:
            fields[name] = (Code | None, Field(default=None, description="Defaults to the key's department."))
        else:
            fields[name] = (field.annotation, field)
    body: type[Body] = create_model(f"{model.__name__}Body", __base__=Body, __doc__=model.__doc__, **fields)
    return body


@router.post("/complaints", response_model=merging.FilingAnswer, status_code=201, summary="File a complaint")
async def submit(
    body: filing.FilingBody,
    principal: PrincipalDep,
    gateway: GatewayDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> merging.FilingAnswer:
    """File a complaint (立案). The same ``complaint_id`` twice answers 200 with the existing case
    (``duplicate: true``); the same id with a different body is 409. A resident's key files for that resident, who
    alone may then rate or withdraw it; the server numbers it, dates it now, and takes it as ``normal`` urgency from
    the resident app (``gateway.filing``). ``source`` defaults by the key's role, ``reported_at`` to now;
    ``community`` and ``grid`` may be left out when ``location`` has coordinates (the grid whose boundary holds
    them takes the case). The answer
    lists ``possible_duplicates``: open cases the key may read that may report the same problem (工单合并)."""
    now = datetime.now(UTC)
    intake = filing.settle(filing.placed(body, gateway.directory), principal, now)
    access.check_filing(principal, intake.community)
    result = await filing.file(gateway, principal, intake, idempotency_key, now)
    if result.duplicate:
        response.status_code = 200
    return await merging.answer_filing(gateway, principal, intake, result)


@router.get("/complaints/{complaint_id}", response_model=CaseView, summary="A case at a glance")
async def status(complaint_id: ComplaintIdPath, principal: PrincipalDep, gateway: GatewayDep) -> CaseView:
    access.check_read(principal, await gateway.scope(complaint_id))
    return await gateway.ask(gateway.client.status(complaint_id))


@router.get("/complaints/{complaint_id}/history", summary="The case's timeline in domain words")
async def history(complaint_id: ComplaintIdPath, principal: PrincipalDep, gateway: GatewayDep) -> list[dict[str, Any]]:
    access.check_read(principal, await gateway.scope(complaint_id))
    return await gateway.ask(gateway.client.history(complaint_id))


def build_command(model: type[CaseCommand], body: Body, actor: Actor, department: str | None) -> CaseCommand:
    """The SDK command from the HTTP body and the key's actor; a ``ValidationError`` becomes 422."""
    fields: dict[str, Any] = body.model_dump(exclude_none=True)
    if "department" in model.model_fields and department is not None:
        fields["department"] = fields.get("department", department)
    return model.model_validate({**fields, "actor": actor})


def _command_route(model: type[CaseCommand]) -> None:
    async def send(
        complaint_id: ComplaintIdPath,
        body: Body,
        principal: PrincipalDep,
        gateway: GatewayDep,
        idempotency_key: IdempotencyHeader = None,
    ) -> CaseView:
        department = getattr(body, "department", None)
        actor = access.check_command(principal, model, await gateway.scope(complaint_id), department)
        if model is MergeCase:  # the primary must be the key's to read too
            await merging.check_primary_reach(gateway, principal, str(body.model_dump()["into"]))
        key_department = principal.subject if principal.role == "department" else None
        command = build_command(model, body, actor, department or key_department)
        update_id = f"{principal.key_id}:{idempotency_key}" if idempotency_key else None  # one caller's keys
        return await gateway.ask(gateway.client.execute(complaint_id, command, update_id=update_id))

    send.__annotations__["body"] = body_of(model)  # FastAPI reads the body's model from the annotation
    name = model.name()
    router.add_api_route(
        f"/complaints/{{complaint_id}}/{name.replace('_', '-')}",
        send,
        methods=["POST"],
        response_model=CaseView,
        summary=model.label,
        description=f"{model.__doc__}\n\nSent by: {', '.join(model.actors)} keys.",
        name=name,
        operation_id=f"command_{name}",
    )


for _model in COMMANDS.values():
    _command_route(_model)


class PublishBody(Body):
    public_title: ShortText = Field(description="The public title: the moderator's words, no names or home address.")
    public_description: LongText


class UnpublishBody(Body):
    reason: ShortText


class PublicationView(BaseModel):
    """What the public sees of the case now (``published`` false: nothing)."""

    complaint_id: str
    published: bool
    public_title: str | None = None
    public_description: str | None = None
    published_at: datetime | None = None


def publication_view(complaint_id: str, shown: Publication | None) -> PublicationView:
    if shown is None:
        return PublicationView(complaint_id=complaint_id, published=False)
    return PublicationView(
        complaint_id=complaint_id, published=True, public_title=shown.public_title,
        public_description=shown.public_description, published_at=shown.published_at,
    )  # fmt: skip


@router.post(
    "/complaints/{complaint_id}/publish", response_model=PublicationView, summary="Publish the case (公开)"
)
async def publish(
    complaint_id: ComplaintIdPath, body: PublishBody, principal: PrincipalDep, gateway: GatewayDep
) -> PublicationView:
    """The case's community, first or street secretary publishes it with a public text of their own: keyless
    Open311 reads then show that text, the category, the stage and the grid (never the address or a person)."""
    command = PublishCase(actor=access.check_moderator(principal), **body.model_dump())
    access.check_read(principal, await gateway.scope(complaint_id))
    return publication_view(complaint_id, await gateway.client.publish(complaint_id, command))


@router.post(
    "/complaints/{complaint_id}/unpublish", response_model=PublicationView, summary="Take the case off the public lists"
)
async def unpublish(
    complaint_id: ComplaintIdPath, body: UnpublishBody, principal: PrincipalDep, gateway: GatewayDep
) -> PublicationView:
    command = UnpublishCase(actor=access.check_moderator(principal), reason=body.reason)
    access.check_read(principal, await gateway.scope(complaint_id))
    return publication_view(complaint_id, await gateway.client.publish(complaint_id, command))


@router.get("/complaints/{complaint_id}/reporter", response_model=Reporter, summary="Who filed it (to call back)")
async def reporter(complaint_id: ComplaintIdPath, principal: PrincipalDep, gateway: GatewayDep) -> Reporter:
    """The reporter's name, phone and resident id, for a supervisor or a hotline operator who must call them back.
    Looked up in PostgreSQL through its one function (the case in Temporal holds only a reference), each look-up
    logged with the key that asked and never with what it found; 404 once erased."""
    access.check_contact(principal)
    access.check_read(principal, await gateway.scope(complaint_id))
    found = await gateway.client.reporter(complaint_id)
    get_logger(complaint_id=complaint_id).info("reporter looked up", key_id=principal.key_id, role=principal.role)
    return found


class ResidentNotificationsBody(Body):
    enabled: bool = Field(description="false: the reporter opts out of e-mail and SMS about this case; true: back in.")


@router.put(
    "/complaints/{complaint_id}/resident-notifications",
    response_model=ResidentNotifications,
    summary="Opt the reporter out of (or back into) messages about the case (退订居民通知)",
)
async def set_resident_notifications(
    complaint_id: ComplaintIdPath, body: ResidentNotificationsBody, principal: PrincipalDep, gateway: GatewayDep
) -> ResidentNotifications:
    """The resident (their own case), or the operator, app or supervisor acting for them, records whether the reporter
    hears about the case. The answer lists each message so far: sent, or why not. Nothing already sent is undone."""
    by = access.check_resident_notices(principal)
    access.check_read(principal, await gateway.scope(complaint_id))
    return await gateway.ask(gateway.client.set_resident_notifications(complaint_id, enabled=body.enabled, by=by))


@router.get(
    "/complaints/{complaint_id}/resident-notifications",
    response_model=ResidentNotifications,
    summary="Whether the reporter hears about the case, and what each message became",
)
async def resident_notifications(
    complaint_id: ComplaintIdPath, principal: PrincipalDep, gateway: GatewayDep
) -> ResidentNotifications:
    access.check_resident_notices(principal)
    access.check_read(principal, await gateway.scope(complaint_id))
    return await gateway.ask(gateway.client.resident_notifications(complaint_id))


class EraseBody(Body):
    reason: ShortText = Field(description="Why: the resident's request and its reference. Recorded.")


@router.post(
    "/complaints/{complaint_id}/erase", response_model=PersonalDataErased, summary="Erase personal data (删除个人信息)"
)
async def erase(
    complaint_id: ComplaintIdPath, body: EraseBody, principal: PrincipalDep, gateway: GatewayDep
) -> PersonalDataErased:
    """A supervisor erases the case's personal data for good: the reporter's contact details at once, the free text
    once the case is closed (send it again after closure for that). The answer records who and why, nothing else."""
    by = access.check_eraser(principal)
    access.check_read(principal, await gateway.scope(complaint_id))  # 404 or 503 before anything is erased
    return await gateway.ask(gateway.client.erase(complaint_id, by=by, reason=body.reason))


@router.get("/complaints", response_model=list[CaseSummary], summary="Find cases (read model, keyset pages)")
async def list_cases(
    request: Request,
    response: Response,
    principal: PrincipalDep,
    gateway: GatewayDep,
    stage: Stage | None = None,
    community: Code | None = None,
    grid: Code | None = None,
    department: Code | None = None,
    category: Code | None = None,
    escalated: bool = False,
    overdue: bool = False,
    flagged: bool = False,
    limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT)] = PAGE_LIMIT,
    after: Annotated[str | None, Query(max_length=200)] = None,
) -> list[CaseSummary]:
    """Cases matching every filter, newest first, at most ``limit`` (200); a full page answers a ``Link`` header
    (``rel="next"``) whose ``after`` starts the next page. A key sees only its own part, applied before the limit: a
    department its cases, a community's people their community, a street secretary their street, a resident the
    cases they filed, an operator or integrator those their organisation filed; a supervisor every case."""
    found = await find_cases(
        principal, gateway, stage=stage, community=community, grid=grid, department=department, category=category,
        escalated=escalated, overdue=overdue, flagged=flagged, limit=limit, after=after,
    )  # fmt: skip
    if len(found) == limit:
        response.headers["Link"] = f'<{request.url.include_query_params(after=found[-1].cursor)}>; rel="next"'
    return found


async def find_cases(
    principal: Principal,
    gateway: Gateway,
    *,
    community: Code | None = None,
    department: Code | None = None,
    **filters: Any,
) -> list[CaseSummary]:
    """The list within the key's reach (``access.reach``, in the query); 403 for a filter outside it."""
    if principal.role in ORGANISATION_ROLES and principal.organisation is None:
        raise access.forbid(f"the {principal.role} key {principal.key_id} belongs to no organisation")
    if principal.role == "department" and department not in (None, principal.subject):
        raise access.forbid(f"the key of {principal.subject} lists only its own cases")
    if principal.role in access.PLACE_ROLES and community is not None and community not in principal.communities:
        raise access.forbid(
            f"{principal.role} {principal.subject} lists only {', '.join(sorted(principal.communities))}"
        )
    if principal.role in access.PLACE_ROLES and filters.get("grid") is not None and community is None:
        community = access.community_of_grid(principal, gateway.directory, filters["grid"])  # 403 outside its own
    try:
        return await gateway.client.list(
            community=community, department=department, reach=lambda arguments: access.reach(principal, arguments),
            **filters,
        )
    except CommandRejected as refused:  # a page position that is not one: bad input, not a conflict with a case
        raise ApiError(422, refused.field, refused.reason) from None


@router.get("/reports/{by}", response_model=Report, summary="Rates and the red/black ranking (红黑榜)")
async def report(by: ReportGroupBy, principal: PrincipalDep, gateway: GatewayDep, since: date | None = None) -> Report:
    """Response, resolution and satisfaction rates per community, department or first secretary, ranked.
    Rankings are published (红黑榜), so every key may read them except a resident's."""
    if principal.role == "resident":
        raise access.forbid("a resident key does not read rankings")
    return await gateway.ask(gateway.client.report(by, since=since))
