"""``DailyReportWorkflow``: the rankings of the day, stored as a dated snapshot (run by a Temporal Schedule)."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from schemas.calendar import CHINA_TIME
    from schemas.rates import SnapshotInput


REPORT_WORKFLOW = "DailyReport"

SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
"""The time a Schedule meant a run to start, which Temporal sets on every run a Schedule starts."""


@workflow.defn(name=REPORT_WORKFLOW)
class DailyReportWorkflow:
    """Stores the rankings by community, department and first secretary under the Beijing date the run was for.

    Callers can rely on: one snapshot row per grouping for the day (a rerun the same day replaces them);
    the workflow returns the number of rows written. A scheduled run picked up late (no worker at 23:50, one
    back after midnight) still reports the day it was scheduled for.
    """

    @workflow.run
    async def run(self, input: SnapshotInput | None = None) -> int:
        """The schedule starts it with no input (the scheduled run's Beijing date); a caller may name a ``day``."""
        day = (input.day if input else None) or self._scheduled_at().astimezone(CHINA_TIME).date()
        written: int = await workflow.execute_activity(
            "store_report_snapshot",
            SnapshotInput(day=day),
            result_type=int,
            start_to_close_timeout=timedelta(minutes=5),
        )
        return written

    def _scheduled_at(self) -> datetime:
        """When the Schedule meant this run to start; for a run started by hand, now."""
        return workflow.info().typed_search_attributes.get(SCHEDULED_START) or workflow.now()
