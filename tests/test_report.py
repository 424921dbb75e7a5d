"""Tests of the proposal report (coverkit.report)."""

from __future__ import annotations

import dataclasses
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import plan_fixture as pf
import pytest

from coverkit import report
from coverkit.errors import OutputError
from coverkit.rules import RULES, rule_register

CSV_NAMES = [
    "eligibility.csv",
    "siting.csv",
    "subcentres.csv",
    "coverage.csv",
    "villages.csv",
    "timetable.csv",
    "staffing.csv",
    "runners_up.csv",
    "rotation_shortfall.csv",
    "shared_clinics.csv",
    "facility_mapping.csv",
    "reach.csv",
    "objectives.csv",
    "rules.csv",
]


@pytest.fixture(scope="module")
def plan():
    return pf.make_plan()


@pytest.fixture(scope="module")
def out(plan, tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    paths = report.save_report(plan, folder)
    return folder, paths


def test_files_written_and_nothing_else(out):
    folder, paths = out
    expected = {
        "report.md",
        "report.html",
        "plan.xlsx",
        "plan.gpkg",
        "time_before.tif",
        "time_after.tif",
        "map.html",
        *CSV_NAMES,
    }
    assert {p.name for p in folder.iterdir()} == expected
    assert {p.name for p in paths.values()} == expected
    assert paths["csv_villages"] == folder / "villages.csv"


def test_xlsx_sheets(out, plan):
    openpyxl = pytest.importorskip("openpyxl")
    folder, _ = out
    wb = openpyxl.load_workbook(folder / "plan.xlsx", read_only=True)
    assert wb.sheetnames == [
        "资格 eligibility",
        "次中心选址 siting",
        "次中心 subcentres",
        "覆盖 coverage",
        "村 villages",
        "巡诊排班 timetable",
        "人员配置 staffing",
        "备选站点 runners_up",
        "巡诊人力缺口 rotation_shortfall",
        "共建村卫生室 shared_clinics",
        "机构分级映射 facility_mapping",
        "乡镇可及人口 reach",
        "目标比较 objectives",
        "规则登记 rules",
    ]
    rows = list(wb["村 villages"].iter_rows(values_only=True))
    wb.close()
    assert rows[0][:4] == ("id", "name", "township", "population")
    assert len(rows) == 1 + pf.N_VILLAGES
    assert sum(r[3] for r in rows[1:]) == pf.VILLAGE_POPULATION  # 3100


def _read_csv(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel
    return pd.read_csv(io.StringIO(raw.decode("utf-8-sig")), keep_default_na=False, na_values=[""])


@pytest.mark.parametrize("key", list(report.TABLES))
def test_csv_equals_plan_table(out, plan, key):
    folder, _ = out
    got = _read_csv(folder / f"{key}.csv")
    want = rule_register(plan) if key == "rules" else getattr(plan, key)
    if "geometry" in want.columns:
        want = pd.DataFrame(want.drop(columns="geometry"))
    assert list(got.columns[: len(want.columns)]) == [str(c) for c in want.columns]
    assert len(got) == len(want)
    for col in want.columns:
        a, b = got[col], want[col].reset_index(drop=True)
        if pd.api.types.is_numeric_dtype(b) and not pd.api.types.is_bool_dtype(b):
            np.testing.assert_allclose(a.to_numpy(float), b.to_numpy(float), rtol=1e-9)
        else:
            assert a.fillna("").astype(str).tolist() == b.fillna("").astype(str).tolist()


def test_village_csv_has_coordinates(out):
    folder, _ = out
    vil = _read_csv(folder / "villages.csv")
    assert vil.loc[0, ["lon", "lat"]].tolist() == [110.02, 30.02]


def test_totals_agree_between_map_report_and_tables(out, plan):
    folder, _ = out
    md = (folder / "report.md").read_text(encoding="utf-8")
    # population: 7,700 in the grid (hand-counted in plan_fixture)
    assert plan.population.total == pf.GRID_POPULATION == 7700.0
    assert "常住人口（栅格） Population (raster): 7,700" in md
    # villages by mode: report headline, mode table, CSV and map agree
    assert (
        "村 Villages: 6（固定村卫生室 Fixed clinic 2，"
        "邻（联）村延伸服务 Joint service with a neighbour 1，" in md
    )
    assert "| fixed | 固定村卫生室 | Fixed clinic | 2 | 2,000 |" in md
    assert "| rotation | 乡镇卫生院定期巡诊 | Rotation visits | 2 | 560 |" in md
    vil = _read_csv(folder / "villages.csv")
    assert vil["mode"].value_counts().to_dict() == pf.MODES
    assert vil["population"].sum() == pf.VILLAGE_POPULATION
    html_map = (folder / "map.html").read_text(encoding="utf-8")
    for mode, n in pf.MODES.items():
        assert html_map.count(f"ck-village ck-mode-{mode}") == n
    assert (
        "30 分钟内到达县级医疗的人口 Population within 30 min of county-level care: 1,000 → 2,000"
        in md
    )


def test_report_headings_bilingual(out):
    folder, _ = out
    md = (folder / "report.md").read_text(encoding="utf-8")
    for heading in (
        "## 资格 Eligibility",
        "## 次中心选址 Sub-centre siting",
        "## 覆盖 Coverage by threshold × p",
        "## 巡诊排班 Rotation timetable",
        "## 人员配置 Staffing",
        "## 说明 Notes",
    ):
        assert heading in md
    # coverage pivot: share within 30 min for p = 0, 1, 2 = 1000, 2000, 2100 of 3100
    assert "| 30 | 32.3% | 64.5% | 67.7% |" in md
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "<h2>次中心选址 Sub-centre siting</h2>" in page
    assert not re.search(r"<(script|link)\b", page)


def test_untrusted_names_escaped_in_report(out):
    folder, _ = out
    md = (folder / "report.md").read_text(encoding="utf-8")
    page = (folder / "report.html").read_text(encoding="utf-8")
    for raw in pf.INJECTIONS:
        assert raw not in md
        assert raw not in page
    assert "&lt;script&gt;document.body" in page


def test_gpkg_layers_and_attributes(out, plan):
    import pyogrio

    folder, _ = out
    layers = [name for name, _ in pyogrio.list_layers(folder / "plan.gpkg")]
    assert layers == list(report.GPKG_LAYERS)
    vil = pyogrio.read_dataframe(folder / "plan.gpkg", layer="villages")
    assert vil["name"].tolist() == plan.villages["name"].tolist()
    assert vil["mode"].tolist() == plan.villages["mode"].tolist()
    assert vil.crs.to_epsg() == 4326


def test_travel_time_tifs(out, plan):
    import rasterio

    folder, _ = out
    with rasterio.open(folder / "time_after.tif") as src:
        assert src.dtypes == ("float32",)
        assert src.nodata == report.TIFF_NODATA
        assert src.transform == plan.population.transform
        arr = src.read(1)
    assert arr[15, 4] == 0.0  # county hospital cell
    assert arr[5, 14] == 0.0  # sub-centre cell
    # cell (10, 10): 11 cells × 4 min = 44 to the hospital, 9 × 4 = 36 to the sub-centre
    assert arr[10, 10] == 36.0
    assert arr[0, 0] == report.UNREACHABLE_MIN
    assert arr[0, 19] == report.TIFF_NODATA  # outside the county


def test_deterministic_text_outputs(plan, out, tmp_path):
    folder, _ = out
    report.save_report(plan, tmp_path, include_map=False)
    for name in ["report.md", "report.html", *CSV_NAMES]:
        assert (tmp_path / name).read_bytes() == (folder / name).read_bytes(), name
    assert not (tmp_path / "map.html").exists()


def test_failure_leaves_nothing_partial(plan, tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(report, "_write_tif", boom)
    with pytest.raises(OutputError, match="disk full"):
        report.save_report(plan, tmp_path, include_map=False)
    assert list(tmp_path.iterdir()) == []


def test_formula_like_names_are_defused(plan, tmp_path):
    vil = plan.villages.copy()
    vil.loc[0, "name"] = '=HYPERLINK("http://x")'
    report.save_report(dataclasses.replace(plan, villages=vil), tmp_path, include_map=False)
    text = (tmp_path / "villages.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text
    assert ",=HYPERLINK" not in text


def test_output_folder_is_a_file(plan, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="cannot create output folder"):
        report.save_report(plan, blocker / "sub")


def test_gpkg_subcentres_from_plain_table(plan, tmp_path):
    import pyogrio

    subs = pd.DataFrame(plan.subcentres.drop(columns="geometry"))
    report.save_report(dataclasses.replace(plan, subcentres=subs), tmp_path, include_map=False)
    got = pyogrio.read_dataframe(tmp_path / "plan.gpkg", layer="subcentres")
    assert got["id"].tolist() == ["C1"]
    assert (got.geometry.x.iloc[0], got.geometry.y.iloc[0]) == pytest.approx((110.145, 30.145))


def test_rule_register_section_and_csv(out, plan):
    folder, _ = out
    md = (folder / "report.md").read_text(encoding="utf-8")
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "## 规则登记 Rule register" in md
    assert "<h2>规则登记 Rule register</h2>" in html
    section = md[md.index("## 规则登记 Rule register") :]
    for rule in RULES:
        assert f"| {rule.id} |" in section
    # R4 cites the 003 excerpt as a local norm; rotation cites 000 §(一)
    assert "| R4-village-doctors | policy | 乡村医生按照常住人口1—1.5‰配备 | 003 §5 |" in section
    assert (
        "| R2-rotation | policy | 每周开展巡诊至少2次，每次至少半天，巡诊时间要相对固定 | "
        "000 §(一) |" in section
    )
    # the fixture's modes (pf.MODES): fixed 2, joint 1, rotation 2, stationed 1; nothing
    # counted for the travel conventions: "—"
    assert "1 per village | 2 | villages |" in section
    assert re.search(r"\| C-travel \| convention \|[^\n]*\| — \|  \|", section)
    got = _read_csv(folder / "rules.csv").set_index("id")
    assert got.loc["R2-joint", "affected"] == 1
    assert got.loc["R2-rotation", "affected"] == 2
    assert got.loc["R2-stationed", "affected"] == 1
    assert pd.isna(got.loc["C-travel", "affected"])  # an empty cell in the CSV


def test_eligibility_rule_is_printed_with_the_table(out):
    folder, _ = out
    md = (folder / "report.md").read_text(encoding="utf-8")
    elig = md[md.index("## 资格 Eligibility") : md.index("## 次中心选址")]
    assert "指标组合 Indicators combined by: any" in elig
    assert "planning conventions" in elig
