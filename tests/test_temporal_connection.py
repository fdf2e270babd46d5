"""Reaching a real Temporal server the way production does: TLS, mTLS and an API key from the SDK's client profile.

The dev server speaks plain gRPC, so each test puts ``tests/tls_proxy.py`` in front of it with certificates of a
throwaway CA, and connects through ``connect_temporal`` with the environment an operator would set.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import structlog
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client
from temporalio.envconfig import ClientConfigProfile
from temporalio.service import TLSConfig
from temporalio.testing import WorkflowEnvironment

from tests.ports import free_port
from tests.tls_proxy import SERVER_NAME, Pki, make_pki, tls_proxy
from whistle.connection import ProfileMismatch, client_profile, connect_temporal, on_temporal_cloud
from whistle.settings import Settings
from worker import register_search_attributes_if_allowed


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
async def tls_address(dev_env: WorkflowEnvironment, pki: Pki) -> AsyncIterator[str]:
    async with tls_proxy(dev_env.client.service_client.config.target_host, pki) as address:
        yield address


@pytest.fixture
async def mtls_address(dev_env: WorkflowEnvironment, pki: Pki) -> AsyncIterator[str]:
    async with tls_proxy(dev_env.client.service_client.config.target_host, pki, require_client_cert=True) as address:
        yield address


def real_server(address: str, namespace: str = "default") -> Settings:
    return Settings(temporal_address=address, temporal_namespace=namespace, allow_plaintext=True)


async def connect(address: str, environ: dict[str, str]) -> Client:
    """What the worker, the CLI and the gateway do, with ``environ`` as the process's environment."""
    settings = real_server(address)
    environ = {"TEMPORAL_CONFIG_FILE": "/nonexistent/temporal.toml", "TEMPORAL_ADDRESS": address, **environ}
    return await connect_temporal(address, "default", settings=settings, profile=client_profile(settings, environ))


async def answers(client: Client) -> bool:
    described = await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace="default"))
    return described.namespace_info.name == "default"


