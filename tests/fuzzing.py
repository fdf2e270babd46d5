"""How much the property and fuzz tests draw, and from what randomness.

``make test`` (and so CI) runs the ``ci`` profile: hypothesis seeds itself from each test's own source
(``derandomize``) and keeps no example database, so every run of one commit draws the same examples and a
red run can be repeated exactly. ``make fuzz`` runs the same properties under the ``fuzz`` profile: fresh
randomness every run, ``WHISTLE_FUZZ_SCALE`` (10) times the examples, failures kept in ``.hypothesis/`` so
the next run tries them first. Select a profile with ``HYPOTHESIS_PROFILE``.
"""

from __future__ import annotations

import os

from hypothesis import settings
from hypothesis.database import DirectoryBasedExampleDatabase

settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile(
    "fuzz", derandomize=False, database=DirectoryBasedExampleDatabase(".hypothesis/examples"), deadline=None
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)

SCALE = int(os.environ.get("WHISTLE_FUZZ_SCALE", "10")) if PROFILE == "fuzz" else 1


def examples(count: int) -> int:
    """``count`` examples under ``make test``; ``SCALE`` times as many under ``make fuzz``."""
    return count * SCALE
