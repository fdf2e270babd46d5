"""Placing a point in its grid: point in polygon over the directory's boundaries, through an STRtree.

Built once per directory; a lookup queries the tree for candidate boxes and tests only those with a prepared
``covers``, so a city of thousands of grids places a point in microseconds (``bench/placement.py``). ``covers``
rather than ``contains``: a point on the line two grids share is in both (the first found wins), never in none.

Every way in places the same way: the SDK (``WhistleClient.place``, and ``settle``'s check that coordinates agree
with the grid named), the JSON API and the CLI (an intake without ``community``/``grid`` but with coordinates,
``fill_place``), and Open311."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeGuard

import shapely
from shapely import STRtree
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

from schemas.errors import CommandRejected
from schemas.org import OrgDirectory


class Placer:
    """Finds the (community, grid) whose boundary holds a point; grids without a boundary are never found."""

    def __init__(self, directory: OrgDirectory) -> None:
        self._where: list[tuple[str, str]] = []
        self._index: dict[tuple[str, str], int] = {}
        geometries: list[BaseGeometry] = []
        for community in directory.communities:
            for grid in community.grids:
                if grid.boundary is not None:
                    geometry = shape(grid.boundary.model_dump())
                    shapely.prepare(geometry)
                    self._index[community.code, grid.code] = len(geometries)
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
        found = [self._where[i] for i in sorted(self._tree.query(point))
                 if self._geometries[i].covers(point)]
        if not found:
            raise CommandRejected("location", f"({latitude}, {longitude}) lies in no grid of the district")
        where: tuple[str, str] = found[0]
        if (community is not None and community != where[0]) or (grid is not None and grid != where[1]):
            named = "/".join(x for x in (community, grid) if x)
            raise CommandRejected(
                "location", f"({latitude}, {longitude}) lies in grid {where[1]} of {where[0]}, not {named}")
        return where

    def confirm(self, latitude: float, longitude: float, community: str, grid: str) -> None:
        """Refuse (naming ``location``) coordinates outside the named grid, when that grid has a boundary.

        A grid drawn without a boundary takes any coordinates: the directory says nothing against them."""
        kept = self._index.get((community, grid))
        if kept is not None and not self._geometries[kept].covers(Point(longitude, latitude)):
            self.place(latitude, longitude, community, grid)  # refuses, saying where the point does lie

    @property
    def bounded(self) -> bool:
        """Whether any grid has a boundary, so that a point can be placed at all."""
        return bool(self._geometries)


_PLACERS: dict[int, tuple[OrgDirectory, Placer]] = {}


def placer_for(directory: OrgDirectory) -> Placer:
    """The directory's placer, built once (the directory is kept alongside so its id is never reused)."""
    kept = _PLACERS.get(id(directory))
    if kept is None or kept[0] is not directory:
        kept = _PLACERS[id(directory)] = (directory, Placer(directory))
    return kept[1]


def fill_place(fields: Mapping[str, Any], directory: OrgDirectory) -> dict[str, Any]:
    """An intake's fields with ``community`` and ``grid`` found from its coordinates when it names neither grid
    nor community (a named community alone is checked against the point); anything else is left for the intake's
    own validation to judge. Raises ``CommandRejected`` naming ``location`` when the point lies in no grid."""
    filled = dict(fields)
    location = fields.get("location")
    if fields.get("grid") or not isinstance(location, Mapping):
        return filled
    latitude, longitude = location.get("latitude"), location.get("longitude")
    if not _degrees(latitude) or not _degrees(longitude):
        return filled
    placer = placer_for(directory)
    if not placer.bounded:
        return filled
    community = fields.get("community") or None
    filled["community"], filled["grid"] = placer.place(float(latitude), float(longitude), community)
    return filled


def _degrees(value: object) -> TypeGuard[float]:
    """Whether ``value`` is a number of degrees as JSON or YAML gives one (not a string, not a boolean)."""
    return isinstance(value, int | float) and not isinstance(value, bool)
