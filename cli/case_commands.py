"""The CLI's case commands, one per command in ``schemas.commands.COMMANDS``, built from the command's definition.

``whistle <name> ID --<actor-kind> WHO [--<field> VALUE ...]``: the name is the command's (``report_in`` is
``whistle report-in``); who acts is one flag among the command's ``actors`` (``--grid-worker``,
``--community-secretary``, ``--department``, ``--resident``, ``--operator`` ...); every other field is an option
of its own (a list comma-separated, a yes/no field ``--x/--no-x``, photos ``--photo PATH`` repeated, uploaded
before the command is sent). A department acting on its own part names
itself once: ``--department`` is both the actor and the command's ``department``. Nothing here knows one command
from another, so a new command needs no CLI code.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any

import typer
from pydantic.fields import FieldInfo

from cli import output
from cli.photos import PhotoOption, read_photos, with_uploads
from cli.runtime import InvalidInput, ask
from cli.runtime import load_settings as _settings
from cli.runtime import reported as _reported
from schemas.actors import ActorKind
from schemas.commands import COMMANDS, CaseCommand
from schemas.evidence import Photo
from schemas.view import CaseView
from whistle.client import WhistleClient

NEEDS_WORKER = " Needs a running worker (`whistle worker`)."
ACTOR_HELP: dict[str, str] = {
    "grid_worker": "Acting as this grid worker (网格员, their id).",
    "community_secretary": "Acting as this community secretary (社区书记, their id).",
    "first_secretary": "Acting as this first secretary (第一书记, their id).",
    "street_secretary": "Acting as this street secretary (街道书记, their id).",
    "department": "Acting as this department (its code); it is also the command's department.",
    "resident": "Acting as the resident: the intake's reporter.resident_id (needs PostgreSQL).",
    "operator": "Acting as a 12345 hotline operator for the resident (their id).",
    "supervisor": "Acting as this supervisor (督办, their id).",
}
"""What each actor flag means, by actor kind."""


def register(app: typer.Typer) -> None:
    """Add one command per case command to ``app``."""
    for name, model in COMMANDS.items():
        help_text = f"{model.label}.\n\n{inspect.cleandoc(model.__doc__ or '')}{NEEDS_WORKER}"
        app.command(name.replace("_", "-"), help=help_text, short_help=model.label)(_command(model))


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _actor_in_fields(model: type[CaseCommand]) -> bool:
    """Whether a department acting names the command's ``department`` too (it acts on its own part)."""
    return "department" in model.actors and "department" in model.model_fields


def _fields(model: type[CaseCommand]) -> dict[str, FieldInfo]:
    """The command's fields that become options: all but ``type``, ``actor`` and a department named by its flag."""
    skipped = {"type", "actor"} | ({"department"} if _actor_in_fields(model) else set())
    return {name: field for name, field in model.model_fields.items() if name not in skipped}


def _is_photos(annotation: Any) -> bool:
    """A field of photo references (``schemas.evidence.Photos``): on the CLI, files given with ``--photo``."""
    return typing.get_origin(annotation) is tuple and typing.get_args(annotation)[:1] == (Photo,)


def _is_list(annotation: Any) -> bool:
    return typing.get_origin(annotation) is list


