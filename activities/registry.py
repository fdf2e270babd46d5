"""PLACEHOLDER until the filing registry lands (h-registry): the run check reads the case's first stored event."""

from __future__ import annotations

from typing import Any


class ForeignRun(Exception):
    """The complaint id belongs to another run."""


async def bind_run(connection: Any, complaint_id: str, workflow_id: str, run_id: str) -> None:
    owner = await connection.fetchval("select run_id from events where complaint_id = $1 and seq = 1", complaint_id)
    if owner is not None and owner != run_id:
        raise ForeignRun(f"complaint {complaint_id} belongs to run {owner}, not {run_id}")
