"""One call for the whole job: load, plan, write the map and the report.

This is what ``coverkit plan`` runs; scripts call it the same way::

    from coverkit.api import run_plan
    from coverkit.config import RunConfig

    result = run_plan(RunConfig(county="Mwali", minutes=45))
    print(result.summary_text())
    result.plan.siting          # a pandas DataFrame
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from coverkit.atomic import make_folder
from coverkit.config import RunConfig
from coverkit.errors import OutputError
from coverkit.plan import CountyPlan, PlanParameters, plan_county
from coverkit.planfile import OLD_PICKLE, read_plan, replace_plan, save_plan

logger = logging.getLogger(__name__)

#: Called as ``progress(step, total, label)`` before each stage.
Progress = Callable[[int, int, str], None]

STAGES = (
    "load inputs 读取数据",
    "travel times 出行时间",
    "sub-centre siting 次中心选址",
    "village service 村级服务",
    "map and report 地图与报告",
)


@dataclass(frozen=True)
class PlanRun:
    """A finished run: the plan and the files written.

    Attributes
    ----------
    plan
        The :class:`~coverkit.plan.CountyPlan`.
    map_path
        The HTML map.
    files
        Every file written, by name.
    """

    plan: CountyPlan
    map_path: Path
    files: dict[str, Path] = field(default_factory=dict)

    def summary_text(self) -> str:
        """A short plain-text summary for a terminal (Chinese labels first)."""
        return summary_text(self.plan, self.map_path, self.files)


def output_paths(config: RunConfig, county_name: str) -> tuple[Path, Path]:
    """Where the map and the report folder of a county go.

    Without ``out`` the map is ``maps/<county>.html`` and the tables
    ``outputs/<county>/`` in the current folder; with ``out`` both are under it.
    """
    base = Path(config.out) if config.out else Path()
    safe = _safe_name(county_name)
    return base / "maps" / f"{safe}.html", base / "outputs" / safe


def _safe_name(name: str) -> str:
    """``name`` as a file name: letters, digits, ``-`` and ``_`` kept, others ``_``."""
    keep = "".join(ch if (ch.isalnum() or ch in "-_") else "_" for ch in name.strip())
    return keep or "county"


def parameters_from_config(config: RunConfig) -> PlanParameters:
    """Translate run options into :class:`~coverkit.plan.PlanParameters`."""
    defaults = PlanParameters()
    return PlanParameters(
        p_values=tuple(config.subcentres) if config.subcentres else defaults.p_values,
        threshold_min=config.minutes if config.minutes else defaults.threshold_min,
        thresholds_min=tuple(config.thresholds) if config.thresholds else defaults.thresholds_min,
        objective=config.objective,
        candidates=config.candidates,
        standard_only=config.standard_only,
        mode=config.mode,
        walk_speed_kph=config.walk_speed_kph or defaults.walk_speed_kph,
        max_walk_m=defaults.max_walk_m if config.max_walk_m is None else config.max_walk_m,
        road_speeds_kph=tuple(config.road_speeds_kph or ()),
    )


def run_plan(config: RunConfig | None = None, *, progress: Progress | None = None) -> PlanRun:
    """Plan one county and write its map and report.

    Parameters
    ----------
    config
        Run options; ``None`` plans the embedded region's default county.
    progress
        Optional callback ``progress(step, total, label)`` called before each stage.

    Returns
    -------
    PlanRun
        The plan and the paths of the files written.

    Raises
    ------
    CoverkitError
        For any input or parameter problem (a subclass naming the file,
        column or value).

    Notes
    -----
    Outputs appear together or not at all: they are written into a staging
    folder beside the targets and moved into place only when all are complete
    (see :func:`_write_outputs`). A failure, Ctrl-C (SIGINT) or SIGTERM before
    that leaves the output folders as they were; during the run SIGTERM raises
    :class:`KeyboardInterrupt` like SIGINT so the clean-up runs.
    """
    config = config or RunConfig()
    with _sigterm_as_interrupt():
        return _run_plan(config, progress)


def _run_plan(config: RunConfig, progress: Progress | None) -> PlanRun:
    """Load, plan and write, reporting each of :data:`STAGES` to ``progress``."""
    from coverkit.region import load_county

    total = len(STAGES)

    def stage(i: int) -> None:
        if progress is not None:
            progress(i + 1, total, STAGES[i])

    stage(0)
    inputs = load_county(
        config.region,
        county=config.county,
        population=config.population,
        roads=config.roads,
        facilities=config.facilities,
        villages=config.villages,
        coords=config.coords,
        data_dir=config.data_dir,
        road_buffer_m=config.road_buffer_m,
        encoding=config.encoding,
    )
    plan = plan_county(
        inputs,
        params=parameters_from_config(config),
        on_stage=lambda i: stage(i),
    )
    stage(4)
    map_path, report_dir = output_paths(config, plan.county_name)
    files = _write_outputs(plan, map_path, report_dir)
    return PlanRun(plan=plan, map_path=map_path, files=files)


def _write_outputs(plan: CountyPlan, map_path: Path, report_dir: Path) -> dict[str, Path]:
    """Write the report folder, the saved ``plan/`` and the map together or not at all.

    Everything is first written into a staging folder (``.coverkit-run-*``)
    beside the targets; only when every file is complete are they moved into
    place with :func:`os.replace` (same file system, so each move is atomic):
    first the report files in name order, then ``plan/``, the map last.
    SIGINT/SIGTERM are held back during these moves. A failure or an
    interruption before the moves leaves the output folders exactly as they
    were (folders created for this run are removed again) and removes the
    staging folder.
    """
    from coverkit.maps import save_map
    from coverkit.report import save_report

    base = _common_parent(map_path.parent, report_dir.parent)
    created = _make_folders([base, map_path.parent, report_dir.parent])
    staging: Path | None = None
    committed = False
    try:
        try:
            staging = Path(tempfile.mkdtemp(prefix=".coverkit-run-", dir=base))
        except OSError as exc:
            raise OutputError(
                f"cannot write into the folder {base}: {exc.strerror}; choose another with --out"
            ) from exc
        staged_report = staging / "report"
        staged = dict(save_report(plan, staged_report, include_map=False))
        staged["plan"] = save_plan(plan, staged_report)
        staged["map"] = save_map(plan, staging / "map.html")
        files: dict[str, Path] = {}
        with _signals_held():
            _make_folders([report_dir])
            try:
                for key, path in sorted(
                    staged.items(), key=lambda kv: (kv[0] == "map", kv[1].name)
                ):
                    target = map_path if key == "map" else report_dir / path.name
                    if key == "plan":
                        replace_plan(path, target)
                        (report_dir / OLD_PICKLE).unlink(missing_ok=True)
                    else:
                        os.replace(path, target)
                    files[key] = target
            except OSError as exc:
                raise OutputError(
                    f"cannot move the outputs into {report_dir} and {map_path.parent} "
                    f"({exc.strerror}); check permissions and space, or choose another --out"
                ) from exc
            committed = True
        logger.info("outputs written: %s and %s", report_dir, map_path)
        return files
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        if not committed:
            for folder in reversed(created):
                with contextlib.suppress(OSError):
                    folder.rmdir()  # only if still empty


def _common_parent(a: Path, b: Path) -> Path:
    """The deepest folder containing both ``a`` and ``b`` (where to stage)."""
    parts = []
    for x, y in zip(a.absolute().parts, b.absolute().parts, strict=False):
        if x != y:
            break
        parts.append(x)
    return Path(*parts) if parts else Path(a.absolute().anchor)


def _make_folders(folders: list[Path]) -> list[Path]:
    """Create missing folders (parents first); return those created, in creation order."""
    created: list[Path] = []
    for folder in folders:
        missing = [f for f in (folder, *folder.parents) if not f.exists()]
        make_folder(folder)
        created.extend(reversed(missing))
    return created


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT/SIGTERM back while the outputs are moved into place (main thread only)."""
    held = {signal.SIGINT, signal.SIGTERM}
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt for one run so its clean-up runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except (ValueError, OSError):  # pragma: no cover - not in the main interpreter
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _site_lines(plan: CountyPlan) -> list[str]:
    """One line per chosen sub-centre: what it brings."""
    sites = plan.subcentres
    if sites is None or len(sites) == 0 or "pop_newly_within" not in sites:
        return []
    t = plan.params.threshold_min
    return [
        f"  · {row.name}: +{row.pop_newly_within:,.0f} 人 people within {t:g} min, "
        f"平均节省 mean saving {row.mean_saved_min:.1f} min for {row.pop_served:,.0f} served"
        for row in sites.itertuples()
    ]


