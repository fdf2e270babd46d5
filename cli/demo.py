"""``whistle demo``: the seed scenarios, filed under a seconds-scale policy and driven live, all at once.

It brings the embedded stack up (or uses the configured servers), runs a worker in this process, files
every scenario of ``data/seeds.yaml`` with fresh complaint ids, and plays each one's path as the people in
it would: grid workers, the community secretary, departments, the first secretary, the resident. Deadlines
are real: the case that waits for a missed report-in waits for the workflow's own timer to escalate it.
Residents who left an e-mail address hear back through a local SMTP sink the demo starts (its address printed,
each message saved under ``.whistle/mail/<run>/``). At the end it prints every timeline, the read model from
PostgreSQL and one resident's e-mail, and leaves the UI address.

Past 300 lines: one scripted walk through every seed scenario, read top to bottom like the story it shows.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
import yaml
from rich.cells import set_cell_size
from rich.markup import escape
from rich.rule import Rule

from activities.dispatch import Dispatcher
from activities.event_store import Pool, apply_migrations, create_pool, list_cases
from activities.log import configure_logging
from cli import output
from cli.mail_sink import MailSink
from cli.runtime import open_session
from schemas import commands
from schemas.actors import Actor
from schemas.commands import PersonCommand
from schemas.common import Code, Model, parse_duration
from schemas.intake import ComplaintIntake
from schemas.org import CaseContext
from schemas.publication import PublishCase
from schemas.view import CaseView
from whistle.client import CaseNotFound, WhistleClient, workflow_id_for
from whistle.ledger import ledger
from whistle.places import fill_place
from whistle.resident_channels import resident_deliverers
from whistle.settings import DATA_DIR, Settings
from worker import build_worker

ScenarioPath = Literal[
    "resolved_in_grid",
    "satisfied",
    "report_in_missed",
    "declined",
    "reopened",
    "handling_overdue",
    "first_secretary_order",
    "merged",
    "unevaluated",
]
ESCALATION_WAIT = 90.0
"""Seconds a scenario waits at most for a deadline to escalate before the demo gives up (the policy's are ~30)."""
OPERATOR = "op-12345-01"
"""The 12345 hotline operator who merges duplicate calls and makes follow-up calls in the demo."""
SUPERVISOR = "dubanchu-01"
"""The district supervision office (区督办室) that urges and flags cases in the demo."""
OFFICERS = ("王建国", "李红", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "黄敏")


class Seed(Model):
    """One scenario of ``seeds.yaml``: who is summoned, the path it takes, and the intake (no time)."""

    key: str
    path: ScenarioPath
    summary_zh: str
    departments: list[Code]
    intake: dict[str, Any]
    grade: commands.Grade = "blue"
    extension: bool = False
    park: bool = False
    urge: bool = False
    flag: bool = False
    duplicate_of: str | None = None


def load_seeds() -> list[Seed]:
    with open(DATA_DIR / "seeds.yaml", encoding="utf-8") as file:
        return [Seed.model_validate(item) for item in yaml.safe_load(file)]


class Case:
    """One scenario being driven: sends each actor's command through the SDK and narrates it."""

    def __init__(self, client: WhistleClient, seed: Seed, complaint_id: str, started: float) -> None:
        self.client = client
        self.seed = seed
        self.complaint_id = complaint_id
        self.departments = seed.departments
        self.started = started
        self.names = output.Names(client.directory)
        self.context: CaseContext | None = None
        self.intake: ComplaintIntake | None = None

    def say(self, text: str) -> None:
        """One narrated line: seconds since the demo started, the case (its title, cut to fit), what happened."""
        elapsed = time.monotonic() - self.started
        title = set_cell_size(self.seed.intake["title"], 24)
        output.console.print(f"[dim]{elapsed:5.1f}s[/dim] [cyan]{escape(title)}[/cyan] {text}")

    async def file(self) -> None:
        fields = {**self.seed.intake, "complaint_id": self.complaint_id, "reported_at": datetime.now(UTC)}
        intake = ComplaintIntake.model_validate(fill_place(fields, self.client.directory))  # a seed may name no grid
        self.context = self.client.directory.context_for(intake.community, intake.grid, intake.category)
        self.intake = intake
        await self.client.submit(intake)
        self.say(f"立案 {self.complaint_id}")
        if "grid" not in self.seed.intake:
            self.say(f"按坐标定位到 {self.context.grid.name}")

    async def send(self, command: PersonCommand, text: str) -> CaseView:
        view = await self.client.execute(self.complaint_id, command)
        self.say(f"{text}  → {output.label('stage', view.stage)}")
        return view

    @staticmethod
    def department(code: str) -> Actor:
        return Actor(kind="department", id=code)

    def resident(self) -> Actor:
        """The resident themselves when the app knows them, otherwise the hotline operator who calls them."""
        assert self.intake is not None, "file() first"
        resident_id = self.intake.reporter.resident_id
        return Actor(kind="resident", id=resident_id) if resident_id else Actor(kind="operator", id="op-12345-01")

    def people(self) -> CaseContext:
        assert self.context is not None, "file() first"
        return self.context

    async def verify(self, *, resolved: bool = False) -> None:
        worker = self.people().grid.grid_workers[0]
        note = "现场处理完毕" if resolved else "现场核实属实"
        actor = Actor(kind="grid_worker", id=worker.id)
        command = commands.VerifyComplaint(actor=actor, resolved_in_grid=resolved, note=note)
        await self.send(command, f"网格员 {worker.name} {'核实并在网格内解决' if resolved else '核实'}")

    async def blow(self) -> None:
        secretary = self.people().community.secretary
        actor = Actor(kind="community_secretary", id=secretary.id)
        grade = self.seed.grade
        command = commands.BlowWhistle(actor=actor, departments=self.departments, lead=self.departments[0], grade=grade)
        whistle = output.label("grade", grade)
        await self.send(command, f"社区书记 {secretary.name} 吹{whistle}：{self.listed(self.departments)}")

    async def report_in(self, departments: Sequence[str]) -> None:
        async def report(code: str) -> None:
            officer = OFFICERS[self.departments.index(code) % len(OFFICERS)]
            assert self.intake is not None, "file() first"
            policy = self.client.policy.for_case(self.intake.urgency, self.intake.category)
            seniority = policy.grade(self.seed.grade).seniority
            command = commands.ReportIn(actor=self.department(code), department=code, officer=officer,
                                        seniority=seniority)
            await self.send(command, f"{self.names.department(code)} 报到（{output.label('seniority', seniority)}）")

        await asyncio.gather(*(report(code) for code in departments))  # departments act independently

    async def decline(self, code: str) -> None:
        reason = "该事项不属本部门职责范围"
        command = commands.DeclineCase(actor=self.department(code), department=code, reason=reason)
        await self.send(command, f"{self.names.department(code)} 退单")

    async def work(self, departments: Sequence[str], round_: str = "") -> None:
        """Each department records progress, then completes its part (the last one ends handling)."""

        async def progress(code: str) -> None:
            note = f"{round_}已到现场，制定并实施处置方案"
            command = commands.RecordProgress(actor=self.department(code), department=code, note=note)
            await self.send(command, f"{self.names.department(code)} 记录进展")

        async def complete(code: str) -> None:
            result = f"{round_}{self.names.department(code)}负责部分已处置完毕"
            command = commands.CompletePart(actor=self.department(code), department=code, result=result)
            await self.send(command, f"{self.names.department(code)} 办结")

        async def rate(code: str) -> None:
            secretary = self.people().community.secretary
            command = commands.RateDepartment(
                actor=Actor(kind="community_secretary", id=secretary.id), department=code, in_person=True,
                result="good", comment="按时到场，处置到位",
            )
            await self.send(command, f"社区评价 {self.names.department(code)}：好")

        await asyncio.gather(*(progress(code) for code in departments))
        await asyncio.gather(*(complete(code) for code in departments))
        if not round_:  # the community rates each department once, after its first completion (双考核)
            await asyncio.gather(*(rate(code) for code in departments))

    async def extend_on_request(self) -> None:
        """The lead asks for more time (延期); the first secretary approves; the resident is told."""
        lead = self.departments[0]
        asked = commands.RequestExtension(
            actor=self.department(lead), department=lead, extend_by=parse_duration("30s"), reason="需协调管线施工"
        )
        await self.send(asked, f"{self.names.department(lead)} 申请延期 30s")
        first_secretary = self.people().community.first_secretary
        approve = commands.AnswerExtension(
            actor=Actor(kind="first_secretary", id=first_secretary.id), approve=True, note="同意延期，盯办"
        )
        await self.send(approve, f"第一书记 {first_secretary.name} 批准延期（已通知居民）")

    async def park(self) -> None:
        """The first secretary parks the case (挂账): it goes on the ledger and its review reminders start."""
        first_secretary = self.people().community.first_secretary
        command = commands.IssueDirective(
            actor=Actor(kind="first_secretary", id=first_secretary.id), kind="park", note="列入百日解百难台账"
        )
        await self.send(command, f"第一书记 {first_secretary.name} 挂账督办，列入台账")
        deadline = time.monotonic() + ESCALATION_WAIT
        while "LedgerReviewReminded" not in [entry["type"] for entry in await self.client.history(self.complaint_id)]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.complaint_id}: no ledger review within {ESCALATION_WAIT:.0f}s")
            await asyncio.sleep(0.5)
        self.say("[magenta]台账定期督办提醒已发给第一书记[/magenta]")

    async def supervise(self) -> None:
        """The district's supervisor urges whoever holds the case (催办) and, if the seed says, puts it under leader
        supervision (重点督办), which cuts the windows still running."""
        supervisor = Actor(kind="supervisor", id=SUPERVISOR)
        if self.seed.urge:
            urge = commands.UrgeCase(actor=supervisor, note="群众反映强烈，请加快办理")
            await self.send(urge, "督办室催办（已通知承办部门）")
        if self.seed.flag:
            flag = commands.FlagCase(actor=supervisor, note="区领导批示：限期解决")
            await self.send(flag, "[magenta]列为重点督办，剩余时限减半[/magenta]")

    async def merge_into_primary(self, primary: str) -> None:
        """工单合并: the hotline sees the same problem already open and merges this report into it; its reporter will
        hear the primary's outcome and rate it."""
        deadline = time.monotonic() + ESCALATION_WAIT
        while True:  # the primary is filed alongside: wait until it is there to merge into
            try:
                await self.client.status(primary)
                break
            except CaseNotFound:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.25)
        merge = commands.MergeCase(actor=Actor(kind="operator", id=OPERATOR), into=primary, note="同一问题的重复来电")
        await self.send(merge, f"[magenta]与 {primary} 反映同一问题，合并工单（重复件不再另行派单）[/magenta]")
        await self.wait_for(lambda view: view.stage == "evaluating", "主工单办结")
        self.say("主工单已办结，已通知本件居民并请其评价")

    async def follow_up_call(self) -> None:
        """回访: the case closed without the resident's rating, so the hotline calls them within the window."""
        await self.wait_for(lambda view: view.stage == "closed", "居民评价期满")
        self.say("居民未评价，案件办结（未评价），热线应回访")
        call = commands.RecordFollowUp(
            actor=Actor(kind="operator", id=OPERATOR), verdict="solved", note="居民表示噪声已明显减轻"
        )
        await self.send(call, "热线回访：问题已解决")

    async def wait_for(self, holds: Callable[[CaseView], bool], what: str) -> None:
        deadline = time.monotonic() + ESCALATION_WAIT
        while not holds(await self.client.status(self.complaint_id)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.complaint_id}: {what} did not happen within {ESCALATION_WAIT:.0f}s")
            await asyncio.sleep(0.25)

    async def came_in_person(self) -> None:
        first_secretary = self.people().community.first_secretary
        command = commands.ReportInProactively(
            actor=Actor(kind="first_secretary", id=first_secretary.id), officer=first_secretary.name
        )
        await self.send(command, f"第一书记 {first_secretary.name} 不等吹哨，主动报到")

    async def evaluate(self, rating: commands.Rating) -> None:
        comment = "问题还没彻底解决" if rating == "unsatisfied" else "感谢各部门"
        command = commands.EvaluateOutcome(actor=self.resident(), rating=rating, comment=comment)
        await self.send(command, f"居民评价：{output.label('rating', rating)}")

    async def direct(self, *, order: Sequence[str] = (), extend: str | None = None) -> None:
        first_secretary = self.people().community.first_secretary
        actor = {"kind": "first_secretary", "id": first_secretary.id}
        if order:
            command = commands.IssueDirective.model_validate(
                {"actor": actor, "kind": "order", "departments": list(order), "note": "立即到场"}
            )
            text = f"第一书记 {first_secretary.name} 责令报到：{self.listed(order)}"
        else:
            command = commands.IssueDirective.model_validate(
                {"actor": actor, "kind": "extend", "extend_by": extend, "note": "同意延期，盯办"}
            )
            text = f"第一书记 {first_secretary.name} 批准延期 {extend}"
        await self.send(command, text)

    async def escalated(self, why: str) -> None:
        """Wait, polling the case, until a deadline has raised it to the first secretary."""
        self.say(f"[yellow]等待{why}……[/yellow]")
        deadline = time.monotonic() + ESCALATION_WAIT
        while (view := await self.client.status(self.complaint_id)).escalation_level < 1:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.complaint_id}: no escalation within {ESCALATION_WAIT:.0f}s")
            await asyncio.sleep(0.25)
        self.say(f"[red]{why}，已升级至{output.label('escalation_level', view.escalation_level)}[/red]")

    def listed(self, departments: Sequence[str]) -> str:
        return "、".join(self.names.department(code) for code in departments)


