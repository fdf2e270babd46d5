"""``whistle``: file complaints, act on them, read them, and run the stack, the worker and the demo.

Every command prints JSON with ``--json`` and tables otherwise. A command the case refuses exits 1 with
one line on stderr (``rejected: <field>: <reason>``) and changes nothing; input that does not parse exits
2 with one line (``invalid: <field>: <reason>``).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from contextlib import suppress
from typing import Annotated

import typer

from activities.event_store import apply_migrations, create_pool
from schemas import commands
from schemas.commands import PersonCommand
from schemas.org import load_directory
from schemas.view import CaseView
from whistle import devstack, output
from whistle.cli_gateway import keys_app, serve
from whistle.cli_notifications import notifications
from whistle.cli_privacy import erase, publish, unpublish
from whistle.cli_supervise import list_cases, projections_app, report
from whistle.client import WhistleClient
from whistle.runtime import InvalidInput, ask, read_intake, start_stack
from whistle.runtime import load_settings as _settings
from whistle.runtime import reported as _reported

app = typer.Typer(
    help=(
        "Whistle (吹哨报到): durable complaint cases for community governance.\n\n"
        "Commands use TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and DATABASE_URL when set, and otherwise start "
        "(or find) the embedded stack under .whistle/. Case commands, status and history need only Temporal: "
        "they answer while PostgreSQL is down.\n\n"
        "Commands that act on a case (verify ... withdraw) and status need a worker polling the task queue: "
        "run `whistle worker` in another terminal. Only `whistle demo` runs its own.\n\n"
        "Who acts: each case command names its actor with a readable flag: --grid-worker (verify), --by "
        "(blow: the community secretary; direct: the first secretary, or the street secretary with --street), "
        "--department (the department itself), --resident or --operator (evaluate, withdraw).\n\n"
        "Exit codes: 0 done, 1 rejected by the case or not found, 2 invalid input."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold a reporter's name and phone
)
dev_app = typer.Typer(
    help="The embedded development stack (Temporal dev server, its UI's codec server and PostgreSQL under .whistle/)."
)
app.add_typer(dev_app, name="dev")
app.add_typer(keys_app, name="keys")
app.command()(serve)
app.command("list")(list_cases)
app.command()(report)
app.add_typer(projections_app, name="projections")
app.command()(notifications)
app.command()(publish)
app.command()(unpublish)
app.command()(erase)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
CaseId = Annotated[str, typer.Argument(metavar="ID", help="The complaint id.", show_default=False)]
NoteOption = Annotated[str, typer.Option("--note", help="A free-text note.")]
NEEDS_WORKER = " Needs a running worker (`whistle worker`)."



def _show_view(client: WhistleClient, view: CaseView, as_json: bool) -> None:
    if as_json:
        output.print_json(view.model_dump(mode="json"))
    else:
        output.console.print(output.view_table(view, output.Names(client.directory)))


def _send(complaint_id: str, build: Callable[[], PersonCommand], as_json: bool) -> None:
    """Build the command (so bad input fails before any connection), send it, show the new view."""
    with _reported():
        settings = _settings()
        command = build()
        in_person = command.actor.kind == "resident"  # matched to the case in personal_data, so PostgreSQL too
        client, view = ask(settings, lambda client: client.execute(complaint_id, command), database=in_person)
    _show_view(client, view, as_json)


def _actor(kind: str, actor_id: str) -> dict[str, str]:
    """The command's actor, built from the command's readable flag (``--grid-worker``, ``--by``, ...)."""
    return {"kind": kind, "id": actor_id}


def _department_fields(department: str, **fields: object) -> dict[str, object]:
    """A department's command about its own part: the department is both the actor and the ``department``."""
    return {"actor": _actor("department", department), "department": department, **fields}


def _resident_or_operator(resident: str | None, operator: str | None) -> dict[str, str]:
    if (resident is None) == (operator is None):
        raise InvalidInput("actor", "give exactly one of --resident or --operator")
    return _actor("resident", resident) if resident is not None else _actor("operator", operator or "")


