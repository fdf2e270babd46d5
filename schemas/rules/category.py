"""The category (改类/改派): the community secretary, or the street office ruling on a dispute, corrects it.

The decider does no I/O, so the new category's directory entry, routing suggestions and windows come with the
command: the client resolves them from its directory and policy, as it does at filing, and sends
``ResolvedRecategorise`` (what the workflow's ``recategorise`` Update takes, ``WIRE``). The event carries them, so
a replay or a rebuild years later folds the same case whatever the files say then.
"""

from __future__ import annotations

from datetime import datetime

from schemas.commands import CaseCommand, Recategorise
from schemas.common import Code, Model
from schemas.errors import CommandRejected
from schemas.events import CaseRecategorised, Event
from schemas.org import Category
from schemas.policy import CasePolicy
from schemas.rules.shared import Changes, Rules, Who, require_actor, require_stage
from schemas.state import CaseState

MAX_RECATEGORISATIONS = 5
"""How often one case's category may be corrected: its history stays bounded."""


class CategoryResolution(Model):
    """The new category as the client's directory and policy have it: its entry, the departments routing suggests
    for it, lead first, and the windows a case of it, at the case's urgency, runs under."""

    category: Category
    suggested_departments: list[Code]
    policy: CasePolicy


class ResolvedRecategorise(Recategorise):
    """``Recategorise`` completed by the client with the new category's ``resolution``."""

    resolution: CategoryResolution


WIRE: dict[type[CaseCommand], type[CaseCommand]] = {Recategorise: ResolvedRecategorise}
"""What the workflow's Update takes in place of a command the client completes before sending it."""


def recategorise(state: CaseState, command: ResolvedRecategorise, now: datetime) -> list[Event]:
    """A correction before the resident rates: running clocks keep their dues, windows that start later take the
    new category's. Re-routing is then the whistle's: the secretary summons the departments now suggested."""
    require_stage(state, "discovered", "whistled", "handling")
    previous = state.case.intake.category
    resolution = command.resolution
    if resolution.category.code != command.category:
        raise CommandRejected("category", f"resolved {resolution.category.code!r}, not {command.category!r}")
    if command.category == previous:
        raise CommandRejected("category", f"the case is already {previous!r}")
    if state.recategorisations >= MAX_RECATEGORISATIONS:
        raise CommandRejected("category", f"corrected {MAX_RECATEGORISATIONS} times already, the most a case takes")
    unknown = [code for code in resolution.suggested_departments if code not in state.case.context.departments]
    if unknown:
        raise CommandRejected("category", f"routes to departments this case does not know: {', '.join(unknown)}")
    return [
        CaseRecategorised(
            at=now,
            by=command.actor.id,
            previous=previous,
            category=resolution.category,
            reason=command.reason,
            suggested_departments=resolution.suggested_departments,
            policy=resolution.policy,
        )
    ]


def unresolved(state: CaseState, command: Recategorise, now: datetime) -> list[Event]:
    raise CommandRejected("category", "not resolved: send it through WhistleClient, which adds the category's windows")


def secretary_or_street(state: CaseState, command: Recategorise) -> None:
    """The community secretary, or the street secretary (who rules on responsibility disputes)."""
    context = state.case.context
    secretary, street = context.community.secretary.id, context.street.secretary.id
    require_actor(
        command.actor,
        {("community_secretary", secretary), ("street_secretary", street)},
        f"only the community secretary ({secretary}) or the street secretary ({street}) may correct the category",
    )


WHO: Who = {
    Recategorise: secretary_or_street,
    ResolvedRecategorise: secretary_or_street,
}
"""Who may send each of this concept's commands (``schemas.rules.authority``)."""


RULES: Rules = {
    Recategorise: unresolved,
    ResolvedRecategorise: recategorise,
}
"""What each of this concept's commands decides (``schemas.rules.decider``)."""


# The fold: what this concept's events change in a case.


def _case_recategorised(state: CaseState, event: CaseRecategorised) -> dict[str, object]:
    case = state.case
    intake = case.intake.model_copy(update={"category": event.category.code})
    context = case.context.model_copy(
        update={"category": event.category, "suggested_departments": event.suggested_departments}
    )
    moved = case.model_copy(update={"intake": intake, "context": context, "policy": event.policy})
    return {"case": moved, "recategorisations": state.recategorisations + 1}


CHANGES: Changes = {
    CaseRecategorised: _case_recategorised,
}
"""What each of this concept's events changes in a case (the fold, ``schemas.fold``)."""
