"""What the workflows ask of the infrastructure: each activity's name and input. The workflows send these; the
activities (``activities/``) implement them, so the application never imports the infrastructure.
"""

from __future__ import annotations

from schemas.common import ComplaintId, Model
from schemas.events import RecordedEvent
from schemas.notification import Notification

STORE = "store"
"""The activity's name, which ``whistle.recorded`` looks for among the history's scheduled activities."""

STORE_REFUSED = "StoreRefused"
"""The failure type of a batch the store will never take; the workflow's retry policy does not retry it."""

class StoreInput(Model):
    """A batch of one case's events (in ``seq`` order, possibly none) and the notifications decided with them."""

    complaint_id: ComplaintId
    workflow_id: str
    run_id: str
    events: list[RecordedEvent]
    notifications: list[Notification]
