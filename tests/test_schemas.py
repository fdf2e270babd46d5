"""The schemas at the edge: intake checks, durations, the working-day calendar, policy merging, shipped files.

Past 300 lines: the checks at the edge of every schema (intake, durations, calendar, policy, shipped files).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import yaml
from pydantic import TypeAdapter, ValidationError

from activities.files import load_policy
from schemas.calendar import CHINA_TIME, WorkCalendar
from schemas.commands import BlowWhistle, Command, IssueDirective
from schemas.common import Duration, parse_duration
from schemas.errors import CommandRejected
from schemas.events import EVENT_TYPES, Event
from schemas.fold import apply
from schemas.intake import ComplaintIntake, check_not_future
from schemas.org import OrgDirectory
from schemas.policy import SlaPolicy
from schemas.rules.decider import decide, file_complaint
from schemas.state import CaseState
from tests.domain_fixtures import (
    CALENDAR,
    DEMO_POLICY_FILE,
    NOW,
    POLICY_FILE,
    blow,
    complete,
    demo_policy,
    directory,
    evaluate,
    make_case,
    make_intake,
    new_case,
    policy,
    report_in,
    seeds,
    verify,
)


def rejected_at(**overrides: Any) -> set[tuple[str | int, ...]]:
    """Where pydantic says an intake with ``overrides`` is wrong (each error's location)."""
    with pytest.raises(ValidationError) as caught:
        make_intake(**overrides)
    return {tuple(error["loc"]) for error in caught.value.errors()}


# The intake (a complaint as filed).


def test_a_well_formed_intake_is_accepted_and_trimmed() -> None:
    intake = make_intake(title="  楼道堆物  ", description="第一行\n第二行\t（附照片）")
    assert intake.title == "楼道堆物"
    assert intake.description == "第一行\n第二行\t（附照片）"
    assert intake.urgency == "normal" and intake.complaint_id is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": "路灯\x07不亮"}, ("title",)),
        ({"title": "路灯\u202e不亮"}, ("title",)),
        ({"description": "油烟\x00扰民"}, ("description",)),
        ({"title": "油" * 201}, ("title",)),
        ({"title": "   "}, ("title",)),
        ({"description": "长" * 4001}, ("description",)),
        ({"reporter": {"name": "王" * 51, "phone": "13000000106"}}, ("reporter", "name")),
        ({"reporter": {"name": "苏慧敏", "phone": "call me"}}, ("reporter", "phone")),
        ({"reporter": {"name": "苏慧敏", "phone": "123"}}, ("reporter", "phone")),
        ({"reporter": {"name": "苏慧敏", "phone": "138 0000 0000"}}, ("reporter", "phone")),
        ({"location": {"address": "红旗社区", "latitude": 91.0}}, ("location", "latitude")),
        ({"location": {"address": "红旗社区", "longitude": -180.5}}, ("location", "longitude")),
        ({"location": {"address": "红旗社区\x1b[31m"}}, ("location", "address")),
        ({"reported_at": "2025-09-22T09:00:00"}, ("reported_at",)),
        ({"community": "HongQi"}, ("community",)),
        ({"category": "路灯"}, ("category",)),
        ({"source": "wechat"}, ("source",)),
        ({"urgency": "critical"}, ("urgency",)),
        ({"complaint_id": "has space"}, ("complaint_id",)),
        ({"nickname": "老王"}, ("nickname",)),
    ],
    ids=[
        "bell in title", "right-to-left override in title", "NUL in description", "title too long",
        "blank title", "description too long", "reporter name too long", "phone with words", "phone too short",
        "phone with spaces", "latitude past the pole", "longitude past the date line", "escape in address",
        "naive reported_at", "upper-case community code", "category not a code", "unknown source",
        "unknown urgency", "complaint id with a space", "unknown field",
    ],
)
def test_bad_intake_field_is_rejected_by_name(overrides: dict[str, Any], field: tuple[str, ...]) -> None:
    assert rejected_at(**overrides) == {field}


@pytest.mark.parametrize(
    ("where", "field"),
    [
        ({"community": "no_such_community"}, "community"),
        ({"grid": "no_such_grid"}, "grid"),
        ({"grid": "anju_1"}, "grid"),
        ({"category": "no_such_category"}, "category"),
    ],
    ids=["unknown community", "unknown grid", "grid of another community", "unknown category"],
)
def test_intake_naming_what_the_directory_does_not_know_is_rejected(where: dict[str, str], field: str) -> None:
    intake = make_intake(**where)
    with pytest.raises(CommandRejected) as caught:
        directory().context_for(intake.community, intake.grid, intake.category)
    assert caught.value.field == field
    assert "known:" in caught.value.reason


