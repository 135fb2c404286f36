"""Placement: each student's tier (regular class, special school, home) with a reason.

Order of evidence: a tier given by the expert committee; else the assessment scores of
the student's category against the eligibility standard (models/standard.toml); else the
recorded severity. A student flagged unable to attend school is taught at home.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from lrcplan.models.eligibility import EligibilityStandard
from lrcplan.models.entities import Assessment, Category, Severity, Student, Tier
from lrcplan.models.placement import Decision, PlacementOptions, PlacementResult
from lrcplan.models.plan import StageSummary, Status
from lrcplan.models.scenario import Scenario

#: A category's verdict: (tier, reason), or None when its scores are not all there.
Verdict = tuple[Tier, str] | None

_STRICTNESS = {Tier.LRC: 0, Tier.SPECIAL: 1, Tier.HOME: 2}


def _num(x: float) -> str:
    return f"{x:g}"


def vision_tier(a: Assessment, std: EligibilityStandard) -> Verdict:
    """Low vision (acuity in range) studies in a regular class; blindness needs a special school."""
    v = std.vision
    if a.acuity is None:
        return None
    if a.acuity < v.acuity_min:
        return Tier.SPECIAL, f"best corrected acuity {_num(a.acuity)} is below {_num(v.acuity_min)}"
    if a.acuity < v.acuity_below:
        return Tier.LRC, (f"best corrected acuity {_num(a.acuity)} is low vision "
                          f"({_num(v.acuity_min)} to below {_num(v.acuity_below)})")
    return Tier.LRC, f"best corrected acuity {_num(a.acuity)} is not below {_num(v.acuity_below)}"


def hearing_tier(a: Assessment, std: EligibilityStandard) -> Verdict:
    """Hearing loss up to the limit, or a good aided result, qualifies for a regular class."""
    h = std.hearing
    if a.hearing_db is None and a.aided_result is None:
        return None
    if a.hearing_db is not None and a.hearing_db <= h.db_max:
        where = "within" if a.hearing_db >= h.db_min else "below"
        return Tier.LRC, (f"better-ear hearing loss {_num(a.hearing_db)} dB HL is {where} "
                          f"{_num(h.db_min)}-{_num(h.db_max)} dB HL")
    if a.aided_result in h.aided_ok:
        loss = "" if a.hearing_db is None else f"hearing loss {_num(a.hearing_db)} dB HL, but "
        return Tier.LRC, f"{loss}aided result {a.aided_result}"
    if a.hearing_db is None:
        return Tier.SPECIAL, f"aided result {a.aided_result} (needs {'/'.join(h.aided_ok)})"
    aided = f"aided result {a.aided_result}" if a.aided_result else "no aided result given"
    return Tier.SPECIAL, (f"better-ear hearing loss {_num(a.hearing_db)} dB HL is above "
                          f"{_num(h.db_max)} and {aided}")


def speech_tier(a: Assessment, std: EligibilityStandard) -> Verdict:
    """Speech intelligibility at or above the minimum qualifies for a regular class."""
    s = std.speech
    if a.intelligibility_pct is None:
        return None
    pct = _num(a.intelligibility_pct)
    if a.intelligibility_pct < s.intelligibility_min:
        return Tier.SPECIAL, (f"speech intelligibility {pct}% is below "
                              f"{_num(s.intelligibility_min)}%")
    return Tier.LRC, (f"speech intelligibility {pct}% is at least "
                      f"{_num(s.intelligibility_min)}%")


def physical_tier(a: Assessment, std: EligibilityStandard) -> Verdict:
    """Only the listed (mild) physical impairment grades qualify for a regular class."""
    if a.physical_grade is None:
        return None
    ok = ", ".join(str(g) for g in std.physical.grades_ok)
    if a.physical_grade in std.physical.grades_ok:
        return Tier.LRC, f"physical impairment grade {a.physical_grade} (qualifying: {ok})"
    return Tier.SPECIAL, f"physical impairment grade {a.physical_grade} (qualifying: {ok})"


def _adaptive(a: Assessment, ok: tuple[str, ...], measure: str) -> Verdict:
    """The adaptive-behaviour half of the intellectual and mental rules."""
    if a.adaptive is None:
        return None  # the standard needs both halves: fall back to severity
    if a.adaptive in ok:
        return Tier.LRC, f"{measure} and adaptive-behaviour deficit {a.adaptive}"
    return Tier.SPECIAL, f"{measure} but adaptive-behaviour deficit {a.adaptive}"


def intellectual_tier(a: Assessment, std: EligibilityStandard) -> Verdict:
    """IQ (7+) or DQ (0-6) in range AND a mild adaptive deficit qualifies."""
    r = std.intellectual
    if a.iq is not None:
        name, value, lo, hi = "IQ", a.iq, r.iq_min, r.iq_max
    elif a.dq is not None:
        name, value, lo, hi = "DQ", a.dq, r.dq_min, r.dq_max
    else:
        return None
    if value < lo:
        return Tier.SPECIAL, f"{name} {_num(value)} is below {_num(lo)}"
    if value > hi:
        return Tier.LRC, f"{name} {_num(value)} is above the {_num(lo)}-{_num(hi)} range"
    return _adaptive(a, r.adaptive_ok, f"{name} {_num(value)} is within {_num(lo)}-{_num(hi)}")


def mental_tier(a: Assessment, std: EligibilityStandard) -> Verdict:
    """WHO-DAS II up to the maximum AND a mild adaptive deficit qualifies."""
    m = std.mental
    if a.whodas is None:
        return None
    if a.whodas > m.whodas_max:
        return Tier.SPECIAL, f"WHO-DAS II {_num(a.whodas)} is above {_num(m.whodas_max)}"
    if a.whodas < m.whodas_min:
        return Tier.LRC, f"WHO-DAS II {_num(a.whodas)} is below {_num(m.whodas_min)}"
    return _adaptive(a, m.adaptive_ok, f"WHO-DAS II {_num(a.whodas)} is within "
                                       f"{_num(m.whodas_min)}-{_num(m.whodas_max)}")


def autism_tier(a: Assessment, std: EligibilityStandard) -> Verdict:
    """A passed pre-screen, then at least N of the three professional indicators."""
    r = std.autism
    if a.autism_prescreen is None:
        return None
    if not a.autism_prescreen:
        return Tier.SPECIAL, "the 23-item pre-screen was not passed"
    checks: list[tuple[str, bool | None]] = [
        (f"PPVT IQ above {_num(r.ppvt_iq_above)}",
         None if a.ppvt_iq is None else a.ppvt_iq > r.ppvt_iq_above),
        (f"CARS total at most {_num(r.cars_total_max)} with no item at {_num(r.cars_item_below)}"
         " or above",
         None if a.cars_total is None or a.cars_max_item is None
         else a.cars_total <= r.cars_total_max and a.cars_max_item < r.cars_item_below),
        (f"PEP age at least {_num(r.pep_age_min_months)} months",
         None if a.pep_age_months is None else a.pep_age_months >= r.pep_age_min_months),
    ]
    met = [name for name, ok in checks if ok]
    unknown = sum(ok is None for _, ok in checks)
    need = r.indicators_needed
    if len(met) >= need:
        return Tier.LRC, f"pre-screen passed and {len(met)} of 3 indicators met ({'; '.join(met)})"
    if len(met) + unknown >= need:
        return None  # could still qualify: the missing scores decide
    return Tier.SPECIAL, f"pre-screen passed but only {len(met)} of 3 indicators met (need {need})"


RULES: dict[Category, Callable[[Assessment, EligibilityStandard], Verdict]] = {
    Category.VISION: vision_tier,
    Category.HEARING: hearing_tier,
    Category.SPEECH: speech_tier,
    Category.PHYSICAL: physical_tier,
    Category.INTELLECTUAL: intellectual_tier,
    Category.MENTAL: mental_tier,
    Category.AUTISM: autism_tier,
}

SEVERITY_TIER = {Severity.MILD: Tier.LRC, Severity.MODERATE: Tier.SPECIAL,
                 Severity.SEVERE: Tier.SPECIAL}


def _tier_text(tier: Tier) -> str:
    return {Tier.LRC: "regular class (LRC)", Tier.SPECIAL: "special school",
            Tier.HOME: "home-delivered education"}[tier]


def decide(student: Student, std: EligibilityStandard) -> Decision:
    """The placement decision for one student, with its reason."""
    sid = student.id
    if student.tier is not None:
        return Decision(sid, student.tier, "given",
                        f"{_tier_text(student.tier)}: tier given by the expert committee")
    if student.unable_to_attend:
        return Decision(sid, Tier.HOME, "given", "home-delivered education: unable to attend "
                                                "school (flagged in the data)")
    cats = student.categories if student.category is Category.MULTIPLE else (student.category,)
    verdicts = {c: RULES[c](student.assessment, std) for c in cats}
    known = {c: v for c, v in verdicts.items() if v is not None}
    sev = SEVERITY_TIER.get(student.severity) if student.severity else None
    if known:
        tier = max((v[0] for v in known.values()), key=_STRICTNESS.__getitem__)
        why = "; ".join(f"{c.value}: {v[1]}" if len(cats) > 1 else v[1]
                        for c, v in known.items())
        if len(known) == len(cats):
            return Decision(sid, tier, "assessment", f"{_tier_text(tier)}: {why} ({std.name})")
        if sev is not None:
            tier = max(tier, sev, key=_STRICTNESS.__getitem__)
            missing = ", ".join(c.value for c in cats if c not in known)
            return Decision(sid, tier, "assessment+severity",
                            f"{_tier_text(tier)}: {why}; no complete scores for {missing}, "
                            f"severity {student.severity.value}")  # type: ignore[union-attr]
    if sev is not None:
        return Decision(sid, sev, "severity",
                        f"{_tier_text(sev)}: severity {student.severity.value}"  # type: ignore[union-attr]
                        " (no complete assessment scores)")
    cat_text = "/".join(c.value for c in cats)
    return Decision(sid, None, "undecided",
                    f"no tier given, no complete {cat_text} assessment and no severity: "
                    "refer to the expert committee")


def solve_placement(scenario: Scenario,
                    options: PlacementOptions | None = None) -> PlacementResult:
    """Decide every student's tier by the scenario's eligibility standard."""
    opt = options or PlacementOptions()
    t0 = time.perf_counter()
    decisions = tuple(decide(s, scenario.standard) for s in scenario.students)
    summary = StageSummary("placement", Status.DONE, time.perf_counter() - t0,
                           engine="rules: " + scenario.standard.name,
                           proof="every tier follows from the data by the standard's rules")
    return PlacementResult(summary, decisions, opt)
