"""The processes the fault suite breaks: a Temporal dev server on a SQLite file, and a worker process.

Both bind 127.0.0.1 on free ports, keep their files in the suite's temporary directory, and are started
and ended only through these objects (by pid, never by name).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.client import Client

from tests.ports import free_port
from whistle.devstack import register_search_attributes, temporal_binary
from workflows.search_attributes import ALL_KEYS

ROOT = Path(__file__).resolve().parents[2]

_TYPE_NAMES = {
    IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD: "Keyword",
    IndexedValueType.INDEXED_VALUE_TYPE_INT: "Int",
    IndexedValueType.INDEXED_VALUE_TYPE_DATETIME: "Datetime",
    IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST: "KeywordList",
    IndexedValueType.INDEXED_VALUE_TYPE_TEXT: "Text",
    IndexedValueType.INDEXED_VALUE_TYPE_BOOL: "Bool",
    IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE: "Double",
}


class DevServer:
    """``temporal server start-dev`` on ``db_file``; ``restart`` stops it and starts it on the same file and ports."""

    def __init__(self, directory: Path) -> None:
        self.db_file = directory / "temporal.db"
        self.log_file = directory / "temporal.log"
        self.port, self.http_port = free_port(), free_port()
        self.address = f"127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def _spawn(self) -> None:
        command = [
            str(temporal_binary()), "server", "start-dev", "--headless",
            "--db-filename", str(self.db_file),
            "--ip", "127.0.0.1", "--port", str(self.port), "--http-port", str(self.http_port),
            "--log-level", "error",
        ]  # fmt: skip
        for key in ALL_KEYS:
            type_name = _TYPE_NAMES[IndexedValueType.ValueType(key.indexed_value_type)]
            command += ["--search-attribute", f"{key.name}={type_name}"]
        with open(self.log_file, "ab") as log:
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    async def start(self, within: float = 60.0) -> None:
        """Start and wait until it takes a client, with Whistle's search attributes registered."""
        self._spawn()
        deadline = time.monotonic() + within
        while True:
            try:
                client = await Client.connect(self.address)
                await register_search_attributes(client, "default")
                return
            except Exception:  # not listening yet
                assert self._process is not None
                if self._process.poll() is not None:
                    raise RuntimeError(f"temporal dev server exited; see {self.log_file}") from None
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM (a clean stop), SIGKILL after ``grace`` seconds."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    async def restart(self) -> None:
        await asyncio.to_thread(self.stop)
        await self.start()


class WorkerProcess:
    """``python worker.py`` with the given environment; ``kill`` is SIGKILL, as a crash or an OOM kill would be."""

    def __init__(self, env: dict[str, str], log_file: Path) -> None:
        self.env = env
        self.log_file = log_file
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.down_on_purpose = False
        """Set while a fault keeps it down, so the supervisor does not restart it early."""

    def start(self) -> None:
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(ROOT / "worker.py")],
                cwd=ROOT,
                env={**os.environ, **self.env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers (the end of the run, not a fault)."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.kill()
