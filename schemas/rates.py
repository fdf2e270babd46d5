"""The rates and rankings (三率, 红黑榜): a fact row per case counted per community, department or first secretary,
the rates derived and the groups ranked. Pure: the facts are read from the read model by ``activities.rates``.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AwareDatetime

from schemas.common import Code, Model

ReportGroupBy = Literal["community", "department", "first_secretary"]


ListColour = Literal["red", "black"]


class GroupFigures(Model):
    """One community, department or first secretary: its counts, rates (None when nothing to divide by) and rank."""

    group: str
    """The community or department code, or the first secretary's person id."""
    name: str
    cases: int
    summoned: int
    """(case, department) summonses whose report-in was due: reported in, or the clock ran out."""
    reported_on_time: int
    declined: int
    response_rate: float | None
    closed: int
    resolved: int
    withdrawn: int
    resolution_rate: float | None
    terminated: int = 0
    """Closed as terminated (终止办理: approved end without a rating, e.g. a duplicate); counted apart, not in
    ``closed``, so it neither helps nor hurts the resolution rate."""
    evaluations: int
    satisfied: int
    """Ratings of satisfied or basically satisfied."""
    satisfaction_rate: float | None
    overdue: int
    escalated: int
    urged: int = 0
    """Urgings (催办) counted against the group: a department's when it held the case, a community's (and its first
    secretary's) on any of its cases. Shown beside the rates, not in the score."""
    followed_up: int = 0
    """Follow-up calls after closure (回访) on the group's cases (a department's: on cases it worked)."""
    follow_up_unsolved: int = 0
    """Of those, calls that found the problem unsolved (each reopened the case while it could be reopened)."""
    follow_up_missed: int = 0
    """Cases closed unevaluated whose follow-up window ran out with no call reaching the resident (应回访未回访)."""
    community_ratings: int = 0
    """Departments only: the community's ratings of its finished parts (双考核)."""
    community_good: int = 0
    """Of those, rated good (好)."""
    community_in_person: int = 0
    """Of those, the community saw it come in person at the seniority asked."""
    community_rating_rate: float | None = None
    """``community_good / community_ratings``, shown beside the residents' satisfaction (not in the score)."""
    merged: int = 0
    """Reports merged into another case (工单合并): the problem is counted once, as that case, so a merged report is
    in no other figure; shown apart. ``cases + merged`` is the reports received."""
    score: float | None
    rank: int | None
    """1 is best; None when the group has no rate to rank it by."""
    board: ListColour | None
    """``red`` on the red list (红榜, the top), ``black`` on the black list (黑榜, the bottom), None for neither."""


class Report(Model):
    """A ranking of every group that had a case filed since ``since`` (all time when None)."""

    by: ReportGroupBy
    since: date | None
    generated_at: AwareDatetime
    groups: list[GroupFigures]


RESOLVED_OUTCOMES = frozenset({"satisfied", "basically_satisfied", "unevaluated"})
"""Closures that count as resolved. ``unevaluated`` closes only after handling was completed (or the grid
resolved it) and the resident did not object within the window; ``withdrawn`` is closed but not resolved."""


SATISFIED_RATINGS = frozenset({"satisfied", "basically_satisfied"})


class DepartmentFacts(Model):
    """One department's part in one case, as far as the measures need it."""

    status: str
    reported_on_time: bool | None
    report_in_lapsed: bool
    community_result: str | None = None
    """The community's rating of the part (双考核): good, fair or poor; None until rated."""
    community_in_person: bool = False


