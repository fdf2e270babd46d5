"""A complaint as filed (the intake), and the workflow input built from it at filing."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, StringConstraints, field_validator

from schemas.actors import ActorId
from schemas.calendar import WorkCalendar
from schemas.common import Code, ComplaintId, LongText, Model, Name, ShortText
from schemas.errors import CommandRejected
from schemas.evidence import Photos, none_attached
from schemas.org import CaseContext
from schemas.policy import CasePolicy, Urgency

Source = Literal["grid_patrol", "resident_app", "hotline", "walk_in"]
"""How the problem reached the grid: found on patrol, the resident app, the 12345 hotline, a walk-in."""


class Location(Model):
    """Where the problem is; coordinates are optional (WGS84 degrees)."""

    address: ShortText
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


class Reporter(Model):
    """The resident who reported it (personal data: never logged).

    ``resident_id`` is the integrator's own id for the resident (an app account, say). Only the resident
    with that id may rate or withdraw the case themselves; without it, a hotline operator acts for them.
    """

    name: Name
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9][0-9-]{4,19}$", exclude_if=lambda phone: phone is None)
    """How to call the reporter back; None when they gave none (a stock Open311 client sends no phone). Left out of
    the serialised form when absent, so the histories recorded while it was required replay with the same
    payloads."""
    resident_id: ActorId | None = None
    email: str | None = Field(
        default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s.]+$", exclude_if=lambda email: email is None
    )
    """Where the resident hears back by e-mail (``activities/resident_delivery.py``); None: by SMS only, if at all.
    Kept with the name and phone in ``personal_data``, looked up when a message goes out. Left out of the
    serialised form when None, so the filing digests and histories recorded before it replay unchanged."""
    publish_consent: bool | None = Field(default=None, exclude_if=lambda consent: consent is None)
    """Whether the reporter agreed that the case may be published (None: not asked). A moderator never publishes a
    case whose reporter said no (``schemas/publication.py``). Left out of the serialised form when not asked, so
    the histories recorded before it replay with the same payloads."""

    def resident_actor(self) -> str | None:
        """The actor id a resident acting in person sends (cases filed before the claim check: the resident id)."""
        return self.resident_id


PersonalDataRef = Annotated[str, StringConstraints(pattern=r"^pd-[0-9a-f]{32}$")]
"""An opaque reference to one reporter's row in ``personal_data``: random, so it says nothing about the person."""


class ReporterReference(Model):
    """The reporter as a case carries it: a claim check, never the person (PIPL; see the README's *Personal data*).

    The name, phone and integrator's resident id stay in PostgreSQL's ``personal_data`` under ``reference``;
    whatever needs them (a notification to the reporter, a supervisor's view) resolves the reference at the
    edge. ``resident_account`` says whether the reporter filed with a resident id of their own: such a resident
    may rate or withdraw in person, and the SDK sends their commands as actor ``resident:<reference>`` once it
    has matched their resident id to this case's row.
    """

    reference: PersonalDataRef
    resident_account: bool = False

    def resident_actor(self) -> str | None:
        """The actor id a resident acting in person sends: the reference, when the reporter has an account."""
        return self.reference if self.resident_account else None


class ComplaintIntake(Model):
    """A complaint as an integrator files it. ``complaint_id`` is the integrator's ticket number, if any."""

    complaint_id: ComplaintId | None = None
    source: Source
    community: Code
    grid: Code
    category: Code
    title: ShortText
    description: LongText
    location: Location
    reporter: Reporter
    urgency: Urgency = "normal"
    reported_at: AwareDatetime
    photos: Photos = Field(default=(), exclude_if=none_attached)
    """Photos of the problem as found (before): references to photos already in the object store
    (``schemas/evidence.py``). Left out of the serialised form when there are none, so the histories and filing
    digests recorded before photos keep replaying."""

    @field_validator("reported_at", mode="before")
    @classmethod
    def _written_out(cls, value: Any) -> Any:
        """A bare number would be taken as seconds since 1970 (``0`` files a complaint from 1970): refuse it."""
        if isinstance(value, int | float):
            raise ValueError("write the time out in ISO 8601 with its zone, not as a number")
        return value


class CaseIntake(ComplaintIntake):
    """The intake as its case carries it: the reporter is a ``ReporterReference`` (cases filed before the claim
    check carry the ``Reporter`` itself, and keep replaying with it). Field order is the filed intake's, so an
    older case's events serialise as they were recorded."""

    reporter: ReporterReference | Reporter  # type: ignore[assignment]


class ComplaintInput(Model):
    """The workflow's one input: the intake with its id settled, and everything the case runs under."""

    complaint_id: ComplaintId
    intake: CaseIntake
    context: CaseContext
    policy: CasePolicy
    calendar: WorkCalendar
    filed_by: Name | None = None


def check_not_future(reported_at: datetime, now: datetime, skew_seconds: int = 300) -> None:
    """A report cannot come from the future; a few minutes of clock skew between systems are allowed."""
    if (reported_at - now).total_seconds() > skew_seconds:
        raise CommandRejected("reported_at", f"{reported_at.isoformat()} is in the future")
