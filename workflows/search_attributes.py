"""Custom search attributes for operators browsing cases in the Temporal UI (supervisors' lists read PostgreSQL).

The dev stack registers exactly these keys. The client sets stage, level, community, grid and category when it
starts a case; the workflow upserts stage, level, departments, the flag and a changed category as they move
(``ComplaintWorkflow._upsert_search_attributes``).
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

STAGE = SearchAttributeKey.for_keyword("WhistleStage")
COMMUNITY = SearchAttributeKey.for_keyword("WhistleCommunity")
GRID = SearchAttributeKey.for_keyword("WhistleGrid")
CATEGORY = SearchAttributeKey.for_keyword("WhistleCategory")
DEPARTMENTS = SearchAttributeKey.for_keyword_list("WhistleDepartments")
ESCALATION_LEVEL = SearchAttributeKey.for_int("WhistleEscalationLevel")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("WhistleNextDeadline")
"""Kept up to date only by cases started before December 2026 (issue 19); registered still, their histories set it."""
FLAGGED = SearchAttributeKey.for_bool("WhistleFlagged")
"""Under leader supervision (重点督办); set only on cases a supervisor has flagged, so other cases' upserts (and the
recorded histories) are as they were."""

ALL_KEYS = (STAGE, COMMUNITY, GRID, CATEGORY, DEPARTMENTS, ESCALATION_LEVEL, NEXT_DEADLINE, FLAGGED)
