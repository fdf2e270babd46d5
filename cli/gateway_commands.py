"""``whistle serve`` (the HTTP gateway) and ``whistle keys`` (its per-actor API keys).

The gateway's modules (FastAPI, uvicorn) are imported only when these commands run, so the rest of the CLI
starts as fast as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from starlette.types import ASGIApp

from activities.event_store import apply_migrations, create_pool
from activities.log import configure_logging, get_logger
from cli import output
from cli.runtime import fail, open_pool, open_session
from schemas.errors import CommandRejected
from schemas.org import OrgDirectory
from whistle.codec import CodecKeyError
from whistle.settings import Settings

keys_app = typer.Typer(help="API keys for the HTTP gateway: one per actor, stored hashed in PostgreSQL.")

ROLE_HELP = (
    "department (--department), resident (--resident), grid-worker, community-secretary, first-secretary, "
    "street-secretary, operator (--person), integrator, supervisor (--name)."
)



@contextmanager
def _reported() -> Iterator[None]:
    try:
        yield
    except CommandRejected as error:
        fail(f"invalid: {error}", 2)
    except (OSError, RuntimeError, CodecKeyError) as error:
        fail(f"error: {error}", 1)



def serve(
    host: Annotated[str, typer.Option("--host", envvar="WHISTLE_GATEWAY_HOST", help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", envvar="WHISTLE_GATEWAY_PORT", help="Port to bind.")] = 8080,
    open311_community: Annotated[
        str | None,
        typer.Option(
            "--open311-community",
            envvar="WHISTLE_OPEN311_COMMUNITY",
            help="Community for Open311 requests that name none (README, Open311).",
        ),
    ] = None,
    open311_grid: Annotated[
        str | None,
        typer.Option(
            "--open311-grid", envvar="WHISTLE_OPEN311_GRID", help="Grid for those requests (default: the first)."
        ),
    ] = None,
    open311_jurisdiction: Annotated[
        str | None,
        typer.Option(
            "--open311-jurisdiction",
            envvar="WHISTLE_OPEN311_JURISDICTION",
            help="The jurisdiction_id Open311 serves (default: the org directory's district).",
        ),
    ] = None,
) -> None:
    """Run the HTTP gateway: JSON API, Open311 GeoReport v2, dashboard; OpenAPI at /openapi.json, /docs."""
    with _reported():
        settings = Settings()
        configure_logging(settings.log_format, settings.log_level)
        asyncio.run(_serve(settings, host, port, open311_community, open311_grid, open311_jurisdiction))


async def _serve(
    settings: Settings, host: str, port: int, community: str | None, grid: str | None, jurisdiction: str | None
) -> None:
    import uvicorn

    from gateway.app import create_app
    from gateway.context import Gateway
    from gateway.guard import Throttle
    from whistle.client import WhistleClient

    session = await open_session(settings)
    _check_place(session.client.directory, community, grid)
    pool = await create_pool(
        session.stack.database_url,
        command_timeout=settings.gateway_query_timeout,
        connect_timeout=settings.gateway_check_timeout,
    )
    try:
        await apply_migrations(pool)
        base = session.client
        client = WhistleClient(
            base.temporal, task_queue=base.task_queue, directory=base.directory, policy=base.policy, pool=pool,
            photos=base.photos,
        )
        gateway = Gateway(
            client,
            pool,
            open311_community=community,
            open311_grid=grid,
            open311_jurisdiction=jurisdiction.strip() if jurisdiction and jurisdiction.strip() else None,
            check_timeout=settings.gateway_check_timeout,
            throttle=Throttle(settings.gateway_rate_per_address, settings.gateway_rate_per_key),
        )
        app = create_app(gateway, mounts=_codec(settings))
        await uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_config=None)).serve()
    finally:
        await pool.close()


def _codec(settings: Settings) -> dict[str, ASGIApp]:
    """The codec server at ``/codec`` when a JWT issuer guards it. Without one, anyone who reaches the gateway could
    decrypt payloads, so it stays off here (``whistle codec-server`` still serves the dev stack on loopback)."""
    from whistle.codec_server import codec_app

    if settings.codec_jwt_issuer is None:
        get_logger().info("codec server not mounted: set WHISTLE_CODEC_JWT_ISSUER to serve it at /codec")
        return {}
    return {"/codec": codec_app(settings)}


def _check_place(directory: OrgDirectory, community: str | None, grid: str | None) -> None:
    """The Open311 default place must exist, so a misspelt setting fails at start, not at the first request."""
    if community is None:
        if grid is not None:
            raise CommandRejected("open311_grid", "a default grid needs a default community")
        return
    found = next((c for c in directory.communities if c.code == community), None)
    if found is None:
        raise CommandRejected("open311_community", f"unknown community {community!r}")
    if grid is not None and grid not in {g.code for g in found.grids}:
        raise CommandRejected("open311_grid", f"grid {grid!r} is not in community {community}")


@keys_app.command("create")
def create(
    role: Annotated[str, typer.Option("--role", help=ROLE_HELP)],
    department: Annotated[str | None, typer.Option("--department", help="The department's code.")] = None,
    resident: Annotated[
        str | None, typer.Option("--resident", help="The resident's id (reporter.resident_id).")
    ] = None,
    person: Annotated[str | None, typer.Option("--person", help="The person's id in the org directory.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="An integrator's or supervisor's id.")] = None,
    organisation: Annotated[
        str | None,
        typer.Option(
            "--organisation",
            help="An operator's or integrator's hotline or app: its keys reach the cases it filed (default: the key's "
            "own subject).",
        ),
    ] = None,
    label: Annotated[str, typer.Option("--label", help="A note for whoever lists the keys.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a key; it is printed once and only its hash is stored."""
    from activities.files import load_directory
    from gateway.keys import create_key

    given = [value for value in (department, resident, person, name) if value]
    with _reported():
        if len(given) != 1:
            raise CommandRejected("subject", "give exactly one of --department, --resident, --person or --name")
        settings = Settings()

        async def creating() -> tuple[str, str]:
            pool = await open_pool(settings)
            try:
                return await create_key(
                    pool, load_directory(settings.org), role, given[0], label, organisation=organisation
                )
            finally:
                await pool.close()

        key_id, key = asyncio.run(creating())
    if as_json:
        output.print_json({"key_id": key_id, "key": key, "role": role, "subject": given[0]})
    else:
        output.console.print(f"key {key_id} for {role} {given[0]} (shown once, keep it safe):\n{key}")


