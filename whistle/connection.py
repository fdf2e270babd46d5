"""The one way Whistle connects to Temporal: the pydantic data converter, the configured namespace."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig


async def connect_temporal(address: str, namespace: str, *, metrics_port: int | None = None) -> Client:
    """A client whose payloads are pydantic models on both ends (commands, events, views)."""
    runtime = None
    if metrics_port is not None:
        telemetry = TelemetryConfig(metrics=PrometheusConfig(bind_address=f"0.0.0.0:{metrics_port}"))
        runtime = Runtime(telemetry=telemetry)
    return await Client.connect(
        address, namespace=namespace, data_converter=pydantic_data_converter, runtime=runtime
    )
