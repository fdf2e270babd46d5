"""Merging duplicates (工单合并): a report merged into an open case of the same problem waits, its clocks standing
still, hears the primary's outcome and rates it, and closes as ``merged``; a mistaken merge is undone while the
primary is open, the report resuming where it was with its clocks moved by the time it stood merged. Every allowed
and refused command, on each side: the merged report and the primary."""

from __future__ import annotations

from datetime import datetime

import pytest

from schemas.actors import Actor
from schemas.commands import (
    AskResident,
    HearPrimaryOutcome,
    LinkReport,
    MergeCase,
    RecordNote,
    ReleaseMerge,
    UnlinkReport,
    UnmergeCase,
    UrgeCase,
)
from schemas.events import CaseMerged, MergeUndone, PrimaryClosed, ReportLinked
from schemas.fold import apply
from schemas.rules.decider import decide
from schemas.state import CaseState
from tests.domain_fixtures import (
    COMMUNITY,
    SECRETARY,
    blow,
    deadline,
    evaluate,
    evaluating,
    first_secretary,
    grid_worker,
    handling,
    later,
    make_case,
    new_case,
    operator,
    park,
    report_in,
    resident,
    run,
    secretary,
    verify,
    whistled,
)
from tests.rules.helpers import LEAD, SECOND, case_with, closed, rejected, types, withdraw
from workflows.merging import reply_to_refusal, signals_for
from workflows.notices import REPORTER, notices_for

PRIMARY = "t-0002"
REPORT = "t-0001"


def merge(into: str = PRIMARY, by: Actor | None = None) -> MergeCase:
    return MergeCase(actor=by or secretary(), into=into, note="同一烧烤店油烟")


def unmerge(by: Actor | None = None) -> UnmergeCase:
    return UnmergeCase(actor=by or secretary(), reason="不是同一家店")


def heard(outcome: str, primary: str = PRIMARY, closure_reason: str | None = None) -> HearPrimaryOutcome:
    return HearPrimaryOutcome.model_validate({"primary": primary, "outcome": outcome, "closure_reason": closure_reason})


def merged(state: CaseState | None = None, at: datetime | None = None) -> CaseState:
    return run(state or whistled(LEAD, SECOND), merge(), at or later(hours=1))


def primary(case_id: str = PRIMARY) -> CaseState:
    return handling(LEAD, case=make_case(complaint_id=case_id))


def link(case: str = REPORT, community: str = COMMUNITY) -> LinkReport:
    return LinkReport(case=case, community=community)


# The report's side: merging.


@pytest.mark.parametrize("stage", ["discovered", "whistled", "handling"])
def test_an_open_case_is_merged_and_waits_with_its_clocks_stopped(stage: str) -> None:
    state = {"discovered": new_case(), "whistled": whistled(LEAD, SECOND), "handling": handling(LEAD)}[stage]
    [event] = decide(state, merge(), later(hours=1))
    assert isinstance(event, CaseMerged) and (event.into, event.by, event.note) == (
        PRIMARY,
        secretary(),
        "同一烧烤店油烟",
    )
    after = run(state, merge(), later(hours=1))
    assert (after.stage, after.merges, after.open_deadlines(), after.next_deadline) == ("merged", 1, [], None)
    assert after.merge is not None and (after.merge.into, after.merge.stage) == (PRIMARY, stage)


def test_a_hotline_operator_merges_too() -> None:
    assert merged(whistled(LEAD), later(hours=1)).stage == "merged"
    assert run(whistled(LEAD), merge(by=operator()), later(hours=1)).stage == "merged"


@pytest.mark.parametrize(
    "actor", [grid_worker(), first_secretary(), resident(), Actor(kind="community_secretary", id="sec-anju"),
              Actor(kind="department", id=LEAD)]
)  # fmt: skip
def test_only_the_community_secretary_or_an_operator_merges(actor: Actor) -> None:
    assert rejected(whistled(LEAD), merge(by=actor)).field == "actor"
    assert rejected(merged(), unmerge(by=actor)).field == "actor"


def test_a_case_is_not_merged_into_itself() -> None:
    assert rejected(whistled(LEAD), merge(into=REPORT)).field == "into"


def test_a_case_carrying_reports_is_not_merged_into_another() -> None:
    carrying = run(primary(REPORT), link(case="t-0003"), later(hours=1))
    assert rejected(carrying, merge()).field == "into"


def test_a_merged_case_is_not_merged_again_and_a_case_takes_a_bounded_number_of_merges() -> None:
    assert rejected(merged(), merge(into="t-0003"), later(hours=2)).field == "stage"
    state = whistled(LEAD)
    for hour in range(state.case.policy.max_merges):
        state = run(run(state, merge(), later(hours=hour + 1)), unmerge(), later(hours=hour + 1, minutes=30))
    assert rejected(state, merge(), later(hours=10)).field == "into"


