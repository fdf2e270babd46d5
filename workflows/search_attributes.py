"""Custom search attributes every case carries, so overdue and escalated lists are visibility queries.

The dev stack registers exactly these keys; the workflow upserts them on every state change.
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
FLAGGED = SearchAttributeKey.for_bool("WhistleFlagged")
"""Under leader supervision (重点督办); set only on cases a supervisor has flagged, so other cases' upserts (and the
recorded histories) are as they were."""

ALL_KEYS = (STAGE, COMMUNITY, GRID, CATEGORY, DEPARTMENTS, ESCALATION_LEVEL, NEXT_DEADLINE, FLAGGED)
