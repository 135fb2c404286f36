"""lrcplan command line: parse arguments, call the library, print, set the exit code.

Exit codes: 0 success, 1 a plan failed its check, 2 the user's input is wrong, 3 an output
folder could not be written (disk full, permission denied...), 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lrcplan.models.errors import InputError, OutputError


def _progress(total: int, desc: str) -> Callable[[str], None]:
    """A step callback that draws a progress bar on a terminal (silent when piped)."""
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit="step", disable=None, leave=False, file=sys.stderr)

    def step(label: str) -> None:
        bar.set_postfix_str(label)
        bar.update(1)
        if bar.n >= total:
            bar.close()

    return step


def cmd_generate(args: argparse.Namespace) -> int:
    """Generate a synthetic district and write it as a scenario folder."""
    from lrcplan.models.io import load_scenario, save_scenario
    from lrcplan.models.outdir import check_output
    from lrcplan.scenarios.generator import generate

    if args.scale <= 0:
        raise InputError(f"--scale must be positive, got {args.scale}")
    check_output(args.output, "scenario")
    step = _progress(3, f"generate {args.preset}")
    t0 = time.perf_counter()
    sc = generate(args.preset, seed=args.seed, scale=args.scale)
    step("generated")
    save_scenario(sc, args.output,
                  extra={"preset": args.preset, "seed": args.seed})
    step("written")
    load_scenario(args.output)  # what we wrote must load back: never hand out a bad folder
    step("validated")
    print(f"{sc.name}: {len(sc.schools):,} schools, {len(sc.classes):,} classes, "
          f"{len(sc.students):,} students, {len(sc.teachers):,} teachers, "
          f"{len(sc.towns):,} towns -> {args.output} ({time.perf_counter() - t0:.1f} s)")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Validate a scenario folder and report every problem."""
    from lrcplan.models.io import LOAD_STEPS, load_scenario

    t0 = time.perf_counter()
    sc = load_scenario(args.scenario, progress=_progress(LOAD_STEPS, "validate"))
    for note in sc.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"{args.scenario}: OK: {len(sc.schools):,} schools, {len(sc.classes):,} classes, "
          f"{len(sc.students):,} students, {len(sc.teachers):,} teachers, "
          f"{len(sc.towns):,} towns"
          + (f", {len(sc.sessions):,} pinned sessions" if sc.sessions else "")
          + f" ({time.perf_counter() - t0:.1f} s)")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    """Print a readable summary of a scenario."""
    from lrcplan.models.io import LOAD_STEPS, load_scenario
    from lrcplan.models.summary import scenario_summary

    sc = load_scenario(args.scenario, progress=_progress(LOAD_STEPS, "load"))
    print(scenario_summary(sc))
    return 0


def _plan_and_write(args: argparse.Namespace, stages: Sequence[Any], what: str) -> int:
    """Run these stages on args.scenario, check, write args.output atomically, summarise."""
    from lrcplan.maps.render import save_plan
    from lrcplan.models.io import load_scenario
    from lrcplan.models.outdir import check_output
    from lrcplan.optimizer.pipeline import plan_summary, run_plan

    if args.time_limit is not None and not args.time_limit > 0:
        raise InputError(f"--time-limit must be positive, got {args.time_limit}")
    check_output(args.output, "plan", protect=[args.scenario])  # before a long solve
    step = _progress(3, what)
    sc = load_scenario(args.scenario)
    step("loaded")
    plan = run_plan(sc, {s.name: s.options(args, args.time_limit) for s in stages},
                    stages=stages)
    step("solved and checked")
    save_plan(plan, sc, args.output, maps=not args.no_maps, lang=args.lang, tiles=args.tiles)
    step("written")
    print(plan_summary(plan))
    print(f"\nWritten to {args.output}")
    return 1 if plan.violations else 0


def cmd_plan(args: argparse.Namespace) -> int:
    """Plan a district: every registered stage, then the independent check; write OUT."""
    from lrcplan.optimizer.stages import STAGES

    return _plan_and_write(args, STAGES, "plan")


