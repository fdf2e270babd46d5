"""What a case's Temporal history says it stored and sent, read back from the history itself.

Every batch a case sends leaves through the ordinary ``store`` activity (``workflows/outbox.py``), and an
activity's input is recorded in the history when it is scheduled: the scheduled ``store`` activities, in
order, hold every event and notification the case decided.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.converter import DataConverter

from schemas.events import RecordedEvent
from schemas.notification import Notification
from workflows.ports import STORE, StoreInput


@dataclass
class Recorded:
    """A case's events and notifications, in history order."""

    events: list[RecordedEvent] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)


async def recorded_in(handle: WorkflowHandle[Any, Any], converter: DataConverter) -> Recorded:
    """Everything the case's history recorded as handed to ``store``."""
    recorded = Recorded()
    async for history_event in handle.fetch_history_events():
        if history_event.event_type != EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            continue
        attributes = history_event.activity_task_scheduled_event_attributes
        if attributes.activity_type.name == STORE:
            [batch] = await converter.decode(attributes.input.payloads, [StoreInput])
            recorded.events.extend(batch.events)
            recorded.notifications.extend(batch.notifications)
    return recorded
