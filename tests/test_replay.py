"""Replay safety: recorded histories of every lifecycle path must replay on today's workflow code.

A change that would break a running case (a command added, removed or reordered without
``workflow.patched``) fails here. The histories in ``tests/histories/vN/`` are recorded by ``make histories``
from the end-to-end and deadline tests. The pre-release sets were retired once (issue 16) and ``v1`` recorded
afresh; from then on every set is kept and must replay until the patch it predates is removed (README,
"Changing the workflow").
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from worker import WORKER_TUNING
from workflows.complaint import ComplaintWorkflow

HISTORIES = Path(__file__).parent / "histories"
RECORDED = sorted(HISTORIES.glob("v*/*.json"))  # complaints; daily_report/ is test_replay_report.py's


def load(path: Path) -> WorkflowHistory:
    workflow_id = f"complaint-{path.stem}"
    return WorkflowHistory.from_json(workflow_id, json.loads(path.read_text(encoding="utf-8")))


def test_recorded_histories_cover_commands_deadlines_and_closed_cases() -> None:
    seen: set[str] = set()
    for path in RECORDED:
        seen.update(event["eventType"] for event in json.loads(path.read_text(encoding="utf-8"))["events"])
    assert len(RECORDED) >= 20
    assert {
        "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED",  # commands
        "EVENT_TYPE_TIMER_FIRED",  # deadlines
        "EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES",
        "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED",  # closed cases
    } <= seen


@pytest.mark.parametrize("path", RECORDED, ids=lambda path: f"{path.parent.name}/{path.stem}")
async def test_recorded_history_replays_on_current_code(path: Path) -> None:
    runner = WORKER_TUNING["workflow_runner"]  # as the worker runs it
    replayer = Replayer(workflows=[ComplaintWorkflow], data_converter=pydantic_data_converter, workflow_runner=runner)
    await replayer.replay_workflow(load(path))


async def test_replay_fails_when_a_task_decides_other_events_than_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each store activity's id carries a digest of its batch, so code that decides differently (here: every event
    a second later) no longer matches the recorded activity and the replay fails instead of passing quietly."""
    import schemas.rules.decider

    decide = schemas.rules.decider.decide
    monkeypatch.setattr(
        schemas.rules.decider, "decide", lambda state, command, now: decide(state, command, now + timedelta(seconds=1))
    )
    history = next(path for path in sorted((HISTORIES / "v1").glob("*.json")) if '"verify"' in path.read_text())
    runner = WORKER_TUNING["workflow_runner"]
    replayer = Replayer(workflows=[ComplaintWorkflow], data_converter=pydantic_data_converter, workflow_runner=runner)
    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(load(history))