async def drive(case: Case, stamp: str) -> None:
    """Play the scenario's path from filing to closure."""
    everyone = case.departments
    await case.file()
    match case.seed.path:
        case "resolved_in_grid":
            await case.verify(resolved=True)
            await case.evaluate("satisfied")
        case "satisfied":
            await case.verify()
            await case.blow()
            await case.report_in(everyone)
            await case.supervise()
            if case.seed.extension:
                await case.extend_on_request()
            if case.seed.park:
                await case.park()
            await case.work(everyone)
            await case.evaluate("satisfied")
        case "report_in_missed":
            *present, missing = everyone
            await case.verify()
            await case.blow()
            await case.report_in(present)
            await case.escalated(f"{case.names.department(missing)}报到超时")
            await case.direct(order=[missing])
            await case.report_in([missing])
            await case.work(everyone)
            await case.evaluate("satisfied")
        case "declined":
            first, *others = everyone
            await case.verify()
            await case.blow()
            await case.decline(first)
            await case.report_in(others)
            await case.work(others)
            await case.evaluate("basically_satisfied")
        case "reopened":
            await case.verify()
            await case.blow()
            await case.report_in(everyone)
            await case.work(everyone)
            await case.evaluate("unsatisfied")
            await case.work(everyone, "整改后")
            await case.evaluate("satisfied")
        case "handling_overdue":
            await case.verify()
            await case.blow()
            await case.report_in(everyone)
            await case.supervise()
            await case.escalated("处置超时")
            await case.direct(extend="30s")
            await case.work(everyone)
            await case.evaluate("satisfied")
        case "merged":
            assert case.seed.duplicate_of is not None, "a merged seed names its primary"
            await case.verify()
            await case.blow()
            await case.merge_into_primary(f"{case.seed.duplicate_of}-{stamp}")
            await case.evaluate("satisfied")
        case "unevaluated":
            await case.verify()
            await case.blow()
            await case.report_in(everyone)
            await case.work(everyone)
            await case.follow_up_call()
        case "first_secretary_order":
            await case.came_in_person()
            await case.direct(order=everyone)
            await case.report_in(everyone)
            await case.work(everyone)
            await case.evaluate("satisfied")


