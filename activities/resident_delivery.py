"""Delivering one resident message on one channel: the ``Deliverer`` the dispatcher calls for ``resident_email`` and
``resident_sms`` rows of the outbox.

For each row, in this order: the reporter opted out (recorded ``opted_out``, not sent); the personal-data store
has no address for the channel, erased or never given (``no_contact``); the message is rendered from the case's
stored events and the channel's template; the address's rate limit is over (``rate_limited``, dropped and
recorded); otherwise it is sent and recorded ``sent``; an address the server refuses for good (no such mailbox,
not a mobile number) is recorded ``undeliverable``. Each of those ends the outbox row as delivered: it was dealt
with, and ``resident_messages`` says how, and one resident's bad address never holds up the channel's queue. Any
other failure (the server unreachable or refusing for now, a template that does not render) raises
``DeliveryFailed``: the dispatcher retries it with backoff and, past its attempts, dead-letters it, like any
webhook notification.

The address is looked up here, at delivery, through ``personal_data`` (the claim check): the workflow and the
outbox never hold it, and an address changed or erased before delivery is the one that counts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from activities import personal_data, resident_messages
from activities.aliyun_sms import SmsRefused
from activities.dispatch import DeliveryFailed
from activities.email_channel import EmailRefused
from activities.event_store import EVENT, Pool
from activities.log import get_logger
from activities.resident_messages import RateLimit, recipient_digest
from activities.resident_notices import MOMENT_LABELS, Moment, due_of, event_seq, moment_in
from activities.resident_templates import Channel, ResidentTemplates, TemplateProblem, china_time
from schemas.events import CaseClosed, ComplaintFiled, Event, WhistleBlown
from schemas.intake import Reporter
from schemas.labels import VALUE_LABELS
from schemas.notification import Notification

RECEIVERS: dict[Channel, str] = {"email": "resident_email", "sms": "resident_sms"}
"""The outbox receiver of each channel."""

HOTLINE_NUMBER = "12345"


class EmailSender(Protocol):
    async def send(self, to: str, subject: str, body: str, *, key: str) -> None: ...


class SmsSender(Protocol):
    async def send(self, phone: str, template_code: str, params: Mapping[str, str], *, key: str) -> None: ...


@dataclass(frozen=True)
class Rendered:
    """A message ready for its channel: the e-mail's subject and body, or the SMS template and its variables."""

    subject: str = ""
    body: str = ""
    template_code: str = ""
    params: Mapping[str, str] | None = None


Send = Callable[[str, Rendered, str], Awaitable[None]]
"""Sends a rendered message to an address, with the delivery key: one channel's way out."""


