"""The probe workflow ``bench/search_attributes.py`` measures: Updates that each upsert one variant's keys.

A module of its own with nothing but workflow-safe imports, so the worker's sandbox can import it by name.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from workflows import search_attributes as keys

Updates = list[SearchAttributeUpdate[Any]]

VARIANTS: dict[str, Callable[[int, datetime], Updates]] = {
    "none": lambda step, now: [],
    "WhistleStage (keyword)": lambda step, now: [keys.STAGE.value_set(("whistled", "handling")[step % 2])],
    "WhistleEscalationLevel (int)": lambda step, now: [keys.ESCALATION_LEVEL.value_set(step % 3)],
    "WhistleDepartments (keyword list)": lambda step, now: [
        keys.DEPARTMENTS.value_set(["urban_management", "market_regulation"][: 1 + step % 2])
    ],
    "WhistleFlagged (bool)": lambda step, now: [keys.FLAGGED.value_set(step % 2 == 0)],
    "WhistleCategory (keyword)": lambda step, now: [keys.CATEGORY.value_set(("noise", "streetlight")[step % 2])],
    "WhistleNextDeadline (datetime, no longer kept)": lambda step, now: [
        keys.NEXT_DEADLINE.value_set(now + timedelta(hours=1 + step))
    ],
    "every field (as before the narrowing)": lambda step, now: [
        keys.STAGE.value_set(("whistled", "handling")[step % 2]),
        keys.COMMUNITY.value_set("gangyuan"),
        keys.GRID.value_set("gangyuan-01"),
        keys.CATEGORY.value_set("noise"),
        keys.DEPARTMENTS.value_set(["urban_management", "market_regulation"][: 1 + step % 2]),
        keys.ESCALATION_LEVEL.value_set(step % 3),
        keys.NEXT_DEADLINE.value_set(now + timedelta(hours=1 + step)),
    ],
}
"""Each variant's upsert for a step: values alternate, so every step changes what it sets."""


@workflow.defn(name="BenchAttributeProbe")
class AttributeProbe:
    """Answers ``step`` Updates, each upserting its variant's keys, until ``finish``."""

    def __init__(self) -> None:
        self._steps = 0
        self._finished = False

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self._finished)
        return self._steps

    @workflow.update
    def step(self, variant: str) -> int:
        updates = VARIANTS[variant](self._steps, workflow.now())
        if updates:
            workflow.upsert_search_attributes(updates)
        self._steps += 1
        return self._steps

    @workflow.signal
    def finish(self) -> None:
        self._finished = True
