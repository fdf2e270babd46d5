"""The daily report snapshot: rank every grouping from the read models and store it under its date."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import get_args

from temporalio import activity

from activities.event_store import Pool
from activities.log import get_logger
from activities.rates import build_report
from schemas.calendar import CHINA_TIME
from schemas.rates import ReportGroupBy, SnapshotInput

_STORE_SNAPSHOT = """
insert into report_snapshots (day, by, generated_at, report) values ($1, $2, $3, $4)
on conflict (day, by) do update set generated_at = excluded.generated_at, report = excluded.report
"""


class ReportActivities:
    """Activities that read the read models for supervisors, sharing the worker's pool."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    @activity.defn(name="store_report_snapshot")
    async def store_report_snapshot(self, input: SnapshotInput) -> int:
        """Store the rankings by community, department and first secretary as of now, dated ``input.day``.

        Idempotent per day: a retry or a second run that day replaces the day's rows. Returns the rows written.
        """
        now = datetime.now(UTC)
        day = input.day or now.astimezone(CHINA_TIME).date()
        groupings: tuple[ReportGroupBy, ...] = get_args(ReportGroupBy)
        async with self._pool.acquire() as connection, connection.transaction():
            for by in groupings:
                report = await build_report(connection, by, since=None, now=now)
                await connection.execute(_STORE_SNAPSHOT, day, by, now, report.model_dump(mode="json"))
        get_logger(day=str(day)).info("report snapshot stored", groupings=len(groupings))
        return len(groupings)

