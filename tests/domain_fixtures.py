"""Helpers for the domain tests: the shipped directory and policy, a case, a fixed clock, decide-and-fold.

Everything here is pure: no Temporal, no database. The calendar is written by hand (the 2025 National Day
week and its two make-up Saturdays/Sundays) so working-day deadlines are known without the calendar package.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from activities.files import load_directory, load_policy
from schemas.actors import Actor
from schemas.calendar import CHINA_TIME, WorkCalendar
from schemas.commands import (
    BlowWhistle,
    Command,
    CompletePart,
    DeadlineKind,
    DeclineCase,
    EvaluateOutcome,
    IssueDirective,
    Rating,
    ReachDeadline,
    ReportIn,
    VerifyComplaint,
)
from schemas.common import parse_duration
from schemas.events import ComplaintFiled, Event
from schemas.fold import apply, start
from schemas.intake import CaseIntake, ComplaintInput, ComplaintIntake, ReporterReference
from schemas.org import OrgDirectory
from schemas.policy import SlaPolicy, Urgency
from schemas.rules.decider import decide, file_complaint
from schemas.state import CaseState
from whistle.places import fill_place
from whistle.settings import DATA_DIR

ORG_FILE = DATA_DIR / "org.yaml"
POLICY_FILE = DATA_DIR / "policy.yaml"
DEMO_POLICY_FILE = DATA_DIR / "demo_policy.yaml"
SEEDS_FILE = DATA_DIR / "seeds.yaml"

NOW = datetime(2025, 9, 22, 9, 0, tzinfo=CHINA_TIME)
"""Monday 22 September 2025, 09:00 in China: a week before the National Day holiday."""

CALENDAR = WorkCalendar(
    years=(2025,),
    holidays=(date(2025, 10, 1), date(2025, 10, 2), date(2025, 10, 3), date(2025, 10, 6), date(2025, 10, 7),
              date(2025, 10, 8)),
    workdays=(date(2025, 9, 28), date(2025, 10, 11)),
)
"""National Day and Mid-Autumn 2025: 1-8 October off, Sunday 28 September and Saturday 11 October worked."""

COMMUNITY = "hongqi"
GRID = "hongqi_1"
LATITUDE, LONGITUDE = 41.7962, 123.3385
"""A point in grid hongqi_1's boundary (``whistle/data/org.yaml``): an intake's coordinates must lie in its grid."""
CATEGORY = "cooking_fumes"
DEPARTMENTS = ("urban_management", "market_regulation", "justice_office")
"""What routing suggests for cooking fumes, lead first: the integrated enforcement team."""

GRID_WORKER = "gw-hongqi-1"
OTHER_GRID_WORKER = "gw-hongqi-3"
"""A grid worker of the same community but another grid (hongqi_2)."""
SECRETARY = "sec-hongqi"
FIRST_SECRETARY = "fs-hongqi"
STREET_SECRETARY = "ss-gongren"
OTHER_FIRST_SECRETARY = "fs-anju"
OTHER_SECRETARY = "sec-anju"
RESIDENT = "app-10106"
"""The reporter's id in the integrator's app (``reporter.resident_id``)."""
OPERATOR = "op-12345-01"


@cache
def directory() -> OrgDirectory:
    return load_directory(ORG_FILE)


@cache
def policy() -> SlaPolicy:
    return load_policy(POLICY_FILE)


@cache
def demo_policy() -> SlaPolicy:
    return load_policy(DEMO_POLICY_FILE)


def seeds() -> list[dict[str, Any]]:
    """The seed scenarios (each ``{key, path, summary_zh, departments, intake}``), placed as the demo places them."""
    loaded: list[dict[str, Any]] = yaml.safe_load(Path(SEEDS_FILE).read_text(encoding="utf-8"))
    return [{**seed, "intake": fill_place(seed["intake"], directory())} for seed in loaded]  # as the demo files


def later(**delta: float) -> datetime:
    """``NOW`` plus a span, e.g. ``later(hours=25)``."""
    return NOW + timedelta(**delta)


def make_intake(**overrides: Any) -> ComplaintIntake:
    """A valid intake (a cooking-fume complaint in grid hongqi_1), with any field replaced."""
    fields: dict[str, Any] = {
        "source": "hotline",
        "community": COMMUNITY,
        "grid": GRID,
        "category": CATEGORY,
        "title": "楼下烧烤店油烟直排扰民",
        "description": "红旗社区15号楼一楼烧烤店油烟直排，楼上住户不敢开窗。",
        "location": {"address": "兴工区红旗社区15号楼底商", "latitude": LATITUDE, "longitude": LONGITUDE},
        "reporter": {"name": "苏慧敏", "phone": "13000000106", "resident_id": RESIDENT},
        "reported_at": NOW.isoformat(),
    }
    if ("community" in overrides or "grid" in overrides) and "location" not in overrides:
        fields["location"] = {"address": fields["location"]["address"]}  # the point is in hongqi_1: left out
    fields.update(overrides)
    return ComplaintIntake.model_validate(fields)


def make_case(
    *,
    category: str = CATEGORY,
    community: str = COMMUNITY,
    grid: str = GRID,
    urgency: Urgency = "normal",
    sla: SlaPolicy | None = None,
    complaint_id: str = "t-0001",
    intake: ComplaintIntake | None = None,
    reporter: ReporterReference | None = None,
) -> ComplaintInput:
    """The workflow input a case is filed with: the intake, its slice of the directory, policy and calendar.

    The case carries ``reporter`` (the claim check, as the SDK files it) when given, else the intake's reporter
    itself as cases filed before the claim check do: the domain's rules read a resident acting in person the same
    way in both (``RESIDENT`` here, the reference there), so the decider's tests act as ``resident()``."""
    if intake is None:
        intake = make_intake(category=category, community=community, grid=grid, urgency=urgency)
    context = directory().context_for(intake.community, intake.grid, intake.category)
    case_policy = (sla or policy()).for_case(intake.urgency, intake.category)
    carried = CaseIntake.model_validate(intake.model_dump() | ({"reporter": reporter} if reporter else {}))
    return ComplaintInput(
        complaint_id=complaint_id, intake=carried, context=context, policy=case_policy, calendar=CALENDAR
    )


