"""The category (改类/改派): the community secretary, or the street office, corrects it; routing suggestions and the
windows that start later follow the new category, clocks already running keep their dues, and the change and its
reason are on record."""

from __future__ import annotations

import pytest

from schemas.actors import Actor
from schemas.commands import BlowWhistle, DeclineCase, Recategorise
from schemas.events import CaseRecategorised, DepartmentDeclined
from schemas.rules.category import MAX_RECATEGORISATIONS, CategoryResolution, ResolvedRecategorise
from schemas.rules.decider import decide
from schemas.state import CaseState
from tests.domain_fixtures import (
    CATEGORY,
    department,
    directory,
    evaluating,
    later,
    new_case,
    policy,
    report_in,
    run,
    secretary,
    street_secretary,
    verify,
    whistled,
)
from tests.rules.helpers import LEAD, folds, rejected

GAS = "gas_supply"


def recategorise(category: str = GAS, *, actor: Actor | None = None, urgency: str = "normal") -> ResolvedRecategorise:
    """The command as the client completes it from the shipped directory and policy."""
    context = directory().context_for("hongqi", "hongqi_1", category)
    resolution = CategoryResolution(
        category=context.category,
        suggested_departments=context.suggested_departments,
        policy=policy().for_case("urgent" if urgency == "urgent" else "normal", category),
    )
    return ResolvedRecategorise(
        actor=actor or secretary(), category=category, reason="实为燃气管道问题", resolution=resolution
    )


def test_the_category_routing_and_later_windows_follow_the_correction() -> None:
    state = run(new_case(), verify())
    [event] = decide(state, recategorise(), later(hours=1))
    assert isinstance(event, CaseRecategorised)
    assert (event.previous, event.category.code, event.reason) == (CATEGORY, GAS, "实为燃气管道问题")
    after = folds(state, [event])
    assert after.case.intake.category == GAS and after.case.context.category.code == GAS
    assert after.case.context.suggested_departments == ["gas_company", "housing_construction"]
    assert str(after.case.policy.handling) == "10wd" and str(state.case.policy.handling) == "5wd"
    assert after.verify == state.verify  # the running clock keeps its due
    assert after.recategorisations == 1


def test_handling_started_after_the_correction_runs_the_new_categorys_window() -> None:
    corrected = run(run(new_case(), verify()), recategorise(), later(hours=1))
    summoned = run(corrected, _blow("gas_company"), later(hours=1))
    handling = run(summoned, report_in("gas_company"), later(hours=2))
    uncorrected = run(run(new_case(), verify()), _blow("gas_company"), later(hours=1))
    before = run(uncorrected, report_in("gas_company"), later(hours=2))
    assert handling.handling is not None and before.handling is not None
    assert handling.handling.due > before.handling.due  # 10 working days, not 5


def test_a_clock_already_running_keeps_its_due() -> None:
    state = run(whistled(LEAD), report_in(LEAD), later(hours=1))
    after = run(state, recategorise(), later(hours=2))
    assert after.handling == state.handling


def test_the_street_secretary_corrects_it_too_and_nobody_else() -> None:
    state = run(new_case(), verify())
    assert decide(state, recategorise(actor=street_secretary()), later(hours=1))
    for actor in (Actor(kind="department", id=LEAD), Actor(kind="first_secretary", id="x"), secretary("someone")):
        assert rejected(state, recategorise(actor=actor), later(hours=1)).field == "actor"


def test_refused_when_nothing_changes_or_the_case_is_past_handling() -> None:
    state = run(new_case(), verify())
    assert rejected(state, recategorise(CATEGORY)).field == "category"
    assert rejected(evaluating(), recategorise()).field == "stage"


def test_a_resolution_for_another_category_is_refused() -> None:
    command = recategorise().model_copy(update={"category": "streetlight"})
    assert rejected(run(new_case(), verify()), command).field == "category"


def test_an_unresolved_command_is_refused_naming_the_category() -> None:
    plain = Recategorise(actor=secretary(), category=GAS, reason="实为燃气管道问题")
    assert "WhistleClient" in rejected(run(new_case(), verify()), plain).reason


def test_a_case_takes_a_bounded_number_of_corrections() -> None:
    state: CaseState = run(new_case(), verify())
    categories = [GAS, "streetlight"]
    for turn in range(MAX_RECATEGORISATIONS):
        state = run(state, recategorise(categories[turn % 2]), later(hours=1))
    assert rejected(state, recategorise(categories[MAX_RECATEGORISATIONS % 2]), later(hours=1)).field == "category"


def test_the_reason_is_required() -> None:
    with pytest.raises(ValueError, match="reason"):
        Recategorise.model_validate({"actor": secretary().model_dump(), "category": GAS, "reason": ""})


def _blow(code: str) -> BlowWhistle:
    return BlowWhistle(actor=secretary(), departments=[code])


def test_the_whistle_then_routes_to_the_new_suggestion() -> None:
    corrected = run(run(new_case(), verify()), recategorise(), later(hours=1))
    summoned = run(corrected, _blow(corrected.case.context.suggested_departments[0]), later(hours=1))
    assert list(summoned.departments) == ["gas_company"]


def test_a_decline_may_propose_the_right_category_for_the_secretary_to_take_up() -> None:
    state = whistled(LEAD)
    proposal = DeclineCase(actor=department(LEAD), department=LEAD, reason="属燃气公司管线", category=GAS)
    [declined] = decide(state, proposal, later(hours=1))
    assert isinstance(declined, DepartmentDeclined) and declined.proposed_category == GAS
    assert folds(state, [declined]).case.intake.category == CATEGORY  # a proposal, not a change
    assert declined.model_dump(mode="json")["proposed_category"] == GAS
    same = proposal.model_copy(update={"category": CATEGORY})
    assert rejected(state, same, later(hours=1)).field == "category"


def test_a_decline_without_a_proposal_serializes_as_recorded_before_proposals() -> None:
    plain = DeclineCase(actor=department(LEAD), department=LEAD, reason="不属本部门")
    [declined] = decide(whistled(LEAD), plain, later(hours=1))
    assert "proposed_category" not in declined.model_dump(mode="json")  # the store batch's digest is unchanged