def test_case_context_carries_the_people_and_the_suggested_departments() -> None:
    context = directory().context_for("gangyuan", "gangyuan_1", "streetlight")
    assert context.district == "兴工区"
    assert context.street.code == "gongren" and context.street.secretary.id == "ss-gongren"
    assert context.community.first_secretary.id == "fs-gangyuan"
    assert [worker.id for worker in context.grid.grid_workers] == ["gw-gangyuan-1", "gw-gangyuan-2"]
    assert context.suggested_departments == ["urban_management", "power_supply"]
    assert set(context.suggested_departments) <= set(context.departments)


def test_report_from_the_future_is_rejected_but_clock_skew_is_allowed() -> None:
    check_not_future(NOW + timedelta(minutes=4), NOW)
    with pytest.raises(CommandRejected) as caught:
        check_not_future(NOW + timedelta(minutes=6), NOW)
    assert caught.value.field == "reported_at"


# Durations, parsed in one place.


@pytest.mark.parametrize(
    ("text", "amount", "unit", "fixed"),
    [
        ("90s", 90, "s", timedelta(seconds=90)),
        ("30m", 30, "m", timedelta(minutes=30)),
        ("2h", 2, "h", timedelta(hours=2)),
        ("3d", 3, "d", timedelta(days=3)),
        ("5wd", 5, "wd", None),
        (" 24h ", 24, "h", timedelta(hours=24)),
    ],
)
def test_duration_parses(text: str, amount: int, unit: str, fixed: timedelta | None) -> None:
    duration = parse_duration(text)
    assert (duration.amount, duration.unit) == (amount, unit)
    assert duration.fixed() == fixed
    assert str(duration) == text.strip()
    assert duration.model_dump_json() == f'"{text.strip()}"'
    assert Duration.model_validate_json(duration.model_dump_json()) == duration


@pytest.mark.parametrize("text", ["0h", "2 hours", "", "h", "5w", "-1h", "1.5h", "1234567s", "2H", "3 wd x"])
def test_bad_duration_is_rejected(text: str) -> None:
    with pytest.raises(ValidationError):
        parse_duration(text)


# The working-day calendar a case carries.


def test_working_days_follow_the_calendar_exceptions_and_fall_back_to_weekdays() -> None:
    assert CALENDAR.is_workday(date(2025, 9, 28))  # a Sunday worked to lengthen the holiday
    assert not CALENDAR.is_workday(date(2025, 10, 1))  # a Wednesday off
    assert not CALENDAR.is_workday(date(2025, 10, 4))  # an ordinary Saturday
    assert CALENDAR.is_workday(date(2026, 10, 1))  # a year the calendar does not cover: Monday to Friday
    assert not CALENDAR.is_workday(date(2026, 10, 3))


def test_working_days_land_at_the_same_local_time() -> None:
    friday_evening = datetime(2025, 9, 30, 17, 30, tzinfo=CHINA_TIME)
    assert CALENDAR.add(friday_evening, parse_duration("1wd")) == datetime(2025, 10, 9, 17, 30, tzinfo=CHINA_TIME)
    utc_start = datetime(2025, 9, 30, 1, 30, tzinfo=UTC)
    assert CALENDAR.add(utc_start, parse_duration("2wd")) == datetime(2025, 10, 10, 9, 30, tzinfo=CHINA_TIME)
    assert CALENDAR.add(NOW, parse_duration("90s")) == NOW + timedelta(seconds=90)


def test_calendar_names_the_years_it_had_to_guess() -> None:
    assert CALENDAR.missing_years(NOW, NOW + timedelta(days=200)) == [2026]
    assert WorkCalendar().missing_years(NOW, NOW) == [2025]


# The SLA policy: default, then category, then urgency.


def test_normal_case_of_an_ordinary_category_runs_on_the_default() -> None:
    assert policy().for_case("normal", "streetlight") == policy().default
    assert policy().for_case("normal", "no_such_category") == policy().default


def test_category_overrides_the_default_and_urgency_overrides_the_category() -> None:
    gas = policy().for_case("normal", "gas_supply")
    assert gas.handling == parse_duration("10wd")
    assert gas.report_in == parse_duration("24h")
    urgent_gas = policy().for_case("urgent", "gas_supply")
    assert urgent_gas.handling == parse_duration("24h")
    assert urgent_gas.verify == parse_duration("30m")
    assert urgent_gas.evaluation == parse_duration("3d")
    assert policy().for_case("normal", "building_safety").report_in == parse_duration("4h")
    assert policy().for_case("urgent", "building_safety").report_in == parse_duration("2h")


