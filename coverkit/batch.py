"""Province-wide runs on Dask: one task per county (issue 9).

``run_batch`` plans many counties at once. Each county is one Dask task that
calls :func:`coverkit.api.run_plan`: it reads only the window of the
province-wide population raster that covers the county and only the roads near
it, runs the full plan and writes the county's map and report under ``out/``.
No worker ever loads the whole raster or road file.

An OSM extract (``.osm.pbf``) is read ONCE for the whole batch (issue 17): before
the tasks start, :func:`with_extract_pieces` cuts it into per-county pieces
(``out/.extract/<code>/roads.gpkg`` and ``places.gpkg``, the features
meeting the county outline buffered by the road buffer; reused by a rerun while
the extract is unchanged) and each task plans from its piece. A line file
(GeoPackage …) is read by each task with a bounding-box filter, as before.

Each county's ``status`` in the province table is ``ok``, ``not_applicable``
(planned, but village service does not apply: an urban district with only
街道/社区) or ``failed`` (with its one-line ``error``).

Resumable: ``out/manifest.json`` records every county with the hash of its
inputs and parameters (:func:`input_hash`: sha256 over the run options and, for
each input file, its path, size and modification time in ns — a content hash of
a national raster would take minutes). A re-run skips counties whose hash is
unchanged and whose status is ``ok``; changed and failed counties are redone.

Fault isolation: an error in one county is recorded (county, one-line message)
and the others finish. The province table (``province.csv``/``.xlsx``) and the
overview map (``province.html``, each county linking to its own map) are written
at the end.

A real multi-machine cluster::

    # machine A
    dask scheduler                       # prints tcp://A:8786
    # machines B, C, ... (same Python env, inputs and out/ on a shared path)
    dask worker tcp://A:8786 --nworkers 4 --nthreads 1
    # anywhere
    coverkit batch --province 广西 --population pop.tif --roads guangxi.osm.pbf \\
                   --out /shared/out --scheduler tcp://A:8786
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from coverkit import settings
from coverkit.atomic import make_folder
from coverkit.config import RunConfig
from coverkit.errors import ConfigError, CoverkitError, InputFileError
from coverkit.vocab import LABELS, Objective, ServiceMode, VillageStatus, label
from coverkit.writers import html_text, write_csv, write_text, write_xlsx

logger = logging.getLogger(__name__)

#: Version of the manifest layout; part of every hash so a format change redoes all.
MANIFEST_VERSION = 1
#: Douglas–Peucker tolerance (degrees) of the county outlines on the overview map.
OUTLINE_TOLERANCE_DEG = 0.002

TABLE_COLUMNS = [
    "county",
    "code",
    "status",
    "error",
    "eligible",
    "p",
    "subcentres",
    "population",
    "within_before",
    "within_after",
    "share_before",
    "share_after",
    "villages",
    "staffing_flags",
    "village_doctors_min",
    "village_doctors_max",
    "map",
]


@dataclass(frozen=True)
class BatchResult:
    """A finished batch.

    Attributes
    ----------
    table
        One row per county (columns :data:`TABLE_COLUMNS` plus ``villages_<mode>`` for
        each :class:`~coverkit.vocab.ServiceMode`).
    failed
        ``(code, county, one-line error)`` for every county that failed.
    manifest_path
        ``out/manifest.json``.
    overview_path
        ``out/province.html``.
    table_paths
        The CSV and XLSX province tables.
    skipped
        Codes of counties skipped because the manifest showed them done.
    """

    table: pd.DataFrame
    failed: list[tuple[str, str, str]]
    manifest_path: Path
    overview_path: Path
    table_paths: dict[str, Path]
    skipped: list[str]


def counties_of_province(province: str) -> pd.DataFrame:
    """The counties of a province from the shipped county table.

    Parameters
    ----------
    province
        Province name (full ``广西壮族自治区`` or a prefix such as ``广西``) or
        code (2-digit ``45`` or 6-digit ``450000``).

    Returns
    -------
    DataFrame
        ``county_adcode, county, city, province`` of its counties (rows without a
        county point, e.g. 市辖区 placeholders, are left out), sorted by code.

    Raises
    ------
    ConfigError
        No or several provinces match.
    """
    from coverkit.china import china_table

    t = china_table("counties")
    t = t[t["lon_gcj02"].notna()]
    q = str(province).strip()
    if q.isdigit() and len(q) in (2, 6):
        rows = t[t["county_adcode"].str[:2] == q[:2]]
    else:
        names = t["province"].unique()
        hits = sorted(n for n in names if n == q or n.startswith(q))
        if len(hits) > 1:
            raise ConfigError(
                f"province {q!r} matches {', '.join(hits)}; give the full name or the 2-digit code"
            )
        rows = t[t["province"] == hits[0]] if hits else t.iloc[0:0]
    if len(rows) == 0:
        raise ConfigError(
            f"no province matches {q!r}; give a name such as 广西壮族自治区 or a code such as 45"
        )
    rows = rows.sort_values("county_adcode", kind="stable")
    return rows[["county_adcode", "county", "city", "province"]].reset_index(drop=True)


def _file_stamp(value: str | None) -> Any:
    if value is None or value in ("download", "none"):
        return value
    p = Path(value)
    try:
        st = p.stat()
    except OSError:
        return [str(p), None, None]
    return [str(p.resolve()), st.st_size, st.st_mtime_ns]


def input_hash(config: RunConfig) -> str:
    """Hash of a county's run options and input files (size and mtime, not content).

    Parameters
    ----------
    config
        The county's run options (its ``out`` is ignored).

    Returns
    -------
    str
        Hex sha256 digest.
    """
    opts = asdict(config)
    opts.pop("out", None)
    for key in ("population", "roads", "facilities", "villages", "places"):
        if key in opts:  # places: once RunConfig has it (issue 17)
            opts[key] = _file_stamp(opts[key])
    payload = json.dumps(
        {"v": MANIFEST_VERSION, "options": opts}, sort_keys=True, ensure_ascii=False, default=str
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def plan_one_county(config: RunConfig) -> dict[str, Any]:
    """Run one county (the Dask task) and return a small summary dict.

    Never raises: a :class:`CoverkitError` is recorded with its one-line message,
    any other exception (a bug) as ``"<Type>: message"``.

    Parameters
    ----------
    config
        Run options of the county; ``out`` is the batch's output folder.

    Returns
    -------
    dict
        ``code, status`` ('ok'/'error'), ``error`` and, when ok, the summary
        fields of the province table, ``outline`` (simplified WKT, WGS84) and
        ``outputs`` (paths relative to ``out``).
    """
    from coverkit.api import run_plan

    code = str(config.county)
    try:
        run = run_plan(config)
    except CoverkitError as exc:
        return {"code": code, "status": "error", "error": _one_line(exc)}
    except Exception as exc:  # a bug, but it must not stop the other counties
        logger.exception("county %s failed with an unexpected error", code)
        return {
            "code": code,
            "status": "error",
            "error": f"{type(exc).__name__}: {_one_line(exc)}",
        }
    plan = run.plan
    s = plan.summary
    out = Path(config.out) if config.out else Path()
    staffing = plan.staffing
    vrows = staffing[staffing["level"] == "village"] if len(staffing) else staffing
    modes = s.get("villages_by_mode", {})
    outline = plan.boundary.to_crs("EPSG:4326").geometry.union_all()
    return {
        "code": code,
        "status": "ok",
        "error": "",
        "county": plan.county_name,
        "eligible": bool(plan.eligible),
        "p": int(s.get("p", 0)),
        "subcentres": "; ".join(s.get("subcentre_names", [])),
        "population": float(s.get("population", 0.0)),
        "within_before": float(s.get("within_before", 0.0)),
        "within_after": float(s.get("within_after", 0.0)),
        "share_before": float(s.get("share_before", 0.0)),
        "share_after": float(s.get("share_after", 0.0)),
        "village_service": str(VillageStatus.of(s)),
        "villages": int(sum(modes.values())),
        **{f"villages_{m}": int(modes.get(m, 0)) for m in ServiceMode},
        "staffing_flags": int(staffing["flag"].fillna(False).astype(bool).sum())
        if "flag" in staffing
        else 0,
        "village_doctors_min": int(pd.to_numeric(vrows["required_min"]).fillna(0).sum())
        if "required_min" in vrows
        else 0,
        "village_doctors_max": int(pd.to_numeric(vrows["required_max"]).fillna(0).sum())
        if "required_max" in vrows
        else 0,
        "map": os.path.relpath(run.map_path, out),
        "outputs": {k: os.path.relpath(v, out) for k, v in sorted(run.files.items())},
        "outline": outline.simplify(OUTLINE_TOLERANCE_DEG).wkt,
    }


#: The statuses of the province table: planned; planned, but village service does
#: not apply (an urban district: only 街道/社区, no 行政村); failed (the one-line
#: reason is in ``error``).
STATUSES = ("ok", "not_applicable", "failed")
#: The statuses of a county that was planned (drawn on the overview map).
PLANNED = ("ok", "not_applicable")


def county_status(entry: dict[str, Any]) -> str:
    """The province-table status of one county's manifest entry.

    Parameters
    ----------
    entry
        The manifest entry (``{}`` for a county the run never recorded).

    Returns
    -------
    str
        One of :data:`STATUSES`: ``failed`` unless the entry's status is ``ok``;
        ``not_applicable`` when its summary says ``village_service`` is
        ``"not_applicable"`` (a missing key counts as applicable); else ``ok``.
    """
    if entry.get("status") != "ok":
        return "failed"
    applies = VillageStatus.of(entry.get("summary")) != VillageStatus.NOT_APPLICABLE
    return "ok" if applies else "not_applicable"


def status_counts(table: pd.DataFrame) -> dict[str, int]:
    """How many counties of a province table have each status.

    Parameters
    ----------
    table
        The province table (its ``status`` column).

    Returns
    -------
    dict of str to int
        Every status of :data:`STATUSES`, in that order (0 when none).
    """
    found = table["status"].value_counts() if len(table) else {}
    return {st: int(found.get(st, 0)) for st in STATUSES}


def status_label(status: str) -> str:
    """The English and Chinese label of a status, e.g. ``"failed 失败"``.

    Parameters
    ----------
    status
        One of :data:`STATUSES` (anything else comes back unchanged).

    Returns
    -------
    str
    """
    key = f"batch.status.{status}"
    if key not in LABELS:
        return str(status)
    return f"{label(key, 'en')} {label(key, 'zh')}"


def _county_area(config: RunConfig) -> tuple[str, Any] | None:
    """``(county code, outline buffered by the road buffer)`` as the loader will use them.

    ``None`` when the county or its outline cannot be found: its task then reads
    the extract itself and reports the error in its own words.
    """
    from coverkit.inputs.china import china_boundary, find_county
    from coverkit.io import buffered_boundary, check_buffer_m

    try:
        code = str(find_county(config.county, data_dir=config.data_dir)["county_adcode"])
        buffer_m = check_buffer_m(5_000.0 if config.road_buffer_m is None else config.road_buffer_m)
        return code, buffered_boundary(china_boundary(code), buffer_m)
    except CoverkitError:
        return None


def with_extract_pieces(
    todo: list[tuple[RunConfig, str, str]], cache: Path
) -> list[tuple[RunConfig, str, str]]:
    """Give each county whose roads are an OSM extract its own piece of it.

    Each extract is read once (:func:`coverkit.osm_split.split_extract`; pieces
    made before from the same extract are reused), and each county is then
    planned from ``cache/<code>/roads.gpkg``: the roads that meet its outline
    buffered by its road buffer, the same lines the county's own bounding-box
    read of the extract would keep. Only Chinese counties whose roads are an
    OSM extract are split; line files and GraphML are read as before. A county
    whose outline is unknown, or whose piece holds no road, keeps the extract
    (its task then reports the problem naming the extract); an extract that
    cannot be read is left to each county's task to report.

    Parameters
    ----------
    todo
        ``(config, code, input hash)`` of each county to run; the hash stays the
        one of the extract (:func:`input_hash` of the config as given).
    cache
        The pieces' folder (``out/.extract``).

    Returns
    -------
    list
        ``todo`` with the ``roads`` of split counties pointing to their piece.
    """
    from coverkit.osm import is_osm_file
    from coverkit.osm_split import split_extract

    areas: dict[str, dict[str, Any]] = {}  # extract → county code → area
    codes: dict[str, str] = {}  # the batch's code (a query) → county code
    for cfg, code, _h in todo:
        if cfg.region != "china" or not cfg.roads or not is_osm_file(cfg.roads):
            continue
        found = _county_area(cfg)
        if found is not None:
            areas.setdefault(cfg.roads, {})[found[0]] = found[1]
            codes[code] = found[0]
    pieces: dict[str, Path] = {}
    for extract, by_code in areas.items():
        try:
            pieces.update(split_extract(extract, by_code, cache))
        except CoverkitError as exc:
            logger.warning("%s was not split (%s); each county reads it", extract, _one_line(exc))
    out = []
    for cfg, code, h in todo:
        piece = pieces.get(codes.get(code, ""))
        out.append((_piece_config(cfg, piece) if piece is not None else cfg, code, h))
    return out


def _piece_config(config: RunConfig, piece: Path) -> RunConfig:
    """The county's config reading its piece instead of the extract (if the piece has roads)."""
    import pyogrio

    from coverkit.osm_split import PLACES_FILE, ROADS_FILE

    if pyogrio.read_info(piece / ROADS_FILE)["features"] == 0:
        return config  # the county's own read then says the extract holds no road near it
    config = replace(config, roads=str(piece / ROADS_FILE))
    config = replace(config, places=config.places or str(piece / PLACES_FILE))
    return config


