"""The community rates a department that finished its part (双考核)."""

from __future__ import annotations

from datetime import datetime

from schemas.commands import RateDepartment
from schemas.errors import CommandRejected
from schemas.events import (
    DepartmentRated,
    Event,
)
from schemas.parts import (
    CommunityRating,
    with_parts,
)
from schemas.rules.shared import (
    Changes,
    Rules,
    Who,
    community_secretary_only,
    department_part,
)
from schemas.state import CaseState


def rate_department(state: CaseState, command: RateDepartment, now: datetime) -> list[Event]:
    """双考核: the community rates a department once it has finished its part."""
    part = department_part(state, command.department, "done")
    if part.rating is not None:
        raise CommandRejected("department", f"{command.department} has already been rated on this case")
    on_time = bool(part.reported_on_time) or part.proactive
    return [
        DepartmentRated(
            at=now,
            department=command.department,
            by=command.actor.id,
            on_time=on_time,
            proactive=part.proactive,
            in_person=command.in_person,
            result=command.result,
            comment=command.comment,
        )
    ]


WHO: Who = {
    RateDepartment: community_secretary_only,
}
"""Who may send each of this concept's commands (``schemas.rules.authority``)."""


RULES: Rules = {
    RateDepartment: rate_department,
}
"""What each of this concept's commands decides (``schemas.rules.decider``)."""


# The fold: what this concept's events change in a case.


def _department_rated(state: CaseState, event: DepartmentRated) -> dict[str, object]:
    part = state.departments[event.department]
    rating = CommunityRating(on_time=event.on_time, in_person=event.in_person, result=event.result)
    rated = part.model_copy(update={"rating": rating})
    return {"departments": with_parts(state.departments, **{event.department: rated})}


CHANGES: Changes = {
    DepartmentRated: _department_rated,
}
"""What each of this concept's events changes in a case (the fold, ``schemas.fold``)."""
