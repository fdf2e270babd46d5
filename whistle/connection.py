"""The one way Whistle connects to Temporal: the pydantic data converter, the payload codec, the namespace.

The worker, the SDK client (and so the CLI, the demo and the gateway) all connect here, so they all
encrypt and decrypt with the same keys (``whistle/codec.py``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, PayloadCodec
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from whistle.codec import codec_for
from whistle.settings import Settings


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
) -> Client:
    """A client whose payloads are pydantic models on both ends (commands, events, views).

    The codec is ``codec`` when given, else the one ``settings`` configure (``codec_for``); with neither,
    payloads travel in plain JSON. ``patience``: seconds to keep trying while the server does not answer
    (a worker started during a Temporal restart waits for it rather than exiting); 0 fails at once.
    """
    if codec is None and settings is not None:
        codec = codec_for(settings)
    runtime = None
    if metrics_port is not None:
        telemetry = TelemetryConfig(metrics=PrometheusConfig(bind_address=f"0.0.0.0:{metrics_port}"))
        runtime = Runtime(telemetry=telemetry)
    converter = data_converter(codec)
    give_up = time.monotonic() + patience
    delay = 0.5
    while True:
        try:
            return await Client.connect(address, namespace=namespace, data_converter=converter, runtime=runtime)
        except RuntimeError:  # "Failed client connect": nothing listens there (yet)
            if time.monotonic() + delay > give_up:
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
