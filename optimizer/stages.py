"""The stage contract and the registry of stages, in pipeline order.

How to add a stage (e.g. routes):

1. `models/<stage>.py`: the result, a frozen dataclass with `stage: ClassVar[str]`,
   `summary: StageSummary`, `options` (a `StageOptions` subclass: every stage takes a
   time limit) and `figures()`; its tables as `TableSpec`s and a `StageFiles`
   (models/tables.py). Add a write -> read round-trip case to tests/test_planio.py.
2. `optimizer/<stage>.py`: `solve_<stage>(scenario, earlier, options) -> <Stage>Result`.
3. `optimizer/check/<stage>.py`: one function per hard rule ("Hard:" docstring) and
   `RULES`; a test breaking each.
4. `maps/<stage>.py` (optional): map layers with `@layer(name)` (maps/layers.py; a builder
   returns None when its stage did not run) and report sections with
   `@section(stage)` (maps/report.py); name the module in `Stage.maps`, and the
   renderers import it.
5. Register a `Stage` in `STAGES` below. The pipeline, the checker, plan files, the CLI
   (summary, options, `--time-limit`), the report and the maps iterate over `STAGES`:
   none of them is edited.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from lrcplan.models.enrolment import ENROLMENT_FILES, EnrolmentOptions, EnrolmentResult
from lrcplan.models.placement import PLACEMENT_FILES, PlacementOptions, PlacementResult
from lrcplan.models.plan import Plan, StageOptions, StageResult, Violation
from lrcplan.models.routes import ROUTES_FILES, RoutesOptions, RoutesResult
from lrcplan.models.scenario import Scenario
from lrcplan.models.siting import MODES, SITING_FILES, SitingOptions, SitingResult
from lrcplan.models.tables import StageFiles
from lrcplan.models.timetable import TIMETABLE_FILES, TimetableOptions, TimetableResult
from lrcplan.optimizer.check import enrolment as check_enrolment
from lrcplan.optimizer.check import placement as check_placement
from lrcplan.optimizer.check import routes as check_routes
from lrcplan.optimizer.check import siting as check_siting
from lrcplan.optimizer.check import timetable as check_timetable

Earlier = Sequence[StageResult]
Solver = Callable[[Scenario, Earlier, Any], StageResult]
Rule = Callable[[Scenario, Plan], Iterable[Violation]]


@dataclass(frozen=True)
class Stage:
    """One stage: its solver, checker rules, plan files, CLI options and map module."""

    name: str
    needs: tuple[str, ...]  # stages whose results the solver and the rules read
    solve: Solver
    rules: tuple[Rule, ...]
    files: StageFiles[Any]
    options_type: type[StageOptions]
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None
    # Options from parsed CLI arguments and the common time limit (seconds).
    options_from_args: Callable[[argparse.Namespace, float], StageOptions] | None = None
    maps: str | None = None  # module registering the stage's map layers and report parts

    def options(self, args: argparse.Namespace | None, time_limit_s: float | None
                ) -> StageOptions:
        """The stage's options from CLI arguments; no time limit: the stage's default."""
        limit = self.options_type().time_limit_s if time_limit_s is None else time_limit_s
        if args is not None and self.options_from_args is not None:
            return self.options_from_args(args, limit)
        return self.options_type(time_limit_s=limit)


def earlier_result(earlier: Earlier, kind: type[Any]) -> Any:
    """The result of an earlier stage of type `kind` (the stage's `needs` guarantee it)."""
    for r in earlier:
        if isinstance(r, kind):
            return r
    raise LookupError(f"{kind.__name__} must run before this stage")


# ------------------------------------------------------------------ placement
def _solve_placement(sc: Scenario, earlier: Earlier, opt: PlacementOptions
                     ) -> PlacementResult:
    from lrcplan.optimizer.placement import solve_placement

    return solve_placement(sc, opt)


PLACEMENT = Stage("placement", (), _solve_placement, check_placement.RULES, PLACEMENT_FILES,
                  PlacementOptions)


# ------------------------------------------------------------------ enrolment
def _solve_enrolment(sc: Scenario, earlier: Earlier, opt: EnrolmentOptions
                     ) -> EnrolmentResult:
    from lrcplan.optimizer.enrolment import solve_enrolment

    return solve_enrolment(sc, earlier_result(earlier, PlacementResult), opt)


def _enrolment_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reshuffle", action="store_true",
                   help="let students already enrolled be moved (default: they keep seats)")


def _enrolment_options(args: argparse.Namespace, time_limit_s: float) -> EnrolmentOptions:
    return EnrolmentOptions(time_limit_s=time_limit_s,
                            reshuffle=bool(getattr(args, "reshuffle", False)))