def write_map(
    plan_path: str | Path, *, out: str | Path | None = None, tiles: str | None = None
) -> Path:
    """Redraw the map of a finished plan (``coverkit map``).

    Parameters
    ----------
    plan_path
        The report folder of a plan (``outputs/<county>/``) or its ``plan/`` folder.
    out
        The HTML file to write; default ``maps/<county>.html``.
    tiles
        Optional online base layer (e.g. ``'OpenStreetMap'``); default none, so
        the map opens offline.

    Returns
    -------
    Path
        The map written.
    """
    from coverkit.maps import map_from_plan, save_map

    plan = read_plan(plan_path)
    target = Path(out) if out else output_paths(RunConfig(), plan.county_name)[0]
    make_folder(target.parent)
    return save_map(map_from_plan(plan, tiles=tiles), target)


def write_report(plan_path: str | Path, *, out: str | Path | None = None) -> dict[str, Path]:
    """Rewrite the report files of a finished plan (``coverkit report``).

    Parameters
    ----------
    plan_path
        The report folder of a plan (``outputs/<county>/``) or its ``plan/`` folder.
    out
        The folder to write; default: the folder the plan is in.

    Returns
    -------
    dict of str to Path
        The files written.
    """
    from coverkit.report import save_report

    plan = read_plan(plan_path)
    folder = Path(plan_path)
    folder = Path(out) if out else (folder if folder.is_dir() else folder.parent)
    return save_report(plan, folder, include_map=False)


