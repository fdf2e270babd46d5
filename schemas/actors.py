"""Who acts on a case. Every command carries its actor, and the decider checks the actor may do it.

The gateway maps an API key to an ``Actor``; the CLI takes it from flags; the workflow's own timers act as
``system``. Ids are the org directory's person ids and department codes, or the integrator's resident id.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StringConstraints

from schemas.common import Model

ActorKind = Literal[
    "grid_worker",  # 网格员: verifies, resolves in the grid
    "community_secretary",  # 社区书记: blows the whistle
    "department",  # 职能部门: reports in, declines, records progress, completes its part
    "first_secretary",  # 第一书记: directives
    "street_secretary",  # 街道党工委书记: directives at the top of the ladder
    "resident",  # 居民: rates the result, withdraws their own complaint
    "operator",  # a 12345 hotline operator recording a resident's answer on the phone
    "supervisor",  # 督办: urges whoever holds a case (催办)
    "system",  # the workflow's own timers
]

ActorId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$")]


class Actor(Model):
    """One actor: what kind, and which one (a person id, a department code, or a resident id)."""

    kind: ActorKind
    id: ActorId


SYSTEM = Actor(kind="system", id="timer")
"""The workflow's own timers: the only actor that may send ``ReachDeadline``."""