class ResidentDelivery:
    """The ``Deliverer`` of one channel; build it with ``by_email`` or ``by_sms``."""

    def __init__(
        self, pool: Pool, channel: Channel, templates: ResidentTemplates, send: Send, limit: RateLimit
    ) -> None:
        self._pool = pool
        self.channel = channel
        self._templates = templates
        self._send = send
        self._limit = limit

    @classmethod
    def by_email(
        cls, pool: Pool, templates: ResidentTemplates, sender: EmailSender, limit: RateLimit
    ) -> ResidentDelivery:
        async def send(address: str, rendered: Rendered, key: str) -> None:
            await sender.send(address, rendered.subject, rendered.body, key=key)

        return cls(pool, "email", templates, send, limit)

    @classmethod
    def by_sms(cls, pool: Pool, templates: ResidentTemplates, sender: SmsSender, limit: RateLimit) -> ResidentDelivery:
        async def send(address: str, rendered: Rendered, key: str) -> None:
            await sender.send(address, rendered.template_code, rendered.params or {}, key=key)

        return cls(pool, "sms", templates, send, limit)

    @property
    def receiver(self) -> str:
        return RECEIVERS[self.channel]

    async def deliver(self, notification: Notification) -> None:
        moment = moment_in(notification)
        complaint_id, key = notification.complaint_id, notification.key
        log = get_logger(complaint_id=complaint_id, key=key, receiver=self.receiver, moment=moment)

        async def record(outcome: resident_messages.Outcome, **fields: Any) -> None:
            await resident_messages.record(self._pool, self.channel, key, complaint_id, moment, outcome, **fields)
            log.info("resident message", outcome=outcome)

        if not (await resident_messages.preference_of(self._pool, complaint_id)).enabled:
            return await record("opted_out")
        contact = await personal_data.contact_of(self._pool, complaint_id)
        address = _address(contact, self.channel)
        if contact is None or address is None:
            return await record("no_contact")
        rendered = self._render(moment, await self._context(notification, moment, contact))
        recipient = recipient_digest(self.channel, address)
        decision = await resident_messages.reserve(
            self._pool, self.channel, key, complaint_id, moment, recipient, self._limit
        )
        if decision == "already_sent":
            return None
        if decision == "rate_limited":
            log.warning("resident message over the rate limit: dropped and recorded", limit=self._limit.count)
            return None
        try:
            await self._send(address, rendered, key)
        except Exception as error:
            refused = isinstance(error, EmailRefused | SmsRefused)  # their texts name codes, never the address
            reason = str(error)[:200] if refused else type(error).__name__
            for_good = isinstance(error, EmailRefused | SmsRefused) and error.permanent
            outcome: resident_messages.Outcome = "undeliverable" if for_good else "failed"
            await resident_messages.record(
                self._pool, self.channel, key, complaint_id, moment, outcome, recipient=recipient, error=reason
            )
            if for_good:  # retrying cannot help, and would hold up the channel's queue behind it
                log.warning("resident message undeliverable: the address was refused for good", error=reason)
                return None
            raise DeliveryFailed(reason) from None
        await record("sent", recipient=recipient)

    def _render(self, moment: Moment, context: Mapping[str, Any]) -> Rendered:
        try:
            if self.channel == "email":
                email = self._templates.email(moment, context)
                return Rendered(subject=email.subject, body=email.body)
            sms = self._templates.sms(moment, context)
            return Rendered(template_code=sms.template_code, params=sms.params)
        except TemplateProblem as error:
            raise DeliveryFailed(f"template {error}"[:200]) from None

    async def _context(self, notification: Notification, moment: Moment, contact: Reporter) -> dict[str, Any]:
        """What a template may use, from the stored filing and the moment's own event."""
        seq = event_seq(notification)
        rows = await self._pool.fetch(
            "select seq, payload from events where complaint_id = $1 and seq = any($2::integer[])",
            notification.complaint_id, [1, seq],
        )  # fmt: skip
        events = {row["seq"]: EVENT.validate_python(row["payload"]) for row in rows}
        filed, event = events.get(1), events.get(seq)
        if not isinstance(filed, ComplaintFiled) or event is None:
            raise DeliveryFailed(f"case {notification.complaint_id} is not in the store at seq {seq}")
        return template_context(filed, event, moment, contact)


def template_context(filed: ComplaintFiled, event: Event, moment: Moment, contact: Reporter) -> dict[str, Any]:
    """The variables of every resident template (README, "Residents hear back", lists them)."""
    case = filed.case
    context = case.context
    names = {code: department.name for code, department in context.departments.items()}
    summoned = event.departments if isinstance(event, WhistleBlown) else []
    lead = event.lead if isinstance(event, WhistleBlown) else None
    outcome = event.outcome if isinstance(event, CaseClosed) else None
    return {
        "moment": moment,
        "moment_label": MOMENT_LABELS[moment],
        "case_number": case.complaint_id,
        "title": case.intake.title,
        "category": context.category.name,
        "address": case.intake.location.address,
        "district": context.district,
        "street": context.street.name,
        "community": context.community.name,
        "grid": context.grid.name,
        "reporter_name": contact.name,
        "reported_at": china_time(case.intake.reported_at),
        "at": china_time(event.at),
        "due": china_time(due_of(event)),
        "departments": [names.get(code, code) for code in summoned],
        "lead": names.get(lead, lead) if lead else "",
        "outcome": VALUE_LABELS["outcome"].get(outcome, outcome) if outcome else "",
        "hotline": HOTLINE_NUMBER,
    }


def _address(contact: Reporter | None, channel: Channel) -> str | None:
    if contact is None:
        return None
    return contact.email if channel == "email" else contact.phone