def test_only_an_open_case_still_being_worked_is_merged() -> None:
    assert rejected(evaluating(), merge()).field == "stage"
    assert rejected(closed(), merge()).field == "stage"


def test_a_case_waiting_on_the_resident_or_on_the_ledger_is_not_merged() -> None:
    asked = run(whistled(LEAD), AskResident(actor=secretary(), reason="需入户查看"), later(hours=1))
    assert rejected(asked, merge(), later(hours=2)).field == "stage"
    escalated = run(new_case(), deadline("verify"), later(hours=3))
    parked = run(escalated, park(), later(hours=4))
    assert parked.ledger is not None
    assert rejected(parked, merge(), later(hours=5)).field == "stage"


def test_a_merged_case_takes_only_its_undoing_notes_and_the_primarys_messages() -> None:
    state = merged()
    for command in (
        blow(SECOND),
        report_in(LEAD),
        withdraw(),
        verify(),
        UrgeCase(actor=Actor(kind="supervisor", id="d")),
    ):
        assert rejected(state, command, later(hours=2)).field in ("stage", "actor")
    [note] = decide(state, RecordNote(actor=secretary(), note="已告知居民"), later(hours=2))
    assert note.type == "NoteRecorded"


# The report's side: undoing.


def test_undoing_a_merge_resumes_where_it_was_with_every_clock_moved_by_the_time_merged() -> None:
    state = whistled(LEAD, SECOND)
    before = {code: part.report_in for code, part in state.departments.items()}
    merged_at, undone_at = later(hours=1), later(hours=5)
    after = run(run(state, merge(), merged_at), unmerge(), undone_at)
    assert (after.stage, after.merge) == ("whistled", None)
    for code, clock in before.items():
        assert clock is not None
        moved = after.departments[code].report_in
        assert moved is not None and moved.due == clock.due + (undone_at - merged_at)
    assert after.verify == state.verify  # ended before the merge: nothing to move


def test_undoing_tells_whoever_works_the_case_and_the_primary() -> None:
    state = merged()
    [event] = decide(state, unmerge(), later(hours=2))
    assert isinstance(event, MergeUndone) and event.by == secretary() and event.merged_seconds == 3600
    after = run(state, unmerge(), later(hours=2))
    [notice] = notices_for(after, event)
    assert notice.audience == [REPORTER, SECRETARY, LEAD, SECOND]
    [outgoing] = signals_for(after, event)
    assert outgoing.complaint_id == PRIMARY and isinstance(outgoing.message, UnlinkReport)


def test_a_case_not_merged_is_not_unmerged() -> None:
    assert rejected(whistled(LEAD), unmerge()).field == "reason"


def test_once_the_primary_closed_the_merge_stands() -> None:
    rating = run(merged(), heard("satisfied"), later(hours=2))
    assert rejected(rating, unmerge(), later(hours=3)).field == "stage"


# The report's side: the primary's outcome.


def test_the_primarys_outcome_asks_the_reporter_to_rate_it_and_the_rating_closes_as_merged() -> None:
    state = merged()
    [event] = decide(state, heard("satisfied"), later(hours=2))
    assert isinstance(event, PrimaryClosed) and event.evaluation_due is not None
    rating = run(state, heard("satisfied"), later(hours=2))
    assert (rating.stage, [d.kind for d in rating.open_deadlines()]) == ("evaluating", ["evaluation"])
    [notice] = notices_for(rating, event)
    assert notice.audience == [REPORTER] and PRIMARY in notice.message and notice.due == event.evaluation_due
    for given in ("satisfied", "unsatisfied"):  # no reopening: the work is the primary's
        done = run(rating, evaluate(given), later(hours=3))
        assert (done.stage, done.outcome, done.rating) == ("closed", "merged", given)


def test_an_unrated_outcome_lapses_and_closes_as_merged() -> None:
    rating = run(merged(), heard("basically_satisfied"), later(hours=2))
    assert rating.evaluation is not None
    lapsed = run(rating, deadline("evaluation"), rating.evaluation.due)
    assert (lapsed.stage, lapsed.outcome) == ("closed", "merged")


def test_a_terminated_primary_closes_its_reports_without_a_rating() -> None:
    events = decide(merged(), heard("terminated", closure_reason="unreasonable_demand"), later(hours=2))
    assert types(events) == ["PrimaryClosed", "CaseClosed"]
    assert run(merged(), heard("terminated"), later(hours=2)).outcome == "merged"


def test_a_withdrawn_primary_lets_its_reports_resume() -> None:
    [event] = decide(merged(), heard("withdrawn"), later(hours=2))
    assert isinstance(event, MergeUndone) and event.by is None
    assert run(merged(), heard("withdrawn"), later(hours=2)).stage == "whistled"
    assert signals_for(run(merged(), heard("withdrawn"), later(hours=2)), event) == []  # the primary is closed


