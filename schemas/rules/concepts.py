"""Every concept module of the domain, once: the decider, the access check and the fold gather their tables
(``RULES``, ``WHO``, ``CHANGES``) from this list. A new concept is added here."""

from __future__ import annotations

from types import ModuleType

from schemas.rules import (
    category,
    deadlines,
    escalation,
    evaluation,
    extension,
    filing,
    follow_up,
    grid,
    handling,
    ledger,
    merging,
    notes,
    pause,
    rating,
    report_in,
    review,
    ruling,
    supervision,
    termination,
    whistle,
)  # fmt: skip

CONCEPTS: tuple[ModuleType, ...] = (
    filing, grid, whistle, report_in, handling, notes, evaluation, escalation, ledger, extension, rating, review,
    termination, ruling, pause, supervision, category, merging, deadlines,
    follow_up,
)  # fmt: skip