def summary_text(plan: CountyPlan, map_path: Path, files: dict[str, Path]) -> str:
    """Format the terminal summary of a plan."""
    s = plan.summary
    t = plan.params.threshold_min
    lines = [
        f"县 County: {plan.county_name} ({plan.county_id})",
        f"常住人口 Population (raster): {s.get('population', 0):,.0f}",
        f"次中心资格 Sub-centres needed: {'是 yes' if plan.eligible else '否 no'}"
        f" ({s.get('eligibility_reason', '')})",
        f"{t:g} 分钟内人口 Population within {t:g} min of county-level care: "
        f"{s.get('within_before', 0):,.0f} ({s.get('share_before', 0):.1%}) → "
        f"{s.get('within_after', 0):,.0f} ({s.get('share_after', 0):.1%})",
        f"建议次中心 Proposed sub-centres (p={s.get('p', 0)}): "
        + (", ".join(s.get("subcentre_names", [])) or "none"),
        *_site_lines(plan),
        "行政村服务方式 Villages by mode: "
        + ", ".join(f"{k} {v}" for k, v in s.get("villages_by_mode", {}).items()),
        f"地图 Map: {map_path}",
    ]
    report = files.get("report_md")
    if report is not None:
        lines.append(f"报告 Report: {report.parent}")
    for note in plan.notes[:5]:
        lines.append(f"注意 Note: {note}")
    if len(plan.notes) > 5:
        lines.append(f"注意 Note: … {len(plan.notes) - 5} more in the report")
    return "\n".join(lines)
