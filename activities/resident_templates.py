"""What a resident reads: one jinja2 template per moment and channel, files an operator edits without code.

Whistle ships ``<moment>.<channel>.j2`` for every moment (``filed``, ``whistled``, ``extended``, ``handled``,
``closed``) and channel (``email``, ``sms``) in ``whistle/data/resident_templates/``; a directory named by
``WHISTLE_RESIDENT_TEMPLATES`` is searched first, so an operator overrides one file by putting one of the same
name there. Templates run in jinja2's sandbox (an edited file reaches no Python beyond its variables) with
undefined variables an error, and the worker renders every one it will use when it starts (``check``): a typo in
an edited template stops the worker at once, with the file's name, rather than failing each message later.

An e-mail template sets ``subject`` (``{% set subject = ... %}``) and its output is the body. An SMS template sets
``template_code`` (the code the provider approved for it: Aliyun SMS sends only registered templates) and its
output is the JSON object of the template's variables (``{"case": {{ case_number|tojson }}}``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from activities.resident_notices import MOMENT_LABELS, MOMENTS, Moment
from schemas.calendar import CHINA_TIME

Channel = Literal["email", "sms"]
CHANNELS: tuple[Channel, ...] = ("email", "sms")


class TemplateProblem(ValueError):
    """A template that cannot be rendered, or renders to something its channel cannot send; names the file."""


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    body: str


@dataclass(frozen=True)
class RenderedSms:
    template_code: str
    params: dict[str, str]


def china_time(value: datetime | None) -> str:
    """A moment as a resident reads it: Beijing time, to the minute (``2026年3月2日 17:05``)."""
    if value is None:
        return ""
    local = value.astimezone(CHINA_TIME)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


class ResidentTemplates:
    """The templates of ``shipped``, each overridable by a file of the same name in ``override``."""

    def __init__(self, shipped: Path, override: Path | None = None) -> None:
        if override is not None and not override.is_dir():
            raise TemplateProblem(f"resident_templates: {override} is not a directory")
        folders = [str(folder) for folder in (override, shipped) if folder is not None]
        self._environment = SandboxedEnvironment(
            loader=jinja2.FileSystemLoader(folders, encoding="utf-8"),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # plain text and JSON, never HTML
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )

    def email(self, moment: Moment, context: Mapping[str, Any]) -> RenderedEmail:
        name = f"{moment}.email.j2"
        module, body = self._render(name, context)
        subject = " ".join(str(getattr(module, "subject", "")).split())
        if not subject:
            raise TemplateProblem(f"{name}: sets no subject ({{% set subject = ... %}})")
        return RenderedEmail(subject=subject, body=body.strip() + "\n")

    def sms(self, moment: Moment, context: Mapping[str, Any]) -> RenderedSms:
        name = f"{moment}.sms.j2"
        module, body = self._render(name, context)
        code = str(getattr(module, "template_code", "")).strip()
        if not code:
            raise TemplateProblem(f"{name}: sets no template_code ({{% set template_code = ... %}})")
        try:
            params = json.loads(body)
        except ValueError as error:
            raise TemplateProblem(f"{name}: its output is not JSON ({error})") from None
        if not isinstance(params, dict) or not all(isinstance(value, str) for value in params.values()):
            raise TemplateProblem(f"{name}: its output must be a JSON object of strings (the template's variables)")
        return RenderedSms(template_code=code, params=params)

    def check(self, channels: Iterable[Channel]) -> None:
        """Render every moment of ``channels`` with a sample case; ``TemplateProblem`` names the first that fails."""
        for channel in channels:
            for moment in MOMENTS:
                render = self.email if channel == "email" else self.sms
                render(moment, sample_context(moment))

    def _render(self, name: str, context: Mapping[str, Any]) -> tuple[Any, str]:
        try:
            template = self._environment.get_template(name)
            module = template.make_module(dict(context))
        except jinja2.TemplateNotFound:
            raise TemplateProblem(f"{name}: no such template") from None
        except jinja2.TemplateError as error:
            where = f" line {error.lineno}" if isinstance(error, jinja2.TemplateSyntaxError) else ""
            raise TemplateProblem(f"{name}{where}: {error}") from None
        return module, str(module)


def sample_context(moment: Moment) -> dict[str, Any]:
    """A made-up case with every variable a template may use, for ``check`` and for operators trying an edit."""
    at = datetime(2026, 3, 2, 9, 30, tzinfo=CHINA_TIME)
    due = datetime(2026, 3, 9, 17, 0, tzinfo=CHINA_TIME)
    return {
        "moment": moment,
        "moment_label": MOMENT_LABELS[moment],
        "case_number": "WB-20260302-0001",
        "title": "小区路灯损坏，夜间无照明",
        "category": "市政设施",
        "address": "钢城小区3号楼东侧",
        "district": "示范区",
        "street": "钢城街道",
        "community": "钢城社区",
        "grid": "第一网格",
        "reporter_name": "王女士",
        "reported_at": china_time(at),
        "at": china_time(at),
        "due": china_time(due),
        "departments": ["城管委", "供电公司"],
        "lead": "城管委",
        "outcome": "满意",
        "hotline": "12345",
    }
