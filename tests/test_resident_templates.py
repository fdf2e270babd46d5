"""The residents' templates: every shipped one renders in Chinese, an operator's file of the same name wins, and a
broken edit is refused naming its file; the moments are read off the events."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from activities.resident_notices import MOMENTS, event_seq, moment_of, resident_notices
from activities.resident_templates import CHANNELS, ResidentTemplates, TemplateProblem, sample_context
from schemas.events import CaseClosed, GridVerified, RecordedEvent, WhistleBlown
from tests.domain_fixtures import NOW
from whistle.resident_channels import SHIPPED_TEMPLATES, rate_limit


def test_every_moment_has_a_chinese_email_and_sms() -> None:
    templates = ResidentTemplates(SHIPPED_TEMPLATES)
    templates.check(CHANNELS)
    for moment in MOMENTS:
        context = sample_context(moment)
        email = templates.email(moment, context)
        assert context["case_number"] in email.subject + email.body, moment
        assert email.body.startswith("王女士，您好："), moment
        sms = templates.sms(moment, context)
        assert sms.template_code.startswith("SMS_") and sms.params["case"] == context["case_number"], moment
    handled = templates.email("handled", sample_context("handled"))
    assert "满意、基本满意或不满意" in handled.body and "2026年3月9日 17:00" in handled.body


def test_an_operators_template_overrides_the_shipped_one(tmp_path: Path) -> None:
    (tmp_path / "filed.email.j2").write_text(
        '{% set subject = "【兴工区】已受理 " ~ case_number %}{{ reporter_name }}：已受理。', encoding="utf-8"
    )
    templates = ResidentTemplates(SHIPPED_TEMPLATES, tmp_path)
    filed = templates.email("filed", sample_context("filed"))
    assert filed.subject == "【兴工区】已受理 WB-20260302-0001"
    assert filed.body == "王女士：已受理。\n"
    # The others still come from the shipped files.
    assert templates.email("closed", sample_context("closed")).subject == "工单 WB-20260302-0001 已办结（满意）"


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("filed.email.j2", "{% set subject = 'x' %}{{ no_such_variable }}", "filed.email.j2: 'no_such_variable'"),
        ("filed.email.j2", "{% if %}", "filed.email.j2 line 1"),
        ("filed.email.j2", "no subject set", "sets no subject"),
        ("filed.sms.j2", "{% set template_code = 'SMS_1' %}not json", "filed.sms.j2: its output is not JSON"),
        ("filed.sms.j2", '{"case": 1}', "sets no template_code"),
        ("filed.sms.j2", '{% set template_code = "SMS_1" %}{"case": 1}', "a JSON object of strings"),
        ("filed.email.j2", "{% set subject = 'x' %}{{ ''.__class__.__mro__ }}", "filed.email.j2"),
    ],
)
def test_a_broken_template_is_refused_naming_its_file(tmp_path: Path, name: str, text: str, problem: str) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(TemplateProblem, match=problem.replace("(", r"\(")):
        ResidentTemplates(SHIPPED_TEMPLATES, tmp_path).check(CHANNELS)


def test_an_override_that_is_not_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TemplateProblem, match="not a directory"):
        ResidentTemplates(SHIPPED_TEMPLATES, tmp_path / "missing")


def test_the_reporters_moments_are_read_off_the_events() -> None:
    events = [
        RecordedEvent(complaint_id="c-1", seq=2, event=GridVerified(at=NOW, grid_worker="gw-hongqi-1")),
        RecordedEvent(
            complaint_id="c-1", seq=3,
            event=WhistleBlown(at=NOW, by="sec-hongqi", departments=["urban_management"], lead="urban_management",
                               report_in_due=NOW + timedelta(hours=4)),
        ),
        RecordedEvent(complaint_id="c-1", seq=9, event=CaseClosed(at=NOW, outcome="satisfied")),
    ]  # fmt: skip
    notices = resident_notices(events)
    assert [(notice.key, notice.topic, notice.due) for notice in notices] == [
        ("c-1/3/resident", "whistled", NOW + timedelta(hours=4)),
        ("c-1/9/resident", "closed", None),
    ]
    assert [event_seq(notice) for notice in notices] == [3, 9]
    assert moment_of(events[0].event) is None


def test_the_rate_limit_setting_reads_as_count_and_window() -> None:
    limit = rate_limit("5/hour")
    assert (limit.count, limit.per) == (5, timedelta(hours=1))