def _codes(text: str) -> list[str]:
    return [code.strip() for code in text.split(",") if code.strip()]


@app.command()
def submit(
    source: Annotated[str, typer.Argument(metavar="FILE|-", help="Intake as JSON or YAML; - reads stdin.")] = "-",
    as_json: JsonFlag = False,
) -> None:
    """File a complaint; the same complaint_id twice returns the existing case (duplicate: true)."""
    with _reported():
        settings = _settings()
        intake = read_intake(source)
        _, result = ask(settings, lambda client: client.submit(intake), worker=False)
    if as_json:
        output.print_json(result.model_dump(mode="json"))
        return
    heading = "已存在（重复提交，未新建）" if result.duplicate else "已立案"
    output.console.print(f"{heading} 编号 {result.complaint_id}  workflow {result.workflow_id}  run {result.run_id}")


Department = Annotated[str, typer.Option("--department", help="The department's code; it is the actor.")]
ResidentOption = Annotated[
    str | None,
    typer.Option("--resident", help="Acting as the resident: the intake's reporter.resident_id (needs PostgreSQL)."),
]
OperatorOption = Annotated[
    str | None, typer.Option("--operator", help="Acting as a 12345 hotline operator (their id).")
]


@app.command(help="A grid worker verifies the complaint, or resolves it inside the grid." + NEEDS_WORKER)
def verify(
    complaint_id: CaseId,
    grid_worker: Annotated[str, typer.Option("--grid-worker", help="The grid worker's id.")],
    resolved_in_grid: Annotated[bool, typer.Option("--resolved-in-grid", help="Resolved on the spot.")] = False,
    note: NoteOption = "",
    as_json: JsonFlag = False,
) -> None:
    fields = {"actor": _actor("grid_worker", grid_worker), "resolved_in_grid": resolved_in_grid, "note": note}
    _send(complaint_id, lambda: commands.VerifyComplaint.model_validate(fields), as_json)


@app.command(help="The community secretary blows the whistle, summoning departments." + NEEDS_WORKER)
def blow(
    complaint_id: CaseId,
    by: Annotated[str, typer.Option("--by", help="The community secretary's id.")],
    departments: Annotated[str, typer.Option("--departments", help="Department codes, comma-separated.")],
    lead: Annotated[str | None, typer.Option("--lead", help="The lead department (default: the first).")] = None,
    grade: Annotated[str, typer.Option("--grade", help="blue, yellow or red (蓝/黄/红哨).")] = "blue",
    note: NoteOption = "",
    as_json: JsonFlag = False,
) -> None:
    fields = {
        "actor": _actor("community_secretary", by), "departments": _codes(departments), "lead": lead, "grade": grade,
        "note": note,
    }
    _send(complaint_id, lambda: commands.BlowWhistle.model_validate(fields), as_json)


@app.command("report-in", help="A summoned department reports in through an officer." + NEEDS_WORKER)
def report_in(
    complaint_id: CaseId,
    department: Department,
    officer: Annotated[str, typer.Option("--officer", help="The officer's name.")],
    seniority: Annotated[
        str, typer.Option("--seniority", help="section_head, deputy_head or head: at least what the grade asks.")
    ] = "section_head",
    as_json: JsonFlag = False,
) -> None:
    fields = _department_fields(department, officer=officer, seniority=seniority)
    _send(complaint_id, lambda: commands.ReportIn.model_validate(fields), as_json)


@app.command(help="A summoned department declines with a reason (退单)." + NEEDS_WORKER)
def decline(
    complaint_id: CaseId,
    department: Department,
    reason: Annotated[str, typer.Option("--reason", help="Why it is not theirs.")],
    as_json: JsonFlag = False,
) -> None:
    fields = _department_fields(department, reason=reason)
    _send(complaint_id, lambda: commands.DeclineCase.model_validate(fields), as_json)


