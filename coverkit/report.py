"""Proposal reports of a county plan: Markdown, HTML, Excel, CSV, GeoPackage, GeoTIFF.

:func:`save_report` writes everything into one folder. Every file is first
written to a temporary name in that folder and only renamed into place once
all of them were written, so a failure leaves no partial output. Markdown,
HTML and CSV output is byte-identical for the same plan; CSVs are UTF-8 with
a BOM so Excel in China opens them correctly.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from coverkit.atomic import shared_file_mode
from coverkit.errors import OutputError
from coverkit.rules import rule_register, value_of
from coverkit.surface import NODATA_MIN
from coverkit.vocab import LABELS, Lang, ServiceMode, VillageStatus, label
from coverkit.writers import (  # CSV_FLOAT_FORMAT: kept importable from here
    CSV_FLOAT_FORMAT,  # noqa: F401
    html_text,
    is_text_column,
    is_writer_error,
    md_text,
    output_error,
    write_csv,
    write_text,
    write_xlsx,
    writing,
)

if TYPE_CHECKING:
    import geopandas as gpd

    from coverkit.plan import CountyPlan

logger = logging.getLogger(__name__)

#: Value written for unreachable cells in the travel-time GeoTIFFs.
UNREACHABLE_MIN = 99999.0
#: GeoTIFF nodata (cells outside the county).
TIFF_NODATA = NODATA_MIN  # the travel-time GeoTIFFs' nodata (coverkit.surface)

#: table key → (Chinese heading, English heading); also the sheet names.
TABLES: dict[str, tuple[str, str]] = {
    "eligibility": ("资格", "eligibility"),
    "siting": ("次中心选址", "siting"),
    "subcentres": ("次中心", "subcentres"),
    "coverage": ("覆盖", "coverage"),
    "villages": ("村", "villages"),
    "timetable": ("巡诊排班", "timetable"),
    "staffing": ("人员配置", "staffing"),
    "runners_up": ("备选站点", "runners_up"),
    "rotation_shortfall": ("巡诊人力缺口", "rotation_shortfall"),
    "shared_clinics": ("共建村卫生室", "shared_clinics"),
    "facility_mapping": ("机构分级映射", "facility_mapping"),
    "reach": ("乡镇可及人口", "reach"),
    "objectives": ("目标比较", "objectives"),
    "rules": ("规则登记", "rules"),
}
#: Tables that are not attributes of the plan but computed from it.
_DERIVED_TABLES = {"rules": rule_register}
#: GeoPackage layers (plan attribute → layer name).
GPKG_LAYERS: tuple[str, ...] = (
    "facilities",
    "subcentres",
    "catchments",
    "isochrones",
    "villages",
    "townships",
    "boundary",
)


# --------------------------------------------------------------------------- tables


def _scalarise(df: pd.DataFrame) -> pd.DataFrame:
    """Lists/tuples/sets become ';'-joined strings (CSV, Excel and GPKG need scalars)."""
    out = df.copy()
    for col in out.columns:
        if is_text_column(out[col]):
            out[col] = out[col].map(
                lambda v: ";".join(str(x) for x in v) if isinstance(v, list | tuple | set) else v
            )
    return out


def _plain(df: pd.DataFrame | None) -> pd.DataFrame:
    """A table without geometry; points become ``lon``/``lat`` columns."""
    if df is None:
        return pd.DataFrame()
    if "geometry" in df.columns:
        import geopandas as gpd

        gdf = gpd.GeoDataFrame(df, geometry="geometry")
        out = pd.DataFrame(gdf.drop(columns="geometry"))
        geoms = gdf.geometry
        if gdf.crs is not None and not gdf.crs.equals("EPSG:4326"):
            geoms = geoms.to_crs("EPSG:4326")
        if len(geoms) and bool((geoms.geom_type == "Point").all()):
            out["lon"] = np.round(geoms.x.to_numpy(), 6)
            out["lat"] = np.round(geoms.y.to_numpy(), 6)
        return _scalarise(out.reset_index(drop=True))
    return _scalarise(pd.DataFrame(df).reset_index(drop=True))


def tables_from_plan(plan: CountyPlan) -> dict[str, pd.DataFrame]:
    """The plan's tables as plain DataFrames (the content of the CSVs and sheets).

    Parameters
    ----------
    plan
        The county plan.

    Returns
    -------
    dict of str to DataFrame
        Keys as in :data:`TABLES`: ``eligibility``, ``siting`` (all p
        evaluated: the recommended one and the runners-up), ``subcentres``,
        ``coverage``, ``villages`` (with ``lon``/``lat``), ``timetable``,
        ``staffing``, ``runners_up`` (alternatives to each chosen site),
        ``rotation_shortfall`` (teams needed), ``shared_clinics`` (villages
        that could share one new clinic), ``facility_mapping`` (how source
        facilities were mapped onto the tiers) and ``rules`` (the rule register,
        :func:`coverkit.rules.rule_register`). Geometry is dropped; list
        cells are joined with ';'. Tables a plan lacks are empty. Wall-clock
        columns (:data:`VOLATILE_COLUMNS`, e.g. solver seconds) are left out
        so that the same plan always gives byte-identical files.
    """
    tables = {
        key: _plain(
            _DERIVED_TABLES[key](plan) if key in _DERIVED_TABLES else getattr(plan, key, None)
        )
        for key in TABLES
    }
    return {
        key: df.drop(columns=[c for c in VOLATILE_COLUMNS if c in df.columns])
        for key, df in tables.items()
    }


#: Columns that change from run to run (timings): kept on the plan, not written.
VOLATILE_COLUMNS = ("solve_time_s",)


# --------------------------------------------------------------------------- formatting


def _cell(value: Any, column: str = "") -> str:
    """Display text of one cell (deterministic)."""
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return "是 yes" if value else "否 no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        v = float(value)
        if math.isnan(v):
            return ""
        if math.isinf(v):
            return "不可达 unreachable" if v > 0 else "-inf"
        if column.startswith("share"):
            return f"{100 * v:.1f}%"
        if column in ("lon", "lat"):
            return f"{v:.5f}"
        if "pop" in column:  # people: whole numbers
            return f"{v:,.0f}"
        if v.is_integer() and abs(v) < 1e15:
            return f"{v:,.0f}"
        return f"{v:,.1f}" if abs(v) >= 10 else f"{v:.2f}"
    return str(value)


def _people(value: Any) -> str:
    try:
        return f"{float(value):,.0f}"
    except (TypeError, ValueError):
        return str(value)


#: The service modes of the vocabulary (a village may hold another value).
_SERVICE_MODES = frozenset(ServiceMode)


def _mode_label(mode: str, lang: Lang) -> str:
    """The vocabulary label of a service mode; a value outside :class:`ServiceMode` as is."""
    return label(mode, lang) if mode in _SERVICE_MODES else mode


def _mode_counts(plan: CountyPlan) -> pd.DataFrame:
    """Villages and their population by service mode (all four modes, in order)."""
    vil = plan.villages
    modes = [str(m) for m in ServiceMode]
    extra = []
    if vil is not None and "mode" in vil.columns:
        extra = sorted(set(vil["mode"].dropna().astype(str)) - set(modes))
    rows = []
    for mode in modes + extra:
        if vil is not None and "mode" in vil.columns:
            sel = vil[vil["mode"].astype(str) == mode]
        else:
            sel = pd.DataFrame()
        pop = float(sel["population"].sum()) if "population" in sel.columns else 0.0
        rows.append(
            {
                "mode": mode,
                "mode_zh": _mode_label(mode, "zh"),
                "mode_en": _mode_label(mode, "en"),
                "villages": len(sel),
                "population": pop,
            }
        )
    return pd.DataFrame(rows)


def _header(column: str) -> str:
    """A table header: ``column.<name>`` of the one label table (Chinese, then English)."""
    key = f"column.{column}"
    return label(key, "both") if key in LABELS else column


# A report is a list of blocks rendered to Markdown and HTML alike.
Block = tuple[str, Any]


def _blocks(plan: CountyPlan, tables: dict[str, pd.DataFrame]) -> list[Block]:
    p = plan.params
    s = plan.summary or {}
    total = float(plan.population.total)
    names = s.get("subcentre_names")
    if not names and "name" in tables["subcentres"]:
        names = tables["subcentres"]["name"].astype(str).tolist()
    modes = _mode_counts(plan)
    T = p.threshold_min
    blocks: list[Block] = [
        ("h1", f"{plan.county_name} 县域医疗卫生次中心规划报告 Sub-centre plan report"),
        (
            "p",
            f"县 County: {plan.county_name} ({plan.county_id}) · 时间阈值 T = {_cell(float(T))}"
            f" min · p = {', '.join(str(v) for v in p.p_values)} · 目标 objective: {p.objective}",
        ),
        ("h2", "概要 Summary"),
    ]
    if s.get("travel_times_estimated"):
        blocks.insert(
            2,
            (
                "p",
                "出行时间为估算值 Travel times are ESTIMATED: no road network was given; "
                "straight-line distance × detour ratio at a fixed speed.",
            ),
        )
    items = [
        f"常住人口（栅格） Population (raster): {_people(total)}",
        f"拟建次中心 Proposed sub-centres: {'、'.join(map(str, names or [])) or '无 none'}",
        f"是否建议设置次中心 Eligible for sub-centres: {_cell(bool(plan.eligible))}",
    ]
    if "within_before" in s and "within_after" in s:
        items.append(
            f"{_cell(float(T))} 分钟内到达县级医疗的人口 Population within {_cell(float(T))} min "
            f"of county-level care: {_people(s['within_before'])} → {_people(s['within_after'])}"
        )
    n_vil = int(modes["villages"].sum())
    items.append(
        f"村 Villages: {n_vil}（"
        + "，".join(f"{r.mode_zh} {r.mode_en} {r.villages}" for r in modes.itertuples())
        + "）"
    )
    blocks.append(("ul", items))
    blocks += _table_blocks(plan, tables, modes)
    blocks += _matching_blocks(plan.village_matching)
    if plan.notes:
        blocks += [("h2", "说明 Notes"), ("ul", [str(n) for n in plan.notes])]
    return blocks


def _table_blocks(
    plan: CountyPlan, tables: dict[str, pd.DataFrame], modes: pd.DataFrame
) -> list[Block]:
    """The report's sections after the summary, each a heading and its table."""
    return [
        ("h2", "资格 Eligibility"),
        ("table", tables["eligibility"]),
        ("p", _eligibility_rule_text(plan)),
        ("h2", "次中心选址 Sub-centre siting"),
        ("p", "各 p 值方案（推荐方案与备选）Every p evaluated: recommended and runners-up."),
        ("table", tables["siting"]),
        ("h3", "推荐次中心 Recommended sites"),
        ("table", tables["subcentres"]),
        ("h3", "目标比较 Objectives compared (each optimum, every objective's figures)"),
        ("table", tables["objectives"]),
        ("h3", "备选站点 Runners-up (each chosen site swapped for an alternative)"),
        ("table", tables["runners_up"]),
        ("h2", "覆盖 Coverage by threshold × p"),
        ("p", "p = 0：仅现有县级医院 existing county hospitals only."),
        ("table", _coverage_pivot(tables["coverage"])),
        ("h3", "各乡镇阈值内人口 Population within each threshold by township (before / after)"),
        ("table", tables["reach"]),
        ("h2", "村服务方式 Village service modes"),
        *_village_status_blocks(plan),
        ("table", modes),
        ("h3", "村清单 Villages"),
        ("table", tables["villages"]),
        ("h3", "共建村卫生室建议 Villages that could share one new clinic"),
        ("table", tables["shared_clinics"]),
        ("h2", "巡诊排班 Rotation timetable"),
        ("table", tables["timetable"]),
        ("h3", "巡诊人力 Rotation teams: needed vs available"),
        ("table", tables["rotation_shortfall"]),
        ("h2", "人员配置 Staffing"),
        ("table", tables["staffing"]),
        ("h2", "机构分级映射 How facilities were mapped onto the tiers"),
        ("table", tables["facility_mapping"]),
        ("h2", "规则登记 Rule register"),
        ("p", _REGISTER_TEXT),
        ("table", _register_display(tables["rules"])),
    ]