def read_manifest(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read a batch manifest (``{}`` when the file does not exist).

    Parameters
    ----------
    path
        ``out/manifest.json``.

    Returns
    -------
    dict
        County code → ``{hash, status, error, outputs, summary}``.

    Raises
    ------
    InputFileError
        The file exists but is not a manifest: unreadable, not UTF-8, not JSON
        (or truncated), larger than :data:`coverkit.settings.batch_manifest_max_bytes`,
        not an object with a ``counties`` object, or an entry of the wrong
        shape. One line naming the file, what is wrong and the fix (delete it:
        every county is then redone).
    """
    p = Path(path)
    if not p.exists():
        return {}
    fix = "delete it to redo every county"
    try:
        size = p.stat().st_size
        if size > settings.batch_manifest_max_bytes:
            raise InputFileError(
                f"{p} is {size:,} bytes, too large for a batch manifest "
                f"(at most {settings.batch_manifest_max_bytes:,}); {fix}"
            )
        data = json.loads(p.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{p} is not UTF-8 text, so not a batch manifest; {fix}") from exc
    except (OSError, ValueError, RecursionError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise InputFileError(f"{p} is not a readable batch manifest ({reason}); {fix}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("counties"), dict):
        raise InputFileError(
            f"{p} is not a batch manifest (expected an object with a 'counties' object); {fix}"
        )
    for code, entry in data["counties"].items():
        problem = manifest_entry_problem(entry)
        if problem:
            raise InputFileError(f"{p} is not a batch manifest: county {code!r} {problem}; {fix}")
    return data["counties"]


#: Keys of a manifest entry and the JSON types each must have.
MANIFEST_ENTRY = {"hash": str, "status": str, "error": str, "outputs": dict, "summary": dict}


def manifest_entry_problem(entry: Any) -> str | None:
    """What is wrong with one county's manifest entry (``None``: nothing).

    Parameters
    ----------
    entry
        The value under the county's code in ``counties``.

    Returns
    -------
    str or None
        E.g. ``"has no 'hash'"``, ``"has 'status' 'done', not ok or error"``.
    """
    if not isinstance(entry, dict):
        return f"is a {type(entry).__name__}, not an object"
    for key, kind in MANIFEST_ENTRY.items():
        if key not in entry:
            return f"has no {key!r}"
        if not isinstance(entry[key], kind):
            return f"has a {type(entry[key]).__name__} as {key!r}, not a {kind.__name__}"
    if entry["status"] not in ("ok", "error"):
        return f"has status {entry['status']!r}, not ok or error"
    scalars = str | int | float | bool | type(None)
    for key, value in entry["summary"].items():
        if not isinstance(value, scalars):
            return f"has a {type(value).__name__} as summary {key!r}, not a number or text"
    return None


def _write_manifest(path: Path, counties: dict[str, dict[str, Any]]) -> None:
    """Write the manifest atomically (an OutputError line if it cannot be written)."""
    text = json.dumps(
        {"version": MANIFEST_VERSION, "counties": dict(sorted(counties.items()))},
        ensure_ascii=False,
        indent=1,
    )
    write_text(text, path)


def _configs(
    counties: Sequence[RunConfig] | None,
    province: str | None,
    base: RunConfig,
) -> list[tuple[RunConfig, str]]:
    """(config, display name) per county, in order of code."""
    if counties is not None and province is not None:
        raise ConfigError("give either county configs or a province, not both")
    if counties is not None:
        out = []
        for c in counties:
            if c.county is None:
                raise ConfigError("every county config of a batch needs county= (a name or code)")
            fill = {
                k: getattr(base, k)
                for k in ("population", "roads", "facilities", "villages", "encoding")
                if getattr(c, k) is None
            }
            out.append((replace(c, out=base.out, **fill), _display_name(c)))
        return out
    if province is None:
        raise ConfigError("give a province (--province NAME|CODE) or a list of county configs")
    rows = counties_of_province(province)
    return [
        (replace(base, region="china", county=code), name)
        for code, name in zip(rows["county_adcode"], rows["county"], strict=True)
    ]


def _display_name(config: RunConfig) -> str:
    """The county's Chinese name when its query is a known code, else the query."""
    from coverkit.china import china_table

    q = str(config.county)
    t = china_table("counties")
    hit = t.loc[t["county_adcode"] == q, "county"]
    return str(hit.iat[0]) if len(hit) else q


#: Transports of Dask scheduler addresses (``inproc`` needs no port).
SCHEDULER_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx", "inproc")


def check_scheduler_address(address: str) -> None:
    """Refuse a Dask scheduler address that cannot work, in one line.

    Parameters
    ----------
    address
        ``tcp://host:port`` (or ``host:port``; ``tls://``, ``ws://``, ``wss://``,
        ``ucx://`` alike; IPv6 hosts in brackets).

    Raises
    ------
    ConfigError
        An unknown transport, no host, or no port (1–65535): a Dask scheduler
        listens on a port (``dask scheduler`` prints it, 8786 by default).
    """
    text = str(address).strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "tcp", text
    if scheme not in SCHEDULER_SCHEMES:
        raise ConfigError(
            f"Dask scheduler address {text!r} has the unknown transport {scheme!r}; "
            f"use one of {', '.join(SCHEDULER_SCHEMES)}, e.g. tcp://host:8786"
        )
    if scheme == "inproc":
        return
    host, colon, port = rest.rpartition(":")
    ok = bool(colon) and host not in ("", "[]") and port.isdigit() and 0 < int(port) < 65536
    if not ok or (":" in host and not host.startswith("[")):
        raise ConfigError(
            f"Dask scheduler address {text!r} has no host and port; give it as printed by "
            "`dask scheduler`, e.g. tcp://192.168.1.10:8786"
        )


def check_workers(n_workers: Any) -> None:
    """Refuse a number of local workers below 1 (a cluster of none would wait forever).

    Parameters
    ----------
    n_workers
        ``None`` (one per core) or a whole number ≥ 1.

    Raises
    ------
    ConfigError
        Anything else, in one line.
    """
    if n_workers is None:
        return
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise ConfigError(
            f"the number of workers must be a whole number of at least 1, not {n_workers!r}; "
            "give e.g. --workers 4, or leave it out for one per core"
        )


def _client(scheduler: str | None, n_workers: int | None, processes: bool) -> Any:
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ConfigError('coverkit batch needs Dask: pip install "coverkit[batch]"') from exc
    if scheduler:
        check_scheduler_address(scheduler)
        timeout = float(settings.batch_scheduler_timeout_s)
        try:
            return Client(scheduler, timeout=f"{timeout:g}s"), None
        except (OSError, ValueError, TypeError) as exc:  # TimeoutError is an OSError
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise ConfigError(
                f"cannot reach the Dask scheduler {scheduler} within {timeout:g} s ({reason}); "
                "start it with `dask scheduler` or omit --scheduler for a local cluster"
            ) from exc
    workers = n_workers or os.cpu_count() or 1
    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=processes,
        dashboard_address=None,
        # the scheduler's HTTP server (metrics) on a free port: its default 8787 may be
        # held by another cluster on the machine, and then it warns and moves anyway
        scheduler_kwargs={"dashboard_address": ":0"},
    )
    return Client(cluster), cluster


