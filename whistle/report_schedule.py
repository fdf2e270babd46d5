"""The Temporal Schedule that runs ``DailyReportWorkflow`` every evening, created idempotently.

The worker creates it when it starts (``worker.run_worker``), so any deployment with a worker has it; a
schedule that already exists is left as it is (an operator may have paused or retimed it in the UI).
"""

from __future__ import annotations

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
)

from whistle.reports import SnapshotInput
from workflows.report import DailyReportWorkflow

SCHEDULE_ID = "whistle-daily-report"
SNAPSHOT_TIME = (23, 50)
"""Beijing time of the daily snapshot: late enough to count the whole day, dated that day."""


def daily_report_schedule(task_queue: str) -> Schedule:
    hour, minute = SNAPSHOT_TIME
    return Schedule(
        action=ScheduleActionStartWorkflow(
            DailyReportWorkflow.run, SnapshotInput(), id="whistle-daily-report", task_queue=task_queue
        ),
        spec=ScheduleSpec(
            calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(hour)], minute=[ScheduleRange(minute)])],
            time_zone_name="Asia/Shanghai",
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_daily_report_schedule(client: Client, task_queue: str) -> bool:
    """Create the schedule unless it exists; True when this call created it."""
    try:
        await client.create_schedule(SCHEDULE_ID, daily_report_schedule(task_queue))
    except ScheduleAlreadyRunningError:
        return False
    return True
