"""The storm harness's own arithmetic, without servers: moving a due into the chosen second, and when a worker is
back at the usual p99 after its restart (``bench/aligned.py``, ``bench/recovery.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bench.aligned import shift_to
from bench.recovery import Answer, recovery

INSTANT = datetime(2026, 12, 7, 9, 0, 0, tzinfo=UTC)


def test_a_due_is_moved_by_whole_seconds_into_the_instants_second_keeping_its_fraction() -> None:
    due = INSTANT - timedelta(seconds=95, microseconds=-250_000)  # 08:58:25.25
    shift = shift_to(INSTANT, due)
    assert shift == 95
    moved = due + timedelta(seconds=shift)
    assert INSTANT <= moved < INSTANT + timedelta(seconds=1)
    assert moved.microsecond == 250_000


def test_a_due_already_in_the_instants_second_or_later_cannot_be_moved() -> None:
    assert shift_to(INSTANT, INSTANT + timedelta(microseconds=999_999)) == 0
    assert shift_to(INSTANT, INSTANT + timedelta(seconds=3)) < 0


def _steady(latencies: Sequence[float | None], start: float = 0.0) -> list[Answer]:
    """One command every 0.1 s from ``start``; None is a command that failed."""
    return [
        Answer(start + number / 10, latency, None if latency is not None else "failed")
        for number, latency in enumerate(latencies)
    ]


def test_the_worker_is_back_with_the_first_window_sent_after_the_restart_answered_at_the_usual_p99() -> None:
    before = _steady([0.05] * 20)  # answered before the kill at 2.0 s: never part of a window after it
    after = _steady([5.0] * 10 + [0.05] * 30, start=2.0)
    found = recovery(before + after, restart=2.0, usual_p99=0.1, window=10)
    assert found is not None
    assert round(found.window_sent, 6) == 1.0  # the 11th command after the restart, sent 1 s after it
    assert round(found.window_answered, 6) == round(1.9 + 0.05, 6)  # its window's last command's answer
    assert found.p99 == 0.05


def test_one_slow_answer_in_a_window_of_ten_keeps_it_above_the_usual_p99() -> None:
    after = _steady([0.05] * 5 + [3.0] + [0.05] * 10)
    found = recovery(after, restart=0.0, usual_p99=0.1, window=10)
    assert found is not None
    assert round(found.window_sent, 6) == 0.6  # the first window without the slow command


def test_a_failed_command_counts_as_never_answered_and_no_window_holding_it_qualifies() -> None:
    after = _steady([0.05] * 9 + [None] + [0.05] * 9)
    assert recovery(after, restart=0.0, usual_p99=0.1, window=10) is None
    assert recovery(after + _steady([0.05], start=1.9), restart=0.0, usual_p99=0.1, window=10) is not None


def test_a_run_that_never_gets_back_has_no_recovery() -> None:
    assert recovery(_steady([2.0] * 50), restart=0.0, usual_p99=0.1, window=10) is None
