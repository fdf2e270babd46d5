"""The cases a fault run has filed: which are still open, and which may be held through an outage.

The sampler picks its cases here and the outage hold its held ones; the drivers are the only writers.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Case:
    complaint_id: str
    holdable: bool
    """Filed under the production policy, whose deadlines are hours away: pausing its commands for an outage
    changes nothing but when they arrive. (The short-deadline paths would see timers fire meanwhile.)"""
    commands: int = 0
    closed: bool = False


@dataclass
class Fleet:
    cases: dict[str, Case] = field(default_factory=dict)

    def filed(self, complaint_id: str, *, holdable: bool) -> Case:
        case = self.cases.setdefault(complaint_id, Case(complaint_id, holdable))
        case.commands += 1
        return case

    def closed(self, complaint_id: str) -> None:
        self.cases[complaint_id].closed = True

    def open(self) -> list[Case]:
        return [case for case in self.cases.values() if not case.closed]

    def __len__(self) -> int:
        return len(self.cases)