def test_a_primary_refusing_the_link_releases_the_report() -> None:
    release = ReleaseMerge(primary=PRIMARY, reason="t-0002 is closed")
    after = run(merged(), release, later(hours=2))
    assert (after.stage, after.merge) == ("whistled", None)


@pytest.mark.parametrize("message", [heard("satisfied", primary="t-0009"), ReleaseMerge(primary="t-0009", reason="x")])
def test_a_message_from_another_primary_is_refused(message: HearPrimaryOutcome | ReleaseMerge) -> None:
    assert rejected(merged(), message, later(hours=2)).field == "primary"
    assert rejected(whistled(LEAD), message, later(hours=2)).field == "primary"


def test_a_primary_cannot_report_an_outcome_that_is_no_closure() -> None:
    assert rejected(merged(), heard("merged"), later(hours=2)).field == "outcome"


def test_only_the_cases_own_workflows_send_their_messages() -> None:
    forged = LinkReport(actor=operator(), case=REPORT, community=COMMUNITY)
    assert rejected(primary(), forged).field == "actor"


# The primary's side.


def test_the_primary_counts_the_reports_it_carries() -> None:
    [event] = decide(primary(), link(), later(hours=1))
    assert isinstance(event, ReportLinked) and event.case == REPORT
    carrying = run(run(primary(), link(), later(hours=1)), link(case="t-0003"), later(hours=1))
    assert (carrying.linked_reports, carrying.links) == ([REPORT, "t-0003"], 2)
    assert decide(carrying, link(), later(hours=2)) == []  # a link sent again records nothing
    unlinked = run(carrying, UnlinkReport(case=REPORT, reason="不是同一家店"), later(hours=2))
    assert (unlinked.linked_reports, unlinked.links) == (["t-0003"], 2)


def test_the_primary_refuses_a_report_from_another_community_itself_or_past_its_limit() -> None:
    assert rejected(primary(), link(community="anju")).field == "community"
    assert rejected(primary(), link(case=PRIMARY)).field == "case"
    limited = handling(LEAD, case=case_with(max_linked_reports=1).model_copy(update={"complaint_id": PRIMARY}))
    full = run(limited, link(), later(hours=1))
    assert rejected(full, link(case="t-0003"), later(hours=1)).field == "case"


def test_a_closed_or_merged_primary_refuses_the_link_and_the_report_is_released() -> None:
    for refusing in (closed(), merged()):
        refusal = rejected(refusing, link(case="t-0003"), later(hours=2))
        assert refusal.field == "stage"
        reply = reply_to_refusal(refusing, link(case="t-0003"), refusal.reason)
        assert reply is not None and reply.complaint_id == "t-0003" and isinstance(reply.message, ReleaseMerge)


def test_unlinking_a_report_the_primary_does_not_carry_is_refused() -> None:
    assert rejected(primary(), UnlinkReport(case=REPORT, reason="x")).field == "case"


def test_the_closing_primary_tells_every_report_it_carries() -> None:
    carrying = run(run(primary(), link(), later(hours=1)), link(case="t-0003"), later(hours=1))
    events = decide(carrying, withdraw(), later(hours=2))
    state, outgoing = carrying, []
    for event in events:
        state = apply(state, event)
        outgoing += signals_for(state, event)
    assert [(o.complaint_id, o.message.type) for o in outgoing] == [
        (REPORT, "primary_closed"),
        ("t-0003", "primary_closed"),
    ]
    assert all(isinstance(o.message, HearPrimaryOutcome) and o.message.outcome == "withdrawn" for o in outgoing)


def test_merging_asks_the_primary_to_carry_the_report_and_falls_back_to_resuming() -> None:
    state = whistled(LEAD)
    [event] = decide(state, merge(), later(hours=1))
    [outgoing] = signals_for(run(state, merge(), later(hours=1)), event)
    assert outgoing.complaint_id == PRIMARY and outgoing.message == link()
    assert isinstance(outgoing.fallback, ReleaseMerge) and outgoing.fallback.primary == PRIMARY


def test_the_reporter_and_whoever_works_the_case_hear_of_the_merge() -> None:
    state = whistled(LEAD)
    [event] = decide(state, merge(), later(hours=1))
    [notice] = notices_for(run(state, merge(), later(hours=1)), event)
    assert notice.audience == [REPORTER, SECRETARY, LEAD] and PRIMARY in notice.message


def test_a_merged_case_is_neither_overdue_nor_escalated_in_the_lists() -> None:
    escalated = run(new_case(), deadline("verify"), later(hours=3))
    state = run(escalated, merge(), later(hours=4))
    assert (state.overdue_since, state.next_deadline, state.watched_deadline) == (None, None, None)
    assert (state.escalation is not None, state.escalation_level) == (True, 0)
    assert run(state, unmerge(), later(hours=6)).escalation_level == 1
