"""The CLI commands for the practice around the five stages (issue 6): proactive report-in, extensions,
the community's rating of departments, and the long-running ledger. Registered on ``whistle.cli.app``."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

import typer

from activities.event_store import create_pool
from schemas import commands
from schemas.org import OrgDirectory, load_directory
from whistle import output
from whistle.cli import (
    NEEDS_WORKER,
    CaseId,
    Department,
    JsonFlag,
    NoteOption,
    OperatorOption,
    ResidentOption,
    _actor,
    _department_fields,
    _resident_or_operator,
    _send,
    app,
)
from whistle.ledger import LedgerEntryRow, ledger
from whistle.runtime import InvalidInput, open_session
from whistle.runtime import load_settings as _settings
from whistle.runtime import reported as _reported
from whistle.settings import Settings

SeniorityOption = Annotated[
    str, typer.Option("--seniority", help="The officer's rank: section_head (科长), deputy_head, head.")
]


@app.command(
    "report-in-proactively",
    help="Report in without waiting for the whistle (主动报到): a department joins the work, or the first "
    "secretary comes in person (--first-secretary)." + NEEDS_WORKER,
)
def report_in_proactively(
    complaint_id: CaseId,
    officer: Annotated[str, typer.Option("--officer", help="Who came (name).")],
    department: Annotated[str | None, typer.Option("--department", help="The department; it is the actor.")] = None,
    first_secretary: Annotated[
        str | None, typer.Option("--first-secretary", help="The first secretary's id, coming in person.")
    ] = None,
    seniority: SeniorityOption = "section_head",
    as_json: JsonFlag = False,
) -> None:
    def build() -> commands.ReportInProactively:
        if (department is None) == (first_secretary is None):
            raise InvalidInput("actor", "give exactly one of --department or --first-secretary")
        actor = _actor("department", department) if department else _actor("first_secretary", first_secretary or "")
        fields = {"actor": actor, "department": department, "officer": officer, "seniority": seniority}
        return commands.ReportInProactively.model_validate(fields)

    _send(complaint_id, build, as_json)


@app.command(
    "request-extension", help="A working department asks for more time (延期) with a reason." + NEEDS_WORKER
)
def request_extension(
    complaint_id: CaseId,
    department: Department,
    extend: Annotated[str, typer.Option("--extend", help="How much more time (24h, 3wd).")],
    reason: Annotated[str, typer.Option("--reason", help="Why more time is needed.")],
    as_json: JsonFlag = False,
) -> None:
    fields = _department_fields(department, extend_by=extend, reason=reason)
    _send(complaint_id, lambda: commands.RequestExtension.model_validate(fields), as_json)


@app.command(
    "answer-extension",
    help="The approver the policy names (the first secretary by default) approves or refuses a request for more "
    "time; unanswered in time it counts as refused and escalates." + NEEDS_WORKER,
)
def answer_extension(
    complaint_id: CaseId,
    by: Annotated[str, typer.Option("--by", help="The approver's id.")],
    approve: Annotated[bool, typer.Option("--approve/--refuse", help="Approve or refuse.")],
    role: Annotated[
        str, typer.Option("--role", help="The approver's role: first_secretary, community_secretary, street_secretary.")
    ] = "first_secretary",
    note: NoteOption = "",
    as_json: JsonFlag = False,
) -> None:
    fields = {"actor": _actor(role, by), "approve": approve, "note": note}
    _send(complaint_id, lambda: commands.AnswerExtension.model_validate(fields), as_json)


@app.command(
    "rate-department",
    help="The community secretary rates a department that finished its part (双考核): in person at the seniority "
    "asked, and the result. On time is taken from the case." + NEEDS_WORKER,
)
def rate_department(
    complaint_id: CaseId,
    by: Annotated[str, typer.Option("--by", help="The community secretary's id.")],
    department: Annotated[str, typer.Option("--department", help="The department rated.")],
    result: Annotated[str, typer.Option("--result", help="good, fair or poor.")],
    in_person: Annotated[bool, typer.Option("--in-person/--not-in-person", help="Came in person.")] = True,
    comment: Annotated[str, typer.Option("--comment", help="The community's comment.")] = "",
    as_json: JsonFlag = False,
) -> None:
    fields = {"actor": _actor("community_secretary", by), "department": department, "in_person": in_person,
              "result": result, "comment": comment}
    _send(complaint_id, lambda: commands.RateDepartment.model_validate(fields), as_json)


@app.command(
    "review-results",
    help="Where the policy asks it (审核), the community secretary accepts the departments' results (the resident "
    "is then asked) or sends them back to handling with a reason." + NEEDS_WORKER,
)
def review_results(
    complaint_id: CaseId,
    by: Annotated[str, typer.Option("--by", help="The community secretary's id.")],
    approve: Annotated[bool, typer.Option("--approve/--reject", help="Accept, or send back.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (required to send back).")] = "",
    as_json: JsonFlag = False,
) -> None:
    fields = {"actor": _actor("community_secretary", by), "approve": approve, "reason": reason}
    _send(complaint_id, lambda: commands.ReviewResults.model_validate(fields), as_json)


@app.command(
    "rule",
    help="The street secretary rules a case every summoned department declined (职责争议): the departments named "
    "must report in and may not decline." + NEEDS_WORKER,
)
def rule(
    complaint_id: CaseId,
    by: Annotated[str, typer.Option("--by", help="The street secretary's id.")],
    departments: Annotated[str, typer.Option("--departments", help="Department codes, comma-separated.")],
    lead: Annotated[str | None, typer.Option("--lead", help="The lead department (default: the first).")] = None,
    note: NoteOption = "",
    as_json: JsonFlag = False,
) -> None:
    codes = [code.strip() for code in departments.split(",") if code.strip()]
    fields = {"actor": _actor("street_secretary", by), "departments": codes, "lead": lead, "note": note}
    _send(complaint_id, lambda: commands.RuleResponsibility.model_validate(fields), as_json)


@app.command(
    "ask-resident",
    help="The case waits on the resident (more information, access to their home): its clocks stop until they "
    "answer, for at most the policy's max_pause in all. --as KIND:ID names who asks: grid_worker, "
    "community_secretary or department." + NEEDS_WORKER,
)
def ask_resident(
    complaint_id: CaseId,
    as_: Annotated[str, typer.Option("--as", help="KIND:ID, e.g. grid_worker:gw-hongqi-1 or department:water_supply.")],
    reason: Annotated[str, typer.Option("--reason", help="What the resident is asked for.")],
    as_json: JsonFlag = False,
) -> None:
    def build() -> commands.AskResident:
        kind, _, actor_id = as_.partition(":")
        return commands.AskResident.model_validate({"actor": _actor(kind, actor_id), "reason": reason})

    _send(complaint_id, build, as_json)


@app.command("resident-answer", help="The resident answered: the clocks run again." + NEEDS_WORKER)
def resident_answer(
    complaint_id: CaseId,
    resident: ResidentOption = None,
    operator: OperatorOption = None,
    note: NoteOption = "",
    as_json: JsonFlag = False,
) -> None:
    def build() -> commands.ResidentAnswer:
        actor = _resident_or_operator(resident, operator)
        return commands.ResidentAnswer.model_validate({"actor": actor, "note": note})

    _send(complaint_id, build, as_json)


@app.command(
    "propose-termination",
    help="The community secretary proposes ending the case without a rating (终止办理): reason "
    "not_our_responsibility, duplicate, unreasonable_demand or resident_unreachable." + NEEDS_WORKER,
)
def propose_termination(
    complaint_id: CaseId,
    by: Annotated[str, typer.Option("--by", help="The community secretary's id.")],
    reason: Annotated[str, typer.Option("--reason", help="One of the closure reasons.")],
    note: Annotated[str, typer.Option("--note", help="The explanation.")],
    as_json: JsonFlag = False,
) -> None:
    fields = {"actor": _actor("community_secretary", by), "reason": reason, "note": note}
    _send(complaint_id, lambda: commands.ProposeTermination.model_validate(fields), as_json)


@app.command(
    "review-termination",
    help="The first secretary (or the street secretary, with --street) approves a proposed termination, which "
    "closes the case as terminated, or refuses it." + NEEDS_WORKER,
)
def review_termination(
    complaint_id: CaseId,
    by: Annotated[str, typer.Option("--by", help="The first secretary's id (with --street: the street secretary's).")],
    approve: Annotated[bool, typer.Option("--approve/--refuse", help="Approve or refuse.")],
    street: Annotated[bool, typer.Option("--street", help="--by names the street secretary.")] = False,
    note: NoteOption = "",
    as_json: JsonFlag = False,
) -> None:
    actor = _actor("street_secretary" if street else "first_secretary", by)
    fields = {"actor": actor, "approve": approve, "note": note}
    _send(complaint_id, lambda: commands.ReviewTermination.model_validate(fields), as_json)


@app.command("ledger")
def ledger_command(
    public: Annotated[bool, typer.Option("--public", help="The public list (百日解百难): no personal data.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """The long-running ledger (挂账): parked cases and cases three times past their handling deadline, with
    age and owner, read from the read model (no worker needed)."""
    with _reported():
        settings = _settings()
        rows = asyncio.run(_ledger(settings, public))
    if as_json:
        private = {"address"} if public else set()
        output.print_json([row.model_dump(mode="json", exclude=private) for row in rows])
        return
    names = output.Names(_directory(settings))
    output.console.print(output.ledger_table(rows, names, public=public))


async def _ledger(settings: Settings, public: bool) -> list[LedgerEntryRow]:
    session = await open_session(settings)
    pool = await create_pool(session.stack.database_url)
    try:
        return await ledger(pool, session.client.directory, datetime.now(UTC), public=public)
    finally:
        await pool.close()


def _directory(settings: Settings) -> OrgDirectory:
    return load_directory(settings.org)