ENROLMENT = Stage("enrolment", ("placement",), _solve_enrolment, check_enrolment.RULES,
                  ENROLMENT_FILES, EnrolmentOptions, _enrolment_arguments,
                  _enrolment_options)


# ------------------------------------------------------------------ siting
def _solve_siting(sc: Scenario, earlier: Earlier, opt: SitingOptions) -> SitingResult:
    from lrcplan.optimizer.siting import solve_siting

    return solve_siting(sc, earlier_result(earlier, EnrolmentResult), opt)


def siting_arguments(p: argparse.ArgumentParser) -> None:
    """The siting options of `lrcplan site` (`plan` runs the required mode)."""
    p.add_argument("--mode", choices=MODES, default="required",
                   help="required: the rooms the threshold rule demands; budget: where to "
                        "build K rooms jointly with enrolment; coverage: most students "
                        "within the policy's minutes of a room; p-median: least travel to "
                        "the nearest room (default required)")
    money = p.add_mutually_exclusive_group()
    money.add_argument("--rooms", type=int, default=None, metavar="K",
                       help="new rooms the bureau may build")
    money.add_argument("--budget-yuan", type=float, default=None, metavar="Y",
                       help="the budget in yuan (rooms cost the policy's build + equipment)")
    p.add_argument("--minutes", type=float, default=None, metavar="M",
                   help="coverage mode: a student is covered within M minutes of a room "
                        "(default: the policy's siting_cover_minutes, 15)")
    p.add_argument("--no-curve", action="store_true",
                   help="skip the budget-versus-coverage curve (each of 0..K solved)")


def _siting_options(args: argparse.Namespace, time_limit_s: float) -> SitingOptions:
    rooms = getattr(args, "rooms", None)
    budget = getattr(args, "budget_yuan", None)
    return SitingOptions(time_limit_s=time_limit_s, mode=getattr(args, "mode", "required"),
                         rooms=-1 if rooms is None else int(rooms),
                         budget_yuan=-1.0 if budget is None else float(budget),
                         curve=not getattr(args, "no_curve", False),
                         cover_minutes=-1.0 if getattr(args, "minutes", None) is None
                         else float(args.minutes))


SITING = Stage("siting", ("placement", "enrolment"), _solve_siting, check_siting.RULES,
               SITING_FILES, SitingOptions, None, _siting_options,
               maps="lrcplan.maps.siting")


# ------------------------------------------------------------------ routes
def _solve_routes(sc: Scenario, earlier: Earlier, opt: RoutesOptions) -> RoutesResult:
    from lrcplan.optimizer.routes import solve_routes

    return solve_routes(sc, earlier_result(earlier, PlacementResult),
                        earlier_result(earlier, EnrolmentResult), opt)


def _routes_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the routes' improvement search (default 0)")


def _routes_options(args: argparse.Namespace, time_limit_s: float) -> RoutesOptions:
    return RoutesOptions(time_limit_s=time_limit_s, seed=int(getattr(args, "seed", 0)))


ROUTES = Stage("routes", ("placement", "enrolment"), _solve_routes, check_routes.RULES,
               ROUTES_FILES, RoutesOptions, _routes_arguments, _routes_options,
               maps="lrcplan.maps.routes")


# ------------------------------------------------------------------ timetable
def _solve_timetable(sc: Scenario, earlier: Earlier, opt: TimetableOptions
                     ) -> TimetableResult:
    from lrcplan.optimizer.timetable import solve_timetable

    return solve_timetable(sc, earlier_result(earlier, EnrolmentResult),
                           earlier_result(earlier, RoutesResult), opt)


TIMETABLE = Stage("timetable", ("placement", "enrolment", "routes"), _solve_timetable,
                  check_timetable.RULES, TIMETABLE_FILES, TimetableOptions,
                  maps="lrcplan.maps.timetable")


STAGES: tuple[Stage, ...] = (PLACEMENT, ENROLMENT, SITING, ROUTES, TIMETABLE)
# What `lrcplan site` plans and checks: the siting question needs no routes or timetable.
SITE_STAGES: tuple[Stage, ...] = (PLACEMENT, ENROLMENT, SITING)


def stages_of(names: Iterable[str]) -> tuple[Stage, ...]:
    """The stages a plan must hold: a siting plan's three, else every stage."""
    return SITE_STAGES if set(names) == {s.name for s in SITE_STAGES} else STAGES
STAGE_FILES: tuple[StageFiles[Any], ...] = tuple(s.files for s in STAGES)
