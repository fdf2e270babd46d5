"""PLACEHOLDER until the notification outbox lands (h-dispatch)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from schemas.notification import Notification


async def enqueue(connection: Any, notifications: Sequence[Notification]) -> int:
    return 0
