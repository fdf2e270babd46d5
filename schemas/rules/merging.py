"""Merging duplicates (工单合并, "me too"): a case reporting a problem another open case carries is merged into it.

Two cases take part, each in its own workflow, and each decides only about itself: the merged case (the report)
records ``CaseMerged`` and waits in stage ``merged``, its clocks standing still; its workflow then tells the primary
(``LinkReport``), which records ``ReportLinked`` or, refusing, answers ``ReleaseMerge`` and the report resumes. When
the primary closes it tells every report it carries (``HearPrimaryOutcome``): each records ``PrimaryClosed`` and its
reporter is asked to rate the outcome, which closes it as ``merged`` (a withdrawn primary lets its reports resume;
a terminated one closes them at once). A mistaken merge is undone (``UnmergeCase``) while the primary is open: the
report resumes where it was, every stopped clock moved by the time it stood merged, and the primary unlinks it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, get_args

from schemas.actors import Actor
from schemas.commands import (
    EvaluateOutcome,
    HearPrimaryOutcome,
    LinkReport,
    MergeCase,
    ReachDeadline,
    RecordNote,
    ReleaseMerge,
    UnlinkReport,
    UnmergeCase,
)
from schemas.errors import CommandRejected
from schemas.events import (
    CaseClosed,
    CaseMerged,
    Event,
    MergeUndone,
    Outcome,
    PrimaryClosed,
    ReportLinked,
    ReportUnlinked,
)
from schemas.parts import Clock, MergeEntry
from schemas.rules.pause import moved_clocks, moved_dues
from schemas.rules.shared import Changes, Rules, Who, due_after, require_actor, require_stage
from schemas.state import CaseState

MERGED_ACCEPTS: frozenset[type] = frozenset(
    {UnmergeCase, RecordNote, EvaluateOutcome, ReachDeadline, HearPrimaryOutcome, ReleaseMerge}
)
"""What a merged case still takes: its undoing, notes, its reporter's rating of the primary's outcome (and that
rating's clock), and the primary's messages. Everything else is the primary's to receive."""


def check_merged(state: CaseState, command: Any) -> None:
    """Refuse, on a merged case, every command it no longer takes (``MERGED_ACCEPTS``)."""
    if state.merge is not None and type(command) not in MERGED_ACCEPTS:
        into = state.merge.into
        raise CommandRejected("stage", f"the case is merged into {into}: send this to {into}, or unmerge it first")


def merge(state: CaseState, command: MergeCase, now: datetime) -> list[Event]:
    """Merge into ``command.into``, which the SDK found open in the same community; that case checks again."""
    require_stage(state, "discovered", "whistled", "handling")
    policy = state.case.policy
    if command.into == state.complaint_id:
        raise CommandRejected("into", "a case is not merged into itself")
    if state.linked_reports:
        count = len(state.linked_reports)
        raise CommandRejected("into", f"{count} other reports are merged into this case: merge into it instead")
    if state.merges >= policy.max_merges:
        raise CommandRejected("into", f"the case was merged {policy.max_merges} times, the most it takes")
    if state.pause is not None:
        raise CommandRejected("stage", "the case waits on the resident: resume its clocks first")
    if state.extension is not None or state.termination is not None:
        raise CommandRejected("stage", "a request on the case waits for its answer (extension or termination)")
    if state.ledger is not None:
        raise CommandRejected("stage", "the case is on the long-running ledger (挂账): merge the others into it")
    return [CaseMerged(at=now, into=command.into, by=command.actor, note=command.note)]


def undone(state: CaseState, now: datetime, by: Actor | None, reason: str) -> MergeUndone:
    """The merge undone at ``now``: every clock that stood still moved by the time the case stood merged."""
    assert state.merge is not None
    since = state.merge.since
    return MergeUndone(
        at=now, into=state.merge.into, by=by, reason=reason, merged_seconds=(now - since).total_seconds(),
        new_dues=moved_dues(state, since, now),
    )  # fmt: skip


def unmerge(state: CaseState, command: UnmergeCase, now: datetime) -> list[Event]:
    """Undo a mistaken merge, while the primary is open (once it closed, the case only waits for its rating)."""
    if state.merge is None:
        raise CommandRejected("reason", "the case is not merged")
    if state.stage != "merged":
        raise CommandRejected("stage", f"{state.merge.into} has closed: the merge stands")
    return [undone(state, now, command.actor, command.reason)]


def _merged_into(state: CaseState, primary: str) -> None:
    """Refuse a primary's message unless the case waits merged into that primary."""
    if state.merge is None or state.stage != "merged" or state.merge.into != primary:
        raise CommandRejected("primary", f"the case is not waiting merged into {primary}")


def link_report(state: CaseState, command: LinkReport, now: datetime) -> list[Event]:
    """The primary takes a report merged into it: once each, from its own community, up to ``max_linked_reports``."""
    if command.case == state.complaint_id:
        raise CommandRejected("case", "a case is not merged into itself")
    if command.community != state.case.intake.community:
        raise CommandRejected("community", f"{state.complaint_id} is in {state.case.intake.community}")
    if command.case in state.linked_reports:
        return []
    limit = state.case.policy.max_linked_reports
    if state.links >= limit:
        raise CommandRejected("case", f"{state.complaint_id} has taken {limit} merged reports, the most it takes")
    return [ReportLinked(at=now, case=command.case)]


def unlink_report(state: CaseState, command: UnlinkReport, now: datetime) -> list[Event]:
    if command.case not in state.linked_reports:
        raise CommandRejected("case", f"{command.case} is not merged into {state.complaint_id}")
    return [ReportUnlinked(at=now, case=command.case, reason=command.reason)]


def hear_primary_outcome(state: CaseState, command: HearPrimaryOutcome, now: datetime) -> list[Event]:
    """The primary closed: its reporter is asked to rate the outcome; a withdrawn primary lets the case resume (the
    problem is still there), a terminated one closes it."""
    _merged_into(state, command.primary)
    primary, outcome = command.primary, command.outcome
    if outcome not in get_args(Outcome) or outcome == "merged":
        raise CommandRejected("outcome", f"{outcome!r} is not how a primary closes")
    if outcome == "withdrawn":
        return [undone(state, now, None, f"{primary} was withdrawn by its reporter")]
    if outcome == "terminated":
        closed = PrimaryClosed(at=now, primary=primary, outcome=outcome, closure_reason=command.closure_reason)
        return [closed, CaseClosed(at=now, outcome="merged")]
    evaluation_due = due_after(state, now, state.case.policy.evaluation)
    return [PrimaryClosed(at=now, primary=primary, outcome=outcome, evaluation_due=evaluation_due)]


def release(state: CaseState, command: ReleaseMerge, now: datetime) -> list[Event]:
    """The primary cannot carry the case (closed, merged itself, full, gone): it resumes."""
    _merged_into(state, command.primary)
    return [undone(state, now, None, command.reason)]


def secretary_or_operator(state: CaseState, command: MergeCase | UnmergeCase) -> None:
    """The case's community secretary, or a hotline operator (who took the calls)."""
    if command.actor.kind == "operator":
        return
    secretary = state.case.context.community.secretary.id
    require_actor(
        command.actor, {("community_secretary", secretary)},
        f"only the community secretary ({secretary}) or a hotline operator merges cases",
    )  # fmt: skip


def by_the_cases(state: CaseState, command: LinkReport | UnlinkReport | HearPrimaryOutcome | ReleaseMerge) -> None:
    if command.actor.kind != "system":
        raise CommandRejected("actor", "only the cases' own workflows send this")


WHO: Who = {
    MergeCase: secretary_or_operator,
    UnmergeCase: secretary_or_operator,
    LinkReport: by_the_cases,
    UnlinkReport: by_the_cases,
    HearPrimaryOutcome: by_the_cases,
    ReleaseMerge: by_the_cases,
}
"""Who may send each of this concept's commands (``schemas.rules.authority``)."""


RULES: Rules = {
    MergeCase: merge,
    UnmergeCase: unmerge,
    LinkReport: link_report,
    UnlinkReport: unlink_report,
    HearPrimaryOutcome: hear_primary_outcome,
    ReleaseMerge: release,
}
"""What each of this concept's commands decides (``schemas.rules.decider``)."""


# The fold: what this concept's events change in a case.


def _case_merged(state: CaseState, event: CaseMerged) -> dict[str, object]:
    entry = MergeEntry(into=event.into, since=event.at, stage=state.stage, by=event.by)
    return {"stage": "merged", "merge": entry, "merges": state.merges + 1}


def _merge_undone(state: CaseState, event: MergeUndone) -> dict[str, object]:
    assert state.merge is not None
    return {"stage": state.merge.stage, "merge": None, **moved_clocks(state, event.new_dues)}


def _report_linked(state: CaseState, event: ReportLinked) -> dict[str, object]:
    return {"linked_reports": [*state.linked_reports, event.case], "links": state.links + 1}


def _report_unlinked(state: CaseState, event: ReportUnlinked) -> dict[str, object]:
    return {"linked_reports": [case for case in state.linked_reports if case != event.case]}


def _primary_closed(state: CaseState, event: PrimaryClosed) -> dict[str, object]:
    if event.evaluation_due is None:
        return {}
    return {"stage": "evaluating", "evaluation": Clock(start=event.at, due=event.evaluation_due)}


CHANGES: Changes = {
    CaseMerged: _case_merged,
    MergeUndone: _merge_undone,
    ReportLinked: _report_linked,
    ReportUnlinked: _report_unlinked,
    PrimaryClosed: _primary_closed,
}
"""What each of this concept's events changes in a case (the fold, ``schemas.fold``)."""
