"""Photos and evidence (现场照片): the filing, progress notes and completions carry photo references (hash, type,
size), the events record them, the case lists each once; where the policy says ``photo_required_on_completion`` a
part is completed only with a photo; a command with too many photos, one twice or one of another type is refused
naming ``photos``; and an event without photos serializes as events did before photos existed."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from pydantic import ValidationError

from schemas.commands import CompletePart, RecordProgress
from schemas.events import PartCompleted, ProgressRecorded
from schemas.evidence import MAX_PHOTO_BYTES, MAX_PHOTOS, Photo, photo_of, sniff_media_type
from schemas.intake import CaseIntake
from schemas.policy import PolicyOverrides
from schemas.rules.decider import decide
from tests.domain_fixtures import (
    NOW,
    department,
    handling,
    later,
    make_case,
    make_intake,
    new_case,
    policy,
    run,
    run_all,
)
from tests.photos import JPEG, PNG, WEBP, photo_bytes
from tests.rules.helpers import LEAD, SECOND, THIRD, rejected, types


def photo(kind: str = JPEG) -> Photo:
    return photo_of(photo_bytes(kind))


def completion(code: str, *photos: Photo) -> CompletePart:
    return CompletePart(actor=department(code), department=code, result="招牌已拆除", photos=photos)


def progress(code: str, *photos: Photo) -> RecordProgress:
    return RecordProgress(actor=department(code), department=code, note="已拆除一半", photos=photos)


def photo_required(category: str = "cooking_fumes") -> Any:
    """The shipped policy with ``photo_required_on_completion`` for ``category`` alone."""
    shipped = policy()
    overrides = {category: PolicyOverrides(photo_required_on_completion=True)}
    return shipped.model_copy(update={"categories": {**shipped.categories, **overrides}})


def test_a_complaint_filed_with_photos_carries_their_references_into_the_filing() -> None:
    before = (photo(JPEG), photo(PNG))
    state = new_case(make_case(intake=make_intake(photos=[p.model_dump() for p in before])))
    assert state.case.intake.photos == before
    assert state.all_photos() == before


def test_progress_and_completion_record_their_photos_and_the_case_lists_each_once() -> None:
    during, after = photo(WEBP), photo(JPEG)
    state = handling(LEAD, SECOND)
    [recorded] = decide(state, progress(LEAD, during), NOW)
    assert isinstance(recorded, ProgressRecorded) and recorded.photos == (during,)
    state = run_all(state, [progress(LEAD, during), progress(SECOND, during)])
    assert state.photos == (during,)
    [completed] = decide(state, completion(LEAD, during, after), later(hours=1))
    assert isinstance(completed, PartCompleted) and completed.photos == (during, after)
    state = run(state, completion(LEAD, during, after), later(hours=1))
    assert state.all_photos() == (during, after)


def test_a_part_completes_without_a_photo_where_the_policy_does_not_ask_for_one() -> None:
    assert types(decide(handling(LEAD, SECOND), completion(LEAD), NOW)) == ["PartCompleted"]


def test_where_the_category_asks_for_a_photo_a_completion_without_one_is_refused_naming_photos() -> None:
    state = handling(LEAD, SECOND, THIRD, case=make_case(sla=photo_required()))
    assert state.case.policy.photo_required_on_completion
    error = rejected(state, completion(LEAD))
    assert error.field == "photos" and "photo_required_on_completion" in error.reason
    assert types(decide(state, completion(LEAD, photo()), NOW)) == ["PartCompleted"]
    assert types(decide(state, progress(LEAD), NOW)) == ["ProgressRecorded"]  # progress needs none


def test_another_category_is_not_held_to_it() -> None:
    state = handling(LEAD, SECOND, case=make_case(sla=photo_required("gas_supply")))
    assert not state.case.policy.photo_required_on_completion
    assert types(decide(state, completion(LEAD), NOW)) == ["PartCompleted"]


def test_a_command_with_more_photos_than_a_case_takes_is_refused_naming_photos() -> None:
    with pytest.raises(ValidationError) as refused:
        completion(LEAD, *(photo() for _ in range(MAX_PHOTOS + 1)))
    assert refused.value.errors()[0]["loc"] == ("photos",)
    assert len(completion(LEAD, *(photo() for _ in range(MAX_PHOTOS))).photos) == MAX_PHOTOS


def test_the_same_photo_twice_in_one_command_is_refused() -> None:
    same = photo()
    with pytest.raises(ValidationError, match="the same photo twice") as refused:
        progress(LEAD, same, same)
    assert refused.value.errors()[0]["loc"] == ("photos",)


@pytest.mark.parametrize(
    ("reference", "field"),
    [
        ({"sha256": "0" * 64, "media_type": "application/pdf", "size": 10}, "media_type"),
        ({"sha256": "0" * 64, "media_type": "image/gif", "size": 10}, "media_type"),
        ({"sha256": "0" * 64, "media_type": JPEG, "size": MAX_PHOTO_BYTES + 1}, "size"),
        ({"sha256": "0" * 64, "media_type": JPEG, "size": 0}, "size"),
        ({"sha256": "not-a-hash", "media_type": JPEG, "size": 10}, "sha256"),
    ],
)
def test_a_reference_of_another_type_size_or_hash_is_refused_naming_it(reference: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        RecordProgress.model_validate(
            {"actor": department(LEAD), "department": LEAD, "note": "进展", "photos": [reference]}
        )
    assert refused.value.errors()[0]["loc"] == ("photos", 0, field)


def test_the_type_is_judged_from_the_bytes_never_from_a_name() -> None:
    assert [sniff_media_type(photo_bytes(kind)) for kind in (JPEG, PNG, WEBP)] == [JPEG, PNG, WEBP]
    assert sniff_media_type(b"%PDF-1.7") is None and sniff_media_type(b"RIFF\0\0\0\0WAVE") is None
    data = photo_bytes(PNG, 300)
    assert photo_of(data) == Photo(sha256=hashlib.sha256(data).hexdigest(), media_type=PNG, size=300)


def test_no_photos_serialize_to_nothing_so_recorded_events_and_intakes_replay() -> None:
    plain = PartCompleted(at=NOW, department=LEAD, result="已整改")
    assert "photos" not in plain.model_dump(mode="json")
    assert "photos" not in ProgressRecorded(at=NOW, department=LEAD, note="进展").model_dump_json()
    intake = make_case().intake
    assert "photos" not in intake.model_dump(mode="json")
    assert "photo_required_on_completion" not in make_case().policy.model_dump(mode="json")
    with_photo = PartCompleted(at=NOW, department=LEAD, result="已整改", photos=(photo(),))
    assert PartCompleted.model_validate_json(with_photo.model_dump_json()) == with_photo
    assert CaseIntake.model_validate(intake.model_dump()) == intake
