"""Residents hear back: a case filed on a real Temporal dev server, with the worker and its dispatcher running, ends
with e-mail in a real SMTP server (aiosmtpd), rendered from the templates; an opt-out stops it; the rate limit drops
what is over it and records it; a refusing server retries into a dead letter; SMS reaches a local endpoint playing
Aliyun's, signed.

Each test has a database of its own: the outbox delivers each receiver's rows in order, so a row another test left
would come first (and to that test's mailbox)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.aliyun_sms import AliyunSms, AliyunSmsSettings
from activities.email_channel import SmtpChannel, SmtpSettings
from activities.event_store import Pool
from activities.notification_outbox import list_notifications
from activities.resident_delivery import ResidentDelivery
from activities.resident_messages import RateLimit
from activities.resident_templates import ResidentTemplates
from cli.mail_sink import MailSink, ReceivedMail
from schemas.commands import PersonCommand
from tests.domain_fixtures import RESIDENT, blow, complete, evaluate, report_in, verify
from tests.helpers import TestClient, new_intake, running_worker, wait_until
from tests.ports import free_port
from tests.sms_endpoint import SmsEndpoint, serving
from whistle.client import workflow_id_for
from whistle.resident_channels import SHIPPED_TEMPLATES

LEAD = "urban_management"
HAPPY_PATH: list[PersonCommand] = [
    verify(), blow(LEAD, lead=LEAD), report_in(LEAD), complete(LEAD), evaluate("satisfied"),
]  # fmt: skip
PLENTY = RateLimit(count=100, per=timedelta(hours=1))


@pytest.fixture
async def sink() -> AsyncIterator[MailSink]:
    async with MailSink(free_port()) as started:
        yield started


def by_email(pool: Pool, sink: MailSink, limit: RateLimit = PLENTY) -> dict[str, ResidentDelivery]:
    sender = "兴工区社区治理 <noreply@xinggong.example>"
    smtp = SmtpChannel(SmtpSettings(host="127.0.0.1", port=sink.port, sender=sender))
    return {"resident_email": ResidentDelivery.by_email(pool, ResidentTemplates(SHIPPED_TEMPLATES), smtp, limit)}


def resident_email() -> str:
    return f"resident-{uuid.uuid4().hex[:10]}@example.com"


def file_with_email(address: str | None) -> dict[str, object]:
    reporter: dict[str, object] = {"name": "苏慧敏", "phone": "13000000106", "resident_id": RESIDENT}
    if address is not None:
        reporter["email"] = address
    return {"reporter": reporter}


def mails_to(sink: MailSink, address: str) -> list[ReceivedMail]:
    return [mail for mail in sink.received if address in mail.recipients]


async def play(client: TestClient, complaint_id: str, commands: list[PersonCommand]) -> None:
    for command in commands:
        await client.execute(complaint_id, command)


async def moments_recorded(client: TestClient, complaint_id: str) -> dict[str, str]:
    answer = await client.resident_notifications(complaint_id)
    return {message.moment: message.outcome for message in answer.messages}


async def test_a_filed_case_ends_in_the_reporters_mailbox_rendered_from_the_templates(
    dev_env: WorkflowEnvironment, own_pool: Pool, sink: MailSink
) -> None:
    address = resident_email()
    async with running_worker(dev_env.client, own_pool, residents=by_email(own_pool, sink)) as client:
        intake = new_intake(**file_with_email(address))
        complaint_id = (await client.submit(intake)).complaint_id

        async def filed_mail() -> bool:
            return len(mails_to(sink, address)) >= 1

        await wait_until(filed_mail)
        filed = mails_to(sink, address)[0]
        assert filed.subject == f"您反映的问题已受理（工单号 {complaint_id}）"
        assert filed.body.startswith("苏慧敏，您好：")
        assert f"工单号：{complaint_id}" in filed.body and intake.title in filed.body
        assert filed.message["From"] == "兴工区社区治理 <noreply@xinggong.example>"

        await play(client, complaint_id, HAPPY_PATH)
        await client.temporal.get_workflow_handle(workflow_id_for(complaint_id)).result()

        async def every_moment() -> bool:
            return len(mails_to(sink, address)) >= 4

        await wait_until(every_moment)
        subjects = [mail.subject for mail in mails_to(sink, address)]
        assert subjects == [
            f"您反映的问题已受理（工单号 {complaint_id}）",
            f"工单 {complaint_id}：社区已吹哨，召集部门处理",
            f"工单 {complaint_id}：问题已处置，请您评价",
            f"工单 {complaint_id} 已办结（满意）",
        ]
        assert "区城市管理局（牵头：区城市管理局）" in mails_to(sink, address)[1].body  # the summoned, by name
        assert await moments_recorded(client, complaint_id) == {
            "filed": "sent", "whistled": "sent", "handled": "sent", "closed": "sent"
        }  # fmt: skip


async def test_an_opted_out_reporter_hears_nothing_more(
    dev_env: WorkflowEnvironment, own_pool: Pool, sink: MailSink
) -> None:
    address = resident_email()
    async with running_worker(dev_env.client, own_pool, residents=by_email(own_pool, sink)) as client:
        complaint_id = (await client.submit(new_intake(**file_with_email(address)))).complaint_id

        async def filed_mail() -> bool:
            return len(mails_to(sink, address)) == 1

        await wait_until(filed_mail)
        answer = await client.set_resident_notifications(complaint_id, enabled=False, by="operator:op-12345-01")
        assert not answer.enabled and answer.changed_by == "operator:op-12345-01"
        await play(client, complaint_id, HAPPY_PATH)
        await client.temporal.get_workflow_handle(workflow_id_for(complaint_id)).result()

        async def all_recorded() -> bool:
            return len(await moments_recorded(client, complaint_id)) == 4

        await wait_until(all_recorded)
        assert await moments_recorded(client, complaint_id) == {
            "filed": "sent", "whistled": "opted_out", "handled": "opted_out", "closed": "opted_out"
        }  # fmt: skip
        assert len(mails_to(sink, address)) == 1


async def test_messages_over_the_rate_limit_are_dropped_and_recorded(
    dev_env: WorkflowEnvironment, own_pool: Pool, sink: MailSink
) -> None:
    address = resident_email()
    two_an_hour = by_email(own_pool, sink, RateLimit(count=2, per=timedelta(hours=1)))
    async with running_worker(dev_env.client, own_pool, residents=two_an_hour) as client:
        complaint_id = (await client.submit(new_intake(**file_with_email(address)))).complaint_id
        await play(client, complaint_id, HAPPY_PATH)
        await client.temporal.get_workflow_handle(workflow_id_for(complaint_id)).result()
        # A second case by the same resident: the limit is per address, not per case.
        second = (await client.submit(new_intake(**file_with_email(address.upper())))).complaint_id

        async def all_recorded() -> bool:
            return len(await moments_recorded(client, complaint_id)) == 4 and bool(
                await moments_recorded(client, second)
            )

        await wait_until(all_recorded)
        assert await moments_recorded(client, complaint_id) == {
            "filed": "sent", "whistled": "sent", "handled": "rate_limited", "closed": "rate_limited"
        }  # fmt: skip
        assert await moments_recorded(client, second) == {"filed": "rate_limited"}
        assert len(mails_to(sink, address)) == 2
        # Dropped, not lost: the outbox rows are done with, none left pending or dead.
        undelivered = await list_notifications(own_pool, "undelivered")
        assert [row for row in undelivered if row.receiver == "resident_email"] == []


async def test_a_reporter_without_an_address_is_recorded_and_not_mailed(
    dev_env: WorkflowEnvironment, own_pool: Pool, sink: MailSink
) -> None:
    async with running_worker(dev_env.client, own_pool, residents=by_email(own_pool, sink)) as client:
        complaint_id = (await client.submit(new_intake(**file_with_email(None)))).complaint_id

        async def recorded() -> bool:
            return bool(await moments_recorded(client, complaint_id))

        await wait_until(recorded)
        assert await moments_recorded(client, complaint_id) == {"filed": "no_contact"}
        assert sink.received == []


async def test_a_mail_server_refusing_for_now_is_retried_into_a_dead_letter(
    dev_env: WorkflowEnvironment, own_pool: Pool
) -> None:
    async with (
        MailSink(free_port(), refuse="451 4.3.0 try again later") as refusing,
        running_worker(dev_env.client, own_pool, residents=by_email(own_pool, refusing)) as client,
    ):
        complaint_id = (await client.submit(new_intake(**file_with_email(resident_email())))).complaint_id

        async def dead() -> bool:
            rows = await list_notifications(own_pool, "dead", complaint_id=complaint_id)
            return any(row.receiver == "resident_email" for row in rows)

        await wait_until(dead)
        (row,) = [row for row in await list_notifications(own_pool, "dead") if row.receiver == "resident_email"]
        assert row.attempts == 5 and row.last_error == "SMTP refused the recipient (451 4.3.0)"
        assert await moments_recorded(client, complaint_id) == {"filed": "failed"}


async def test_an_address_refused_for_good_is_recorded_and_holds_up_nobody(
    dev_env: WorkflowEnvironment, own_pool: Pool
) -> None:
    bad, good = resident_email(), resident_email()
    async with (
        MailSink(free_port(), refuse="550 5.1.1 no such mailbox", refused={bad}) as sink,
        running_worker(dev_env.client, own_pool, residents=by_email(own_pool, sink)) as client,
    ):
        refused = (await client.submit(new_intake(**file_with_email(bad)))).complaint_id
        mailed = (await client.submit(new_intake(**file_with_email(good)))).complaint_id

        async def both_recorded() -> bool:
            return bool(await moments_recorded(client, refused)) and bool(await moments_recorded(client, mailed))

        await wait_until(both_recorded, within=5)  # no retries: far less than the dead letter's backoff
        assert await moments_recorded(client, refused) == {"filed": "undeliverable"}
        assert await moments_recorded(client, mailed) == {"filed": "sent"}
        assert [mail.recipients for mail in sink.received] == [[good]]
        (message,) = (await client.resident_notifications(refused)).messages
        assert message.error == "SMTP refused the recipient (550 5.1.1)"
        undelivered = await list_notifications(own_pool, "undelivered")
        assert [row for row in undelivered if row.receiver == "resident_email"] == []


async def test_the_reporter_gets_a_signed_sms_through_the_provider_endpoint(
    dev_env: WorkflowEnvironment, own_pool: Pool
) -> None:
    endpoint = SmsEndpoint(secret="sms-secret")
    async with serving(endpoint), httpx.AsyncClient() as http:
        aliyun = AliyunSms(
            AliyunSmsSettings(access_key_id="LTAI-whistle", access_key_secret="sms-secret", sign_name="兴工区社区治理",
                              endpoint=endpoint.url),
            http,
        )  # fmt: skip
        residents = {
            "resident_sms": ResidentDelivery.by_sms(own_pool, ResidentTemplates(SHIPPED_TEMPLATES), aliyun, PLENTY)
        }
        async with running_worker(dev_env.client, own_pool, residents=residents) as client:
            complaint_id = (await client.submit(new_intake(**file_with_email(None)))).complaint_id

            async def sent() -> bool:
                return await moments_recorded(client, complaint_id) == {"filed": "sent"}

            await wait_until(sent)
    (request,) = endpoint.requests
    assert endpoint.verified == [True]
    assert request["PhoneNumbers"] == "13000000106"
    assert request["TemplateCode"] == "SMS_WHISTLE_FILED"
    assert request["TemplateParam"] == f'{{"case":"{complaint_id}"}}'
    assert request["OutId"] == f"{complaint_id}/1/resident"[:64]
