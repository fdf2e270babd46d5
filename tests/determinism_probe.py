"""A workflow that tries the clock, randomness and I/O, to show what the production sandbox refuses.

Its own module, like ``workflows/complaint.py``, is not passed through the sandbox, so it is imported afresh
for each run and every call below goes through the sandbox's restrictions.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from pathlib import Path

from temporalio import workflow

ATTEMPTS = ("clock", "randomness", "uuid", "file")


def _attempt(attempt: str) -> None:
    if attempt == "clock":
        datetime.now(UTC)
    elif attempt == "randomness":
        random.random()
    elif attempt == "uuid":
        uuid.uuid4()
    else:
        Path("/etc/hostname").read_text()


@workflow.defn(name="DeterminismProbe", sandboxed=True)
class DeterminismProbe:
    """Returns, per attempt, the error it met (or "allowed")."""

    @workflow.run
    async def run(self) -> dict[str, str]:
        outcomes: dict[str, str] = {}
        for attempt in ATTEMPTS:
            try:
                _attempt(attempt)
                outcomes[attempt] = "allowed"
            except Exception as refused:  # the sandbox's RestrictedWorkflowAccessError
                outcomes[attempt] = type(refused).__name__
        return outcomes