@app.command(help="A working department records progress." + NEEDS_WORKER)
def progress(
    complaint_id: CaseId,
    department: Department,
    note: Annotated[str, typer.Option("--note", help="What was done.")],
    as_json: JsonFlag = False,
) -> None:
    fields = _department_fields(department, note=note)
    _send(complaint_id, lambda: commands.RecordProgress.model_validate(fields), as_json)


@app.command(help="A working department marks its part done; the last one ends handling." + NEEDS_WORKER)
def complete(
    complaint_id: CaseId,
    department: Department,
    result: Annotated[str, typer.Option("--result", help="What the department achieved.")],
    as_json: JsonFlag = False,
) -> None:
    fields = _department_fields(department, result=result)
    _send(complaint_id, lambda: commands.CompletePart.model_validate(fields), as_json)


@app.command(help="The reporter rates the result; unsatisfied reopens handling." + NEEDS_WORKER)
def evaluate(
    complaint_id: CaseId,
    rating: Annotated[str, typer.Option("--rating", help="satisfied, basically_satisfied or unsatisfied.")],
    comment: Annotated[str, typer.Option("--comment", help="The resident's comment.")] = "",
    resident: ResidentOption = None,
    operator: OperatorOption = None,
    as_json: JsonFlag = False,
) -> None:
    def build() -> commands.EvaluateOutcome:
        actor = _resident_or_operator(resident, operator)
        return commands.EvaluateOutcome.model_validate({"actor": actor, "rating": rating, "comment": comment})

    _send(complaint_id, build, as_json)


@app.command(help="A first or street secretary orders departments in, extends, or parks the case." + NEEDS_WORKER)
def direct(
    complaint_id: CaseId,
    by: Annotated[str, typer.Option("--by", help="The first secretary's id (with --street: the street secretary's).")],
    order: Annotated[str | None, typer.Option("--order", help="Order these departments in (D1,D2).")] = None,
    extend: Annotated[str | None, typer.Option("--extend", help="Extend the running deadlines (24h, 3wd).")] = None,
    park: Annotated[bool, typer.Option("--park", help="Park the case on the long-running list (挂账).")] = False,
    street: Annotated[bool, typer.Option("--street", help="--by names the street secretary.")] = False,
    note: NoteOption = "",
    as_json: JsonFlag = False,
) -> None:
    def build() -> commands.IssueDirective:
        kinds = [kind for kind, given in (("order", order), ("extend", extend), ("park", park)) if given]
        if len(kinds) != 1:
            raise InvalidInput("kind", "give exactly one of --order, --extend or --park")
        actor = _actor("street_secretary" if street else "first_secretary", by)
        fields = {
            "actor": actor, "kind": kinds[0], "departments": _codes(order or ""), "extend_by": extend, "note": note,
        }
        return commands.IssueDirective.model_validate(fields)

    _send(complaint_id, build, as_json)


@app.command(help="The reporter withdraws the complaint; the case closes." + NEEDS_WORKER)
def withdraw(
    complaint_id: CaseId,
    reason: Annotated[str, typer.Option("--reason", help="Why it is withdrawn.")],
    resident: ResidentOption = None,
    operator: OperatorOption = None,
    as_json: JsonFlag = False,
) -> None:
    def build() -> commands.WithdrawComplaint:
        actor = _resident_or_operator(resident, operator)
        return commands.WithdrawComplaint.model_validate({"actor": actor, "reason": reason})

    _send(complaint_id, build, as_json)


@app.command(help="The case at a glance: stage, escalation, departments, next deadline." + NEEDS_WORKER)
def status(complaint_id: CaseId, as_json: JsonFlag = False) -> None:
    with _reported():
        settings = _settings()
        client, view = ask(settings, lambda client: client.status(complaint_id), database=False)
    _show_view(client, view, as_json)


@app.command()
def history(complaint_id: CaseId, as_json: JsonFlag = False) -> None:
    """The case's timeline in domain words, read from its Temporal history."""
    with _reported():
        settings = _settings()
        client, entries = ask(settings, lambda client: client.history(complaint_id), worker=False, database=False)
    if as_json:
        output.print_json(entries)
    else:
        names = output.Names(client.directory)
        output.console.print(output.timeline_table(entries, names, f"案件 {complaint_id} 时间线"))


