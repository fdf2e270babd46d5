"""``whistle publish``, ``whistle unpublish`` and ``whistle erase``: what the public sees of a case, and a resident's
right to have their data removed. They need PostgreSQL only (no worker): publication and erasure live there.
"""

from __future__ import annotations

from typing import Annotated

import typer

from activities.publication import Publication
from cli import output
from cli.runtime import InvalidInput, ask, load_settings, reported
from schemas.actors import Actor
from schemas.publication import PublishCase, UnpublishCase

MODERATOR_KINDS = {"community": "community_secretary", "first": "first_secretary", "street": "street_secretary"}
ModeratorId = Annotated[str, typer.Option("--by", help="The moderator's id (the case's secretary by default).")]
ModeratorKind = Annotated[
    str, typer.Option("--as", help="community (社区书记, default), first (第一书记) or street (街道书记).")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _moderator(kind: str, person: str) -> Actor:
    if kind not in MODERATOR_KINDS:
        raise InvalidInput("as", f"{kind!r} is not community, first or street")
    return Actor.model_validate({"kind": MODERATOR_KINDS[kind], "id": person})


def publish(
    complaint_id: Annotated[str, typer.Argument(help="The complaint id.")],
    by: ModeratorId,
    title: Annotated[str, typer.Option("--title", help="The public title: your words, no names or home address.")],
    description: Annotated[str, typer.Option("--description", help="The public description, likewise.")],
    kind: ModeratorKind = "community",
    as_json: JsonFlag = False,
) -> None:
    """Publish a case (公开): keyless Open311 reads and the public ledger show your title and description, the
    category, the stage and the grid; never the address, the coordinates or the reporter."""
    with reported():
        settings = load_settings()
        command = PublishCase(actor=_moderator(kind, by), public_title=title, public_description=description)
        _, shown = ask(settings, lambda client: client.publish(complaint_id, command), worker=False)
    _show(complaint_id, shown, as_json)


def unpublish(
    complaint_id: Annotated[str, typer.Argument(help="The complaint id.")],
    by: ModeratorId,
    reason: Annotated[str, typer.Option("--reason", help="Why it comes off the public lists.")],
    kind: ModeratorKind = "community",
    as_json: JsonFlag = False,
) -> None:
    """Take a case off the public lists (撤回公开)."""
    with reported():
        settings = load_settings()
        command = UnpublishCase(actor=_moderator(kind, by), reason=reason)
        _, shown = ask(settings, lambda client: client.publish(complaint_id, command), worker=False)
    _show(complaint_id, shown, as_json)


def erase(
    complaint_id: Annotated[str, typer.Argument(help="The complaint id.")],
    by: Annotated[str, typer.Option("--by", help="Who erases (an operator's or supervisor's id); it is recorded.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (the resident's request, its reference); recorded.")],
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: an erasure cannot be undone.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Erase a resident's personal data for good (删除个人信息): the contact details at once, the free text of the
    stored case once it is closed. Records who and why (PersonalDataErased), never what was erased."""
    with reported():
        settings = load_settings()
        if not yes:
            raise InvalidInput("yes", "an erasure cannot be undone: add --yes to confirm")
        _, erased = ask(settings, lambda client: client.erase(complaint_id, by=by, reason=reason), worker=False)
    if as_json:
        output.print_json(erased.model_dump(mode="json"))
        return
    what = "联系方式与文字内容" if erased.text_redacted else "联系方式（案件办结后再次执行以删除文字内容）"
    output.console.print(f"{complaint_id} 已删除个人信息：{what}")


def _show(complaint_id: str, shown: Publication | None, as_json: bool) -> None:
    if as_json:
        body = None if shown is None else {
            "public_title": shown.public_title, "public_description": shown.public_description,
            "published_at": shown.published_at.isoformat(),
        }  # fmt: skip
        output.print_json({"complaint_id": complaint_id, "publication": body})
        return
    if shown is None:
        output.console.print(f"{complaint_id} 未公开（已撤回）")
    else:
        output.console.print(f"{complaint_id} 已公开：{shown.public_title}")