def test_category_may_override_every_key_of_the_default() -> None:
    sla = SlaPolicy.model_validate(
        {
            "default": {"verify": "2h", "report_in": "24h", "handling": "5wd", "evaluation": "3d",
                        "first_secretary": "24h", "street_secretary": "48h", "max_reopens": 2},
            "urgent": {"max_reopens": 0},
            "categories": {"noise": {"max_reopens": 1, "warn_at": 0.5, "street_secretary": "1d"}},
        }
    )
    noise = sla.for_case("normal", "noise")
    assert (noise.max_reopens, noise.warn_at, str(noise.street_secretary)) == (1, 0.5, "1d")
    assert sla.for_case("urgent", "noise").max_reopens == 0
    assert sla.default.warn_at == 0.8


@pytest.mark.parametrize(
    ("change", "location"),
    [
        ({"default": {"handling": "5 working days"}}, ("default", "handling")),
        ({"urgent": {"verify": "0m"}}, ("urgent", "verify")),
        ({"urgent": {"handing": "24h"}}, ("urgent", "handing")),
        ({"default": {"warn_at": 1.0}}, ("default", "warn_at")),
        ({"categories": {"gas_supply": {"max_reopens": -1}}}, ("categories", "gas_supply", "max_reopens")),
        ({"categories": {"Gas Supply": {"handling": "1d"}}}, ("categories", "Gas Supply", "[key]")),
    ],
    ids=["bad duration", "zero duration", "misspelt key", "warning at the deadline", "negative reopens",
         "category not a code"],
)
def test_bad_policy_names_the_key(change: dict[str, dict[str, Any]], location: tuple[str, ...]) -> None:
    written = yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8"))
    for section, keys in change.items():
        written.setdefault(section, {}).update(keys)
    with pytest.raises(ValidationError) as caught:
        SlaPolicy.model_validate(written)
    assert location in {tuple(str(part) for part in error["loc"]) for error in caught.value.errors()}


def test_policy_without_a_complete_default_is_rejected() -> None:
    with pytest.raises(ValidationError):
        SlaPolicy.model_validate({"default": {"verify": "2h"}})


# Commands check their own shape before the decider sees them.

SEC = {"kind": "community_secretary", "id": "sec-hongqi"}
FS = {"kind": "first_secretary", "id": "fs-hongqi"}

