"""The codec server: lets the Temporal UI (and ``temporal`` CLI) show encrypted payloads as plain text.

It speaks Temporal's remote codec protocol: ``POST /decode`` (and, when ``WHISTLE_CODEC_ENCODE=true``,
``POST /encode``) take and return ``{"payloads": [{"metadata": {...}, "data": "..."}]}`` (the protobuf JSON
form of ``Payloads``, bytes in base64), for the namespace in the ``X-Namespace`` header. The browser calls it
directly from the UI's origin, so the app allows that origin (CORS).

Whoever can call it can read every case, so on a real deployment it answers only callers with a bearer JWT
(the Temporal UI's ``passAccessToken``; ``whistle/codec_access.py``): signed by the configured issuer's keys,
unexpired, and granting the asked namespace, which must also be on the server's own allow-list. Each payload
must belong to that namespace (its ``encryption-scope``). Only the embedded dev stack, on loopback, runs it
without tokens.

Three ways to run it:
- ``whistle dev up`` (and every command that starts the embedded stack) runs ``python -m
  whistle.codec_server`` detached next to the Temporal dev server, on ``127.0.0.1:WHISTLE_CODEC_PORT``
  (8234), which that server's UI is started to call; ``whistle dev down`` stops it;
- ``whistle codec-server``: the same app in the foreground, until Ctrl-C;
- inside another FastAPI app (the gateway): ``app.mount("/codec", codec_app(settings))``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from whistle.codec import SCOPE, CodecKeyError, EncryptionCodec, codec_for
from whistle.codec_access import CodecAccess, access_for
from whistle.settings import Settings

JSON = "application/json"


def codec_router(codec: EncryptionCodec, access: CodecAccess | None, *, encode: bool = False) -> APIRouter:
    """``POST /decode`` (and ``/encode`` if asked) for ``codec``; ``access`` (None: the dev stack) admits callers."""

    async def namespace_of(request: Request) -> str:
        namespace = request.headers.get("x-namespace", "")
        if access is not None:
            await access.admit(request.headers.get("authorization"), namespace)
        return namespace

    router = APIRouter(tags=["codec"])

    async def convert(
        request: Request, namespace: str, step: Callable[[list[Payload]], Awaitable[list[Payload]]]
    ) -> Response:
        body = await request.body()
        try:
            payloads = list(json_format.Parse(body or b"{}", Payloads()).payloads)
        except json_format.ParseError:
            raise HTTPException(status_code=400, detail="payloads: not the JSON form of Temporal Payloads") from None
        if access is not None:
            _check_namespace(payloads, namespace)
        try:
            converted = await step(payloads)
        except CodecKeyError as error:
            raise HTTPException(status_code=400, detail=f"payloads: {error}") from None
        return Response(json_format.MessageToJson(Payloads(payloads=converted)), media_type=JSON)

    @router.post("/decode", summary="Decrypt payloads with whichever listed key each names")
    async def decode(request: Request, namespace: str = Depends(namespace_of)) -> Response:
        return await convert(request, namespace, codec.decode)

    if encode:

        @router.post("/encode", summary="Encrypt payloads with the current key")
        async def encode_payloads(request: Request, namespace: str = Depends(namespace_of)) -> Response:
            return await convert(request, namespace, codec.encode)

    return router


def _check_namespace(payloads: list[Payload], namespace: str) -> None:
    """A payload bound to a case of another namespace is not this caller's to read."""
    for payload in payloads:
        scope = payload.metadata[SCOPE].decode() if SCOPE in payload.metadata else None
        if scope is not None and scope.partition("/")[0] != namespace:
            raise HTTPException(status_code=403, detail=f"payloads: a payload of another namespace than {namespace!r}")


def ui_origins(settings: Settings) -> list[str]:
    """The embedded UI's origins and any the settings add (``WHISTLE_CODEC_ORIGINS``)."""
    local = [f"http://{host}:{settings.ui_port}" for host in ("127.0.0.1", "localhost")]
    extra = [origin.strip().rstrip("/") for origin in settings.codec_origins.split(",") if origin.strip()]
    return [*local, *extra]


def codec_app(settings: Settings) -> FastAPI:
    """The codec server as an app of its own, with CORS for the UI's origins.

    Raises ``CodecKeyError`` without keys, and for a real deployment (``TEMPORAL_ADDRESS``) without a JWT issuer:
    a codec server nobody guards would decrypt every case for anyone who reaches it."""
    codec = codec_for(settings)
    if codec is None:
        raise CodecKeyError("WHISTLE_CODEC_KEYS: a codec server needs the keys (none are configured)")
    access = access_for(settings)
    if access is None and settings.temporal_address is not None:
        raise CodecKeyError(
            "WHISTLE_CODEC_JWT_ISSUER, WHISTLE_CODEC_JWKS_URL: a codec server for a real deployment admits only "
            "callers with a token from your identity provider; name it"
        )
    app = FastAPI(title="Whistle codec server", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=ui_origins(settings),
        allow_methods=["POST", "OPTIONS"],
        allow_headers=["Content-Type", "X-Namespace", "Authorization"],
        allow_credentials=True,
    )
    app.include_router(codec_router(codec, access, encode=settings.codec_encode))
    return app


def serve(settings: Settings, host: str = "127.0.0.1") -> None:
    """Run the codec server in the foreground until Ctrl-C."""
    import uvicorn

    uvicorn.run(codec_app(settings), host=host, port=settings.codec_port, log_level="warning")


if __name__ == "__main__":  # what ``devstack.up`` starts, detached, with its settings in the environment
    serve(Settings())
