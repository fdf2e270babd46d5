"""The lifecycle paths the fault suite drives, each with the events it must leave and the outcome it must reach.

Every command goes through ``Driver.send``, which resends on connection errors with the same Update id, so
an Update that reached the server before the connection broke is answered with its first outcome and never
applied twice. Only the two paths whose deadlines are the point use seconds-scale windows.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from schemas.actors import Actor
from schemas.commands import PersonCommand, RecordProgress, WithdrawComplaint
from schemas.events import Outcome
from schemas.fold import fold
from schemas.policy import SlaPolicy
from schemas.view import CaseView, view_of
from tests.chaos.fleet import Fleet
from tests.chaos.measures import Timeline
from tests.chaos.outage import OutageHold
from tests.domain_fixtures import blow, complete, decline, evaluate, order, report_in, verify
from tests.helpers import case_handle, new_intake
from whistle.client import WhistleClient
from whistle.settings import DATA_DIR

T = TypeVar("T")
LEAD, SECOND = "urban_management", "market_regulation"

TRANSIENT = {
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.UNKNOWN,
    RPCStatusCode.CANCELLED,
    RPCStatusCode.INTERNAL,
    RPCStatusCode.RESOURCE_EXHAUSTED,
    RPCStatusCode.ABORTED,
}
"""What a client sees while the server is down or restarting: worth resending, not a verdict."""


def policy_with(**windows: str) -> SlaPolicy:
    """The production policy with some windows replaced (seconds-scale where a path waits for a deadline)."""
    import yaml

    document = yaml.safe_load((DATA_DIR / "policy.yaml").read_text(encoding="utf-8"))
    document["default"].update(windows)
    return SlaPolicy.model_validate(document)


PRODUCTION = policy_with()
LAPSING = policy_with(evaluation="3s")
ESCALATING = policy_with(report_in="4s")


def _with_actor(model: type[PersonCommand], actor: Actor, **fields: Any) -> PersonCommand:
    """A command, with its actor when the command schema carries one."""
    if "actor" in model.model_fields:
        fields["actor"] = actor
    return model.model_validate(fields)


def progress(code: str) -> PersonCommand:
    actor = Actor(kind="department", id=code)
    return _with_actor(RecordProgress, actor, department=code, note="已约谈店主，安装净化器")


def withdraw(intake_resident: str | None) -> PersonCommand:
    actor = Actor(kind="resident", id=intake_resident or "app-10106")
    return _with_actor(WithdrawComplaint, actor, reason="已自行整改")


@dataclass
class Tally:
    """What the drivers did and met."""

    commands: int = 0
    resends: int = 0


@dataclass
class Crew:
    """What every driver shares: the cases filed, the outage hold, the command timeline and the run's clock."""

    fleet: Fleet
    hold: OutageHold
    timeline: Timeline
    clock: Callable[[], float]
    """Seconds since the run began."""


