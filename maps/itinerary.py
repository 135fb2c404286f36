"""Teacher itineraries: one iCalendar file per teacher, and a teacher's week as text.

`itineraries/<teacher_id>.ics` (RFC 5545, written with the `icalendar` package) holds an
event per visit and per lunch break of the teacher's routes; leaving and coming back to
the base are not events (the travel of each leg is in the next event's description).

* SUMMARY: the kind and the place ("Itinerant visit: <school>", "Home visit: <student
  id>", "Lunch").
* LOCATION: the school's name and town; for a home, the privacy-grid cell only
  ("grid cell E120.123 N30.456 (1 km)", its centre): never the student's coordinates,
  address or name. A lunch taken at a home shows that cell too.
* DESCRIPTION: the visit id, the duration and the travel from the previous stop.
* DTSTART/DTEND: local times with TZID=Asia/Shanghai (a VTIMEZONE is included).
* Dates: the plan's horizon is "week 1, week 2" of school days, not dates. Week 1 is
  the week starting on the first Monday strictly after the date the plan was made
  (`plan.created`; a plan made on a Monday starts a week later); week w is 7 (w - 1)
  days after it, and each day name is its weekday in that week.
* UID: "<visit id>/<teacher>/W<week>-<day>@lrcplan" (lunch: "lunch/<teacher>/...") and
  DTSTAMP: the plan's `created` time, read as Asia/Shanghai time: the same plan writes
  the same files, and re-importing a calendar updates its events instead of doubling
  them.

A file is named by the teacher id, with any character outside letters, digits, '.',
'_' and '-' replaced by '_'.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from lrcplan.maps.routes import Place, day_order, places, sorted_days
from lrcplan.models.errors import InputError
from lrcplan.models.labels import label
from lrcplan.models.plan import Plan
from lrcplan.models.policy import DAYS
from lrcplan.models.routes import RoutesResult, Stop, hhmm
from lrcplan.models.scenario import Scenario

TZID = "Asia/Shanghai"
FOLDER = "itineraries"
PRODID = "-//lrcplan//itinerant and home-delivery routes//EN"


def first_monday(created: str) -> date:
    """The Monday starting week 1: the first Monday strictly after the plan's date."""
    made = datetime.fromisoformat(created).date()
    return made + timedelta(days=7 - made.weekday())


def visit_date(created: str, week: int, day: str) -> date:
    """The calendar date of (week, day name) of the plan's horizon."""
    if day not in DAYS:
        raise ValueError(f"unknown day name {day!r} (expected one of {', '.join(DAYS)})")
    return first_monday(created) + timedelta(days=7 * (week - 1) + DAYS.index(day))


def file_name(teacher_id: str) -> str:
    """The itinerary file name of a teacher: `<teacher_id>.ics`, made safe for a path."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", teacher_id) + ".ics"


def _when(created: str, week: int, day: str, minutes: int) -> datetime:
    d = visit_date(created, week, day)
    return datetime(d.year, d.month, d.day, tzinfo=ZoneInfo(TZID)) + timedelta(
        minutes=minutes)


def _summary(s: Stop, p: Place | None, lang: str) -> str:
    if s.kind == "lunch":
        return label("stop_lunch", lang).capitalize()
    what = label(f"stop_{s.kind}", lang)
    return f"{what[:1].upper()}{what[1:]}: {p.name if p is not None else s.site_id}"


def _from_word(prev: Stop, where: dict[str, Place], lang: str) -> str:
    p = where.get(prev.site_id)
    name = p.name if p is not None else prev.site_id
    return f"{name} ({label('stop_' + prev.kind, lang)})"


def teacher_calendar(plan: Plan, sc: Scenario, teacher_id: str, *, lang: str = "en"
                     ) -> object:
    """The icalendar `Calendar` of one teacher's visits and lunches."""
    from icalendar import Calendar, Event

    result = plan.get(RoutesResult)
    keys = [k for k in sorted_days(result) if k[0] == teacher_id]
    where = places(sc, {s.site_id for k in keys for s in result.days[k]})
    stamp = datetime.fromisoformat(plan.created)
    stamp = (stamp if stamp.tzinfo else stamp.replace(tzinfo=ZoneInfo(TZID))).astimezone(UTC)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", label("itinerary", lang, teacher=teacher_id))
    cal.add("x-wr-timezone", TZID)
    for key in keys:
        _, week, day = key
        stops = result.days[key]
        for i, s in enumerate(stops):
            if s.kind not in ("itinerant", "home", "lunch"):
                continue
            p = where.get(s.site_id)
            ev = Event()
            tag = s.visit_id or "lunch"
            ev.add("uid", f"{tag}/{teacher_id}/W{week}-{day}@lrcplan")
            ev.add("dtstamp", stamp)
            ev.add("dtstart", _when(plan.created, week, day, s.start))
            ev.add("dtend", _when(plan.created, week, day, s.end))
            ev.add("summary", _summary(s, p, lang))
            ev.add("location", p.location(sc) if p is not None else s.site_id)
            lines = []
            if s.visit_id:
                lines.append(f"{label('visit', lang)}: {s.visit_id}")
            lines.append(f"{label('duration', lang)}: {s.end - s.start} {label('min', lang)} "
                         f"({hhmm(s.start)}–{hhmm(s.end)})")
            if i > 0:
                lines.append(f"{label('travel_from', lang)}: {s.travel_minutes:.1f} "
                             f"{label('min', lang)}, {_from_word(stops[i - 1], where, lang)}")
            ev.add("description", "\n".join(lines))
            ev.add("categories", [label(f"stop_{s.kind}", lang)])
            cal.add_component(ev)
    cal.add_missing_timezones()
    return cal


