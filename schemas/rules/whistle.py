"""The whistle (社区吹哨): the community secretary summons departments, at a grade."""

from __future__ import annotations

from datetime import datetime

from schemas.commands import (
    BlowWhistle,
)
from schemas.errors import CommandRejected
from schemas.events import (
    Event,
    WhistleBlown,
)
from schemas.rules.shared import (
    check_known,
    not_under_review,
    report_in_due,
    require_stage,
)
from schemas.state import CaseState


def blow(state: CaseState, command: BlowWhistle, now: datetime) -> list[Event]:
    require_stage(state, "discovered", "whistled", "handling")
    if state.stage == "discovered" and state.verified_by is None:
        raise CommandRejected("stage", "a grid worker must verify the complaint before the whistle")
    not_under_review(state)
    check_known(state, command.departments)
    busy = [code for code in command.departments if code in state.with_status("summoned", "reported_in", "done")]
    if busy:
        raise CommandRejected("departments", f"already on the case: {', '.join(busy)}")
    active_lead = state.lead if state.lead in state.with_status("summoned", "reported_in", "done") else None
    lead = command.lead or active_lead or command.departments[0]
    return [
        WhistleBlown(
            at=now,
            by=command.actor.id,
            departments=command.departments,
            lead=lead,
            grade=command.grade,
            note=command.note,
            report_in_due=report_in_due(state, command.grade, now),
        )
    ]