def _village_status_blocks(plan: CountyPlan) -> list[Block]:
    """Why the village section is empty, when it is (urban district, no located village)."""
    status = VillageStatus.of(plan.summary)
    if status == VillageStatus.NOT_APPLICABLE:
        text = (
            f"{label(VillageStatus.NOT_APPLICABLE, 'zh')}：本县（区）无行政村，只有街道/社区，"
            "村级医疗卫生服务全覆盖要求不适用；次中心资格照常评估。"
            f" {label(VillageStatus.NOT_APPLICABLE, 'en').capitalize()}: the county has no "
            "administrative village, only urban communities (街道/社区); the village rule "
            "does not apply. Sub-centre eligibility is assessed as usual."
        )
    elif status == VillageStatus.NO_LOCATION:
        text = (
            "村清单为空：本县行政村均无位置坐标，无法规划村级服务。请提供带坐标的村表"
            "（--villages 文件）。 The village section is empty: none of the county's "
            "administrative villages has a location. Give a village table with coordinates "
            "(--villages FILE) to plan village service."
        )
    else:
        return []
    return [("p", text)]


_REGISTER_TEXT = (
    "每条规则的原文、出处、所用参数值及涉及的村/站点/县数。policy：数值来自政策原文；"
    "convention：原文未给数值，为规划惯例（可在配置文件 [settings] 中修改）。"
    "Each rule applied: its quote, source (000–002: the provincial texts; 003: one district's "
    "plan, a LOCAL norm), the value used and how many villages, sites, centres or counties it "
    "affected (— : not counted). policy: the number is the text's; convention: the text gives "
    "none (set it in the config's [settings] table)."
)


