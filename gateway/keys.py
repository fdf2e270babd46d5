"""Per-actor API keys: created and revoked by ``whistle keys``, checked by the gateway on every request.

A key reads ``wh_<key_id>_<secret>``. Only ``key_id`` and the sha256 of the whole key are stored: the secret
is 256 random bits, so a fast hash is as safe as a slow one (nobody can search a space that size), and a
leaked table gives no usable key. The key is printed once, when it is created.

Each key has a role and a subject (the department code, resident id or person id it acts as). The role
becomes a ``schemas.actors.Actor`` for commands; ``integrator`` and ``supervisor`` keys file and read but
never act on a case. Operator and integrator keys also belong to an organisation (the 12345 hotline, the
resident app): they reach only the cases their organisation filed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from activities.event_store import Pool
from schemas.actors import Actor, ActorKind
from schemas.errors import CommandRejected
from schemas.org import OrgDirectory

Role = Literal[
    "department",
    "resident",
    "grid-worker",
    "community-secretary",
    "first-secretary",
    "street-secretary",
    "operator",
    "integrator",
    "supervisor",
]
ROLES: tuple[str, ...] = get_args(Role)

ORGANISATION_ROLES = frozenset({"operator", "integrator"})
"""The roles bound to an organisation rather than a place, a department or a resident."""

ACTOR_KIND: dict[str, ActorKind] = {
    "department": "department",
    "resident": "resident",
    "grid-worker": "grid_worker",
    "community-secretary": "community_secretary",
    "first-secretary": "first_secretary",
    "street-secretary": "street_secretary",
    "operator": "operator",
    "supervisor": "supervisor",
}
"""The roles that act on cases, and the actor kind each one acts as (a supervisor only urges: 催办)."""

_KEY = re.compile(r"^wh_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
_SUBJECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$")


@dataclass(frozen=True)
class Principal:
    """Who a request comes from: the key's role and subject, and the communities it is bound to.

    ``communities`` is the person's own community (grid workers, community and first secretaries) or every
    community of their street (street secretaries); empty for keys bound to no place. ``organisation`` is an
    operator's or integrator's hotline or app (None for the other roles).
    """

    key_id: str
    role: Role
    subject: str
    communities: frozenset[str] = frozenset()
    organisation: str | None = None

    @property
    def actor(self) -> Actor | None:
        """The actor this key acts as on a case, or None for keys that only file and read."""
        kind = ACTOR_KIND.get(self.role)
        return None if kind is None else Actor(kind=kind, id=self.subject)


@dataclass(frozen=True)
class KeyRecord:
    """A stored key as ``whistle keys list`` shows it (never the secret)."""

    key_id: str
    role: str
    subject: str
    organisation: str | None
    label: str
    created_at: datetime
    revoked_at: datetime | None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def scope_of(directory: OrgDirectory, role: str, subject: str) -> frozenset[str]:
    """The communities a person's key is bound to; raises ``CommandRejected`` for people not in the directory."""
    for community in directory.communities:
        people = {
            "community-secretary": [community.secretary.id],
            "first-secretary": [community.first_secretary.id],
            "grid-worker": [worker.id for grid in community.grids for worker in grid.grid_workers],
        }.get(role)
        if people is not None and subject in people:
            return frozenset({community.code})
    if role == "street-secretary":
        for street in directory.streets:
            if street.secretary.id == subject:
                return frozenset(c.code for c in directory.communities if c.street == street.code)
        raise CommandRejected("person", f"{subject!r} is no street secretary in the directory")
    if role in {"community-secretary", "first-secretary", "grid-worker"}:
        raise CommandRejected("person", f"{subject!r} is no {role} in the directory")
    if role == "department" and subject not in {department.code for department in directory.departments}:
        raise CommandRejected("department", f"unknown department {subject!r}")
    return frozenset()


async def create_key(
    pool: Pool, directory: OrgDirectory, role: str, subject: str, label: str = "", *, organisation: str | None = None
) -> tuple[str, str]:
    """Store a new key for ``role``/``subject``; return ``(key_id, key)``. The key is not kept anywhere.

    ``organisation``: an operator's or integrator's hotline or app; without it, the key is an organisation of its
    own (its subject), reaching only what it filed itself."""
    if role not in ROLES:
        raise CommandRejected("role", f"unknown role {role!r} (known: {', '.join(ROLES)})")
    if not _SUBJECT.match(subject):
        raise CommandRejected("subject", f"{subject!r} is not an id (letters, digits, _.:@-, up to 64)")
    if organisation is not None and role not in ORGANISATION_ROLES:
        raise CommandRejected("organisation", f"a {role} key belongs to no organisation (only operator, integrator)")
    if organisation is not None and not _SUBJECT.match(organisation):
        raise CommandRejected("organisation", f"{organisation!r} is not an id (letters, digits, _.:@-, up to 64)")
    if role in ORGANISATION_ROLES:
        organisation = organisation or subject
    scope_of(directory, role, subject)
    key_id = secrets.token_hex(8)
    key = f"wh_{key_id}_{secrets.token_urlsafe(32)}"
    await pool.execute(
        "insert into api_keys (key_id, key_hash, role, subject, label, organisation) values ($1, $2, $3, $4, $5, $6)",
        key_id,
        hash_key(key),
        role,
        subject,
        label,
        organisation,
    )
    return key_id, key


async def list_keys(pool: Pool) -> list[KeyRecord]:
    rows = await pool.fetch(
        "select key_id, role, subject, organisation, label, created_at, revoked_at from api_keys "
        "order by created_at, key_id"
    )
    return [KeyRecord(**dict(row)) for row in rows]


async def revoke_key(pool: Pool, key_id: str) -> bool:
    """Revoke the key; False if no live key has this id."""
    done = await pool.fetchval(
        "update api_keys set revoked_at = now() where key_id = $1 and revoked_at is null returning key_id", key_id
    )
    return done is not None


async def authenticate(pool: Pool, directory: OrgDirectory, key: str) -> Principal | None:
    """The principal for a live key, or None for a malformed, unknown or revoked one."""
    match = _KEY.match(key)
    if match is None:
        return None
    row = await pool.fetchrow(
        "select key_hash, role, subject, organisation from api_keys where key_id = $1 and revoked_at is null",
        match.group(1),
    )
    if row is None or not hmac.compare_digest(row["key_hash"], hash_key(key)):
        return None
    try:
        communities = scope_of(directory, row["role"], row["subject"])
    except CommandRejected:
        return None  # the person left the directory: their key no longer acts
    return Principal(match.group(1), row["role"], row["subject"], communities, row["organisation"])
