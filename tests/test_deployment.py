"""The compose stack and the worker image, checked by reading them: no Docker engine is needed.

What a reviewer of ``docker-compose.yml`` and ``Dockerfile`` cares about: the services exist and start in
the right order, Temporal runs on the PostgreSQL, Whistle's event store has a database of its own, every
custom search attribute the workflow upserts is registered with its type, every ``${VAR:-default}`` has a
default, and the worker is configured only with variables ``Settings`` actually reads. When the
``docker compose`` plugin is installed, it validates the file too; otherwise that one test is skipped.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import AliasChoices
from temporalio.api.enums.v1 import IndexedValueType

from whistle.settings import Settings
from workflows.search_attributes import ALL_KEYS

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"

POSTGRES, TEMPORAL, UI, SEARCH_ATTRIBUTES, WORKER, MIGRATE = (
    "postgres",
    "temporal",
    "temporal-ui",
    "temporal-search-attributes",
    "worker",
    "whistle-migrate",
)

# Compose interpolation: `$$` is a literal `$`; `${NAME:-default}`, `${NAME}` and `$NAME` are variables.
_DOLLAR = re.compile(r"\$\$|\$\{(?P<braced>[^}]*)\}|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)|(?P<stray>\$)")
_WITH_DEFAULT = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*):-(?P<default>.+)")


# --- reading the files -------------------------------------------------------------------------------


@cache
def raw_compose() -> dict[str, Any]:
    """docker-compose.yml as written, variables not substituted."""
    loaded = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _strings(node: Any) -> Iterator[str]:
    """Every string value in a parsed YAML tree (compose interpolates values, not keys)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def _substitute_defaults(text: str) -> str:
    """``text`` as compose renders it with no variable set: ``${NAME:-default}`` becomes its default.

    A variable without a default becomes empty, as compose does; ``test_every_variable_has_a_default``
    is the one that fails for it.
    """

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        with_default = _WITH_DEFAULT.fullmatch(match.group("braced") or "")
        return "" if with_default is None else with_default.group("default")

    return _DOLLAR.sub(replace, text)


