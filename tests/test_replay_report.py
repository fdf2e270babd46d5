"""Replay safety of the daily report: runs recorded before and after the patch that dates a scheduled run by its
scheduled time (``workflows/report.py``, ``DAY_FROM_SCHEDULE``) replay on today's code.

``tests/histories/daily_report/`` holds one run of each, started by the Schedule on the dev server; the one from
before the patch must keep replaying until the patch is deprecated (README, "Changing the workflow").
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


def test_runs_from_before_and_after_the_scheduled_day_patch_are_recorded() -> None:
    markers = {path.stem: '"EVENT_TYPE_MARKER_RECORDED"' in path.read_text(encoding="utf-8") for path in RECORDED}
    assert markers == {"before-the-scheduled-day": False, "scheduled-day": True}


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json("whistle-daily-report", json.loads(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("path", RECORDED, ids=lambda path: path.stem)
async def test_a_recorded_daily_report_replays_on_current_code(path: Path) -> None:
    history = load(path)
    runner = WORKER_TUNING["workflow_runner"]
    replayer = Replayer(workflows=[DailyReportWorkflow], data_converter=pydantic_data_converter, workflow_runner=runner)
    await replayer.replay_workflow(history)
