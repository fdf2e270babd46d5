"""Placing a point in a city of 6,400 grids: ``whistle/places.py``'s STRtree against a scan of every grid.

The city is synthetic but shaped like one: 6,400 irregular grids (a Voronoi tessellation of random seeds, clipped
to a 30 km square around Shenyang, edges cut every 50 m or so into dozens of vertices; none overlapping), 200
communities of 32 grids. A
round places the same random points (90% inside the city, 10% outside, which the placer refuses) with the placer,
then a sample of them with the scan a directory without an index would do; rounds alternate so both builds see
the same noise. The figures: the placer's p50/p99 per point (the issue wants well under a millisecond), the scan's,
their ratio, and how long building the index takes. Writes ``bench/results/placement.json`` and its section of
``BENCHMARKS.md`` (``make bench-placement``; ``make bench`` keeps the section).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import time
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiPoint, Point, box, mapping

from bench.document import write_section
from schemas.errors import CommandRejected
from schemas.org import OrgDirectory
from whistle.places import Placer

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "placement.json"
SECTION = "## Placing a point"
WEST, SOUTH, EAST, NORTH = 123.25, 41.70, 123.61, 41.97
"""About 30 km by 30 km around Shenyang's centre."""


def city(grids: int, per_community: int, seed: int) -> OrgDirectory:
    """A directory of ``grids`` Voronoi grids in ``per_community`` blocks; every grid has a Polygon boundary."""
    chance = random.Random(seed)
    seeds = MultiPoint([(chance.uniform(WEST, EAST), chance.uniform(SOUTH, NORTH)) for _ in range(grids)])
    area = box(WEST, SOUTH, EAST, NORTH)
    cells = [shapely.segmentize(cell.intersection(area), 0.0005)  # a vertex every 50 m or so, as streets bend
             for cell in shapely.voronoi_polygons(seeds, extend_to=area).geoms]
    person = {"id": "p-1", "name": "某人"}
    communities = []
    for start in range(0, len(cells), per_community):
        number = start // per_community
        communities.append({
            "code": f"c{number}", "name": f"社区{number}", "street": "s", "secretary": person,
            "first_secretary": person,
            "grids": [{"code": f"c{number}_{i}", "name": f"网格{i}", "grid_workers": [],
                       "boundary": {"type": "Polygon", "coordinates": _rings(cell)}}
                      for i, cell in enumerate(cells[start:start + per_community])],
        })  # fmt: skip
    return OrgDirectory.model_validate({
        "district": "基准市", "streets": [{"code": "s", "name": "街道", "secretary": person}],
        "communities": communities, "departments": [],
        "categories": [{"code": "k", "name": "类", "name_en": "k", "departments": []}],
    })  # fmt: skip


def _rings(polygon: Any) -> list[Any]:
    """GeoJSON rings as lists (``mapping`` gives tuples)."""
    return [[list(position) for position in ring] for ring in mapping(polygon)["coordinates"]]


def points(count: int, seed: int) -> list[tuple[float, float]]:
    """(latitude, longitude) pairs: nine in ten inside the city, the rest a little outside it."""
    chance = random.Random(seed)
    margin = 0.05
    return [
        (chance.uniform(SOUTH, NORTH), chance.uniform(WEST, EAST)) if chance.random() < 0.9
        else (chance.uniform(NORTH, NORTH + margin), chance.uniform(WEST - margin, EAST + margin))
        for _ in range(count)
    ]  # fmt: skip


def timed_places(placer: Placer, sample: list[tuple[float, float]]) -> list[float]:
    """Seconds per ``place`` (a refusal outside the city counts: it is an answer too)."""
    spent = []
    for latitude, longitude in sample:
        began = time.perf_counter()
        with contextlib.suppress(CommandRejected):
            placer.place(latitude, longitude)
        spent.append(time.perf_counter() - began)
    return spent


