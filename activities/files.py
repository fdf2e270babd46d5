"""The files an operator edits (the org directory, the SLA policy), read and checked at the edges: the domain
(``schemas``) holds their types and rules, never a file, so nothing a workflow imports touches the disk.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from schemas.org import OrgDirectory
from schemas.policy import SlaPolicy


def load_directory(path: Path) -> OrgDirectory:
    """Read and check the directory file."""
    return OrgDirectory.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def load_policy(path: Path) -> SlaPolicy:
    """Read and check a policy file; a bad key or duration names itself in the pydantic error."""
    return SlaPolicy.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
