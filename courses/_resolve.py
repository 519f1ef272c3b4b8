"""One person across sources: group agent identities into learners, inside the caller's transaction.

Two identities are the same learner when they share an email (an mbox, an mbox_sha1sum, or
the email extension) unless an administrator unlinked one of them, or when an
administrator linked them. A learner is a connected group of identities; its id is derived
from the group's smallest agent key, so any order of arrival gives the same ids.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson

from courses._store_learners import StoredIdentity, StoredLink
from courses.facts import Identity, agent_json
from courses.store import CourseQueries

LEARNER_ID_PREFIX = "L"


def learner_id_for(keys: Iterable[str]) -> str:
    return LEARNER_ID_PREFIX + hashlib.sha1(min(keys).encode()).hexdigest()[:16]


@dataclass
class Regrouping:
    """How learners changed: merged groups (new id -> the ids it takes over), or learner ids to
    recompute from their statements after a group was split."""

    merged: dict[str, set[str]] = field(default_factory=dict)
    split: set[str] = field(default_factory=set)

    @property
    def learners(self) -> set[str]:
        return self.split | {i for new, old in self.merged.items() for i in (new, *old)}


def _first_seen(observed: list[Identity]) -> dict[str, Identity]:
    """One observation per key: the first email and the first name the feed shows for it."""
    merged: dict[str, Identity] = {}
    for identity in observed:
        known = merged.get(identity.key)
        if known is None:
            merged[identity.key] = identity
        elif (known.email_sha1 is None and identity.email_sha1) or (
            known.name is None and identity.name
        ):
            merged[identity.key] = Identity(
                identity.key,
                known.email_sha1 or identity.email_sha1,
                known.name or identity.name,
                known.actor,
            )
    return merged


async def observe_identities(
    q: CourseQueries, observed: list[Identity]
) -> tuple[Regrouping, dict[str, str]]:
    """Record the identities a batch of statements shows; regroup those that may join others.

    Returns the regrouped learners and the learner id of every observed identity.
    """
    seen = _first_seen(observed)
    stored = await q.learners.get_identities(seen)
    new: list[StoredIdentity] = []
    touched: set[str] = set()
    for key, identity in seen.items():
        row = stored.get(key)
        if row is None:
            new.append(
                StoredIdentity(
                    key,
                    learner_id_for([key]),
                    identity.email_sha1,
                    identity.name,
                    agent_json(identity.actor),
                )
            )
            touched.add(key)
        elif (row.email_sha1 is None and identity.email_sha1) or (
            row.name is None and identity.name
        ):
            await q.learners.update_identity_details(
                key, row.email_sha1 or identity.email_sha1, row.name or identity.name
            )
            if row.email_sha1 is None and identity.email_sha1:
                touched.add(key)
    await q.learners.save_identities(new)
    change = await regroup(q, await _may_join(q, touched, seen))
    learner_of = {key: row.learner_id for key, row in stored.items()}
    learner_of.update({row.key: row.learner_id for row in new})
    if change.learners:  # some moved: read their learner ids again
        moved = await q.learners.get_identities(seen)
        learner_of.update({key: row.learner_id for key, row in moved.items()})
    return change, learner_of


async def _may_join(q: CourseQueries, touched: set[str], seen: dict[str, Identity]) -> set[str]:
    """The touched keys that share an email with another identity or have a link."""
    if not touched:
        return set()
    links = await q.learners.find_links_of(touched) if await q.learners.any_links() else []
    linked = {k for link in links for k in (link.key_a, link.key_b)}
    emails = {email for k in touched if (email := seen[k].email_sha1)}
    holders: dict[str, set[str]] = {}
    for identity in await q.learners.find_identities_by_email(emails):
        holders.setdefault(identity.email_sha1 or "", set()).add(identity.key)
    sharing = {k for k in touched if len(holders.get(seen[k].email_sha1 or "", ())) > 1}
    return (touched & linked) | sharing


async def _neighbours(
    q: CourseQueries, keys: set[str]
) -> tuple[dict[str, StoredIdentity], list[tuple[str, str]]]:
    """Rows for `keys` and the edges leaving them (same email, not detached; or a link)."""
    rows = await q.learners.get_identities(keys)
    detached = await q.learners.find_detached(keys)
    emails = {r.email_sha1 for k, r in rows.items() if r.email_sha1 and k not in detached}
    edges: list[tuple[str, str]] = []
    if emails:
        sharing = await q.learners.find_identities_by_email(emails)
        sharing_detached = await q.learners.find_detached(i.key for i in sharing)
        by_email: dict[str, list[str]] = {}
        for identity in sharing:
            if identity.key not in sharing_detached:
                by_email.setdefault(identity.email_sha1 or "", []).append(identity.key)
        for key, row in rows.items():
            if key not in detached and row.email_sha1:
                edges += [
                    (key, other) for other in by_email.get(row.email_sha1, []) if other != key
                ]
    edges += [(link.key_a, link.key_b) for link in await q.learners.find_links_of(keys)]
    return rows, edges


async def components_of(
    q: CourseQueries, start: Iterable[str]
) -> tuple[list[set[str]], dict[str, StoredIdentity]]:
    """The groups of identities connected to `start`, found breadth-first."""
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    frontier = set(start)
    parent.update({k: k for k in frontier})
    rows: dict[str, StoredIdentity] = {}
    while frontier:
        found, edges = await _neighbours(q, frontier)
        rows.update(found)
        frontier = set()
        for a, b in edges:
            for key in (a, b):
                if key not in parent:
                    parent[key] = key
                    frontier.add(key)
            parent[root(a)] = root(b)
    groups: dict[str, set[str]] = {}
    for key in parent:
        groups.setdefault(root(key), set()).add(key)
    return list(groups.values()), rows


def _agent_of_link(key: str, links: list[StoredLink]) -> str:
    for link in links:
        if link.key_a == key:
            return link.agent_a
        if link.key_b == key:
            return link.agent_b
    return orjson.dumps({"key": key}).decode()


async def regroup(q: CourseQueries, start: Iterable[str], splitting: bool = False) -> Regrouping:
    """Give every group connected to `start` its learner id, creating identities only links name.

    Adding edges only merges groups, whose progress then merges too; after an edge is removed
    (`splitting`), the learners involved are recomputed from their statements instead.
    """
    change = Regrouping()
    start = set(start)
    if not start:
        return change
    groups, rows = await components_of(q, start)
    links = await q.learners.find_links_of({k for g in groups for k in g if k not in rows})
    moves: dict[str, str] = {}
    missing: list[StoredIdentity] = []
    for group in groups:
        learner_id = learner_id_for(group)
        named_by_links = [
            StoredIdentity(k, learner_id, None, None, _agent_of_link(k, links))
            for k in group
            if k not in rows
        ]
        moving = [k for k in group if k in rows and rows[k].learner_id != learner_id]
        if not moving and not named_by_links:
            continue
        missing += named_by_links
        moves.update({k: learner_id for k in moving})
        former = {rows[k].learner_id for k in group if k in rows}
        if splitting:
            change.split |= {learner_id} | former
        else:
            change.merged.setdefault(learner_id, set()).update(former)
    await q.learners.save_identities(missing)
    await q.learners.move_identities(moves)
    return change
