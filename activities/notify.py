"""Sending notifications: a structured log line always, and a webhook POST when one is configured.

Delivery is at least once: the activity raises on any failure so Temporal retries the whole batch, and
each POST carries ``Idempotency-Key`` (the notification's ``key``) for the receiver to drop repeats.
"""

from __future__ import annotations

import httpx
from temporalio import activity

from schemas.common import Model
from schemas.notification import Notification
from whistle.logging import get_logger

WEBHOOK_TIMEOUT = 10.0
"""Seconds for one POST; a receiver slower than that is treated as down and retried later."""


class NotifyInput(Model):
    """The notifications one workflow step produced, sent in order."""

    notifications: list[Notification]


class WebhookRejected(RuntimeError):
    """The webhook answered with a non-2xx status; raised so the activity is retried."""


class Notifier:
    """The ``notify`` activity, holding the webhook URL (None: log only) and an optional shared client."""

    def __init__(self, webhook_url: str | None, client: httpx.AsyncClient | None = None) -> None:
        self._webhook_url = webhook_url
        self._client = client

    @activity.defn(name="notify")
    async def notify(self, input: NotifyInput) -> None:
        """Log every notification, then POST each to the webhook if set; raise if any POST fails."""
        for notification in input.notifications:
            # The message text is left out: it may quote what a resident wrote. Notifications carry no
            # reporter name or phone, so nothing here is personal data.
            get_logger(
                complaint_id=notification.complaint_id,
                kind=notification.kind,
                topic=notification.topic,
                audience=notification.audience,
                key=notification.key,
            ).info("notification", webhook=self._webhook_url is not None)
        if self._webhook_url is None:
            return
        if self._client is not None:
            await self._post_all(self._client, self._webhook_url, input.notifications)
            return
        async with httpx.AsyncClient() as client:
            await self._post_all(client, self._webhook_url, input.notifications)

    @staticmethod
    async def _post_all(client: httpx.AsyncClient, url: str, notifications: list[Notification]) -> None:
        for notification in notifications:
            response = await client.post(
                url,
                json=notification.model_dump(mode="json"),
                headers={"Idempotency-Key": notification.key},
                timeout=WEBHOOK_TIMEOUT,
            )
            if not response.is_success:
                # The URL is left out of the error: it may hold a token, and errors land in the history.
                raise WebhookRejected(
                    f"webhook answered {response.status_code} for notification {notification.key}"
                )
