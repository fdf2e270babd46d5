"""The SLA policy: how long each stage may take, by urgency and category, loaded from a YAML file.

A city sets its own numbers without code changes; a case keeps the resolved ``CasePolicy`` it was filed
with, so editing the file never changes a case in flight.
"""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from schemas.commands import Grade, Seniority
from schemas.common import Code, Duration, Model, Recorded, parse_duration

Urgency = Literal["normal", "urgent"]
Approver = Literal["community_secretary", "first_secretary", "street_secretary"]


class WhistleGrade(Model):
    """What a whistle of one grade asks: its report-in window (absent: the policy's ``report_in``) and the
    least seniority that may report in."""

    report_in: Duration | None = None
    seniority: Seniority


DEFAULT_GRADES: dict[Grade, WhistleGrade] = {
    "blue": WhistleGrade(seniority="section_head"),
    "yellow": WhistleGrade(seniority="deputy_head"),
    "red": WhistleGrade(seniority="head"),
}


class PolicyOverrides(Model):
    """Any subset of the stage windows; missing keys fall back to ``default``."""

    verify: Duration | None = None
    report_in: Duration | None = None
    handling: Duration | None = None
    evaluation: Duration | None = None
    first_secretary: Duration | None = None
    street_secretary: Duration | None = None
    max_reopens: int | None = Field(default=None, ge=0, le=10)
    warn_at: float | None = Field(default=None, gt=0, lt=1)
    max_progress_notes: int | None = Field(default=None, ge=1, le=1000)
    max_urgings: int | None = Field(default=None, ge=1, le=1000)
    flagged_windows: float | None = Field(default=None, gt=0, le=1)
    grades: dict[Grade, WhistleGrade] | None = None
    raise_grade_on_miss: bool | None = None
    extension_answer: Duration | None = None
    extension_approver: Approver | None = None
    ledger_after: float | None = Field(default=None, ge=1, le=100)
    ledger_review: Duration | None = None
    review_before_evaluation: bool | None = None
    review: Duration | None = None
    termination_review: Duration | None = None
    rule_disputes: bool | None = None
    max_pause: Duration | None = None
    ruling: Duration | None = None
    photo_required_on_completion: bool | None = None
    follow_up: Duration | None = None
    max_follow_ups: int | None = Field(default=None, ge=1, le=20)
    max_linked_reports: int | None = Field(default=None, ge=1, le=1000)
    max_merges: int | None = Field(default=None, ge=1, le=20)
    duplicate_window: Duration | None = None
    duplicate_distance_m: float | None = Field(default=None, gt=0, le=100_000)


