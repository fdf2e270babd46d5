"""The one error the domain raises: a command that is not allowed now, naming the field and the reason."""

from __future__ import annotations


class CommandRejected(Exception):
    """Raised by the decider (and intake checks) so callers learn which field was wrong and why.

    Nothing is written when it is raised: the workflow's Update validators run the decider first, so a
    rejected command never reaches history or the event store.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
