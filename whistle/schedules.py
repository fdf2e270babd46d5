"""The Temporal Schedules the worker keeps, created idempotently: the daily report every evening, and the
retention run every night that anonymises closed cases past the policy's ``retention``.

The worker creates them when it starts (``worker.run_worker``), so any deployment with a worker has them; a
schedule that already exists is left as it is (an operator may have paused or retimed it in the UI). Neither
passes an input: a payload a schedule keeps is encrypted for the schedule's id, and each run's own workflow id
(that id and the time) would not match the case binding the codec checks (``whistle/codec.py``).
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

from workflows.report import REPORT_WORKFLOW
from workflows.retention import RETENTION_WORKFLOW

SCHEDULE_ID = "whistle-daily-report"
SNAPSHOT_TIME = (23, 50)
"""Beijing time of the daily snapshot: late enough to count the whole day, dated that day."""


def daily_report_schedule(task_queue: str) -> Schedule:
    hour, minute = SNAPSHOT_TIME
    return Schedule(
        # By name: mypy resolves the typed no-argument form wrongly for every other typed handle checked after it.
        action=ScheduleActionStartWorkflow(REPORT_WORKFLOW, id="whistle-daily-report", task_queue=task_queue),
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


RETENTION_SCHEDULE_ID = "whistle-retention"
RETENTION_TIME = (2, 30)
"""Beijing time of the nightly retention run: a quiet hour."""


def retention_schedule(task_queue: str) -> Schedule:
    hour, minute = RETENTION_TIME
    return Schedule(
        action=ScheduleActionStartWorkflow(RETENTION_WORKFLOW, id=RETENTION_SCHEDULE_ID, task_queue=task_queue),
        spec=ScheduleSpec(
            calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(hour)], minute=[ScheduleRange(minute)])],
            time_zone_name="Asia/Shanghai",
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_retention_schedule(client: Client, task_queue: str) -> bool:
    """Create the retention schedule unless it exists; True when this call created it."""
    try:
        await client.create_schedule(RETENTION_SCHEDULE_ID, retention_schedule(task_queue))
    except ScheduleAlreadyRunningError:
        return False
    return True
