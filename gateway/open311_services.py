"""Open311's services: every category (路灯不亮, 噪声扰民...) is a service, and each has a definition listing the
attributes a service request may carry (GeoReport v2's *GET Service Definition*).

The attributes are what a filing takes beyond the specification's own fields, all optional (a stock client that
sends none still files, placed by its point or its address):

* ``community`` (社区) and ``grid`` (网格): where the problem is, from the org directory; they place a request
  before its address or point does (``gateway.open311``);
* ``publish_consent``: whether the reporter agrees that a moderator may publish the case (公开), ``true`` or
  ``false``; a case whose reporter said no is never published (``schemas/publication.py``).

A client sends them as the specification has it, ``attribute[community]=gangyuan``. Every service has this
definition, so each is listed with ``metadata: true``.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from gateway.context import GatewayDep
from gateway.errors import OPEN311_RESPONSES, ApiError
from gateway.open311_params import JurisdictionDep
from schemas.org import Category, OrgDirectory

router = APIRouter(prefix="/open311/v2", tags=["open311"], responses=OPEN311_RESPONSES)


class Service(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str
    keywords: str
    group: str


class AttributeValue(BaseModel):
    key: str
    name: str


class ServiceAttribute(BaseModel):
    """One attribute, with the specification's fields; ``values`` are a list's choices (empty for other types)."""

    variable: bool
    code: str
    datatype: str
    required: bool
    datatype_description: str
    order: int
    description: str
    values: list[AttributeValue]


class ServiceDefinition(BaseModel):
    service_code: str
    attributes: list[ServiceAttribute]


CONSENT_VALUES = {"true": True, "false": False}
"""The keys of ``publish_consent`` and what each means for ``Reporter.publish_consent``."""


def attributes_of(directory: OrgDirectory) -> list[ServiceAttribute]:
    """The attributes every service takes, in the order a form would ask them."""
    communities = [AttributeValue(key=c.code, name=c.name) for c in directory.communities]
    grids = [
        AttributeValue(key=g.code, name=g.name if g.name.startswith(c.name) else f"{c.name}{g.name}")
        for c in directory.communities
        for g in c.grids
    ]
    consent = [AttributeValue(key="true", name="同意公开 may be published"),
               AttributeValue(key="false", name="不同意公开 keep it private")]  # fmt: skip
    return [
        ServiceAttribute(variable=True, code="community", datatype="singlevaluelist", required=False, order=1,
                         datatype_description="社区 community code",
                         description="The community (社区) the problem is in; else found from the point or address",
                         values=communities),
        ServiceAttribute(variable=True, code="grid", datatype="singlevaluelist", required=False, order=2,
                         datatype_description="网格 grid code, of the community given",
                         description="The grid (网格) the problem is in; else found from the point or address",
                         values=grids),
        ServiceAttribute(variable=True, code="publish_consent", datatype="singlevaluelist", required=False, order=3,
                         datatype_description="true or false",
                         description="Whether the reporter agrees that the case may be published (公开), without "
                                     "their name or address; not asked when left out",
                         values=consent),
    ]  # fmt: skip


def publish_consent(value: str | None) -> bool | None:
    """``attribute[publish_consent]`` as the reporter's answer (None: not asked); 400 naming it otherwise."""
    if value is None or not value.strip():
        return None
    answer = CONSENT_VALUES.get(value.strip().lower())
    if answer is None:
        raise ApiError(400, "attribute[publish_consent]", f"{value!r} is not one of: true, false")
    return answer


def service_of(category: Category, directory: OrgDirectory) -> Service:
    names = {department.code: department.name for department in directory.departments}
    routed = "、".join(names[code] for code in category.departments)
    return Service(
        service_code=category.code,
        service_name=category.name,
        description=f"{category.name_en} ({category.name}); 建议派单 routed to: {routed}",
        metadata=True,
        type="realtime",
        keywords=",".join([category.code, category.name_en, *category.departments]),
        group=names[category.departments[0]] if category.departments else "",
    )


@router.get("/services.json", response_model=list[Service], summary="GET Service List")
async def services(jurisdiction: JurisdictionDep, gateway: GatewayDep) -> list[Service]:
    """Every category as a service (type realtime: a request is a case at once); each has a definition."""
    return [service_of(category, gateway.directory) for category in gateway.directory.categories]


@router.get("/services/{service_code}.json", response_model=ServiceDefinition, summary="GET Service Definition")
async def service_definition(
    service_code: str, jurisdiction: JurisdictionDep, gateway: GatewayDep
) -> ServiceDefinition:
    """The attributes a request for this service may carry (all optional); 404 for no such service."""
    if not any(category.code == service_code for category in gateway.directory.categories):
        raise ApiError(404, "service_code", f"no service {service_code!r}")
    return ServiceDefinition(service_code=service_code, attributes=attributes_of(gateway.directory))
