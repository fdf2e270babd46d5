"""The gateway's FastAPI app: the JSON API, Open311 GeoReport v2 and the supervisors' dashboard, one server.

``create_app`` takes everything it needs in a ``Gateway`` (SDK client, pool, Open311 defaults) so tests and
``whistle serve`` build it the same way. The OpenAPI document is at ``/openapi.json``, its pages at ``/docs``.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from starlette.types import ASGIApp

from gateway import (
    api,
    dashboard,
    grid_map,
    hotspots,
    merging,
    open311,
    open311_discovery,
    open311_requests,
    open311_services,
    open311_updates,
    open311_xml,
    photos,
)
from gateway import exports as export_routes
from gateway.context import Gateway
from gateway.errors import install_error_handlers
from gateway.guard import Guard

DESCRIPTION = """\
Whistle (吹哨报到): file complaints, act on them and follow them over HTTP.

* **JSON API** (`/api/v1`): every call carries an API key in `X-API-Key` (`whistle keys create`). The key says
  who acts; a body never does. Errors are `{"field", "reason"}`: 401 no or bad key, 403 the key may not do
  this, 404 no such case, 409 the case refuses the command, 422 invalid input.
* **Open311 GeoReport v2** (`/open311/v2`): the published specification, JSON (listed here) and XML (the
  same paths with `.xml`); `POST requests.json` is form-encoded with `api_key`. Errors are
  `[{"code", "description"}]` (`<errors><error>` in XML).
* **Dashboard** (`/dashboard`): overdue and escalated cases, a map of open cases per grid (`/api/v1/map`),
  rankings over time, hotspots flagged for proactive governance (主动治理), a case's timeline.

Photos: upload each to `POST /api/v1/photos` (multipart, up to 10 MiB, JPEG/PNG/WebP) and attach the reference it
answers to a filing, a progress note or a completion (`photos`).

Limits: bodies up to 64 KiB (413 past that; a photo upload up to 10 MiB); requests per address and per key (429
with `Retry-After`); lists of at most 200 cases. With PostgreSQL or Temporal away, 503 with `Retry-After`, within
about two seconds. Creates accept an `Idempotency-Key` header: a retry after a lost answer files one case.
"""


def create_app(gateway: Gateway, *, mounts: Mapping[str, ASGIApp] | None = None) -> FastAPI:
    """The gateway app; ``mounts`` adds sub-applications (the codec server at ``/codec``, say)."""
    app = FastAPI(title="Whistle gateway", version="1", description=DESCRIPTION)
    app.state.gateway = gateway
    install_error_handlers(app)
    app.add_middleware(Guard, throttle=gateway.throttle, larger_bodies={photos.UPLOAD_PATH: photos.UPLOAD_LIMIT})
    app.include_router(api.router)
    app.include_router(photos.api_router)
    app.include_router(photos.public_router)
    app.include_router(merging.router)
    app.include_router(open311_discovery.router)
    app.include_router(open311_services.router)
    app.include_router(open311.router)
    app.include_router(open311_requests.router)
    app.include_router(open311_updates.router)
    app.include_router(open311_xml.router)
    app.include_router(dashboard.router)
    app.include_router(grid_map.router)
    app.include_router(export_routes.router)
    app.include_router(hotspots.router)
    for path, sub_app in (mounts or {}).items():
        app.mount(path, sub_app)

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/dashboard")

    return app
