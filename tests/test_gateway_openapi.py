"""The gateway's OpenAPI document validates, and a bounded schema-driven fuzz run finds no 5xx.

schemathesis generates requests for every operation from the published document (valid and invalid
bodies, queries and path ids) and sends them over real HTTP with a live key; any 5xx fails the test.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase

from schemas.commands import COMMANDS
from tests.fuzzing import examples
from tests.gateway_helpers import Served

EXAMPLES_PER_OPERATION = 8
"""About 25 operations: a few hundred requests, well under a minute."""


async def test_the_openapi_document_validates_and_lists_every_route(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.url) as http:
        document = (await http.get("/openapi.json")).json()
        assert (await http.get("/docs")).status_code == 200
    schema = schemathesis.openapi.from_dict(document)
    schema.validate()  # against the OpenAPI meta-schema
    paths = set(document["paths"])
    for path in (
        "/api/v1/complaints", "/api/v1/complaints/{complaint_id}", "/api/v1/complaints/{complaint_id}/history",
        "/api/v1/complaints/{complaint_id}/report-in", "/api/v1/reports/{by}", "/open311/v2/services.json",
        "/open311/v2/requests.json", "/open311/v2/requests/{service_request_id}.json", "/api/v1/map",
    ):  # fmt: skip
        assert path in paths, path
    assert "X-API-Key" in str(document["components"]["securitySchemes"])


async def test_the_openapi_document_lists_every_command_with_every_field(served: Served) -> None:
    """One definition per command (``schemas.commands.COMMANDS``): each is a path whose body carries every field of
    the command but the actor (the key) — the whistle's grade and the officer's seniority among them."""
    async with httpx.AsyncClient(base_url=served.url) as http:
        document = (await http.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    for name, model in COMMANDS.items():
        operation = document["paths"][f"/api/v1/complaints/{{complaint_id}}/{name.replace('_', '-')}"]["post"]
        reference = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        body = schemas[reference.rsplit("/", 1)[1]]
        assert set(body.get("properties", {})) == set(model.model_fields) - {"type", "actor"}, name
        assert operation["summary"] == model.label
    assert len(COMMANDS) >= 19
    assert "grade" in schemas["BlowWhistleBody"]["properties"]
    assert "seniority" in schemas["ReportInBody"]["properties"]


def fuzz(url: str, keys: list[str]) -> Counter[int]:
    """Every operation, ``EXAMPLES_PER_OPERATION`` generated cases each, alternating keys; no 5xx allowed."""
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an Err raises here, failing the test

        @hypothesis.given(case=operation.as_strategy())
        @hypothesis.settings(
            max_examples=examples(EXAMPLES_PER_OPERATION),
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case[Any]) -> None:
            key = keys[sum(statuses.values()) % len(keys)]
            response = case.call(base_url=url, headers={"X-API-Key": key}, timeout=30)
            statuses[response.status_code] += 1
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code} {response.text[:200]}")

        run()
    assert not failures, failures
    return statuses


async def test_a_schema_driven_fuzz_run_finds_no_server_error(served: Served) -> None:
    keys = [
        await served.key("integrator", "fuzz-integrator"),
        await served.key("department", "urban_management"),
        await served.key("grid-worker", "gw-hongqi-1"),
        await served.key("resident", "fuzz-resident"),
    ]
    statuses = await asyncio.to_thread(fuzz, served.url, keys)
    total = sum(statuses.values())
    print("fuzz statuses", dict(statuses))
    assert examples(100) <= total <= examples(600), statuses  # a few hundred requests
    assert all(status < 500 for status in statuses), statuses
    assert statuses[200] + statuses[201] > 0  # some generated requests were good enough to succeed
