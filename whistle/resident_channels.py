"""The residents' channels a worker serves, built from the settings: e-mail when an SMTP server is named, SMS when
Aliyun's keys are given, neither otherwise (each channel that is off is logged once, at start).

The templates of every channel that is on are rendered once here, so a broken edit stops the worker at start.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
from limits import parse as parse_rate

from activities.aliyun_sms import AliyunSms, AliyunSmsSettings
from activities.email_channel import SmtpChannel, SmtpSettings
from activities.event_store import Pool
from activities.log import get_logger
from activities.resident_delivery import RECEIVERS, ResidentDelivery
from activities.resident_messages import RateLimit
from activities.resident_templates import Channel, ResidentTemplates
from whistle.settings import DATA_DIR, Settings

SHIPPED_TEMPLATES = DATA_DIR / "resident_templates"


def rate_limit(text: str) -> RateLimit:
    """``5/hour`` as a ``RateLimit`` (the setting is checked when the settings are read)."""
    item = parse_rate(text)
    return RateLimit(count=item.amount, per=timedelta(seconds=item.get_expiry()))


def templates_for(settings: Settings) -> ResidentTemplates:
    return ResidentTemplates(SHIPPED_TEMPLATES, settings.resident_templates)


def resident_deliverers(settings: Settings, pool: Pool, http: httpx.AsyncClient) -> dict[str, ResidentDelivery]:
    """The channels that are on, by outbox receiver name; raises ``TemplateProblem`` for a template that fails."""
    log = get_logger()
    templates = templates_for(settings)
    limit = rate_limit(settings.resident_rate_limit)
    deliverers: list[ResidentDelivery] = []
    if settings.smtp_host:
        smtp = SmtpSettings(
            host=settings.smtp_host, port=settings.smtp_port, sender=settings.smtp_from,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            security=settings.smtp_security,
        )  # fmt: skip
        deliverers.append(ResidentDelivery.by_email(pool, templates, SmtpChannel(smtp), limit))
    else:
        log.info("resident e-mail off: WHISTLE_SMTP_HOST is not set")
    if settings.sms_access_key_id and settings.sms_access_key_secret and settings.sms_sign_name:
        aliyun = AliyunSmsSettings(
            access_key_id=settings.sms_access_key_id,
            access_key_secret=settings.sms_access_key_secret.get_secret_value(),
            sign_name=settings.sms_sign_name, endpoint=settings.sms_endpoint,
        )  # fmt: skip
        deliverers.append(ResidentDelivery.by_sms(pool, templates, AliyunSms(aliyun, http), limit))
    else:
        log.info("resident SMS off: WHISTLE_SMS_ACCESS_KEY_ID / _SECRET / WHISTLE_SMS_SIGN_NAME are not set")
    channels: list[Channel] = [deliverer.channel for deliverer in deliverers]
    templates.check(channels)
    if channels:
        log.info("residents hear back", channels=channels, rate_limit=settings.resident_rate_limit)
    return {RECEIVERS[deliverer.channel]: deliverer for deliverer in deliverers}
