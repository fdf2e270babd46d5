"""The moments a reporter hears about, read off the events the store appends: filed, whistle blown, extension
approved, handled (rate it), closed.

Why from the events and not from the workflow's notices (``workflows/notices.py``): the notices name the reporter
for handled, extension approved and closed, but not for filing or the whistle, and changing what a workflow
decides changes the ``store`` activities its recorded histories replay against. The events carry every moment, the
store writes them in the same transaction as the outbox, so each resident message is queued exactly when its
event is stored, once per event and channel, without a line of workflow code. The message is rendered at delivery
from the stored events and the operator's templates (``activities/resident_templates.py``), and sent to whatever
address ``personal_data`` holds then.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal, get_args

from schemas.events import (
    CaseClosed,
    ComplaintFiled,
    Event,
    ExtensionApproved,
    HandlingCompleted,
    RecordedEvent,
    ResolvedInGrid,
    WhistleBlown,
)
from schemas.notification import Notification

Moment = Literal["filed", "whistled", "extended", "handled", "closed"]
MOMENTS: tuple[Moment, ...] = get_args(Moment)

MOMENT_LABELS: dict[Moment, str] = {
    "filed": "已受理",
    "whistled": "已吹哨",
    "extended": "已延期",
    "handled": "已处置，请评价",
    "closed": "已办结",
}

REPORTER = "reporter"
"""The audience of every resident message (the workflow's notices use the same word)."""

_KEY_SUFFIX = "/resident"


def moment_of(event: Event) -> Moment | None:
    """Which moment ``event`` is for the reporter, if any."""
    match event:
        case ComplaintFiled():
            return "filed"
        case WhistleBlown():
            return "whistled"
        case ExtensionApproved():
            return "extended"
        case HandlingCompleted() | ResolvedInGrid():
            return "handled"
        case CaseClosed():
            return "closed"
        case _:
            return None


def resident_notices(events: Sequence[RecordedEvent]) -> list[Notification]:
    """One notification per reporter moment among ``events``; its key names the event (``<case>/<seq>/resident``),
    so a retried batch queues nothing twice and the deliverer finds the event again."""
    notices = []
    for recorded in events:
        moment = moment_of(recorded.event)
        if moment is None:
            continue
        event = recorded.event
        notices.append(
            Notification(
                key=f"{recorded.complaint_id}/{recorded.seq}{_KEY_SUFFIX}",
                complaint_id=recorded.complaint_id,
                kind="event",
                topic=moment,
                audience=[REPORTER],
                message=MOMENT_LABELS[moment],
                at=event.at,
                due=due_of(event),
            )
        )
    return notices


def due_of(event: Event) -> datetime | None:
    """The deadline a moment tells the reporter: report-in after the whistle, the new handling deadline after an
    extension, the end of the rating window once handled."""
    match event:
        case WhistleBlown():
            return event.report_in_due
        case ExtensionApproved():
            return event.handling_due
        case HandlingCompleted() | ResolvedInGrid():
            return event.evaluation_due
        case _:
            return None


def event_seq(notification: Notification) -> int:
    """The seq of the event a resident notification was made from (its key says it)."""
    key = notification.key.removesuffix(_KEY_SUFFIX)
    if key == notification.key:
        raise ValueError(f"{notification.key} is not a resident notification")
    return int(key.rsplit("/", 1)[1])


def moment_in(notification: Notification) -> Moment:
    """The moment a resident notification is for."""
    if notification.topic not in MOMENTS:
        raise ValueError(f"{notification.key}: {notification.topic!r} is not a resident moment")
    return notification.topic
