"""A notification: who must hear about a case, and why. Built in the workflow, sent by an activity."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime

from schemas.common import Model

NotificationKind = Literal["event", "warning"]


class Notification(Model):
    """One message for one audience. ``kind="warning"`` is a 预警: a deadline is near.

    ``key`` is unique per case and notification, so a receiver can drop the duplicates that at-least-once
    delivery may bring.
    """

    key: str
    complaint_id: str
    kind: NotificationKind
    topic: str
    audience: list[str]
    message: str
    at: AwareDatetime
    due: AwareDatetime | None = None
