"""One call for the whole job: load, plan, write the map and the report.

This is what ``coverkit plan`` runs; scripts call it the same way::

    from coverkit.api import run_plan
    from coverkit.config import PARAMETER_SETTINGS, RunConfig, overridden_settings

    result = run_plan(RunConfig(county="Mwali", minutes=45))
    print(result.summary_text())
    result.plan.siting          # a pandas DataFrame
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from coverkit import settings
from coverkit.atomic import Moves, interrupt_on_signals, recover_stale, write_together
from coverkit.config import PARAMETER_SETTINGS, RunConfig, overridden_settings
from coverkit.plan import CountyPlan, PlanParameters, plan_county
from coverkit.planfile import MANIFEST, OLD_PICKLE, PLAN_DIR, read_plan, save_plan
from coverkit.vocab import VillageStatus, label

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
    """``name`` as a file name: letters, digits, ``-`` and ``_`` kept, others ``_``.

    A name longer than :data:`coverkit.settings.max_name_bytes` (UTF-8 bytes)
    is cut and ends with ``-`` and 8 hex digits of the whole name's SHA-256,
    so it fits the file system's 255-byte limit, stays unique and is the same
    on every run.
    """
    keep = "".join(ch if (ch.isalnum() or ch in "-_") else "_" for ch in name.strip()) or "county"
    limit = max(int(settings.max_name_bytes), 16)
    if len(keep.encode("utf-8")) <= limit:
        return keep
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    cut = keep.encode("utf-8")[: limit - 9].decode("utf-8", "ignore")
    return f"{cut}-{digest}"


def _parameter_options(config: RunConfig) -> dict[str, Any]:
    """The options of :data:`~coverkit.config.PARAMETER_SETTINGS` given, as values."""
    out: dict[str, Any] = {}
    for name in PARAMETER_SETTINGS:
        value = getattr(config, name)
        if value is None:
            continue
        if name == "eligibility_thresholds":  # the given indicators over the settings' table
            value = {**settings.eligibility_thresholds, **dict(value)}
        out[name] = value
    return out


def run_settings(config: RunConfig) -> dict[str, Any]:
    """The settings a run sets for its duration.

    Parameters
    ----------
    config
        Run options.

    Returns
    -------
    dict
        The ``[settings]`` table (and ``--set`` flags), plus each option of
        :data:`~coverkit.config.PARAMETER_SETTINGS` that
        :class:`~coverkit.plan.PlanParameters` does not (yet) have as a field.
    """
    values = dict(config.settings or ())
    known = {f.name for f in fields(PlanParameters)}
    values.update({k: v for k, v in _parameter_options(config).items() if k not in known})
    return values


def parameters_from_config(config: RunConfig) -> PlanParameters:
    """Translate run options into :class:`~coverkit.plan.PlanParameters`.

    Defaults are read from :mod:`coverkit.settings` now, so call it inside
    :func:`~coverkit.config.overridden_settings` of :func:`run_settings` (as
    :func:`run_plan` does) for ``[settings]`` to be seen.
    """
    defaults = PlanParameters()
    known = {f.name for f in fields(PlanParameters)}
    extra = {k: v for k, v in _parameter_options(config).items() if k in known}
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
        **extra,
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

    The run's settings (:func:`run_settings`: the config's ``[settings]`` table and
    ``--set`` flags) hold while it runs and are restored afterwards; the plan's
    ``summary["settings_overrides"]`` keeps them so the rule register of a re-read
    plan shows them. Settings are module globals: runs in threads of one process
    share them (run plans with different settings in separate processes).
    """
    config = config or RunConfig()
    overrides = run_settings(config)
    with interrupt_on_signals(), overridden_settings(overrides):
        return _run_plan(config, progress, overrides)


def _run_plan(
    config: RunConfig, progress: Progress | None, overrides: dict[str, Any] | None = None
) -> PlanRun:
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
        places=config.places,
    )
    plan = plan_county(
        inputs,
        params=parameters_from_config(config),
        on_stage=lambda i: stage(i),
    )
    if overrides:
        plan.summary["settings_overrides"] = dict(sorted(overrides.items()))
    stage(4)
    map_path, report_dir = output_paths(config, plan.county_name)
    files = _write_outputs(plan, map_path, report_dir)
    return PlanRun(plan=plan, map_path=map_path, files=files)


