"""SMS to residents through Aliyun SMS (阿里云短信服务, dysmsapi ``SendSms``, API version 2017-05-25).

The adapter speaks Aliyun's RPC protocol directly over httpx rather than through Aliyun's SDK (a large dependency
tree for one call). Every request is signed as Aliyun's "signature mechanism" for RPC APIs specifies
(SignatureVersion 1.0, HMAC-SHA1): the parameters, ``Signature`` excepted, sorted by name and each name and value
percent-encoded per RFC 3986 (``A-Z a-z 0-9 - _ . ~`` kept, space as ``%20``), joined as a query string;
``StringToSign = METHOD & percent("/") & percent(query)``; ``Signature = Base64(HMAC-SHA1(secret + "&",
StringToSign))``. ``tests/test_aliyun_sms.py`` reproduces Aliyun's published example with these functions.

The request is a form POST (the phone number stays out of URLs and their logs). Aliyun answers HTTP 200 with
``{"Code": "OK", ...}`` when it has taken the message; any other code is a failure the dispatcher retries and,
in the end, dead-letters; its ``Code`` (``isv.BUSINESS_LIMIT_CONTROL``...) is what the outbox row records.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

import httpx

ENDPOINT = "https://dysmsapi.aliyuncs.com/"
API_VERSION = "2017-05-25"


PERMANENT_CODES = frozenset({"isv.MOBILE_NUMBER_ILLEGAL"})
"""Aliyun's answers that no retry can change for this number (the number is not a valid mobile number)."""


class SmsRefused(RuntimeError):
    """Aliyun did not take the message (or could not be reached); the text is its ``Code``, never the number.
    ``permanent``: refused for good for this number (``PERMANENT_CODES``)."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


@dataclass(frozen=True)
class AliyunSmsSettings:
    access_key_id: str
    access_key_secret: str
    sign_name: str
    """The approved 短信签名 that heads every message (【...】)."""
    endpoint: str = ENDPOINT
    region: str = "cn-hangzhou"
    timeout: float = 10.0


def percent_encode(text: str) -> str:
    """RFC 3986 encoding as Aliyun's signature specifies: unreserved characters kept, everything else ``%XY`` of its
    UTF-8 bytes (a space is ``%20``, ``*`` is ``%2A``, ``~`` stays)."""
    return quote(text, safe="-_.~")


def canonical_query(parameters: Mapping[str, str]) -> str:
    """The parameters but ``Signature``, sorted by name, encoded and joined with ``&``."""
    return "&".join(
        f"{percent_encode(name)}={percent_encode(value)}"
        for name, value in sorted(parameters.items())
        if name != "Signature"
    )


def string_to_sign(method: str, parameters: Mapping[str, str]) -> str:
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonical_query(parameters))}"


def signature(secret: str, method: str, parameters: Mapping[str, str]) -> str:
    """``Base64(HMAC-SHA1(secret + "&", StringToSign))``."""
    digest = hmac.new(f"{secret}&".encode(), string_to_sign(method, parameters).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def timestamp(moment: datetime) -> str:
    """Aliyun's ``Timestamp``: ISO 8601 in UTC to the second (``2017-07-12T02:42:19Z``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class AliyunSms:
    """Sends one templated SMS through ``SendSms``."""

    def __init__(self, settings: AliyunSmsSettings, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self._http = http

    def signed(self, phone: str, template_code: str, params: Mapping[str, str], *, out_id: str,
               now: datetime, nonce: str) -> dict[str, str]:  # fmt: skip
        """The ``SendSms`` parameters for one message, ``Signature`` included."""
        settings = self.settings
        parameters = {
            "AccessKeyId": settings.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "OutId": out_id[:64],
            "PhoneNumbers": phone,
            "RegionId": settings.region,
            "SignName": settings.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": nonce,
            "SignatureVersion": "1.0",
            "TemplateCode": template_code,
            "TemplateParam": json.dumps(dict(params), ensure_ascii=False, separators=(",", ":")),
            "Timestamp": timestamp(now),
            "Version": API_VERSION,
        }
        return {**parameters, "Signature": signature(settings.access_key_secret, "POST", parameters)}

    async def send(self, phone: str, template_code: str, params: Mapping[str, str], *, key: str) -> None:
        """Send one message; raise ``SmsRefused`` unless Aliyun answers ``Code: OK``. ``key`` (the delivery key) goes
        as ``OutId``, which Aliyun returns in its delivery receipts."""
        signed = self.signed(phone, template_code, params, out_id=key, now=datetime.now(UTC), nonce=uuid.uuid4().hex)
        try:
            response = await self._http.post(
                self.settings.endpoint,
                content=form_body(signed),
                headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
                timeout=self.settings.timeout,
            )
        except httpx.HTTPError as error:
            raise SmsRefused(f"Aliyun SMS unreachable: {type(error).__name__}") from None
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        code = answer.get("Code") if isinstance(answer, dict) else None
        if response.status_code != 200 or code != "OK":
            reason = f"Aliyun SMS answered {response.status_code} {str(code or 'no Code')[:80]}"
            raise SmsRefused(reason, permanent=code in PERMANENT_CODES)


def form_body(parameters: Mapping[str, str]) -> str:
    """The form body: every parameter, ``Signature`` too, encoded the same way as for signing."""
    return "&".join(f"{percent_encode(name)}={percent_encode(value)}" for name, value in parameters.items())
