"""The SLA policy: how long each stage may take, by urgency and category, loaded from a YAML file.

A city sets its own numbers without code changes; a case keeps the resolved ``CasePolicy`` it was filed
with, so editing the file never changes a case in flight.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field

from schemas.common import Code, Duration, Model

Urgency = Literal["normal", "urgent"]


class PolicyOverrides(Model):
    """Any subset of the stage windows; missing keys fall back to ``default``."""

    verify: Duration | None = None
    report_in: Duration | None = None
    handling: Duration | None = None
    evaluation: Duration | None = None
    first_secretary: Duration | None = None
    street_secretary: Duration | None = None
    max_reopens: int | None = Field(default=None, ge=0, le=10)
    warn_at: float | None = Field(default=None, gt=0, lt=1)
    max_progress_notes: int | None = Field(default=None, ge=1, le=1000)


class CasePolicy(Model):
    """The windows one case runs under (every key present), resolved at filing.

    ``verify`` is the grid's window to leave grid discovery (resolve in the grid or get the whistle blown);
    ``warn_at`` is the fraction of any window after which a warning (预警) goes out;
    ``max_progress_notes`` caps each department's notes, so a case's history stays bounded.
    """

    verify: Duration
    report_in: Duration
    handling: Duration
    evaluation: Duration
    first_secretary: Duration
    street_secretary: Duration
    max_reopens: int = Field(ge=0, le=10)
    warn_at: float = Field(default=0.8, gt=0, lt=1)
    max_progress_notes: int = Field(default=50, ge=1, le=1000)


class SlaPolicy(Model):
    """The whole file: ``default`` (complete), then overrides by ``categories`` and for ``urgent`` cases."""

    default: CasePolicy
    urgent: PolicyOverrides = PolicyOverrides()
    categories: dict[Code, PolicyOverrides] = {}

    def for_case(self, urgency: Urgency, category: str) -> CasePolicy:
        """Default, overridden by the category, overridden by urgency: an urgent case keeps urgent times."""
        merged = self.default.model_dump()
        layers = [self.categories.get(category, PolicyOverrides())]
        if urgency == "urgent":
            layers.append(self.urgent)
        for layer in layers:
            merged.update(layer.model_dump(exclude_none=True))
        return CasePolicy.model_validate(merged)


def load_policy(path: Path) -> SlaPolicy:
    """Read and check a policy file; a bad key or duration names itself in the pydantic error."""
    return SlaPolicy.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