async def run_demo(settings: Settings) -> None:
    """Stack up, worker in, every seed driven to closure; then timelines, the read model, the UI address."""
    if "log_level" not in settings.model_fields_set:
        settings = settings.model_copy(update={"log_level": "WARNING"})  # keep the narration readable
    settings = settings.model_copy(update={"policy": DATA_DIR / "demo_policy.yaml", "org": DATA_DIR / "org.yaml"})
    configure_logging(settings.log_format, settings.log_level)
    started = time.monotonic()
    console = output.console
    console.print(Rule("吹哨报到 Whistle 演示 · 秒级时限"))
    session = await open_session(settings)
    stack, client = session.stack, session.client
    console.print(f"Temporal {stack.temporal_address} ({stack.namespace})   PostgreSQL {stack.database_url}")
    pool = await create_pool(stack.database_url)
    run = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    sink = MailSink(folder=settings.home / "mail" / run)
    try:
        await apply_migrations(pool)
        async with sink, httpx.AsyncClient() as http:
            console.print(f"居民邮件：本地 SMTP 收件箱 [bold]{sink.address}[/bold]（收到的邮件保存在 {sink.folder}/）")
            # Residents' e-mail goes to the sink, whatever SMTP server the environment names: a demo mails nobody.
            mailing = settings.model_copy(
                update={"smtp_host": "127.0.0.1", "smtp_port": sink.port, "smtp_security": "none",
                        "smtp_from": "兴工区社区治理 <noreply@xinggong.example>"}
            )  # fmt: skip
            residents = resident_deliverers(mailing, pool, http)
            worker = build_worker(client.temporal, settings.task_queue, pool, resident_receivers=list(residents))
            dispatcher = Dispatcher(pool, settings.webhook_url, http, residents=residents)
            async with worker, dispatcher.running():  # as worker.py runs them
                cases = await play(client, started)
                await residents_mailed(pool, cases)
        await show_results(client, cases, pool)
        show_mail(sink)
    finally:
        await pool.close()
    console.print(Rule())
    if stack.ui_url:
        console.print(f"Temporal UI: [bold]{stack.ui_url}/namespaces/{stack.namespace}/workflows[/bold]")
    console.print(f"演示完成，用时 {time.monotonic() - started:.1f}s；worker 已停止。")
    console.print("嵌入式服务仍在运行，可继续查看；`whistle dev down` 将其关闭。")