def _eligibility_rule_text(plan: CountyPlan) -> str:
    """How the eligibility indicators were combined, and what their thresholds are."""
    rule = value_of(plan, "eligibility_rule") or "any"
    zh = "任一指标达标即可" if rule == "any" else "全部指标均须达标"
    return (
        f"指标组合 Indicators combined by: {rule}（{zh}; 000 §(一) lists the indicators, "
        "Tianjin's 001 §2 joins population and area by AND）. 阈值为规划惯例 The thresholds "
        "are planning conventions (eligibility_thresholds; see the rule register)."
    )


def _matching_blocks(matching: pd.DataFrame | None) -> list[Block]:
    """The section on villages placed from OpenStreetMap: per township, and a county total."""
    if matching is None:
        return []
    table = matching.copy()
    if len(table):
        total = table.drop(columns=["township", "match_rate"]).sum()
        row = {"township": label("matching.total", "both"), **total.to_dict()}
        table = pd.concat([table, pd.DataFrame([row])], ignore_index=True)
        looked = table["villages"] - table["located_nbs"]
        rate = table["matched_osm"] / looked.where(looked > 0)
        table["match_rate"] = [
            "—" if pd.isna(r) else f"{100 * float(r):.1f}%" for r in rate.to_numpy()
        ]
    return [
        ("h2", label("matching.section", "both")),
        ("p", label("matching.text", "both")),
        ("table", table),
    ]


