"""Open311 GeoReport v2 in XML, the specification's required format: the same methods as ``gateway.open311``
with ``.xml`` for ``.json``, answering ``text/xml`` with the specification's element names
(``<services><service>``, ``<service_definition>``, ``<service_requests><request>``, ``<errors><error>``).

Each XML route calls its JSON twin and only changes how the answer is written, so the two cannot disagree.
The OpenAPI document lists the JSON routes only (OpenAPI describes JSON bodies).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from gateway import open311
from gateway.xml_documents import XML_MEDIA_TYPE, xml_document

router = APIRouter(prefix="/open311/v2", include_in_schema=False)

def _as_xml(
    endpoint: Callable[..., Awaitable[Any]], root: str, item: str | None
) -> Callable[..., Awaitable[Response]]:
    @functools.wraps(endpoint)
    async def xml_endpoint(*args: Any, **kwargs: Any) -> Response:
        return Response(xml_document(root, item, await endpoint(*args, **kwargs)), media_type=XML_MEDIA_TYPE)

    return xml_endpoint


for path, endpoint, root, item, method in (
    ("/services.xml", open311.services, "services", "service", "GET"),
    ("/services/{service_code}.xml", open311.service_definition, "service_definition", None, "GET"),
    ("/requests.xml", open311.create_request, "service_requests", "request", "POST"),
    ("/requests.xml", open311.requests, "service_requests", "request", "GET"),
    ("/requests/{service_request_id}.xml", open311.request, "service_requests", "request", "GET"),
):
    router.add_api_route(path, _as_xml(endpoint, root, item), methods=[method], response_model=None)