class CasePolicy(Recorded):
    """The windows one case runs under (every key present), resolved at filing.

    ``verify`` is the grid's window to leave grid discovery (resolve in the grid or get the whistle blown);
    ``warn_at`` is the fraction of any window after which a warning (预警) goes out;
    ``max_progress_notes`` caps each department's notes and ``max_urgings`` a case's urgings (催办), so a case's
    history stays bounded. A case put under leader supervision (重点督办) has each window still running cut to
    ``flagged_windows`` of what remains (1: not shortened).
    ``grades`` maps each whistle grade to its report-in window and seniority; ``raise_grade_on_miss`` lets
    a missed report-in raise the grade once (哨源升级) before it escalates. ``extension_approver`` answers
    a department's request for more time within ``extension_answer``. A case goes on the long-running
    ledger (挂账) when parked or ``ledger_after`` times its handling window past the start of handling, and
    its first secretary is reminded every ``ledger_review``. Where ``review_before_evaluation`` (usually
    per category), the community secretary reviews the results within ``review`` before the resident rates
    them. A proposed termination (终止办理) is reviewed within ``termination_review``. With
    ``rule_disputes``, a case every summoned department declined goes to the street office, which rules
    within ``ruling`` (职责争议) instead of the community re-routing it. A case waiting on the resident has
    its clocks stopped, for at most ``max_pause`` in all. With ``photo_required_on_completion`` (usually per
    category), a department completes its part only with a photo of the finished work.
    A closed case takes follow-up calls (回访) for ``follow_up`` after closure (absent: none; the case ends when it
    closes); one closed unevaluated must get a call that reaches the resident within it, and an unsolved verdict
    within it reopens the case (up to ``max_reopens``). A case takes at most ``max_follow_ups`` calls.
    Merging duplicates (工单合并): a primary takes at most ``max_linked_reports`` merged reports in its life and a case
    is merged at most ``max_merges`` times, so both histories stay bounded; likely duplicates are open cases of the
    same category and grid filed within ``duplicate_window`` of each other and, when both have coordinates, within
    ``duplicate_distance_m`` metres.
    """

    verify: Duration
    report_in: Duration
    handling: Duration
    evaluation: Duration
    first_secretary: Duration
    street_secretary: Duration
    max_reopens: int = Field(ge=0, le=10)
    warn_at: float = Field(default=0.8, gt=0, lt=1)
    max_progress_notes: int = Field(default=50, ge=1, le=1000)
    max_urgings: int = Field(default=20, ge=1, le=1000)
    flagged_windows: float = Field(default=1.0, gt=0, le=1)
    grades: dict[Grade, WhistleGrade] = DEFAULT_GRADES
    raise_grade_on_miss: bool = False
    extension_answer: Duration = Field(default_factory=lambda: parse_duration("24h"))
    extension_approver: Approver = "first_secretary"
    ledger_after: float = Field(default=3.0, ge=1, le=100)
    ledger_review: Duration = Field(default_factory=lambda: parse_duration("7d"))
    review_before_evaluation: bool = False
    review: Duration = Field(default_factory=lambda: parse_duration("24h"))
    termination_review: Duration = Field(default_factory=lambda: parse_duration("48h"))
    rule_disputes: bool = False
    max_pause: Duration = Field(default_factory=lambda: parse_duration("7d"))
    ruling: Duration = Field(default_factory=lambda: parse_duration("48h"))
    photo_required_on_completion: bool = False
    follow_up: Duration | None = None
    max_follow_ups: int = Field(default=5, ge=1, le=20)
    max_linked_reports: int = Field(default=50, ge=1, le=1000)
    max_merges: int = Field(default=3, ge=1, le=20)
    duplicate_window: Duration = Field(default_factory=lambda: parse_duration("72h"))
    duplicate_distance_m: float = Field(default=200.0, gt=0, le=100_000)

    ADDED_AFTER_RECORDING: ClassVar[frozenset[str]] = frozenset(
        {
            "max_urgings", "flagged_windows", "photo_required_on_completion", "follow_up", "max_follow_ups",
            "max_linked_reports", "max_merges", "duplicate_window", "duplicate_distance_m",
        }
    )  # fmt: skip
    """Keys added after histories were recorded (``schemas.common.Recorded``): a case's policy is frozen into its
    filing event, so these are written only when they differ from their default."""

    @field_validator("duplicate_window")
    @classmethod
    def _calendar_window(cls, value: Duration) -> Duration:
        if value.fixed() is None:
            raise ValueError("write the duplicate window in calendar time, like 72h or 3d")
        return value

    def grade(self, grade: Grade) -> WhistleGrade:
        """The rule for ``grade``: the policy's own, or the built-in one (blue: section head, ...)."""
        return self.grades.get(grade) or DEFAULT_GRADES[grade]


class RetentionRule(Model):
    """How long a closed case keeps its resident's data: after ``anonymise_closed_after`` (calendar time, a day at
    least) the retention schedule erases it as ``whistle erase`` would. A deployment's rule, not frozen into cases."""

    anonymise_closed_after: Duration

    @field_validator("anonymise_closed_after")
    @classmethod
    def _calendar_days(cls, value: Duration) -> Duration:
        span = value.fixed()
        if span is None or span < timedelta(days=1):
            raise ValueError("write the retention period in calendar time of a day or more, like 365d")
        return value

    @property
    def keep_closed_for(self) -> timedelta:
        span = self.anonymise_closed_after.fixed()
        assert span is not None
        return span


class HotspotRule(Model):
    """When a place and category recur enough to be governed before residents complain (主动治理, 未诉先办): in at
    least ``min_months`` of the last ``window_months`` calendar months (Beijing time, this month included) it drew
    ``min_complaints_per_month`` complaints or more. A deployment's rule, read when figures are asked for; never
    frozen into cases."""

    min_complaints_per_month: int = Field(default=3, ge=1, le=100_000)
    min_months: int = Field(default=2, ge=1, le=120)
    window_months: int = Field(default=6, ge=1, le=120)

    @model_validator(mode="after")
    def _months_fit_the_window(self) -> HotspotRule:
        if self.min_months > self.window_months:
            raise ValueError(f"min_months ({self.min_months}) cannot exceed window_months ({self.window_months})")
        return self


class SlaPolicy(Model):
    """The whole file: ``default`` (complete), then overrides by ``categories`` and for ``urgent`` cases, the
    ``retention`` rule for residents' data (absent: kept until erased on request) and the ``hotspot`` rule that
    flags recurring problems for proactive governance (absent: 3 a month in 2 of the last 6 months)."""

    default: CasePolicy
    urgent: PolicyOverrides = PolicyOverrides()
    categories: dict[Code, PolicyOverrides] = {}
    retention: RetentionRule | None = None
    hotspot: HotspotRule = HotspotRule()

    def for_case(self, urgency: Urgency, category: str) -> CasePolicy:
        """Default, overridden by the category, overridden by urgency: an urgent case keeps urgent times."""
        merged = self.default.model_dump()
        layers = [self.categories.get(category, PolicyOverrides())]
        if urgency == "urgent":
            layers.append(self.urgent)
        for layer in layers:
            merged.update(layer.model_dump(exclude_none=True))
        return CasePolicy.model_validate(merged)
