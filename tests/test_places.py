"""Placing points in grids: inside, outside, contradicting a named grid, MultiPolygon, holes; and boundaries
never reach a case's context (so recorded histories replay)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError
from shapely.geometry import shape

from activities.files import load_directory
from bench.placement import city, points, run
from schemas.errors import CommandRejected
from schemas.org import Boundary, OrgDirectory
from whistle.places import Placer, fill_place

DATA = Path(__file__).resolve().parent.parent / "whistle" / "data"


def _box(lon0: float, lat0: float, lon1: float, lat1: float) -> list[list[float]]:
    return [[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]


def _directory(*, bounded: bool = True) -> OrgDirectory:
    def grid(code: str, boundary: dict[str, object]) -> dict[str, object]:
        return {"code": code, "name": code, "grid_workers": [], "boundary": boundary if bounded else None}

    person = {"id": "p-1", "name": "某人"}
    return OrgDirectory.model_validate({
        "district": "区",
        "streets": [{"code": "s", "name": "街道", "secretary": person}],
        "communities": [{
            "code": "c", "name": "社区", "street": "s", "secretary": person, "first_secretary": person,
            "grids": [
                grid("holed", {"type": "Polygon", "coordinates": [_box(0, 0, 10, 10), _box(4, 4, 6, 6)]}),
                grid("two", {"type": "MultiPolygon",
                             "coordinates": [[_box(20, 0, 30, 10)], [_box(40, 0, 50, 10)]]}),
                grid("inner", {"type": "Polygon", "coordinates": [_box(4.5, 4.5, 5.5, 5.5)]}),
            ]}],
        "departments": [], "categories": [{"code": "k", "name": "类", "name_en": "k", "departments": []}],
    })


def test_a_point_is_placed_in_the_grid_that_holds_it() -> None:
    placer = Placer(_directory())
    assert placer.place(1, 1) == ("c", "holed")
    assert placer.place(5, 45) == ("c", "two")  # the second part of a MultiPolygon
    assert placer.place(5, 5) == ("c", "inner")  # inside the hole, so not in "holed"


@pytest.mark.parametrize(("lat", "lon", "why"), [(5, 4.2, "no grid"), (5, 35, "no grid"), (95, 0, "latitude")])
def test_a_point_in_no_grid_is_refused_naming_location(lat: float, lon: float, why: str) -> None:
    with pytest.raises(CommandRejected) as refused:
        Placer(_directory()).place(lat, lon)
    assert refused.value.field == "location" and why in str(refused.value)


def test_a_point_contradicting_the_named_grid_is_refused() -> None:
    with pytest.raises(CommandRejected) as refused:
        Placer(_directory()).place(1, 1, community="c", grid="two")
    assert refused.value.field == "location" and "holed" in str(refused.value)
    assert Placer(_directory()).place(1, 1, community="c", grid="holed") == ("c", "holed")


def test_a_point_on_the_line_two_grids_share_is_in_the_first_and_confirmed_in_either() -> None:
    directory = load_directory(DATA / "org.yaml")
    placer = Placer(directory)
    assert placer.place(41.797, 123.337) == ("hongqi", "hongqi_1")  # hongqi_1 and hongqi_2 meet at 123.337
    placer.confirm(41.797, 123.337, "hongqi", "hongqi_2")
    placer.confirm(41.797, 123.337, "hongqi", "hongqi_1")


def test_confirm_refuses_a_point_outside_the_named_grid_and_says_where_it_lies() -> None:
    placer = Placer(_directory())
    placer.confirm(1, 1, "c", "holed")
    with pytest.raises(CommandRejected) as refused:
        placer.confirm(5, 25, "c", "holed")
    assert refused.value.field == "location" and "lies in grid two of c, not c/holed" in refused.value.reason
    with pytest.raises(CommandRejected, match="no grid"):
        placer.confirm(5, 35, "c", "holed")


def test_fill_place_fills_a_missing_grid_from_the_point_and_leaves_the_rest_to_validation() -> None:
    directory = _directory()
    point = {"address": "某处", "latitude": 1, "longitude": 25}
    assert fill_place({"location": point}, directory) | {"location": None} == {
        "location": None, "community": "c", "grid": "two"}
    assert fill_place({"location": point, "grid": "holed"}, directory)["grid"] == "holed"  # confirmed elsewhere
    assert "grid" not in fill_place({"location": {"address": "某处"}}, directory)
    assert "grid" not in fill_place({"location": {**point, "latitude": "north"}}, directory)
    with pytest.raises(CommandRejected, match="not other"):
        fill_place({"location": point, "community": "other"}, directory)


def test_a_directory_without_boundaries_places_nothing_and_confirms_anything() -> None:
    bare = _directory(bounded=False)
    placer = Placer(bare)
    assert not placer.bounded
    placer.confirm(5, 35, "c", "holed")
    assert "grid" not in fill_place({"location": {"address": "x", "latitude": 1, "longitude": 1}}, bare)


@pytest.mark.parametrize("coordinates", [
    [[[0, 0], [1, 0], [1, 1], [0, 0.5]]],  # not closed
    [[[0, 0], [1, 0], [0, 0]]],  # too few positions
    [[[0, 100], [1, 0], [1, 1], [0, 100]]],  # latitude out of range
])
def test_a_malformed_boundary_is_refused(coordinates: list[object]) -> None:
    with pytest.raises(ValidationError):
        Boundary(type="Polygon", coordinates=coordinates)


def test_a_case_context_carries_no_boundary() -> None:
    context = _directory().context_for("c", "holed", "k")
    assert "boundary" not in context.model_dump_json()


def test_the_sample_district_places_every_seed_in_its_own_grid_and_no_grids_overlap() -> None:
    directory = load_directory(DATA / "org.yaml")
    placer = Placer(directory)
    seeds = yaml.safe_load((DATA / "seeds.yaml").read_text(encoding="utf-8"))
    placed = 0
    for seed in seeds["cases"] if isinstance(seeds, dict) else seeds:
        intake = seed["intake"]
        location = intake.get("location") or {}
        if "latitude" in location:
            where = placer.place(location["latitude"], location["longitude"])
            assert where == (intake.get("community", where[0]), intake.get("grid", where[1]))
            placed += 1
    assert placed >= 5
    grids = [g for c in directory.communities for g in c.grids]
    assert all(g.boundary is not None for g in grids)
    shapes = [shape(g.boundary.model_dump()) for g in grids if g.boundary is not None]
    for i, a in enumerate(shapes):
        for b in shapes[i + 1:]:
            assert a.intersection(b).area == 0


def test_the_placement_benchmark_builds_a_city_whose_grids_tile_it_and_places_its_points() -> None:
    directory = city(64, 32, seed=1)
    placer = Placer(directory)
    assert sum(len(c.grids) for c in directory.communities) == 64
    inside = [p for p in points(200, seed=2) if 41.70 <= p[0] <= 41.97 and 123.25 <= p[1] <= 123.61]
    assert all(placer.place(*point) for point in inside)  # the grids tile the city: no point inside falls in none
    figures = run(64, 200, 10, 1)
    assert figures["grids"] == 64 and 0.8 < figures["inside_share"] < 1 and figures["placer_us"]["p50"] > 0