def teachers_with_routes(result: RoutesResult) -> list[str]:
    """The ids of the teachers who have at least one teacher-day, sorted."""
    return sorted({t for t, _, _ in result.days})


def write_itineraries(plan: Plan, sc: Scenario, folder: Path, *, lang: str = "en"
                      ) -> list[Path]:
    """`itineraries/<teacher_id>.ics` per teacher with routes; [] without a routes stage.

    Calendars of teachers no longer in the plan (a folder re-rendered) are removed.
    """
    result = plan.find(RoutesResult)
    if result is None:
        return []
    teachers = teachers_with_routes(result)
    out_dir = Path(folder) / FOLDER
    out_dir.mkdir(exist_ok=True)
    names = {file_name(t) for t in teachers}
    for old in out_dir.glob("*.ics"):
        if old.name not in names:
            old.unlink()
    paths = []
    for t in teachers:
        path = out_dir / file_name(t)
        path.write_bytes(teacher_calendar(plan, sc, t, lang=lang).to_ical())  # type: ignore[attr-defined]
        paths.append(path)
    return paths


# ------------------------------------------------------------------ text (lrcplan routes)
def _place_text(s: Stop, where: dict[str, Place]) -> str:
    p = where.get(s.site_id)
    if p is None:
        return s.site_id
    if p.home:
        return f"home of student {s.site_id}"
    return f"{p.name} ({s.site_id})"


def teacher_week_text(plan: Plan, sc: Scenario, teacher_id: str) -> str:
    """One teacher's routes, day by day: stops with times and travel, the day's totals.

    InputError if the plan has no routes or the teacher has none, naming the teachers
    who do.
    """
    result = plan.find(RoutesResult)
    if result is None:
        raise InputError("this plan has no routes stage")
    known = teachers_with_routes(result)
    if teacher_id not in known:
        raise InputError(f"teacher {teacher_id!r} has no routes in this plan; teachers with "
                         f"routes: {', '.join(known) or 'none'}")
    keys = sorted((k for k in result.days if k[0] == teacher_id),
                  key=lambda k: (k[1], day_order(k[2])))
    where = places(sc, {s.site_id for k in keys for s in result.days[k]})
    minutes = result.day_minutes()
    lines = [f"{teacher_id}: {len(keys)} teacher-day(s) over {result.weeks} week(s)"]
    tot_visits = tot_visit_min = tot_work = 0
    tot_travel = 0.0
    for key in keys:
        _, week, day = key
        stops = result.days[key]
        lines += ["", f"week {week} {day}",
                  f"  {'#':>2}  {'arrive':>6}  {'start':>5}  {'end':>5}  {'travel':>6}  "
                  f"{'kind':<9}  place"]
        for s in stops:
            lines.append(f"  {s.seq:>2}  {hhmm(s.arrival):>6}  {hhmm(s.start):>5}  "
                         f"{hhmm(s.end):>5}  {s.travel_minutes:>6.1f}  {s.kind:<9}  "
                         f"{_place_text(s, where)}")
        visits = [s for s in stops if s.visit_id]
        travel = sum(s.travel_minutes for s in stops)
        work = minutes.get(key, 0)
        vmin = sum(s.end - s.start for s in visits)
        lines.append(f"  day: {len(visits)} visit(s), {vmin} visit min, travel {travel:.1f} "
                     f"min, working {work // 60} h {work % 60:02d} min")
        tot_visits += len(visits)
        tot_visit_min += vmin
        tot_travel += travel
        tot_work += work
    lines += ["", f"total: {len(keys)} day(s), {tot_visits} visit(s), {tot_visit_min} visit "
                  f"min, travel {tot_travel:.1f} min, working {tot_work // 60} h "
                  f"{tot_work % 60:02d} min"]
    return "\n".join(lines)
