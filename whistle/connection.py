"""The one way Whistle connects to Temporal: the pydantic data converter, the payload codec, the namespace, and
for a real server the transport of the SDK's client profile (TLS, mTLS, an API key, gRPC headers).

The worker, the SDK client (and so the CLI, the demo and the gateway) all connect here, so they all
encrypt and decrypt with the same keys (``whistle/codec.py``) and reach the server the same way.

The transport is read by the SDK itself (``temporalio.envconfig``): the profile ``TEMPORAL_PROFILE`` (default
``default``) of the TOML file ``TEMPORAL_CONFIG_FILE`` (default ``~/.config/temporalio/temporal.toml``), overridden
by ``TEMPORAL_API_KEY``, ``TEMPORAL_TLS``, ``TEMPORAL_TLS_CLIENT_CERT_PATH``, ``TEMPORAL_TLS_CLIENT_KEY_PATH``,
``TEMPORAL_TLS_SERVER_CA_CERT_PATH``, ``TEMPORAL_TLS_SERVER_NAME`` and ``TEMPORAL_GRPC_META_<NAME>``. Which server
and namespace stay Whistle's settings (``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``, the same variables the SDK
reads); the embedded dev server (no ``TEMPORAL_ADDRESS``) is always reached in plain text on loopback.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Mapping, Sequence
from typing import Any

from temporalio.client import Client, Interceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, PayloadCodec
from temporalio.envconfig import ClientConfigProfile
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from whistle.codec import codec_for
from whistle.settings import Settings
from whistle.tracing import tracing_interceptor

CLOUD_DOMAINS = (".tmprl.cloud", ".api.temporal.io")
"""Temporal Cloud's namespace endpoints (mTLS) and regional endpoints (API keys)."""


class ProfileMismatch(RuntimeError):
    """The client profile names another server or namespace than Whistle's settings: which one is meant?"""


def client_profile(settings: Settings | None, environ: Mapping[str, str] | None = None) -> ClientConfigProfile:
    """The SDK's client profile for the real server ``settings`` name; empty for the embedded dev server.

    ``environ``: the variables to read instead of the process's (tests); the profile file is found through them too.
    """
    if settings is None or settings.temporal_address is None:
        return ClientConfigProfile()
    return ClientConfigProfile.load(override_env_vars=environ)


def on_temporal_cloud(address: str | None, profile: ClientConfigProfile) -> bool:
    """Temporal Cloud, as far as the client can tell: an API key, or one of Cloud's endpoints."""
    host = (address or "").rsplit(":", 1)[0].lower()
    return profile.api_key is not None or host.endswith(CLOUD_DOMAINS)


def transport(address: str, namespace: str, profile: ClientConfigProfile) -> dict[str, Any]:
    """``Client.connect`` options from the profile: TLS (and a client certificate), the API key, gRPC headers.

    An address or namespace in the profile must agree with Whistle's: the profile file could otherwise send the
    worker to one namespace and the CLI to another.
    """
    for name, ours, theirs in (("address", address, profile.address), ("namespace", namespace, profile.namespace)):
        if theirs is not None and theirs != ours:
            raise ProfileMismatch(
                f"temporal: the client profile's {name} is {theirs!r} but Whistle's is {ours!r} "
                f"(set TEMPORAL_{name.upper()} to the one meant)"
            )
    options: dict[str, Any] = dict(profile.to_client_connect_config())
    options.pop("target_host", None)
    options.pop("namespace", None)
    return options


def data_converter(codec: PayloadCodec | None) -> DataConverter:
    """Pydantic payloads; with a codec, encrypted payloads and failures (messages and stack traces too,
    since an error may quote what it failed on)."""
    if codec is None:
        return pydantic_data_converter
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


async def connect_temporal(
    address: str,
    namespace: str,
    *,
    settings: Settings | None = None,
    codec: PayloadCodec | None = None,
    metrics_port: int | None = None,
    patience: float = 0.0,
    profile: ClientConfigProfile | None = None,
    interceptors: Sequence[Interceptor] | None = None,
) -> Client:
    """A client whose payloads are pydantic models on both ends (commands, events, views).

    The codec is ``codec`` when given, else the one ``settings`` configure (``codec_for``); with neither,
    payloads travel in plain JSON. ``patience``: seconds to keep trying while the server does not answer
    (a worker started during a Temporal restart waits for it rather than exiting); 0 fails at once.
    ``profile``: the transport (TLS, API key, headers), by default ``client_profile(settings)``. ``metrics_port``:
    the SDK's Prometheus endpoint, on ``settings.metrics_host`` (loopback unless set). ``interceptors``: by
    default the tracing one when ``settings.tracing`` asks for it; a worker built on the client inherits them.
    """
    if codec is None and settings is not None:
        codec = codec_for(settings)
    if profile is None:
        profile = client_profile(settings)
    if interceptors is None:
        tracing = tracing_interceptor(settings) if settings is not None else None
        interceptors = [tracing] if tracing is not None else []
    runtime = None
    if metrics_port is not None:
        host = settings.metrics_host if settings is not None else "127.0.0.1"
        bind = f"[{host}]:{metrics_port}" if ":" in host else f"{host}:{metrics_port}"
        telemetry = TelemetryConfig(metrics=PrometheusConfig(bind_address=bind))
        runtime = Runtime(telemetry=telemetry)
    converter = data_converter(codec)
    options = transport(address, namespace, profile)
    give_up = time.monotonic() + patience
    delay = 0.5
    while True:
        try:
            return await Client.connect(
                address, namespace=namespace, data_converter=converter, runtime=runtime, interceptors=interceptors,
                **options,
            )  # fmt: skip
        except RuntimeError:  # "Failed client connect": nothing listens there (yet)
            if time.monotonic() + delay > give_up:
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