def _write_outputs(plan: CountyPlan, map_path: Path, report_dir: Path) -> dict[str, Path]:
    """Write the report folder, the saved ``plan/`` and the map together or not at all.

    Everything is first written into a staging folder
    (``.coverkit-run-<host>-<pid>-<start>-<random>``) in the folder holding
    ``maps/`` and ``outputs/``; only when every file is complete does
    :func:`coverkit.atomic.write_together` commit them: under a lock on the
    target folders (concurrent runs of one county take turns), it checks every
    target first (writable folder, not a folder where a file goes, one disk),
    journals the moves, moves each old file aside and the new one in (report
    files, ``plan/``, the map; an old ``plan.pickle`` is removed), and puts the
    old ones back if any move fails. SIGINT/SIGTERM arriving meanwhile, in any
    thread, wait until the commit is complete. A failure or interruption
    before the commit leaves the output folders exactly as they were (folders
    created for this run are removed again). A run killed outright leaves a
    journal: the next run, ``coverkit map`` or ``coverkit report`` restores the
    old set or finishes the new one, and removes the staging folder.

    Returns
    -------
    dict of str to Path
        Every file written, by key (``map``, ``plan``, the report files).

    Raises
    ------
    OutputError
        One line naming the folder or file and the fix; nothing was changed.
    """
    from coverkit.maps import save_map
    from coverkit.report import save_report

    def stage(staging: Path) -> Moves:
        staged_report = staging / "report"
        staged = dict(save_report(plan, staged_report, include_map=False))
        staged["plan"] = save_plan(plan, staged_report)
        staged["map"] = save_map(plan, staging / "map.html")
        moves: Moves = {
            key: (map_path if key == "map" else report_dir / path.name, path)
            for key, path in sorted(staged.items(), key=lambda kv: (kv[0] == "map", kv[1].name))
        }
        moves["old_pickle"] = (report_dir / OLD_PICKLE, None)
        return moves

    files = write_together(_common_parent(map_path.parent, report_dir.parent), stage)
    logger.info("outputs written: %s and %s", report_dir, map_path)
    return files


def _common_parent(a: Path, b: Path) -> Path:
    """The deepest folder containing both ``a`` and ``b`` (where to stage)."""
    parts = []
    for x, y in zip(a.absolute().parts, b.absolute().parts, strict=False):
        if x != y:
            break
        parts.append(x)
    return Path(*parts) if parts else Path(a.absolute().anchor)


def _around(path: str | Path, levels: int = 3) -> list[Path]:
    """``path`` and its ``levels`` parents: where a plan's writers may have staged."""
    p = Path(os.path.abspath(path))
    return [p, *list(p.parents)[:levels]]


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

    Raises
    ------
    CoverkitError
        One line if the plan cannot be read (the plan folder is untrusted
        input: nothing in it is run) or the map cannot be written.

    Notes
    -----
    The map is staged and committed like a run's outputs (see
    :func:`_write_outputs`): an interrupted or failed call leaves the old map
    and no temporary file; SIGTERM stops it like Ctrl-C. Commits of dead runs
    found beside the plan or the map are finished or undone first.
    """
    from coverkit.maps import map_from_plan, save_map

    with interrupt_on_signals():
        recover_stale(_around(plan_path))
        plan = read_plan(plan_path)
        target = Path(out) if out else output_paths(RunConfig(), plan.county_name)[0]
        drawn = map_from_plan(plan, tiles=tiles)

        def stage(staging: Path) -> Moves:
            return {"map": (target, save_map(drawn, staging / "map.html"))}

        return write_together(target.parent, stage, scan=_around(target.parent, 1))["map"]


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

    Raises
    ------
    CoverkitError
        One line if the plan cannot be read (the plan folder is untrusted
        input: nothing in it is run) or the report cannot be written.

    Notes
    -----
    The files are staged and committed together like a run's outputs (see
    :func:`_write_outputs`): an interrupted or failed call leaves the old
    files and no temporary file; SIGTERM stops it like Ctrl-C.
    """
    from coverkit.report import save_report

    with interrupt_on_signals():
        recover_stale(_around(plan_path))
        plan = read_plan(plan_path)
        folder = Path(out) if out else _report_folder(Path(plan_path))

        def stage(staging: Path) -> Moves:
            files = save_report(plan, staging / "report", include_map=False)
            return {key: (folder / path.name, path) for key, path in files.items()}

        return write_together(folder, stage, scan=_around(folder, 1))


def _report_folder(plan_path: Path) -> Path:
    """The report folder of the plan at ``plan_path`` (never the ``plan/`` folder itself)."""
    folder = plan_path if plan_path.is_dir() else plan_path.parent
    if folder.name == PLAN_DIR and (folder / MANIFEST).is_file():
        return folder.parent
    return folder


def _villages_line(summary: dict[str, Any]) -> str:
    """The terminal line on village service: modes, or why there are none."""
    status = VillageStatus.of(summary)
    if status != VillageStatus.LOCATED:
        return f"行政村服务方式 Villages by mode: {label(status, 'both')}"
    modes = summary.get("villages_by_mode", {})
    return "行政村服务方式 Villages by mode: " + ", ".join(f"{k} {v}" for k, v in modes.items())


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
        _villages_line(s),
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