@app.command()
def org(as_json: JsonFlag = False) -> None:
    """The directory: communities with their grids and secretaries, departments, category routing."""
    with _reported():
        settings = _settings()
        directory = load_directory(settings.org)
    if as_json:
        output.print_json(directory.model_dump(mode="json"))
        return
    for table in output.org_tables(directory):
        output.console.print(table)


@app.command()
def migrate(as_json: JsonFlag = False) -> None:
    """Apply the database migrations as the database's owner (a deployment's whistle-migrate job); the worker
    and the gateway log in as roles that may not create tables, and find every migration applied."""
    with _reported():
        settings = _settings()
        if settings.database_url is None:
            raise InvalidInput("DATABASE_URL", "name the database to migrate (the embedded stack migrates itself)")
        applied = asyncio.run(_migrate(settings.database_url))
    if as_json:
        output.print_json({"applied": applied})
        return
    output.console.print(f"已应用 {len(applied)} 个迁移" + (f"：{', '.join(applied)}" if applied else "（已是最新）"))


async def _migrate(database_url: str) -> list[str]:
    pool = await create_pool(database_url)
    try:
        return await apply_migrations(pool)
    finally:
        await pool.close()


@dev_app.command("up")
def dev_up(as_json: JsonFlag = False) -> None:
    """Start (or find) the embedded stack, apply migrations, print where it is as JSON."""
    with _reported():
        settings = _settings()
        stack = asyncio.run(start_stack(settings))
    output.print_json(stack.to_json())


@dev_app.command("down")
def dev_down(as_json: JsonFlag = False) -> None:
    """Stop the embedded stack (its data stays under .whistle/)."""
    with _reported():
        settings = _settings()
        devstack.down(settings)
    if as_json:
        output.print_json({"stopped": True, "home": str(settings.home)})
    else:
        output.console.print(f"embedded stack under {settings.home} stopped")


@dev_app.command("status")
def dev_status(as_json: JsonFlag = False) -> None:
    """Which embedded servers run (JSON)."""
    output.print_json(devstack.status(_settings()))


@app.command()
def worker() -> None:
    """Run a worker: poll the task queue with the workflow and its activities until Ctrl-C."""
    from worker import run_worker

    with _reported():
        settings = _settings(logging=False)  # run_worker configures it
        asyncio.run(run_worker(settings))


@app.command()
def demo() -> None:
    """File the seed scenarios under a seconds-scale policy and drive them live (runs its own worker)."""
    from whistle.demo import run_demo

    with _reported():
        settings = _settings(logging=False)  # the demo keeps its screen quiet
        asyncio.run(run_demo(settings))


@app.command("codec-server")
def codec_server(
    host: Annotated[
        str, typer.Option("--host", envvar="WHISTLE_CODEC_HOST", help="Address to bind (a container: 0.0.0.0).")
    ] = "127.0.0.1",
) -> None:
    """Decrypt payloads for the Temporal UI: the codec server on HOST:WHISTLE_CODEC_PORT until Ctrl-C.

    `whistle dev up` already runs one for the embedded stack; this is for a Temporal started otherwise.
    """
    from whistle.codec_server import serve

    with _reported():
        settings = _settings()
        output.console.print(f"codec server on http://{host}:{settings.codec_port} (Ctrl-C stops it)")
        serve(settings, host)


def main() -> None:
    """The console script. It leaves through ``os._exit`` once the output is flushed: in a short-lived process
    the Temporal client's Rust threads can abort CPython's own teardown (temporalio/sdk-python#300)."""
    code = 1
    try:
        app()
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else int(done.code is not None)
        if isinstance(done.code, str):
            print(done.code, file=sys.stderr)
    except BaseException:
        sys.excepthook(*sys.exc_info())  # typer's, as an uncaught exception would have shown it
    finally:
        with suppress(OSError):  # a closed pipe (`| head`) must not keep us from leaving
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


from whistle import cli_practice  # noqa: E402, F401  (registers its commands on ``app``)
