"""``ComplaintWorkflow``: one durable workflow per complaint, a thin shell around the decider and the fold.

Commands arrive as Updates, one per command in ``schemas.commands.COMMANDS`` under its name, whose validators
run the decider first, so a rejected command never enters the history and its caller hears the reason at once.
Accepted commands are decided and applied in the same workflow task; their events and notifications go to the
case's ``Outbox`` (``workflows/outbox.py``), which sends them on in order. Timers watch every open clock; a
clock that runs out becomes a command of its own (``ReachDeadline``) and so an event like any other. Merging
duplicates (工单合并) has two cases talk: signals between their workflows (``workflows/merging.py``), each received
as a command of the case's own and decided like one.

Running cases replay their histories on whatever code is deployed: a change to what the workflow does goes
behind ``workflow.patched``, is replayed against ``tests/histories/``, and is later deprecated and removed
(README, "Changing the workflow").
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from schemas.commands import (
        COMMANDS,
        MERGE_SIGNALS,
        CaseCommand,
        Command,
        MergeSignal,
        PersonCommand,
        ReachDeadline,
    )
    from schemas.errors import CommandRejected
    from schemas.events import Event, RecordedEvent
    from schemas.fold import apply, start
    from schemas.intake import ComplaintInput
    from schemas.rules import follow_up
    from schemas.rules.decider import WIRE, decide, file_complaint
    from schemas.state import CaseState
    from schemas.view import CaseView, view_of
    from workflows import search_attributes
    from workflows.merging import Messenger, reply_to_refusal, signals_for
    from workflows.notices import notices_for, warning_for, warning_key, warning_time
    from workflows.outbox import Outbox


def _rejection(error: CommandRejected) -> ApplicationError:
    return ApplicationError(str(error), error.field, error.reason, type="CommandRejected", non_retryable=True)


@workflow.defn(name="Complaint")
class ComplaintWorkflow:
    """One complaint from filing to closure.

    Callers can rely on: every Update either returns the case's new ``CaseView`` or is rejected with a
    ``CommandRejected`` application error naming the field and the reason, leaving no trace; the ``status``
    query answers at any time; the workflow completes with the final view once the case is closed (and, where the
    policy takes follow-up calls, its follow-up window has run out) and every event is in the store.
    """

    @workflow.init
    def __init__(self, case: ComplaintInput) -> None:
        filed = file_complaint(case, workflow.now())
        self._state: CaseState = start(filed[0])  # type: ignore[arg-type]
        self._outbox = Outbox(RecordedEvent(complaint_id=case.complaint_id, seq=1, event=filed[0]))
        self._warned: set[str] = set()
        self._calendar_alarms: set[int] = set()
        self._changes = 0
        self._checked: dict[str, tuple[int, datetime, list[Event]]] = {}
        """Per Update id: the validator's events, with the ``_changes`` and the time they were decided at."""
        self._alarms: dict[str, tuple[asyncio.Task[None], datetime]] = {}
        self._visible: tuple[object, ...] | None = None
        """The stage, departments, escalation level, next deadline and flag the search attributes were last set from."""
        self._woken_at: datetime | None = None
        """The latest wake time of a timer that has fired: the clocks due by then have run out."""
        self._messenger = Messenger(self._receive)
        """Signals to other cases (merging duplicates, ``workflows/merging.py``)."""
        self._register_commands()

    @workflow.run
    async def run(self, case: ComplaintInput) -> CaseView:
        self._outbox.start()
        while True:
            self._stop_if_refused()
            self._note_fired_alarms()
            self._fire_due_clocks()
            self._upsert_search_attributes()
            if self._state.stage == "closed" and not self._taking_follow_ups():
                break
            await self._wait_for_change_or_clock()
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._messenger.finished()
        await self._outbox.close()
        self._stop_if_refused()
        return view_of(self._state)

    def _taking_follow_ups(self) -> bool:
        """A closed case waits while its follow-up window (回访) is open: opened here when the case has just closed
        under a policy that asks for calls. Histories recorded before the window existed ended at closure, so the
        opening is patched in (issue 17, December 2026)."""
        if follow_up.window_opens(self._state) and workflow.patched("follow-up-window"):
            self._record(follow_up.opened(self._state))
        window = self._state.follow_up
        return window is not None and not window.clock.lapsed

    def _stop_if_refused(self) -> None:
        """Fail the case if the store refused its events for good: its history and the store would disagree."""
        if self._outbox.refused is not None:
            raise ApplicationError(
                f"the event store refused this run's events: {self._outbox.refused.cause or self._outbox.refused}",
                type="StoreRefused", non_retryable=True,
            )  # fmt: skip

    def _note_fired_alarms(self) -> None:
        """Move ``_woken_at`` up to the wake of every timer that has fired."""
        for alarm, at in self._alarms.values():
            if alarm.done() and (self._woken_at is None or at > self._woken_at):
                self._woken_at = at

    async def _wait_for_change_or_clock(self) -> None:
        """Sleep until a command changes the case or the next clock (or warning) is due.

        One timer for the next clock and one for the next warning, so a warning's workflow task never delays
        the clock's timer. A timer is replaced only when its wake moves earlier; a wake that moves later (the
        usual step: each stage's window ends after the last one's) keeps it, and it fires early and is set
        again. So commands do not cancel and restart timers, and no timer fires late.
        """
        now = workflow.now()
        for kind, wake in self._next_wakes().items():
            alarm, at = self._alarms.get(kind, (None, None))
            if alarm is not None and alarm.done():
                del self._alarms[kind]
                alarm = at = None
            if wake is None or (at is not None and at <= wake):
                continue
            if alarm is not None:
                alarm.cancel()
            delay = max((wake - now).total_seconds(), 0.001)
            self._alarms[kind] = (asyncio.create_task(asyncio.sleep(delay)), wake)
        seen = self._changes
        pending = [alarm for alarm, _ in self._alarms.values()]
        await workflow.wait_condition(
            lambda: self._changes != seen or any(alarm.done() for alarm in pending) or self._outbox.refused is not None
        )

    @workflow.query
    def status(self) -> CaseView:
        """The case at a glance."""
        return view_of(self._state)

    @workflow.query
    def state(self) -> CaseState:
        """The whole folded state (for tests, replays and supervisors' tools)."""
        return self._state

    def _register_commands(self) -> None:
        """One Update per command a person can send (``COMMANDS``), under the command's name, its validator the
        decider: a refused command is rejected before it enters the history, and its caller hears the reason. A
        command the client completes before sending arrives as its completed model (``WIRE``)."""
        for name, model in COMMANDS.items():
            wire = WIRE.get(model, model)
            workflow.set_update_handler(name, self._handler(wire), validator=self._validator(wire))
        for name, message in MERGE_SIGNALS.items():
            workflow.set_signal_handler(name, self._signal_handler(message))

    def _signal_handler(self, model: type) -> Callable[[MergeSignal], None]:
        def receive(message: MergeSignal) -> None:
            self._receive(message)

        receive.__annotations__ = {"message": model, "return": None}  # the SDK decodes the payload as ``model``
        return receive

    def _receive(self, message: Command) -> None:
        """Another case's message about merging, decided like a command: one the case refuses is answered (a report
        it will not carry is released) or dropped, never retried, so two cases cannot wait on each other."""
        try:
            self._execute(message)
        except ApplicationError as refused:
            reason = str(refused.details[1]) if len(refused.details) > 1 else str(refused)
            workflow.logger.info(f"{message.type} refused: {reason}", extra={"complaint_id": self._state.complaint_id})
            reply = reply_to_refusal(self._state, message, reason)  # type: ignore[arg-type]
            if reply is not None:
                self._messenger.send(reply)

    def _handler(self, model: type[CaseCommand]) -> Callable[[PersonCommand], CaseView]:
        def execute(command: PersonCommand) -> CaseView:
            return self._execute(command)

        execute.__annotations__ = {"command": model, "return": CaseView}  # the SDK decodes the payload as ``model``
        return execute

    def _validator(self, model: type[CaseCommand]) -> Callable[[PersonCommand], None]:
        def check(command: PersonCommand) -> None:
            self._check(command)

        check.__annotations__ = {"command": model, "return": None}
        return check

    def _decide(self, command: Command, now: datetime) -> list[Event]:
        """The decider's events for ``command`` at ``now``; a refusal becomes the Update's ``CommandRejected`` error."""
        try:
            return decide(self._state, command, now)
        except CommandRejected as error:
            raise _rejection(error) from None

    def _check(self, command: Command) -> None:
        """Run the decider first: a rejection stops the Update before history; a decision is kept for the handler."""
        now = workflow.now()
        events = self._decide(command, now)
        update = workflow.current_update_info()
        if update is not None:
            self._checked[update.id] = (self._changes, now, events)

    def _execute(self, command: Command, at: datetime | None = None) -> CaseView:
        """Decide (or take the validator's decision, if the case has not changed since) and apply the events.

        Reused only if decided on the same state at the same ``workflow.now()``: the decider is pure, so that
        changes nothing but the cost; on replay validators do not run and the handler decides itself. ``at`` is
        the decision's time when it is not the task's (a clock runs out at its due time).
        """
        update = workflow.current_update_info()
        checked = self._checked.pop(update.id, None) if update is not None else None
        now = at or workflow.now()
        if checked is not None and checked[:2] == (self._changes, now):
            events = checked[2]
        else:
            events = self._decide(command, now)
        for event in events:
            self._record(event)
        return view_of(self._state)

    def _record(self, event: Event) -> None:
        self._state = apply(self._state, event)
        seq = self._state.event_count
        self._outbox.add_event(RecordedEvent(complaint_id=self._state.complaint_id, seq=seq, event=event))
        self._outbox.add_notices(notices_for(self._state, event))
        for outgoing in signals_for(self._state, event):
            self._messenger.send(outgoing)
        self._changes += 1
        self._raise_calendar_alarm()

    def _raise_calendar_alarm(self) -> None:
        """A working-day clock counted on weekdays only: wrong by every holiday, so operators must hear."""
        for year in self._state.calendar_gaps():
            if year not in self._calendar_alarms:
                self._calendar_alarms.add(year)
                workflow.logger.error(
                    f"calendar data missing for {year}", extra={"year": year, "complaint_id": self._state.complaint_id}
                )

    def _fire_due_clocks(self) -> None:
        """Turn every clock that has run out into its event, earliest first; send warnings that are due.

        What has run out is what the fired timers say (due by ``_woken_at``), never the time a task reads: each
        clock runs out, and each warning goes, at its own due time, so the history alone decides (a task's
        ``workflow.now()`` after a query-driven replay was seen stale with temporalio 1.35; README, "Guarantees and
        limits").
        """
        now = self._woken_at
        if now is None:
            return
        while True:
            due = [d for d in self._state.open_deadlines() if d.clock.due <= now]
            if not due:
                break
            first = min(due, key=lambda deadline: deadline.clock.due)
            self._execute(ReachDeadline(kind=first.kind, department=first.department), at=first.clock.due)
        for deadline in self._state.open_deadlines():
            key = warning_key(deadline)
            warn_at = warning_time(self._state, deadline)
            if key not in self._warned and warn_at <= now:
                self._warned.add(key)
                self._outbox.add_notices([warning_for(self._state, deadline, warn_at)])

    def _next_wakes(self) -> dict[str, datetime | None]:
        """When the next clock runs out and the next warning is due (None: nothing to watch, as when parked)."""
        deadlines = self._state.open_deadlines()
        return {
            "clock": min((deadline.clock.due for deadline in deadlines), default=None),
            "warning": min(
                (warning_time(self._state, d) for d in deadlines if warning_key(d) not in self._warned), default=None
            ),
        }

    def _upsert_search_attributes(self) -> None:
        """Keep the Temporal UI's filters current for operators; supervisors' lists read the PostgreSQL read model.

        Since December 2026 (issue 19) only what an operator filters on and what changes is upserted, and only the
        keys whose value moved: stage, escalation level, the departments summoned (the SDK's access check reads
        them with ``describe``), the flag once a supervisor has set it, and the category when a case is
        re-categorised. Community, grid and category are set when the workflow starts; the next deadline
        (``WhistleNextDeadline``) is no longer kept, the overdue list being the read model's ``watched_deadline``.
        Histories recorded before replay the old way, every field on every visible change (``patched`` keeps its
        first answer for the whole run, so a case never switches halfway).
        """
        if workflow.patched("narrow-search-attributes"):
            self._upsert_changed_attributes()
        else:
            self._upsert_every_attribute()

    def _upsert_changed_attributes(self) -> None:
        """Upsert the operator's fields that differ from the execution's own (the start sets stage, level 0, community,
        grid and category, so a new case's first task upserts nothing)."""
        state = self._state
        visible = (
            state.stage, tuple(state.departments), state.escalation_level, state.flagged, state.case.intake.category
        )  # fmt: skip
        if visible == self._visible:
            return
        self._visible = visible
        current = workflow.info().typed_search_attributes
        wanted: list[SearchAttributeUpdate[Any]] = [
            search_attributes.STAGE.value_set(state.stage),
            search_attributes.ESCALATION_LEVEL.value_set(state.escalation_level),
            search_attributes.CATEGORY.value_set(state.case.intake.category),
        ]
        if state.departments or current.get(search_attributes.DEPARTMENTS) is not None:
            wanted.append(search_attributes.DEPARTMENTS.value_set(list(state.departments)))
        if state.flagged or current.get(search_attributes.FLAGGED) is not None:  # only cases ever flagged carry it
            wanted.append(search_attributes.FLAGGED.value_set(state.flagged))
        changed = [update for update in wanted if current.get(update.key) != update.value]
        if changed:
            workflow.upsert_search_attributes(changed)

    def _upsert_every_attribute(self) -> None:
        """Before the narrowing: every field, the next deadline among them, whenever one of them changed.

        The fields are compared as plain values first: building the SDK's typed updates costs more than the rest
        of a workflow task's own work, and most wakes change none of them.
        """
        state = self._state
        next_deadline = state.watched_deadline  # a missed deadline stays visible until its stage moves on
        intake = state.case.intake
        visible = (
            state.stage, tuple(state.departments), state.escalation_level, next_deadline, state.flagged,
            intake.category,
        )  # fmt: skip
        if visible == self._visible:
            return
        self._visible = visible
        updates: list[SearchAttributeUpdate[Any]] = [
            search_attributes.STAGE.value_set(state.stage),
            search_attributes.COMMUNITY.value_set(intake.community),
            search_attributes.GRID.value_set(intake.grid),
            search_attributes.CATEGORY.value_set(intake.category),
            search_attributes.DEPARTMENTS.value_set(list(state.departments)),
            search_attributes.ESCALATION_LEVEL.value_set(state.escalation_level),
        ]
        if next_deadline is None:
            updates.append(search_attributes.NEXT_DEADLINE.value_unset())
        else:
            updates.append(search_attributes.NEXT_DEADLINE.value_set(next_deadline))
        current = workflow.info().typed_search_attributes
        if state.flagged or current.get(search_attributes.FLAGGED) is not None:  # only cases ever flagged carry it
            updates.append(search_attributes.FLAGGED.value_set(state.flagged))
        if any(current.get(update.key) != update.value for update in updates):
            workflow.upsert_search_attributes(updates)
