"""Photos end to end on the dev server, through the CLI as an integrator's operator would use it, with the photos
in a real S3-compatible store (SeaweedFS): a complaint filed with a photo (before), a progress note with one, a
completion refused without the after-photo its category requires and accepted with it. The store equals the
history, the events carry each photo's hash, type and size, every photo's bytes come back by their hash, and none
of them is in Temporal (the whole history is smaller than one photo)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from temporalio.testing import WorkflowEnvironment

from activities.event_store import Pool, load_events
from tests.helpers import running_worker, wait_until
from tests.pg import TestDatabase
from tests.photos import JPEG, PNG, WEBP, photo_bytes
from tests.s3_server import S3Server, running_s3_server
from tests.test_cli import Cli, intake, new_id
from whistle.settings import DATA_DIR

CATEGORY = "streetlight"


@pytest.fixture(scope="module")
async def s3() -> AsyncIterator[S3Server]:
    async with running_s3_server() as server:
        yield server


@pytest.fixture
async def cli(
    dev_env: WorkflowEnvironment, database: TestDatabase, pool: Pool, tmp_path: Path, s3: S3Server
) -> AsyncIterator[Cli]:
    """``whistle`` against the test's servers, filing under a policy whose streetlight cases need an after-photo,
    keeping photos in the S3 server's bucket (the worker never sees them: it gets references only)."""
    policy = yaml.safe_load((DATA_DIR / "policy.yaml").read_text(encoding="utf-8"))
    policy["categories"][CATEGORY] = {"photo_required_on_completion": True}
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
    async with running_worker(dev_env.client, pool, photos=s3.store()) as client:
        env = {
            **os.environ,
            "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
            "TEMPORAL_NAMESPACE": dev_env.client.namespace,
            "DATABASE_URL": database.url,
            "WHISTLE_TASK_QUEUE": client.task_queue,
            "WHISTLE_HOME": str(tmp_path / "home"),
            "WHISTLE_LOG_FORMAT": "json",
            "WHISTLE_ALLOW_PLAINTEXT": "true",
            "WHISTLE_POLICY": str(policy_file),
            "WHISTLE_PHOTO_BUCKET": s3.bucket,
            "WHISTLE_S3_ENDPOINT_URL": s3.endpoint_url,
            "WHISTLE_S3_REGION": "us-east-1",
            "WHISTLE_S3_ACCESS_KEY_ID": s3.access_key_id,
            "WHISTLE_S3_SECRET_ACCESS_KEY": s3.secret_access_key,
        }
        yield Cli(env, client)


def saved(directory: Path, name: str, data: bytes) -> str:
    path = directory / name
    path.write_bytes(data)
    return str(path)


async def test_a_case_filed_and_completed_with_photos_keeps_them_by_hash_and_its_store_equals_its_history(
    cli: Cli, pool: Pool, s3: S3Server, tmp_path: Path
) -> None:
    before, during, after = photo_bytes(JPEG, 300_000), photo_bytes(WEBP, 200_000), photo_bytes(PNG, 250_000)
    case = new_id()
    filed = await cli("submit", "-", "--photo", saved(tmp_path, "before.jpg", before), "--json", stdin=intake(case))
    assert filed.code == 0, filed.stderr

    steps = [
        ("verify", case, "--grid-worker", "gw-gangyuan-1"),
        ("blow", case, "--community-secretary", "sec-gangyuan", "--departments", "power_supply"),
        ("report-in", case, "--department", "power_supply", "--officer", "李红"),
        ("progress", case, "--department", "power_supply", "--note", "更换线路",
         "--photo", saved(tmp_path, "during.webp", during)),
    ]  # fmt: skip
    for step in steps:
        done = await cli(*step, "--json")
        assert done.code == 0, (step, done.stderr)

    refused = await cli("complete", case, "--department", "power_supply", "--result", "路灯亮了")
    assert refused.code == 1 and refused.stderr_lines[-1].startswith("rejected: photos: ")
    not_a_photo = await cli(
        "complete", case, "--department", "power_supply", "--result", "路灯亮了",
        "--photo", saved(tmp_path, "report.pdf", b"%PDF-1.7"),
    )  # fmt: skip
    assert not_a_photo.code == 2 and "photos" in not_a_photo.stderr_lines[-1]
    completed = await cli(
        "complete", case, "--department", "power_supply", "--result", "路灯亮了",
        "--photo", saved(tmp_path, "after.png", after), "--json",
    )  # fmt: skip
    assert completed.code == 0, completed.stderr
    assert completed.json()["stage"] == "evaluating"

    async def handling_completed_in_history() -> bool:  # the store activity follows the Update's answer
        return any(item.event.type == "HandlingCompleted" for item in await cli.client.events(case))

    await wait_until(handling_completed_in_history)
    recorded = await cli.client.events(case)

    async def stored_in_full() -> bool:
        return len(await load_events(pool, case)) == len(recorded)

    await wait_until(stored_in_full)
    assert await load_events(pool, case) == recorded  # the store equals the history

    carried = {
        event.event.type: [photo.model_dump() for photo in getattr(event.event, "photos", ())] for event in recorded
    }
    filing = recorded[0].event.model_dump(mode="json")["case"]["intake"]["photos"]
    expected = {
        "before": (before, JPEG, filing),
        "during": (during, WEBP, carried["ProgressRecorded"]),
        "after": (after, PNG, carried["PartCompleted"]),
    }
    store = s3.store()
    for name, (data, kind, references) in expected.items():
        sha = hashlib.sha256(data).hexdigest()
        assert references == [{"sha256": sha, "media_type": kind, "size": len(data)}], name
        assert await store.get(sha) == data, name  # the bytes, by their hash, from the bucket
    assert [p.sha256 for p in (await cli.client.state(case)).all_photos()] == [
        hashlib.sha256(data).hexdigest() for data in (before, during, after)
    ]
    assert not (tmp_path / "home" / "objects").exists()  # nothing went to the directory store

    timeline = (await cli("history", case, "--json")).json()
    assert timeline[0]["photos"] == filing  # the filing's photos are on its line of the timeline
    readable = await cli("history", case)
    assert readable.code == 0 and readable.stdout.count("照片") == 3 and "png 244KB" in readable.stdout

    after_sha = hashlib.sha256(after).hexdigest()
    fetched = await cli("photo", case, after_sha, "--out", str(tmp_path / "fetched.png"))
    assert fetched.code == 0, fetched.stderr
    assert (tmp_path / "fetched.png").read_bytes() == after
    stray = await cli("photo", case, hashlib.sha256(b"elsewhere").hexdigest(), "--out", str(tmp_path / "x"))
    assert stray.code == 1 and stray.stderr_lines[-1].startswith("rejected: sha256: ")

    history = await cli.client.temporal.get_workflow_handle(f"complaint-{case}").fetch_history()
    assert len(history.to_json()) < len(during)  # never inside a Temporal payload: the whole history is smaller
