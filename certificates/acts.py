"""Administrative acts done by other parts of the LRS, found by comparing what exists with what
the audit log has seen (users, credentials, the catalogue, identity links).

The courses plugin and the xAPI core do not call the audit log (the core must not know this
plugin), so their acts are recorded when this plugin next looks, with the actor unknown.
"""

from __future__ import annotations

from typing import Any

import orjson

from certificates import ops
from certificates.store import CertQueries

SEEN = "acts_seen"
DETECTED_ACTOR = "unattributed"


async def _current(q: CertQueries) -> dict[str, Any]:
    credentials = await q.lrs.credentials.find_credentials()
    return {
        "users": await q.peek.find_users(),
        "credentials": {c.key: {"name": c.name, "revoked": c.revoked} for c in credentials},
        "catalog": await q.courses.catalog.find_course_versions(),
        "links": sorted(
            f"{link.key_a} {link.key_b}" for link in await q.courses.learners.find_all_links()
        ),
    }


def _changes(before: dict[str, Any], now: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    for name, role in sorted(now["users"].items()):
        if name not in before["users"]:
            found.append(("user.created", {"user": name, "role": role}))
        elif before["users"][name] != role:
            found.append(("user.role_changed", {"user": name, "role": role}))
    for name in sorted(set(before["users"]) - set(now["users"])):
        found.append(("user.removed", {"user": name}))
    for key, credential in sorted(now["credentials"].items()):
        old = before["credentials"].get(key)
        if old is None:
            found.append(("credential.created", {"key": key, "name": credential["name"]}))
        if credential["revoked"] and not (old or {}).get("revoked"):
            found.append(("credential.revoked", {"key": key, "name": credential["name"]}))
    if now["catalog"] != before["catalog"]:
        changed = sorted(
            code
            for code in set(now["catalog"]) | set(before["catalog"])
            if now["catalog"].get(code) != before["catalog"].get(code)
        )
        found.append(("catalogue.changed", {"courses": changed, "versions": now["catalog"]}))
    for link in sorted(set(now["links"]) - set(before["links"])):
        found.append(("identities.linked", {"agent_keys": link.split(" ")}))
    for link in sorted(set(before["links"]) - set(now["links"])):
        found.append(("identities.unlinked", {"agent_keys": link.split(" ")}))
    return found


async def record_detected_acts(q: CertQueries) -> set[str]:
    """Audit every act since the last look; return the agent keys whose links changed."""
    empty: dict[str, Any] = {"users": {}, "credentials": {}, "catalog": {}, "links": []}
    before = orjson.loads(await q.state.get_state(SEEN) or orjson.dumps(empty))
    now = await _current(q)
    changes = _changes(before, now)
    relinked: set[str] = set()
    for action, detail in changes:
        await ops.record(q, DETECTED_ACTOR, action, detail=detail)
        relinked |= set(detail.get("agent_keys", ()))
    if changes:
        await q.state.save_state(SEEN, orjson.dumps(now).decode())
    return relinked