def _interpolated(node: Any) -> Any:
    if isinstance(node, str):
        return _substitute_defaults(node)
    if isinstance(node, dict):
        return {key: _interpolated(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_interpolated(item) for item in node]
    return node


@cache
def compose() -> dict[str, Any]:
    """docker-compose.yml as compose would run it with nothing set in the environment."""
    rendered = _interpolated(raw_compose())
    assert isinstance(rendered, dict)
    return rendered


def service(name: str, *, raw: bool = False) -> dict[str, Any]:
    services = (raw_compose() if raw else compose())["services"]
    assert name in services, f"docker-compose.yml has no service {name!r}"
    found = services[name]
    assert isinstance(found, dict)
    return found


def environment(name: str, *, raw: bool = False) -> dict[str, str | None]:
    """A service's environment as a dict, from either compose syntax; None means passed through if set."""
    env = service(name, raw=raw).get("environment", {})
    if isinstance(env, list):
        pairs = (item.split("=", 1) if "=" in item else (item, None) for item in env)
        return {key: value for key, value in pairs}
    assert isinstance(env, dict)
    return {key: None if value is None else str(value) for key, value in env.items()}


def depends_on(name: str) -> dict[str, str]:
    """A service's dependencies and the condition it waits for (``service_started`` for the short form)."""
    deps = service(name).get("depends_on", {})
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {dep: spec.get("condition", "service_started") for dep, spec in deps.items()}


def host_mounts(name: str) -> dict[str, Path]:
    """Bind mounts of a service: container path -> host path (named volumes left out)."""
    mounts: dict[str, Path] = {}
    for volume in service(name).get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume["source"], volume["target"]
        if source.startswith((".", "/")):
            mounts[target] = (ROOT / source).resolve()
    return mounts


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    instructions = []
    for text in logical:
        keyword, _, arguments = text.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def _exec_or_shell(arguments: str) -> list[str]:
    return [str(part) for part in json.loads(arguments)] if arguments.startswith("[") else shlex.split(arguments)


def cli_type(indexed_value_type: int) -> str:
    """The name ``temporal operator search-attribute create --type`` takes: KEYWORD_LIST -> KeywordList."""
    proto_name = IndexedValueType.Name(IndexedValueType.ValueType(indexed_value_type))
    name = proto_name.removeprefix("INDEXED_VALUE_TYPE_")
    return "".join(part.capitalize() for part in name.split("_"))


def registered_search_attributes(script: str) -> dict[str, str]:
    """Name -> type from every ``temporal operator search-attribute create`` in a shell script."""
    found: dict[str, str] = {}
    for line in script.replace("\\\n", " ").splitlines():
        if "search-attribute create" not in line:
            continue
        tokens = shlex.split(line, comments=True)
        flags: list[tuple[str, str]] = []
        index = 0
        while index < len(tokens):
            token = tokens[index]
            if token.startswith("--") and "=" in token:
                flag, value = token.split("=", 1)
                flags.append((flag, value))
            elif token in ("--name", "--type") and index + 1 < len(tokens):
                flags.append((token, tokens[index + 1]))
                index += 1
            index += 1
        names = [value for flag, value in flags if flag == "--name"]
        types = [value for flag, value in flags if flag == "--type"]
        assert len(names) == len(types), f"unpaired --name/--type in: {line.strip()}"
        for attribute, attribute_type in zip(names, types, strict=True):
            assert attribute not in found, f"{attribute} registered twice"
            found[attribute] = attribute_type
    return found


def settings_env_names() -> set[str]:
    """Every environment variable ``Settings`` reads (case-insensitively): aliases, else prefix + field."""
    prefix = str(Settings.model_config.get("env_prefix", ""))
    names: set[str] = set()
    for field, info in Settings.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(choice for choice in alias.choices if isinstance(choice, str))
        elif isinstance(alias, str):
            names.add(alias)
        else:
            names.add(prefix + field)
    return {name.upper() for name in names}


# --- the services ------------------------------------------------------------------------------------


def test_the_stack_has_postgres_temporal_its_ui_the_search_attribute_job_and_the_worker() -> None:
    assert {POSTGRES, TEMPORAL, UI, SEARCH_ATTRIBUTES, WORKER, MIGRATE} <= set(compose()["services"])


def test_postgres_is_16_keeps_its_data_in_a_volume_and_reports_health() -> None:
    postgres = service(POSTGRES)
    assert postgres["image"].split(":")[0] == "postgres"
    assert postgres["image"].split(":")[1].split(".")[0] == "16"
    named = [v.split(":")[0] for v in postgres.get("volumes", []) if isinstance(v, str) and ":" in v]
    data_volumes = [v for v in named if v in (compose().get("volumes") or {})]
    assert data_volumes, "PostgreSQL data must live in a named volume"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])


def test_temporal_runs_on_that_postgres_once_it_is_healthy() -> None:
    temporal = service(TEMPORAL)
    assert temporal["image"].startswith("temporalio/auto-setup:")
    env = environment(TEMPORAL)
    assert env["DB"] == "postgres12"
    assert env["POSTGRES_SEEDS"] == POSTGRES
    assert env["DB_PORT"] == "5432"
    assert depends_on(TEMPORAL)[POSTGRES] == "service_healthy"
    assert "healthcheck" in temporal, "the UI, the job and the worker wait for Temporal to be healthy"
    # Same credentials as the postgres superuser, from the same variable (not two copies of a password).
    raw_postgres, raw_temporal = environment(POSTGRES, raw=True), environment(TEMPORAL, raw=True)
    assert raw_temporal["POSTGRES_USER"] == raw_postgres["POSTGRES_USER"]
    assert raw_temporal["POSTGRES_PWD"] == raw_postgres["POSTGRES_PASSWORD"]


def test_temporal_reads_the_dynamic_config_under_deploy_which_enables_workflow_updates() -> None:
    env = environment(TEMPORAL)
    path = env["DYNAMIC_CONFIG_FILE_PATH"]
    assert path is not None
    container_file = PurePosixPath("/etc/temporal") / path  # relative to the image's TEMPORAL_HOME
    mounts = host_mounts(TEMPORAL)
    assert str(container_file.parent) in mounts, f"{container_file.parent} is not mounted from deploy/"
    host_file = mounts[str(container_file.parent)] / container_file.name
    assert host_file.is_file()
    config = yaml.safe_load(host_file.read_text(encoding="utf-8"))
    # Whistle's client drives cases with execute_update.
    assert config["frontend.enableUpdateWorkflowExecution"][0]["value"] is True


