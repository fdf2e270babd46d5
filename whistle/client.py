"""The Whistle SDK: the one place that talks to a case. The CLI, the demo and the gateway all use it.

It checks an intake against the org directory before anything starts, settles the complaint id, freezes
the SLA policy and the working-day calendar into the case's input, and turns a rejected Update back into
the domain's ``CommandRejected`` so callers see the field and the reason.

Past 300 lines: ``WhistleClient`` is the SDK's whole surface (file, command, read, list, report, publish,
erase); its pieces of work live elsewhere (``activities/``, ``schemas/``) and each method is short.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities import erasure, hotspots, personal_data, publication, rates, registry, resident_messages
from activities.calendar import calendar_for_filing
from activities.duplicates import DuplicateCandidate, Reach
from activities.event_store import Pool, apply_migrations, create_pool, load_case, load_events
from activities.files import load_directory, load_policy
from activities.grid_counts import GridCount, count_by_grid
from activities.log import get_logger
from activities.photo_store import PhotoStore
from activities.publication import Publication
from activities.resident_messages import ResidentNotifications
from schemas.calendar import CHINA_TIME
from schemas.commands import (
    CaseCommand,
    DeclineCase,
    MergeCase,
    Recategorise,
)
from schemas.common import Model
from schemas.erasure import PersonalDataErased
from schemas.errors import CommandRejected
from schemas.events import CaseRecategorised, ComplaintFiled, RecordedEvent
from schemas.evidence import Photo
from schemas.hotspots import HotspotBy, HotspotQuery, HotspotReport, HotspotShow
from schemas.intake import (
    CaseIntake,
    ComplaintInput,
    ComplaintIntake,
    Reporter,
    ReporterReference,
    check_not_future,
)
from schemas.org import CaseContext, OrgDirectory
from schemas.policy import SlaPolicy, Urgency
from schemas.publication import PublishCase, UnpublishCase, decide_publication
from schemas.rates import Report, ReportGroupBy
from schemas.rules.authority import RESIDENT_ONLY
from schemas.rules.category import CategoryResolution, ResolvedRecategorise
from schemas.state import CaseState, Stage
from schemas.view import CaseView, view_of
from whistle import merging
from whistle.case_list import MOST_LISTED, CaseFilter, CaseSummary, Cursor, list_cases
from whistle.photos import ensure_stored, photo_store
from whistle.places import placer_for
from whistle.recorded import recorded_in
from whistle.settings import Settings
from workflows import search_attributes
from workflows.complaint import ComplaintWorkflow


class CaseNotFound(Exception):
    """No case has this complaint id."""

    def __init__(self, complaint_id: str) -> None:
        super().__init__(f"complaint_id: no case {complaint_id!r}")
        self.complaint_id = complaint_id


@dataclass(frozen=True)
class CasePlacement:
    """What access to a case turns on: its community (fixed at filing) and the departments it has summoned."""

    community: str
    departments: frozenset[str]


class SubmitResult(Model):
    """What ``submit`` returns; ``duplicate`` is true when the id was already filed (nothing new started)."""

    complaint_id: str
    workflow_id: str
    run_id: str
    duplicate: bool


UNREADY_RESENDS = (0.5, 1.0, 2.0, 4.0)
"""Seconds before each resend of a command the server turned away because its workflow task failed."""


def _workflow_not_ready(error: RPCError) -> bool:
    """The server aborted the Update with its workflow task (a worker died mid-task): nothing was recorded."""
    return any(detail.type_url.endswith(".WorkflowNotReadyFailure") for detail in error.grpc_status.details)


def _registered(filing: registry.Filing) -> SubmitResult:
    """The existing case a bound filing names: read from the registry, so it answers after Temporal's retention too."""
    assert filing.run_id is not None
    workflow_id = filing.workflow_id or workflow_id_for(filing.complaint_id)
    return SubmitResult(complaint_id=filing.complaint_id, workflow_id=workflow_id, run_id=filing.run_id, duplicate=True)


def workflow_id_for(complaint_id: str) -> str:
    return f"complaint-{complaint_id}"


def new_complaint_id(now: datetime) -> str:
    """A generated id for integrators that have no ticket number of their own."""
    return f"WH-{now:%Y%m%d}-{uuid.uuid4().hex[:10]}"


