"""What the concept tests share: the usual departments, a command or two built the usual way, and the
checks every decider test makes (the events' types, a refusal's field)."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.actors import Actor
from schemas.commands import (
    AnswerExtension,
    BlowWhistle,
    Command,
    Grade,
    RateDepartment,
    RecordProgress,
    ReportIn,
    ReportInProactively,
    RequestExtension,
    Score,
    Seniority,
    WithdrawComplaint,
)
from schemas.common import parse_duration
from schemas.errors import CommandRejected
from schemas.fold import apply
from schemas.intake import ComplaintInput
from schemas.rules.decider import decide
from schemas.state import CaseState
from tests.domain_fixtures import (
    DEPARTMENTS,
    NOW,
    department,
    evaluate,
    evaluating,
    first_secretary,
    make_case,
    policy,
    resident,
    run,
    secretary,
)

LEAD, SECOND, THIRD = DEPARTMENTS


"""A department routing does not suggest for cooking fumes, to summon on top."""


def progress(code: str) -> RecordProgress:
    return RecordProgress(actor=department(code), department=code, note="已约谈店主，限期安装油烟净化器")


def withdraw() -> WithdrawComplaint:
    return WithdrawComplaint(actor=resident(), reason="问题已自行解决")


def closed() -> CaseState:
    return run(evaluating(), evaluate("satisfied"))


EXTRA = "public_security"


def types(events: list[Any]) -> list[str]:
    return [event.type for event in events]


def rejected(state: CaseState, command: Command, now: Any = NOW) -> CommandRejected:
    with pytest.raises(CommandRejected) as caught:
        decide(state, command, now)
    return caught.value


def case_with(**changes: Any) -> ComplaintInput:
    """The usual case under the shipped policy with some default keys changed."""
    sla = policy().model_copy(update={"default": policy().default.model_copy(update=changes)})
    return make_case(sla=sla)


def graded(grade: Grade, *codes: str) -> BlowWhistle:
    return BlowWhistle(actor=secretary(), departments=list(codes or [LEAD]), grade=grade)


def senior_report_in(code: str, seniority: Seniority) -> ReportIn:
    return ReportIn(actor=department(code), department=code, officer="王局长", seniority=seniority)


def proactive(code: str | None = LEAD, *, actor: Actor | None = None) -> ReportInProactively:
    if actor is None:
        actor = department(code) if code else first_secretary()
    return ReportInProactively(actor=actor, department=code, officer="李科长")


def ask_more_time(code: str = LEAD, span: str = "2d") -> RequestExtension:
    return RequestExtension(
        actor=department(code), department=code, extend_by=parse_duration(span), reason="需协调燃气公司停气施工"
    )


def answer(approve: bool, *, actor: Actor | None = None) -> AnswerExtension:
    return AnswerExtension(actor=actor or first_secretary(), approve=approve, note="同意" if approve else "不同意")


def rate(code: str, result: Score = "good", *, in_person: bool = True, actor: Actor | None = None) -> RateDepartment:
    return RateDepartment(actor=actor or secretary(), department=code, in_person=in_person, result=result)


def folds(state: CaseState, events: list[Any]) -> CaseState:
    """Apply ``events`` and check the fold of the whole stream agrees (fold(events) == state)."""
    for event in events:
        state = apply(state, event)
    return state