class Driver:
    """Sends one case's commands, resending through outages; ``pause`` spreads a case over the fault window.

    Each command asks the outage hold first and is timed from its first send to its answer, resends included.
    """

    def __init__(
        self, client: WhistleClient, tally: Tally, pause: float, rng: random.Random, crew: Crew, patience: float
    ) -> None:
        self.client = client
        self.tally = tally
        self.pause = pause
        self.rng = rng
        self.crew = crew
        self.patience = patience
        """Seconds a command is resent for before the driver gives up: longer than any outage in the plan."""

    async def patiently(self, attempt: Callable[[], Awaitable[T]], within: float | None = None) -> T:
        """``attempt`` until it does not fail with a connection error, for up to ``within`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.patience if within is None else within)
        while True:
            try:
                return await attempt()
            except RPCError as error:
                if error.status not in TRANSIENT or loop.time() > deadline:
                    raise
            except WorkflowUpdateRPCTimeoutOrCancelledError:
                if loop.time() > deadline:
                    raise
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):  # PostgreSQL is down: file once it's back
                if loop.time() > deadline:
                    raise
            self.tally.resends += 1
            await asyncio.sleep(0.5 + self.rng.random())

    async def send(self, complaint_id: str, command: PersonCommand) -> CaseView:
        await asyncio.sleep(self.rng.random() * self.pause)
        case = self.crew.fleet.cases[complaint_id]
        await self.crew.hold.before_command(case)
        case.commands += 1
        update_id = f"chaos-{uuid.uuid4().hex}"
        self.tally.commands += 1
        sent = self.crew.clock()
        view = await self.patiently(lambda: self.client.execute(complaint_id, command, update_id=update_id))
        in_person = command.actor.kind == "resident"  # matched to the case in PostgreSQL
        self.crew.timeline.command(sent, self.crew.clock() - sent, through_database=in_person)
        return view

    async def file(self, client: WhistleClient | None = None) -> tuple[str, str | None]:
        intake = new_intake()
        filing = client or self.client
        sent = self.crew.clock()
        result = await self.patiently(lambda: filing.submit(intake))
        self.crew.timeline.command(sent, self.crew.clock() - sent, through_database=True)
        self.crew.hold.filed(self.crew.fleet.filed(result.complaint_id, holdable=filing is self.client))
        reporter = intake.reporter.model_dump()
        return result.complaint_id, reporter.get("resident_id")

    async def wait_for(self, complaint_id: str, holds: Callable[[CaseView], bool]) -> None:
        """Poll the case as its history has it (the events its ``store`` activities carry).

        Not the ``status`` query: a query that replays an uncached case right after a worker kill sets off the
        SDK's stale-clock fault (``tests/test_crash_clock.py``), which this suite is not about.
        """
        while True:
            recorded = await self.patiently(lambda: self.client.events(complaint_id))
            if recorded and holds(view_of(fold(r.event for r in recorded))):
                return
            await asyncio.sleep(0.5)  # polling a server, not waiting for a local event

    async def finished(self, complaint_id: str) -> CaseView:
        """The workflow's result: the case is closed and every event is in the store."""
        handle = case_handle(self.client.temporal, complaint_id)
        return await self.patiently(handle.result)


@dataclass(frozen=True)
class Path:
    """One way a case goes; ``drive`` returns the complaint id once its commands are all answered."""

    name: str
    drive: Callable[[Driver, dict[str, WhistleClient]], Awaitable[str]]
    events: tuple[str, ...]
    outcome: Outcome


async def resolved_in_grid(driver: Driver, _: dict[str, WhistleClient]) -> str:
    case, _resident = await driver.file()
    await driver.send(case, verify(resolved=True))
    await driver.send(case, evaluate("satisfied"))
    return case


async def two_departments(driver: Driver, _: dict[str, WhistleClient]) -> str:
    case, _resident = await driver.file()
    await driver.send(case, verify())
    await driver.send(case, blow(LEAD, SECOND, lead=SECOND))
    for code in (LEAD, SECOND):
        await driver.send(case, report_in(code))
    for code in (LEAD, SECOND):
        await driver.send(case, progress(code))
    for code in (LEAD, SECOND):
        await driver.send(case, complete(code))
    await driver.send(case, evaluate("satisfied"))
    return case


async def declined_and_rerouted(driver: Driver, _: dict[str, WhistleClient]) -> str:
    case, _resident = await driver.file()
    await driver.send(case, verify())
    await driver.send(case, blow(LEAD))
    await driver.send(case, decline(LEAD))
    await driver.send(case, blow(SECOND))
    await driver.send(case, report_in(SECOND))
    await driver.send(case, complete(SECOND))
    await driver.send(case, evaluate("basically_satisfied"))
    return case


