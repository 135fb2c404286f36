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


def _reason_problem(st: Student, tier: Tier | None, basis: str, reason: str,
                    std: EligibilityStandard) -> str | None:
    """What is wrong with a written reason for the verified tier and basis, if anything."""
    if tier is None:
        return None if reason.startswith("no tier given") else "the reason must say why " \
                                                                "no tier could be decided"
    head = f"{TIER_TEXT[tier]}: "
    if not reason.startswith(head):
        return f"the reason must begin {head!r}"
    if basis == "given":
        want = ("tier given by the expert committee" if st.tier is not None
                else "unable to attend school")
        return None if want in reason else f"the reason must say {want!r}"
    if basis in ("severity", "assessment+severity"):
        sev = f"severity {st.severity.value}"  # type: ignore[union-attr]
        if sev not in reason:
            return f"the reason must cite {sev!r}"
    if basis == "assessment" and f"({std.name})" not in reason:
        return f"the reason must name the standard ({std.name})"
    cats = st.categories if st.category is Category.MULTIPLE else (st.category,)
    for c in cats:
        if THRESHOLDS[c](st.assessment, std) is None:
            continue  # incomplete scores decide nothing, so the reason need not cite them
        for name in CITED[c]:
            value = getattr(st.assessment, name)
            if value is None:
                continue
            shown = value if isinstance(value, str) else f"{value:g}"
            if shown not in reason:
                return f"the reason does not cite the student's {name} ({shown})"
            break
    return None


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
