"""``coverkit`` command line: parse options, call the API, print a summary.

Errors a user can fix are printed as one line ``coverkit: error: <message>`` on
stderr with exit status 2: a :class:`coverkit.CoverkitError` from the run, a flag
value refused by its reader (the same readers as the config file,
:data:`coverkit.config.OPTION_READERS`) and argparse's own errors (:class:`CliParser`).
Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NoReturn

from coverkit import __version__
from coverkit.config import CANDIDATES, COORDS, ELIGIBILITY_RULES, MODES, OBJECTIVES
from coverkit.errors import CoverkitError

EXIT_USER_ERROR = 2

_PLAN_EPILOG = """\
examples:
  coverkit plan                                 # the embedded region, default county
  coverkit plan --county Nzwani -p 1 --minutes 45
  coverkit plan --county 鹿寨县 --population chn_ppp_2020_UNadj.tif \\
                --roads guangxi-latest.osm.pbf
  coverkit plan --config plan.toml --out results/

Outputs: maps/<county>.html (Folium, opens offline) and outputs/<county>/
(report.md, plan.xlsx, CSVs, plan.gpkg, travel-time GeoTIFFs); with --out DIR
both go under DIR.
"""


class _FlagError(Exception):
    """A flag value refused by its reader (not a ValueError, so argparse lets it through)."""


class CliParser(argparse.ArgumentParser):
    """An argument parser whose every error is the one line ``coverkit: error: …`` (exit 2).

    argparse prints usage lines and its own ``coverkit plan: error:`` prefix;
    this parser prints the message flattened to one line with where to look
    (``see `coverkit plan --help```). Subcommand parsers are made of this class
    too (``parser_class``). ``--help`` and ``--version`` still exit with 0.
    """

    #: The help to point at; :func:`main` sets it to the subcommand's help.
    help_hint: str | None = None

    def error(self, message: str) -> NoReturn:
        """Print ``message`` as the one-line error and exit with status 2."""
        hint = self.help_hint or f"{self.prog} --help"
        print_error(f"{message}; see `{hint}`")
        self.exit(EXIT_USER_ERROR)


def print_error(message: str) -> None:
    """Print ``coverkit: error: <message>`` on stderr as exactly one line.

    Parameters
    ----------
    message
        The error; its line breaks and runs of spaces become single spaces.
    """
    print(f"coverkit: error: {' '.join(message.split())}", file=sys.stderr)


def flag_type(key: str, flag: str) -> Callable[[str], Any]:
    """An argparse ``type`` reading a flag with the config reader of ``key``.

    Parameters
    ----------
    key
        The option in :data:`coverkit.config.OPTION_READERS`.
    flag
        The flag named in an error, e.g. ``--minutes``.

    Returns
    -------
    callable
        ``text -> value``; a bad value stops the parse with the reader's
        one-line message (printed by :func:`main`, exit status 2).
    """
    from coverkit.config import parse_flag, parse_road_speed, parse_setting, read_setting

    def read(text: str) -> Any:
        try:
            if key == "road_speeds_kph":
                return parse_road_speed(text, flag)
            if key == "settings":
                return parse_setting(text, flag)
            if key.startswith("settings."):  # a named flag for one setting
                return read_setting(key.partition(".")[2], _flag_number(text, flag), where=flag)
            if key == "tiles":
                from coverkit.maps.build import check_tiles

                return check_tiles(text)
            return parse_flag(key, text, flag)
        except CoverkitError as exc:
            raise _FlagError(str(exc)) from None

    read.__name__ = key
    return read


def _flag_number(text: str, flag: str) -> Any:
    """A flag's text as an int, else a float (the setting's reader checks the kind)."""
    for kind in (int, float):
        try:
            return kind(text.strip())
        except ValueError:
            continue
    raise _FlagError(f"{flag} {text.strip()[:40]!r} is not a number; give a number after {flag}")


def merge_settings(
    from_config: tuple[tuple[str, Any], ...] | None,
    from_flags: list[tuple[str, Any]],
) -> tuple[tuple[str, Any], ...] | None:
    """The config file's ``[settings]`` with the flags' settings on top (a later flag wins).

    Parameters
    ----------
    from_config
        ``(name, value)`` pairs of the run configuration, or ``None``.
    from_flags
        ``(name, value)`` pairs of ``--set`` and the named setting flags, in order.

    Returns
    -------
    tuple of (str, Any) or None
        Sorted pairs; ``None`` when no flag was given (the configuration's are kept).
    """
    if not from_flags:
        return None
    merged = dict(from_config or ())
    merged.update(from_flags)
    return tuple(sorted(merged.items()))


def merge_speeds(
    from_config: tuple[tuple[str, float], ...] | None,
    from_flags: list[tuple[str, float]] | None,
) -> tuple[tuple[str, float], ...] | None:
    """Road speeds of the config file with those of ``--road-speed`` flags on top.

    Parameters
    ----------
    from_config
        ``(class, km/h)`` pairs of the run configuration, or ``None``.
    from_flags
        ``(class, km/h)`` pairs of the ``--road-speed`` flags in command-line
        order (a later flag for the same class wins), or ``None``.

    Returns
    -------
    tuple of (str, float) or None
        The merged pairs sorted by class; ``None`` when no flag was given, so
        the configuration's table is kept as it is.
    """
    if not from_flags:
        return None  # keep the config's
    merged = dict(from_config or ())
    merged.update(from_flags)
    return tuple(sorted(merged.items()))


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser (exposed for documentation and tests)."""
    parser = CliParser(
        prog="coverkit",
        description=(
            "coverkit: plan county medical sub-centres (县域医疗卫生次中心) and village "
            "health service (村级医疗卫生服务全覆盖) from population, roads and facilities."
        ),
    )
    parser.add_argument("--version", action="version", version=f"coverkit {__version__}")
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    verbosity.add_argument("-q", "--quiet", action="store_true", help="only errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CliParser)
    _add_plan_command(sub)
    _add_map_command(sub)
    _add_report_command(sub)
    _add_batch_command(sub)
    return parser


def _add_plan_command(sub: argparse._SubParsersAction) -> None:
    """The ``plan`` subcommand: its verbosity flags and its option groups."""
    plan = sub.add_parser(
        "plan",
        help="plan one county end to end: travel times, sub-centres, villages, map, report",
        description=(
            "Plan one county: load inputs, compute travel times to county-level care, "
            "choose county medical sub-centres (县域医疗卫生次中心) among central township "
            "health centres (中心乡镇卫生院) outside the county seat, give every "
            "administrative village (行政村) a service mode, and write the map and report."
        ),
        epilog=_PLAN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # -v/-q also after the command (coverkit plan -q); SUPPRESS keeps the global value.
    plan_verbosity = plan.add_mutually_exclusive_group()
    plan_verbosity.add_argument(
        "-v", "--verbose", action="count", default=argparse.SUPPRESS, help="more log output"
    )
    plan_verbosity.add_argument(
        "-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="only errors"
    )
    _add_input_options(plan)
    _add_siting_options(plan)
    _add_travel_options(plan)
    _add_rule_options(plan)
    plan.add_argument(
        "--out",
        type=flag_type("out", "--out"),
        metavar="DIR",
        help="write everything under DIR (default: maps/ and outputs/ in the current folder)",
    )
    plan.add_argument(
        "--data-dir",
        type=flag_type("data_dir", "--data-dir"),
        metavar="DIR",
        help="folder of the embedded data (data/)",
    )


def _add_input_options(plan: argparse.ArgumentParser) -> None:
    """``plan`` options naming the inputs: config, region, county, files, coordinates."""
    plan.add_argument(
        "--config",
        type=flag_type("config", "--config"),
        metavar="FILE",
        help="TOML file with the same option names (flags win)",
    )
    plan.add_argument(
        "--region",
        type=flag_type("region", "--region"),
        metavar="NAME",
        help="embedded region or reference set: 'comoros' (default) or 'china'",
    )
    plan.add_argument(
        "--county",
        type=flag_type("county", "--county"),
        metavar="NAME|CODE",
        help="county (县) by name or code; default: the region's default county",
    )
    plan.add_argument(
        "--population",
        type=flag_type("population", "--population"),
        metavar="FILE",
        help="population raster, GeoTIFF (人口栅格, e.g. WorldPop)",
    )
    plan.add_argument(
        "--roads",
        type=flag_type("roads", "--roads"),
        metavar="FILE",
        help="road network: .osm.pbf, .osm, .graphml, or GPKG/SHP lines (道路网络); "
        "'download' fetches it with osmnx when online; 'none' estimates travel times "
        "from straight lines (估算, labelled as estimated)",
    )
    plan.add_argument(
        "--facilities",
        type=flag_type("facilities", "--facilities"),
        metavar="FILE",
        help="facility table CSV/XLSX/GPKG (医疗机构: 县级医院, 乡镇卫生院, 村卫生室)",
    )
    plan.add_argument(
        "--villages",
        type=flag_type("villages", "--villages"),
        metavar="FILE",
        help="village table CSV/XLSX/GPKG (行政村)",
    )
    plan.add_argument(
        "--places",
        type=flag_type("places", "--places"),
        metavar="FILE",
        help="named places (OSM extract or GeoParquet/GPKG/GeoJSON/CSV with a name column) "
        "placing the NBS villages without a point (Chinese counties; default: the --roads "
        "extract when it is OSM; 'none': no matching)",
    )
    plan.add_argument(
        "--encoding",
        type=flag_type("encoding", "--encoding"),
        metavar="NAME",
        help="encoding of the CSV tables, e.g. utf-8, gbk, gb18030, utf-16 "
        "(default: recognised from the file)",
    )
    plan.add_argument(
        "--coords",
        choices=COORDS,
        help="coordinate system of the point tables "
        "(高德/腾讯 = gcj02, 百度 = bd09; default wgs84)",
    )


def _add_siting_options(plan: argparse.ArgumentParser) -> None:
    """``plan`` options of the siting: p, thresholds, objective, candidates."""
    plan.add_argument(
        "-p",
        "--subcentres",
        type=flag_type("subcentres", "--subcentres"),
        metavar="P",
        help="number of sub-centres to choose (次中心数量): one number or a list like 1,2 "
        "(default 1,2: the second only if it adds enough)",
    )
    plan.add_argument(
        "--minutes",
        type=flag_type("minutes", "--minutes"),
        metavar="T",
        help="travel-time threshold to county-level care, minutes (医疗服务圈; default 30)",
    )
    plan.add_argument(
        "--thresholds",
        type=flag_type("thresholds", "--thresholds"),
        metavar="LIST",
        help="thresholds shown side by side, minutes (default 15,30,45,60)",
    )
    plan.add_argument(
        "--objective",
        choices=OBJECTIVES,
        help="siting objective: pmedian (default: least population-weighted minutes), "
        "mclp (most people within T), pcenter (shortest worst trip)",
    )
    plan.add_argument(
        "--candidates",
        choices=CANDIDATES,
        help="which township health centres may become sub-centres: central (中心乡镇卫生院 "
        "only), all, or auto (default: central ones if there are enough outside the "
        "county seat, else all)",
    )
    plan.add_argument(
        "--standard-only",
        action="store_true",
        default=None,
        help="only centres that meet the recommended standard (优质服务基层行推荐标准) may "
        "become sub-centres: those flagged 是/yes in the facility table's 达标 / 优质服务基层行 "
        "/ 推荐标准 / meets_standard column (without one, every centre is assumed to)",
    )


def _add_travel_options(plan: argparse.ArgumentParser) -> None:
    """``plan`` options of the travel times: road buffer, mode, speeds, walking limit."""
    plan.add_argument(
        "--road-buffer",
        type=flag_type("road_buffer_m", "--road-buffer"),
        dest="road_buffer_m",
        metavar="M",
        help="keep roads this many metres beyond the county border (default 5000; "
        "0 keeps only the roads inside the county)",
    )
    plan.add_argument(
        "--mode",
        choices=MODES,
        help="travel mode: drive (default: road speeds by class) or walk (every road walked)",
    )
    plan.add_argument(
        "--road-speed",
        type=flag_type("road_speeds_kph", "--road-speed"),
        action="append",
        dest="road_speeds_kph",
        metavar="CLASS=KPH",
        help="speed of an OSM road class, km/h, over the default table (repeatable), "
        "e.g. --road-speed track=15",
    )
    plan.add_argument(
        "--walk-speed",
        type=flag_type("walk_speed_kph", "--walk-speed"),
        dest="walk_speed_kph",
        metavar="KPH",
        help="off-road walking speed, km/h (default 5)",
    )
    plan.add_argument(
        "--max-walk",
        type=flag_type("max_walk_m", "--max-walk"),
        dest="max_walk_m",
        metavar="M",
        help="places farther than this from any road are unreachable, metres (default 5000)",
    )


def _add_rule_options(plan: argparse.ArgumentParser) -> None:
    """``plan`` options of the policy rules: the main thresholds and ``--set NAME=VALUE``."""
    rules = plan.add_argument_group(
        "policy rules and thresholds (规则与阈值; all listed in the README and in rules.csv)"
    )
    rules.add_argument(
        "--eligibility-rule",
        choices=ELIGIBILITY_RULES,
        help="how the sub-centre eligibility indicators combine: any (default; 000 §(一)) or "
        "all (Tianjin 001 §2: large population AND large area)",
    )
    rules.add_argument(
        "--outside-hospitals",
        action="store_true",
        default=None,
        dest="count_outside_hospitals",
        help="count secondary-or-higher hospitals outside the county, within the road buffer, "
        "as existing county-level cover (周边二级以上综合医院, 001 §2)",
    )
    rules.add_argument(
        "--seat-radius",
        type=flag_type("seat_exclusion_radius_m", "--seat-radius"),
        dest="seat_exclusion_radius_m",
        metavar="M",
        help="township centres this close to the county seat count as in the seat (在县城之外"
        "选建), metres (default 5000)",
    )
    for flag, name, metavar, what in _SETTING_FLAGS:
        rules.add_argument(
            flag,
            type=flag_type(f"settings.{name}", flag),
            action=_SettingAction,
            dest="setting_flags",
            metavar=metavar,
            help=what,
        )
    rules.add_argument(
        "--joint-cross-township",
        action=_SettingAction,
        nargs=0,
        dest="setting_flags",
        const=("joint_same_township", False),
        help="joint service may cross township lines (default: same township only)",
    )
    rules.add_argument(
        "--set",
        type=flag_type("settings", "--set"),
        action=_SettingAction,
        dest="setting_flags",
        metavar="NAME=VALUE",
        help="set any threshold of coverkit.settings for this run (repeatable), e.g. "
        "--set stationed_min_population=2000 (as the config's [settings] table)",
    )


#: Named flags of one setting each: (flag, setting, metavar, help).
_SETTING_FLAGS: tuple[tuple[str, str, str, str], ...] = (
    (
        "--joint-max-villages",
        "joint_max_villages",
        "N",
        "at most N guest villages per host clinic (邻（联）村延伸服务)",
    ),
    (
        "--joint-max-people",
        "joint_max_population",
        "N",
        "at most N people served by one host clinic, its own village included",
    ),
    (
        "--visit-min",
        "rotation_visit_min",
        "MIN",
        "minimum stay per rotation visit, minutes (每次至少半天, 000 §(一); default 240)",
    ),
)


class _SettingAction(argparse.Action):
    """Collect ``(name, value)`` settings of ``--set`` and the named flags, in order."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        pair = self.const if self.nargs == 0 else values  # (name, value) from the reader
        items = list(getattr(namespace, self.dest, None) or [])
        items.append(pair)
        setattr(namespace, self.dest, items)


def _add_map_command(sub: argparse._SubParsersAction) -> None:
    """The ``map`` subcommand: redraw the map of a finished plan."""
    map_cmd = sub.add_parser(
        "map",
        help="redraw the map of a finished plan (地图)",
        description="Redraw the offline HTML map of a plan written by `coverkit plan`.",
    )
    map_cmd.add_argument(
        "plan",
        type=flag_type("plan", "PLAN"),
        metavar="PLAN",
        help="outputs/<county>/ or its plan/ folder",
    )
    map_cmd.add_argument(
        "--out",
        type=flag_type("out", "--out"),
        metavar="FILE",
        help="HTML file (default maps/<county>.html)",
    )
    map_cmd.add_argument(
        "--tiles",
        type=flag_type("tiles", "--tiles"),
        metavar="NAME",
        help="add an online base layer, e.g. OpenStreetMap, OpenTopoMap or Esri.WorldImagery "
        "(default: none, fully offline)",
    )


def _add_report_command(sub: argparse._SubParsersAction) -> None:
    """The ``report`` subcommand: rewrite the report of a finished plan."""
    report_cmd = sub.add_parser(
        "report",
        help="rewrite the report of a finished plan (报告)",
        description="Rewrite report.md/.html, plan.xlsx, CSVs, plan.gpkg and GeoTIFFs of a plan.",
    )
    report_cmd.add_argument(
        "plan",
        type=flag_type("plan", "PLAN"),
        metavar="PLAN",
        help="outputs/<county>/ or its plan/ folder",
    )
    report_cmd.add_argument(
        "--out",
        type=flag_type("out", "--out"),
        metavar="DIR",
        help="folder (default: the plan's folder)",
    )


#: The province-wide input files of ``coverkit batch`` and their help.
_BATCH_FILES = {
    "population": "province-wide GeoTIFF",
    "roads": "province-wide .osm.pbf or lines",
    "facilities": "facility table (CSV/XLSX)",
    "villages": "village table (CSV/XLSX)",
}


def _add_batch_command(sub: argparse._SubParsersAction) -> None:
    """The ``batch`` subcommand: plan every county of a province on Dask."""
    batch_cmd = sub.add_parser(
        "batch",
        help="plan every county of a province on Dask (批量), resumable",
        description=(
            "Plan many counties, one Dask task each, from province-wide inputs; writes "
            "out/manifest.json (re-runs skip finished counties), province.csv/.xlsx and "
            "province.html, each county with a status: ok, not_applicable (an urban district: "
            "no village service) or failed. An .osm.pbf is read once and cut into per-county "
            "pieces (out/.extract). Exits 0 when no county failed, 2 otherwise."
        ),
    )
    which = batch_cmd.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--province",
        type=flag_type("region", "--province"),
        metavar="NAME|CODE",
        help="e.g. 广西 or 45",
    )
    which.add_argument(
        "--configs",
        type=flag_type("config", "--configs"),
        metavar="TOML",
        nargs="+",
        help="one run config (.toml) per county",
    )
    for key, what in _BATCH_FILES.items():
        batch_cmd.add_argument(
            f"--{key}", type=flag_type(key, f"--{key}"), metavar="FILE", help=what
        )
    batch_cmd.add_argument(
        "--encoding",
        type=flag_type("encoding", "--encoding"),
        metavar="NAME",
        help="encoding of the CSV tables, e.g. gbk (default: recognised from the file)",
    )
    batch_cmd.add_argument(
        "--coords", choices=COORDS, default="wgs84", help="coordinates of the tables"
    )
    batch_cmd.add_argument(
        "--out", type=flag_type("out", "--out"), metavar="DIR", required=True, help="output folder"
    )
    batch_cmd.add_argument(
        "--scheduler",
        type=flag_type("scheduler", "--scheduler"),
        metavar="ADDRESS",
        help="running Dask scheduler, host:port or tcp://host:port",
    )
    batch_cmd.add_argument(
        "--workers",
        type=flag_type("workers", "--workers"),
        metavar="N",
        help="local workers (default: cores)",
    )
    batch_cmd.add_argument(
        "--road-buffer",
        type=flag_type("road_buffer_m", "--road-buffer"),
        dest="road_buffer_m",
        metavar="M",
        help="roads kept beyond each county's border, metres (default 5000)",
    )


@contextlib.contextmanager
def _logging_to_stderr(verbose: int, quiet: bool) -> Iterator[None]:
    """Send coverkit's log records to stderr for one command, then restore the logger."""
    if quiet:
        level = logging.ERROR
    else:
        level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    log = logging.getLogger("coverkit")
    saved = (log.handlers[:], log.level, log.propagate)
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False
    try:
        yield
    finally:
        log.handlers[:], log.level, log.propagate = saved


def _run_plan(args: argparse.Namespace) -> int:
    """``coverkit plan``: the config file (if any) with the flags on top, then the run."""
    from coverkit.api import run_plan
    from coverkit.config import RunConfig, read_config

    config = read_config(args.config) if args.config else RunConfig()
    config = config.updated(
        region=args.region,
        county=args.county,
        population=args.population,
        roads=args.roads,
        facilities=args.facilities,
        villages=args.villages,
        places=args.places,
        coords=args.coords,
        subcentres=args.subcentres,
        minutes=args.minutes,
        thresholds=args.thresholds,
        objective=args.objective,
        candidates=args.candidates,
        standard_only=args.standard_only,
        road_buffer_m=args.road_buffer_m,
        mode=args.mode,
        walk_speed_kph=args.walk_speed_kph,
        max_walk_m=args.max_walk_m,
        road_speeds_kph=merge_speeds(config.road_speeds_kph, args.road_speeds_kph),
        encoding=args.encoding,
        out=args.out,
        data_dir=args.data_dir,
        eligibility_rule=args.eligibility_rule,
        count_outside_hospitals=args.count_outside_hospitals,
        seat_exclusion_radius_m=args.seat_exclusion_radius_m,
        settings=merge_settings(config.settings, args.setting_flags or []),
    )
    start = time.perf_counter()

    def progress(step: int, total: int, label: str) -> None:
        if not args.quiet:
            elapsed = time.perf_counter() - start
            print(f"[{step}/{total}] {label} ({elapsed:.1f} s)", file=sys.stderr, flush=True)

    result = run_plan(config, progress=progress)
    if not args.quiet:
        print(result.summary_text())
    return 0


def _run_map(args: argparse.Namespace) -> int:
    """``coverkit map``: redraw the map of a finished plan."""
    from coverkit.api import write_map

    path = write_map(args.plan, out=args.out, tiles=args.tiles)
    print(f"地图 Map: {path}")
    return 0


def _run_report(args: argparse.Namespace) -> int:
    """``coverkit report``: rewrite the report files of a finished plan."""
    from coverkit.api import write_report

    files = write_report(args.plan, out=args.out)
    print(f"报告 Report: {next(iter(files.values())).parent} ({len(files)} files)")
    return 0


def _run_batch(args: argparse.Namespace) -> int:
    """``coverkit batch``: plan many counties, count each status; exit 2 when any failed."""
    from coverkit.batch import run_batch, status_counts, status_label
    from coverkit.config import read_config

    res = run_batch(
        [read_config(c) for c in args.configs] if args.configs else None,
        province=args.province,
        population=args.population,
        roads=args.roads,
        facilities=args.facilities,
        villages=args.villages,
        coords=args.coords,
        encoding=args.encoding,
        out=args.out,
        scheduler=args.scheduler,
        n_workers=args.workers,
        road_buffer_m=args.road_buffer_m,
        progress=not args.quiet,
    )
    counts = status_counts(res.table)
    said = ", ".join(f"{n} {status_label(st)}" for st, n in counts.items())
    print(f"县 Counties: {said}; map {res.overview_path}")
    for code, name, err in res.failed:
        print(f"{status_label('failed')}: {name} ({code}): {err}", file=sys.stderr)
    return EXIT_USER_ERROR if res.failed else 0


#: The function that runs each subcommand.
_COMMANDS = {"plan": _run_plan, "map": _run_map, "report": _run_report, "batch": _run_batch}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line; any error is one line on stderr and exit status 2.

    Parameters
    ----------
    argv
        Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns
    -------
    argparse.Namespace
        The options, each flag value checked by its reader in
        :data:`coverkit.config.OPTION_READERS`.

    Raises
    ------
    SystemExit
        Status 2 after printing ``coverkit: error: <message>`` (a bad flag,
        an unknown option or command, a missing argument), or status 0 for
        ``--help`` and ``--version``.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    command = next((a for a in argv if a in _COMMANDS), None)
    if command is not None:  # top-level errors (unknown options) point at its help
        parser.help_hint = f"coverkit {command} --help"
    try:
        return parser.parse_args(argv)
    except _FlagError as exc:
        print_error(str(exc))
        raise SystemExit(EXIT_USER_ERROR) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``coverkit`` command.

    Parameters
    ----------
    argv
        Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns
    -------
    int
        Exit status: 0 on success (``--help`` and ``--version`` included), 2 on an
        input or parameter error (argparse's own included: never a ``SystemExit``).
    """
    try:
        args = parse_args(argv)
    except SystemExit as exc:  # --help/--version (0) or a one-line usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USER_ERROR
    if args.command is None:
        build_parser().print_help()
        print_error(f"no command given; use one of {', '.join(_COMMANDS)} (see `coverkit --help`)")
        return EXIT_USER_ERROR
    try:
        with _logging_to_stderr(args.verbose, args.quiet):
            return _COMMANDS[args.command](args)
    except CoverkitError as exc:
        print_error(str(exc))
        return EXIT_USER_ERROR
    except KeyboardInterrupt as exc:
        from coverkit.atomic import CommitInterrupted

        said = str(exc) if isinstance(exc, CommitInterrupted) else "outputs were left as they were"
        print(f"coverkit: interrupted; {said}", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
