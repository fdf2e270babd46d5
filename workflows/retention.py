"""``RetentionWorkflow``: anonymises the closed cases past the policy's retention (run daily by a Temporal Schedule).

The work is one activity (``anonymise_closed_cases`` in ``activities/erasure.py``), which reads the rule from the
policy the worker loaded; the workflow only gives it time and retries.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

RETENTION_WORKFLOW = "Retention"


@workflow.defn(name=RETENTION_WORKFLOW)
class RetentionWorkflow:
    """Callers can rely on: every case closed longer ago than the policy's ``retention`` is anonymised when this
    returns, and the result is how many were anonymised by this run."""

    @workflow.run
    async def run(self) -> int:
        anonymised: int = await workflow.execute_activity(
            "anonymise_closed_cases",
            result_type=int,
            start_to_close_timeout=timedelta(hours=2),
            heartbeat_timeout=timedelta(minutes=5),
        )
        return anonymised
