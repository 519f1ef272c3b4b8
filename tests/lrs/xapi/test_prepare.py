"""Statement ids the LRS gives: random UUIDs, never handed out twice, not even across a fork."""

from __future__ import annotations

import os
import uuid

from lrs.xapi.prepare import new_statement_id


def test_new_ids_are_distinct_version_4_uuids_in_standard_form() -> None:
    ids = [new_statement_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    for value in ids[:500]:
        parsed = uuid.UUID(value)
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
        assert str(parsed) == value


def test_a_forked_process_does_not_repeat_its_parents_ids() -> None:
    new_statement_id()  # the parent now holds ids in reserve
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:
        os.write(writer, new_statement_id().encode())
        os._exit(0)
    os.close(writer)
    os.waitpid(child, 0)
    child_id = os.read(reader, 64).decode()
    os.close(reader)
    assert child_id != new_statement_id()
