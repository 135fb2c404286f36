"""Readable text summaries of a scenario (the `lrcplan info` command)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from lrcplan.models.entities import Role, SchoolKind, Severity, Tier
from lrcplan.models.scenario import Scenario


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]], *,
                 title: str | None = None) -> str:
    """A fixed-width text table; numbers right-aligned, text left-aligned."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [all(isinstance(r[i], int | float) for r in rows) and bool(rows)
               for i in range(len(headers))]

    def line(r: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if num else c.ljust(w)
                         for c, w, num in zip(r, widths, numeric, strict=True)).rstrip()

    out = [title] if title else []
    out += [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells[1:]]
    return "\n".join(out)


def _cell(v: object) -> str:
    if isinstance(v, float):
        return f"{v:,.1f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def likely_lrc(sc: Scenario) -> Counter[int]:
    """Students per grade who look like LRC before placement: given tier LRC, or mild."""
    return Counter(s.grade for s in sc.students
                   if s.tier is Tier.LRC or (s.tier is None and s.severity is Severity.MILD))


def scenario_summary(sc: Scenario) -> str:
    """The `info` text: schools, students, teachers and seats per grade against demand."""
    parts = [f"Scenario: {sc.name}   CRS: {sc.crs}   towns: {len(sc.towns)}   "
             f"schools: {len(sc.schools)}   classes: {len(sc.classes)}   "
             f"students: {len(sc.students)}   teachers: {len(sc.teachers)}"]

    kinds = [k.value for k in SchoolKind]
    by_town: dict[str, Counter[str]] = {}
    rooms: Counter[str] = Counter()
    for s in sc.schools:
        by_town.setdefault(s.town, Counter())[s.kind.value] += 1
        rooms[s.town] += s.resource_room
    rows = [[town, *(c[k] for k in kinds), rooms[town]] for town, c in sorted(by_town.items())]
    rows.append(["total", *(sum(c[k] for c in by_town.values()) for k in kinds),
                 sum(rooms.values())])
    parts.append(format_table(["town", *kinds, "resource rooms"], rows,
                              title="\nSchools by kind and town"))

    sev_names = [s.value for s in Severity] + ["assessed only"]
    cats = sorted({s.category.value for s in sc.students})
    by_cat: dict[str, Counter[str]] = {c: Counter() for c in cats}
    for st in sc.students:
        by_cat[st.category.value][st.severity.value if st.severity else "assessed only"] += 1
    parts.append(format_table(
        ["category", *sev_names, "total"],
        [[c, *(by_cat[c][s] for s in sev_names), sum(by_cat[c].values())] for c in cats],
        title="\nStudents by category and severity"))

    grades = sc.policy.grades
    per_grade = Counter(s.grade for s in sc.students)
    lrc = likely_lrc(sc)
    incumbents = Counter(s.grade for s in sc.students
                         if s.current_school and sc.school_by_id[s.current_school].kind
                         is SchoolKind.REGULAR)
    reg = {s.id for s in sc.schools if s.kind is SchoolKind.REGULAR}
    classes = Counter(c.grade for c in sc.classes if c.school_id in reg)
    cap = sc.policy.max_lrc_per_class
    parts.append(format_table(
        ["grade", "students", "likely LRC", "enrolled LRC", "regular classes",
         f"LRC seats (x{cap})", "seats left"],
        [[g, per_grade[g], lrc[g], incumbents[g], classes[g], classes[g] * cap,
          classes[g] * cap - incumbents[g]] for g in grades],
        title="\nStudents and LRC seats by grade"))

    roles = [r.value for r in Role]
    skills = sorted({c.value for t in sc.teachers for c in t.skills})
    by_role = {r: Counter() for r in roles}
    for t in sc.teachers:
        by_role[t.role.value]["teachers"] += 1
        for c in t.skills:
            by_role[t.role.value][c.value] += 1
    parts.append(format_table(
        ["role", "teachers", *skills],
        [[r, by_role[r]["teachers"], *(by_role[r][s] for s in skills)] for r in roles],
        title="\nTeachers by role and skill"))
    if sc.notes:
        parts.append("\nNotes:\n" + "\n".join(f"  {n}" for n in sc.notes))
    return "\n".join(parts)
