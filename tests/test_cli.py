"""The ``whistle`` command line, run as a user runs it: a subprocess against a real dev server and PostgreSQL.

The test's own worker polls a fresh task queue; the CLI finds the servers and the queue through
``TEMPORAL_ADDRESS`` / ``DATABASE_URL`` / ``WHISTLE_TASK_QUEUE``, as it would in a deployment.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.event_store import Pool
from schemas.commands import COMMANDS
from schemas.events import EVENT_LABELS, EVENT_TYPES
from tests.helpers import TestClient, running_worker, wait_until
from tests.pg import TestDatabase

WHISTLE = [sys.executable, "-c", "from cli.app import main; main()"]


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def stderr_lines(self) -> list[str]:
        return self.stderr.strip().splitlines()


@dataclass(frozen=True)
class Cli:
    """Runs ``whistle`` in a subprocess with the environment that points it at the test's servers and queue."""

    env: dict[str, str]
    client: TestClient

    async def __call__(self, *args: str, stdin: str | None = None) -> Run:
        process = await asyncio.create_subprocess_exec(
            *WHISTLE, *args, env=self.env, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        stdout, stderr = await process.communicate(stdin.encode() if stdin is not None else b"")
        assert process.returncode is not None
        return Run(process.returncode, stdout.decode(), stderr.decode())


@pytest.fixture
async def cli(dev_env: WorkflowEnvironment, database: TestDatabase, pool: Pool, tmp_path: Path) -> AsyncIterator[Cli]:
    async with running_worker(dev_env.client, pool) as client:
        env = {
            **os.environ,
            "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
            "TEMPORAL_NAMESPACE": dev_env.client.namespace,
            "DATABASE_URL": database.url,
            "WHISTLE_TASK_QUEUE": client.task_queue,
            "WHISTLE_HOME": str(tmp_path / "home"),
            "WHISTLE_LOG_FORMAT": "json",
            "WHISTLE_ALLOW_PLAINTEXT": "true",  # as the test's own client reads the cases
        }
        yield Cli(env, client)


def intake(complaint_id: str, **overrides: Any) -> str:
    """A streetlight complaint in the shipped directory, as the JSON an integrator sends (no reported_at)."""
    body = {
        "complaint_id": complaint_id,
        "source": "resident_app",
        "community": "gangyuan",
        "grid": "gangyuan_1",
        "category": "streetlight",
        "title": "老钢厂宿舍区主路路灯不亮",
        "description": "3号楼至7号楼之间的主路，6盏路灯两个多月不亮。",
        "location": {"address": "钢苑社区老钢厂宿舍3-7号楼间主路"},
        "reporter": {"name": "高德福", "phone": "13000000101"},
        **overrides,
    }
    return json.dumps(body, ensure_ascii=False)


def new_id() -> str:
    return f"CLI-{uuid.uuid4().hex[:10]}"


async def test_a_complaint_goes_from_submit_to_a_satisfied_evaluation_through_the_cli(cli: Cli) -> None:
    case = new_id()
    filed = await cli("submit", "-", "--json", stdin=intake(case))
    assert filed.code == 0, filed.stderr
    first = filed.json()
    assert set(first) == {"complaint_id", "workflow_id", "run_id", "duplicate", "possible_duplicates"}
    assert (first["complaint_id"], first["workflow_id"], first["duplicate"]) == (case, f"complaint-{case}", False)
    assert case not in [candidate["complaint_id"] for candidate in first["possible_duplicates"]]
    again = (await cli("submit", "-", "--json", stdin=intake(case))).json()
    del first["possible_duplicates"], again["possible_duplicates"]  # other tests file cases meanwhile
    assert again == {**first, "duplicate": True}

    steps = [
        ("verify", case, "--grid-worker", "gw-gangyuan-1", "--note", "现场核实属实"),
        ("blow", case, "--community-secretary", "sec-gangyuan", "--departments", "urban_management,power_supply",
         "--lead", "power_supply"),
        ("report-in", case, "--department", "urban_management", "--officer", "王建国"),
        ("report-in", case, "--department", "power_supply", "--officer", "李红"),
        ("progress", case, "--department", "power_supply", "--note", "更换线路"),
        ("complete", case, "--department", "urban_management", "--result", "灯杆已修复"),
        ("complete", case, "--department", "power_supply", "--result", "线路已更换，路灯亮了"),
    ]  # fmt: skip
    for step in steps:
        done = await cli(*step, "--json")
        assert done.code == 0, (step, done.stderr)
    assert done.json()["stage"] == "evaluating"
    rated = await cli(
        "evaluate", case, "--operator", "op-12345-01", "--rating", "satisfied", "--comment", "谢谢", "--json"
    )
    assert rated.code == 0, rated.stderr

    status = (await cli("status", case, "--json")).json()
    assert status["complaint_id"] == case
    assert status["stage"] == "closed"
    assert status["escalation_level"] == 0
    assert status["departments"] == {"urban_management": "done", "power_supply": "done"}
    assert status["lead"] == "power_supply"
    assert status["next_deadline"] is None
    assert status["reopen_count"] == 0
    assert status["outcome"] == "satisfied"

    timeline = (await cli("history", case, "--json")).json()
    assert [entry["seq"] for entry in timeline] == list(range(1, len(timeline) + 1))
    assert all({"seq", "at", "type"} <= set(entry) for entry in timeline)
    assert [entry["type"] for entry in timeline] == [
        "ComplaintFiled", "GridVerified", "WhistleBlown", "DepartmentReportedIn", "DepartmentReportedIn",
        "ProgressRecorded", "PartCompleted", "PartCompleted", "HandlingCompleted", "ResidentEvaluated",
        "CaseClosed",
    ]  # fmt: skip
    readable = await cli("history", case)
    assert readable.code == 0
    assert "部门报到" in readable.stdout and "办结" in readable.stdout


async def test_a_rejected_command_exits_non_zero_with_one_line_and_adds_nothing_to_history(cli: Cli) -> None:
    case = new_id()
    assert (await cli("submit", "-", stdin=intake(case))).code == 0
    assert (await cli("verify", case, "--grid-worker", "gw-gangyuan-1")).code == 0
    blown = await cli("blow", case, "--community-secretary", "sec-gangyuan", "--departments", "urban_management")
    assert blown.code == 0, blown.stderr
    before = (await cli("history", case, "--json")).json()

    rejected = await cli("report-in", case, "--department", "traffic_police", "--officer", "张伟")
    assert rejected.code == 1
    assert rejected.stderr_lines == ["rejected: department: traffic_police was not summoned to this case"]
    assert rejected.stdout == ""
    wrong_actor = await cli(
        "blow", case, "--community-secretary", "sec-hongqi", "--departments", "power_supply", "--json"
    )
    assert wrong_actor.code == 1
    assert len(wrong_actor.stderr_lines) == 1
    assert wrong_actor.stderr_lines[0].startswith("rejected: actor: ")
    not_the_resident = await cli("withdraw", case, "--resident", "app-99999", "--reason", "不想办了")
    assert not_the_resident.code == 1
    assert not_the_resident.stderr_lines[0].startswith("rejected: actor: ")

    assert (await cli("history", case, "--json")).json() == before
    assert (await cli("status", case, "--json")).json()["departments"] == {"urban_management": "summoned"}

    withdrawn = await cli("withdraw", case, "--operator", "op-12345-01", "--reason", "居民已自行解决", "--json")
    assert withdrawn.json()["outcome"] == "withdrawn"


async def test_a_filed_id_resent_with_another_body_is_refused_in_one_line(cli: Cli) -> None:
    case = new_id()
    assert (await cli("submit", "-", "--json", stdin=intake(case))).code == 0
    edited = await cli("submit", "-", "--json", stdin=intake(case, title="同一编号，另一件事"))
    assert edited.code == 1 and edited.stdout == ""
    [line] = edited.stderr_lines
    assert line.startswith(f"rejected: complaint_id: {case!r} was already filed with a different body")


async def test_input_the_cli_cannot_parse_exits_2_with_one_line_naming_the_field(cli: Cli) -> None:
    too_long = await cli("submit", "-", stdin=intake(new_id(), title="灯" * 201))
    assert too_long.code == 2
    assert too_long.stderr_lines == ["invalid: title: String should have at most 200 characters"]
    unknown_rating = await cli("evaluate", new_id(), "--resident", "app-1", "--rating", "great")
    assert unknown_rating.code == 2
    assert len(unknown_rating.stderr_lines) == 1
    assert unknown_rating.stderr_lines[0].startswith("invalid: rating: ")
    nobody = await cli("evaluate", new_id(), "--rating", "satisfied")
    assert nobody.stderr_lines == ["invalid: actor: give exactly one of --resident or --operator"]
    park_with_time = await cli(
        "direct", new_id(), "--first-secretary", "fs-gangyuan", "--kind", "park", "--extend-by", "24h"
    )
    assert park_with_time.stderr_lines == ["invalid: extend_by: only an extension takes a duration"]
    two_actors = await cli(
        "direct", new_id(), "--first-secretary", "fs-gangyuan", "--street-secretary", "ss-1", "--kind", "park"
    )
    assert two_actors.stderr_lines == ["invalid: actor: give exactly one of --first-secretary or --street-secretary"]
    missing = await cli("status", "no-such-case")
    assert missing.code == 1
    assert missing.stderr_lines == ["not found: complaint_id: no case 'no-such-case'"]


async def test_org_prints_the_directory_and_dev_up_points_at_the_configured_servers(cli: Cli) -> None:
    directory = (await cli("org", "--json")).json()
    gangyuan = next(c for c in directory["communities"] if c["code"] == "gangyuan")
    assert gangyuan["first_secretary"]["id"] == "fs-gangyuan"
    assert [grid["code"] for grid in gangyuan["grids"]] == ["gangyuan_1", "gangyuan_2"]
    assert gangyuan["grids"][0]["boundary"]["type"] == "Polygon"  # GeoJSON, [longitude, latitude]
    assert gangyuan["grids"][0]["boundary"]["coordinates"][0][0] == [123.337, 41.788]
    assert len(directory["departments"]) >= 8
    streetlight = next(c for c in directory["categories"] if c["code"] == "streetlight")
    assert streetlight["departments"][0] == "urban_management"

    stack = (await cli("dev", "up")).json()
    assert stack == {
        "temporal_address": cli.env["TEMPORAL_ADDRESS"],
        "namespace": cli.env["TEMPORAL_NAMESPACE"],
        "ui_url": None,
        "database_url": cli.env["DATABASE_URL"],
    }


def test_every_domain_event_has_a_chinese_label() -> None:
    assert set(EVENT_LABELS) == set(EVENT_TYPES)


async def test_a_secretary_publishes_and_unpublishes_a_case_from_the_cli(cli: Cli, pool: Pool) -> None:
    case = new_id()
    assert (await cli("submit", "-", stdin=intake(case))).code == 0

    async def stored() -> bool:
        return bool(await pool.fetchval("select 1 from complaints where complaint_id = $1", case))

    await wait_until(stored)
    text = ("--title", "钢苑社区主路路灯", "--description", "路灯已修复。")
    stranger = await cli("publish", case, "--by", "sec-hongqi", *text)
    assert stranger.code == 1 and stranger.stderr_lines[-1].startswith("rejected: actor:")
    published = await cli("publish", case, "--by", "sec-gangyuan", *text, "--json")
    assert published.code == 0, published.stderr
    assert published.json()["publication"]["public_title"] == "钢苑社区主路路灯"
    withdrawn = await cli("unpublish", case, "--by", "fs-gangyuan", "--as", "first", "--reason", "待核实")
    assert withdrawn.code == 0 and "未公开" in withdrawn.stdout
    unknown = await cli("publish", case, "--by", "sec-gangyuan", "--as", "mayor", *text)
    assert unknown.code == 2 and unknown.stderr_lines[-1] == "invalid: as: 'mayor' is not community, first or street"


async def test_every_case_command_is_on_the_cli_with_every_field(cli: Cli) -> None:
    """Built from the command's one definition: each command's help names every field and each actor kind."""
    for name, model in COMMANDS.items():
        shown = await cli(name.replace("_", "-"), "--help")
        assert shown.code == 0, (name, shown.stderr)
        flags = {f"--{kind.replace('_', '-')}" for kind in model.actors}
        flags |= {f"--{field.replace('_', '-')}" for field in model.model_fields if field not in ("type", "actor")}
        missing = {flag for flag in flags if flag not in shown.stdout}
        assert not missing, (name, missing)


async def test_a_practice_command_goes_through_the_generated_cli(cli: Cli) -> None:
    """The clocks stop while the case waits on the resident and run again when they answer."""
    case = new_id()
    assert (await cli("submit", "-", stdin=intake(case))).code == 0
    asked = await cli("ask-resident", case, "--grid-worker", "gw-gangyuan-1", "--reason", "需入户查看", "--json")
    assert asked.code == 0, asked.stderr
    answered = await cli("resident-answer", case, "--operator", "op-12345-01", "--note", "周六上午在家", "--json")
    assert answered.code == 0, answered.stderr
    timeline = (await cli("history", case, "--json")).json()
    assert [entry["type"] for entry in timeline][-2:] == ["ClocksPaused", "ClocksResumed"]


async def test_a_likely_duplicate_is_shown_at_filing_and_merged_from_the_cli(cli: Cli, pool: Pool) -> None:
    """工单合并: the second report of a problem lists the first as a possible duplicate; the secretary merges it."""
    first, second = new_id(), new_id()
    assert (await cli("submit", "-", stdin=intake(first))).code == 0

    async def stored() -> bool:
        return await pool.fetchval("select 1 from complaints where complaint_id = $1", first) is not None

    await wait_until(stored)
    filed = (await cli("submit", "-", "--json", stdin=intake(second))).json()
    assert first in [candidate["complaint_id"] for candidate in filed["possible_duplicates"]]
    shown = await cli("submit", "-", stdin=intake(second))  # resent: the same case, and a table of suggestions
    assert shown.code == 0 and "whistle merge" in shown.stdout
    merged = await cli("merge", second, "--community-secretary", "sec-gangyuan", "--into", first, "--json")
    assert merged.code == 0, merged.stderr
    assert (merged.json()["stage"], merged.json()["merged_into"]) == ("merged", first)
    refused = await cli("merge", first, "--operator", "op-12345-01", "--into", first)
    assert refused.code == 1 and refused.stderr_lines[-1].startswith("rejected: into:")

    async def linked() -> bool:
        return bool((await cli("status", first, "--json")).json()["linked_reports"] == [second])

    await wait_until(linked)
    listed = (await cli("duplicates", first, "--json")).json()
    assert second not in [candidate["complaint_id"] for candidate in listed]  # a merged case is not suggested


async def test_the_cli_places_a_point_and_files_an_intake_without_a_grid(cli: Cli) -> None:
    placed = await cli("place", "41.8003", "123.3349", "--json")
    assert placed.code == 0 and placed.json() == {"community": "hongqi", "grid": "hongqi_3"}
    assert "红旗社区第三网格" in (await cli("place", "41.8003", "123.3349")).stdout
    nowhere = await cli("place", "41.70", "123.30")
    assert nowhere.code != 0
    assert nowhere.stderr_lines == ["rejected: location: (41.7, 123.3) lies in no grid of the district"]

    case = new_id()
    point = {"address": "兴工区红旗社区15号楼底商", "latitude": 41.8003, "longitude": 123.3349}
    body = json.loads(intake(case, location=point, category="cooking_fumes"))
    del body["community"], body["grid"]
    filed = await cli("submit", "-", "--json", stdin=json.dumps(body, ensure_ascii=False))
    assert filed.code == 0, filed.stderr
    assert (await cli.client.status(case)).grid == "hongqi_3"
    body = {**body, "complaint_id": new_id(), "location": {**point, "latitude": 41.70}}
    refused = await cli("submit", "-", stdin=json.dumps(body, ensure_ascii=False))
    assert refused.code != 0 and refused.stderr_lines[0].startswith("rejected: location:")
