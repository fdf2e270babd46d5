"""A loopback TCP relay that can stop answering, for tests of what the gateway says while a server is away.

``FaultProxy`` relays every connection to a real server (PostgreSQL, Temporal) until told otherwise:
``refuse()`` closes every connection and refuses new ones (a server that is down), ``blackhole()`` keeps
accepting and reading but forwards nothing either way (packets dropped: the case that hangs a client with no
timeouts), ``heal()`` relays again. Only loopback addresses are used.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Literal

from tests.ports import free_port

Mode = Literal["relay", "refuse", "blackhole"]


class FaultProxy:
    """Relays to ``target``: ``(host, port)``, or the path of a Unix socket (an embedded PostgreSQL's)."""

    def __init__(self, target: tuple[str, int] | str) -> None:
        self.target = target
        self.port = free_port()
        self.mode: Mode = "relay"
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._flowing = asyncio.Event()
        self._flowing.set()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self._drop_all()
        if self._server is not None:
            await self._server.wait_closed()

    def refuse(self) -> None:
        self.mode = "refuse"
        self._flowing.set()  # held pipes wake, see the mode and end
        self._drop_all()

    def blackhole(self) -> None:
        self.mode = "blackhole"
        self._flowing.clear()

    def heal(self) -> None:
        self.mode = "relay"
        self._flowing.set()

    def _drop_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == "refuse":
            writer.transport.abort()
            return
        try:
            if isinstance(self.target, str):
                upstream_reader, upstream_writer = await asyncio.open_unix_connection(self.target)
            else:
                upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, upstream_writer}
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer), return_exceptions=True
        )
        for end in (writer, upstream_writer):
            self._writers.discard(end)
            end.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while chunk := await reader.read(65536):
            await self._flowing.wait()  # blackholed: the bytes are held, nothing passes, nothing is refused
            if self.mode == "refuse":
                return
            writer.write(chunk)
            await writer.drain()


@contextlib.asynccontextmanager
async def fault_proxy(target: tuple[str, int] | str) -> AsyncIterator[FaultProxy]:
    proxy = FaultProxy(target)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()