def test_the_ui_serves_on_8080_and_talks_to_temporal() -> None:
    ui = service(UI)
    assert ui["image"].startswith("temporalio/ui:")
    assert environment(UI)["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert any(str(port).split(":")[-1] == "8080" for port in ui.get("ports", []))
    assert TEMPORAL in depends_on(UI)


def test_whistle_has_its_own_database_and_role_created_by_the_init_script() -> None:
    mounts = host_mounts(POSTGRES)
    assert "/docker-entrypoint-initdb.d" in mounts
    scripts = sorted(mounts["/docker-entrypoint-initdb.d"].glob("*.sql"))
    assert scripts, "no init SQL under the mounted deploy/ directory"
    sql = "\n".join(script.read_text(encoding="utf-8") for script in scripts)
    assert re.search(r"create\s+role\s+whistle\b", sql, re.IGNORECASE)
    assert re.search(r"create\s+database\s+whistle\s+owner\s+whistle\b", sql, re.IGNORECASE)
    # The password comes from the container environment, never from the file.
    assert re.search(r"\\getenv\s+\w+\s+WHISTLE_DB_PASSWORD", sql)
    assert "WHISTLE_DB_PASSWORD" in environment(POSTGRES)

    # The owner migrates; the worker logs in as a role of whistle_app, which may not read personal data.
    assert re.search(r"create\s+role\s+whistle_worker\s+login\s+password\s+\S+\s+in\s+role\s+whistle_app", sql, re.I)
    for service_name, user, variable in ((MIGRATE, "whistle", "WHISTLE_DB_PASSWORD"),
                                         (WORKER, "whistle_worker", "WHISTLE_WORKER_DB_PASSWORD")):  # fmt: skip
        url = urlsplit(environment(service_name)["DATABASE_URL"] or "")
        assert (url.scheme, url.hostname, url.port, url.path) == ("postgresql", POSTGRES, 5432, "/whistle")
        assert url.username == user != environment(POSTGRES)["POSTGRES_USER"], "no service uses the superuser"
        # The service's password and the one the init script sets come from the same variable.
        raw_url = environment(service_name, raw=True)["DATABASE_URL"] or ""
        raw_password = environment(POSTGRES, raw=True)[variable]
        assert raw_password is not None and f":{raw_password}@" in raw_url
        assert re.search(rf"\\getenv\s+\w+\s+{variable}", sql)
    assert depends_on(WORKER)[MIGRATE] == "service_completed_successfully"
    assert service(MIGRATE)["command"] == ["whistle", "migrate"]
    temporal_databases = {environment(TEMPORAL).get("DBNAME"), environment(TEMPORAL).get("VISIBILITY_DBNAME")}
    assert "whistle" not in temporal_databases


def test_the_job_registers_every_custom_search_attribute_with_its_type() -> None:
    job = service(SEARCH_ATTRIBUTES)
    assert job["image"].startswith("temporalio/admin-tools:")
    assert environment(SEARCH_ATTRIBUTES)["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert depends_on(SEARCH_ATTRIBUTES)[TEMPORAL] == "service_healthy"
    assert str(job.get("restart", "no")) == "no", "a one-shot job must not be restarted"
    entrypoint, command = job.get("entrypoint", []), job["command"]
    # `sh -c SCRIPT`: the script has to be one argument, so the command is a one-item list.
    assert isinstance(command, list) and len(command) == 1
    assert any(part.lstrip("-").endswith("c") and part.startswith("-") for part in entrypoint), entrypoint
    registered = registered_search_attributes(command[0])
    expected = {key.name: cli_type(key.indexed_value_type) for key in ALL_KEYS}
    assert registered == expected


def test_the_worker_connects_to_temporal_and_the_event_store_after_the_job_has_run() -> None:
    worker = service(WORKER)
    assert worker["build"]["context"] == "."
    env = environment(WORKER)
    assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert env["DATABASE_URL"]
    assert env["WHISTLE_LOG_FORMAT"] == "json"
    assert env["WHISTLE_METRICS_PORT"] == "9000"
    deps = depends_on(WORKER)
    assert deps[TEMPORAL] in ("service_started", "service_healthy")
    assert deps[SEARCH_ATTRIBUTES] == "service_completed_successfully"
    assert deps[POSTGRES] == "service_healthy"


def test_every_service_uses_one_namespace() -> None:
    namespaces = {
        environment(TEMPORAL)["DEFAULT_NAMESPACE"],
        environment(SEARCH_ATTRIBUTES)["TEMPORAL_NAMESPACE"],
        environment(WORKER)["TEMPORAL_NAMESPACE"],
    }
    assert namespaces == {"default"}
    raw = {
        environment(TEMPORAL, raw=True)["DEFAULT_NAMESPACE"],
        environment(SEARCH_ATTRIBUTES, raw=True)["TEMPORAL_NAMESPACE"],
        environment(WORKER, raw=True)["TEMPORAL_NAMESPACE"],
    }
    assert len(raw) == 1, f"the namespace is spelled differently: {raw}"


def test_every_variable_has_a_default() -> None:
    expressions = [match for text in _strings(raw_compose()) for match in _DOLLAR.finditer(text)]
    variables = [match for match in expressions if match.group(0) != "$$"]
    assert variables, "expected ${VAR:-default} substitution for passwords"
    for match in variables:
        assert match.group("stray") is None, "a lone `$` (write `$$` for a literal one)"
        assert match.group("bare") is None, f"{match.group(0)} has no default: write ${{NAME:-default}}"
        assert _WITH_DEFAULT.fullmatch(match.group("braced")), f"{match.group(0)} has no default"
    passwords = {
        key: value
        for name in compose()["services"]
        for key, value in environment(name, raw=True).items()
        if "PASSWORD" in key or key.endswith("_PWD")
    }
    for key, value in passwords.items():
        assert value is not None and value.startswith("${"), f"{key} is hard-coded"


def test_the_worker_sets_only_variables_settings_reads_and_they_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    known = settings_env_names()
    env = environment(WORKER)
    image_env = {
        name
        for keyword, arguments in dockerfile_instructions()
        if keyword == "ENV"
        for name, _ in (pair.split("=", 1) for pair in shlex.split(arguments))
        if name.startswith(("WHISTLE_", "TEMPORAL_", "DATABASE_"))
    }
    unknown = {name for name in set(env) | image_env if name.upper() not in known}
    assert not unknown, f"Settings does not read {sorted(unknown)}"

    for name in known:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        if value is not None:
            monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.temporal_address == "temporal:7233"
    assert settings.database_url == env["DATABASE_URL"]
    assert settings.log_format == "json"
    assert settings.metrics_port == 9000
    assert settings.webhook_url is None  # passed through only when set where compose runs


def test_the_image_is_python_311_slim_installs_the_project_and_runs_worker_py() -> None:
    instructions = dockerfile_instructions()
    bases = [arguments.split()[0] for keyword, arguments in instructions if keyword == "FROM"]
    assert bases and all(base == "python:3.11-slim" for base in bases), bases
    installs = [shlex.split(arguments) for keyword, arguments in instructions if keyword == "RUN"]
    assert any("pip" in words[0] and words[1:3] == ["install", "."] for words in installs if len(words) >= 3)
    commands = [arguments for keyword, arguments in instructions if keyword == "CMD"]
    assert commands, "the Dockerfile has no CMD"
    assert _exec_or_shell(commands[-1]) == ["python", "worker.py"]


def _compose_plugin() -> str | None:
    docker = shutil.which("docker")
    if docker is None:
        return None
    try:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return docker if probe.returncode == 0 else None


def test_docker_compose_accepts_the_file() -> None:
    docker = _compose_plugin()
    if docker is None:
        pytest.skip("the docker compose plugin is not installed")
    result = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE_FILE), "config", "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
