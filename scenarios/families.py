"""When the families of home-taught students can receive a visit (generated districts)."""

from __future__ import annotations

import dataclasses

from numpy.random import Generator

from lrcplan.models.entities import Student
from lrcplan.models.policy import Policy

#: Families of home-taught students: share that name days of their own, and the windows
#: they offer (assumption: most take any school-day time, some mornings or afternoons).
FAMILY_DAYS_SHARE = 0.3
FAMILY_WINDOWS = ((None, None), (None, None), ("08:30", "12:00"), ("13:30", "17:00"))


def family_availability(rng: Generator, students: list[Student], policy: Policy
                        ) -> list[Student]:
    """When each home-taught student's family can receive a visit (days, time window)."""
    week = list(policy.school_days)
    out = []
    for st in students:
        if not st.unable_to_attend:
            out.append(st)
            continue
        days: tuple[str, ...] = ()
        if rng.random() < FAMILY_DAYS_SHARE and len(week) > 3:
            # Enough days for the weekly visits on different days, with one to spare.
            k = min(len(week), policy.home_visits_per_week + 1)
            days = tuple(sorted(rng.choice(week, k, replace=False).tolist(), key=week.index))
        start, end = FAMILY_WINDOWS[int(rng.integers(len(FAMILY_WINDOWS)))]
        out.append(dataclasses.replace(st, family_days=days, family_start=start,
                                       family_end=end))
    return out
