"""The codec server: lets the Temporal UI (and ``temporal`` CLI) show encrypted payloads as plain text.

It speaks Temporal's remote codec protocol: ``POST /encode`` and ``POST /decode`` take and return
``{"payloads": [{"metadata": {...}, "data": "..."}]}`` (the protobuf JSON form of ``Payloads``, bytes in
base64). The browser calls it directly from the UI's origin, so the app allows that origin (CORS); with
``WHISTLE_CODEC_TOKEN`` set, a request must carry ``Authorization: Bearer <token>`` (configure the UI to
pass it), otherwise anyone who can reach the port can decrypt.

Three ways to run it:
- ``whistle dev up`` (and every command that starts the embedded stack) runs ``python -m
  whistle.codec_server`` detached next to the Temporal dev server, on ``127.0.0.1:WHISTLE_CODEC_PORT``
  (8234), which that server's UI is started to call; ``whistle dev down`` stops it;
- ``whistle codec-server``: the same app in the foreground, until Ctrl-C;
- inside another FastAPI app (the gateway): ``app.mount("/codec", codec_app(settings))`` keeps its own
  CORS rules, or ``app.include_router(codec_router(codec, token), prefix="/codec")`` when the host app
  sets CORS itself.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from whistle.codec import CodecKeyError, EncryptionCodec, codec_for
from whistle.settings import Settings

JSON = "application/json"


def _authorizer(token: str | None) -> Callable[[Request], None]:
    def authorize(request: Request) -> None:
        if token is None:
            return
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            raise HTTPException(status_code=401, detail="codec server: missing or wrong Authorization header")

    return authorize


def codec_router(codec: EncryptionCodec, token: str | None = None) -> APIRouter:
    """``POST /encode`` and ``POST /decode`` for ``codec``; ``token`` (if set) must come as a Bearer header."""
    router = APIRouter(dependencies=[Depends(_authorizer(token))], tags=["codec"])

    async def convert(request: Request, step: Callable[[list[Payload]], Awaitable[list[Payload]]]) -> Response:
        body = await request.body()
        try:
            payloads = json_format.Parse(body or b"{}", Payloads())
        except json_format.ParseError:
            raise HTTPException(status_code=400, detail="payloads: not the JSON form of Temporal Payloads") from None
        try:
            converted = await step(list(payloads.payloads))
        except CodecKeyError as error:
            raise HTTPException(status_code=400, detail=f"payloads: {error}") from None
        return Response(json_format.MessageToJson(Payloads(payloads=converted)), media_type=JSON)

    @router.post("/encode", summary="Encrypt payloads with the current key")
    async def encode(request: Request) -> Response:
        return await convert(request, codec.encode)

    @router.post("/decode", summary="Decrypt payloads with whichever listed key each names")
    async def decode(request: Request) -> Response:
        return await convert(request, codec.decode)

    return router


def ui_origins(settings: Settings) -> list[str]:
    """The embedded UI's origins and any the settings add (``WHISTLE_CODEC_ORIGINS``)."""
    local = [f"http://{host}:{settings.ui_port}" for host in ("127.0.0.1", "localhost")]
    extra = [origin.strip().rstrip("/") for origin in settings.codec_origins.split(",") if origin.strip()]
    return [*local, *extra]


def codec_app(settings: Settings) -> FastAPI:
    """The codec server as an app of its own, with CORS for the UI's origins."""
    codec = codec_for(settings)
    if codec is None:
        raise CodecKeyError("WHISTLE_CODEC_KEYS: a codec server needs the keys (none are configured)")
    token = settings.codec_token.get_secret_value() if settings.codec_token else None
    app = FastAPI(title="Whistle codec server", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=ui_origins(settings),
        allow_methods=["POST", "OPTIONS"],
        allow_headers=["Content-Type", "X-Namespace", "Authorization"],
        allow_credentials=True,
    )
    app.include_router(codec_router(codec, token))
    return app


def serve(settings: Settings, host: str = "127.0.0.1") -> None:
    """Run the codec server in the foreground until Ctrl-C."""
    import uvicorn

    uvicorn.run(codec_app(settings), host=host, port=settings.codec_port, log_level="warning")


if __name__ == "__main__":  # what ``devstack.up`` starts, detached, with its settings in the environment
    serve(Settings())
