"""GeoReport v2's XML format: a record, or a list of records, as the specification's elements; its errors too.
Apart from the XML routes (``gateway.open311_xml``) so the error handlers can answer in XML without importing them.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from fastapi.responses import Response
from pydantic import BaseModel

XML_MEDIA_TYPE = "text/xml; charset=utf-8"
ITEM_NAMES = {
    "attributes": "attribute", "values": "value", "notes": "note", "endpoints": "endpoint", "formats": "format",
}  # fmt: skip
"""Element names of list items inside a record: a service definition's attributes and their values, a request's
notes (``extensions=true``), the discovery document's endpoints and their formats."""


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
