"""The Temporal Schedules the worker keeps, created idempotently: the daily report every evening, and the
retention run every night that anonymises closed cases past the policy's ``retention``.

The worker creates them when it starts (``worker.run_worker``), so any deployment with a worker has them; a
schedule that already exists is left as it is (an operator may have paused or retimed it in the UI). Neither
passes an input: a payload a schedule keeps is encrypted for the schedule's id, and each run's own workflow id
(that id and the time) would not match the case binding the codec checks (``whistle/codec.py``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import timedelta

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
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from workflows.report import REPORT_WORKFLOW
from workflows.retention import RETENTION_WORKFLOW

CATCHUP_WINDOW = timedelta(hours=1)
"""A run missed while Temporal (not the worker: the server starts runs, a worker only picks them up) was down is
started if it comes back within this; a later return skips it rather than replaying days of old reports."""
SERVER_DEFAULT_CATCHUP = timedelta(days=365)
"""What a schedule created without a window has: Whistle's schedules from before ``CATCHUP_WINDOW``."""


@dataclass(frozen=True)
class Nightly:
    """A workflow the worker keeps running once a day, at ``at`` (hour, minute) Beijing time, with no input."""

    schedule_id: str
    workflow: str
    at: tuple[int, int]

    def schedule(self, task_queue: str) -> Schedule:
        hour, minute = self.at
        return Schedule(
            # By name: mypy resolves the typed no-argument form wrongly for every typed handle checked after it.
            action=ScheduleActionStartWorkflow(self.workflow, id=self.schedule_id, task_queue=task_queue),
            spec=ScheduleSpec(
                calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(hour)], minute=[ScheduleRange(minute)])],
                time_zone_name="Asia/Shanghai",
            ),
            policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=CATCHUP_WINDOW),
        )

    async def ensure(self, client: Client, task_queue: str) -> bool:
        """Create the schedule unless it exists; True when this call created it.

        One that exists keeps what an operator set (paused, retimed, a catch-up window of their own), except that one
        created before ``CATCHUP_WINDOW`` (the server's default year) is given it.
        """
        try:
            await client.create_schedule(self.schedule_id, self.schedule(task_queue))
        except ScheduleAlreadyRunningError:
            await client.get_schedule_handle(self.schedule_id).update(_with_catchup_window)
            return False
        return True


def _with_catchup_window(existing: ScheduleUpdateInput) -> ScheduleUpdate | None:
    schedule = existing.description.schedule
    window = schedule.policy.catchup_window
    if window is not None and window < SERVER_DEFAULT_CATCHUP:
        return None  # ours already, or one an operator chose
    policy = dataclasses.replace(schedule.policy, catchup_window=CATCHUP_WINDOW)
    return ScheduleUpdate(schedule=dataclasses.replace(schedule, policy=policy))


DAILY_REPORT = Nightly("whistle-daily-report", REPORT_WORKFLOW, (23, 50))
"""The daily snapshot: late enough to count the whole day, dated that day."""
RETENTION = Nightly("whistle-retention", RETENTION_WORKFLOW, (2, 30))
"""The retention run: a quiet hour."""
SCHEDULES = (DAILY_REPORT, RETENTION)
