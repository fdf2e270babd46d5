"""The Aliyun SMS adapter: its signature reproduces Aliyun's published example, and its SendSms requests are taken
by a real HTTP server playing the endpoint, which checks the signature as Aliyun documents it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from activities.aliyun_sms import AliyunSms, AliyunSmsSettings, SmsRefused, percent_encode, signature, string_to_sign
from tests.sms_endpoint import SmsEndpoint, serving

PUBLISHED_EXAMPLE = {
    "TimeStamp": "2016-02-23T12:46:24Z",
    "Format": "XML",
    "AccessKeyId": "testid",
    "Action": "DescribeRegions",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
    "Version": "2014-05-26",
    "SignatureVersion": "1.0",
}
"""Aliyun's worked example of the RPC signature ("API 签名机制（示例）", https://developer.aliyun.com/ask/210168; the
same value heads Aliyun's "Signature mechanism" pages): a GET of DescribeRegions with AccessKey id ``testid`` and
secret ``testsecret``. The request URL's parameters, as the page gives them."""

PUBLISHED_SIGNATURE = "CT9X0VtwR86fNWSnsc6v8YGOjuE="
"""The signature the page computes ("计算得到的签名值为"); its final URL carries it as
``Signature=CT9X0VtwR86fNWSnsc6v8YGOjuE%3D``."""

SECRET = "test-secret-不是真的"


def test_signature_reproduces_aliyuns_published_example() -> None:
    assert signature("testsecret", "GET", PUBLISHED_EXAMPLE) == PUBLISHED_SIGNATURE
    assert percent_encode(PUBLISHED_SIGNATURE) == "CT9X0VtwR86fNWSnsc6v8YGOjuE%3D"
    signed_text = string_to_sign("GET", PUBLISHED_EXAMPLE)
    # As the page shows it: the method, the encoded "/", and the query encoded once more (":" twice: %253A).
    assert signed_text.startswith("GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions")
    assert "TimeStamp%3D2016-02-23T12%253A46%253A24Z" in signed_text


def test_percent_encoding_follows_rfc_3986_as_aliyun_specifies() -> None:
    assert percent_encode("a b*c~d-e_f.g") == "a%20b%2Ac~d-e_f.g"
    assert percent_encode("阿里") == "%E9%98%BF%E9%87%8C"


@pytest.fixture
async def endpoint() -> SmsEndpoint:
    return SmsEndpoint(secret=SECRET)


async def test_send_sms_posts_a_request_the_endpoint_verifies(endpoint: SmsEndpoint) -> None:
    async with serving(endpoint), httpx.AsyncClient() as http:
        sms = AliyunSms(
            AliyunSmsSettings(access_key_id="LTAI-test", access_key_secret=SECRET, sign_name="兴工区社区治理",
                              endpoint=endpoint.url),
            http,
        )  # fmt: skip
        await sms.send("13800138000", "SMS_123456", {"case": "WB-0001"}, key="WB-0001/1/resident")
        await sms.send("13800138000", "SMS_123456", {"case": "WB-0001"}, key="WB-0001/4/resident")
    assert endpoint.verified == [True, True]
    assert endpoint.methods == ["POST", "POST"]
    first, second = endpoint.requests
    assert {key: first[key] for key in ("Action", "Version", "Format", "RegionId", "SignatureMethod")} == {
        "Action": "SendSms", "Version": "2017-05-25", "Format": "JSON", "RegionId": "cn-hangzhou",
        "SignatureMethod": "HMAC-SHA1",
    }  # fmt: skip
    assert first["SignatureVersion"] == "1.0"
    assert first["AccessKeyId"] == "LTAI-test"
    assert first["PhoneNumbers"] == "13800138000"
    assert first["SignName"] == "兴工区社区治理"
    assert first["TemplateCode"] == "SMS_123456"
    assert json.loads(first["TemplateParam"]) == {"case": "WB-0001"}
    assert first["OutId"] == "WB-0001/1/resident"
    sent_at = datetime.strptime(first["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - sent_at) < timedelta(minutes=1)
    assert first["SignatureNonce"] != second["SignatureNonce"]


async def test_a_wrong_secret_is_refused_by_the_endpoint(endpoint: SmsEndpoint) -> None:
    async with serving(endpoint), httpx.AsyncClient() as http:
        sms = AliyunSms(
            AliyunSmsSettings(access_key_id="LTAI-test", access_key_secret="wrong", sign_name="兴工区",
                              endpoint=endpoint.url),
            http,
        )  # fmt: skip
        with pytest.raises(SmsRefused, match="SignatureDoesNotMatch"):
            await sms.send("13800138000", "SMS_123456", {"case": "WB-0001"}, key="k")
    assert endpoint.verified == [False]


@pytest.mark.parametrize(
    ("code", "for_good"), [("isv.BUSINESS_LIMIT_CONTROL", False), ("isv.MOBILE_NUMBER_ILLEGAL", True)]
)
async def test_a_provider_refusal_names_its_code_and_not_the_number(
    endpoint: SmsEndpoint, code: str, for_good: bool
) -> None:
    endpoint.code = code
    async with serving(endpoint), httpx.AsyncClient() as http:
        sms = AliyunSms(
            AliyunSmsSettings(access_key_id="LTAI-test", access_key_secret=SECRET, sign_name="兴工区",
                              endpoint=endpoint.url),
            http,
        )  # fmt: skip
        with pytest.raises(SmsRefused) as refused:
            await sms.send("13800138000", "SMS_123456", {"case": "WB-0001"}, key="k")
    assert code in str(refused.value) and refused.value.permanent is for_good
    assert "13800138000" not in str(refused.value)
