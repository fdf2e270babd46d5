"""Filing by coordinates, on the real stack: the SDK and the JSON API place an intake that names no grid in the
grid holding its point (the CLI's own test is in ``test_cli.py``), and refuse (naming ``location``, filing
nothing) a point in no grid or one that contradicts the grid named. The sample district's grids:
``whistle/data/org.yaml``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from activities import registry
from activities.event_store import Pool
from schemas.errors import CommandRejected
from tests.domain_fixtures import LATITUDE, LONGITUDE
from tests.gateway_helpers import Served, intake_json
from tests.helpers import TestClient, new_intake, running_worker

IN_HONGQI_3: dict[str, Any] = {"address": "兴工区红旗社区15号楼底商", "latitude": 41.8003, "longitude": 123.3349}
NOWHERE: dict[str, Any] = {"address": "浑河对岸", "latitude": 41.70, "longitude": 123.30}


@pytest.fixture(scope="module")
async def client(dev_env: Any, pool: Pool) -> Any:
    async with running_worker(dev_env.client, pool) as whistle:
        yield whistle


async def test_the_sdk_places_a_point_and_refuses_coordinates_that_contradict_the_grid(
    client: TestClient, pool: Pool
) -> None:
    assert client.place(41.8003, 123.3349) == ("hongqi", "hongqi_3")
    assert client.place(LATITUDE, LONGITUDE) == ("hongqi", "hongqi_1")
    with pytest.raises(CommandRejected) as nowhere:
        client.place(NOWHERE["latitude"], NOWHERE["longitude"])
    assert nowhere.value.field == "location" and "no grid" in nowhere.value.reason

    contradicting = new_intake(location=IN_HONGQI_3)  # the fixture's grid is hongqi_1
    with pytest.raises(CommandRejected) as refused:
        await client.submit(contradicting)
    assert refused.value.field == "location" and "hongqi_3" in refused.value.reason
    assert contradicting.complaint_id is not None
    assert await registry.lookup(pool, contradicting.complaint_id) is None  # nothing filed, nothing reserved

    community, grid = client.place(41.8003, 123.3349)
    placed = new_intake(community=community, grid=grid, location=IN_HONGQI_3)
    filed = await client.submit(placed)
    assert (await client.status(filed.complaint_id)).grid == "hongqi_3"


async def _post(http: httpx.AsyncClient, key: str, body: dict[str, Any]) -> httpx.Response:
    return await http.post("/api/v1/complaints", json=body, headers={"X-API-Key": key})


async def test_the_json_api_files_an_intake_without_a_grid_in_the_grid_holding_its_point(
    served: Served, http: httpx.AsyncClient
) -> None:
    integrator = await served.key("integrator", "app-integrator")
    body = intake_json()
    del body["community"], body["grid"]
    body["location"] = IN_HONGQI_3
    filed = await _post(http, integrator, body)
    assert filed.status_code == 201, filed.text
    view = await served.client.status(body["complaint_id"])
    assert (view.community, view.grid) == ("hongqi", "hongqi_3")

    community_only = {**intake_json(), "location": IN_HONGQI_3, "community": "hongqi"}
    del community_only["grid"]
    assert (await _post(http, integrator, community_only)).status_code == 201


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"location": NOWHERE}, "location", "no grid"),
        ({"location": IN_HONGQI_3, "community": "anju"}, "location", "hongqi_3 of hongqi, not anju"),
        ({"location": IN_HONGQI_3, "community": "hongqi", "grid": "hongqi_1"}, "location", "not hongqi/hongqi_1"),
        ({"location": {"address": "红旗社区"}}, "community", "location.latitude"),
    ],
    ids=["in no grid", "another community", "another grid", "no point, no place"],
)
async def test_the_json_api_refuses_a_point_it_cannot_place_and_files_nothing(
    served: Served, http: httpx.AsyncClient, change: dict[str, Any], field: str, reason: str
) -> None:
    integrator = await served.key("integrator", "app-integrator")
    body = intake_json()
    del body["community"], body["grid"]
    refused = await _post(http, integrator, {**body, **change})
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == field and reason in refused.json()["reason"], refused.text
    assert await registry.lookup(served.pool, body["complaint_id"]) is None