def run_batch(
    counties: Sequence[RunConfig] | None = None,
    *,
    province: str | None = None,
    population: str | Path | None = None,
    roads: str | Path | None = None,
    facilities: str | Path | None = None,
    villages: str | Path | None = None,
    out: str | Path,
    coords: str = "wgs84",
    encoding: str | None = None,
    subcentres: tuple[int, ...] | None = None,
    minutes: float | None = None,
    objective: str = Objective.PMEDIAN,
    candidates: str = "auto",
    road_buffer_m: float | None = None,
    scheduler: str | None = None,
    n_workers: int | None = None,
    processes: bool = True,
    progress: bool = True,
) -> BatchResult:
    """Plan many counties as Dask tasks; write a manifest, a province table and map.

    Parameters
    ----------
    counties
        County run options (each with ``county``); or ``None`` with ``province``.
    province
        Province name or code: its counties from the shipped county table.
    population, roads, facilities, villages
        Province-wide inputs shared by every county (each task reads only its
        window / bounding box).
    out
        Output folder: ``maps/``, ``outputs/``, ``manifest.json``,
        ``province.csv``, ``province.xlsx``, ``province.html``.
    coords, encoding, subcentres, minutes, objective, candidates, road_buffer_m
        Plan options as in :class:`~coverkit.config.RunConfig` (for ``province``;
        ``encoding`` also fills county configs that do not set it).
    scheduler
        Address of a running Dask scheduler (``tcp://host:8786``); default a
        :class:`~distributed.LocalCluster`.
    n_workers
        Local workers (one thread each); default the number of cores.
    processes
        Local workers as processes (default). ``False`` runs them as threads of
        this process: faster to start, but concurrent GDAL writes in threads
        proved unreliable (lost GeoTIFF georeferencing), so use it only to debug
        with ``n_workers=1``.
    progress
        Show a progress bar across counties (only when stderr is a terminal).

    Returns
    -------
    BatchResult

    Raises
    ------
    ConfigError
        Neither or both of ``counties`` and ``province``, an unknown province,
        ``n_workers`` below 1, a scheduler address without a port, or a
        scheduler not reached within :data:`coverkit.settings.batch_scheduler_timeout_s`.
    InputFileError
        ``out/manifest.json`` exists but is not a batch manifest.
    OutputError
        ``out`` cannot be created.
    """
    check_workers(n_workers)
    if scheduler is not None:
        check_scheduler_address(scheduler)
    out = Path(out)
    make_folder(out)
    base = RunConfig(
        region="china",
        population=_path_str(population),
        roads=_path_str(roads),
        facilities=_path_str(facilities),
        villages=_path_str(villages),
        coords=coords,
        encoding=encoding,
        subcentres=tuple(subcentres) if subcentres else None,
        minutes=minutes,
        objective=objective,
        candidates=candidates,
        road_buffer_m=road_buffer_m,
        out=str(out.resolve()),
    )
    jobs = _configs(counties, province, base)
    manifest_path = out / "manifest.json"
    manifest = read_manifest(manifest_path)
    todo, skipped = _split_done(jobs, manifest)
    logger.info("batch: %d counties, %d done before, %d to run", len(jobs), len(skipped), len(todo))
    if todo:
        todo = with_extract_pieces(todo, out / settings.extract_cache_folder)
        cluster_options = {"scheduler": scheduler, "n_workers": n_workers, "processes": processes}
        _run_counties(todo, manifest, manifest_path, cluster_options, progress=progress)
    table = _province_table(jobs, manifest)
    failed = [(r.code, r.county, r.error) for r in table.itertuples() if r.status == "failed"]
    table_paths = write_province_tables(table, out)
    overview = write_overview_map(table, manifest, out / "province.html")
    return BatchResult(
        table=table,
        failed=failed,
        manifest_path=manifest_path,
        overview_path=overview,
        table_paths=table_paths,
        skipped=skipped,
    )