def timed_scans(directory: OrgDirectory, sample: list[tuple[float, float]]) -> list[float]:
    """Seconds per point for the scan a placer without an index would do: every grid's prepared polygon in turn."""
    shapes = [shapely.geometry.shape(g.boundary.model_dump()) for c in directory.communities for g in c.grids
              if g.boundary is not None]  # fmt: skip
    for each in shapes:
        shapely.prepare(each)
    spent = []
    for latitude, longitude in sample:
        point = Point(longitude, latitude)
        began = time.perf_counter()
        next((i for i, each in enumerate(shapes) if each.covers(point)), None)
        spent.append(time.perf_counter() - began)
    return spent


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(grids: int, count: int, scanned: int, rounds: int) -> dict[str, Any]:
    directory = city(grids, 32, seed=7)
    began = time.perf_counter()
    placer = Placer(directory)
    built = time.perf_counter() - began
    placed: list[float] = []
    scans: list[float] = []
    for number in range(rounds):
        sample = points(count, seed=100 + number)
        placed += timed_places(placer, sample)
        scans += timed_scans(directory, sample[:scanned])
    found = sum(1 for latitude, longitude in points(count, seed=100) if _placed(placer, latitude, longitude))
    vertices = statistics.mean(len(g.boundary.coordinates[0]) for c in directory.communities for g in c.grids
                               if g.boundary is not None)  # fmt: skip
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "grids": sum(len(c.grids) for c in directory.communities),
        "mean_vertices": round(vertices, 1),
        "points": len(placed), "inside_share": round(found / count, 3), "rounds": rounds,
        "build_s": round(built, 3),
        "placer_us": {"p50": _us(quantile(placed, 0.5)), "p99": _us(quantile(placed, 0.99))},
        "scan_us": {"p50": _us(quantile(scans, 0.5)), "p99": _us(quantile(scans, 0.99)), "points": len(scans)},
    }  # fmt: skip


def _placed(placer: Placer, latitude: float, longitude: float) -> bool:
    try:
        placer.place(latitude, longitude)
    except CommandRejected:
        return False
    return True


def _us(seconds: float) -> float:
    return round(seconds * 1e6, 1)


def section(figures: dict[str, Any]) -> str:
    """The ``BENCHMARKS.md`` section for these figures."""
    placer, scan = figures["placer_us"], figures["scan_us"]
    ratio = scan["p50"] / placer["p50"] if placer["p50"] else float("inf")
    return "\n".join([
        SECTION,
        "",
        f"Written by `make bench-placement` (`bench/placement.py`), {figures['date']}: {figures['grids']:,} Voronoi "
        f"grids (mean {figures['mean_vertices']} vertices) over a 30 km square, {figures['points']:,} points in "
        f"{figures['rounds']} alternating rounds, {figures['inside_share']:.0%} of them in a grid.",
        "",
        "| figure | value |",
        "| --- | --- |",
        f"| place a point (STRtree + prepared covers), p50 / p99 | {placer['p50']} µs / {placer['p99']} µs "
        f"({'met' if placer['p99'] < 1000 else 'not met'}: well under 1 ms wanted) |",
        f"| scan every grid (no index, {scan['points']:,} points), p50 / p99 | {scan['p50']} µs / {scan['p99']} µs |",
        f"| scan / placer, p50 | {ratio:.0f}× |",
        f"| building the index for the directory | {figures['build_s']} s (once per directory, at start) |",
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grids", type=int, default=6_400)
    parser.add_argument("--points", type=int, default=20_000, help="per round")
    parser.add_argument("--scanned", type=int, default=300, help="points per round the scan also places")
    parser.add_argument("--rounds", type=int, default=4)
    options = parser.parse_args()
    figures = run(options.grids, options.points, options.scanned, options.rounds)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    write_section(ROOT / "BENCHMARKS.md", SECTION, section(figures))
    print(section(figures))


if __name__ == "__main__":
    main()
