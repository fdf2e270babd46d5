"""The embedded stack: ``up`` starts real servers (or finds them running), ``down`` stops them."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from pathlib import Path

import asyncpg
import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.converter import WorkflowSerializationContext

from activities.event_store import Pool
from tests.helpers import new_intake, running_worker
from tests.pg import fresh_database
from tests.ports import free_ports
from whistle import devstack
from whistle.codec import ENCODING, codec_for
from whistle.connection import connect_temporal
from whistle.settings import Settings
from workflows.search_attributes import ALL_KEYS


def answers(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


async def test_up_starts_the_embedded_stack_finds_it_again_and_down_stops_it(tmp_path: Path) -> None:
    temporal_port, ui_port, codec_port = free_ports(3)
    settings = Settings(
        home=tmp_path / "home",
        temporal_port=temporal_port,
        ui_port=ui_port,
        codec_port=codec_port,
        temporal_namespace="whistle-test",
        temporal_address=None,
        database_url=None,
        codec_keys=None,
    )
    try:
        stack = await asyncio.to_thread(devstack.up, settings)
        assert stack.temporal_address == f"127.0.0.1:{temporal_port}"
        assert stack.ui_url == f"http://127.0.0.1:{ui_port}"
        assert stack.to_json()["namespace"] == "whistle-test"

        client = await Client.connect(stack.temporal_address, namespace=stack.namespace)
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=stack.namespace)
        )
        assert {key.name for key in ALL_KEYS} <= set(listed.custom_attributes)

        connection = await asyncpg.connect(stack.database_url)
        try:
            assert await connection.fetchval("select 1") == 1
            assert await connection.fetchval("select current_database()") == "whistle"
        finally:
            await connection.close()

        await assert_codec_server_round_trips(settings)

        running = devstack.status(settings)
        assert running["temporal"]["pid"] is not None
        assert running["codec"]["pid"] is not None and running["codec"]["port_open"]
        assert running["postgres"]["pid"] is not None
        assert await asyncio.to_thread(devstack.up, settings) == stack
        assert devstack.status(settings) == running
    finally:
        await asyncio.to_thread(devstack.down, settings)

    assert not answers(temporal_port)
    assert not answers(codec_port)
    with pytest.raises((OSError, asyncpg.PostgresError)):
        await asyncpg.connect(stack.database_url, timeout=5)
    stopped = devstack.status(settings)
    assert stopped["temporal"]["pid"] is None
    assert stopped["codec"] == {"pid": None, "port_open": False}
    assert stopped["postgres"]["pid"] is None
    await asyncio.to_thread(devstack.down, settings)  # a second down is harmless


async def assert_codec_server_round_trips(settings: Settings) -> None:
    """The codec server the UI is pointed at decodes the UI's browser calls with the dev key under home (what this
    process encrypts for a case), and only decodes: the UI's write actions, which would encode, are off."""
    origin = f"http://127.0.0.1:{settings.ui_port}"
    original = Payload(metadata={"encoding": b"json/plain"}, data='"王建国 13000000001"'.encode())
    codec = codec_for(settings)  # this process's codec: the same dev key under home
    assert codec is not None
    case = WorkflowSerializationContext(namespace="whistle-test", workflow_id="complaint-T-1")
    sealed = codec.with_context(case).encrypt(original)
    assert sealed.metadata["encoding"] == ENCODING and "王建国".encode() not in sealed.data
    body = json_format.MessageToJson(Payloads(payloads=[sealed]))
    headers = {"Origin": origin, "X-Namespace": "whistle-test"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.codec_port}", timeout=10) as http:
        decoded = await http.post("/decode", content=body, headers=headers)
        assert decoded.status_code == 200 and decoded.headers["access-control-allow-origin"] == origin
        assert list(json_format.Parse(decoded.text, Payloads()).payloads) == [original]
        assert (await http.post("/encode", content=body, headers=headers)).status_code == 404


async def test_fresh_database_keeps_its_data_across_a_postgres_restart() -> None:
    async with fresh_database() as database:
        connection = await asyncpg.connect(database.url)
        await connection.execute("create table marker (note text); insert into marker values ('kept')")
        await connection.close()

        await database.stop_postgres()
        with pytest.raises((OSError, asyncpg.PostgresError)):
            await asyncpg.connect(database.url, timeout=5)
        await database.start_postgres()

        connection = await asyncpg.connect(database.url)
        try:
            assert await connection.fetchval("select note from marker") == "kept"
        finally:
            await connection.close()


async def test_the_cli_answers_commands_while_the_embedded_postgres_is_down(tmp_path: Path, pool: Pool) -> None:
    """A command, a status and a history need only Temporal: with the stack's PostgreSQL stopped, and unable to
    start again, they are answered. The worker stores into the suite's own database."""
    temporal_port, ui_port, codec_port = free_ports(3)
    settings = Settings(
        home=tmp_path / "home", temporal_port=temporal_port, ui_port=ui_port, codec_port=codec_port,
        temporal_address=None, database_url=None, codec_keys=None,
    )  # fmt: skip
    environment = {
        **{name: value for name, value in os.environ.items() if name not in {"TEMPORAL_ADDRESS", "DATABASE_URL"}},
        "WHISTLE_HOME": str(settings.home),
        "WHISTLE_TEMPORAL_PORT": str(temporal_port),
        "WHISTLE_UI_PORT": str(ui_port),
        "WHISTLE_CODEC_PORT": str(codec_port),
        "WHISTLE_LOG_FORMAT": "json",
    }
    try:
        stack = await asyncio.to_thread(devstack.up, settings)
        temporal = await connect_temporal(stack.temporal_address, stack.namespace, settings=settings)  # its dev key
        async with running_worker(temporal, pool) as client:
            filed = await client.submit(new_intake())
            pgdata = settings.home / "pgdata"
            await asyncio.to_thread(devstack.stop_postgres, pgdata)
            pgdata.rename(settings.home / "pgdata.unreachable")  # and it cannot come up again: no data directory
            pgdata.write_text("not a data directory\n")

            async def whistle(*args: str) -> tuple[int, str, str]:
                process = await asyncio.create_subprocess_exec(
                    sys.executable, "-c", "from cli.app import main; main()", *args,
                    env={**environment, "WHISTLE_TASK_QUEUE": client.task_queue},
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                )  # fmt: skip
                stdout, stderr = await asyncio.wait_for(process.communicate(), 90)
                return process.returncode or 0, stdout.decode(), stderr.decode()

            code, out, err = await whistle("verify", filed.complaint_id, "--grid-worker", "gw-hongqi-1", "--json")
            assert code == 0, err
            assert json.loads(out)["event_count"] == 2  # filed, verified
            code, out, err = await whistle("status", filed.complaint_id, "--json")
            assert code == 0 and json.loads(out)["complaint_id"] == filed.complaint_id, err
            code, out, err = await whistle("history", filed.complaint_id, "--json")
            assert code == 0 and [entry["type"] for entry in json.loads(out)][:2] == [
                "ComplaintFiled", "GridVerified",
            ], err  # fmt: skip
            assert devstack.status(settings)["postgres"]["pid"] is None
    finally:
        await asyncio.to_thread(devstack.down, settings)
