"""The determinism guard: the production worker refuses the clock, randomness and I/O in workflow code, and
the lint refuses them in the domain modules the sandbox passes through."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.determinism_probe import ATTEMPTS, DeterminismProbe
from worker import WORKER_TUNING

ROOT = Path(__file__).parent.parent
RUFF = Path(sys.executable).with_name("ruff")


async def test_the_production_sandbox_refuses_the_clock_randomness_and_files_in_workflow_code(
    dev_env: WorkflowEnvironment,
) -> None:
    task_queue = f"determinism-{uuid.uuid4().hex[:8]}"
    async with Worker(dev_env.client, task_queue=task_queue, workflows=[DeterminismProbe], **WORKER_TUNING):
        # By name: mypy resolves the typed overload wrongly for other files' workflows once this one is checked too.
        outcomes = await dev_env.client.execute_workflow(
            "DeterminismProbe", id=f"probe-{uuid.uuid4().hex[:8]}", task_queue=task_queue, result_type=dict
        )
    assert outcomes == dict.fromkeys(ATTEMPTS, "RestrictedWorkflowAccessError")


NONDETERMINISTIC = {
    "clock": "from datetime import UTC, datetime\n\n\ndef f() -> object:\n    return datetime.now(UTC)\n",
    "randomness": "import random\n\n\ndef f() -> float:\n    return random.random()\n",
    "uuid": "import uuid\n\n\ndef f() -> object:\n    return uuid.uuid4()\n",
    "file": "def f() -> str:\n    with open('/etc/hostname') as file:\n        return file.read()\n",
    "database": "import asyncpg\n\n\ndef f() -> object:\n    return asyncpg\n",
    "environment": "import os\n\n\ndef f() -> object:\n    return os.environ\n",
}


def _lint(source: str, as_path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RUFF), "check", "--no-cache", "--stdin-filename", as_path, "-"],
        input=source, capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("module", ["workflows/probe.py", "schemas/probe.py"])
@pytest.mark.parametrize("attempt", list(NONDETERMINISTIC))
def test_the_lint_refuses_nondeterminism_in_the_domain_and_the_workflows(module: str, attempt: str) -> None:
    linted = _lint(NONDETERMINISTIC[attempt], module)
    assert linted.returncode == 1, linted.stdout
    assert "TID251" in linted.stdout or "PTH123" in linted.stdout, linted.stdout


def test_the_lint_leaves_the_edges_their_clock_and_io() -> None:
    for attempt, source in NONDETERMINISTIC.items():
        linted = _lint(source, "activities/probe.py")
        assert linted.returncode == 0, (attempt, linted.stdout)