def _path_str(p: str | Path | None) -> str | None:
    """An input path made absolute (workers may run elsewhere); ``download``/``none`` kept."""
    if p is None or str(p) in ("download", "none"):
        return None if p is None else str(p)
    return str(Path(p).resolve())


def _split_done(
    jobs: list[tuple[RunConfig, str]], manifest: dict[str, dict[str, Any]]
) -> tuple[list[tuple[RunConfig, str, str]], list[str]]:
    """Counties to run ``(config, code, input hash)`` and codes already done unchanged.

    Parameters
    ----------
    jobs
        ``(config, display name)`` of every county of the batch.
    manifest
        The manifest of earlier runs.

    Returns
    -------
    tuple
        The counties to run, and the codes whose hash is unchanged and whose
        status is ``ok`` (skipped).
    """
    todo: list[tuple[RunConfig, str, str]] = []
    skipped: list[str] = []
    for cfg, _name in jobs:
        code = str(cfg.county)
        h = input_hash(cfg)
        done = manifest.get(code)
        if done and done.get("hash") == h and done.get("status") == "ok":
            skipped.append(code)
        else:
            todo.append((cfg, code, h))
    return todo, skipped


def _run_counties(
    todo: list[tuple[RunConfig, str, str]],
    manifest: dict[str, dict[str, Any]],
    manifest_path: Path,
    cluster_options: dict[str, Any],
    *,
    progress: bool,
) -> None:
    """Run the counties as Dask tasks, recording each in the manifest as it finishes.

    Parameters
    ----------
    todo
        ``(config, code, input hash)`` of each county to run.
    manifest
        The manifest; updated in place and written after every county.
    manifest_path
        ``out/manifest.json``.
    cluster_options
        ``scheduler``, ``n_workers`` and ``processes`` of :func:`run_batch`; the
        client (and a local cluster) is closed at the end.
    progress
        Show a progress bar (only when stderr is a terminal).
    """
    from dask.distributed import as_completed
    from tqdm.auto import tqdm

    client, cluster = _client(**cluster_options)
    try:
        hashes = {}
        futures = []
        for cfg, code, h in todo:
            fut = client.submit(plan_one_county, cfg, key=f"coverkit-county-{code}-{h[:12]}")
            hashes[fut.key] = (code, h)
            futures.append(fut)
        bar = tqdm(
            total=len(futures),
            desc="counties 县",
            unit="county",
            disable=not (progress and sys.stderr.isatty()),
        )
        with bar:
            for fut in as_completed(futures):
                code, h = hashes[fut.key]
                try:
                    res = fut.result()
                except Exception as exc:  # worker died, task cancelled ...
                    res = {
                        "code": code,
                        "status": "error",
                        "error": f"{type(exc).__name__}: {_one_line(exc)}",
                    }
                _record(manifest, manifest_path, code, h, res)
                bar.update(1)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _record(
    manifest: dict[str, dict[str, Any]],
    manifest_path: Path,
    code: str,
    h: str,
    res: dict[str, Any],
) -> None:
    """Record one finished county in the manifest and write it (a failure is logged).

    Parameters
    ----------
    manifest
        The manifest, updated in place.
    manifest_path
        ``out/manifest.json``.
    code
        The county's code.
    h
        Its input hash.
    res
        Its result (:func:`plan_one_county`).
    """
    manifest[code] = {
        "hash": h,
        "status": res["status"],
        "error": res.get("error", ""),
        "outputs": res.get("outputs", {}),
        "summary": {k: v for k, v in res.items() if k != "outputs"},
    }
    _write_manifest(manifest_path, manifest)
    if res["status"] != "ok":
        logger.warning("county %s failed: %s", code, res["error"])


