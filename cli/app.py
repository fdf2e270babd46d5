"""``whistle``: file complaints, act on them, read them, and run the stack, the worker and the demo.

Every command prints JSON with ``--json`` and tables otherwise. A command the case refuses exits 1 with
one line on stderr (``rejected: <field>: <reason>``) and changes nothing; input that does not parse exits
2 with one line (``invalid: <field>: <reason>``).
"""

from __future__ import annotations

import asyncio
import os
import sys
from contextlib import suppress
from typing import Annotated

import typer

from activities.duplicates import DuplicateCandidate
from activities.event_store import apply_migrations, create_pool
from activities.files import load_directory
from cli import output
from cli.case_commands import NEEDS_WORKER, show_view
from cli.case_commands import register as register_case_commands
from cli.gateway_commands import keys_app, serve
from cli.hotspots import hotspots
from cli.notifications import notifications
from cli.opt_out import opt_out
from cli.photos import PhotoOption, photo, read_photos, with_uploads
from cli.privacy import erase, publish, unpublish
from cli.runtime import InvalidInput, ask, read_intake, start_stack
from cli.runtime import load_settings as _settings
from cli.runtime import reported as _reported
from cli.supervise import dump_candidates, duplicates, duplicates_table, ledger, list_cases, projections_app, report
from schemas.intake import ComplaintIntake
from whistle import devstack
from whistle.client import SubmitResult, WhistleClient
from whistle.places import placer_for

app = typer.Typer(
    help=(
        "Whistle (吹哨报到): durable complaint cases for community governance.\n\n"
        "Commands use TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and DATABASE_URL when set, and otherwise start "
        "(or find) the embedded stack under .whistle/. Case commands, status and history need only Temporal: "
        "they answer while PostgreSQL is down.\n\n"
        "Commands that act on a case (verify ... withdraw) and status need a worker polling the task queue: "
        "run `whistle worker` in another terminal. Only `whistle demo` runs its own.\n\n"
        "Who acts: each case command names its actor with one flag, the actor's kind: --grid-worker, "
        "--community-secretary, --first-secretary, --street-secretary, --department (the department itself), "
        "--resident or --operator (`whistle <command> --help` lists the kinds that may send it).\n\n"
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
app.command()(duplicates)
app.command()(report)
app.command()(hotspots)
app.add_typer(projections_app, name="projections")
app.command()(notifications)
app.command("opt-out")(opt_out)
app.command()(publish)
app.command()(unpublish)
app.command()(erase)
app.command("ledger")(ledger)
app.command()(photo)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
CaseId = Annotated[str, typer.Argument(metavar="ID", help="The complaint id.", show_default=False)]



@app.command()
def submit(
    source: Annotated[str, typer.Argument(metavar="FILE|-", help="Intake as JSON or YAML; - reads stdin.")] = "-",
    photo: PhotoOption = None,
    as_json: JsonFlag = False,
) -> None:
    """File a complaint; the same complaint_id twice returns the existing case (duplicate: true). Open cases that may
    report the same problem are listed as possible_duplicates (merge with `whistle merge`). An intake that names no
    grid but has location.latitude/longitude is filed in the grid holding that point."""
    with _reported():
        settings = _settings()
        intake = read_intake(source, load_directory(settings.org))
        photos = read_photos(photo)
        if photos:
            attached = [*intake.photos, *(reference for _, reference in photos)]
            intake = ComplaintIntake.model_validate(intake.model_dump() | {"photos": attached})

        async def filing(client: WhistleClient) -> tuple[SubmitResult, list[DuplicateCandidate]]:
            result = await client.submit(intake)
            return result, await client.duplicates_of(intake, exclude=result.complaint_id)

        _, (result, suggested) = ask(settings, with_uploads(photos, filing), worker=False)
    if as_json:
        output.print_json({**result.model_dump(mode="json"), "possible_duplicates": dump_candidates(suggested)})
        return
    heading = "已存在（重复提交，未新建）" if result.duplicate else "已立案"
    output.console.print(f"{heading} 编号 {result.complaint_id}  workflow {result.workflow_id}  run {result.run_id}")
    if suggested:
        output.console.print(duplicates_table(suggested, "可能重复的工单（可用 whistle merge 合并）"))


@app.command()
def place(
    latitude: Annotated[float, typer.Argument(help="Latitude (WGS84 degrees).")],
    longitude: Annotated[float, typer.Argument(help="Longitude (WGS84 degrees).")],
    as_json: JsonFlag = False,
) -> None:
    """Which community and grid (社区/网格) hold a point: where a complaint with these coordinates would be filed."""
    with _reported():
        directory = load_directory(_settings().org)
        community, grid = placer_for(directory).place(latitude, longitude)
    if as_json:
        output.print_json({"community": community, "grid": grid})
        return
    names = output.Names(directory)
    output.console.print(f"{names.of('community', community)}（{community}） {names.of('grid', grid)}（{grid}）")


@app.command(help="The case at a glance: stage, escalation, departments, next deadline." + NEEDS_WORKER)
def status(complaint_id: CaseId, as_json: JsonFlag = False) -> None:
    with _reported():
        settings = _settings()
        client, view = ask(settings, lambda client: client.status(complaint_id), database=False)
    show_view(client, view, as_json)


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
    from cli.demo import run_demo

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


register_case_commands(app)  # after submit, so `whistle --help` lists filing first


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