async def test_a_worker_reaches_a_tls_server_through_the_ca_and_server_name_of_its_profile(
    tls_address: str, pki: Pki
) -> None:
    client = await connect(
        tls_address, {"TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(pki.ca), "TEMPORAL_TLS_SERVER_NAME": SERVER_NAME}
    )
    assert await answers(client)
    with pytest.raises(RuntimeError, match="NotValidForName"):  # the certificate names the server, not 127.0.0.1
        await connect(tls_address, {"TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(pki.ca)})


async def test_a_server_certificate_from_an_unknown_ca_is_refused(tls_address: str) -> None:
    with pytest.raises(RuntimeError, match="UnknownIssuer"):  # the system's roots do not know the test CA
        await connect(tls_address, {"TEMPORAL_TLS": "true", "TEMPORAL_TLS_SERVER_NAME": SERVER_NAME})


async def test_with_mtls_the_client_certificate_of_the_profile_lets_the_worker_in(mtls_address: str, pki: Pki) -> None:
    trust = {"TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(pki.ca), "TEMPORAL_TLS_SERVER_NAME": SERVER_NAME}
    client = await connect(
        mtls_address,
        {
            **trust,
            "TEMPORAL_TLS_CLIENT_CERT_PATH": str(pki.client_cert),
            "TEMPORAL_TLS_CLIENT_KEY_PATH": str(pki.client_key),
        },
    )
    assert await answers(client)
    with pytest.raises(RuntimeError):
        await connect(mtls_address, trust)  # no certificate: the handshake fails


async def test_an_api_key_is_sent_over_tls_as_the_clients_bearer_token(tls_address: str, pki: Pki) -> None:
    client = await connect(
        tls_address,
        {
            "TEMPORAL_API_KEY": "whistle-test-key",
            "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(pki.ca),
            "TEMPORAL_TLS_SERVER_NAME": SERVER_NAME,
        },
    )
    assert await answers(client)  # the dev server ignores the header; Temporal Cloud checks it
    assert client.api_key == "whistle-test-key"  # sent as `authorization: Bearer whistle-test-key` on every call


def test_a_cloud_profile_becomes_tls_with_the_api_key_and_the_profiles_headers(pki: Pki) -> None:
    address = "us-east-1.aws.api.temporal.io:7233"
    environ = {
        "TEMPORAL_CONFIG_FILE": "/nonexistent/temporal.toml",
        "TEMPORAL_ADDRESS": address,
        "TEMPORAL_NAMESPACE": "whistle.abc12",
        "TEMPORAL_API_KEY": "key",
        "TEMPORAL_GRPC_META_X_TEAM": "hotline",
    }
    profile = client_profile(real_server(address, "whistle.abc12"), environ)
    connect_config = profile.to_client_connect_config()
    assert connect_config.get("api_key") == "key" and connect_config.get("tls") is True
    assert connect_config.get("rpc_metadata") == {"x-team": "hotline"}
    assert on_temporal_cloud(address, profile)
    assert on_temporal_cloud("whistle.abc12.tmprl.cloud:7233", ClientConfigProfile())
    assert not on_temporal_cloud("temporal.example.org:7233", ClientConfigProfile())


def test_a_profile_file_supplies_the_client_certificate(tmp_path: Path, pki: Pki) -> None:
    config = tmp_path / "temporal.toml"
    config.write_text(
        f'[profile.cloud]\naddress = "whistle.abc12.tmprl.cloud:7233"\nnamespace = "whistle.abc12"\n'
        f'[profile.cloud.tls]\nclient_cert_path = "{pki.client_cert}"\nclient_key_path = "{pki.client_key}"\n',
        encoding="utf-8",
    )
    environ = {"TEMPORAL_CONFIG_FILE": str(config), "TEMPORAL_PROFILE": "cloud"}
    profile = client_profile(real_server("whistle.abc12.tmprl.cloud:7233", "whistle.abc12"), environ)
    tls = profile.to_client_connect_config().get("tls")
    assert isinstance(tls, TLSConfig) and tls.client_cert == pki.client_cert.read_bytes()


async def test_a_profile_naming_another_namespace_than_whistles_is_refused(tls_address: str, pki: Pki) -> None:
    with pytest.raises(ProfileMismatch, match="TEMPORAL_NAMESPACE"):
        await connect(tls_address, {"TEMPORAL_NAMESPACE": "other", "TEMPORAL_TLS": "true"})


def test_the_embedded_dev_server_is_reached_in_plain_text_whatever_the_environment_says(pki: Pki) -> None:
    environ = {"TEMPORAL_TLS": "true", "TEMPORAL_API_KEY": "key", "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(pki.ca)}
    assert client_profile(Settings(temporal_address=None), environ) == ClientConfigProfile()


async def test_the_worker_leaves_search_attributes_to_the_operator_on_temporal_cloud(
    dev_env: WorkflowEnvironment,
) -> None:
    log = structlog.get_logger()
    cloud = Settings(temporal_address="whistle.abc12.tmprl.cloud:7233", allow_plaintext=True)
    assert not await register_search_attributes_if_allowed(dev_env.client, cloud, ClientConfigProfile(), log)
    with_key = ClientConfigProfile(api_key="key")
    self_hosted = real_server("temporal.example.org:7233")
    assert not await register_search_attributes_if_allowed(dev_env.client, self_hosted, with_key, log)
    # A self-hosted server, or an operator who says so, gets them (the dev server lets anyone add them).
    assert await register_search_attributes_if_allowed(dev_env.client, self_hosted, ClientConfigProfile(), log)
    told = cloud.model_copy(update={"register_search_attributes": True})
    assert await register_search_attributes_if_allowed(dev_env.client, told, ClientConfigProfile(), log)


def listening_on(port: int) -> set[str]:
    """The IPv4 addresses something on this machine listens on at ``port`` (from ``/proc/net/tcp``)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, local_port = local.split(":")
        if state == "0A" and int(local_port, 16) == port:  # 0A: LISTEN
            found.add(".".join(str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0)))  # little-endian
    return found


async def test_the_metrics_endpoint_listens_on_this_machine_only_unless_a_host_is_set(
    dev_env: WorkflowEnvironment,
) -> None:
    address = dev_env.client.service_client.config.target_host
    local, everywhere = free_port(), free_port()
    client = await connect_temporal(address, "default", settings=real_server(address), metrics_port=local)
    assert listening_on(local) == {"127.0.0.1"}  # while the client (and so its runtime) lives
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"http://127.0.0.1:{local}/metrics")).status_code == 200
    container = real_server(address).model_copy(update={"metrics_host": "0.0.0.0"})
    in_container = await connect_temporal(address, "default", settings=container, metrics_port=everywhere)
    assert listening_on(everywhere) == {"0.0.0.0"}
    assert await answers(client) and await answers(in_container)
    assert Settings().metrics_host == "127.0.0.1"