@keys_app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Every key: id, role, subject, label, created, revoked (never the key itself)."""
    from gateway.keys import list_keys

    with _reported():
        settings = Settings()

        async def listing() -> list[dict[str, str | None]]:
            pool = await open_pool(settings)
            try:
                return [
                    {
                        "key_id": record.key_id, "role": record.role, "subject": record.subject,
                        "organisation": record.organisation, "label": record.label,
                        "created_at": record.created_at.isoformat(),
                        "revoked_at": record.revoked_at.isoformat() if record.revoked_at else None,
                    }
                    for record in await list_keys(pool)
                ]  # fmt: skip
            finally:
                await pool.close()

        records = asyncio.run(listing())
    if as_json:
        output.print_json(records)
        return
    for record in records:
        state = f"revoked {record['revoked_at']}" if record["revoked_at"] else "live"
        output.console.print(
            f"{record['key_id']}  {record['role']:<20} {record['subject']:<24} {state}  {record['label']}"
        )


@keys_app.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument(metavar="KEY_ID", help="The key's id (wh_<KEY_ID>_...).")]) -> None:
    """Revoke a key: it stops working at once."""
    from gateway.keys import revoke_key

    with _reported():
        settings = Settings()

        async def revoking() -> bool:
            pool = await open_pool(settings)
            try:
                return await revoke_key(pool, key_id)
            finally:
                await pool.close()

        if not asyncio.run(revoking()):
            fail(f"not found: no live key {key_id!r}", 1)
    output.console.print(f"key {key_id} revoked")
