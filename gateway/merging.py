"""Duplicates over HTTP (工单合并): ``GET /api/v1/complaints/{id}/duplicates``, the ``possible_duplicates`` of a
create's answer, and the check that a merge's primary is within the key's reach.

A suggestion names only cases the key may read (``access.reach`` narrows the query itself), and a resident's key
gets none: other residents' reports are not theirs to see. Merging itself is the generated ``POST .../merge``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from activities.duplicates import DuplicateCandidate, Reach
from activities.log import get_logger
from gateway import access
from gateway.context import Gateway, GatewayDep, PrincipalDep
from gateway.errors import ERROR_RESPONSES, ApiError
from gateway.keys import Principal
from schemas.intake import ComplaintIntake
from whistle.client import CaseNotFound, SubmitResult

router = APIRouter(prefix="/api/v1", tags=["complaints"], responses=ERROR_RESPONSES)
ComplaintIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$", description="The complaint id.")]


class FilingAnswer(SubmitResult):
    """A create's answer: the case, and open cases within the key's reach that may report the same problem (merge
    with ``POST .../merge``). ``possible_duplicates`` is null when none are offered: a resident's key, or the read
    model did not answer in time (the case is filed all the same)."""

    possible_duplicates: list[DuplicateCandidate] | None = None


def within_reach(principal: Principal) -> Reach:
    """The key's reach as the suggestion query's condition."""

    def condition(arguments: list[Any]) -> str:
        return access.reach(principal, arguments)

    return condition


async def answer_filing(
    gateway: Gateway, principal: Principal, intake: ComplaintIntake, result: SubmitResult
) -> FilingAnswer:
    """The create's answer, with the likely duplicates the key may see (never for a resident's key)."""
    answer = FilingAnswer(**result.model_dump())
    if principal.role == "resident":
        return answer
    filed = intake.model_copy(update={"complaint_id": result.complaint_id})
    try:
        found = await gateway.checked(
            gateway.client.duplicates_of(filed, exclude=result.complaint_id, reach=within_reach(principal))
        )
    except ApiError as error:  # the case is filed; a suggestion is a courtesy, not worth a failed answer
        get_logger(complaint_id=result.complaint_id).warning("no duplicates suggested", reason=error.reason)
        return answer
    return answer.model_copy(update={"possible_duplicates": found})


async def check_primary_reach(gateway: Gateway, principal: Principal, into: str) -> None:
    """A merge's primary must be the key's to read as well: else 404 on ``into``, as for no case at all."""
    try:
        reachable = access.may_read(principal, await gateway.scope(into))
    except CaseNotFound:
        reachable = False
    if not reachable:
        raise ApiError(404, "into", f"no case {into!r}")


@router.get(
    "/complaints/{complaint_id}/duplicates",
    response_model=list[DuplicateCandidate],
    summary="Likely duplicates of the case (工单合并)",
)
async def duplicates(
    complaint_id: ComplaintIdPath, principal: PrincipalDep, gateway: GatewayDep
) -> list[DuplicateCandidate]:
    """Open cases of the same category and grid filed within the case's ``duplicate_window``, within
    ``duplicate_distance_m`` when both have coordinates, the closest in time first, from the read model; only
    those the key may read. A resident's key does not see other reports (403)."""
    if principal.role == "resident":
        raise access.forbid("a resident key does not see other residents' reports")
    access.check_read(principal, await gateway.scope(complaint_id))
    try:
        return await gateway.checked(gateway.client.duplicates(complaint_id, reach=within_reach(principal)))
    except CaseNotFound:  # filed a moment ago, not in the read model yet
        return []