def _choices(annotation: Any) -> list[str]:
    """The values a ``Literal`` field (or an optional one) takes, else none."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [choice for arg in typing.get_args(annotation) for choice in _choices(arg)]
    if typing.get_origin(annotation) is typing.Literal:
        return [str(choice) for choice in typing.get_args(annotation)]
    return []


def _option(name: str, field: FieldInfo) -> inspect.Parameter:
    """The CLI option for one field: a flag pair for a yes/no, text otherwise (a list comma-separated)."""
    if _is_photos(field.annotation):
        return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=PhotoOption, default=None)
    help_text = field.description or (field.title or "")
    if choices := _choices(field.annotation):
        help_text = f"{help_text} One of: {', '.join(choices)}.".strip()
    if _is_list(field.annotation):
        help_text = f"{help_text} Comma-separated.".strip()
    required = field.is_required()
    value = None if required else field.get_default(call_default_factory=True)
    default: Any = inspect.Parameter.empty if required else value
    if _is_list(field.annotation) and not required:
        default = ",".join(value or [])
    if field.annotation is bool:
        option = typer.Option(f"{_flag(name)}/--no-{name.replace('_', '-')}", help=help_text, show_default=True)
        annotation: Any = Annotated[bool, option]
    else:
        option = typer.Option(_flag(name), help=help_text, show_default=not required)
        annotation = Annotated[str | None if default is None else str, option]
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)


def _command(model: type[CaseCommand]) -> Callable[..., None]:
    """A typer callback for ``model``: the case id, one flag per actor kind, one option per field, ``--json``."""
    fields = _fields(model)
    parameters = [
        inspect.Parameter(
            "complaint_id",
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            annotation=Annotated[str, typer.Argument(metavar="ID", help="The complaint id.", show_default=False)],
        ),
        *(
            inspect.Parameter(
                f"as_{kind}",
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Annotated[str | None, typer.Option(_flag(kind), help=ACTOR_HELP[kind])],
                default=None,
            )
            for kind in model.actors
        ),
        *(_option(name, field) for name, field in fields.items()),
        inspect.Parameter(
            "as_json",
            inspect.Parameter.KEYWORD_ONLY,
            annotation=Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")],
            default=False,
        ),
    ]

    def run(complaint_id: str, **given: Any) -> None:
        as_json = given.pop("as_json")
        files = {name: given[name] for name, field in fields.items() if _is_photos(field.annotation)}
        photos: list[tuple[bytes, Photo]] = []

        def build() -> CaseCommand:
            for name, paths in files.items():
                read = read_photos(paths)
                photos.extend(read)
                given[name] = [reference for _, reference in read]
            return _build(model, given)

        _send(complaint_id, build, as_json, photos)

    run.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]  # typer reads it
    run.__annotations__ = {parameter.name: parameter.annotation for parameter in parameters}
    run.__name__ = model.name()
    return run


def _build(model: type[CaseCommand], given: dict[str, Any]) -> CaseCommand:
    """The command from the CLI's values: exactly one actor flag, lists split at commas; pydantic checks the rest."""
    actors: list[tuple[ActorKind, str]] = [
        (kind, given.pop(f"as_{kind}")) for kind in model.actors if given.get(f"as_{kind}") is not None
    ]
    for kind in model.actors:
        given.pop(f"as_{kind}", None)
    if len(actors) != 1:
        *others, last = [_flag(kind) for kind in model.actors]
        flags = f"{', '.join(others)} or {last}" if others else last
        raise InvalidInput("actor", f"give exactly one of {flags}")
    kind, actor_id = actors[0]
    values: dict[str, Any] = {"actor": {"kind": kind, "id": actor_id}}
    if _actor_in_fields(model) and kind == "department":
        values["department"] = actor_id
    for name, field in _fields(model).items():
        value = given[name]
        if _is_list(field.annotation) and isinstance(value, str):
            value = [code.strip() for code in value.split(",") if code.strip()]
        values[name] = value
    return model.model_validate(values)


def _send(
    complaint_id: str,
    build: Callable[[], CaseCommand],
    as_json: bool,
    photos: list[tuple[bytes, Photo]] | None = None,
) -> None:
    """Build the command (so bad input fails before any connection), upload its photos, send it, show the new view."""
    with _reported():
        settings = _settings()
        command = build()
        in_person = command.actor.kind == "resident"  # matched to the case in personal_data, so PostgreSQL too
        send = with_uploads(photos or [], lambda client: client.execute(complaint_id, command))
        client, view = ask(settings, send, database=in_person)
    show_view(client, view, as_json)


def show_view(client: WhistleClient, view: CaseView, as_json: bool) -> None:
    """The case's view as a table (or JSON): what a case command and ``whistle status`` answer with."""
    if as_json:
        output.print_json(view.model_dump(mode="json"))
    else:
        output.console.print(output.view_table(view, output.Names(client.directory)))
