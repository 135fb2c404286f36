"""Placement tiers: every boundary of the reference standard, evidence order, reasons."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lrcplan.models.eligibility import EligibilityStandard, default_standard
from lrcplan.models.entities import Assessment, Category, Severity, Student, Tier
from lrcplan.optimizer.placement import decide

STD = default_standard()


def student(category: Category = Category.INTELLECTUAL, **scores: object) -> Student:
    """A grade-3 student with the given assessment scores and nothing else."""
    fields = {k: v for k, v in scores.items()
              if k in ("severity", "tier", "unable_to_attend", "categories")}
    a = Assessment(**{k: v for k, v in scores.items() if k not in fields})  # type: ignore[arg-type]
    return Student("S1", 120.0, 30.0, 3, category, assessment=a, **fields)  # type: ignore[arg-type]


def tier(category: Category, **scores: object) -> Tier | None:
    return decide(student(category, **scores), STD).tier


L, S, H = Tier.LRC, Tier.SPECIAL, Tier.HOME


@pytest.mark.parametrize(("iq", "want"), [(49, S), (50, L), (69, L), (70, L), (120, L)])
def test_iq_boundaries_with_mild_adaptive(iq: float, want: Tier) -> None:
    assert tier(Category.INTELLECTUAL, iq=iq, adaptive="mild") is want


@pytest.mark.parametrize(("adaptive", "want"), [("none", L), ("mild", L), ("moderate", S),
                                                ("severe", S)])
def test_iq_in_range_needs_mild_adaptive(adaptive: str, want: Tier) -> None:
    assert tier(Category.INTELLECTUAL, iq=60, adaptive=adaptive) is want


def test_iq_in_range_without_adaptive_falls_back_to_severity() -> None:
    assert tier(Category.INTELLECTUAL, iq=60) is None
    d = decide(student(Category.INTELLECTUAL, iq=60, severity=Severity.MODERATE), STD)
    assert (d.tier, d.basis) == (S, "severity")


@pytest.mark.parametrize(("dq", "want"), [(54, S), (55, L), (75, L)])
def test_dq_boundaries_when_no_iq(dq: float, want: Tier) -> None:
    assert tier(Category.INTELLECTUAL, dq=dq, adaptive="mild") is want


@pytest.mark.parametrize(("acuity", "want"), [(0.05, S), (0.099, S), (0.1, L), (0.29, L),
                                              (0.3, L)])
def test_vision_boundaries(acuity: float, want: Tier) -> None:
    assert tier(Category.VISION, acuity=acuity) is want


@pytest.mark.parametrize(("db", "aided", "want"), [
    (40, None, L), (41, None, L), (60, None, L), (61, None, S), (61, "suitable", L),
    (90, "optimal", L), (90, "fair", S), (None, "poor", S), (None, "suitable", L)])
def test_hearing_boundaries(db: float | None, aided: str | None, want: Tier) -> None:
    assert tier(Category.HEARING, hearing_db=db, aided_result=aided) is want


@pytest.mark.parametrize(("pct", "want"), [(45, S), (46, L), (65, L), (66, L)])
def test_speech_boundaries(pct: float, want: Tier) -> None:
    assert tier(Category.SPEECH, intelligibility_pct=pct) is want


@pytest.mark.parametrize(("grade", "want"), [(1, S), (3, S), (4, L)])
def test_physical_grades(grade: int, want: Tier) -> None:
    assert tier(Category.PHYSICAL, physical_grade=grade) is want


@pytest.mark.parametrize(("whodas", "adaptive", "want"), [
    (51, None, L), (52, "mild", L), (95, "mild", L), (96, "mild", S), (80, "moderate", S)])
def test_mental_boundaries(whodas: float, adaptive: str | None, want: Tier) -> None:
    assert tier(Category.MENTAL, whodas=whodas, adaptive=adaptive) is want


def autism(**kw: object) -> Tier | None:
    return tier(Category.AUTISM, autism_prescreen=True, **kw)


def test_autism_prescreen_must_pass() -> None:
    assert tier(Category.AUTISM, autism_prescreen=False, ppvt_iq=100, cars_total=20,
                cars_max_item=2, pep_age_months=90) is S


@pytest.mark.parametrize(("cars_total", "want"), [(30, L), (31, S)])
def test_autism_cars_total_boundary(cars_total: float, want: Tier) -> None:
    # PPVT fails (70 is not above 70), so CARS decides together with PEP.
    assert autism(ppvt_iq=70, cars_total=cars_total, cars_max_item=3,
                  pep_age_months=72) is want


@pytest.mark.parametrize(("item", "want"), [(3, L), (3.5, L), (4, S)])
def test_autism_item_at_four_fails_cars(item: float, want: Tier) -> None:
    assert autism(ppvt_iq=60, cars_total=25, cars_max_item=item, pep_age_months=80) is want


@pytest.mark.parametrize(("ppvt", "pep", "want"), [(71, 72, L), (70, 72, S), (71, 71, S)])
def test_autism_two_of_three(ppvt: float, pep: float, want: Tier) -> None:
    assert autism(ppvt_iq=ppvt, cars_total=35, cars_max_item=2, pep_age_months=pep) is want


def test_autism_missing_indicator_that_could_decide_is_undecided() -> None:
    assert autism(ppvt_iq=80) is None  # one met, two unknown: the scores decide
    assert autism(ppvt_iq=60, cars_total=40, cars_max_item=2) is S  # two failed, one unknown


def test_multiple_takes_the_strictest_component() -> None:
    d = decide(student(Category.MULTIPLE, categories=(Category.HEARING, Category.VISION),
                       hearing_db=50, acuity=0.05), STD)
    assert d.tier is S and "hearing:" in d.reason and "vision:" in d.reason
    d = decide(student(Category.MULTIPLE, categories=(Category.HEARING, Category.VISION),
                       hearing_db=50, acuity=0.2), STD)
    assert d.tier is L


def test_multiple_with_a_component_missing_uses_severity_too() -> None:
    d = decide(student(Category.MULTIPLE, categories=(Category.HEARING, Category.SPEECH),
                       hearing_db=50, severity=Severity.MODERATE), STD)
    assert (d.tier, d.basis) == (S, "assessment+severity")
    assert "no complete scores for speech" in d.reason


def test_evidence_order_given_then_home_then_assessment_then_severity() -> None:
    d = decide(student(iq=40, adaptive="severe", tier=Tier.LRC), STD)
    assert (d.tier, d.basis) == (L, "given") and "expert committee" in d.reason
    d = decide(student(iq=65, adaptive="mild", unable_to_attend=True,
                       severity=Severity.SEVERE), STD)
    assert (d.tier, d.basis) == (H, "given")
    d = decide(student(iq=65, adaptive="mild", severity=Severity.SEVERE), STD)
    assert (d.tier, d.basis) == (L, "assessment")
    assert d.reason == ("regular class (LRC): IQ 65 is within 50-69 and adaptive-behaviour "
                        "deficit mild (Tianjin reference standard (annex 1-3))")
    d = decide(student(severity=Severity.MILD), STD)
    assert (d.tier, d.basis) == (L, "severity")
    d = decide(student(), STD)
    assert (d.tier, d.basis) == (None, "undecided") and "expert committee" in d.reason


def test_a_district_changes_numbers_not_code() -> None:
    looser = replace(STD, intellectual=replace(STD.intellectual, iq_min=45))
    s = student(iq=47, adaptive="mild")
    assert decide(s, STD).tier is S and decide(s, looser).tier is L


def test_standard_file_reports_bad_keys(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from lrcplan.models.errors import ScenarioError

    text = STD.to_toml().replace("iq_min = 50", "iq_minimum = 50")
    path = tmp_path / "std.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        EligibilityStandard.from_toml(path)
    assert {str(p) for p in info.value.problems} == {
        "std.toml: intellectual.iq_minimum: unknown key",
        "std.toml: intellectual.iq_min: value is missing"}
