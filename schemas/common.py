"""Building blocks shared by every schema: the immutable base model, checked text and codes, durations."""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    SerializerFunctionWrapHandler,
    StringConstraints,
    model_serializer,
    model_validator,
)


class Model(BaseModel):
    """Immutable and strict about unknown fields, so a typo in a command is an error rather than ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Recorded(Model):
    """A model frozen into recorded histories (the filing event's policy, an event) that gained fields after.

    Each store batch's activity id digests the batch's JSON (``workflows/outbox.py``), so a field added later is
    written only when it differs from its default: a case recorded before it serializes, and replays, exactly as
    recorded. Name such fields in ``ADDED_AFTER_RECORDING``."""

    ADDED_AFTER_RECORDING: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _omit_added_defaults(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for name in self.ADDED_AFTER_RECORDING:  # a default_factory's value too (a Duration key's)
            default = type(self).model_fields[name].get_default(call_default_factory=True)
            if name in data and getattr(self, name) == default:
                del data[name]
        return data


def control_character(value: str, *, allowed: str = "\n\t") -> str | None:
    """The first control, format, surrogate, private or unassigned character of ``value`` (other than ``allowed``),
    or None: such characters corrupt tables, logs, XML and exports."""
    for char in value:
        if char not in allowed and unicodedata.category(char) in {"Cc", "Cf", "Cs", "Co", "Cn"}:
            return char
    return None


def _printable(value: str) -> str:
    """Reject control characters (other than newline and tab)."""
    if (char := control_character(value)) is not None:
        raise ValueError(f"contains the control character U+{ord(char):04X}")
    return value


Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
"""A directory code: community, grid, department, category (lower-case ASCII, digits, underscores)."""

PersonId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
"""Who acts: a grid worker, a secretary, a first secretary (ids from the org directory)."""

Name = Annotated[str, StringConstraints(min_length=1, max_length=50), AfterValidator(_printable)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_printable)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=4000), AfterValidator(_printable)]
Note = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_printable)]

ComplaintId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
"""The integrator's own ticket number, or a generated one; the workflow id is ``complaint-<id>``."""

DurationUnit = Literal["s", "m", "h", "d", "wd"]
_DURATION = re.compile(r"^\s*(\d{1,6})\s*(wd|s|m|h|d)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class Duration(Model):
    """A span written ``90s``, ``30m``, ``2h``, ``3d`` or ``5wd`` (working days), as in the SLA policy.

    Working days cannot be turned into a ``timedelta`` without a calendar; ``WorkCalendar.add`` does that.
    """

    amount: int
    unit: DurationUnit

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if isinstance(value, str):
            match = _DURATION.match(value)
            if match is None or int(match.group(1)) == 0:
                raise ValueError(f"{value!r} is not a duration like 90s, 30m, 2h, 3d or 5wd")
            return {"amount": int(match.group(1)), "unit": match.group(2)}
        return value

    @model_serializer
    def _as_text(self) -> str:
        return str(self)

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"

    def fixed(self) -> timedelta | None:
        """The span as a ``timedelta``, or None for working days."""
        if self.unit == "wd":
            return None
        return timedelta(seconds=self.amount * _UNIT_SECONDS[self.unit])


def parse_duration(text: str) -> Duration:
    """The one place durations are parsed from text (CLI flags, policy files, directives)."""
    return Duration.model_validate(text)