def new_case(case: ComplaintInput | None = None, now: datetime = NOW) -> CaseState:
    """A case just filed: stage ``discovered``, the verify clock running."""
    (filed,) = file_complaint(case or make_case(), now)
    assert isinstance(filed, ComplaintFiled)
    return start(filed)


def apply_all(state: CaseState, events: Iterable[Event]) -> CaseState:
    for event in events:
        state = apply(state, event)
    return state


def run(state: CaseState, command: Command, now: datetime = NOW) -> CaseState:
    """Decide ``command`` at ``now`` and fold what it decided: the state a workflow would hold next."""
    return apply_all(state, decide(state, command, now))


def run_all(state: CaseState, commands: Iterable[Command], now: datetime = NOW) -> CaseState:
    for command in commands:
        state = run(state, command, now)
    return state


# Actors, and commands spelled the way the tests read them.


def grid_worker(person: str = GRID_WORKER) -> Actor:
    return Actor(kind="grid_worker", id=person)


def secretary(person: str = SECRETARY) -> Actor:
    return Actor(kind="community_secretary", id=person)


def first_secretary(person: str = FIRST_SECRETARY) -> Actor:
    return Actor(kind="first_secretary", id=person)


def street_secretary(person: str = STREET_SECRETARY) -> Actor:
    return Actor(kind="street_secretary", id=person)


def department(code: str) -> Actor:
    return Actor(kind="department", id=code)


def resident(person: str = RESIDENT) -> Actor:
    return Actor(kind="resident", id=person)


def operator(person: str = OPERATOR) -> Actor:
    return Actor(kind="operator", id=person)


def verify(person: str = GRID_WORKER, *, resolved: bool = False, actor: Actor | None = None) -> VerifyComplaint:
    return VerifyComplaint(actor=actor or grid_worker(person), resolved_in_grid=resolved)


def blow(*departments: str, lead: str | None = None, by: str = SECRETARY, actor: Actor | None = None) -> BlowWhistle:
    return BlowWhistle(actor=actor or secretary(by), departments=list(departments or DEPARTMENTS), lead=lead)


def report_in(code: str, *, actor: Actor | None = None) -> ReportIn:
    return ReportIn(actor=actor or department(code), department=code, officer="值班员")


def decline(code: str, *, actor: Actor | None = None) -> DeclineCase:
    return DeclineCase(actor=actor or department(code), department=code, reason="不属于本部门职责")


def complete(code: str, *, actor: Actor | None = None) -> CompletePart:
    return CompletePart(actor=actor or department(code), department=code, result="已整改到位")


def evaluate(rating: Rating, *, actor: Actor | None = None) -> EvaluateOutcome:
    return EvaluateOutcome(actor=actor or resident(), rating=rating)


def _directing(by: str | Actor) -> Actor:
    """A person id reads as the first secretary unless it is the street secretary's."""
    if isinstance(by, Actor):
        return by
    return street_secretary(by) if by.startswith("ss-") else first_secretary(by)


def order(*departments: str, by: str | Actor = FIRST_SECRETARY) -> IssueDirective:
    return IssueDirective(actor=_directing(by), kind="order", departments=list(departments))


def extend(span: str, by: str | Actor = FIRST_SECRETARY) -> IssueDirective:
    return IssueDirective(actor=_directing(by), kind="extend", extend_by=parse_duration(span))


def park(by: str | Actor = FIRST_SECRETARY) -> IssueDirective:
    return IssueDirective(actor=_directing(by), kind="park", note="列入百日解百难台账")


def deadline(kind: DeadlineKind, department: str | None = None) -> ReachDeadline:
    return ReachDeadline(kind=kind, department=department)


# Cases brought to a stage the ordinary way, everything at ``NOW``.


def verified(case: ComplaintInput | None = None) -> CaseState:
    return run(new_case(case), verify())


def whistled(*departments: str, case: ComplaintInput | None = None) -> CaseState:
    """Verified, and the whistle blown for ``departments`` (default: the three of the enforcement team)."""
    return run(verified(case), blow(*departments))


def handling(*departments: str, case: ComplaintInput | None = None) -> CaseState:
    """Every summoned department reported in: joint handling under way."""
    state = whistled(*departments, case=case)
    return run_all(state, [report_in(code) for code in state.departments])


def evaluating(*departments: str, case: ComplaintInput | None = None) -> CaseState:
    """Every part completed: waiting for the resident's rating."""
    state = handling(*departments, case=case)
    return run_all(state, [complete(code) for code in state.departments])


def resolved_in_grid(case: ComplaintInput | None = None) -> CaseState:
    return run(new_case(case), verify(resolved=True))