def _register_display(rules: pd.DataFrame) -> pd.DataFrame:
    """The register as report.md shows it: no settings column, ``affected`` — when not counted."""
    if rules.empty:
        return rules
    out = rules.drop(columns=[c for c in ("settings",) if c in rules.columns])
    out["affected"] = ["—" if v is None or pd.isna(v) else f"{int(v):,}" for v in rules["affected"]]
    return out


def _coverage_pivot(cov: pd.DataFrame) -> pd.DataFrame:
    """Share within each threshold (rows) for each p (columns)."""
    need = {"threshold_min", "p", "share_within"}
    if cov.empty or not need <= set(cov.columns):
        return cov
    piv = cov.pivot_table(
        index="threshold_min", columns="p", values="share_within", aggfunc="first"
    )
    piv = piv.sort_index().sort_index(axis=1)
    out = pd.DataFrame({"threshold_min": piv.index.to_numpy()})
    for pv in piv.columns:
        out[f"share p={int(pv)} 覆盖率"] = piv[pv].to_numpy()
    return out


def _markdown(blocks: list[Block]) -> str:
    lines: list[str] = []
    for kind, payload in blocks:
        if kind in ("h1", "h2", "h3"):
            lines += ["#" * int(kind[1]) + " " + md_text(str(payload)), ""]
        elif kind == "p":
            lines += [md_text(str(payload)), ""]
        elif kind == "ul":
            lines += [f"- {md_text(str(item))}" for item in payload] + [""]
        elif kind == "table":
            df: pd.DataFrame = payload
            if df.empty:
                lines += ["（无 none）", ""]
                continue
            cols = [str(c) for c in df.columns]
            lines.append("| " + " | ".join(md_text(_header(c)) for c in cols) + " |")
            lines.append("|" + "|".join("---" for _ in cols) + "|")
            for row in df.itertuples(index=False):
                cells = [md_text(_cell(v, c)) for v, c in zip(row, cols, strict=True)]
                lines.append("| " + " | ".join(cells) + " |")
            lines.append("")
    return "\n".join(lines)


