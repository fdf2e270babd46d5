"""A real HTTP server on 127.0.0.1 playing Aliyun SMS's ``SendSms`` endpoint for the tests.

It checks each request's signature the way Aliyun documents it, written out again here (not with the adapter's
functions), and answers as Aliyun does: ``{"Code": "OK", ...}`` for a good request, ``SignatureDoesNotMatch`` for a
bad signature, or the ``code`` a test sets (``isv.BUSINESS_LIMIT_CONTROL``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote

from tests.ports import free_port


def aliyun_signature(secret: str, method: str, parameters: dict[str, str]) -> str:
    """Aliyun's RPC signature, as its "signature mechanism" page spells it out."""

    def encode(text: str) -> str:
        return quote(text, safe="-_.~")

    query = "&".join(f"{encode(k)}={encode(v)}" for k, v in sorted(parameters.items()) if k != "Signature")
    to_sign = f"{method}&{encode('/')}&{encode(query)}"
    return base64.b64encode(hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


@dataclass
class SmsEndpoint:
    """Records every request's form parameters (``requests``) and whether its signature held (``verified``)."""

    secret: str
    code: str = "OK"
    url: str = ""
    requests: list[dict[str, str]] = field(default_factory=list)
    verified: list[bool] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        method = head[0].split(" ", 1)[0]
        headers = {name.lower(): value for name, _, value in (line.partition(": ") for line in head[1:] if line)}
        body = (await reader.readexactly(int(headers.get("content-length", "0")))).decode()
        parameters = dict(parse_qsl(body, keep_blank_values=True))
        good = hmac.compare_digest(parameters.get("Signature", ""), aliyun_signature(self.secret, method, parameters))
        self.requests.append(parameters)
        self.verified.append(good)
        self.methods.append(method)
        code = self.code if good else "SignatureDoesNotMatch"
        answer = json.dumps(
            {"Code": code, "Message": "OK" if code == "OK" else code, "RequestId": str(uuid.uuid4()), "BizId": "9^0"}
        ).encode()
        status = "200 OK" if code == "OK" or code.startswith("isv.") else "400 Bad Request"
        writer.write(
            f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {len(answer)}\r\n"
            "connection: close\r\n\r\n".encode() + answer
        )
        await writer.drain()
        writer.close()


@asynccontextmanager
async def serving(endpoint: SmsEndpoint) -> AsyncIterator[SmsEndpoint]:
    server = await asyncio.start_server(endpoint.handle, "127.0.0.1", free_port())
    endpoint.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    async with server:
        yield endpoint
