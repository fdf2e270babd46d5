"""``DailyReportWorkflow``: the rankings of the day, stored as a dated snapshot (run by a Temporal Schedule)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.calendar import CHINA_TIME
    from whistle.reports import SnapshotInput


REPORT_WORKFLOW = "DailyReport"


@workflow.defn(name=REPORT_WORKFLOW)
class DailyReportWorkflow:
    """Stores the rankings by community, department and first secretary under the Beijing date of the run.

    Callers can rely on: one snapshot row per grouping for the day (a rerun the same day replaces them);
    the workflow returns the number of rows written.
    """

    @workflow.run
    async def run(self, input: SnapshotInput | None = None) -> int:
        """The schedule starts it with no input (the run's own Beijing date); a caller may name a ``day``."""
        day = (input.day if input else None) or workflow.now().astimezone(CHINA_TIME).date()
        written: int = await workflow.execute_activity(
            "store_report_snapshot",
            SnapshotInput(day=day),
            result_type=int,
            start_to_close_timeout=timedelta(minutes=5),
        )
        return written
