"""Publication (公开): what the public may see of a case, decided by a moderator. Pure.

Nothing of a case is public until a moderator publishes it: the case's community secretary, its first secretary
or its street secretary, who writes a public title and description of their own (no names, no home address) and
answers for them. The public then sees that text, the category, the stage and the place coarsened to the grid
and community, never the address or coordinates the intake gave. A reporter who declined publication at filing
(``Reporter.publish_consent``) is respected: such a case is not published.

Publication outlives the case's workflow (cases are often published once resolved, after they close) and holds
no personal data, so it is a small stream of its own in PostgreSQL (``activities/publication.py``), decided here
and written by the SDK, not an event in the case's Temporal history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from schemas.actors import Actor
from schemas.common import LongText, Model, ShortText
from schemas.errors import CommandRejected
from schemas.org import CaseContext


class PublishCase(Model):
    """A moderator publishes the case (or replaces its public text)."""

    type: Literal["publish"] = "publish"
    actor: Actor
    public_title: ShortText
    public_description: LongText


class UnpublishCase(Model):
    """A moderator takes the case off the public lists, with a reason."""

    type: Literal["unpublish"] = "unpublish"
    actor: Actor
    reason: ShortText


PublicationCommand = Annotated[PublishCase | UnpublishCase, Field(discriminator="type")]


class CasePublished(Model):
    type: Literal["CasePublished"] = "CasePublished"
    at: AwareDatetime
    by: Actor
    public_title: str
    public_description: str


class CaseUnpublished(Model):
    type: Literal["CaseUnpublished"] = "CaseUnpublished"
    at: AwareDatetime
    by: Actor
    reason: str


PublicationEvent = Annotated[CasePublished | CaseUnpublished, Field(discriminator="type")]


def moderators(context: CaseContext) -> set[tuple[str, str]]:
    """Who may publish this case: its community secretary, its first secretary, its street secretary."""
    return {
        ("community_secretary", context.community.secretary.id),
        ("first_secretary", context.community.first_secretary.id),
        ("street_secretary", context.street.secretary.id),
    }


def decide_publication(
    context: CaseContext,
    published: bool,
    consent: bool | None,
    command: PublishCase | UnpublishCase,
    now: datetime,
) -> CasePublished | CaseUnpublished:
    """The event ``command`` records for a case with ``context``, public now or not, whose reporter gave
    ``consent`` (None: not asked); ``CommandRejected`` naming the field if it may not."""
    actor = command.actor
    if (actor.kind, actor.id) not in moderators(context):
        raise CommandRejected(
            "actor", f"{actor.kind} {actor.id} may not: only the case's community, first or street secretary publishes"
        )
    if isinstance(command, UnpublishCase):
        if not published:
            raise CommandRejected("published", "the case is not public")
        return CaseUnpublished(at=now, by=actor, reason=command.reason)
    if consent is False:
        raise CommandRejected("publish_consent", "the reporter declined publication when filing")
    return CasePublished(
        at=now, by=actor, public_title=command.public_title, public_description=command.public_description
    )