async def play(client: WhistleClient, started: float) -> list[Case]:
    """File and drive every seed concurrently; return once every case's workflow has completed."""
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    cases = [Case(client, seed, f"{seed.key}-{stamp}", started) for seed in load_seeds()]
    output.console.print(Rule(f"立案并推进 {len(cases)} 件（编号后缀 {stamp}）"))
    await asyncio.gather(*(drive(case, stamp) for case in cases))
    # A closed case's workflow finishes once its last events are in the store; wait for that.
    handles = [client.temporal.get_workflow_handle(workflow_id_for(case.complaint_id)) for case in cases]
    await asyncio.gather(*(handle.result() for handle in handles))
    return cases


async def residents_mailed(pool: Pool, cases: list[Case]) -> None:
    """Wait (a little) until the dispatcher has no resident e-mail of these cases left to send."""
    ours = [case.complaint_id for case in cases]
    deadline = time.monotonic() + ESCALATION_WAIT / 3
    while await pool.fetchval(
        "select count(*) from notification_outbox where receiver = 'resident_email' and status = 'pending' "
        "and complaint_id = any($1::text[])",
        ours,
    ):
        if time.monotonic() > deadline:
            output.console.print("[yellow]部分居民邮件尚未发出（见 `whistle notifications`）[/yellow]")
            return
        await asyncio.sleep(0.25)


