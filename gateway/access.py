"""Who may do what through the gateway: the checks made before anything reaches a case. Pure.

A department's key acts only for that department, a resident's only on their own case, a first secretary's,
community secretary's and grid worker's only in their community, a street secretary's only in their street.
Supervisor and integrator keys never act on a case. Anything else is ``403`` with the reason, and nothing is
sent. The decider checks the command's actor again inside the case (``workflows/authority.py``); these rules
keep a foreign key from reaching the workflow at all.
"""

from __future__ import annotations

from gateway.errors import ApiError
from gateway.keys import Principal
from schemas.actors import Actor
from schemas.view import CaseView

COMMAND_ROLES: dict[str, set[str]] = {
    "verify": {"grid-worker"},
    "blow": {"community-secretary"},
    "report_in": {"department"},
    "decline": {"department"},
    "progress": {"department"},
    "complete": {"department"},
    "evaluate": {"resident", "operator"},
    "withdraw": {"resident", "operator"},
    "direct": {"first-secretary", "street-secretary"},
}
"""Which key roles may send each command."""

PLACE_ROLES = {"grid-worker", "community-secretary", "first-secretary", "street-secretary"}
EVERYWHERE_ROLES = {"supervisor", "integrator", "operator"}
FILING_ROLES = {"resident", "grid-worker", "community-secretary", "first-secretary", "operator", "integrator"}


def forbid(reason: str) -> ApiError:
    return ApiError(403, "actor", reason)


def may_read(principal: Principal, view: CaseView, owner: str | None) -> bool:
    """A key reads the cases it could act on; supervisors, integrators and operators read every case."""
    role = principal.role
    return (
        role in EVERYWHERE_ROLES
        or (role in PLACE_ROLES and view.community in principal.communities)
        or (role == "department" and principal.subject in view.departments)
        or (role == "resident" and owner == principal.subject)
    )


def check_read(principal: Principal, view: CaseView, owner: str | None) -> None:
    if not may_read(principal, view, owner):
        raise forbid(f"a {principal.role} key for {principal.subject} may not read case {view.complaint_id}")


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


def check_command(
    principal: Principal, command: str, community: str, owner: str | None, department: str | None
) -> Actor:
    """The actor the command is sent as (always the key's own), or ``403`` with the reason.

    It needs of the case only its ``community`` (fixed at filing) and its ``owner``, so the gateway checks a
    command without asking the workflow (``WhistleClient.community_of``); the case checks the rest itself."""
    role = principal.role
    actor = principal.actor
    if actor is None or role not in COMMAND_ROLES[command]:
        allowed = ", ".join(sorted(COMMAND_ROLES[command]))
        raise forbid(f"a {role} key may not send {command} (only: {allowed})")
    if role == "department" and department is not None and department != principal.subject:
        raise forbid(f"the key of {principal.subject} acts only for {principal.subject}, not for {department}")
    if role == "resident" and owner != principal.subject:
        raise forbid(f"resident {principal.subject} acts only on their own cases")
    if role in PLACE_ROLES and community not in principal.communities:
        raise forbid(f"{role} {principal.subject} acts only in {_places(principal)}, not in {community}")
    return actor


def _places(principal: Principal) -> str:
    return ", ".join(sorted(principal.communities)) or "no community"