@pytest.mark.parametrize(
    ("command", "message"),
    [
        ({"type": "blow", "actor": SEC, "departments": ["urban_management"] * 2}, "each department"),
        ({"type": "blow", "actor": SEC, "departments": ["urban_management"], "lead": "justice_office"},
         "lead"),
        ({"type": "blow", "actor": SEC, "departments": []}, "at least 1"),
        ({"type": "direct", "actor": FS, "kind": "order"}, "at least one department"),
        ({"type": "direct", "actor": FS, "kind": "extend"}, "extend_by"),
        ({"type": "direct", "actor": FS, "kind": "park", "departments": ["urban_management"]}, "only an order"),
        ({"type": "direct", "actor": FS, "kind": "park", "extend_by": "1d"}, "only an extension"),
        ({"type": "deadline", "kind": "street_secretary"}, "kind"),
        ({"type": "report_in", "actor": {"kind": "department", "id": "urban_management"},
          "department": "urban_management"}, "officer"),
        ({"type": "shout"}, "type"),
    ],
    ids=["summon twice", "lead not summoned", "nobody summoned", "order nobody", "extend without a span",
         "park with departments", "park with a span", "no street secretary timer", "report-in without officer",
         "unknown command"],
)
def test_malformed_command_is_rejected_before_the_decider(command: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(Command).validate_python(command)
    assert message in str(caught.value)


def test_commands_arrive_as_json_and_keep_their_type() -> None:
    adapter: TypeAdapter[Command] = TypeAdapter(Command)
    order = adapter.validate_json(json.dumps({"type": "direct", "actor": FS, "kind": "extend", "extend_by": "2wd"}))
    assert isinstance(order, IssueDirective) and order.extend_by == parse_duration("2wd")
    whistle = adapter.validate_python(blow("urban_management").model_dump())
    assert isinstance(whistle, BlowWhistle)


# Events and state survive serialisation (the workflow history, the event store, query results).


def test_every_event_of_a_case_round_trips_through_json() -> None:
    state = new_case()
    events: list[Event] = list(file_complaint(state.case, NOW))
    commands: list[Command] = [
        verify(), blow("urban_management"), report_in("urban_management"), complete("urban_management"),
        evaluate("satisfied"),
    ]
    for command in commands:
        produced = decide(state, command, NOW)
        for event in produced:
            state = apply(state, event)
        events.extend(produced)
    adapter: TypeAdapter[Event] = TypeAdapter(Event)
    for event in events:
        assert adapter.validate_json(adapter.dump_json(event)) == event
        assert event.type in EVENT_TYPES
    assert CaseState.model_validate_json(state.model_dump_json()) == state


# The shipped data files.


def test_shipped_org_directory_loads_with_unique_people_and_codes() -> None:
    org = directory()
    assert isinstance(org, OrgDirectory)
    assert len(org.streets) == 2 and len(org.communities) >= 3
    people = [s.secretary.id for s in org.streets]
    grids: list[str] = []
    for community in org.communities:
        people += [community.secretary.id, community.first_secretary.id]
        assert 2 <= len(community.grids) <= 3
        for grid in community.grids:
            grids.append(grid.code)
            assert 1 <= len(grid.grid_workers) <= 2
            people += [worker.id for worker in grid.grid_workers]
    assert len(people) == len(set(people))
    assert len(grids) == len(set(grids))
    departments = [d.code for d in org.departments]
    assert len(departments) == len(set(departments)) >= 10
    categories = [c.code for c in org.categories]
    assert len(categories) == len(set(categories))
    assert {"streetlight", "gas_supply", "building_safety", "traffic_congestion", "unlicensed_business",
            "cooking_fumes", "shop_encroachment", "illegal_signboard", "ebike_charging", "random_parking",
            "flood_evacuation", "noise", "garbage", "water_outage"} <= set(categories)


def test_directory_refuses_references_to_nothing() -> None:
    written = yaml.safe_load(directory().model_dump_json())
    written["communities"][0]["street"] = "no_such_street"
    with pytest.raises(ValidationError, match="unknown street"):
        OrgDirectory.model_validate(written)
    written = yaml.safe_load(directory().model_dump_json())
    written["categories"][0]["departments"].append("weather_bureau")
    with pytest.raises(ValidationError, match="unknown departments"):
        OrgDirectory.model_validate(written)


def test_shipped_policies_load_and_the_demo_runs_in_seconds() -> None:
    production = load_policy(POLICY_FILE)
    assert production.default.max_reopens == 2 and production.default.warn_at == 0.8
    assert str(production.default.handling) == "5wd"
    demo = load_policy(DEMO_POLICY_FILE)
    assert demo == demo_policy()
    for urgency in ("normal", "urgent"):
        for category in ("streetlight", "gas_supply"):
            case_policy = demo.for_case(urgency, category)
            durations = [value for value in dict(case_policy).values() if isinstance(value, Duration)]
            durations += [rule.report_in for rule in case_policy.grades.values() if rule.report_in]
            assert len(durations) >= 8
            for window in durations:
                fixed = window.fixed()
                assert fixed is not None and fixed <= timedelta(minutes=1)


SEED_PATHS = {"resolved_in_grid", "satisfied", "report_in_missed", "declined", "reopened", "handling_overdue",
              "first_secretary_order", "merged", "unevaluated"}


def test_shipped_seeds_are_valid_intakes_in_the_sample_district() -> None:
    scenarios = seeds()
    assert len({seed["key"] for seed in scenarios}) == len(scenarios) >= 8
    assert {seed["path"] for seed in scenarios} == SEED_PATHS
    for seed in scenarios:
        assert {"key", "path", "summary_zh", "departments", "intake"} <= set(seed)
        assert set(seed) <= {
            "key", "path", "summary_zh", "departments", "intake", "grade", "extension", "park", "urge", "flag",
            "duplicate_of",
        }
        if seed["path"] == "merged":  # a second report of another seed's problem, in its community
            [primary] = [other for other in scenarios if other["key"] == seed["duplicate_of"]]
            assert primary["intake"]["community"] == seed["intake"]["community"] and primary["path"] != "merged"
        assert "reported_at" not in seed["intake"]
        intake = ComplaintIntake.model_validate({**seed["intake"], "reported_at": NOW})
        case = make_case(intake=intake)
        assert set(seed["departments"]) <= set(case.context.departments)
        assert (seed["path"] == "resolved_in_grid") == (seed["departments"] == [])
        if seed["path"] == "first_secretary_order":
            assert intake.urgency == "urgent"
    categories = {seed["intake"]["category"] for seed in scenarios}
    assert {"streetlight", "gas_supply", "building_safety", "traffic_congestion", "unlicensed_business",
            "cooking_fumes", "ebike_charging", "flood_evacuation"} <= categories


def test_a_policy_key_added_after_recording_is_written_only_when_set() -> None:
    """A case's policy is frozen into its filing event, whose JSON a store batch's activity id digests: a key added
    later is left out at its default (so older cases serialize, and replay, as recorded) and kept when set."""
    from schemas.policy import CasePolicy

    usual = policy().for_case("normal", "cooking_fumes")
    assert "max_urgings" not in usual.model_dump(mode="json")
    strict = usual.model_copy(update={"max_urgings": 5})
    assert strict.model_dump(mode="json")["max_urgings"] == 5
    assert CasePolicy.model_validate(strict.model_dump(mode="json")).max_urgings == 5
    assert CasePolicy.model_validate(usual.model_dump(mode="json")).max_urgings == 20