def _province_table(
    jobs: list[tuple[RunConfig, str]], manifest: dict[str, dict[str, Any]]
) -> pd.DataFrame:
    """The province table: one row per county of the batch, from the manifest.

    Parameters
    ----------
    jobs
        ``(config, display name)`` of every county, in order.
    manifest
        The manifest after the run.

    Returns
    -------
    DataFrame
        Columns :data:`TABLE_COLUMNS` with ``villages_<mode>`` after ``villages``;
        a county missing from the manifest is an ``error`` row.
    """
    rows = []
    for cfg, name in jobs:
        code = str(cfg.county)
        entry = manifest.get(code, {})
        summary = dict(entry.get("summary", {}))
        summary.pop("outline", None)
        summary.setdefault("county", name)
        summary["code"] = code
        summary["status"] = county_status(entry)
        summary["error"] = entry.get("error", "")
        rows.append(summary)
    mode_cols = [f"villages_{m}" for m in ServiceMode]
    cols = [*TABLE_COLUMNS[:13], *mode_cols, *TABLE_COLUMNS[13:]]
    return pd.DataFrame(rows).reindex(columns=cols)


def write_province_tables(table: pd.DataFrame, out: str | Path) -> dict[str, Path]:
    """Write ``province.csv`` and ``province.xlsx`` through the defusing writers.

    Parameters
    ----------
    table
        The province table (county names, sub-centre names and errors come from
        users' files: they are defused, see :mod:`coverkit.writers`).
    out
        The batch's output folder.

    Returns
    -------
    dict of str to Path
        ``csv`` and ``xlsx`` (``xlsx`` left out, with a warning, when openpyxl
        is not installed). Each file is written atomically.

    Raises
    ------
    OutputError
        A file cannot be written (one line naming it).
    """
    out = Path(out)
    paths = {"csv": write_csv(table, out / "province.csv")}
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        logger.warning("openpyxl is not installed: province.xlsx not written")
        return paths
    paths["xlsx"] = write_xlsx({"province": table}, out / "province.xlsx")
    return paths


