"""The notification receiver the fault suite's workers post to, which can go silent.

Answering, it reads each HTTP request and answers ``204``. Silent, it still accepts connections and reads
what arrives, but never answers a request, not even after the silence ends: the worst receiver there is,
one a timeout is the only way out of (a refused connection or a ``500`` fails fast). A notification path
that waits on a receiver inside a command shows up as slow commands while it is silent.
"""

from __future__ import annotations

import asyncio
import contextlib

from tests.ports import free_port

_LONGEST_HEAD = 64 * 1024


class Webhook:
    """A loopback HTTP receiver on a free port; ``silent`` decides how it meets the next request."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/notifications"
        self.silent = False
        self.connections = 0
        self.answered = 0
        self.unanswered = 0
        """Requests that arrived while silent and were held without an answer."""
        self._server: asyncio.Server | None = None
        self._held: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        """Close the listener and every held connection."""
        if self._server is not None:
            self._server.close()
        for writer in list(self._held):
            writer.close()
        self._held.clear()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5.0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while await self._one_request(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            self._held.discard(writer)
            writer.close()

    async def _one_request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Read one request and answer it or hold it; False when the connection is done."""
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > _LONGEST_HEAD:
            return False
        length = 0
        for line in head.decode("latin-1").split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        await reader.readexactly(length)
        if self.silent:
            self.unanswered += 1
            self._held.add(writer)
            await _drain_forever(reader)
            return False
        writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        self.answered += 1
        return True


async def _drain_forever(reader: asyncio.StreamReader) -> None:
    """Read (and drop) whatever the client sends until it hangs up; never write a byte back."""
    while await reader.read(4096):
        pass