def cmd_site(args: argparse.Namespace) -> int:
    """Answer the bureau's siting question: placement, enrolment and siting; write OUT."""
    from lrcplan.optimizer.stages import SITE_STAGES

    if args.rooms is not None and args.rooms < 0:
        raise InputError(f"--rooms must be 0 or more, got {args.rooms}")
    if args.budget_yuan is not None and not 0 <= args.budget_yuan < float("inf"):
        raise InputError(f"--budget-yuan must be 0 or more, got {args.budget_yuan}")
    if args.minutes is not None and not 0 <= args.minutes <= 24 * 60:
        raise InputError(f"--minutes must be in 0..1440, got {args.minutes}")
    return _plan_and_write(args, SITE_STAGES, "site")


def _recorded_scenario(plan_dir: Path) -> Path:
    """The scenario folder a plan records (InputError if it records none)."""
    from lrcplan.models.planio import read_plan_json

    recorded = read_plan_json(plan_dir).get("scenario_path")
    if not recorded:
        raise InputError(f"{plan_dir}/plan.json does not say which scenario it was made "
                         "from: give --scenario DIR")
    return Path(recorded)


def cmd_check(args: argparse.Namespace) -> int:
    """Re-check a written plan against its scenario; exit 1 on any violation."""
    from lrcplan.models.io import load_scenario
    from lrcplan.optimizer.check import check
    from lrcplan.optimizer.pipeline import load_plan, options_relied_on, row_counts
    from lrcplan.optimizer.stages import stages_of

    sc = load_scenario(args.scenario)
    plan = load_plan(args.plan, sc)
    violations = check(sc, plan, stages_of(r.stage for r in plan.results))
    for v in violations:
        print(v)
    relied = f"checked with the plan's options: {options_relied_on(plan)}"
    if violations:
        print(f"{len(violations)} violation(s) in {args.plan} ({relied})", file=sys.stderr)
        return 1
    rows = ", ".join(f"{file} {n:,}" for file, n in row_counts(plan))
    print(f"{args.plan}: OK: every hard rule holds (rows: {rows})\n{relied}")
    return 0


def cmd_map(args: argparse.Namespace) -> int:
    """Re-render the maps and report of a written plan (the folder replaced whole)."""
    import shutil

    from lrcplan.maps.render import write_layers, write_maps
    from lrcplan.models.io import load_scenario
    from lrcplan.models.outdir import atomic_folder, check_output
    from lrcplan.optimizer.pipeline import load_plan

    check_output(args.plan, "plan")
    scenario = args.scenario or _recorded_scenario(args.plan)
    sc = load_scenario(scenario)
    plan = load_plan(args.plan, sc)
    # The plan folder is replaced whole, like `plan` does: a copy with the maps drawn again.
    with atomic_folder(args.plan, kind="plan", protect=[scenario]) as tmp:
        shutil.copytree(args.plan, tmp, dirs_exist_ok=True)
        paths = write_layers(plan, sc, tmp) + write_maps(plan, sc, tmp, lang=args.lang,
                                                         tiles=args.tiles)
    print(f"{args.plan}: " + ", ".join(p.name for p in paths))
    return 0


def cmd_routes(args: argparse.Namespace) -> int:
    """Print one teacher's week of routes from a written plan."""
    from lrcplan.maps.itinerary import teacher_week_text
    from lrcplan.models.io import load_scenario
    from lrcplan.optimizer.pipeline import load_plan

    sc = load_scenario(args.scenario or _recorded_scenario(args.plan))
    print(teacher_week_text(load_plan(args.plan, sc), sc, args.teacher))
    return 0


