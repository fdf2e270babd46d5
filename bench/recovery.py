"""A worker's recovery from SIGKILL with many open cases: cheap commands at a steady rate before and after it.

A note on the record (``RecordNote``, 工作备注, by a hotline operator) is the command: valid in any stage of an open
case, one event, no clock moved, so its latency is the round trip of one Update and one ``store`` batch, plus the
replay of the case's history whenever the worker does not hold it. The commands go to random open cases at a
steady open-loop rate (one every ``1 / rate`` seconds, whether or not earlier ones were answered), first for the
``usual`` seconds that set the usual p99, then through the kill and the start of a new worker process (whose
cache is empty) until a rolling window of commands is answered at that p99 again.

The window is ``window`` consecutive commands by send time, all sent after the kill; the worker has recovered when
such a window's p99 is at most the usual p99, and the time to recovery runs from the kill (the new worker is
started at the same moment) until the last command of the first such window is answered. A command that fails
counts as never answered, so no window holding one qualifies, and every failure is counted with its error.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from bench.lifecycle import percentile
from bench.stack import BenchStack, WorkerProcesses, worker_processes
from schemas.commands import RecordNote
from tests.domain_fixtures import operator
from whistle.client import WhistleClient

NOTE = "电话联系居民，告知办理进度"
SEED = 20261219


@dataclass(frozen=True)
class Answer:
    """One command: when it was sent (seconds from the start of sending), its latency, or why it failed."""

    sent: float
    latency: float | None
    error: str | None = None

    @property
    def answered_at(self) -> float:
        return self.sent + (self.latency if self.latency is not None else float("inf"))


@dataclass(frozen=True)
class Recovered:
    """The first window answered at the usual p99: seconds from the restart until its first command was sent and
    until its last answer came, and its p99."""

    window_sent: float
    window_answered: float
    p99: float


def latencies(answers: list[Answer]) -> list[float]:
    """The answers' latencies, a failure as infinitely late."""
    return [answer.latency if answer.latency is not None else float("inf") for answer in answers]


def recovery(answers: list[Answer], restart: float, usual_p99: float, window: int) -> Recovered | None:
    """The first ``window`` consecutive commands (in send order), all sent at or after ``restart``, whose p99 is at
    most ``usual_p99``; None if no window of the run was."""
    after = sorted((answer for answer in answers if answer.sent >= restart), key=lambda answer: answer.sent)
    for first in range(len(after) - window + 1):
        chosen = after[first : first + window]
        p99 = percentile(latencies(chosen), 0.99)
        if p99 <= usual_p99:
            answered = max(answer.answered_at for answer in chosen)
            return Recovered(chosen[0].sent - restart, answered - restart, p99)
    return None


async def at_steady_rate(
    rate: float, send: Callable[[int], Coroutine[Any, Any, None]], stop: asyncio.Event
) -> list[asyncio.Task[None]]:
    """Start ``send(n)`` every ``1 / rate`` seconds until ``stop`` is set, however long earlier ones take."""
    started = time.perf_counter()
    running: list[asyncio.Task[None]] = []
    number = 0
    while not stop.is_set():
        running.append(asyncio.create_task(send(number)))
        number += 1
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, started + number / rate - time.perf_counter()))
    return running


async def first_poll(temporal: Client, task_queue: str, pid: int, within: float = 180.0) -> float | None:
    """Seconds until a worker with ``pid`` (the SDK's identity is ``pid@host``) polls ``task_queue``."""
    started = time.perf_counter()
    while time.perf_counter() - started < within:
        described = await temporal.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=temporal.namespace,
                task_queue=TaskQueue(name=task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
        )
        if any(poller.identity.startswith(f"{pid}@") for poller in described.pollers):
            return time.perf_counter() - started
        await asyncio.sleep(0.2)
    return None


@dataclass(frozen=True)
class RecoveryOptions:
    rate: float
    usual: float
    window: int
    after: float
    after_max: float
    give_up: float