async def reopened_once(driver: Driver, _: dict[str, WhistleClient]) -> str:
    case, _resident = await driver.file()
    await driver.send(case, verify())
    await driver.send(case, blow(LEAD))
    await driver.send(case, report_in(LEAD))
    await driver.send(case, complete(LEAD))
    await driver.send(case, evaluate("unsatisfied"))
    await driver.send(case, complete(LEAD))
    await driver.send(case, evaluate("satisfied"))
    return case


async def withdrawn(driver: Driver, _: dict[str, WhistleClient]) -> str:
    case, resident = await driver.file()
    await driver.send(case, verify())
    await driver.send(case, blow(LEAD))
    await driver.send(case, withdraw(resident))
    return case


async def rating_lapses(driver: Driver, clients: dict[str, WhistleClient]) -> str:
    case, _resident = await driver.file(clients["lapsing"])
    await driver.send(case, verify())
    await driver.send(case, blow(LEAD))
    await driver.send(case, report_in(LEAD))
    await driver.send(case, complete(LEAD))
    return case  # nobody rates it: the three-second window closes the case


async def escalated_and_ordered_in(driver: Driver, clients: dict[str, WhistleClient]) -> str:
    case, _resident = await driver.file(clients["escalating"])
    await driver.send(case, verify())
    await driver.send(case, blow(LEAD))
    await driver.wait_for(case, lambda view: view.escalation_level == 1)
    # No pause from here to the report-in: the order restarts a four-second report-in window.
    update_id = f"chaos-{uuid.uuid4().hex}"
    await driver.patiently(lambda: driver.client.execute(case, order(LEAD), update_id=update_id))
    again = f"chaos-{uuid.uuid4().hex}"
    await driver.patiently(lambda: driver.client.execute(case, report_in(LEAD), update_id=again))
    await driver.send(case, complete(LEAD))
    await driver.send(case, evaluate("satisfied"))
    return case


PATHS = (
    Path("resolved_in_grid", resolved_in_grid,
         ("ComplaintFiled", "GridVerified", "ResolvedInGrid", "ResidentEvaluated", "CaseClosed"), "satisfied"),
    Path("two_departments", two_departments,
         ("ComplaintFiled", "GridVerified", "WhistleBlown", "DepartmentReportedIn", "DepartmentReportedIn",
          "ProgressRecorded", "ProgressRecorded", "PartCompleted", "PartCompleted", "HandlingCompleted",
          "ResidentEvaluated", "CaseClosed"), "satisfied"),
    Path("declined_and_rerouted", declined_and_rerouted,
         ("ComplaintFiled", "GridVerified", "WhistleBlown", "DepartmentDeclined", "WhistleBlown",
          "DepartmentReportedIn", "PartCompleted", "HandlingCompleted", "ResidentEvaluated", "CaseClosed"),
         "basically_satisfied"),
    Path("reopened_once", reopened_once,
         ("ComplaintFiled", "GridVerified", "WhistleBlown", "DepartmentReportedIn", "PartCompleted",
          "HandlingCompleted", "ResidentEvaluated", "CaseReopened", "PartCompleted", "HandlingCompleted",
          "ResidentEvaluated", "CaseClosed"), "satisfied"),
    Path("withdrawn", withdrawn,
         ("ComplaintFiled", "GridVerified", "WhistleBlown", "CaseWithdrawn", "CaseClosed"), "withdrawn"),
    Path("rating_lapses", rating_lapses,
         ("ComplaintFiled", "GridVerified", "WhistleBlown", "DepartmentReportedIn", "PartCompleted",
          "HandlingCompleted", "EvaluationLapsed", "CaseClosed"), "unevaluated"),
    Path("escalated_and_ordered_in", escalated_and_ordered_in,
         ("ComplaintFiled", "GridVerified", "WhistleBlown", "ReportInOverdue", "EscalatedToFirstSecretary",
          "DirectiveIssued", "DepartmentReportedIn", "PartCompleted", "HandlingCompleted", "ResidentEvaluated",
          "CaseClosed"), "satisfied"),
)  # fmt: skip
