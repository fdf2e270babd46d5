"""The org directory: district, streets, communities with their grids and secretaries, departments, routing.

Loaded from a YAML file; ``context_for`` freezes the part one case needs into its input, so the workflow
never reads the directory and a later edit never changes a case in flight.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import model_validator

from schemas.common import Code, Model, Name, PersonId, Recorded
from schemas.errors import CommandRejected


class Person(Model):
    """Someone who acts on cases: a grid worker (网格员) or a secretary."""

    id: PersonId
    name: Name


class Boundary(Model):
    """A grid's outline as a GeoJSON geometry: Polygon or MultiPolygon, rings closed, [longitude, latitude]."""

    type: Literal["Polygon", "MultiPolygon"]
    coordinates: list[Any]

    @model_validator(mode="after")
    def _well_formed(self) -> Boundary:
        polygons = [self.coordinates] if self.type == "Polygon" else self.coordinates
        if not polygons:
            raise ValueError("a MultiPolygon needs at least one polygon")
        for polygon in polygons:
            if not isinstance(polygon, list) or not polygon:
                raise ValueError("a polygon is a non-empty list of rings")
            for ring in polygon:
                _check_ring(ring)
        return self


def _check_ring(ring: Any) -> None:
    """A linear ring: four or more [lon, lat] positions in range, the last equal to the first."""
    if not isinstance(ring, list) or len(ring) < 4:
        raise ValueError("a ring needs at least four positions")
    for position in ring:
        if not (isinstance(position, list) and len(position) == 2
                and all(isinstance(v, (int, float)) for v in position)):
            raise ValueError(f"a position is [longitude, latitude], got {position!r}")
        lon, lat = position
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError(f"position {position!r} is out of range (longitude first, then latitude)")
    if ring[0] != ring[-1]:
        raise ValueError("a ring must be closed: its last position equals its first")


class Grid(Recorded):
    """A grid (网格) of a few hundred households and the grid workers who patrol it.

    ``boundary`` stays in the directory: ``context_for`` drops it, so filed cases serialize as recorded."""

    ADDED_AFTER_RECORDING: ClassVar[frozenset[str]] = frozenset({"boundary"})

    code: Code
    name: Name
    grid_workers: list[Person]
    boundary: Boundary | None = None


class Street(Model):
    """A street office (街道) and its party working committee secretary (街道党工委书记)."""

    code: Code
    name: Name
    secretary: Person


class Community(Model):
    """A community (社区), its secretary (社区书记) and its first secretary (第一书记)."""

    code: Code
    name: Name
    street: Code
    secretary: Person
    first_secretary: Person
    grids: list[Grid]


class Department(Model):
    """A functional department (职能部门) that can be summoned by a whistle."""

    code: Code
    name: Name
    name_en: Name


class Category(Model):
    """A kind of problem and the departments that routing suggests for it, lead first."""

    code: Code
    name: Name
    name_en: Name
    departments: list[Code]


class CaseContext(Model):
    """What one case needs from the directory, frozen into its input when it is filed."""

    district: Name
    street: Street
    community: Community
    grid: Grid
    category: Category
    departments: dict[Code, Department]
    suggested_departments: list[Code]


class OrgDirectory(Model):
    """The whole directory, checked so every reference (street, department) points at something real."""

    district: Name
    streets: list[Street]
    communities: list[Community]
    departments: list[Department]
    categories: list[Category]

    @model_validator(mode="after")
    def _references_resolve(self) -> OrgDirectory:
        streets = {street.code for street in self.streets}
        departments = {department.code for department in self.departments}
        for community in self.communities:
            if community.street not in streets:
                raise ValueError(f"community {community.code} names unknown street {community.street}")
        for category in self.categories:
            unknown = [code for code in category.departments if code not in departments]
            if unknown:
                raise ValueError(f"category {category.code} routes to unknown departments {unknown}")
        return self

    def context_for(self, community: str, grid: str, category: str) -> CaseContext:
        """The slice of the directory a case filed for ``community``/``grid``/``category`` runs with."""
        found = next((c for c in self.communities if c.code == community), None)
        if found is None:
            known = ", ".join(c.code for c in self.communities)
            raise CommandRejected("community", f"unknown community {community!r} (known: {known})")
        found_grid = next((g for g in found.grids if g.code == grid), None)
        if found_grid is None:
            known = ", ".join(g.code for g in found.grids)
            raise CommandRejected("grid", f"grid {grid!r} is not in community {community} (known: {known})")
        found_category = next((c for c in self.categories if c.code == category), None)
        if found_category is None:
            known = ", ".join(c.code for c in self.categories)
            raise CommandRejected("category", f"unknown category {category!r} (known: {known})")
        street = next(s for s in self.streets if s.code == found.street)
        bare = [g.model_copy(update={"boundary": None}) for g in found.grids]  # cases never carry boundaries
        return CaseContext(
            district=self.district,
            street=street,
            community=found.model_copy(update={"grids": bare}),
            grid=found_grid.model_copy(update={"boundary": None}),
            category=found_category,
            departments={d.code: d for d in self.departments},
            suggested_departments=list(found_category.departments),
        )
