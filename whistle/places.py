"""Placing a point in its grid: point in polygon over the directory's boundaries, through an STRtree.

Built once per directory; a lookup queries the tree for candidate boxes and tests only those with a prepared
``contains``, so a city of thousands of grids places a point in microseconds."""

from __future__ import annotations

import shapely
from shapely import STRtree
from shapely.geometry import Point, shape

from schemas.errors import CommandRejected
from schemas.org import OrgDirectory


class Placer:
    """Finds the (community, grid) whose boundary holds a point; grids without a boundary are never found."""

    def __init__(self, directory: OrgDirectory) -> None:
        self._where: list[tuple[str, str]] = []
        geometries = []
        for community in directory.communities:
            for grid in community.grids:
                if grid.boundary is not None:
                    geometry = shape(grid.boundary.model_dump())
                    shapely.prepare(geometry)
                    geometries.append(geometry)
                    self._where.append((community.code, grid.code))
        self._geometries = geometries
        self._tree = STRtree(geometries)

    def place(self, latitude: float, longitude: float,
              community: str | None = None, grid: str | None = None) -> tuple[str, str]:
        """The (community, grid) holding the point; refused naming ``location`` if none, or not the named one."""
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise CommandRejected("location", f"({latitude}, {longitude}) is not a latitude/longitude")
        point = Point(longitude, latitude)
        found = [self._where[i] for i in self._tree.query(point)
                 if self._geometries[i].contains(point)]
        if not found:
            raise CommandRejected("location", f"({latitude}, {longitude}) lies in no grid of the district")
        where: tuple[str, str] = found[0]
        if (community is not None and community != where[0]) or (grid is not None and grid != where[1]):
            named = "/".join(x for x in (community, grid) if x)
            raise CommandRejected(
                "location", f"({latitude}, {longitude}) lies in grid {where[1]} of {where[0]}, not {named}")
        return where


_PLACERS: dict[int, tuple[OrgDirectory, Placer]] = {}


def placer_for(directory: OrgDirectory) -> Placer:
    """The directory's placer, built once (the directory is kept alongside so its id is never reused)."""
    kept = _PLACERS.get(id(directory))
    if kept is None or kept[0] is not directory:
        kept = _PLACERS[id(directory)] = (directory, Placer(directory))
    return kept[1]
