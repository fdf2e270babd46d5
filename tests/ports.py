"""Free loopback ports for the servers a test starts, safe when two test suites run on one machine.

A port found by binding port 0 comes from the kernel's ephemeral range, the same range every outgoing
connection (a gRPC channel to Temporal, an HTTP client) takes its local port from, and it is free only
until the probe closes: another suite, or any client, may take it before the server binds it. So ports are
drawn at random from below the ephemeral range, and each is claimed with an exclusive ``flock`` on a file
named for it, held for the life of the test process: a second suite on the machine skips a claimed port.
"""

from __future__ import annotations

import fcntl
import random
import socket
import tempfile
from pathlib import Path
from typing import IO

_CLAIMS = Path(tempfile.gettempdir()) / "whistle-test-ports"
_LOWEST = 20000
_held: list[IO[str]] = []
_draw = random.Random()


def _highest() -> int:
    """The port just below the ephemeral range (Linux's default range starts at 32768)."""
    try:
        ephemeral_low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_low = 32768
    return max(ephemeral_low - 1, _LOWEST + 1000)


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port no other process listens on and no other test process on this machine will hand out."""
    _CLAIMS.mkdir(exist_ok=True)
    highest = _highest()
    for _ in range(2000):
        port = _draw.randint(_LOWEST, highest)
        claim = (_CLAIMS / f"{port}.lock").open("w")
        try:
            fcntl.flock(claim, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            claim.close()
            continue
        if _bindable(port):
            _held.append(claim)
            return port
        claim.close()
    raise RuntimeError(f"no free port between {_LOWEST} and {highest}")


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports."""
    return [free_port() for _ in range(count)]
