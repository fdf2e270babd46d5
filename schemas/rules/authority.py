"""Who may act on a case: each command's check of its ``actor`` against the case's own people, from its concept's
module (``WHO``), gathered here and run before the command's rule. Pure.

The case carries its slice of the org directory (grid workers, secretaries, the first and street
secretaries) and the reporter's reference (``ReporterReference``: a resident acting in person is
``resident:<reference>``, matched to their resident id at the edge), so the check needs nothing but the state.
"""

from __future__ import annotations

from schemas.commands import Command
from schemas.rules.concepts import CONCEPTS
from schemas.rules.shared import RESIDENT_ONLY, Who
from schemas.state import CaseState

__all__ = ["RESIDENT_ONLY", "WHO", "check_actor"]

WHO: Who = {
    command: check
    for concept in CONCEPTS
    for command, check in getattr(concept, "WHO", {}).items()
}
"""Each command's access rule, gathered from the concepts."""


def check_actor(state: CaseState, command: Command) -> None:
    """Raise ``CommandRejected("actor", why)`` unless ``command.actor`` may send this command to this case."""
    WHO[type(command)](state, command)
