"""Benchmark fixtures: generated districts are built once per session (seeded)."""

from __future__ import annotations

from functools import cache

from lrcplan.models.scenario import Scenario
from lrcplan.scenarios.generator import generate

SEED = 1


@cache
def district(preset: str, scale: float) -> Scenario:
    """A generated district, cached across benchmarks of one session."""
    return generate(preset, seed=SEED, scale=scale)
