"""Checker rules of the placement stage: tiers re-derived from the standard's thresholds.

This is a second, separate reading of the eligibility standard (models/standard.toml):
it does not call `optimizer.placement`, so a mistake there cannot hide itself here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from lrcplan.models.eligibility import EligibilityStandard
from lrcplan.models.entities import Assessment, Category, Severity, Student, Tier
from lrcplan.models.placement import PlacementResult
from lrcplan.models.plan import Plan, Violation
from lrcplan.models.scenario import Scenario

_ORDER = (Tier.LRC, Tier.SPECIAL, Tier.HOME)  # least to most restrictive
TIER_TEXT = {Tier.LRC: "regular class (LRC)", Tier.SPECIAL: "special school",
             Tier.HOME: "home-delivered education"}
_BY_SEVERITY = {Severity.MILD: Tier.LRC, Severity.MODERATE: Tier.SPECIAL,
                Severity.SEVERE: Tier.SPECIAL}


def _within(ok: bool) -> Tier:
    return Tier.LRC if ok else Tier.SPECIAL


def _adaptive_half(a: Assessment, allowed: tuple[str, ...]) -> Tier | None:
    return None if a.adaptive is None else _within(a.adaptive in allowed)


def _vision(a: Assessment, s: EligibilityStandard) -> Tier | None:
    return None if a.acuity is None else _within(a.acuity >= s.vision.acuity_min)


def _hearing(a: Assessment, s: EligibilityStandard) -> Tier | None:
    if a.hearing_db is None and a.aided_result is None:
        return None
    loss_ok = a.hearing_db is not None and a.hearing_db <= s.hearing.db_max
    return _within(loss_ok or a.aided_result in s.hearing.aided_ok)


def _speech(a: Assessment, s: EligibilityStandard) -> Tier | None:
    if a.intelligibility_pct is None:
        return None
    return _within(a.intelligibility_pct >= s.speech.intelligibility_min)


def _physical(a: Assessment, s: EligibilityStandard) -> Tier | None:
    return None if a.physical_grade is None else _within(
        a.physical_grade in s.physical.grades_ok)


def _intellectual(a: Assessment, s: EligibilityStandard) -> Tier | None:
    r = s.intellectual
    value, lo, hi = ((a.iq, r.iq_min, r.iq_max) if a.iq is not None
                     else (a.dq, r.dq_min, r.dq_max))
    if value is None:
        return None
    if value < lo or value > hi:
        return _within(value > hi)
    return _adaptive_half(a, r.adaptive_ok)


def _mental(a: Assessment, s: EligibilityStandard) -> Tier | None:
    m = s.mental
    if a.whodas is None:
        return None
    if a.whodas < m.whodas_min or a.whodas > m.whodas_max:
        return _within(a.whodas < m.whodas_min)
    return _adaptive_half(a, m.adaptive_ok)


def _autism(a: Assessment, s: EligibilityStandard) -> Tier | None:
    r = s.autism
    if a.autism_prescreen is None:
        return None
    if not a.autism_prescreen:
        return Tier.SPECIAL
    cars = (None if a.cars_total is None or a.cars_max_item is None
            else a.cars_total <= r.cars_total_max and a.cars_max_item < r.cars_item_below)
    marks = [None if a.ppvt_iq is None else a.ppvt_iq > r.ppvt_iq_above, cars,
             None if a.pep_age_months is None else a.pep_age_months >= r.pep_age_min_months]
    met, open_ = marks.count(True), marks.count(None)
    if met >= r.indicators_needed:
        return Tier.LRC
    return None if met + open_ >= r.indicators_needed else Tier.SPECIAL


THRESHOLDS: dict[Category, Callable[[Assessment, EligibilityStandard], Tier | None]] = {
    Category.VISION: _vision, Category.HEARING: _hearing, Category.SPEECH: _speech,
    Category.PHYSICAL: _physical, Category.INTELLECTUAL: _intellectual,
    Category.MENTAL: _mental, Category.AUTISM: _autism,
}

#: The score a reason must cite for each category (the first one the student has).
CITED: dict[Category, tuple[str, ...]] = {
    Category.VISION: ("acuity",), Category.HEARING: ("hearing_db", "aided_result"),
    Category.SPEECH: ("intelligibility_pct",), Category.PHYSICAL: ("physical_grade",),
    Category.INTELLECTUAL: ("iq", "dq"), Category.MENTAL: ("whodas",),
    Category.AUTISM: (),
}


def _strictest(tiers: Iterable[Tier]) -> Tier:
    return max(tiers, key=_ORDER.index)


def expected(st: Student, std: EligibilityStandard) -> tuple[Tier | None, str]:
    """The tier and basis the standard gives a student, evaluated afresh."""
    if st.tier is not None:
        return st.tier, "given"
    if st.unable_to_attend:
        return Tier.HOME, "given"
    cats = st.categories if st.category is Category.MULTIPLE else (st.category,)
    known = [t for t in (THRESHOLDS[c](st.assessment, std) for c in cats) if t is not None]
    sev = _BY_SEVERITY.get(st.severity) if st.severity is not None else None
    if known and len(known) == len(cats):
        return _strictest(known), "assessment"
    if known and sev is not None:
        return _strictest([*known, sev]), "assessment+severity"
    if sev is not None:
        return sev, "severity"
    return None, "undecided"


def _cited_scores(st: Student, std: EligibilityStandard) -> list[str]:
    """The scores a reason must cite: the first one given of each deciding category."""
    out = []
    for c in st.categories if st.category is Category.MULTIPLE else (st.category,):
        if THRESHOLDS[c](st.assessment, std) is None:
            continue  # incomplete scores decide nothing, so the reason need not cite them
        for name in CITED[c]:
            value = getattr(st.assessment, name)
            if value is not None:
                out.append(value if isinstance(value, str) else f"{value:g}")
                break
    return out


def _reason_problem(st: Student, tier: Tier | None, basis: str, reason: str,
                    std: EligibilityStandard) -> str | None:
    """What is wrong with a written reason for the verified tier and basis, if anything.

    Where the wording is fixed (a committee's tier, unable to attend, severity only,
    undecided) the reason must be exactly it; an assessment's reason must begin with the
    tier, end with the standard's name (or the severity it fell back on) and cite the
    deciding scores.
    """
    cats = st.categories if st.category is Category.MULTIPLE else (st.category,)
    sev = f"severity {st.severity.value}" if st.severity is not None else ""
    if tier is None:
        exact = (f"no tier given, no complete {'/'.join(c.value for c in cats)} assessment "
                 "and no severity: refer to the expert committee")
    elif basis == "given":
        exact = (f"{TIER_TEXT[tier]}: tier given by the expert committee"
                 if st.tier is not None else
                 f"{TIER_TEXT[tier]}: unable to attend school (flagged in the data)")
    elif basis == "severity":
        exact = f"{TIER_TEXT[tier]}: {sev} (no complete assessment scores)"
    else:
        head = f"{TIER_TEXT[tier]}: "
        tail = f" ({std.name})" if basis == "assessment" else f", {sev}"
        if not (reason.startswith(head) and reason.endswith(tail)):
            return f"the reason must begin {head!r} and end {tail!r}"
        for shown in _cited_scores(st, std):
            if shown not in reason:
                return f"the reason does not cite the student's score {shown}"
        return None
    return None if reason == exact else f"the reason must read {exact!r}"


def check_decisions(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: one decision per student, with the tier, basis and reason the standard gives."""
    decisions = plan.get(PlacementResult).decisions
    seen = Counter(d.student_id for d in decisions)
    for sid, n in sorted(seen.items()):
        if sid not in sc.student_by_id:
            yield Violation("tier", sid, "decision for a student not in the scenario")
        elif n > 1:
            yield Violation("tier", sid, f"{n} placement decisions")
    for st in sc.students:
        if st.id not in seen:
            yield Violation("tier", st.id, "no placement decision")
    for d in decisions:
        st = sc.student_by_id.get(d.student_id)
        if st is None:
            continue
        tier, basis = expected(st, sc.standard)
        if d.tier != tier:
            got = d.tier.value if d.tier else "undecided"
            yield Violation("tier", d.student_id, f"tier {got}, the standard gives "
                                                  f"{tier.value if tier else 'undecided'}")
        elif d.basis != basis:
            yield Violation("tier", d.student_id, f"basis {d.basis!r}, the data give "
                                                  f"{basis!r}")
        else:
            problem = _reason_problem(st, tier, basis, d.reason, sc.standard)
            if problem:
                yield Violation("reason", d.student_id, f"{problem}: {d.reason!r}")


RULES = (check_decisions,)
