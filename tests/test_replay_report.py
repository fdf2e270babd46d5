"""Replay safety of the daily report: its recorded runs replay on today's code (``workflows/report.py``).

``make histories HISTORIES_VERSION=vN`` records, beside the complaints, two runs the Schedule started on the dev
server into ``tests/histories/daily_report/vN-*.json``: one started when it was scheduled, and one backfilled for
an evening long past (dated by its scheduled time, ``TemporalScheduledStartTime``). Each set must keep replaying
until the patch it predates is removed (README, "Changing the workflow").
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from worker import WORKER_TUNING
from workflows.report import DailyReportWorkflow

RECORDED = sorted((Path(__file__).parent / "histories" / "daily_report").glob("*.json"))


KINDS = ("scheduled", "started-late")
"""What each recorded set holds: a run started on time, and one the Schedule started long after its time."""


def test_every_recorded_set_has_a_run_on_time_and_one_started_late() -> None:
    versions = {path.stem.split("-", 1)[0] for path in RECORDED}
    assert versions, "no daily report history recorded"
    assert {path.stem for path in RECORDED} == {f"{version}-{kind}" for version in versions for kind in KINDS}
    assert all('"TemporalScheduledStartTime"' in path.read_text(encoding="utf-8") for path in RECORDED)


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json("whistle-daily-report", json.loads(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("path", RECORDED, ids=lambda path: path.stem)
async def test_a_recorded_daily_report_replays_on_current_code(path: Path) -> None:
    history = load(path)
    runner = WORKER_TUNING["workflow_runner"]
    replayer = Replayer(workflows=[DailyReportWorkflow], data_converter=pydantic_data_converter, workflow_runner=runner)
    await replayer.replay_workflow(history)
