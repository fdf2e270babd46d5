"""Spreadsheet exports over real HTTP: the case list and the ranking as xlsx and csv, read back, under the same
access rules as the JSON routes they render."""

from __future__ import annotations

import csv
import io

import httpx
from openpyxl import load_workbook

from tests.gateway_helpers import Served, intake_json
from tests.helpers import wait_until
from whistle.exports import CASE_HEADERS
from whistle.spreadsheet import MEDIA_TYPES


async def get(http: httpx.AsyncClient, key: str, path: str) -> httpx.Response:
    return await http.get(path, headers={"X-API-Key": key})


def csv_rows(response: httpx.Response) -> list[list[str]]:
    assert response.content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


async def test_cases_and_the_ranking_export_as_xlsx_and_csv(served: Served, http: httpx.AsyncClient) -> None:
    integrator = await served.key("integrator", "app-integrator")
    supervisor = await served.key("supervisor", "dubanchu")
    intake = intake_json()
    complaint_id = intake["complaint_id"]
    filed = await http.post("/api/v1/complaints", json=intake, headers={"X-API-Key": integrator})
    assert filed.status_code == 201, filed.text
    path = f"/api/v1/exports/complaints?community={intake['community']}&format=csv"

    async def exported() -> bool:
        return any(row[:1] == [complaint_id] for row in csv_rows(await get(http, supervisor, path)))

    await wait_until(exported)
    answer = await get(http, supervisor, path)
    assert answer.headers["content-type"] == MEDIA_TYPES["csv"]
    assert answer.headers["content-disposition"].startswith('attachment; filename="complaints-')
    rows = csv_rows(answer)
    assert rows[0] == CASE_HEADERS
    mine = next(row for row in rows if row[0] == complaint_id)
    assert mine[4] == "网格发现" and mine[1].endswith("社区")

    workbook = await get(http, supervisor, path.replace("format=csv", "format=xlsx"))
    assert workbook.status_code == 200 and workbook.headers["content-type"] == MEDIA_TYPES["xlsx"]
    page = load_workbook(io.BytesIO(workbook.content)).worksheets[0]
    assert [cell.value for cell in page[1]] == CASE_HEADERS
    assert complaint_id in [row[0] for row in page.iter_rows(min_row=2, values_only=True)]

    ranking = await get(http, supervisor, "/api/v1/exports/reports/community?format=xlsx")
    assert ranking.status_code == 200, ranking.text
    assert 'filename="report-community-' in ranking.headers["content-disposition"]
    book = load_workbook(io.BytesIO(ranking.content))
    assert book.sheetnames == ["社区排名", "说明"]
    names = [row[2] for row in book["社区排名"].iter_rows(min_row=2, values_only=True)]
    assert any(str(name).endswith("社区") for name in names)
    departments = csv_rows(await get(http, supervisor, "/api/v1/exports/reports/department?format=csv"))
    assert "社区评价" in departments[1] and departments[0] == ["职能部门排名"]


async def test_exports_keep_the_json_routes_access_rules(served: Served, http: httpx.AsyncClient) -> None:
    resident = await served.key("resident", "app-30001")
    refused = await get(http, resident, "/api/v1/exports/reports/community?format=xlsx")
    assert refused.status_code == 403 and "resident" in refused.json()["reason"]
    urban = await served.key("department", "urban_management")
    other = await get(http, urban, "/api/v1/exports/complaints?department=market_regulation&format=csv")
    assert other.status_code == 403, other.text
    own = await get(http, urban, "/api/v1/exports/complaints?format=csv")
    assert own.status_code == 200 and csv_rows(own)[0] == CASE_HEADERS
    bad = await get(http, urban, "/api/v1/exports/complaints?format=pdf")
    assert bad.status_code == 422 and "format" in bad.text
    unsigned = await http.get("/api/v1/exports/complaints?format=csv")
    assert unsigned.status_code == 401


async def test_the_exports_are_in_the_openapi_document(http: httpx.AsyncClient) -> None:
    paths = (await http.get("/openapi.json")).json()["paths"]
    for path in ("/api/v1/exports/complaints", "/api/v1/exports/reports/{by}"):
        content = paths[path]["get"]["responses"]["200"]["content"]
        assert set(content) == set(MEDIA_TYPES.values())
        assert any(p["name"] == "format" and p["required"] for p in paths[path]["get"]["parameters"])
