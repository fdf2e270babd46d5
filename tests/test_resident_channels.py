"""The worker's residents' channels come from the settings: ``python worker.py`` with an SMTP server named mails the
reporter of a case filed on the dev server; a channel without settings is off (said once); half the SMS settings,
or a broken template, stop it at start."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from temporalio.testing import WorkflowEnvironment

from activities.event_store import Pool
from activities.resident_templates import TemplateProblem
from cli.mail_sink import MailSink
from tests.domain_fixtures import RESIDENT
from tests.helpers import new_intake, sample_client, wait_until, worker_process
from tests.pg import TestDatabase
from tests.ports import free_port
from whistle.resident_channels import resident_deliverers
from whistle.settings import Settings

OFF = {"smtp_host": None, "sms_access_key_id": None, "sms_access_key_secret": None, "sms_sign_name": None}


def settings(**fields: Any) -> Settings:
    """Settings with every channel off (whatever the environment says) but ``fields``."""
    return Settings.model_validate({**OFF, **fields})


async def test_the_worker_process_mails_the_reporter_through_the_configured_smtp_server(
    dev_env: WorkflowEnvironment, own_database: TestDatabase, own_pool: Pool, tmp_path: Path
) -> None:
    task_queue = f"test-{uuid.uuid4().hex[:12]}"
    address = f"resident-{uuid.uuid4().hex[:10]}@example.com"
    async with MailSink(free_port()) as sink:
        worker = worker_process(
            dev_env.client.service_client.config.target_host, own_database.url, task_queue, tmp_path,
            WHISTLE_SMTP_HOST="127.0.0.1", WHISTLE_SMTP_PORT=str(sink.port),
            WHISTLE_SMTP_FROM="兴工区社区治理 <noreply@xinggong.example>", WHISTLE_RESIDENT_RATE_LIMIT="3/hour",
        )  # fmt: skip
        client = sample_client(dev_env.client, task_queue, pool=own_pool)
        worker.start()
        try:
            reporter = {"name": "苏慧敏", "phone": "13000000106", "resident_id": RESIDENT, "email": address}
            complaint_id = (await client.submit(new_intake(reporter=reporter))).complaint_id

            async def mailed() -> bool:
                return any(address in mail.recipients for mail in sink.received)

            await wait_until(mailed, within=60)
            await client.assert_no_personal_data_in_histories()  # the e-mail address too
        finally:
            await client.end_open_cases()
            worker.stop()
            await asyncio.to_thread(worker.kill)
    (mail,) = [mail for mail in sink.received if address in mail.recipients]
    assert mail.subject == f"您反映的问题已受理（工单号 {complaint_id}）"
    log = (tmp_path / "worker.log").read_text(encoding="utf-8")
    assert log.count("resident SMS off") == 1 and "resident e-mail off" not in log
    assert address not in log


async def test_a_channel_without_settings_is_off(pool: Pool) -> None:
    async with httpx.AsyncClient() as http:
        assert resident_deliverers(settings(), pool, http) == {}
        mailing = resident_deliverers(settings(smtp_host="127.0.0.1"), pool, http)
        assert list(mailing) == ["resident_email"]
        texting = settings(sms_access_key_id="LTAI", sms_access_key_secret="s", sms_sign_name="兴工区")
        assert list(resident_deliverers(texting, pool, http)) == ["resident_sms"]


def test_half_the_sms_settings_are_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="sms_access_key_id, sms_access_key_secret and sms_sign_name"):
        settings(sms_access_key_id="LTAI")
    with pytest.raises(ValidationError, match="resident_rate_limit"):
        settings(resident_rate_limit="five a day")


async def test_a_broken_template_stops_the_channels_at_start(pool: Pool, tmp_path: Path) -> None:
    (tmp_path / "closed.email.j2").write_text("{% set subject = 'x' %}{{ oops }}", encoding="utf-8")
    broken = settings(smtp_host="127.0.0.1", resident_templates=tmp_path)
    async with httpx.AsyncClient() as http:
        with pytest.raises(TemplateProblem, match=r"closed\.email\.j2"):
            resident_deliverers(broken, pool, http)