class CaseFacts(Model):
    """What the measures need to know about one case (read from the read model and its stored events)."""

    complaint_id: str
    community: Code
    community_name: str
    first_secretary: str
    first_secretary_name: str
    department_names: dict[Code, str]
    closed: bool
    outcome: str | None
    departments: dict[Code, DepartmentFacts]
    ratings: list[str]
    late_departments: list[Code]
    handling_overdue: bool
    escalations: list[tuple[str, Code | None]]
    """(cause, department named by the escalation)."""
    urgings: list[list[str]] = []
    """Each urging's holders (催办: who held the case when a supervisor urged it)."""
    follow_ups: list[str] = []
    """Each follow-up call's verdict (回访: solved, unsolved, unreached)."""
    follow_ups_missed: int = 0
    """Follow-up windows that ran out without the call the policy asked for."""
    merged: bool = False
    """Merged into another case (工单合并), now or when it closed."""

    def worked_by(self, code: Code) -> bool:
        """The department reported in and is (or was) working the case."""
        return self.departments[code].status in ("reported_in", "done")

    @property
    def missed_deadline(self) -> bool:
        return bool(self.late_departments or self.handling_overdue or self.escalations)


COUNTS = (
    "cases", "merged", "summoned", "on_time", "declined", "closed", "resolved", "withdrawn", "terminated",
    "evaluations", "satisfied", "overdue", "escalated", "urged", "followed_up", "follow_up_unsolved",
    "follow_up_missed", "community_ratings", "community_good", "community_in_person",
)  # fmt: skip
"""What a group's figures count, in the order ``Tally.counts`` and the ``rate_contributions`` table hold them."""


