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
from xml.etree import ElementTree

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel

from gateway import open311

router = APIRouter(prefix="/open311/v2", include_in_schema=False)

XML_MEDIA_TYPE = "text/xml; charset=utf-8"
ITEM_NAMES = {"attributes": "attribute", "values": "value"}
"""Element names of list items inside a record (a service definition's attributes and their values)."""


def _append(parent: ElementTree.Element, name: str, value: Any) -> None:
    element = ElementTree.SubElement(parent, name)
    if isinstance(value, dict):
        for key, inner in value.items():
            _append(element, key, inner)
    elif isinstance(value, list):
        for inner in value:
            _append(element, ITEM_NAMES.get(name, "item"), inner)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = str(value)


def xml_document(root: str, item: str | None, body: Any) -> bytes:
    """``body`` (a record, or a list of records each as ``<item>``) under ``<root>``, with the declaration."""
    top = ElementTree.Element(root)
    records = body if isinstance(body, list) else [body]
    for record in records:
        data = record.model_dump(mode="json") if isinstance(record, BaseModel) else record
        parent = ElementTree.SubElement(top, item) if item else top
        for key, value in data.items():
            _append(parent, key, value)
    text: bytes = ElementTree.tostring(top, encoding="utf-8", xml_declaration=True)
    return text


def xml_errors(status: int, description: str) -> Response:
    body = xml_document("errors", "error", [{"code": status, "description": description}])
    return Response(body, status_code=status, media_type=XML_MEDIA_TYPE)


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
