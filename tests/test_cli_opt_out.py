"""``whistle opt-out``, run as a user runs it (a subprocess against the dev server and PostgreSQL): the reporter of a
case filed with ``whistle submit`` (and an e-mail address) opts out and back in; an unknown case is not found."""

from __future__ import annotations

from tests.test_cli import Cli, cli, intake, new_id

__all__ = ["cli"]  # the fixture, shared with tests/test_cli.py


async def test_an_operator_opts_a_reporter_out_and_back_in(cli: Cli) -> None:
    case = new_id()
    reporter = {"name": "高德福", "phone": "13000000101", "email": "gaodefu@example.com"}
    assert (await cli("submit", "-", stdin=intake(case, reporter=reporter))).code == 0
    out = await cli("opt-out", case, "--by", "op-12345-01", "--json")
    assert out.code == 0, out.stderr
    assert (out.json()["enabled"], out.json()["changed_by"]) == (False, "op-12345-01")
    assert (await cli.client.reporter(case)).email == "gaodefu@example.com"  # kept in personal data, not in Temporal
    back = await cli("opt-out", case, "--by", "op-12345-01", "--undo")
    assert back.code == 0 and f"{case} 居民通知：接收（op-12345-01）" in back.stdout, back.stdout
    missing = await cli("opt-out", "CLI-no-such-case", "--by", "op-12345-01")
    assert missing.code == 1 and missing.stderr_lines[-1].startswith("not found:"), missing.stderr
    bad = await cli("submit", "-", stdin=intake(new_id(), reporter={**reporter, "email": "not-an-address"}))
    assert bad.code == 2 and "reporter.email" in bad.stderr_lines[-1], bad.stderr
