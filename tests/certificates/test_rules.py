"""The pure parts: certification decisions, the audit chain, the sign-off field of the catalogue."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from certificates import chain, rules
from courses._catalog_files import CatalogInvalid, read_catalog_dir
from courses.config import DEFAULT_CATALOG_DIR

DAY = 86_400_000
BASE = rules.CourseRule("IBM-101", "v1", (), False)
TRAINER = rules.CourseRule("TOT-400", "v2", ("IBM-101",), True)


def _met(
    at: int, expires: int | None = None, evidence: tuple[str, ...] = ("s1",)
) -> rules.Qualification:
    return rules.Qualification(at, expires, at, evidence)


def test_a_chain_is_decided_in_one_pass_the_trainer_course_waiting_for_sign_off() -> None:
    decisions = rules.decide_learner(
        [BASE, TRAINER],
        {"IBM-101": _met(10 * DAY, 400 * DAY), "TOT-400": _met(50 * DAY)},
        {},
        set(),
    )
    assert [(d.course, d.status) for d in decisions if isinstance(d, rules.Issue)] == [
        ("IBM-101", "issued"),
        ("TOT-400", "pending"),
    ]


def test_a_prerequisite_expired_when_the_trainer_course_was_finished_does_not_count() -> None:
    held = {"IBM-101": rules.Held("c1", rules.ISSUED, 0, 30 * DAY, ("s1",), None)}
    decisions = rules.decide_learner([BASE, TRAINER], {"TOT-400": _met(50 * DAY)}, held, set())
    # IBM-101's progress is gone too: its certificate is flagged, and nothing is issued.
    assert decisions == [
        rules.Flag("c1", "IBM-101", "the learner no longer meets the course's rule")
    ]


def test_a_revoked_certificate_comes_back_only_with_newer_activity() -> None:
    held = {"IBM-101": rules.Held("c1", rules.REVOKED, 0, None, ("s1",), 10 * DAY)}
    same = rules.decide_learner([BASE], {"IBM-101": _met(10 * DAY)}, held, set())
    assert same == []
    newer = replace(_met(10 * DAY), last_ms=20 * DAY)
    [issue] = rules.decide_learner([BASE], {"IBM-101": newer}, held, set())
    assert isinstance(issue, rules.Issue) and issue.reissue_of == "c1"


def test_voided_evidence_flags_a_live_certificate() -> None:
    held = {"IBM-101": rules.Held("c1", rules.ISSUED, 0, None, ("s1", "s2"), None)}
    [flag] = rules.decide_learner([BASE], {"IBM-101": _met(DAY)}, held, {"s2"})
    assert flag == rules.Flag("c1", "IBM-101", "evidence voided: s2")


def _log(size: int) -> list[chain.Entry]:
    entries: list[chain.Entry] = []
    head = (0, chain.GENESIS)
    for n in range(size):
        entry = chain.next_entry(head, 1000 + n, "admin", "certificate.revoked", detail={"n": n})
        entries.append(entry)
        head = (entry.seq, entry.hash)
    return entries


def test_the_chain_names_the_first_altered_or_missing_entry() -> None:
    log = _log(5)
    head = (log[-1].seq, log[-1].hash)
    assert chain.first_break(log, head) is None
    altered = [*log[:2], replace(log[2], actor="mallory"), *log[3:]]
    assert chain.first_break(altered, head) == (
        "entry 3 was altered: its content does not match its hash"
    )
    rehashed = replace(log[2], actor="mallory")
    fields = {name: getattr(rehashed, name) for name in chain.HASHED_FIELDS}
    rehashed = replace(rehashed, hash=chain.entry_hash(fields, rehashed.prev_hash))
    assert chain.first_break([*log[:2], rehashed, *log[3:]], head) == (
        "entry 4 was altered: it does not follow entry 3"
    )
    assert chain.first_break([*log[:1], *log[2:]], head) == (
        "entry 2 is missing (the next entry found is 3)"
    )
    assert chain.first_break(log[:4], head) == "entry 5 is missing (the log should end at entry 5)"


def test_sign_off_in_the_catalogue_must_be_true_or_false(tmp_path: Path) -> None:
    broken = tmp_path / "catalog"
    shutil.copytree(DEFAULT_CATALOG_DIR, broken)
    tot = broken / "tot-400.toml"
    tot.write_text(tot.read_text().replace("sign_off = true", 'sign_off = "yes"'))
    with pytest.raises(CatalogInvalid) as error:
        read_catalog_dir(broken, "https://acbc.iom.int/xapi")
    assert "tot-400.toml: certification.sign_off: must be true or false" in str(error.value.errors)
