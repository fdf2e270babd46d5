"""Who may do what through the gateway: the checks made before anything reaches a case. Pure.

A key reaches a case when it is its own: a department's when the case summoned it, a resident's when they filed it,
a first secretary's, community secretary's and grid worker's in their community, a street secretary's in their
street, an operator's or integrator's when their organisation (hotline, app) filed it; a supervisor's everywhere. A
case a key does not reach is ``404``, worded as for a case that does not exist, so a stranger learns nothing of it.
Within reach, a command the key's role may not send is ``403`` with the reason. Integrator keys never act on a case;
a supervisor's only urges it (催办). The decider checks the command's actor again inside the case
(``schemas/rules/authority.py``); these rules keep a foreign key from reaching the workflow at all, and need neither
a worker nor a query (``gateway.scope``).
"""

from __future__ import annotations

from typing import Any

from gateway.errors import ApiError, not_found
from gateway.keys import ORGANISATION_ROLES, Principal
from gateway.scope import CaseScope
from schemas.actors import Actor
from schemas.commands import CaseCommand
from schemas.org import OrgDirectory
from whistle.case_list import resident_cases

PLACE_ROLES = {"grid-worker", "community-secretary", "first-secretary", "street-secretary"}
EVERYWHERE_ROLES = {"supervisor"}
FILING_ROLES = {"resident", "grid-worker", "community-secretary", "first-secretary", "operator", "integrator"}


def forbid(reason: str) -> ApiError:
    return ApiError(403, "actor", reason)


def may_read(principal: Principal, scope: CaseScope) -> bool:
    """Whether the case is the key's to read (and, as its role allows, to act on)."""
    role = principal.role
    filed_by_own_organisation = scope.organisation is not None and scope.organisation == principal.organisation
    return (
        role in EVERYWHERE_ROLES
        or (role in ORGANISATION_ROLES and filed_by_own_organisation)
        or (role in PLACE_ROLES and scope.community in principal.communities)
        or (role == "department" and principal.subject in scope.departments)
        or (role == "resident" and scope.owner is not None and scope.owner == principal.subject)
    )


def reach(principal: Principal, arguments: list[Any]) -> str:
    """``may_read`` as a SQL condition on ``complaints c`` left-joined to ``gateway_filings f`` and ``api_keys k``,
    for a list that must apply it before its limit (else a narrow key's page comes back short); its values are
    appended to ``arguments``. The row's own check (``may_read``) still decides, so the two cannot disagree in
    the caller's favour."""
    role = principal.role
    if role in EVERYWHERE_ROLES:
        return "true"
    if role in ORGANISATION_ROLES:
        if principal.organisation is None:
            return "false"
        arguments.append(principal.organisation)
        return f"k.organisation = ${len(arguments)}"
    if role in PLACE_ROLES:
        arguments.append(sorted(principal.communities))
        return f"c.community = any(${len(arguments)}::text[])"
    if role == "department":
        arguments.append(principal.subject)
        return f"c.departments ? ${len(arguments)}"
    if role == "resident":
        arguments.append(principal.subject)
        return resident_cases(len(arguments))
    return "false"


def community_of_grid(principal: Principal, directory: OrgDirectory, grid: str) -> str:
    """The community among the place key's own that holds ``grid``; ``403`` when none of them does, as for a
    community outside the key's."""
    for community in directory.communities:
        if community.code in principal.communities and any(g.code == grid for g in community.grids):
            return community.code
    raise forbid(f"{principal.role} {principal.subject} lists only the grids of {_places(principal)}, not {grid}")


def check_read(principal: Principal, scope: CaseScope) -> None:
    """``404`` for a case out of the key's reach: the same answer as for no case at all."""
    if not may_read(principal, scope):
        raise not_found(scope.complaint_id)


MODERATOR_ROLES = {"community-secretary", "first-secretary", "street-secretary"}


def check_moderator(principal: Principal) -> Actor:
    """The actor a publication is decided as: a secretary's key only (the case checks it is that case's)."""
    if principal.role not in MODERATOR_ROLES or principal.actor is None:
        raise forbid(f"a {principal.role} key does not publish cases (only: {', '.join(sorted(MODERATOR_ROLES))})")
    return principal.actor


ERASER_ROLES = {"supervisor"}
CONTACT_ROLES = {"supervisor", "operator"}


def check_contact(principal: Principal) -> None:
    """Who may see a reporter's name and phone: a supervisor, or a hotline operator calling them back."""
    if principal.role not in CONTACT_ROLES:
        raise forbid(f"a {principal.role} key does not see who filed a case (only: operator, supervisor)")


RESIDENT_NOTICE_ROLES = {"resident", "operator", "integrator", "supervisor"}


def check_resident_notices(principal: Principal) -> str:
    """Who may opt a reporter out of their case's messages, or back in (and see what was sent): the resident
    themselves, the hotline operator or the app (integrator) acting for them, a supervisor. Returns who it is
    recorded as."""
    if principal.role not in RESIDENT_NOTICE_ROLES:
        allowed = ", ".join(sorted(RESIDENT_NOTICE_ROLES))
        raise forbid(f"a {principal.role} key does not set a resident's notifications (only: {allowed})")
    return f"{principal.role}:{principal.subject}"


def check_eraser(principal: Principal) -> str:
    """Who an erasure is recorded as: a supervisor's key only (督办: the role that answers for residents' data)."""
    if principal.role not in ERASER_ROLES:
        raise forbid(f"a {principal.role} key does not erase personal data (only: supervisor)")
    return f"{principal.role}:{principal.subject}"


def check_filing(principal: Principal, community: str) -> None:
    """Who may file a complaint, and where."""
    if principal.role not in FILING_ROLES:
        raise forbid(f"a {principal.role} key does not file complaints")
    if principal.role in PLACE_ROLES and community not in principal.communities:
        raise forbid(f"{principal.role} {principal.subject} files only in {_places(principal)}, not {community}")


def check_command(principal: Principal, model: type[CaseCommand], scope: CaseScope, department: str | None) -> Actor:
    """The actor the command is sent as (always the key's own): ``404`` for a case out of reach, ``403`` with the
    reason for a command the key may not send (its actor kind is not among the command's ``actors``). The case
    checks the rest itself."""
    check_read(principal, scope)
    actor = principal.actor
    if actor is None or actor.kind not in model.actors:
        allowed = ", ".join(model.actors)
        raise forbid(f"a {principal.role} key may not send {model.name()} (only: {allowed})")
    if actor.kind == "department" and department is not None and department != principal.subject:
        raise forbid(f"the key of {principal.subject} acts only for {principal.subject}, not for {department}")
    return actor


def _places(principal: Principal) -> str:
    return ", ".join(sorted(principal.communities)) or "no community"
