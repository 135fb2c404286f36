"""Knobs of the seeded district generator: one `Preset` per modelled district."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Core:
    """An urban core (城区/街道 cluster) where population is denser than the countryside.

    Offsets and spread are fractions of the district's mean radius, so a scaled district
    keeps its shape; `weight` is the core's peak density over the rural background.
    """

    dx: float  # east offset from the district centre, fraction of the radius
    dy: float  # north offset from the district centre, fraction of the radius
    spread: float  # standard deviation of the core's Gaussian, fraction of the radius
    weight: float  # peak density relative to the rural background (1.0)


@dataclass(frozen=True)
class Preset:
    """Everything the generator needs to draw one plausible district (counts at scale 1).

    Counts marked "scaled" are multiplied by `scale` and rounded (at least 1 where a
    district needs one); the area is multiplied too, so density stays the same.
    """

    name: str
    description: str
    # District centre, WGS84 degrees; the projected CRS is the UTM zone holding it.
    lon: float
    lat: float
    # Area of the district boundary, km2 (scaled).
    area_km2: float
    # East-west over north-south extent of the (perturbed) ellipse of the boundary.
    aspect: float = 1.0
    # Relative amplitude of the smooth random wobble of the boundary radius.
    roughness: float = 0.18
    # Urban cores; the rural background density is 1.0 everywhere before the falloff.
    cores: tuple[Core, ...] = (Core(0.0, 0.0, 0.25, 12.0),)
    # Mountain districts: rural density falls by exp(-north_falloff) from the southern
    # edge to the northern edge (0 = flat countryside).
    north_falloff: float = 0.0
    # Towns and streets (scaled); a town is a street (街道) where the cores dominate.
    n_towns: int = 4
    # Regular schools (scaled); the level mix is primary 60 %, junior 25 %, nine-year 15 %.
    n_regular: int = 18
    # Special schools (scaled), placed in the most populous towns.
    n_special: int = 1
    # Special-education resource centres (scaled), spread over the district.
    n_centres: int = 1
    # Regular schools that already have a resource room (scaled), big urban ones first.
    n_rooms: int = 4
    # Students with a disability on the register (scaled); about 75 % are mild (LRC).
    n_students: int = 100
    # Classes per grade of a regular school, urban and rural towns (inclusive ranges).
    urban_classes: tuple[int, int] = (4, 8)
    rural_classes: tuple[int, int] = (2, 5)
    # Staffing assumptions: one itinerant teacher per this many students (at least 2),
    # one home-delivery teacher per this many students unable to attend (at least 1).
    students_per_itinerant: int = 60
    unable_per_home_teacher: int = 4


PRESETS: dict[str, Preset] = {
    "demo": Preset(
        name="demo",
        description="A small made-up district near Hangzhou that every stage solves in "
                    "seconds: 20 sites, 100 students, 8 teachers.",
        lon=120.30, lat=30.10, area_km2=150.0, aspect=1.2,
        cores=(Core(-0.2, 0.1, 0.35, 6.0),),
        n_towns=4, n_regular=18, n_special=1, n_centres=1, n_rooms=4, n_students=100,
    ),
    "xiaoshan": Preset(
        name="xiaoshan",
        description="Hangzhou Xiaoshan: coastal plain district, one urban core in the "
                    "north-west, 72 resource rooms, about 1,000 LRC students.",
        lon=120.26, lat=30.18, area_km2=930.0, aspect=1.25, roughness=0.22,
        cores=(Core(-0.25, 0.15, 0.22, 14.0),),
        n_towns=25, n_regular=250, n_special=2, n_centres=1, n_rooms=72, n_students=1330,
    ),
    "huairou": Preset(
        name="huairou",
        description="Beijing Huairou: mountainous, long north-south, sparse in the north, "
                    "county seat on the southern plain, seven resource centres.",
        lon=116.63, lat=40.45, area_km2=2100.0, aspect=0.55, roughness=0.25,
        cores=(Core(0.05, -0.75, 0.12, 10.0),), north_falloff=3.5,
        n_towns=16, n_regular=100, n_special=1, n_centres=7, n_rooms=18, n_students=600,
        rural_classes=(2, 4),
    ),
    "binhai": Preset(
        name="binhai",
        description="Tianjin Binhai New Area: coastal, three separate urban cores (Hangu, "
                    "Tanggu, Dagang) along a long north-south strip.",
        lon=117.70, lat=39.00, area_km2=2270.0, aspect=0.55, roughness=0.2,
        cores=(Core(0.0, 0.6, 0.12, 10.0), Core(0.15, 0.0, 0.15, 16.0),
               Core(-0.05, -0.6, 0.13, 9.0)),
        n_towns=21, n_regular=200, n_special=2, n_centres=1, n_rooms=40, n_students=1100,
    ),
}
