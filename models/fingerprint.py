"""A digest of a scenario's content, so that a plan is only ever checked against its own.

The digest covers what a plan depends on: every entity, the policy, the eligibility
standard and the road file's bytes. It does not depend on file formats or encodings
(the same district saved as XLSX or CSV has one fingerprint) nor on the folder's path.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from lrcplan.models.scenario import Scenario

DIGEST_CHARS = 16  # 64 bits: collisions between a district's own scenarios are not a risk


def scenario_fingerprint(sc: Scenario) -> str:
    """A short hex digest of the scenario's content."""
    h = hashlib.sha256()

    def feed(part: str, rows: Iterable[object]) -> None:
        # Dataclass reprs name every field and value (floats exactly), nested ones too.
        h.update(part.encode())
        h.update("\n".join(map(repr, rows)).encode("utf-8", "surrogatepass"))

    feed("policy", [sc.policy])
    feed("standard", [sc.standard])
    feed("schools", sc.schools)
    feed("classes", sc.classes)
    feed("students", sc.students)
    feed("teachers", ((t.id, t.role, t.base, tuple(sorted(t.skills)), t.days, t.start, t.end,
                       t.max_minutes_per_day) for t in sc.teachers))
    feed("towns", ((t.name, t.geometry.wkb_hex) for t in sc.towns))
    if sc.sessions:  # pinned sessions shape the timetable; without any, digests unchanged
        feed("sessions", sc.sessions)
    if sc.roads is not None:
        h.update(b"roads")
        h.update(hashlib.sha256(sc.roads.read_bytes()).digest())
    return h.hexdigest()[:DIGEST_CHARS]
