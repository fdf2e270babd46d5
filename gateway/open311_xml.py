"""Open311 GeoReport v2 in XML, the specification's required format: the same methods as the JSON ones
with ``.xml`` for ``.json``, answering ``text/xml`` with the specification's element names
(``<services><service>``, ``<service_definition>``, ``<service_requests><request>``, ``<errors><error>``),
and those of the extensions (``<service_request_updates><request_update>``, ``<discovery>``).

Each XML route calls its JSON twin and only changes how the answer is written, so the two cannot disagree.
The OpenAPI document lists the JSON routes only (OpenAPI describes JSON bodies).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from gateway import open311, open311_discovery, open311_requests, open311_services, open311_updates
from gateway.xml_documents import XML_MEDIA_TYPE, xml_document

router = APIRouter(include_in_schema=False)


def _as_xml(
    endpoint: Callable[..., Awaitable[Any]], root: str, item: str | None
) -> Callable[..., Awaitable[Response]]:
    @functools.wraps(endpoint)
    async def xml_endpoint(*args: Any, **kwargs: Any) -> Response:
        return Response(xml_document(root, item, await endpoint(*args, **kwargs)), media_type=XML_MEDIA_TYPE)

    return xml_endpoint


GEOREPORT = "/open311/v2"
for path, endpoint, root, item, method in (
    ("/open311/discovery.xml", open311_discovery.discovery, "discovery", None, "GET"),
    (f"{GEOREPORT}/services.xml", open311_services.services, "services", "service", "GET"),
    (f"{GEOREPORT}/services/{{service_code}}.xml", open311_services.service_definition, "service_definition", None,
     "GET"),
    (f"{GEOREPORT}/requests.xml", open311.create_request, "service_requests", "request", "POST"),
    (f"{GEOREPORT}/requests.xml", open311_requests.requests, "service_requests", "request", "GET"),
    (f"{GEOREPORT}/requests/{{service_request_id}}.xml", open311_requests.request, "service_requests", "request",
     "GET"),
    (f"{GEOREPORT}/servicerequestupdates.xml", open311_updates.service_request_updates, "service_request_updates",
     "request_update", "GET"),
):  # fmt: skip
    router.add_api_route(path, _as_xml(endpoint, root, item), methods=[method], response_model=None)
