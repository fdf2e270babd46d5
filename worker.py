"""``python worker.py`` (or ``whistle worker``): poll the task queue with the workflow and its activities.

Run as many of these as the load needs, on as many machines; Temporal spreads the work between them.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.envconfig import ClientConfigProfile
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.dispatch import Dispatcher
from activities.erasure import Retention
from activities.event_store import Pool, apply_migrations, create_pool
from activities.files import load_policy
from activities.log import configure_logging, get_logger
from activities.reports import ReportActivities
from activities.resident_templates import TemplateProblem
from activities.store import BatchStore
from schemas.policy import RetentionRule
from whistle import devstack
from whistle.codec import CodecKeyError, codec_for
from whistle.connection import client_profile, connect_temporal, on_temporal_cloud
from whistle.resident_channels import resident_deliverers
from whistle.schedules import SCHEDULES
from whistle.settings import Settings
from workflows.complaint import ComplaintWorkflow
from workflows.report import DailyReportWorkflow
from workflows.retention import RetentionWorkflow

WORKFLOWS: Sequence[type] = (ComplaintWorkflow, DailyReportWorkflow, RetentionWorkflow)

WORKER_TUNING: dict[str, Any] = {
    "workflow_runner": SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules("pydantic", "pydantic_core")
    ),
}
"""Worker options beyond the defaults; the benchmark's baseline worker uses the same, so ratios stay fair.

The determinism guard is on: each workflow module (``workflows/complaint.py``, ``report.py``, ``retention.py``) is
imported afresh in Temporal's sandbox for every run, so a call to the clock, randomness or I/O in it is refused
(``tests/test_determinism.py``). The pure domain it imports inside ``workflow.unsafe.imports_passed_through()``
(schemas, the decider and the fold) is passed through, imported once per process: the sandbox cannot watch it,
so ruff's banned-API rule refuses the clock, randomness, the environment and I/O in ``schemas/`` and
``workflows/`` (``pyproject.toml``). pydantic is passed through so models are built once per process."""


def build_worker(
    client: Client,
    task_queue: str,
    pool: Pool,
    *,
    shutdown_grace: float = 30.0,
    retention: RetentionRule | None = None,
    resident_receivers: Sequence[str] = (),
) -> Worker:
    """A worker for ``task_queue`` with every workflow and activity Whistle has; ``retention`` is the policy's rule
    for residents' data (None: the retention run anonymises nothing). Notifications are not among them: the
    dispatcher beside the worker delivers them from the outbox the ``store`` activity fills, the reporter's moments
    for each of ``resident_receivers`` (the residents' channels that are on) too."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(WORKFLOWS),
        activities=[
            BatchStore(pool, resident_receivers=resident_receivers).store,
            ReportActivities(pool).store_report_snapshot,
            Retention(pool, retention.keep_closed_for if retention else None).anonymise_closed_cases,
        ],
        graceful_shutdown_timeout=timedelta(seconds=shutdown_grace),
        **WORKER_TUNING,
    )


async def run_worker(settings: Settings) -> None:
    """Connect (starting the embedded stack when no servers are configured), migrate, and poll until stopped."""
    configure_logging(settings.log_format, settings.log_level)
    stack = await asyncio.to_thread(devstack.up, settings)
    log = get_logger(task_queue=settings.task_queue, temporal=stack.temporal_address)
    profile = client_profile(settings)
    client = await connect_temporal(
        stack.temporal_address, stack.namespace, settings=settings, metrics_port=settings.metrics_port, patience=300,
        profile=profile,
    )  # fmt: skip
    if client.data_converter.payload_codec is None:
        log.warning("payloads are not encrypted (WHISTLE_ALLOW_PLAINTEXT=true): set WHISTLE_CODEC_KEYS for real cases")
    if settings.temporal_address is not None:  # the embedded dev server has them from devstack.up
        await register_search_attributes_if_allowed(client, settings, profile, log)
    pool = await create_pool(stack.database_url)
    try:
        await apply_migrations(pool)
        for nightly in SCHEDULES:
            await nightly.ensure(client, settings.task_queue)
        async with httpx.AsyncClient() as http:
            try:
                residents = resident_deliverers(settings, pool, http)
            except TemplateProblem as error:  # an edited resident template that does not render: stop now
                raise SystemExit(f"error: resident template {error}") from None
            worker = build_worker(
                client, settings.task_queue, pool, shutdown_grace=settings.shutdown_grace,
                retention=load_policy(settings.policy).retention, resident_receivers=list(residents),
            )  # fmt: skip
            stop_on_signals(worker, log)
            log.info("worker polling")
            # The dispatcher stops once the worker has (its in-flight activities may still enqueue), after
            # the POST it has in flight; what it claimed and did not send is due again at once for the others.
            async with Dispatcher(pool, settings.webhook_url, http, residents=residents).running():
                await worker.run()
            log.info("worker stopped")
    finally:
        await pool.close()


async def register_search_attributes_if_allowed(
    client: Client, settings: Settings, profile: ClientConfigProfile, log: Any
) -> bool:
    """Add the search attributes the namespace lacks where the server lets a worker do so; True if it tried and
    succeeded. Not on Temporal Cloud (unless ``register_search_attributes`` says so): only ``tcld`` or the Cloud UI
    create them there. A server that refuses (its authorizer answers PermissionDenied) gets one log line naming
    what to create, and the worker goes on: cases run, but the UI's filters on them stay empty until they exist.
    """
    allowed = settings.register_search_attributes
    if allowed is None:
        allowed = not on_temporal_cloud(settings.temporal_address, profile)
    if not allowed:
        log.info("search attributes left to the operator (Temporal Cloud, or WHISTLE_REGISTER_SEARCH_ATTRIBUTES)")
        return False
    try:
        await devstack.register_search_attributes(client, client.namespace)
    except RPCError as error:
        if error.status not in (RPCStatusCode.PERMISSION_DENIED, RPCStatusCode.UNAUTHENTICATED):
            raise
        log.warning(
            "search attributes not registered: the server refused (create them as an admin, see README "
            "'Temporal Cloud'; or set WHISTLE_REGISTER_SEARCH_ATTRIBUTES=false)",
            error=error.message, needed=devstack.search_attribute_spec(),
        )  # fmt: skip
        return False
    return True


def stop_on_signals(worker: Worker, log: Any) -> None:
    """SIGTERM (a deployment's stop) or SIGINT: stop polling, let what is in flight finish within the grace period.

    The workflow tasks and activities the worker holds complete and are recorded instead of timing out on the
    server and running again elsewhere; past ``shutdown_grace`` activities are cancelled and retried by Temporal.
    """
    loop = asyncio.get_running_loop()
    stopping: list[asyncio.Task[None]] = []  # held so the task is not collected; one shutdown however many signals

    def stop(signum: signal.Signals) -> None:
        if not stopping:
            log.info("worker stopping", signal=signum.name)
            stopping.append(loop.create_task(worker.shutdown()))

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop, signum)


def main() -> None:
    settings = Settings()
    try:
        # Refuse before anything: no server named where the embedded stack may not start (the image), or a real
        # server without keys (and no WHISTLE_ALLOW_PLAINTEXT).
        devstack.require_servers(settings)
        codec_for(settings)
    except (devstack.ServersNotConfigured, CodecKeyError) as error:
        raise SystemExit(f"error: {error}") from None
    asyncio.run(run_worker(settings))


if __name__ == "__main__":
    main()