async def measure_recovery(
    stack: BenchStack, client: WhistleClient, task_queue: str, worker: WorkerProcesses, ids: list[str],
    options: RecoveryOptions,
) -> dict[str, Any]:  # fmt: skip
    """Commands at ``options.rate`` for ``options.usual`` seconds, SIGKILL the worker and start a new one, and keep
    sending until the rolling window is back at the usual p99 (at least ``after`` seconds, at most ``after_max``)."""
    choose = random.Random(SEED)
    answers: dict[int, Answer] = {}
    started = time.perf_counter()

    async def send(number: int) -> None:
        complaint_id = choose.choice(ids)
        sent = time.perf_counter() - started
        try:
            note = RecordNote(actor=operator(), note=NOTE)
            await asyncio.wait_for(client.execute(complaint_id, note), options.give_up)
            answers[number] = Answer(sent, time.perf_counter() - started - sent)
        except TimeoutError:
            answers[number] = Answer(sent, None, f"no answer within {options.give_up:.0f} s")
        except Exception as error:  # counted and reported: a lost command must not pass unseen
            answers[number] = Answer(sent, None, f"{type(error).__name__}: {str(error)[:160]}")

    stop = asyncio.Event()
    sending = asyncio.create_task(at_steady_rate(options.rate, send, stop))
    await asyncio.sleep(options.usual)
    usual = [answer.latency for answer in answers.values() if answer.latency is not None]  # answered before the kill
    usual_p99 = percentile(usual, 0.99)
    os.kill(worker.pids[0], signal.SIGKILL)
    restart = time.perf_counter() - started
    async with worker_processes(stack, client.temporal, task_queue) as replacement:
        polling = asyncio.create_task(first_poll(client.temporal, task_queue, replacement.pids[0]))
        while True:
            await asyncio.sleep(1.0)
            elapsed = time.perf_counter() - started - restart
            if elapsed >= options.after_max or (
                elapsed >= options.after and _latest_window_recovered(answers, restart, usual_p99, options.window)
            ):
                break
        stop.set()
        sent = await sending
        await asyncio.gather(*sent)
        polled_after = await polling
    every = [answers[number] for number in sorted(answers)]
    found = recovery(every, restart, usual_p99, options.window)
    after_kill = [answer for answer in every if answer.answered_at > restart]
    until = restart + (found.window_answered if found else float("inf"))
    meanwhile = [answer for answer in after_kill if answer.sent < until]
    failures = Counter(answer.error for answer in every if answer.error is not None)
    return {
        "rate": options.rate,
        "window": options.window,
        "usual_s": options.usual,
        "usual": {"commands": len(usual), "p50": percentile(usual, 0.5), "p99": usual_p99},
        "new_worker_polling_s": polled_after,
        "first_answer_after_restart_s": min(
            (answer.answered_at - restart for answer in every if answer.sent >= restart and answer.latency is not None),
            default=None,
        ),
        "recovered": None if found is None else
            {"window_sent_s": found.window_sent, "window_answered_s": found.window_answered, "p99": found.p99},
        "worst_until_recovered_s": max(latencies(meanwhile), default=0.0),
        "worst_after_kill_s": max(latencies(after_kill), default=0.0),
        "commands": len(every),
        "commands_after_kill": sum(1 for answer in every if answer.sent >= restart),
        "failed": sum(failures.values()),
        "failures": dict(failures),
        "seconds_after_kill": time.perf_counter() - started - restart,
        "per_10s_after_kill": _per_interval(every, restart, 10.0),
    }  # fmt: skip


def _latest_window_recovered(answers: dict[int, Answer], restart: float, usual_p99: float, window: int) -> bool:
    """Whether the latest ``window`` commands answered in a row (every one before them answered too) were sent after
    the restart and answered at the usual p99: the run may stop, ``recovery`` then finds the first such window."""
    settled = 0
    while settled in answers:
        settled += 1
    latest = [answers[number] for number in range(max(0, settled - window), settled)]
    return len(latest) == window and latest[0].sent >= restart and percentile(latencies(latest), 0.99) <= usual_p99


def _per_interval(answers: list[Answer], restart: float, seconds: float) -> list[dict[str, float]]:
    """p50, p99 and the worst latency of the commands sent in each ``seconds`` after the restart (the curve back)."""
    buckets: dict[int, list[Answer]] = {}
    for answer in answers:
        if answer.sent >= restart:
            buckets.setdefault(int((answer.sent - restart) // seconds), []).append(answer)
    return [
        {"from_s": number * seconds, "commands": len(bucket), "p50": percentile(latencies(bucket), 0.5),
         "p99": percentile(latencies(bucket), 0.99), "max": max(latencies(bucket))}
        for number, bucket in sorted(buckets.items())
    ]  # fmt: skip


def section_rows(found: dict[str, Any], cases: int) -> list[str]:
    """The recovery's part of ``bench/storm.section``."""
    usual, back = found["usual"], found["recovered"]
    back_text = (
        f"{back['window_answered_s']:.1f} s after the SIGKILL (its first command sent at {back['window_sent_s']:.1f} "
        f"s; window p99 {back['p99'] * 1000:.0f} ms)"
        if back else f"not within the {found['seconds_after_kill']:.0f} s measured"
    )  # fmt: skip
    polled = found["new_worker_polling_s"]
    return [
        "",
        f"Recovery, after the storm with the {cases:,} cases still open (escalated, at report-in): a note on the "
        f"record (工作备注) to a random open case {found['rate']:g} times a second, open-loop, for "
        f"{found['usual_s']:.0f} s, then the worker is killed (SIGKILL) and a new one started at once (an empty "
        "cache: each case replays its history on its first command), and the commands go on at the same rate. "
        f"Back at the usual p99 means a window of {found['window']} consecutive commands, all sent after the kill, "
        "whose p99 is at most the usual p99; the time runs until the window's last answer.",
        "",
        "| figure | value |",
        "| --- | --- |",
        f"| usual latency p50 / p99 (ms) | {usual['p50'] * 1000:.0f} / {usual['p99'] * 1000:.0f} "
        f"({usual['commands']} commands) |",
        f"| back at the usual p99 | {back_text} |",
        f"| worst latency until then / after the kill at all | {found['worst_until_recovered_s']:.1f} s / "
        f"{found['worst_after_kill_s']:.1f} s |",
        f"| new worker polling / first answer to a command sent after the kill | "
        f"{'not seen' if polled is None else f'{polled:.1f} s'} / {found['first_answer_after_restart_s'] or 0:.1f} s |",
        f"| commands failed (of all sent) | {found['failed']} of {found['commands']:,}"
        + "".join(f"; {count} × {error}" for error, count in found["failures"].items()) + " |",
    ]  # fmt: skip