class Tally:
    """One group's counts: a single case's contribution to it, or the sum of many (``add``)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.cases = self.summoned = self.on_time = self.declined = 0
        self.closed = self.resolved = self.withdrawn = self.terminated = 0
        self.evaluations = self.satisfied = self.overdue = self.escalated = self.urged = 0
        self.followed_up = self.follow_up_unsolved = self.follow_up_missed = 0
        self.community_ratings = self.community_good = self.community_in_person = 0
        self.merged = 0

    @classmethod
    def of(cls, name: str, counts: list[int]) -> Tally:
        """A tally from its ``counts`` in ``COUNTS`` order (a row of summed contributions)."""
        tally = cls(name)
        for field, count in zip(COUNTS, counts, strict=True):
            setattr(tally, field, count)
        return tally

    @property
    def counts(self) -> list[int]:
        return [getattr(self, field) for field in COUNTS]

    def add(self, other: Tally) -> None:
        for field in COUNTS:
            setattr(self, field, getattr(self, field) + getattr(other, field))

    def count_response(self, part: DepartmentFacts, missed: bool) -> None:
        """A summons counts once its report-in was due: on time, late, or its clock ran out unanswered.

        ``missed``: the department let a report-in window on this case run out. Its report-in is then not on
        time, even if it came inside a later window (a raised grade, or a first secretary's order).
        """
        if part.status == "declined":
            self.declined += 1
        elif part.reported_on_time is not None:
            self.summoned += 1
            self.on_time += int(part.reported_on_time and not missed)
        elif part.report_in_lapsed or missed:
            self.summoned += 1

    def count_outcome(self, case: CaseFacts) -> None:
        if case.closed and case.outcome == "terminated":
            self.terminated += 1
        elif case.closed:
            self.closed += 1
            self.resolved += int(case.outcome in RESOLVED_OUTCOMES)
            self.withdrawn += int(case.outcome == "withdrawn")
        self.evaluations += len(case.ratings)
        self.satisfied += sum(rating in SATISFIED_RATINGS for rating in case.ratings)

    def count_follow_ups(self, case: CaseFacts) -> None:
        """回访: the calls after closure, those that found the problem unsolved, and the calls owed and not made."""
        self.followed_up += len(case.follow_ups)
        self.follow_up_unsolved += case.follow_ups.count("unsolved")
        self.follow_up_missed += case.follow_ups_missed


Contribution = tuple[ReportGroupBy, str, Tally]
"""One case's part in one group's figures: the grouping, the group's key, and the counts (named)."""


def contributions(case: CaseFacts) -> list[Contribution]:
    """What one case adds to the figures: one tally to its community, one to its first secretary, one to each of
    its departments. A report sums them per group (``rank_groups`` here, SQL over ``rate_contributions`` there)."""
    place = _place_tally(case)
    first_secretary = Tally(case.first_secretary_name)
    first_secretary.add(place)
    found: list[Contribution] = [
        ("community", case.community, place),
        ("first_secretary", case.first_secretary, first_secretary),
    ]
    if case.merged:  # the problem counts once, as the case it was merged into; its departments stood down
        return found
    return found + [("department", code, _department_tally(case, code)) for code in case.departments]


def _place_tally(case: CaseFacts) -> Tally:
    tally = Tally(case.community_name)
    if case.merged:  # the problem counts once, as the case it was merged into
        tally.merged += 1
        return tally
    tally.cases += 1
    for code, part in case.departments.items():
        tally.count_response(part, code in case.late_departments)
    tally.count_outcome(case)
    tally.overdue += int(case.missed_deadline)
    tally.escalated += int(bool(case.escalations))
    tally.urged += len(case.urgings)
    tally.count_follow_ups(case)
    return tally


def _department_tally(case: CaseFacts, code: Code) -> Tally:
    part = case.departments[code]
    tally = Tally(case.department_names.get(code, code))
    tally.cases += 1
    tally.count_response(part, code in case.late_departments)
    if part.community_result is not None:
        tally.community_ratings += 1
        tally.community_good += int(part.community_result == "good")
        tally.community_in_person += int(part.community_in_person)
    worked = case.worked_by(code)
    if worked:
        tally.count_outcome(case)
        tally.count_follow_ups(case)
    tally.overdue += int(code in case.late_departments or (worked and case.handling_overdue))
    tally.escalated += int(
        any(department == code or (worked and cause == "handling") for cause, department in case.escalations)
    )
    tally.urged += sum(code in holders for holders in case.urgings)
    return tally


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def rank_groups(facts: list[CaseFacts], by: ReportGroupBy) -> list[GroupFigures]:
    """Every group's figures over ``facts``, best first (``rank_tallies``)."""
    tallies: dict[str, Tally] = {}
    for case in facts:
        for grouping, key, tally in contributions(case):
            if grouping == by:
                tallies.setdefault(key, Tally(tally.name)).add(tally)
    return rank_tallies(tallies)


def rank_tallies(tallies: dict[str, Tally]) -> list[GroupFigures]:
    """Every group's figures from its counts, best first; groups with no rate at all come last, unranked."""
    groups: list[GroupFigures] = []
    for key, tally in tallies.items():
        rates = (
            _rate(tally.on_time, tally.summoned),
            _rate(tally.resolved, tally.closed),
            _rate(tally.satisfied, tally.evaluations),
        )
        known = [rate for rate in rates if rate is not None]
        groups.append(
            GroupFigures(
                group=key, name=tally.name, cases=tally.cases,
                summoned=tally.summoned, reported_on_time=tally.on_time, declined=tally.declined,
                response_rate=rates[0],
                closed=tally.closed, resolved=tally.resolved, withdrawn=tally.withdrawn, resolution_rate=rates[1],
                terminated=tally.terminated,
                evaluations=tally.evaluations, satisfied=tally.satisfied, satisfaction_rate=rates[2],
                overdue=tally.overdue, escalated=tally.escalated, urged=tally.urged,
                followed_up=tally.followed_up, follow_up_unsolved=tally.follow_up_unsolved,
                follow_up_missed=tally.follow_up_missed,
                community_ratings=tally.community_ratings, community_good=tally.community_good,
                community_in_person=tally.community_in_person,
                community_rating_rate=_rate(tally.community_good, tally.community_ratings), merged=tally.merged,
                score=round(sum(known) / len(known), 4) if known else None, rank=None, board=None,
            )
        )  # fmt: skip
    groups.sort(key=lambda g: (g.score is None, -(g.score or 0.0), g.overdue, g.escalated, -g.cases, g.group))
    ranked = sum(group.score is not None for group in groups)
    listed = min(max(1, ranked // 5), ranked // 2)
    for position, group in enumerate(groups[:ranked], start=1):
        board: ListColour | None = None
        if position <= listed:
            board = "red"
        elif position > ranked - listed:
            board = "black"
        groups[position - 1] = group.model_copy(update={"rank": position, "board": board})
    return groups
class SnapshotInput(Model):
    """What the daily report workflow stores: the rankings of ``day`` (Beijing date of the run when None)."""

    day: date | None = None
