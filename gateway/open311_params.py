"""What several Open311 methods take alike: the jurisdiction, the page, comma-separated lists and w3c dates.

``jurisdiction_id``: the specification requires it of endpoints that serve several jurisdictions; this one serves
one (``Gateway.jurisdiction``: ``--open311-jurisdiction`` / ``WHISTLE_OPEN311_JURISDICTION``, by default the org
directory's district), so it may be left out, and is refused (400 naming it) when it names another.

``page`` and ``page_size``: the pagination extension most GeoReport v2 servers implement (the Open311 wiki's
*GeoReport v2 Extensions*): pages count from 1, ``page_size`` is ``DEFAULT_PAGE_SIZE`` unless given and at most
``MAX_PAGE_SIZE``; anything else is 400 naming the parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Query

from gateway.context import Gateway, GatewayDep
from gateway.errors import ApiError
from schemas.calendar import CHINA_TIME

DEFAULT_PAGE_SIZE = 100
"""How many records a page carries when the client does not say."""
MAX_PAGE_SIZE = 200
"""The most records one page carries (and the most ids one ``service_request_id`` list names)."""
MAX_PAGE = 10_000
"""The last page a client may ask for: past it, an offset scan costs the database more than any reader needs."""


@dataclass(frozen=True)
class Page:
    """One page of a list: ``number`` counts from 1."""

    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    def sql(self) -> str:
        """The page as SQL (both are checked integers, never text from the client)."""
        return f"limit {int(self.size)} offset {int(self.offset)}"


def page_of(
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="The page, from 1.")] = 1,
    page_size: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_PAGE_SIZE,
            description=f"Records per page: {DEFAULT_PAGE_SIZE} unless given, at most {MAX_PAGE_SIZE}.",
        ),
    ] = DEFAULT_PAGE_SIZE,
) -> Page:
    return Page(page, page_size)


PageDep = Annotated[Page, Depends(page_of)]


def check_jurisdiction(gateway: Gateway, jurisdiction_id: str | None) -> None:
    """Nothing when ``jurisdiction_id`` is absent or ours; 400 naming it otherwise."""
    if jurisdiction_id is not None and jurisdiction_id.strip() != gateway.jurisdiction:
        raise ApiError(
            400, "jurisdiction_id", f"this endpoint serves {gateway.jurisdiction!r} only, not {jurisdiction_id!r}"
        )


def jurisdiction_of(
    gateway: GatewayDep,
    jurisdiction_id: Annotated[
        str | None, Query(max_length=100, description="Ours (see discovery), or left out: one jurisdiction here.")
    ] = None,
) -> str:
    """The jurisdiction a GET is for: ours, whether named or not."""
    check_jurisdiction(gateway, jurisdiction_id)
    return gateway.jurisdiction


JurisdictionDep = Annotated[str, Depends(jurisdiction_of)]


def codes(text: str | None, field: str) -> list[str] | None:
    """A comma-separated list (``service_code=a,b``), or None when not given; 400 naming ``field`` when empty."""
    if text is None:
        return None
    found = [code.strip() for code in text.split(",") if code.strip()]
    if not found:
        raise ApiError(400, field, "give at least one value")
    return found


def moment(text: str | None, field: str) -> datetime | None:
    """A w3c date-time (UTC when it names no zone), or None when not given; 400 naming ``field`` otherwise."""
    if text is None:
        return None
    try:
        found = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return (found if found.tzinfo else found.replace(tzinfo=UTC)).astimezone(UTC)
    except ValueError:
        raise ApiError(400, field, f"{text!r} is not a w3c date-time like 2026-11-05T08:15:30+08:00") from None
    except OverflowError:  # 9999-12-31T23:59:59-12:00 is past the last instant a datetime holds
        raise ApiError(400, field, f"{text!r} is out of range") from None


def w3c(instant: datetime | None) -> str | None:
    """ISO 8601 with the offset, as the specification requires (Beijing time)."""
    return None if instant is None else instant.astimezone(CHINA_TIME).isoformat(timespec="seconds")