def cmd_timetable(args: argparse.Namespace) -> int:
    """Print one school's support week: a plan folder read back, or a scenario planned."""
    from lrcplan.maps.timetable import school_week_text
    from lrcplan.models.io import load_scenario
    from lrcplan.optimizer.pipeline import load_plan, run_plan
    from lrcplan.optimizer.stages import STAGES

    if (args.path / "plan.json").is_file():
        sc = load_scenario(args.scenario or _recorded_scenario(args.path))
        plan = load_plan(args.path, sc)
    else:  # a scenario folder: plan it with every stage (nothing is written)
        if args.path.is_dir() and not (args.path / "scenario.toml").is_file():
            raise InputError(f"{args.path}: neither a plan folder (no plan.json) nor a "
                             "scenario folder (no scenario.toml)")
        if args.time_limit is not None and not args.time_limit > 0:
            raise InputError(f"--time-limit must be positive, got {args.time_limit}")
        step = _progress(2, "plan")
        sc = load_scenario(args.path)
        step("loaded")
        plan = run_plan(sc, {s.name: s.options(args, args.time_limit) for s in STAGES},
                        stages=STAGES)
        step("solved and checked")
        if plan.violations:
            print(f"warning: the plan breaks {len(plan.violations)} hard rule(s); "
                  f"`lrcplan plan` lists them", file=sys.stderr)
    print(school_week_text(plan, sc, args.school))
    return 0


def _bench_table(table: Any, run: Callable[[Callable[[Any], None]], list[Any]],
                 json_path: Path | None) -> list[Any]:
    """A benchmark's table (`table`: a module with bench_header, bench_line and
    bench_summary), printed as each instance is solved, then its summary; `--json`
    writes one record per instance."""
    import json

    print(table.bench_header(), flush=True)
    rows = run(lambda row: print(table.bench_line(row), flush=True))
    print(table.bench_summary(rows))
    if json_path is not None:
        json_path.write_text(json.dumps([r.record() for r in rows], indent=1) + "\n",
                             encoding="utf-8")
    return rows


def cmd_bench_vrptw(args: argparse.Namespace) -> int:
    """Solve VRPTW benchmark files with lrcplan's engine; exit 1 if any is infeasible."""
    from lrcplan.optimizer import vrplib

    rows = _bench_table(vrplib, lambda on_row: vrplib.bench_vrptw(
        args.files, time_limit_s=args.time_limit, seed=args.seed, on_row=on_row), args.json)
    return 0 if all(r.feasible for r in rows) else 1


def cmd_bench_pmedian(args: argparse.Namespace) -> int:
    """Solve OR-Library p-median files exactly; exit 0 (unproven or unmatched rows say so)."""
    from lrcplan.optimizer import pmedfile

    _bench_table(pmedfile, lambda on_row: pmedfile.bench_pmedian(
        args.files, time_limit_s=args.time_limit, on_row=on_row), args.json)
    return 0


def cmd_bench_cpmedian(args: argparse.Namespace) -> int:
    """Solve capacitated p-median files exactly; exit 0 (unproven rows say so)."""
    from lrcplan.optimizer import cpmedfile

    _bench_table(cpmedfile, lambda on_row: cpmedfile.bench_cpmedian(
        args.files, time_limit_s=args.time_limit, on_row=on_row), args.json)
    return 0


