"""OpenTelemetry tracing through the SDK's interceptor: off by default; on, one trace from the client's call through
the workflow to its activity, the worker taking the interceptor from the client it was built on."""

from __future__ import annotations

import uuid
from datetime import date

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.testing import WorkflowEnvironment

from activities.event_store import Pool
from schemas.rates import SnapshotInput
from tests.helpers import running_worker
from whistle.connection import connect_temporal
from whistle.settings import Settings
from whistle.tracing import tracing_interceptor
from workflows.report import REPORT_WORKFLOW


def test_tracing_is_off_unless_asked_for() -> None:
    assert Settings().tracing == "off"
    assert tracing_interceptor(Settings(tracing="off")) is None
    assert tracing_interceptor(Settings(tracing="console")) is not None


async def test_a_daily_report_run_is_one_trace_from_the_start_to_its_activity(
    dev_env: WorkflowEnvironment, pool: Pool
) -> None:
    address = dev_env.client.service_client.config.target_host
    settings = Settings(temporal_address=address, allow_plaintext=True, tracing="otlp")
    spans = InMemorySpanExporter()
    interceptor = tracing_interceptor(settings, exporter=spans)
    assert interceptor is not None
    traced = await connect_temporal(address, "default", settings=settings, interceptors=[interceptor])
    async with running_worker(traced, pool) as client:  # the worker is built on the traced client, as in worker.py
        written = await traced.execute_workflow(
            REPORT_WORKFLOW,
            SnapshotInput(day=date(2025, 9, 1)),
            id=f"test-traced-report-{uuid.uuid4().hex[:8]}",
            task_queue=client.task_queue,
            result_type=int,
        )
    assert written == 3
    finished = spans.get_finished_spans()
    names = {span.name for span in finished}
    assert {
        f"StartWorkflow:{REPORT_WORKFLOW}",
        f"RunWorkflow:{REPORT_WORKFLOW}",
        "StartActivity:store_report_snapshot",
        "RunActivity:store_report_snapshot",
    } <= names, names
    assert len({span.context.trace_id for span in finished if span.context is not None}) == 1
    assert all(span.resource.attributes["service.name"] == "whistle" for span in finished)
