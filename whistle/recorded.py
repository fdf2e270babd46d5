"""What a case's Temporal history says it stored and sent, read back from the history itself.

Cases started under ``STORE_TRAILS`` record both as the inputs of their ``store`` activities. Cases started
before ``LOCAL_PUBLISH`` record their events as the inputs of ``append_events`` activities and their
notifications as the inputs of ``notify``; cases between the two record both as the results of ``publish``
local activities (a marker per step), with ``notify`` inputs only for notifications ``publish`` could not send.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHandle
from temporalio.converter import DataConverter

from activities.event_store import AppendEventsInput
from activities.notify import NotifyInput
from activities.publish import PUBLISH, PublishResult
from activities.store import STORE, StoreInput
from schemas.events import RecordedEvent
from schemas.notification import Notification

LOCAL_ACTIVITY_MARKER = "core_local_activity"
"""The marker name the SDK's core gives a completed local activity."""


@dataclass
class Recorded:
    """A case's events and notifications, in history order."""

    events: list[RecordedEvent] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)


async def recorded_in(handle: WorkflowHandle[Any, Any], converter: DataConverter) -> Recorded:
    """Everything the case's history recorded as stored or handed to ``notify``."""
    recorded = Recorded()
    async for history_event in handle.fetch_history_events():
        async for item in _items(history_event, converter):
            if isinstance(item, AppendEventsInput):
                recorded.events.extend(item.events)
            elif isinstance(item, NotifyInput):
                recorded.notifications.extend(item.notifications)
            elif isinstance(item, StoreInput):
                recorded.events.extend(item.events)
                recorded.notifications.extend(item.notifications)
            else:
                recorded.events.extend(item.events)
                recorded.notifications.extend(item.notified)
    return recorded


async def _items(
    history_event: HistoryEvent, converter: DataConverter
) -> AsyncIterator[AppendEventsInput | NotifyInput | StoreInput | PublishResult]:
    if history_event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        attributes = history_event.activity_task_scheduled_event_attributes
        kinds: dict[str, type[AppendEventsInput] | type[NotifyInput] | type[StoreInput]] = {
            "append_events": AppendEventsInput, "notify": NotifyInput, STORE: StoreInput,
        }  # fmt: skip
        kind = kinds.get(attributes.activity_type.name)
        if kind is not None:
            [item] = await converter.decode(attributes.input.payloads, [kind])
            yield item
    elif history_event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
        marker = history_event.marker_recorded_event_attributes
        if marker.marker_name != LOCAL_ACTIVITY_MARKER or "result" not in marker.details:
            return
        [data] = await converter.decode(marker.details["data"].payloads, [dict])
        if data.get("activity_type") == PUBLISH:
            [result] = await converter.decode(marker.details["result"].payloads, [PublishResult])
            yield result
