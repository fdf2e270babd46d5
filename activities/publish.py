"""The ``publish`` local activity: a case's new events into the store and its notifications out, in one step.

It runs inside the workflow task that decided the events, so a command costs one workflow task and one
marker in the history instead of two activities (three events and a workflow task each). Its result holds
the events it stored and the notifications it sent: the marker is how the history records them, and
``WhistleClient.events`` reads them back from it. Notifications it could not send go back to the workflow,
which hands them to the retrying ``notify`` activity, so a webhook outage never holds up the store.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from temporalio import activity

from activities.event_store import AppendEventsInput, EventStore
from activities.notify import Notifier
from schemas.common import Model
from schemas.events import RecordedEvent
from schemas.notification import Notification

PUBLISH = "publish"
"""The activity's name, which ``WhistleClient.events`` looks for among the history's markers."""


class PublishInput(AppendEventsInput):
    """A batch of the case's events (possibly none) and the notifications the same commands produced."""

    notifications: list[Notification]


class PublishResult(Model):
    """What the step did, recorded in the history: the events stored, the notifications sent and not sent."""

    events: list[RecordedEvent]
    notified: list[Notification]
    undelivered: list[Notification]


class PublishReceipt(BaseModel):
    """The part of a ``PublishResult`` the workflow acts on. Reading only this spares the workflow validating
    every event it just sent back into models (the history keeps the whole result for its readers)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    undelivered: list[Notification]


class Publisher:
    """The ``publish`` activity over the same store and notifier the ordinary activities use."""

    def __init__(self, store: EventStore, notifier: Notifier) -> None:
        self._store = store
        self._notifier = notifier

    @activity.defn(name=PUBLISH)
    async def publish(self, input: PublishInput) -> PublishResult:
        """Store the events (raising, so it is retried, while the database is down), then try the notifications once."""
        if input.events:
            await self._store.write(input)
        undelivered = await self._notifier.deliver(input.notifications)
        notified = input.notifications if not undelivered else []
        return PublishResult(events=input.events, notified=notified, undelivered=undelivered)
