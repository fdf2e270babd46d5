"""The glue the CLI and the demo share: resolve the stack, connect, ask a case, read an intake.

``devstack.up`` finds (or starts) the embedded servers unless ``TEMPORAL_ADDRESS`` / ``DATABASE_URL`` point
elsewhere; the session then holds a ``WhistleClient`` built from the same settings.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
import yaml
from pydantic import ValidationError
from temporalio.service import RPCError

from activities.event_store import Pool, apply_migrations, create_pool
from activities.log import configure_logging
from cli import output
from schemas.errors import CommandRejected
from schemas.intake import ComplaintIntake
from schemas.org import OrgDirectory
from whistle import devstack
from whistle.client import CaseNotFound, WhistleClient
from whistle.codec import CodecKeyError
from whistle.connection import connect_temporal
from whistle.places import fill_place
from whistle.settings import Settings

T = TypeVar("T")

WORKER_TIMEOUT = 30.0
"""Seconds to wait for a worker to answer an Update or a query before saying none seems to run."""


class InvalidInput(Exception):
    """Input that is wrong before any model sees it (unreadable file, conflicting flags), as ``field: reason``."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")


class NoWorker(Exception):
    """Nothing answered an Update or a query in time: most likely no worker polls the task queue."""

    def __init__(self, task_queue: str) -> None:
        super().__init__(
            f"worker: nothing answered within {WORKER_TIMEOUT:.0f}s on task queue {task_queue!r}; start "
            "`whistle worker` (a command already sent is applied once a worker polls)"
        )


@dataclass(frozen=True)
class Session:
    """Where the servers are, and the SDK client talking to them."""

    stack: devstack.StackInfo
    client: WhistleClient


async def open_session(settings: Settings) -> Session:
    """Bring the stack up (or find it) and connect a ``WhistleClient`` with the settings' org and policy."""
    stack = await asyncio.to_thread(devstack.up, settings)
    temporal = await connect_temporal(stack.temporal_address, stack.namespace, settings=settings)
    return Session(stack, WhistleClient.from_settings(temporal, settings, database_url=stack.database_url))


async def open_temporal_client(settings: Settings) -> WhistleClient:
    """A ``WhistleClient`` for what needs Temporal alone: the embedded PostgreSQL is not brought up (its client has
    a database only when ``DATABASE_URL`` names one, and then only connects to it if asked to)."""
    temporal_info = await asyncio.to_thread(devstack.up_temporal, settings)
    temporal = await connect_temporal(temporal_info.temporal_address, temporal_info.namespace, settings=settings)
    return WhistleClient.from_settings(temporal, settings)


def ask(
    settings: Settings,
    question: Callable[[WhistleClient], Awaitable[T]],
    *,
    worker: bool = True,
    database: bool = True,
) -> tuple[WhistleClient, T]:
    """Connect and ask, from synchronous code. ``worker``: the answer needs one, so give up after a while.
    ``database``: the question needs PostgreSQL (filing, reports); without it only Temporal is brought up."""

    async def asking() -> tuple[WhistleClient, T]:
        client = (await open_session(settings)).client if database else await open_temporal_client(settings)
        if not worker:
            return client, await question(client)
        try:
            return client, await asyncio.wait_for(question(client), WORKER_TIMEOUT)
        except TimeoutError:
            raise NoWorker(settings.task_queue) from None

    return asyncio.run(asking())


def read_intake(source: str, directory: OrgDirectory | None = None) -> ComplaintIntake:
    """An intake from a JSON or YAML file, or stdin for ``-``; ``reported_at`` defaults to now, and with
    ``directory`` the community and grid to the grid holding the location's coordinates."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidInput("file", f"{source}: {error.strerror}") from None
    return parse_intake(text, datetime.now(UTC), source="stdin" if source == "-" else source, directory=directory)


def parse_intake(
    text: str, now: datetime, *, source: str = "input", directory: OrgDirectory | None = None
) -> ComplaintIntake:
    """An intake from JSON or YAML text; ``reported_at`` defaults to ``now``, and with ``directory`` an intake that
    names no grid is placed by its coordinates (``whistle/places.py``)."""
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise InvalidInput("file", f"{source} is not JSON or YAML ({str(error).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise InvalidInput("file", f"{source} does not hold a JSON or YAML mapping")
    if directory is not None:
        data = fill_place(data, directory)
    return ComplaintIntake.model_validate({"reported_at": now, **data})


async def start_stack(settings: Settings) -> devstack.StackInfo:
    """``devstack.up`` and the event store's migrations: what ``whistle dev up`` does."""
    stack = await asyncio.to_thread(devstack.up, settings)
    pool = await create_pool(stack.database_url)
    try:
        await apply_migrations(pool)
    finally:
        await pool.close()
    return stack


def load_settings(*, logging: bool = True) -> Settings:
    """The environment's settings; logging goes to stderr so stdout stays clean for ``--json``."""
    settings = Settings()
    if logging:
        configure_logging(settings.log_format, settings.log_level)
    return settings


@contextmanager
def reported() -> Iterator[None]:
    """Errors a user can cause become one line on stderr and a non-zero exit, never a traceback."""
    try:
        yield
    except CommandRejected as error:
        fail(f"rejected: {error}", 1)
    except CaseNotFound as error:
        fail(f"not found: {error}", 1)
    except ValidationError as error:
        fail(f"invalid: {output.validation_message(error)}", 2)
    except InvalidInput as error:
        fail(f"invalid: {error}", 2)
    except (NoWorker, RPCError, RuntimeError, CodecKeyError) as error:
        fail(f"error: {error}", 1)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None  # Ctrl-C: quietly, with the shell's usual code


def fail(message: str, code: int) -> NoReturn:
    """End a CLI command with ``message`` as one line on stderr and exit code ``code``."""
    typer.echo(message.replace("\n", " "), err=True)
    raise typer.Exit(code)


async def open_pool(settings: Settings) -> Pool:
    """A pool on the configured database (the embedded stack brought up when none is), migrated."""
    stack = await asyncio.to_thread(devstack.up, settings)
    pool = await create_pool(stack.database_url)
    await apply_migrations(pool)
    return pool


@contextmanager
def reported_settings(*failures: type[BaseException]) -> Iterator[Settings]:
    """The environment's settings, logging configured; a bad setting or one of ``failures`` ends the command with
    one line on stderr and a non-zero exit, never a traceback."""
    try:
        settings = Settings()
        configure_logging(settings.log_format, settings.log_level)
        yield settings
    except ValidationError as error:
        fail(f"invalid: {output.validation_message(error)}", 2)
    except failures as error:
        fail(f"error: {error}", 1)
