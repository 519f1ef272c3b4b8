"""Certification decisions for one learner (pure): issue, wait for sign-off, or flag for review.

Courses are decided in prerequisite order, so a certificate issued in this pass counts for
the courses that require it (training of trainers). A live certificate whose evidence was
voided, or whose learner no longer meets the rule, is flagged for review: an administrator
keeps or revokes it; it is never silently kept or dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

PENDING = "pending"  # met the rule; the course needs a trainer's sign-off (an administrator)
ISSUED = "issued"
REVIEW = "review"
REVOKED = "revoked"
EXPIRED = "expired"  # an issued certificate past its expiry: derived, never stored
STATUSES = (PENDING, ISSUED, REVIEW, REVOKED, EXPIRED)
LIVE = (PENDING, ISSUED)


@dataclass(frozen=True)
class CourseRule:
    code: str
    version: str
    prerequisites: tuple[str, ...]
    sign_off: bool


@dataclass(frozen=True)
class Qualification:
    """What the learner's progress says of a course: the rule is met (or not) and since when."""

    met_ms: int | None  # when the course's completion rule was met (None: not met)
    expires_ms: int | None
    last_ms: int  # the learner's last activity in the course
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class Held:
    """A learner's latest certificate for a course."""

    id: str
    status: str
    valid_from_ms: int
    expires_ms: int | None
    evidence: tuple[str, ...]
    requalify_after_ms: int | None

    def valid_at(self, moment_ms: int) -> bool:
        return (
            self.status == ISSUED
            and self.valid_from_ms <= moment_ms
            and (self.expires_ms is None or moment_ms < self.expires_ms)
        )


@dataclass(frozen=True)
class Issue:
    course: str
    version: str
    qualification: Qualification
    status: str  # ISSUED, or PENDING for courses that need a sign-off
    reissue_of: str | None


@dataclass(frozen=True)
class Flag:
    certificate_id: str
    course: str
    reason: str


Decision = Issue | Flag


def display_status(status: str, expires_ms: int | None, now_ms: int) -> str:
    if status == ISSUED and expires_ms is not None and expires_ms <= now_ms:
        return EXPIRED
    return status


def _flag_reason(held: Held, met: Qualification | None, voided: set[str]) -> str | None:
    gone = sorted(set(held.evidence) & voided)
    if gone:
        return f"evidence voided: {', '.join(gone)}"
    if met is None or met.met_ms is None:
        return "the learner no longer meets the course's rule"
    return None


def _qualifies_again(held: Held | None, met: Qualification) -> bool:
    """After a revocation, only activity newer than the revocation's can earn a new certificate."""
    if held is None or held.status != REVOKED:
        return True
    return held.requalify_after_ms is None or met.last_ms > held.requalify_after_ms


def decide_learner(
    order: list[CourseRule],
    qualifications: Mapping[str, Qualification],
    held: Mapping[str, Held],
    voided: set[str],
) -> list[Decision]:
    """Every decision for one learner, courses taken in prerequisite order."""
    decisions: list[Decision] = []
    certified: dict[str, Held] = {code: h for code, h in held.items() if h.status == ISSUED}
    for rule in order:
        current = held.get(rule.code)
        met = qualifications.get(rule.code)
        if current is not None and current.status in LIVE:
            reason = _flag_reason(current, met, voided)
            if reason is not None:
                decisions.append(Flag(current.id, rule.code, reason))
                certified.pop(rule.code, None)
            continue
        if current is not None and current.status == REVIEW:
            continue  # an administrator's call
        if met is None or met.met_ms is None or not _qualifies_again(current, met):
            continue
        met_ms = met.met_ms
        if not all(
            pre in certified and certified[pre].valid_at(met_ms) for pre in rule.prerequisites
        ):
            continue
        status = PENDING if rule.sign_off else ISSUED
        decisions.append(
            Issue(rule.code, rule.version, met, status, current.id if current else None)
        )
        if status == ISSUED:
            certified[rule.code] = Held("", ISSUED, met_ms, met.expires_ms, met.evidence, None)
    return decisions