def timeline_entry(recorded: RecordedEvent) -> dict[str, Any]:
    """One line of a case's history in domain words; the filing is summarised without personal data."""
    event = recorded.event
    if isinstance(event, ComplaintFiled):
        intake = event.case.intake
        body: dict[str, Any] = {
            **event.model_dump(mode="json", include={"type", "at", "verify_due"}),
            **intake.model_dump(
                mode="json", include={"title", "source", "community", "grid", "category", "urgency", "photos"}
            ),
        }
    elif isinstance(event, CaseRecategorised):  # the category by its code; its windows are the policy's to read
        body = {**event.model_dump(mode="json", exclude={"policy"}), "category": event.category.code}
    else:
        body = event.model_dump(mode="json")
    return {"seq": recorded.seq, **body}


class WhistleClient:
    """A typed async client for integrators: file complaints, send commands, read status and history."""

    def __init__(
        self,
        temporal: Client,
        *,
        task_queue: str,
        directory: OrgDirectory,
        policy: SlaPolicy,
        database_url: str | None = None,
        pool: Pool | None = None,
        photos: PhotoStore | None = None,
    ) -> None:
        """``database_url`` (or an open ``pool``, which the caller keeps and closes) is needed by ``report``, and
        turns on the filing registry in ``submit``; commands, status and history need Temporal only. ``photos`` is
        the object store photos are uploaded to and checked against (without it, nothing with a photo is sent)."""
        self.temporal = temporal
        self.task_queue = task_queue
        self.directory = directory
        self.policy = policy
        self.database_url = database_url
        self._pool = pool
        self.photos = photos
        self._owns_pool = False
        self._opening = asyncio.Lock()

    @classmethod
    def from_settings(cls, temporal: Client, settings: Settings, *, database_url: str | None = None) -> WhistleClient:
        """A client using the directory and policy files the settings name (and their database, unless given)."""
        return cls(
            temporal,
            task_queue=settings.task_queue,
            directory=load_directory(settings.org),
            policy=load_policy(settings.policy),
            database_url=database_url or settings.database_url,
            photos=photo_store(settings),
        )

    def with_policy(self, policy: SlaPolicy) -> WhistleClient:
        """A client on the same connections (and database) that files new cases under ``policy``."""
        return WhistleClient(
            self.temporal, task_queue=self.task_queue, directory=self.directory, policy=policy,
            database_url=self.database_url, pool=self._pool, photos=self.photos,
        )  # fmt: skip

    async def upload_photo(self, data: bytes) -> Photo:
        """Put a photo in the object store and return the reference an intake or a command carries: the SDK's upload
        step, which comes first, since a case checks a reference but cannot look at the store. Content-addressed, so
        sending the same bytes again is harmless. ``CommandRejected`` on ``photos`` for no picture, an empty one or
        one past ``MAX_PHOTO_BYTES`` (10 MiB); the type is judged from the bytes."""
        if self.photos is None:
            raise CommandRejected("photos", "this client has no photo store")
        return await self.photos.put(data)

    async def photo(self, sha256: str) -> bytes | None:
        """The bytes of a stored photo, or None. Callers decide who may see it (the gateway: who may read a case
        that carries it)."""
        return None if self.photos is None else await self.photos.get(sha256)

    async def case_photos(self, complaint_id: str) -> tuple[Photo, ...]:
        """Every photo the case carries, the filing's first: from its workflow (so a photo attached a moment ago is
        there), past Temporal's retention from the read model. ``CaseNotFound`` when neither knows the case."""
        try:
            return (await self.state(complaint_id)).all_photos()
        except CaseNotFound:
            stored = await load_case(await self._database(), complaint_id) if self._has_database else None
            if stored is None:
                raise
            return stored.all_photos()

    async def close(self) -> None:
        """Close the database pool this client opened (a pool passed in is left open)."""
        if self._pool is not None and self._owns_pool:
            await self._pool.close()
            self._pool = None
            self._owns_pool = False

    def place(self, latitude: float, longitude: float) -> tuple[str, str]:
        """The (community, grid) whose boundary holds the point, to file a complaint found by its coordinates;
        ``CommandRejected`` naming ``location`` when it lies in no grid (``whistle/places.py``)."""
        return placer_for(self.directory).place(latitude, longitude)

    def settle(self, intake: ComplaintIntake, now: datetime) -> tuple[ComplaintIntake, CaseContext]:
        """``intake`` with its complaint id settled, and its slice of the directory; raises ``CommandRejected`` for
        anything the directory refutes."""
        check_not_future(intake.reported_at, now)
        context = self.directory.context_for(intake.community, intake.grid, intake.category)
        point = intake.location.latitude, intake.location.longitude
        if point[0] is not None and point[1] is not None:
            placer_for(self.directory).confirm(point[0], point[1], intake.community, intake.grid)
        return intake.model_copy(update={"complaint_id": intake.complaint_id or new_complaint_id(now)}), context

    def build_case(self, intake: ComplaintIntake, now: datetime, reporter: ReporterReference) -> ComplaintInput:
        """The workflow input for ``intake``, carrying ``reporter`` (the claim check) in place of the person; raises
        ``CommandRejected`` for anything the directory refutes."""
        settled, context = self.settle(intake, now)
        assert settled.complaint_id is not None
        case_intake = settled.model_dump(exclude={"reporter"}) | {"reporter": reporter}
        return ComplaintInput(
            complaint_id=settled.complaint_id,
            intake=CaseIntake.model_validate(case_intake),
            context=context,
            policy=self.policy.for_case(intake.urgency, intake.category),
            calendar=calendar_for_filing(intake.reported_at),
        )

    async def submit(self, intake: ComplaintIntake, *, now: datetime | None = None) -> SubmitResult:
        """File a complaint. The same ``complaint_id`` twice returns the existing case, never a second one.

        Filing needs the database (``database_url`` or ``pool``). The id is registered first in the filing registry
        (``activities/registry.py``), which outlives Temporal's retention, and the reporter is kept in
        ``personal_data`` (``activities/personal_data.py``): the case carries only a reference to them. A resend
        of the same intake (``registry.body_digest``) returns the case it filed, even after
        Temporal purged it, and starts it if the first attempt registered the id but never reached Temporal; a
        different body raises ``FilingConflict`` (a ``CommandRejected`` on ``complaint_id``) and starts nothing.
        Two concurrent submits of one id start one workflow (Temporal's id-reuse policy picks the winner).
        """
        database = await self._database()
        await ensure_stored(self.photos, intake.photos)
        digest = registry.body_digest(intake)
        now = now or datetime.now(UTC)
        try:
            settled, _ = self.settle(intake, now)
        except CommandRejected:
            # A resent ticket whose details no longer check out (say the directory changed) is still a duplicate.
            if intake.complaint_id is not None and (existing := await self._filed(database, intake, digest)):
                return existing
            raise
        assert settled.complaint_id is not None
        filing = await registry.register(database, settled.complaint_id, digest)
        if filing.run_id is not None:
            return _registered(filing)
        reporter = await personal_data.deposit(database, settled.complaint_id, intake.reporter)
        case = self.build_case(settled, now, reporter)
        workflow_id = workflow_id_for(case.complaint_id)
        attributes = TypedSearchAttributes(
            [
                SearchAttributePair(search_attributes.STAGE, "discovered"),
                SearchAttributePair(search_attributes.COMMUNITY, intake.community),
                SearchAttributePair(search_attributes.GRID, intake.grid),
                SearchAttributePair(search_attributes.CATEGORY, intake.category),
                SearchAttributePair(search_attributes.ESCALATION_LEVEL, 0),
            ]
        )
        try:
            handle = await self.temporal.start_workflow(
                ComplaintWorkflow.run,
                case,
                id=workflow_id,
                task_queue=self.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=attributes,
            )
        except WorkflowAlreadyStartedError:
            existing = await self._existing(case.complaint_id)
            if existing is None:  # started and gone between the two calls: only a retention purge does that
                raise
            await self._bind(database, existing)
            return existing
        started = SubmitResult(
            complaint_id=case.complaint_id, workflow_id=workflow_id, run_id=handle.result_run_id or "", duplicate=False
        )
        await self._bind(database, started)
        return started

    async def _filed(self, database: Pool, intake: ComplaintIntake, digest: str) -> SubmitResult | None:
        """The case an intake the directory now refutes was filed as, if it was (a conflict if with another body)."""
        assert intake.complaint_id is not None
        filing = await registry.lookup(database, intake.complaint_id)
        if filing is not None and filing.body_digest not in (None, digest):
            raise registry.FilingConflict(intake.complaint_id)
        if filing is not None and filing.run_id is not None:
            return _registered(filing)
        return await self._existing(intake.complaint_id)

    async def _bind(self, database: Pool, result: SubmitResult) -> None:
        """Tie the registered id to the run Temporal started. If PostgreSQL fails just now the case still stands:
        its first append binds it, and a resend meanwhile finds the run in Temporal."""
        if not result.run_id:
            return
        try:
            await registry.bind_run(database, result.complaint_id, result.workflow_id, result.run_id)
        except (OSError, asyncpg.PostgresError) as error:
            get_logger(complaint_id=result.complaint_id).warning("filing not bound to its run yet", error=str(error))

    async def execute(self, complaint_id: str, command: CaseCommand, *, update_id: str | None = None) -> CaseView:
        """Send ``command``; returns the case's new view or raises ``CommandRejected`` / ``CaseNotFound``.

        ``update_id`` makes a resend safe: Temporal applies an Update id once per case and answers a repeat
        with the first outcome, so a caller retrying after a lost connection never records a command twice.
        A command whose workflow task was lost (its worker died mid-task) is resent here with the same id.
        """
        update_id = update_id or f"cmd-{uuid.uuid4().hex}"
        await ensure_stored(self.photos, getattr(command, "photos", ()))
        command = await self._as_the_case_knows(complaint_id, command)
        command = await self._completed(complaint_id, command)
        if isinstance(command, MergeCase):
            await merging.check_primary(self.temporal, complaint_id, command.into)
        for pause in (*UNREADY_RESENDS, None):
            try:
                return await self._execute_once(complaint_id, command, update_id)
            except RPCError as error:
                if pause is None or not _workflow_not_ready(error):
                    raise
            await asyncio.sleep(pause)
        raise AssertionError("unreachable")

    async def _as_the_case_knows(self, complaint_id: str, command: CaseCommand) -> CaseCommand:
        """``command`` with a resident acting in person named as the case knows them: by the reference to their
        kept data, never by their resident id, which stays out of Temporal. A resident the case does not know is
        refused here, before anything is sent."""
        if command.actor.kind != "resident":
            return command
        if not self._has_database:
            raise RuntimeError("database: a resident acting in person is matched to their case there; none is set")
        actor_id = await personal_data.resident_actor(await self._database(), complaint_id, command.actor.id)
        if actor_id is None:
            raise CommandRejected("actor", RESIDENT_ONLY)
        return command.model_copy(update={"actor": command.actor.model_copy(update={"id": actor_id})})

    async def _completed(self, complaint_id: str, command: CaseCommand) -> CaseCommand:
        """``command`` as the workflow takes it: a recategorisation with the new category's directory entry, routing
        and windows at the case's urgency, resolved from this client's directory and policy as at filing (the
        decider does no I/O). An unknown category, there or proposed by a decline, is refused here naming
        ``category``."""
        if isinstance(command, DeclineCase) and command.category is not None:
            known = sorted(category.code for category in self.directory.categories)
            if command.category not in known:
                raise CommandRejected("category", f"unknown category {command.category!r} (known: {', '.join(known)})")
        if not isinstance(command, Recategorise) or isinstance(command, ResolvedRecategorise):
            return command
        view = await self.status(complaint_id)
        context = self.directory.context_for(view.community, view.grid, command.category)
        urgency: Urgency = "urgent" if view.urgency == "urgent" else "normal"
        resolution = CategoryResolution(
            category=context.category,
            suggested_departments=context.suggested_departments,
            policy=self.policy.for_case(urgency, command.category),
        )
        return ResolvedRecategorise.model_validate({**command.model_dump(), "resolution": resolution})

    async def _execute_once(self, complaint_id: str, command: CaseCommand, update_id: str) -> CaseView:
        handle = self.temporal.get_workflow_handle(workflow_id_for(complaint_id))
        try:
            view: CaseView = await handle.execute_update(
                type(command).name(), command, id=update_id, result_type=CaseView
            )
            return view
        except WorkflowUpdateFailedError as error:
            cause = error.cause
            if isinstance(cause, ApplicationError) and cause.type == "CommandRejected":
                field, reason = cause.details[0], cause.details[1]
                raise CommandRejected(str(field), str(reason)) from None
            raise
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            await self._raise_missing_or_closed(complaint_id)
            raise

    async def publish(
        self, complaint_id: str, command: PublishCase | UnpublishCase, *, now: datetime | None = None
    ) -> Publication | None:
        """A moderator publishes the case (a public title and description of their own) or takes it off the public
        lists; returns what the public now sees of it (None: not public). ``CommandRejected`` names the field when
        the actor may not, the case is not public, or its reporter declined publication; ``CaseNotFound`` for a case
        not in the read model (a case filed a moment ago is there a moment later). Needs the database only."""
        database = await self._database()
        state = await load_case(database, complaint_id)
        if state is None:
            raise CaseNotFound(complaint_id)
        consent = await personal_data.consent_of(database, complaint_id)
        public = await publication.current(database, complaint_id) is not None
        event = decide_publication(state.case.context, public, consent, command, now or datetime.now(UTC))
        await publication.record(database, complaint_id, event)
        return await publication.current(database, complaint_id)

    async def reporter(self, complaint_id: str) -> Reporter:
        """Who filed the case (name, phone, resident id), for an official who must call them back: resolved from the
        claim check at the edge, never from Temporal. ``CaseNotFound`` when none is kept (erased, or no such case).
        Callers decide who may ask (the gateway: supervisors and hotline operators) and say so in their log."""
        contact = await personal_data.contact_of(await self._database(), complaint_id)
        if contact is None:
            raise CaseNotFound(complaint_id)
        return contact

    async def erase(
        self, complaint_id: str, *, by: str, reason: str, now: datetime | None = None
    ) -> PersonalDataErased:
        """Erase the case's personal data for good (a resident's request, PIPL): the reporter's contact details at once,
        and, once the case's workflow has finished, the free text of its stored events and read model (an open case
        keeps its text until it closes: erase it again then). Returns the ``PersonalDataErased`` it recorded, which
        names ``by`` and ``reason`` and nothing erased; ``CaseNotFound`` when PostgreSQL knows no such case."""
        database = await self._database()
        try:
            described = await self.temporal.get_workflow_handle(workflow_id_for(complaint_id)).describe()
            finished = described.status != WorkflowExecutionStatus.RUNNING
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            finished = True  # purged by Temporal's retention long after it closed, or never started
        try:
            return await erasure.erase(
                database, complaint_id, by=by, reason=reason, now=now or datetime.now(UTC), closed=finished
            )
        except erasure.UnknownCase:
            raise CaseNotFound(complaint_id) from None

    async def set_resident_notifications(
        self, complaint_id: str, *, enabled: bool, by: str, now: datetime | None = None
    ) -> ResidentNotifications:
        """The reporter opts out of hearing about the case by e-mail and SMS (``enabled=False``), or back in; ``by``
        (who recorded it: the resident's key, the operator on the phone) is kept. Messages already sent stay sent;
        every later one is recorded ``opted_out`` and not sent. ``CaseNotFound`` for a case PostgreSQL does not
        know. Needs the database only (the workflow is not involved)."""
        database = await self._database()
        if not await resident_messages.case_known(database, complaint_id):
            raise CaseNotFound(complaint_id)
        await resident_messages.set_preference(
            database, complaint_id, enabled=enabled, by=by, now=now or datetime.now(UTC)
        )
        get_logger(complaint_id=complaint_id).info("resident notifications set", enabled=enabled, by=by)
        return await resident_messages.notifications_of(database, complaint_id)

    async def resident_notifications(self, complaint_id: str) -> ResidentNotifications:
        """Whether the reporter hears about the case, and each message so far: sent, or why not (opted out, no
        address, over the rate limit). ``CaseNotFound`` for a case PostgreSQL does not know."""
        database = await self._database()
        if not await resident_messages.case_known(database, complaint_id):
            raise CaseNotFound(complaint_id)
        return await resident_messages.notifications_of(database, complaint_id)

    async def status(self, complaint_id: str) -> CaseView:
        """The case at a glance (answers for closed cases too: past Temporal's retention, from the read model)."""
        handle = self.temporal.get_workflow_handle(workflow_id_for(complaint_id))
        try:
            return await handle.query(ComplaintWorkflow.status)
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
        stored = await load_case(await self._database(), complaint_id) if self._has_database else None
        if stored is None:
            raise CaseNotFound(complaint_id)
        return view_of(stored)

    async def state(self, complaint_id: str) -> CaseState:
        """The whole folded state as the case's workflow holds it now (a query: it needs a worker); for a case
        filed a moment ago, before the read model has it. ``CaseNotFound`` when Temporal knows no such case."""
        handle = self.temporal.get_workflow_handle(workflow_id_for(complaint_id))
        try:
            return await handle.query(ComplaintWorkflow.state)
        except RPCError as error:
            if error.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
                raise CaseNotFound(complaint_id) from None
            raise

    async def placement(
        self, complaint_id: str, *, rpc_timeout: timedelta | None = None, db_timeout: float | None = None
    ) -> CasePlacement:
        """Where the case is and which departments it has summoned, read without running the workflow: from its
        search attributes, which ``describe`` takes from the server's own record of the execution (the workflow
        upserts them in the same task that answers a command, so a department summoned a moment ago is there).

        A query would make a worker replay the case's whole history when it has not cached it; an access check
        before every command or read must not cost that, nor need a live worker. A case Temporal no longer holds
        (past its retention), or one started without the attributes (outside the SDK), is placed from the
        PostgreSQL read model, which keeps it. Raises ``CaseNotFound`` when neither knows the case (a case started
        outside the SDK is known once its first events are stored). ``rpc_timeout`` bounds the Temporal call,
        ``db_timeout`` (seconds) the PostgreSQL one.
        """
        handle = self.temporal.get_workflow_handle(workflow_id_for(complaint_id))
        try:
            described = await handle.describe(rpc_timeout=rpc_timeout)
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            described = None
        if described is not None:
            attributes = described.typed_search_attributes
            community = attributes.get(search_attributes.COMMUNITY)
            if community is not None:
                departments = attributes.get(search_attributes.DEPARTMENTS) or []
                return CasePlacement(community=community, departments=frozenset(departments))
        stored = await self._stored_placement(complaint_id, within=db_timeout) if self._has_database else None
        if stored is None:
            raise CaseNotFound(complaint_id)
        return stored

    async def _stored_placement(self, complaint_id: str, *, within: float | None) -> CasePlacement | None:
        row = await (await self._database()).fetchrow(
            "select community, departments from complaints where complaint_id = $1", complaint_id, timeout=within
        )
        if row is None:
            return None
        return CasePlacement(community=row["community"], departments=frozenset(row["departments"]))

    async def events(self, complaint_id: str) -> list[RecordedEvent]:
        """The case's domain events, read from its Temporal history (what its appends recorded); past Temporal's
        retention, from the event store (what the history recorded, the store trailing it)."""
        handle = self.temporal.get_workflow_handle(workflow_id_for(complaint_id))
        try:
            return (await recorded_in(handle, self.temporal.data_converter)).events
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
        stored = await load_events(await self._database(), complaint_id) if self._has_database else []
        if not stored:
            raise CaseNotFound(complaint_id)
        return stored

    async def history(self, complaint_id: str) -> list[dict[str, Any]]:
        """The case's timeline in domain words: ``[{seq, at, type, ...}]``."""
        return [timeline_entry(recorded) for recorded in await self.events(complaint_id)]

    async def duplicates(self, complaint_id: str, *, reach: Reach | None = None) -> list[DuplicateCandidate]:
        """Open cases that may report the same problem as this one (工单合并): same category and grid, filed within
        its policy's ``duplicate_window``, within ``duplicate_distance_m`` when both have coordinates; the closest in
        time first. From the read model (a case filed a moment ago is there a moment later); ``reach`` narrows them to
        what the caller may see. ``CaseNotFound`` for a case the read model does not hold."""
        database = await self._database()
        state = await load_case(database, complaint_id)
        if state is None:
            raise CaseNotFound(complaint_id)
        return await merging.suggest(
            database, state.case.intake, state.case.policy, state.filed_at, exclude=complaint_id, reach=reach
        )

    async def duplicates_of(
        self,
        intake: ComplaintIntake,
        *,
        filed_at: datetime | None = None,
        exclude: str = "",
        reach: Reach | None = None,
    ) -> list[DuplicateCandidate]:
        """The likely duplicates of an intake, filed or about to be (``exclude``: its own id once filed), under the
        policy it is (or would be) filed with."""
        policy = self.policy.for_case(intake.urgency, intake.category)
        when = filed_at or datetime.now(UTC)
        return await merging.suggest(await self._database(), intake, policy, when, exclude=exclude, reach=reach)

    async def grid_counts(self, *, reach: Reach | None = None, now: datetime | None = None) -> list[GridCount]:
        """Open, overdue and escalated cases per grid (网格), as the dashboard's map colours them: every grid that
        holds an open case ``reach`` lets the caller see. Overdue as the lists' ``overdue`` filter means it, at
        ``now``. From the PostgreSQL read model (``activities.grid_counts``)."""
        return await count_by_grid(await self._database(), now=now or datetime.now(UTC), reach=reach)

    async def list(
        self,
        *,
        stage: Stage | None = None,
        community: str | None = None,
        grid: str | None = None,
        department: str | None = None,
        category: str | None = None,
        escalated: bool = False,
        overdue: bool = False,
        flagged: bool = False,
        limit: int = MOST_LISTED,
        after: str | None = None,
        now: datetime | None = None,
        reach: Reach | None = None,
    ) -> list[CaseSummary]:
        """Cases matching every given filter, newest filing first, at most ``limit`` (200), from the PostgreSQL read
        model (so the client needs ``database_url`` or ``pool``).

        ``escalated``: escalation level above 0 now; ``flagged``: under leader supervision (重点督办); ``overdue``:
        the next deadline is before ``now``. ``after``: the ``cursor`` of the last case of the previous page, for
        the next one. ``reach``: the SQL condition that limits the cases to a caller's own (the gateway's keys).
        The read model trails the history by the store's lag: a change made a moment ago shows once it is stored.
        """
        case_filter = CaseFilter(
            stage=stage, community=community, grid=grid, department=department, category=category,
            escalated=escalated, overdue=overdue, flagged=flagged,
        )  # fmt: skip
        try:
            position = None if after is None else Cursor.parse(after)
        except ValueError as error:
            raise CommandRejected("after", str(error)) from None
        return await list_cases(
            await self._database(), case_filter, now=now or datetime.now(UTC), limit=limit, after=position, reach=reach
        )

    async def report(self, by: ReportGroupBy, *, since: date | None = None, now: datetime | None = None) -> Report:
        """Rates and the red/black ranking per community, department or first secretary (``first_secretary``).

        ``since``: only cases filed on or after that day (Beijing time). Read from the PostgreSQL read models,
        so the client needs ``database_url`` or ``pool``.
        """
        return await rates.build_report(await self._database(), by, since=since, now=now or datetime.now(UTC))

    async def hotspots(
        self,
        *,
        by: HotspotBy | str = "grid",
        since: date | str | None = None,
        show: HotspotShow | str = "recurring",
        now: datetime | None = None,
        reach: Reach | None = None,
    ) -> HotspotReport:
        """Complaints per place (``grid`` or ``community``), category and month from ``since`` (Beijing date; absent:
        the policy's ``hotspot.window_months``), the recurring ones ranked and those the policy's ``hotspot`` rule
        flags for proactive governance (主动治理) marked; ``show``: recurring, flagged or all. Merged reports count
        once, as their case. A bad ``by``, ``show`` or ``since`` (unreadable, in the future, more than 120 months
        back) raises a pydantic ``ValidationError`` naming it. From the read model; ``reach`` narrows the cases
        counted to what the caller may see."""
        now = now or datetime.now(UTC)
        query = HotspotQuery.model_validate(
            {"by": by, "since": since, "show": show}, context={"today": now.astimezone(CHINA_TIME).date()}
        )
        return await hotspots.build_hotspots(
            await self._database(), query, rule=self.policy.hotspot, directory=self.directory, now=now, reach=reach
        )

    @property
    def _has_database(self) -> bool:
        return self._pool is not None or self.database_url is not None

    async def _database(self) -> Pool:
        async with self._opening:  # concurrent first calls (the demo files its cases at once) share one pool
            return await self._open_database()

    async def _open_database(self) -> Pool:
        if self._pool is None:
            if self.database_url is None:
                raise RuntimeError("database: this client has no database_url, which filing and reports need")
            pool = await create_pool(self.database_url)
            try:
                await apply_migrations(pool)  # the registry may be newer than the database (no worker started yet)
            except BaseException:
                await pool.close()
                raise
            self._pool, self._owns_pool = pool, True
        return self._pool

    async def _existing(self, complaint_id: str) -> SubmitResult | None:
        workflow_id = workflow_id_for(complaint_id)
        try:
            described = await self.temporal.get_workflow_handle(workflow_id).describe()
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return None
            raise
        return SubmitResult(complaint_id=complaint_id, workflow_id=workflow_id, run_id=described.run_id, duplicate=True)

    async def _raise_missing_or_closed(self, complaint_id: str) -> None:
        try:
            described = await self.temporal.get_workflow_handle(workflow_id_for(complaint_id)).describe()
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                raise CaseNotFound(complaint_id) from None
            raise
        if described.status != WorkflowExecutionStatus.RUNNING:
            raise CommandRejected("stage", "the case is closed")
