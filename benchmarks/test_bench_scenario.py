"""Foundation benchmark: generate, save and validate a 100,000-student district."""

from __future__ import annotations

import time
from pathlib import Path

from lrcplan.models.io import load_scenario, save_scenario
from lrcplan.scenarios.generator import generate


def _generate_save_validate(out: Path) -> dict[str, float]:
    t0 = time.perf_counter()
    sc = generate("xiaoshan", seed=1, scale=100)
    t1 = time.perf_counter()
    save_scenario(sc, out)
    t2 = time.perf_counter()
    again = load_scenario(out)
    t3 = time.perf_counter()
    assert again == sc
    return {"students": len(sc.students), "schools": len(sc.schools),
            "classes": len(sc.classes), "generate_s": t1 - t0, "save_s": t2 - t1,
            "validate_s": t3 - t2, "total_s": t3 - t0}


def test_generate_and_validate_100k(benchmark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`lrcplan generate xiaoshan --scale 100` then `validate`: target under 120 s."""
    info = benchmark.pedantic(_generate_save_validate, args=(tmp_path / "x100",),
                              rounds=1, iterations=1)
    benchmark.extra_info.update(info)
    print(f"\n100k district: {info}")
    assert info["students"] >= 100_000
    assert info["total_s"] < 120