def share_colour(share: float) -> str:
    """Fill colour of a county on the overview map: red (0 %) → yellow → green (100 %).

    Parameters
    ----------
    share
        Share of the population within T after the plan; clamped to [0, 1].

    Returns
    -------
    str
        ``#rrggbb``, interpolated linearly between the three stops.
    """
    stops = [(0.0, (215, 48, 39)), (0.5, (254, 224, 139)), (1.0, (26, 152, 80))]
    share = min(max(float(share), 0.0), 1.0)
    for (a, ca), (b, cb) in itertools.pairwise(stops):
        if share <= b:
            t = (share - a) / (b - a)
            rgb = [round(x + (y - x) * t) for x, y in zip(ca, cb, strict=True)]
            return "#{:02x}{:02x}{:02x}".format(*rgb)
    return "#1a9850"  # pragma: no cover


def _share(value: Any) -> str:
    try:
        return f"{float(value):.1%}"
    except (TypeError, ValueError):
        return "—"


def _outline(wkt: Any) -> Any:
    """The county outline of a manifest entry, or ``None`` if missing or not valid WKT."""
    import shapely

    if not isinstance(wkt, str) or not wkt:
        return None
    geom = shapely.from_wkt(wkt, on_invalid="ignore")
    return None if geom is None or geom.is_empty else geom


