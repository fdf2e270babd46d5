"""``whistle opt-out``: a reporter stops (or resumes) hearing about their case by e-mail and SMS, and what each
message to them became. It needs PostgreSQL only (no worker): the choice lives there and the dispatcher reads it
before each message.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich import box
from rich.table import Table

from activities.resident_messages import OUTCOME_LABELS, ResidentNotifications
from activities.resident_notices import MOMENT_LABELS
from cli import output
from cli.runtime import ask, load_settings, reported

CHANNEL_LABELS = {"email": "电子邮件", "sms": "短信"}


def opt_out(
    complaint_id: Annotated[str, typer.Argument(help="The complaint id.")],
    by: Annotated[str, typer.Option("--by", help="Who records it (the operator's id, or the resident's); kept.")],
    undo: Annotated[bool, typer.Option("--undo", help="Opt back in: messages go out again from now on.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """The reporter no longer hears about this case (退订居民通知); ``--undo`` opts back in. Lists each message so
    far: sent, or why not (opted out, no address, over the rate limit)."""
    with reported():
        settings = load_settings()
        _, answer = ask(
            settings,
            lambda client: client.set_resident_notifications(complaint_id, enabled=undo, by=by),
            worker=False,
        )
    show(answer, as_json)


def show(answer: ResidentNotifications, as_json: bool) -> None:
    if as_json:
        output.print_json(answer.model_dump(mode="json"))
        return
    state = "接收" if answer.enabled else "已退订"
    output.console.print(f"{answer.complaint_id} 居民通知：{state}（{answer.changed_by or '默认'}）")
    table = Table(title="居民通知记录", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("时间", "渠道", "节点", "结果", "原因"):
        table.add_column(column, overflow="fold")
    for message in answer.messages:
        table.add_row(
            output.local_time(message.attempted_at),
            CHANNEL_LABELS.get(message.channel, message.channel),
            MOMENT_LABELS.get(message.moment, message.moment),  # type: ignore[call-overload]
            OUTCOME_LABELS.get(message.outcome, message.outcome),
            message.error or "—",
        )
    output.console.print(table)
