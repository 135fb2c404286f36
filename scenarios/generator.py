"""Seeded generator of plausible districts: towns, schools, classes, students, teachers.

`generate(preset, seed=, scale=)` draws everything from one numpy PCG64 stream, so the
same arguments always give the same `Scenario`. Geometry is built in the UTM zone of the
district centre (metres) and converted to WGS84 lon/lat (6 decimals) at the end.

Assumptions (no public numbers exist for a synthetic district):
- category mix of registered students: intellectual 35 %, autism 15 %, physical 12 %,
  hearing 10 %, speech 10 %, vision 8 %, mental 4 %, multiple 6 % (two single categories);
- severity mix: mild 75 %, moderate 15 %, severe 10 %; half of the severe are unable to
  attend school; these mixes, and the grades, are exact counts (largest remainder)
  shuffled over students;
- 30 % of students carry assessment scores consistent with their severity, and half of
  those (never one unable to attend) carry no severity, only the scores;
- 5 % carry a tier already decided by the expert committee, consistent with severity;
- 40 % of mild students already sit in a class of their catchment school (at most two per
  class, spread before doubling); 40 % of the moderate and severe students who can attend
  already sit in a class of their grade in the nearest special school;
- grades 7-9 hold 70 % as many students as grades 1-6; homes lie around a regular school
  teaching the student's grade, drawn by its number of classes in that grade.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyproj
import shapely
from numpy.random import PCG64, Generator
from scipy.spatial import cKDTree

from lrcplan.models.entities import (
    Assessment,
    Category,
    Class,
    Role,
    School,
    SchoolKind,
    SchoolLevel,
    Severity,
    Student,
    Teacher,
    Tier,
    Town,
)
from lrcplan.models.errors import InputError
from lrcplan.models.policy import DAYS, Policy
from lrcplan.models.scenario import Scenario, utm_crs
from lrcplan.scenarios.families import family_availability
from lrcplan.scenarios.presets import PRESETS, Core, Preset

__all__ = ["PRESETS", "Core", "Preset", "generate"]

#: Categories and their share of registered students (assumption, see module docstring).
CATEGORY_MIX: tuple[tuple[Category, float], ...] = (
    (Category.INTELLECTUAL, 0.35),
    (Category.AUTISM, 0.15),
    (Category.PHYSICAL, 0.12),
    (Category.HEARING, 0.10),
    (Category.SPEECH, 0.10),
    (Category.VISION, 0.08),
    (Category.MENTAL, 0.04),
    (Category.MULTIPLE, 0.06),
)
SEVERITY_MIX: tuple[tuple[Severity, float], ...] = (
    (Severity.MILD, 0.75),
    (Severity.MODERATE, 0.15),
    (Severity.SEVERE, 0.10),
)
LEVEL_MIX: tuple[tuple[SchoolLevel, float], ...] = (
    (SchoolLevel.PRIMARY, 0.60),
    (SchoolLevel.JUNIOR, 0.25),
    (SchoolLevel.NINE_YEAR, 0.15),
)
LEVEL_GRADES: dict[SchoolLevel, range] = {
    SchoolLevel.PRIMARY: range(1, 7),
    SchoolLevel.JUNIOR: range(7, 10),
    SchoolLevel.NINE_YEAR: range(1, 10),
    SchoolLevel.SPECIAL: range(1, 10),
}
LEVEL_NAMES: dict[SchoolLevel, str] = {
    SchoolLevel.PRIMARY: "Primary School",
    SchoolLevel.JUNIOR: "Junior High School",
    SchoolLevel.NINE_YEAR: "Nine-Year School",
}
ASSESSED_SHARE = 0.30
SCORES_ONLY_SHARE = 0.5  # of the assessed: scores instead of a severity
TIER_SHARE = 0.05
UNABLE_SHARE_OF_SEVERE = 0.5
INCUMBENT_SHARE = 0.40
JUNIOR_GRADE_WEIGHT = 0.7
N_TEMPLATES = 60
PART_TIME_SHARE = 0.2
PART_TIME_DAYS = ("Mon", "Wed", "Fri")

# Place-name syllables; none starts with a vowel, so joined pairs read unambiguously.
_SYLLABLES: tuple[str, ...] = (
    "xin", "tang", "gua", "li", "qiao", "wen", "dai", "cun", "lou", "ta", "suo", "qian", "jin",
    "hua", "dong", "bei", "nan", "xi", "ning", "wei", "long", "shan", "shi", "feng", "yang",
    "lin", "tai", "ping", "kang", "bao", "cheng", "jiang", "hai", "hu", "quan", "shui", "yu",
    "guang", "ming", "chang", "sheng", "fu", "zhen", "qing", "he", "tian", "bai", "ma", "shang",
    "xia", "zhu", "kou", "pu", "liu", "sha", "tou", "zhuang", "gang", "ying", "hong", "mei",
    "song", "tao", "lian", "hui", "yong", "xing", "de", "rong", "jia", "gao", "su", "huai", "bin",
    "wan", "tong", "fang", "hang", "yun", "lu", "zhou",
)

_SCHOOL_MARGIN_M = 30.0  # schools stay this far inside their town (rounding, borders)
_HOME_MARGIN_M = 20.0


@dataclass(frozen=True)
class _Counts:
    """The preset's counts at the requested scale."""

    area_m2: float
    towns: int
    regular: int
    special: int
    centres: int
    rooms: int
    students: int