def show_mail(sink: MailSink) -> None:
    """What the residents' mailboxes got: how many, and one message in full."""
    output.console.print(Rule(f"居民邮件（本地 SMTP 收件箱 {sink.address}，保存在 {sink.folder}/）"))
    if not sink.received:
        output.console.print("[yellow]没有收到居民邮件[/yellow]")
        return
    people = len({address for mail in sink.received for address in mail.recipients})
    output.console.print(f"共 {len(sink.received)} 封，发给 {people} 位留了邮箱的居民。其中一封：")
    shown = next((mail for mail in sink.received if "已办结" in mail.subject), sink.received[0])
    output.console.print(f"收件人：{', '.join(shown.recipients)}")
    output.console.print(f"主题：[bold]{escape(shown.subject)}[/bold]")
    output.console.print(escape(shown.body.rstrip()))


async def show_results(client: WhistleClient, cases: list[Case], pool: Pool) -> None:
    names = output.Names(client.directory)
    output.console.print(Rule("时间线（Temporal 历史）"))
    histories = await asyncio.gather(*(client.history(case.complaint_id) for case in cases))
    for case, entries in zip(cases, histories, strict=True):
        output.console.print()
        output.console.print(f"[bold]{escape(case.seed.intake['title'])}[/bold]  {case.complaint_id}")
        output.console.print(f"[dim]{escape(case.seed.summary_zh)}[/dim]")
        output.console.print(output.timeline_table(entries, names, with_date=False))
    ours = {case.complaint_id for case in cases}
    views = [view for view in await list_cases(pool) if view.complaint_id in ours]
    output.console.print(Rule("读模型（PostgreSQL complaints 表）"))
    output.console.print(output.cases_table(views, names, f"本次演示 {len(views)} 件"))
    on_ledger = [row for row in await ledger(pool, client.directory, datetime.now(UTC)) if row.complaint_id in ours]
    output.console.print(Rule("挂账台账（`whistle ledger`；`--public` 为公示版）"))
    output.console.print(output.ledger_table(on_ledger, names, public=False))
    ledgered = {row.complaint_id for row in on_ledger}
    await publish_ledger(client, [case for case in cases if case.complaint_id in ledgered])
    published = await ledger(pool, client.directory, datetime.now(UTC), public=True)
    public = [row for row in published if row.complaint_id in ours]
    output.console.print(Rule("公示版（社区书记 `whistle publish` 后才公开：公开标题，无地址、无居民信息）"))
    output.console.print(output.ledger_table(public, names, public=True))


async def publish_ledger(client: WhistleClient, cases: Sequence[Case]) -> None:
    """Each ledger case's community secretary publishes it with a public text of their own (公开), as a moderator
    would before the 百日解百难 list goes out; nothing of it is public before."""
    for case in cases:
        people = case.people()
        moderator = Actor(kind="community_secretary", id=people.community.secretary.id)
        text = PublishCase(
            actor=moderator,
            public_title=f"{people.community.name}{people.category.name}问题",
            public_description="已挂账督办，由第一书记牵头协调，进展按期公示。",
        )
        await client.publish(case.complaint_id, text)
        case.say(f"社区书记 {people.community.secretary.name} 公开此案（公示标题：{text.public_title}）")
