"""Which cases an Open311 read shows, and in which form, decided in SQL before the page is cut.

Without a key, only the cases a moderator published, in their public form. With a key, the cases its role may
read (as the JSON API's, ``gateway.access``) in full, and the other published ones in public form. ``visible``
puts that in the query so a narrow key's page is not cut short by cases it cannot see; ``in_full`` decides each
row again with ``access.may_read``, so the two cannot disagree in the caller's favour.
"""

from __future__ import annotations

from typing import Any

from gateway import access
from gateway.context import Gateway
from gateway.errors import ApiError
from gateway.keys import Principal
from gateway.scope import CaseScope

CASES = (
    "complaints c left join gateway_filings f on f.complaint_id = c.complaint_id "
    "left join api_keys k on k.key_id = f.key_id left join publications p on p.complaint_id = c.complaint_id"
)
"""The read model's cases with what decides who sees them: who filed them (``f``, ``k``), whether published (``p``)."""


def columns(principal: Principal | None) -> str:
    """The columns ``in_full`` and the public form read, from ``CASES``."""
    owner = "coalesce(f.resident_id, whistle_resident_of(c.complaint_id))" if principal else "f.resident_id"
    return (
        f"c.complaint_id, c.community, c.departments, {owner} as owner, k.organisation, "
        "p.public_title, p.public_description"
    )


def visible(principal: Principal | None, arguments: list[Any]) -> str:
    """A SQL condition on ``CASES``: the case is the key's to read, or published; its values go to ``arguments``."""
    reached = "false" if principal is None else access.reach(principal, arguments)
    return f"({reached} or p.complaint_id is not null)"


def in_full(principal: Principal | None, row: Any) -> bool:
    """Whether the row's case (a record with ``columns``) is shown in full (the key may read it) rather than in its
    public form."""
    if principal is None:
        return False
    scope = CaseScope(
        row["complaint_id"], row["community"], frozenset(row["departments"]), row["owner"], row["organisation"]
    )
    return access.may_read(principal, scope)


async def reader(gateway: Gateway, key: str | None) -> Principal | None:
    """The key's principal, or None for a keyless (public) read; a key given but not live is refused."""
    if key is None:
        return None
    principal = await gateway.principal(key)
    if principal is None:
        raise ApiError(401, "api_key", "not a live key")
    return principal