_HTML_CSS = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",
 sans-serif;margin:2em auto;max-width:1100px;color:#222;line-height:1.45}
h1{font-size:1.6em;border-bottom:2px solid #444}h2{font-size:1.25em;margin-top:1.6em;
 border-bottom:1px solid #aaa}h3{font-size:1.05em}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:.85em}
th,td{border:1px solid #999;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#eee}td.n{text-align:right}.tw{overflow-x:auto}
@media print{body{margin:0;max-width:none;font-size:10pt}.tw{overflow:visible}
 h2{page-break-after:avoid}
 table{page-break-inside:auto}tr{page-break-inside:avoid}}
"""


def _html(blocks: list[Block], title: str) -> str:
    e = html_text
    out = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        f"<style>{_HTML_CSS}</style></head><body>",
    ]
    for kind, payload in blocks:
        if kind in ("h1", "h2", "h3"):
            out.append(f"<{kind}>{e(str(payload))}</{kind}>")
        elif kind == "p":
            out.append(f"<p>{e(str(payload))}</p>")
        elif kind == "ul":
            out.append("<ul>" + "".join(f"<li>{e(str(i))}</li>" for i in payload) + "</ul>")
        elif kind == "table":
            df = payload
            if df.empty:
                out.append("<p>（无 none）</p>")
                continue
            cols = [str(c) for c in df.columns]
            out.append(
                '<div class="tw"><table><thead><tr>'
                + "".join(f"<th>{e(_header(c))}</th>" for c in cols)
            )
            out.append("</tr></thead><tbody>")
            for row in df.itertuples(index=False):
                tds = []
                for v, c in zip(row, cols, strict=True):
                    numeric = isinstance(
                        v, int | float | np.integer | np.floating
                    ) and not isinstance(v, bool | np.bool_)
                    cls = ' class="n"' if numeric else ""
                    tds.append(f"<td{cls}>{e(_cell(v, c))}</td>")
                out.append("<tr>" + "".join(tds) + "</tr>")
            out.append("</tbody></table></div>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- writers


def _write_xlsx(tables: dict[str, pd.DataFrame], path: Path) -> None:
    """All tables of :data:`TABLES` as the sheets of one workbook (coverkit.writers)."""
    write_xlsx({f"{zh} {en}": tables[key] for key, (zh, en) in TABLES.items()}, path)


def _gpkg_frame(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    import geopandas as gpd

    out = gdf.copy()
    for col in out.columns:
        if col == out.geometry.name:
            continue
        if is_text_column(out[col]):
            out[col] = out[col].map(
                lambda v: (
                    v
                    if v is None or isinstance(v, str | int | float | bool)
                    else (";".join(map(str, v)) if isinstance(v, list | tuple | set) else str(v))
                )
            )
    return gpd.GeoDataFrame(out.reset_index(drop=True), geometry=gdf.geometry.name, crs=gdf.crs)


def _write_gpkg(plan: CountyPlan, path: Path) -> list[str]:
    from coverkit.maps import as_geodataframe, located_subcentres

    written = []
    for name in GPKG_LAYERS:
        if name == "subcentres":
            gdf = located_subcentres(plan)
        else:
            gdf = as_geodataframe(getattr(plan, name, None))
        if gdf is None or len(gdf) == 0:
            logger.info("GeoPackage layer '%s' skipped: empty or without geometry", name)
            continue
        with writing(path):  # GDAL's own errors (a full disk) become one OutputError line
            _gpkg_frame(gdf).to_file(path, layer=name, driver="GPKG", engine="pyogrio")
        written.append(name)
    return written


def _write_tif(plan: CountyPlan, minutes: np.ndarray, path: Path) -> None:
    from coverkit.surface import save_travel_time_raster

    with writing(path):
        save_travel_time_raster(path, minutes, plan.population, unreachable_min=UNREACHABLE_MIN)


def save_report(
    plan: CountyPlan, out_dir: str | os.PathLike[str], *, include_map: bool = True
) -> dict[str, Path]:
    """Write the proposal report of a county plan into ``out_dir``.

    Parameters
    ----------
    plan
        The county plan.
    out_dir
        Output folder (created if missing). Existing files of the same names
        are replaced.
    include_map
        Also write ``map.html`` (:func:`coverkit.maps.save_map`).

    Returns
    -------
    dict of str to Path
        ``report_md``, ``report_html``, ``xlsx``, ``gpkg``, ``time_before``,
        ``time_after``, ``map`` and one ``csv_<table>`` per table of
        :func:`tables_from_plan`, and ``csv_village_matching`` when the plan
        matched villages to OpenStreetMap places.

    Raises
    ------
    OutputError
        If the folder cannot be created or a file cannot be written (nothing
        is left half-written), or openpyxl is missing.

    Notes
    -----
    Travel-time GeoTIFFs are float32 minutes on the population grid; cells
    outside the county are nodata (:data:`TIFF_NODATA`) and unreachable cells
    hold :data:`UNREACHABLE_MIN`.
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create output folder '{out}' ({exc}); choose another") from exc
    tables = tables_from_plan(plan)
    blocks = _blocks(plan, tables)
    title = f"{plan.county_name} 县域医疗卫生次中心规划报告"

    jobs: list[tuple[str, str, Callable[[Path], Any]]] = [
        ("report_md", "report.md", lambda p: write_text(_markdown(blocks), p)),
        ("report_html", "report.html", lambda p: write_text(_html(blocks, title), p)),
        ("xlsx", "plan.xlsx", lambda p: _write_xlsx(tables, p)),
    ]
    for key in TABLES:
        jobs.append(
            (
                f"csv_{key}",
                f"{key}.csv",
                lambda p, k=key: write_csv(tables[k], p),
            )
        )
    if plan.village_matching is not None:
        matching = _plain(plan.village_matching)
        jobs.append(
            ("csv_village_matching", "village_matching.csv", lambda p: write_csv(matching, p))
        )
    jobs += [
        ("gpkg", "plan.gpkg", lambda p: _write_gpkg(plan, p)),
        ("time_before", "time_before.tif", lambda p: _write_tif(plan, plan.time_before_min, p)),
        ("time_after", "time_after.tif", lambda p: _write_tif(plan, plan.time_after_min, p)),
    ]
    if include_map:
        from coverkit.maps import html_from_map, map_from_plan

        jobs.append(
            ("map", "map.html", lambda p: write_text(html_from_map(map_from_plan(plan)), p))
        )

    staged: list[tuple[str, Path, Path]] = []
    try:
        for key, name, write in jobs:
            _staged_job(out, key, name, write, staged)()
        result: dict[str, Path] = {}
        mode = shared_file_mode()
        for key, tmp, final in staged:
            with _naming(final):
                os.chmod(tmp, mode)  # mkstemp makes 0600 files; outputs are for sharing
                os.replace(tmp, final)
            result[key] = final
    except BaseException:
        _cleanup(staged)
        raise
    logger.info("report written to %s (%d files)", out, len(result))
    return result


def _staged_job(
    out: Path,
    key: str,
    name: str,
    write: Callable[[Path], Any],
    staged: list[tuple[str, Path, Path]],
) -> Callable[[], None]:
    """Make the temporary file of one output (listed in ``staged``); return its writer."""
    final = out / name
    with _naming(final):
        fd, tmp_name = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=final.suffix, dir=out)
        os.close(fd)
        tmp = Path(tmp_name)
        staged.append((key, tmp, final))
        if final.suffix == ".gpkg":
            tmp.unlink()  # GDAL must create the GeoPackage itself

    def run() -> None:
        with _naming(final):
            write(tmp)

    return run


@contextlib.contextmanager
def _naming(final: Path) -> Iterator[None]:
    """A failure while writing ``final`` (through a temporary name): one line naming ``final``."""
    try:
        with writing(final):
            yield
    except OutputError as exc:
        cause = exc.__cause__
        if cause is None or not is_writer_error(cause):
            raise
        raise output_error(final, cause) from cause


def _cleanup(staged: list[tuple[str, Path, Path]]) -> None:
    for _, tmp, _ in staged:
        tmp.unlink(missing_ok=True)


__all__ = ["GPKG_LAYERS", "TABLES", "save_report", "tables_from_plan"]