def cmd_bench_week(args: argparse.Namespace) -> int:
    """Weekly routes: lrcplan against OR-Tools and VROOM; exit 1 if lrcplan's plan breaks a rule."""
    from lrcplan.optimizer.benchweek import cli_week

    return cli_week(args.time_limit, args.seed, args.solomon or [], args.districts, args.json)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-command per job."""
    from lrcplan.optimizer.stages import STAGES, siting_arguments
    from lrcplan.scenarios.generator import PRESETS

    p = argparse.ArgumentParser(
        prog="lrcplan",
        description="Plan special-education services for learning in regular classrooms.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    g = sub.add_parser("generate", help="generate a synthetic district scenario",
                       description="Generate a plausible district from a preset, seeded.")
    g.add_argument("preset", choices=sorted(PRESETS), help="district preset")
    g.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    g.add_argument("--scale", type=float, default=1.0,
                   help="multiply area, schools, students and teachers (default 1)")
    g.add_argument("-o", "--output", type=Path, required=True, help="scenario folder to write")
    g.set_defaults(func=cmd_generate)

    v = sub.add_parser("validate", help="check a scenario folder and list every problem",
                       description="Load a scenario and report every bad row at once.")
    v.add_argument("scenario", type=Path, help="scenario folder")
    v.set_defaults(func=cmd_validate)

    i = sub.add_parser("info", help="summarise a scenario",
                       description="Schools by kind and town, students by grade, category and "
                                   "severity, teachers by role and skill, seats per grade.")
    i.add_argument("scenario", type=Path, help="scenario folder")
    i.set_defaults(func=cmd_info)

    pl = sub.add_parser("plan", help="plan every stage (placement, enrolment, routes); write "
                                     "a plan folder",
                        description="Tier every student, seat them optimally, plan the "
                                    "teachers' weekly routes, check the result independently "
                                    "and write OUT atomically.")
    pl.add_argument("scenario", type=Path, help="scenario folder")
    pl.add_argument("-o", "--output", type=Path, required=True, help="plan folder to write")
    pl.add_argument("--time-limit", type=float, default=None, metavar="S",
                    help="time limit of each stage in seconds (default: each stage's own, "
                         "60 s for enrolment, 20 s for routes)")
    for stage in STAGES:  # each stage adds its own options
        if stage.add_arguments is not None:
            stage.add_arguments(pl)
    pl.add_argument("--no-maps", action="store_true",
                    help="skip map.html, map.png, map.svg and report.html (GIS layers stay)")
    _map_options(pl)
    pl.set_defaults(func=cmd_plan)

    st = sub.add_parser("site", help="where to build resource rooms: required, budget, "
                                     "coverage or p-median; write a plan folder",
                        description="Tier and seat the students, then answer the bureau's "
                                    "siting question in the chosen mode (each exact, with "
                                    "its bound), check it and write OUT atomically: "
                                    "rooms.csv, room_towns.csv, siting_moves.csv, "
                                    "siting_curve.csv, maps and report.")
    st.add_argument("scenario", type=Path, help="scenario folder")
    st.add_argument("-o", "--output", type=Path, required=True, help="plan folder to write")
    st.add_argument("--time-limit", type=float, default=None, metavar="S",
                    help="time limit of each stage in seconds (default 60)")
    siting_arguments(st)
    st.add_argument("--no-maps", action="store_true",
                    help="skip map.html, map.png, map.svg and report.html (GIS layers stay)")
    _map_options(st)
    st.set_defaults(func=cmd_site)

    mp = sub.add_parser("map", help="re-render the maps and report of a written plan",
                        description="Draw map.html, map.png, map.svg, plan.gpkg and "
                                    "report.html again from a plan folder.")
    mp.add_argument("plan", type=Path, help="plan folder written by `lrcplan plan`")
    mp.add_argument("--scenario", type=Path, default=None,
                    help="scenario folder (default: the one recorded in plan.json)")
    _map_options(mp)
    mp.set_defaults(func=cmd_map)

    r = sub.add_parser("routes", help="print one teacher's week of routes from a written plan",
                       description="Each day of the teacher's routes: the stops with their "
                                   "times and travel, and the day's totals.")
    r.add_argument("plan", type=Path, help="plan folder written by `lrcplan plan`")
    r.add_argument("--teacher", required=True, metavar="ID", help="the teacher's id")
    r.add_argument("--scenario", type=Path, default=None,
                   help="scenario folder (default: the one recorded in plan.json)")
    r.set_defaults(func=cmd_routes)

    t = sub.add_parser("timetable", help="print one school's weekly support timetable",
                       description="The school's support sessions as a grid (days across, "
                                   "periods down; each cell the teacher and the students), "
                                   "then its unserved students and why. PATH is a plan "
                                   "folder, or a scenario folder to plan first (nothing is "
                                   "written).")
    t.add_argument("path", type=Path, metavar="PATH",
                   help="plan folder written by `lrcplan plan`, or a scenario folder")
    t.add_argument("--school", required=True, metavar="ID", help="the school's id")
    t.add_argument("--scenario", type=Path, default=None,
                   help="scenario folder of a plan folder (default: the one recorded in "
                        "plan.json)")
    t.add_argument("--time-limit", type=float, default=None, metavar="S",
                   help="time limit of each stage in seconds when PATH is a scenario folder "
                        "(default: each stage's own)")
    t.set_defaults(func=cmd_timetable)

    c = sub.add_parser("check", help="re-check a written plan; exit 1 on any violation",
                       description="Re-verify every hard rule from the plan files alone.")
    c.add_argument("scenario", type=Path, help="scenario folder")
    c.add_argument("plan", type=Path, help="plan folder written by `lrcplan plan`")
    c.set_defaults(func=cmd_check)

    b = sub.add_parser("bench", help="run lrcplan's engines on public benchmark instances",
                       description="Solve benchmark files and compare with the best known.")
    bench = b.add_subparsers(dest="bench", required=True, metavar="BENCHMARK")
    bv = bench.add_parser("vrptw", help="VRPTW: VRPLIB files (Solomon, Gehring-Homberger)",
                          description="Solve each VRPLIB VRPTW file with the routing engine; "
                                      "the best-known cost comes from the .sol file beside "
                                      "it. Exit 1 if any result is infeasible.")
    bv.add_argument("files", type=Path, nargs="+", metavar="FILE", help="VRPLIB .vrp file")
    bv.add_argument("--time-limit", type=float, default=10.0, metavar="S",
                    help="seconds per instance (default 10)")
    bv.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    bv.add_argument("--json", type=Path, default=None, metavar="FILE",
                    help="write one record per instance to FILE")
    bv.set_defaults(func=cmd_bench_vrptw)
    bp = bench.add_parser("pmedian", help="p-median: OR-Library pmed files, solved exactly",
                          description="Solve each OR-Library pmed file to proven optimality "
                                      "(radius formulation, HiGHS); the known optimum comes "
                                      "from optimal.txt beside the file.")
    bp.add_argument("files", type=Path, nargs="+", metavar="FILE", help="OR-Library pmed file")
    bp.add_argument("--time-limit", type=float, default=60.0, metavar="S",
                    help="seconds per instance (default 60)")
    bp.add_argument("--json", type=Path, default=None, metavar="FILE",
                    help="write one record per instance to FILE")
    bp.set_defaults(func=cmd_bench_pmedian)
    bc = bench.add_parser("cpmedian", help="capacitated p-median: Osman-Christofides files, "
                                           "solved exactly",
                          description="Solve each capacitated p-median file (first line "
                                      "'problem best_value', then 'n p capacity', then "
                                      "'id x y demand'; Euclidean distances rounded down) to "
                                      "proven optimality and compare with its best value.")
    bc.add_argument("files", type=Path, nargs="+", metavar="FILE",
                    help="Osman-Christofides file")
    bc.add_argument("--time-limit", type=float, default=60.0, metavar="S",
                    help="seconds per instance (default 60)")
    bc.add_argument("--json", type=Path, default=None, metavar="FILE",
                    help="write one record per instance to FILE")
    bc.set_defaults(func=cmd_bench_cpmedian)
    bw = bench.add_parser("week", help="weekly routes: lrcplan, OR-Tools and VROOM",
                          description="Generated districts (xiaoshan, huairou, xiaoshan x3) "
                                      "and periodic, skills-constrained Solomon variants, "
                                      "each solved by lrcplan, stock OR-Tools routing and "
                                      "VROOM, counted alike. Exit 1 if lrcplan's plan "
                                      "breaks a weekly rule.")
    bw.add_argument("--time-limit", type=float, default=10.0, metavar="S",
                    help="seconds per solver and instance (default 10)")
    bw.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    bw.add_argument("--json", type=Path, default=None, metavar="FILE",
                    help="write one record per solver and instance to FILE")
    bw.add_argument("--solomon", type=Path, nargs="+", default=None, metavar="FILE",
                    help="VRPLIB VRPTW files to turn into weekly instances (then the "
                         "districts run only with --districts)")
    bw.add_argument("--districts", action="store_true",
                    help="run the generated districts as well as the --solomon files")
    bw.set_defaults(func=cmd_bench_week)
    return p


def _map_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lang", choices=["en", "zh"], default="en",
                   help="labels of maps and report: English or Chinese (default en)")
    p.add_argument("--tiles", action="store_true",
                   help="add an online OpenStreetMap background to map.html (off: the map "
                        "works offline)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OutputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError) as exc:
        print(f"error: {exc.filename or ''}: {exc.strerror}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `lrcplan routes ... | head`: the reader left, not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