def _scaled(n: float, scale: float, minimum: int) -> int:
    # Half-up rounding: Python's round() would send 2.5 and 3.5 different ways.
    value = int(math.floor(n * scale + 0.5))
    return max(minimum if n > 0 else 0, value)


def _counts(p: Preset, scale: float) -> _Counts:
    regular = _scaled(p.n_regular, scale, 1)
    return _Counts(
        area_m2=p.area_km2 * scale * 1e6,
        # Every town needs a school, so there are never more towns than regular schools.
        towns=min(_scaled(p.n_towns, scale, 1), regular),
        regular=regular,
        special=_scaled(p.n_special, scale, 1),
        centres=_scaled(p.n_centres, scale, 1),
        rooms=min(_scaled(p.n_rooms, scale, 1), regular),
        students=_scaled(p.n_students, scale, 1),
    )


def _apportion(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers summing to `total`, proportional to `weights` (largest remainder)."""
    w = np.asarray(weights, float)
    quota = total * w / w.sum()
    base = np.floor(quota).astype(np.int64)
    rest = total - int(base.sum())
    order = np.argsort(-(quota - base), kind="stable")
    base[order[:rest]] += 1
    return base


def _exact_mix(rng: Generator, n: int, shares: Sequence[float]) -> np.ndarray:
    """Labels 0..k-1 with exactly apportioned counts, in random order."""
    counts = _apportion(n, np.asarray(shares))
    return rng.permutation(np.repeat(np.arange(len(shares)), counts))


def _pick(rng: Generator, idx: np.ndarray, share: float) -> np.ndarray:
    """A random subset of `idx` of size share * len (half up), sorted."""
    k = int(math.floor(share * len(idx) + 0.5))
    return np.sort(rng.choice(idx, size=k, replace=False)) if k else idx[:0]


def _top_k(rng: Generator, log_w: np.ndarray, k: int) -> np.ndarray:
    """k distinct indices drawn with probability ~ exp(log_w) (Gumbel top-k), best first."""
    keys = log_w + rng.gumbel(size=log_w.shape)
    return np.argsort(-keys, kind="stable")[:k]


# ---------------------------------------------------------------- geography
def _boundary(rng: Generator, p: Preset, area: float, cx: float, cy: float
              ) -> shapely.Polygon:
    """A star-shaped ellipse with a smooth random radius, of exactly `area` m2."""
    theta = np.linspace(0.0, 2 * np.pi, 512, endpoint=False)
    a, b = math.sqrt(p.aspect), 1 / math.sqrt(p.aspect)
    r = a * b / np.sqrt((b * np.cos(theta)) ** 2 + (a * np.sin(theta)) ** 2)
    # Harmonics decaying slower than 1/k give a coast-like, irregular but simple outline.
    ks = np.arange(2, 15)
    amp = p.roughness * rng.standard_normal(ks.size) / ks**0.8
    phase = rng.uniform(0, 2 * np.pi, ks.size)
    r = r * np.exp((amp[:, None] * np.cos(ks[:, None] * theta + phase[:, None])).sum(axis=0))
    x, y = r * np.cos(theta), r * np.sin(theta)
    unit = shapely.Polygon(np.column_stack([x, y]))
    f = math.sqrt(area / unit.area)
    return shapely.Polygon(np.column_stack([cx + f * x, cy + f * y]))


def _density(p: Preset, x: np.ndarray, y: np.ndarray, cx: float, cy: float, radius: float,
             ymin: float, ymax: float) -> tuple[np.ndarray, np.ndarray]:
    """(total, urban part) of the relative population density at points."""
    rural = np.exp(-p.north_falloff * (y - ymin) / (ymax - ymin))
    urban = np.zeros_like(x)
    for c in p.cores:
        d2 = (x - cx - c.dx * radius) ** 2 + (y - cy - c.dy * radius) ** 2
        urban += c.weight * np.exp(-d2 / (2 * (c.spread * radius) ** 2))
    return rural + urban, urban


@dataclass
class _Towns:
    """Towns in metres, ordered by population (largest first)."""

    names: list[str]
    polys: np.ndarray  # shapely polygons, metres
    seeds: np.ndarray  # (n, 2) town centres, metres
    pop: np.ndarray  # relative population
    urban: np.ndarray  # bool: a street (街道) of an urban core

    def full_names(self) -> list[str]:
        """Names with their kind: "Xintang Street" (街道) in a core, else "Xintang Town"."""
        return [f"{nm} Street" if u else f"{nm} Town"
                for nm, u in zip(self.names, self.urban.tolist(), strict=True)]


def _names(rng: Generator, n: int) -> list[str]:
    """n distinct pinyin-like place names ("Xintang", "Guali"...)."""
    syl = _SYLLABLES
    pairs = [a + b for a in syl for b in syl if a != b]
    if n <= len(pairs):
        return [pairs[i].capitalize() for i in rng.choice(len(pairs), n, replace=False)]
    # Very large scales run out of pairs: add a third syllable, still distinct.
    triples = [a + b for a in pairs[: n // len(syl) + 1] for b in syl]
    pool = pairs + triples
    return [pool[i].capitalize() for i in rng.choice(len(pool), n, replace=False)]


def _towns(rng: Generator, p: Preset, n: int, boundary: shapely.Polygon, cx: float,
           cy: float) -> _Towns:
    """Voronoi towns around seeds drawn by population and relaxed (weighted Lloyd)."""
    minx, miny, maxx, maxy = boundary.bounds
    radius = math.sqrt(boundary.area / math.pi)
    # A grid fine enough to give each town dozens of points, capped for memory.
    target = min(max(60 * n, 20_000), 300_000)
    step = math.sqrt((maxx - minx) * (maxy - miny) / target)
    gx, gy = np.meshgrid(np.arange(minx + step / 2, maxx, step),
                         np.arange(miny + step / 2, maxy, step))
    gx, gy = gx.ravel(), gy.ravel()
    inside = shapely.contains_xy(boundary, gx, gy)
    gx, gy = gx[inside], gy[inside]
    dens, _ = _density(p, gx, gy, cx, cy, radius, miny, maxy)
    # Seeds follow a tempered density: urban streets are smaller than rural towns, but
    # not so much smaller that the countryside is left with a few huge towns.
    w = np.sqrt(dens)
    pts = np.column_stack([gx, gy])
    seeds = pts[rng.choice(len(pts), size=n, replace=False, p=w / w.sum())]
    for _ in range(4):
        _, lab = cKDTree(seeds).query(pts)
        sw = np.bincount(lab, w, n)
        moved = np.column_stack([np.bincount(lab, w * gx, n), np.bincount(lab, w * gy, n)])
        ok = sw > 0
        moved[ok] /= sw[ok, None]
        ok &= shapely.contains_xy(boundary, moved[:, 0], moved[:, 1])
        seeds = np.where(ok[:, None], moved, seeds)
    _, lab = cKDTree(seeds).query(pts)
    pop = np.bincount(lab, dens, n)
    total, urban_part = _density(p, seeds[:, 0], seeds[:, 1], cx, cy, radius, miny, maxy)
    # A street where the cores give at least three quarters of the density.
    urban = urban_part > 0.75 * total

    if n == 1:
        polys = np.array([boundary], dtype=object)
    else:
        cells = shapely.get_parts(shapely.voronoi_polygons(
            shapely.MultiPoint(seeds), extend_to=boundary, ordered=True))
        polys = shapely.intersection(cells, boundary)
    polys = np.array([_polygonal(g) for g in polys], dtype=object)
    order = np.argsort(-pop, kind="stable")
    names = _names(rng, n)
    return _Towns(names, polys[order], seeds[order], pop[order], urban[order])


def _polygonal(g: shapely.Geometry) -> shapely.Geometry:
    """A valid Polygon or MultiPolygon from a possibly invalid or mixed geometry."""
    if not g.is_valid:
        g = shapely.make_valid(g)
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    parts = [q for q in shapely.get_parts(g) if q.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts)


def _place(rng: Generator, centre: np.ndarray, sigma: np.ndarray, polys: np.ndarray
           ) -> np.ndarray:
    """Points drawn around each centre (normal, sigma m), redrawn until inside polys[i]."""
    n = len(centre)
    out = np.empty((n, 2))
    todo = np.arange(n)
    s = np.asarray(sigma, float).copy()
    for _ in range(40):
        if not todo.size:
            break
        xy = centre[todo] + rng.standard_normal((todo.size, 2)) * s[todo, None]
        ok = shapely.contains_xy(polys[todo], xy[:, 0], xy[:, 1])
        out[todo[ok]] = xy[ok]
        todo = todo[~ok]
        # Shrink the spread of points that keep missing (thin or tiny polygons).
        s[todo] *= 0.85
    if todo.size:
        pts = shapely.point_on_surface(polys[todo])
        out[todo] = np.column_stack([shapely.get_x(pts), shapely.get_y(pts)])
    return out


def _inner(polys: np.ndarray, margin: float) -> np.ndarray:
    """Polygons shrunk by `margin` m (the polygon itself where that would empty it)."""
    shrunk = shapely.buffer(polys, -margin)
    keep = shapely.is_empty(shrunk) | (shapely.area(shrunk) < 0.05 * shapely.area(polys))
    out = np.where(keep, polys, shrunk)
    shapely.prepare(out)
    return out


# ---------------------------------------------------------------- schools
def _levels(rng: Generator, per_town: np.ndarray) -> list[list[SchoolLevel]]:
    """Levels of each town's schools: the global mix, with grades 1-9 taught in every town."""
    total = int(per_town.sum())
    target = dict(zip([lv for lv, _ in LEVEL_MIX],
                      _apportion(total, np.array([s for _, s in LEVEL_MIX])).tolist(),
                      strict=True))
    out: list[list[SchoolLevel]] = []
    for k in per_town.tolist():
        # One school must teach everything; two or more start with a primary and a junior.
        need = [SchoolLevel.NINE_YEAR] if k == 1 else [SchoolLevel.PRIMARY, SchoolLevel.JUNIOR]
        for lv in need:
            target[lv] -= 1
        out.append(need)
    # The remaining slots take the rest of the mix; where the "every town" rule used more
    # than the mix allows of a level, that level's count goes negative and the surplus of
    # the others is cut at random.
    pool = [lv for lv, c in target.items() for _ in range(max(c, 0))]
    slots = [k - len(levels) for levels, k in zip(out, per_town.tolist(), strict=True)]
    it = iter([pool[i] for i in rng.permutation(len(pool))[:sum(slots)]])
    for levels, k in zip(out, slots, strict=True):
        levels.extend(next(it) for _ in range(k))
    return out


def _templates(rng: Generator, policy: Policy) -> list[int]:
    """Core-subject timetables: about 4 of the periods a day, mostly in the mornings."""
    ppd = policy.periods_per_day
    days = [DAYS.index(d) for d in policy.school_days]
    # Core subjects (Chinese, maths, English) are taught first thing where possible.
    log_w = np.log(np.linspace(1.0, 0.15, ppd))
    per_day = rng.choice([3, 4, 5], size=(N_TEMPLATES, len(days)), p=[0.2, 0.6, 0.2])
    per_day = np.minimum(per_day, ppd)
    out = []
    for t in range(N_TEMPLATES):
        mask = 0
        for j, d in enumerate(days):
            for period in _top_k(rng, log_w, int(per_day[t, j])).tolist():
                mask |= 1 << (d * ppd + period)
        out.append(mask)
    return out


@dataclass
class _Schools:
    """Every site in metres, with what the students and teachers need of them."""

    schools: list[School]
    classes: list[Class]
    xy: np.ndarray  # (n, 2) metres, of the rounded lon/lat
    n_classes: np.ndarray  # (n, 9) classes per grade
    urban: np.ndarray  # bool per site
    regular: np.ndarray  # indices of regular schools
    special: np.ndarray  # indices of special schools
    centres: np.ndarray  # indices of resource centres
    rooms: np.ndarray  # indices of regular schools with a resource room


def _schools(rng: Generator, p: Preset, c: _Counts, towns: _Towns, policy: Policy,
             to_deg: pyproj.Transformer, to_m: pyproj.Transformer) -> _Schools:
    """Regular schools per town by population, special schools, centres and classes."""
    n_towns = len(towns.names)
    inner = _inner(towns.polys, _SCHOOL_MARGIN_M)
    town_area = shapely.area(towns.polys)

    # Regular schools: one per town, the rest by population.
    per_town = 1 + _apportion(c.regular - n_towns, towns.pop)
    levels = _levels(rng, per_town)
    reg_town = np.repeat(np.arange(n_towns), per_town)
    reg_level = [lv for lvs in levels for lv in lvs]
    # Special schools in the most populous towns; centres spread by farthest point.
    spe_town = np.arange(c.special) % n_towns
    cen_town = _spread(towns.seeds, c.centres)

    site_town = np.concatenate([reg_town, spe_town, cen_town]).astype(np.int64)
    n_reg, n_spe = len(reg_town), len(spe_town)
    spread = np.full(len(site_town), 0.35)
    spread[n_reg:] = 0.15  # district sites sit near the town centre
    sigma = spread * np.sqrt(town_area[site_town])
    xy = _place(rng, towns.seeds[site_town], sigma, inner[site_town])
    lon, lat = to_deg.transform(xy[:, 0], xy[:, 1])
    lon, lat = np.round(lon, 6), np.round(lat, 6)
    xy = np.column_stack(to_m.transform(lon, lat))
    urban = towns.urban[site_town]

    # Classes per grade: a school-wide size, varied by one class between grades.
    lo = np.where(urban[:n_reg], p.urban_classes[0], p.rural_classes[0])
    hi = np.where(urban[:n_reg], p.urban_classes[1], p.rural_classes[1])
    base = rng.integers(lo, hi + 1)
    per_grade = np.clip(base[:, None] + rng.integers(-1, 2, (n_reg, 9)), lo[:, None],
                        hi[:, None])
    taught = np.zeros((n_reg, 9), bool)
    for i, lv in enumerate(reg_level):
        taught[i, LEVEL_GRADES[lv].start - 1:LEVEL_GRADES[lv].stop - 1] = True
    n_classes = np.zeros((len(site_town), 9), np.int64)
    n_classes[:n_reg] = np.where(taught, per_grade, 0)
    n_classes[n_reg:n_reg + n_spe] = rng.integers(1, 3, (n_spe, 9))

    # Resource rooms already built: big urban schools first.
    size = n_classes[:n_reg].sum(axis=1)
    log_w = 2 * np.log(size) + np.where(urban[:n_reg], math.log(3.0), 0.0)
    rooms = np.sort(_top_k(rng, log_w, c.rooms))
    room_teachers = np.zeros(n_reg, np.int64)
    room_teachers[rooms] = 1 + (rng.random(rooms.size) < 0.3)

    width = max(4, len(str(n_reg)))
    ids = [f"SCH{i + 1:0{width}d}" for i in range(n_reg)]
    w_spe, w_cen = max(2, len(str(n_spe))), max(2, len(str(len(cen_town))))
    ids += [f"SPE{i + 1:0{w_spe}d}" for i in range(n_spe)]
    ids += [f"CEN{i + 1:0{w_cen}d}" for i in range(len(cen_town))]
    town_names = towns.full_names()
    district = p.name.capitalize()
    seen: dict[tuple[str, str], int] = {}

    def name(base: str, what: str) -> str:
        k = seen[(base, what)] = seen.get((base, what), 0) + 1
        return f"{base} {what}" + (f" No. {k}" if k > 1 else "")

    schools: list[School] = []
    lons, lats = lon.tolist(), lat.tolist()
    for i in range(len(site_town)):
        t = int(site_town[i])
        town_base = towns.names[t]
        if i < n_reg:
            lv, kind = reg_level[i], SchoolKind.REGULAR
            nm = name(town_base, LEVEL_NAMES[lv])
        elif i < n_reg + n_spe:
            lv, kind = SchoolLevel.SPECIAL, SchoolKind.SPECIAL
            nm = name(district if i == n_reg else town_base, "Special Education School")
        else:
            lv, kind = SchoolLevel.NONE, SchoolKind.CENTRE
            first = i == n_reg + n_spe
            nm = name(district if first else town_base, "Special Education Resource Centre")
        rt = int(room_teachers[i]) if i < n_reg else 0
        schools.append(School(id=ids[i], name=nm, lon=lons[i], lat=lats[i],
                              town=town_names[t], level=lv, kind=kind,
                              resource_room=rt > 0, resource_teachers=rt))

    classes = _classes(rng, ids, n_classes, urban, n_reg, policy)
    return _Schools(schools, classes, xy, n_classes, urban, np.arange(n_reg),
                    np.arange(n_reg, n_reg + n_spe), np.arange(n_reg + n_spe, len(site_town)),
                    rooms)


def _spread(seeds: np.ndarray, k: int) -> np.ndarray:
    """k towns spread over the district: the most populous, then farthest-point order."""
    n = len(seeds)
    chosen = [0]
    dist = np.hypot(*(seeds - seeds[0]).T)
    while len(chosen) < min(k, n):
        nxt = int(np.argmax(dist))
        chosen.append(nxt)
        dist = np.minimum(dist, np.hypot(*(seeds - seeds[nxt]).T))
    return np.array([chosen[i % len(chosen)] for i in range(k)], np.int64)


def _classes(rng: Generator, ids: list[str], n_classes: np.ndarray, urban: np.ndarray,
             n_reg: int, policy: Policy) -> list[Class]:
    """Class rows of every school, with pupils and a core-subject timetable template."""
    flat = n_classes.ravel()
    cell = np.repeat(np.arange(flat.size), flat)
    start = np.concatenate([[0], np.cumsum(flat)[:-1]])
    index = np.arange(cell.size) - start[cell] + 1
    school, grade = cell // 9, cell % 9 + 1
    regular = school < n_reg
    big = urban[school] & regular
    lo = np.where(regular, np.where(big, 36, 30), 8)
    hi = np.where(regular, np.where(big, 45, 42), 12)
    pupils = rng.integers(lo, hi + 1)
    templates = _templates(rng, policy)
    masks = rng.integers(0, len(templates), cell.size)
    return [Class(ids[s], g, k, n, templates[m]) for s, g, k, n, m in zip(
        school.tolist(), grade.tolist(), index.tolist(), pupils.tolist(), masks.tolist(),
        strict=True)]


# ---------------------------------------------------------------- students
def _ri(u: float, lo: int, hi: int) -> int:
    """An integer in lo..hi from a uniform draw u in [0, 1)."""
    return lo + min(int(u * (hi - lo + 1)), hi - lo)


def _scores(cat: Category, sev: int, grade: int, u: list[float]) -> dict[str, Any]:
    """Assessment scores of one category consistent with severity (0 mild .. 2 severe).

    Ranges follow the Tianjin reference standard: the mild ones qualify for LRC, the
    others fall outside it.
    """
    adaptive = ("mild", "moderate", "severe")[sev]
    if cat is Category.VISION:
        lo, hi = ((10, 29), (5, 9), (1, 4))[sev]
        return {"acuity": _ri(u[0], lo, hi) / 100}
    if cat is Category.HEARING:
        lo, hi = ((41, 60), (61, 80), (81, 110))[sev]
        out: dict[str, Any] = {"hearing_db": float(_ri(u[0], lo, hi))}
        if u[1] < 0.4:
            good = ("optimal", "suitable") if sev == 0 else ("fair", "poor")
            out["aided_result"] = good[_ri(u[2], 0, 1)]
        return out
    if cat is Category.SPEECH:
        lo, hi = ((46, 65), (26, 45), (0, 25))[sev]
        return {"intelligibility_pct": float(_ri(u[0], lo, hi))}
    if cat is Category.PHYSICAL:
        return {"physical_grade": (4, 3, _ri(u[0], 1, 2))[sev]}
    if cat is Category.INTELLECTUAL:
        # Grade 1 pupils are six: a developmental quotient; older ones an IQ.
        if grade == 1:
            lo, hi = ((55, 75), (40, 54), (20, 39))[sev]
            return {"dq": float(_ri(u[0], lo, hi)), "adaptive": adaptive}
        lo, hi = ((50, 69), (35, 49), (20, 34))[sev]
        return {"iq": float(_ri(u[0], lo, hi)), "adaptive": adaptive}
    if cat is Category.MENTAL:
        lo, hi = ((52, 95), (96, 105), (106, 120))[sev]
        return {"whodas": float(_ri(u[0], lo, hi)), "adaptive": adaptive}
    # Autism: a positive pre-screen; mild meets two or three of the three indicators,
    # moderate at most one, severe none.
    met_n = (2 + (u[0] < 0.4), int(u[0] < 0.5), 0)[sev]
    order = sorted(range(3), key=lambda i: u[1 + i])
    met = {order[i] for i in range(met_n)}
    return {
        "autism_prescreen": True,
        "ppvt_iq": float(_ri(u[4], 71, 110) if 0 in met else _ri(u[4], 40, 70)),
        "cars_total": float(_ri(u[5], 20, 30) if 1 in met else _ri(u[5], 31, 50)),
        "cars_max_item": float(_ri(u[6], 2, 3) if 1 in met else _ri(u[6], 2, 4)),
        "pep_age_months": float(_ri(u[7], 72, 120) if 2 in met else _ri(u[7], 24, 71)),
    }


def _students(rng: Generator, c: _Counts, boundary: shapely.Polygon, sch: _Schools,
              to_deg: pyproj.Transformer, to_m: pyproj.Transformer) -> list[Student]:
    """Students with homes near a school of their grade, catchment and incumbent seats."""
    n = c.students
    grade_w = np.array([1.0] * 6 + [JUNIOR_GRADE_WEIGHT] * 3)
    grade = _exact_mix(rng, n, grade_w / grade_w.sum()) + 1
    cats = [cat for cat, _ in CATEGORY_MIX]
    cat = _exact_mix(rng, n, [s for _, s in CATEGORY_MIX])
    sev = _exact_mix(rng, n, [s for _, s in SEVERITY_MIX])
    unable = np.zeros(n, bool)
    unable[_pick(rng, np.flatnonzero(sev == 2), UNABLE_SHARE_OF_SEVERE)] = True

    # Multiple disabilities: two distinct single categories, drawn by the single mix.
    singles = np.log(np.array([s for _, s in CATEGORY_MIX[:-1]]))
    multi = np.flatnonzero(cat == len(cats) - 1)
    keys = singles + rng.gumbel(size=(multi.size, singles.size))
    pair = np.sort(np.argsort(-keys, axis=1, kind="stable")[:, :2], axis=1)
    components: dict[int, tuple[Category, ...]] = {
        int(i): tuple(sorted((cats[a], cats[b]), key=lambda x: x.value))
        for i, (a, b) in zip(multi.tolist(), pair.tolist(), strict=True)}

    # Homes around a regular school teaching the grade, drawn by its classes there.
    reg = sch.regular
    home_school = np.empty(n, np.int64)
    for g in range(1, 10):
        who = np.flatnonzero(grade == g)
        w = sch.n_classes[reg, g - 1].astype(float)
        home_school[who] = reg[rng.choice(reg.size, size=who.size, p=w / w.sum())]
    sigma_km = np.where(sch.urban, rng.uniform(0.5, 1.5, len(sch.urban)),
                        rng.uniform(1.5, 3.0, len(sch.urban)))
    inner = _inner(np.array([boundary], dtype=object), _HOME_MARGIN_M)[0]
    polys = np.full(n, inner, dtype=object)
    xy = _place(rng, sch.xy[home_school], sigma_km[home_school] * 1000.0, polys)
    lon, lat = to_deg.transform(xy[:, 0], xy[:, 1])
    lon, lat = np.round(lon, 6), np.round(lat, 6)
    hx, hy = to_m.transform(lon, lat)
    home = np.column_stack([hx, hy])

    # Catchment: the nearest regular school (straight line) teaching the grade.
    catch = np.empty(n, np.int64)
    for lo_g, hi_g in ((1, 6), (7, 9)):
        group = reg[sch.n_classes[reg, lo_g - 1] > 0]
        who = np.flatnonzero((grade >= lo_g) & (grade <= hi_g))
        if who.size:
            _, j = cKDTree(sch.xy[group]).query(home[who])
            catch[who] = group[j]

    assessed = np.zeros(n, bool)
    assessed[_pick(rng, np.arange(n), ASSESSED_SHARE)] = True
    no_severity = np.zeros(n, bool)
    no_severity[_pick(rng, np.flatnonzero(assessed & ~unable), SCORES_ONLY_SHARE)] = True
    has_tier = np.zeros(n, bool)
    has_tier[_pick(rng, np.arange(n), TIER_SHARE)] = True

    current_school = np.full(n, -1, np.int64)
    current_class = np.zeros(n, np.int64)
    _seat_lrc(rng, sev, catch, grade, sch, current_school, current_class)
    _seat_special(rng, sev, unable, home, grade, sch, current_school, current_class)

    ids = [s.id for s in sch.schools]
    width = max(6, len(str(n)))
    u_scores = rng.random((n, 8))
    empty = Assessment()
    severities = [s for s, _ in SEVERITY_MIX]
    out: list[Student] = []
    rows = zip(range(n), lon.tolist(), lat.tolist(), grade.tolist(), cat.tolist(),
               sev.tolist(), strict=True)
    for i, x, y, g, k, sv in rows:
        category = cats[k]
        comps = components.get(i, ())
        assessment = empty
        if assessed[i]:
            scores: dict[str, Any] = {}
            u = u_scores[i].tolist()
            for part in comps or (category,):
                scores.update(_scores(part, sv, g, u))
            assessment = Assessment(**scores)
        tier = None
        if has_tier[i]:
            tier = Tier.LRC if sv == 0 else Tier.HOME if unable[i] else Tier.SPECIAL
        cs = int(current_school[i])
        out.append(Student(
            id=f"STU{i + 1:0{width}d}", lon=x, lat=y, grade=g, category=category,
            severity=None if no_severity[i] else severities[sv], categories=comps,
            unable_to_attend=bool(unable[i]), assessment=assessment,
            catchment_school=ids[catch[i]], current_school=ids[cs] if cs >= 0 else None,
            current_class=int(current_class[i]) if cs >= 0 else None, tier=tier))
    return out


def _seat_lrc(rng: Generator, sev: np.ndarray, catch: np.ndarray, grade: np.ndarray,
              sch: _Schools, current_school: np.ndarray, current_class: np.ndarray) -> None:
    """Seat a share of mild students in their catchment school, at most 2 per class."""
    chosen = _pick(rng, np.flatnonzero(sev == 0), INCUMBENT_SHARE)
    chosen = chosen[rng.permutation(chosen.size)]
    u = rng.random(chosen.size).tolist()
    taken: dict[tuple[int, int], list[int]] = {}
    for i, r in zip(chosen.tolist(), u, strict=True):
        s, g = int(catch[i]), int(grade[i])
        counts = taken.setdefault((s, g), [0] * int(sch.n_classes[s, g - 1]))
        least = min(counts)
        if least >= 2:
            continue  # every class of the grade already has two: the student waits
        # Spread before doubling: a class with the fewest incumbents, chosen at random.
        free = [k for k, v in enumerate(counts) if v == least]
        k = free[min(int(r * len(free)), len(free) - 1)]
        counts[k] += 1
        current_school[i], current_class[i] = s, k + 1


def _seat_special(rng: Generator, sev: np.ndarray, unable: np.ndarray, home: np.ndarray,
                  grade: np.ndarray, sch: _Schools, current_school: np.ndarray,
                  current_class: np.ndarray) -> None:
    """Seat a share of moderate/severe students who can attend in the nearest special school."""
    chosen = _pick(rng, np.flatnonzero((sev > 0) & ~unable), INCUMBENT_SHARE)
    if not chosen.size or not sch.special.size:
        return
    _, j = cKDTree(sch.xy[sch.special]).query(home[chosen])
    s = sch.special[np.atleast_1d(j)]
    k = sch.n_classes[s, grade[chosen] - 1]
    current_school[chosen] = s
    current_class[chosen] = np.minimum((rng.random(chosen.size) * k).astype(np.int64), k - 1) + 1


# ---------------------------------------------------------------- teachers
def _skills(rng: Generator, n: int) -> list[set[Category]]:
    """1-3 categories per teacher, drawn by how common each category is."""
    cats = [cat for cat, _ in CATEGORY_MIX]
    log_w = np.log(np.array([s for _, s in CATEGORY_MIX]))
    sizes = rng.choice([1, 2, 3], size=n, p=[0.3, 0.45, 0.25])
    return [{cats[j] for j in _top_k(rng, log_w, int(k)).tolist()} for k in sizes]


def _cover(skills: list[set[Category]], needed: Sequence[Category]) -> None:
    """Add each missing category to the teacher with the fewest skills."""
    for cat in needed:
        if skills and not any(cat in s for s in skills):
            min(skills, key=len).add(cat)


def _teachers(rng: Generator, p: Preset, sch: _Schools, students: list[Student],
              policy: Policy) -> list[Teacher]:
    """Itinerant, resource and home-delivery teachers with skills, days and hours."""
    n = len(students)
    n_it = max(2, int(math.floor(n / p.students_per_itinerant + 0.5)))
    unable = [s for s in students if s.unable_to_attend]
    n_home = max(1, math.ceil(len(unable) / p.unable_per_home_teacher))
    ids = [s.id for s in sch.schools]
    centres = [ids[i] for i in sch.centres.tolist()]
    special = [ids[i] for i in sch.special.tolist()]
    it_bases = centres + special
    home_bases = special + centres
    cats = [cat for cat, _ in CATEGORY_MIX]

    it_skills = _skills(rng, n_it)
    _cover(it_skills, cats)
    home_skills = _skills(rng, n_home)
    wanted = {s.category for s in unable}
    _cover(home_skills, [cat for cat in cats if cat in wanted])
    room_skills = _skills(rng, len(sch.rooms))

    roles = ([(Role.ITINERANT, "ITN", it_bases[i % len(it_bases)], it_skills[i])
              for i in range(n_it)]
             + [(Role.RESOURCE, "RES", ids[r], room_skills[i])
                for i, r in enumerate(sch.rooms.tolist())]
             + [(Role.HOME_DELIVERY, "HOM", home_bases[i % len(home_bases)], home_skills[i])
                for i in range(n_home)])
    part_time = rng.random(len(roles)) < PART_TIME_SHARE
    minutes = 420 + 10 * rng.integers(0, 7, len(roles))
    full_week = tuple(policy.school_days)
    width = max(3, len(str(max(n_it, n_home, len(sch.rooms)))))
    numbers: dict[str, int] = {}
    out = []
    for j, (role, prefix, base, skills) in enumerate(roles):
        numbers[prefix] = numbers.get(prefix, 0) + 1
        out.append(Teacher(
            id=f"{prefix}{numbers[prefix]:0{width}d}", role=role, base=base,
            skills=frozenset(skills), days=PART_TIME_DAYS if part_time[j] else full_week,
            start=policy.day_start, end=policy.day_end, max_minutes_per_day=int(minutes[j])))
    return out


# ---------------------------------------------------------------- the scenario
def _check(preset: str, seed: int, scale: float) -> Preset:
    if preset not in PRESETS:
        raise InputError(f"unknown preset {preset!r} (expected one of: "
                         f"{', '.join(sorted(PRESETS))})")
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not (
            math.isfinite(scale) and scale > 0):
        raise InputError(f"scale must be a positive number, got {scale!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError(f"seed must be a whole number >= 0, got {seed!r}")
    return PRESETS[preset]


def generate(preset: str, *, seed: int = 0, scale: float = 1.0) -> Scenario:
    """A plausible district drawn from a preset; the same arguments give the same Scenario."""
    p = _check(preset, seed, scale)
    rng = Generator(PCG64(int(seed)))
    policy = Policy()
    counts = _counts(p, float(scale))
    crs = utm_crs(p.lon, p.lat)
    to_m = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    to_deg = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    cx, cy = to_m.transform(p.lon, p.lat)

    boundary = _boundary(rng, p, counts.area_m2, cx, cy)
    shapely.prepare(boundary)
    towns = _towns(rng, p, counts.towns, boundary, cx, cy)
    sch = _schools(rng, p, counts, towns, policy, to_deg, to_m)
    students = _students(rng, counts, boundary, sch, to_deg, to_m)
    teachers = _teachers(rng, p, sch, students, policy)
    # Its own stream, so that adding family availability changed no other draw.
    students = family_availability(Generator(PCG64([int(seed), 0x46414D])), students, policy)

    town_names = towns.full_names()
    geoms = _to_wgs84(towns.polys, to_deg)
    return Scenario(
        name=f"{p.name} (seed {seed}, scale {scale:g})", crs=crs, policy=policy,
        schools=tuple(sch.schools), classes=tuple(sch.classes), students=tuple(students),
        teachers=tuple(teachers),
        towns=tuple(Town(nm, g) for nm, g in zip(town_names, geoms, strict=True)))


def _to_wgs84(polys: np.ndarray, to_deg: pyproj.Transformer) -> list[shapely.Geometry]:
    """Town polygons in WGS84 with coordinates rounded to 6 decimals, still valid."""

    def convert(xy: np.ndarray) -> np.ndarray:
        lon, lat = to_deg.transform(xy[:, 0], xy[:, 1])
        return np.round(np.column_stack([lon, lat]), 6)

    geoms = shapely.transform(polys, convert)
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        # Rounding can fold a sliver; snapping to the same grid keeps the result valid.
        geoms[bad] = [_polygonal(g) for g in shapely.set_precision(geoms[bad], 1e-6)]
    return list(geoms)
