"""Sending notifications: a structured log line always, and a webhook POST when one is configured.

Delivery is at least once: the activity raises on any failure so Temporal retries the whole batch, and
each POST carries ``Idempotency-Key`` (the notification's ``key``) for the receiver to drop repeats.
``deliver`` is the same send tried once, for the case's ``publish`` step: what it could not send goes back to
the workflow, which hands it to the retrying ``notify`` activity.
"""

from __future__ import annotations

import httpx
from temporalio import activity

from activities.dispatch import WebhookRejected, log_notification, post_notification
from schemas.common import Model
from schemas.notification import Notification
from whistle.logging import get_logger

__all__ = ["WEBHOOK_TIMEOUT", "Notifier", "NotifyInput", "WebhookRejected"]

WEBHOOK_TIMEOUT = 10.0
"""Seconds for one POST; a receiver slower than that is treated as down and retried later."""


class NotifyInput(Model):
    """The notifications one workflow step produced, sent in order."""

    notifications: list[Notification]


class Notifier:
    """The ``notify`` activity, holding the webhook URL (None: log only) and an optional shared client."""

    def __init__(self, webhook_url: str | None, client: httpx.AsyncClient | None = None) -> None:
        self._webhook_url = webhook_url
        self._client = client

    @activity.defn(name="notify")
    async def notify(self, input: NotifyInput) -> None:
        """Log every notification, then POST each to the webhook if set; raise if any POST fails."""
        self._log(input.notifications)
        if self._webhook_url is None:
            return
        if self._client is not None:
            await self._post_all(self._client, self._webhook_url, input.notifications)
            return
        async with httpx.AsyncClient() as client:
            await self._post_all(client, self._webhook_url, input.notifications)

    async def deliver(self, notifications: list[Notification]) -> list[Notification]:
        """Send once; return what must be sent again: nothing, or the whole batch after any failure.

        The whole batch rather than the rest after the failure: the retry then keeps the case's order, and the
        ones already sent arrive twice under the same key, which receivers drop.
        """
        if not notifications:
            return []
        try:
            await self.notify(NotifyInput(notifications=notifications))
        except (httpx.HTTPError, WebhookRejected) as error:
            get_logger(complaint_id=notifications[0].complaint_id).warning(
                "notifications not delivered, handed to the retrying notify activity", error=type(error).__name__
            )
            return list(notifications)
        return []

    def _log(self, notifications: list[Notification]) -> None:
        for notification in notifications:
            log_notification(notification, webhook=self._webhook_url is not None)

    @staticmethod
    async def _post_all(client: httpx.AsyncClient, url: str, notifications: list[Notification]) -> None:
        for notification in notifications:
            await post_notification(client, url, notification, WEBHOOK_TIMEOUT)