def _map_link(value: Any) -> str:
    """A link to a county's map: a relative path inside ``out`` only (manifests are read back)."""
    link = str(value).replace(os.sep, "/")
    if not link or ":" in link or link.startswith("/") or ".." in link.split("/"):
        return ""
    return f'<a href="{html_text(link)}" target="_blank">county map 县地图</a>'


def write_overview_map(
    table: pd.DataFrame, manifest: dict[str, dict[str, Any]], path: str | Path
) -> Path:
    """Write the province overview map: county outlines coloured by share within T after.

    Parameters
    ----------
    table
        The province table of :func:`run_batch`.
    manifest
        The manifest (its summaries carry each finished county's outline).
    path
        The HTML file; each county's popup links to its own map (relative link).

    Returns
    -------
    Path
        ``path``. Opens offline (Leaflet is inlined, no base tiles).
    """
    import folium
    import shapely

    from coverkit.maps import element_classes, inline_json, inline_leaflet, save_map, text_element

    path = Path(path)
    features = []
    bounds = []
    for r in table.itertuples():
        geom = _outline(manifest.get(r.code, {}).get("summary", {}).get("outline"))
        if r.status not in PLANNED or geom is None:
            continue
        bounds.append(geom.bounds)
        popup = (
            f"<b>{html_text(r.county)}</b> ({html_text(r.code)})<br>"
            f"{html_text(status_label(r.status))}<br>"
            f"share within T: {_share(r.share_before)} → {_share(r.share_after)}<br>"
            f"sub-centres: {html_text(str(r.subcentres) or '—')}<br>" + _map_link(r.map)
        )
        features.append(
            {
                "geometry": shapely.geometry.mapping(geom),
                "fill": share_colour(r.share_after),
                "popup": popup,
            }
        )
    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=False)
    inline_leaflet(m)
    if bounds:
        w = min(b[0] for b in bounds)
        s = min(b[1] for b in bounds)
        e = max(b[2] for b in bounds)
        n = max(b[3] for b in bounds)
        m.location = [(s + n) / 2, (w + e) / 2]
        m.fit_bounds([[s, w], [n, e]])
    else:
        m.location = [30.0, 105.0]
    js_layer, binder = element_classes()
    for f in features:
        style = {"color": "#333333", "weight": 1, "fillColor": f["fill"], "fillOpacity": 0.7}
        layer = js_layer(
            f"L.geoJSON({inline_json(f['geometry'])}, {{style: {inline_json(style)}}})"
            ".addTo({parent})",
            "county",
        )
        m.add_child(layer)
        layer.add_child(binder("Popup", f["popup"], {"maxWidth": 320}))
    failed = [r for r in table.itertuples() if r.status not in PLANNED]  # failed (or old "error")
    if failed:
        items = "".join(
            f"<li>{html_text(r.county)} ({html_text(r.code)}): {html_text(r.error)}</li>"
            for r in failed
        )
        m.get_root().html.add_child(
            text_element(
                '<div style="position:fixed;bottom:10px;left:10px;z-index:1000;'
                'background:white;padding:6px;max-width:40%;font:12px sans-serif">'
                f"<b>{html_text(status_label('failed'))} ({len(failed)})</b><ul>{items}</ul></div>"
            )
        )
    return save_map(m, path)


__all__ = [
    "STATUSES",
    "BatchResult",
    "check_scheduler_address",
    "check_workers",
    "counties_of_province",
    "county_status",
    "input_hash",
    "manifest_entry_problem",
    "plan_one_county",
    "read_manifest",
    "run_batch",
    "share_colour",
    "status_counts",
    "status_label",
    "with_extract_pieces",
    "write_overview_map",
    "write_province_tables",
]
