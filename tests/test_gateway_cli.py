"""``whistle keys`` and ``whistle serve`` as an operator runs them: subprocesses against the test's servers."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.event_store import Pool
from tests.helpers import running_worker, wait_until
from tests.pg import TestDatabase
from tests.ports import free_port
from tests.test_cli import WHISTLE, Cli, Run, intake, new_id


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


async def test_keys_are_created_listed_and_revoked_and_only_their_hash_is_stored(cli: Cli, pool: Pool) -> None:
    created = await cli("keys", "create", "--role", "department", "--department", "gas_company", "--json")
    assert created.code == 0, created.stderr
    key = created.json()["key"]
    key_id = created.json()["key_id"]
    assert key.startswith(f"wh_{key_id}_")
    stored = await pool.fetchrow("select * from api_keys where key_id = $1", key_id)
    assert stored is not None and key not in json.dumps(dict(stored), default=str)

    listed = await cli("keys", "list", "--json")
    assert {"key_id": key_id, "role": "department", "subject": "gas_company"}.items() <= next(
        record for record in listed.json() if record["key_id"] == key_id
    ).items()
    assert key not in listed.stdout

    unknown: Run = await cli("keys", "create", "--role", "first-secretary", "--person", "fs-nowhere")
    assert unknown.code == 2 and unknown.stderr_lines == [
        "invalid: person: 'fs-nowhere' is no first-secretary in the directory"
    ]
    assert (await cli("keys", "revoke", key_id)).code == 0
    assert (await cli("keys", "revoke", key_id)).code == 1  # already revoked
    assert await pool.fetchval("select revoked_at is not null from api_keys where key_id = $1", key_id)


async def test_serve_answers_the_json_api_open311_and_the_dashboard(cli: Cli) -> None:
    created = await cli("keys", "create", "--role", "integrator", "--name", "smoke", "--json")
    key = created.json()["key"]
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        *WHISTLE, "serve", "--port", str(port), env={**cli.env, "WHISTLE_OPEN311_JURISDICTION": "xinggong.example.cn"},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:

            async def up() -> bool:
                try:
                    return (await http.get("/openapi.json")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_until(up, within=30)
            complaint_id = new_id()
            filed = await http.post(
                "/api/v1/complaints",
                content=intake(complaint_id),
                headers={"X-API-Key": key, "content-type": "application/json"},
            )
            assert filed.status_code == 201, filed.text  # no reported_at: reported now
            body = {**json.loads(intake(new_id())), "reported_at": "1970-01-05T09:00:00+08:00"}
            refused = await http.post("/api/v1/complaints", json=body, headers={"X-API-Key": key})
            assert refused.status_code == 422 and refused.json()["field"] == "reported_at", refused.text
            status = await http.get(f"/api/v1/complaints/{complaint_id}", headers={"X-API-Key": key})
            assert status.json()["stage"] == "discovered"
            services = await http.get("/open311/v2/services.json")
            assert "streetlight" in {service["service_code"] for service in services.json()}
            discovery = (await http.get("/open311/discovery.json")).json()
            assert discovery["jurisdiction_id"] == "xinggong.example.cn"  # from WHISTLE_OPEN311_JURISDICTION
            assert "督办看板" in (await http.get("/dashboard")).text
    finally:
        server.terminate()
        await server.wait()
